/**
 * The promise of Tempest: a fault is never left behind. A real worker PROCESS (bin/tempest worker) is
 * SIGKILLed in the middle of the chaos; the injected fault (real stressor processes, real latency on real
 * replicas) outlives it, as a fault outlives a crashed injector. A new worker process picks the run up
 * from its history and every fault is reverted and verified — asserted on the real state, not on logs.
 */
import { Client, Connection } from '@temporalio/client';
import { TempestClient } from '../../client/client.js';
import { findStressors } from '../../activities/faults/stressor.js';
import { ledgerKey } from '../../activities/faults/driver.js';
import { startFleet, waitFor, isAlive, type TestFleet } from '../helpers/fleet.js';
import { testConfig } from '../helpers/config.js';
import { engine, healthProbe } from '../helpers/engines.js';
import { killWorkerProcesses, sigkill, startWorkerProcess } from '../helpers/worker-process.js';

let fleet: TestFleet;
let connection: Connection;

beforeAll(async () => {
  connection = await Connection.connect({ address: process.env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233' });
  fleet = await startFleet();
}, 90_000);
afterAll(async () => {
  killWorkerProcesses();
  await fleet?.stop();
  await connection?.close();
});

test('SIGKILL the worker mid-chaos: a new worker resumes the run and reverts the CPU stressors', async () => {
  const cfg = testConfig(fleet);
  const tc = new TempestClient(new Client({ connection, namespace: 'default' }), cfg);
  const spec = engine('api-gateway-crash-cpu', 'pod-cpu-hog', { TOTAL_CHAOS_DURATION: '20', CPU_CORES: '1', CPU_LOAD: '10' }, healthProbe());

  const first = await startWorkerProcess(cfg.file);
  const h = await tc.start(spec);
  const key = ledgerKey({ runId: h.workflowId, faultIndex: 0 });
  const [pid] = await waitFor('stressor injected', () => (findStressors(key).length ? findStressors(key) : undefined), 60_000);
  // the ledger on the target names the fault, for anyone to find
  expect(Object.keys((await fleet.client.owner()).annotations)).toContain(key);

  await sigkill(first);
  // the fault outlives the injector
  await new Promise((r) => setTimeout(r, 1000));
  expect(isAlive(pid)).toBe(true);

  await startWorkerProcess(cfg.file);
  const r = await tc.result(h.workflowId);
  expect(r.faults[0].state).toBe('reverted');
  expect(r.faults[0].revert?.verification).toContain('no cpu stressor left');
  expect(isAlive(pid)).toBe(false);
  expect(findStressors(key)).toEqual([]);
  expect(Object.keys((await fleet.client.owner()).annotations)).not.toContain(key);
  expect(['Pass', 'Fail']).toContain(r.verdict); // the probe's verdict is the system's business; the revert is ours
}, 180_000);

test('SIGKILL the worker mid-chaos: injected latency on every replica is removed by the next worker', async () => {
  const cfg = testConfig(fleet);
  const tc = new TempestClient(new Client({ connection, namespace: 'default' }), cfg);
  const spec = engine('api-gateway-crash-latency', 'pod-network-latency', { TOTAL_CHAOS_DURATION: '15', NETWORK_LATENCY: '300', PODS_AFFECTED_PERC: '100' });

  const first = await startWorkerProcess(cfg.file);
  const h = await tc.start(spec);
  const key = ledgerKey({ runId: h.workflowId, faultIndex: 0 });
  await waitFor(
    'latency on all pods',
    async () => {
      const pods = await fleet.client.pods();
      const bs = await Promise.all(pods.map((p) => fleet.client.behaviour(p.name)));
      return bs.length === 3 && bs.every((b) => b?.latencyMs === 300 && b.setBy === key);
    },
    60_000,
  );
  await sigkill(first);

  // still slow, for real, with nobody left to revert it
  const t0 = Date.now();
  await fetch(`${fleet.balancerUrl}/health`);
  expect(Date.now() - t0).toBeGreaterThanOrEqual(290);

  await startWorkerProcess(cfg.file);
  const r = await tc.result(h.workflowId);
  expect(r.faults[0].state).toBe('reverted');
  for (const p of await fleet.client.pods()) {
    expect(await fleet.client.behaviour(p.name)).toMatchObject({ latencyMs: 0, setBy: null });
  }
  expect(Object.keys((await fleet.client.owner()).annotations)).not.toContain(key);
}, 180_000);
