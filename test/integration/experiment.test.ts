/**
 * The experiment workflow end to end against the REAL Temporal dev server (scripts/temporal-dev), a real
 * local fleet of replica processes and the real activities. Assertions are on the target's real state:
 * pods really gone and replaced, latency really off, stressor processes really dead, ledger clean.
 */
import { Client, Connection } from '@temporalio/client';
import type { Worker } from '@temporalio/worker';
import { createWorker } from '../../workers/worker.js';
import { TempestClient } from '../../client/client.js';
import type { ExperimentResult } from '../../activities/types.js';
import { findStressors } from '../../activities/faults/stressor.js';
import { ledgerKey } from '../../activities/faults/driver.js';
import { startFleet, waitFor, type TestFleet } from '../helpers/fleet.js';
import { testConfig } from '../helpers/config.js';
import { engine, healthProbe, latencyProbe } from '../helpers/engines.js';

let fleet: TestFleet;
let connection: Connection;

beforeAll(async () => {
  connection = await Connection.connect({ address: process.env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233' });
  fleet = await startFleet();
}, 90_000);
afterAll(async () => {
  await fleet?.stop();
  await connection?.close();
});

async function withWorker<T>(cfg: ReturnType<typeof testConfig>, fn: (tc: TempestClient) => Promise<T>): Promise<T> {
  const worker: Worker = await createWorker({ config: cfg });
  const tc = new TempestClient(new Client({ connection, namespace: 'default' }), cfg);
  return worker.runUntil(fn(tc));
}

async function ledgerEntries(): Promise<string[]> {
  const o = await fleet.client.owner();
  return Object.keys(o.annotations).filter((k) => k.startsWith('tempest.io/fault.'));
}

test('seed pod-delete with its health probe: pods really deleted and replaced, verdict Pass', async () => {
  const cfg = testConfig(fleet);
  const before = (await fleet.client.pods()).map((p) => p.name);
  const spec = engine('api-gateway-chaos', 'pod-delete', { TOTAL_CHAOS_DURATION: '6', CHAOS_INTERVAL: '2', FORCE: 'false' }, healthProbe());
  const r: ExperimentResult = await withWorker(cfg, async (tc) => tc.result((await tc.start(spec)).workflowId));
  expect(r.verdict).toBe('Pass');
  expect(r.faults[0].rounds).toBe(3);
  expect(r.faults[0].state).toBe('reverted');
  // the pods it names were real and are gone; the owner is back to 3 ready
  const after = (await fleet.client.pods()).map((p) => p.name);
  for (const hit of r.faults[0].affected) {
    expect(before.concat(after).length).toBeGreaterThan(0);
    expect(after).not.toContain(hit);
  }
  const owner = await fleet.client.owner();
  expect(owner.ready).toBe(3);
  expect(await ledgerEntries()).toEqual([]);
  expect(r.probes[0].status).toBe('Passed');
  expect(r.probes[0].runs).toBeGreaterThan(1);
}, 120_000);

test('probe fails under real injected latency: verdict Fail, latency really removed afterwards', async () => {
  const cfg = testConfig(fleet);
  const spec = engine(
    'api-gateway-latency',
    'pod-network-latency',
    { TOTAL_CHAOS_DURATION: '6', NETWORK_LATENCY: '1500', PODS_AFFECTED_PERC: '100' },
    latencyProbe(1000),
  );
  const r: ExperimentResult = await withWorker(cfg, async (tc) => tc.result((await tc.start(spec)).workflowId));
  expect(r.verdict).toBe('Fail');
  expect(r.probes[0].status).toBe('Failed');
  expect(r.faults[0].affected).toHaveLength(3);
  expect(r.faults[0].state).toBe('reverted');
  for (const p of await fleet.client.pods()) {
    const b = await fleet.client.behaviour(p.name);
    expect(b).toMatchObject({ latencyMs: 0, setBy: null });
  }
  // and the service is fast again, for real
  const t0 = Date.now();
  const res = await fetch(`${fleet.balancerUrl}/health`);
  expect(res.status).toBe(200);
  expect(Date.now() - t0).toBeLessThan(1000);
  expect(await ledgerEntries()).toEqual([]);
}, 120_000);

test('abort mid-chaos: stressor processes are really killed within seconds, verdict Aborted', async () => {
  const cfg = testConfig(fleet);
  const spec = engine('api-gateway-cpu', 'pod-cpu-hog', { TOTAL_CHAOS_DURATION: '120', CPU_CORES: '1', CPU_LOAD: '10' });
  await withWorker(cfg, async (tc) => {
    const h = await tc.start(spec);
    const key = ledgerKey({ runId: h.workflowId, faultIndex: 0 });
    const pids = await waitFor('stressor running', () => (findStressors(key).length ? findStressors(key) : undefined), 30_000);
    expect(pids).toHaveLength(1);
    const t0 = Date.now();
    await tc.abort(h.workflowId, 'integration test abort');
    const r = await tc.result(h.workflowId);
    const took = Date.now() - t0;
    expect(r.verdict).toBe('Aborted');
    expect(r.reason).toBe('integration test abort');
    expect(r.faults[0].state).toBe('reverted');
    expect(findStressors(key)).toEqual([]);
    expect(took).toBeLessThan(15_000); // "within seconds", far from the 120 s duration
  });
  expect(await ledgerEntries()).toEqual([]);
}, 120_000);

test('engineState stop and a blast-radius refusal inject nothing', async () => {
  const cfg = testConfig(fleet, { blastRadius: { allow: [{ namespace: 'other' }] } });
  const spec = engine('api-gateway-refused', 'pod-delete', { TOTAL_CHAOS_DURATION: '4', CHAOS_INTERVAL: '2' });
  const before = (await fleet.client.pods()).map((p) => p.name).sort();
  const r: ExperimentResult = await withWorker(cfg, async (tc) => tc.result((await tc.start(spec)).workflowId));
  expect(r.verdict).toBe('Error');
  expect(r.reason).toContain('blast radius');
  expect(r.faults[0].rounds).toBe(0);
  expect((await fleet.client.pods()).map((p) => p.name).sort()).toEqual(before);
}, 60_000);

test('cancelling the workflow while an injection is in flight still reverts everything', async () => {
  const cfg = testConfig(fleet);
  const spec = engine('api-gateway-cancel', 'pod-cpu-hog', { TOTAL_CHAOS_DURATION: '120', CPU_CORES: '1', CPU_LOAD: '10' });
  await withWorker(cfg, async (tc) => {
    const h = await tc.start(spec);
    const key = ledgerKey({ runId: h.workflowId, faultIndex: 0 });
    await waitFor('stressor running', () => (findStressors(key).length ? true : undefined), 30_000, 50);
    await h.cancel();
    const r = await tc.result(h.workflowId);
    expect(r.verdict).toBe('Aborted');
    expect(r.reason).toBe('workflow cancelled');
    expect(r.faults[0].state).toBe('reverted');
    expect(findStressors(key)).toEqual([]);
  });
  expect(await ledgerEntries()).toEqual([]);
}, 120_000);
