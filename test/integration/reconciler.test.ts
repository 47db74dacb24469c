/**
 * The orphan-fault reconciler against the REAL Temporal dev server, a real local fleet and the real activities:
 * a run TERMINATED mid-fault (one click in the Temporal UI) leaves its latency on every replica and its ledger on
 * the owner; the reconcile workflow reverts it with the fault's own revert and verify, from the run's history. A run
 * that is open is never touched; a dry run changes nothing; an unreadable ledger entry is reported, not obeyed.
 * Assertions are on the replicas' real behaviour and the owner's real annotations.
 */
import { Client, Connection } from '@temporalio/client';
import type { Worker } from '@temporalio/worker';
import { createWorker } from '../../workers/worker.js';
import { TempestClient } from '../../client/client.js';
import { ledgerKey } from '../../activities/faults/driver.js';
import { ChaosMetrics } from '../../activities/metrics/index.js';
import type { ReconcileResult } from '../../workflows/reconciler.js';
import { ensureReconciler, reconcilerScheduleId } from '../../workers/reconciler.js';
import { startFleet, waitFor, type TestFleet } from '../helpers/fleet.js';
import { testConfig } from '../helpers/config.js';
import { engine } from '../helpers/engines.js';

let fleet: TestFleet;
let connection: Connection;
let client: Client;

beforeAll(async () => {
  connection = await Connection.connect({ address: process.env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233' });
  client = new Client({ connection, namespace: 'default' });
  fleet = await startFleet({ replicas: 3 });
}, 90_000);
afterAll(async () => {
  await fleet?.stop();
  await connection?.close();
});

const latencies = async () => Promise.all((await fleet.client.pods()).map(async (p) => (await fleet.client.behaviour(p.name))?.latencyMs ?? -1));
const ledger = async () => Object.keys((await fleet.client.owner()).annotations).filter((k) => k.startsWith('tempest.io/fault.'));

async function reconcile(cfg: ReturnType<typeof testConfig>, input: { dryRun?: boolean } = {}): Promise<ReconcileResult> {
  return client.workflow.execute('reconcileWorkflow', {
    taskQueue: cfg.temporal.taskQueue,
    workflowId: `reconcile-test-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 6)}`,
    args: [input],
  });
}

test("a run terminated mid-fault: its latency stays on every replica until the reconciler reverts it from the run's history; dry run first changes nothing", async () => {
  const cfg = testConfig(fleet);
  const metrics = new ChaosMetrics(false);
  const worker: Worker = await createWorker({ config: cfg, metrics });
  const tc = new TempestClient(client, cfg);
  await worker.runUntil(async () => {
    const h = await tc.start(
      engine('api-gateway-latency', 'pod-network-latency', { TOTAL_CHAOS_DURATION: '120', NETWORK_LATENCY: '300', PODS_AFFECTED_PERC: '100' }),
    );
    const key = ledgerKey({ runId: h.workflowId, faultIndex: 0 });
    await waitFor('latency on every replica', async () => (await latencies()).every((l) => l === 300), 30_000);
    await h.terminate('operator clicked Terminate');
    // the gap the reconciler closes: nothing reverts a terminated run
    await new Promise((r) => setTimeout(r, 1500));
    expect(await latencies()).toEqual([300, 300, 300]);
    expect(await ledger()).toContain(key);

    const dry = await reconcile(cfg, { dryRun: true });
    const mine = dry.rows.find((r) => r.key === key);
    expect(mine).toMatchObject({ runId: h.workflowId, fault: 'pod-network-latency', status: 'TERMINATED', action: 'revert', outcome: 'would-revert' });
    expect(dry.clean).toBe(false);
    expect(await latencies()).toEqual([300, 300, 300]);

    const r = await reconcile(cfg);
    const row = r.rows.find((x) => x.key === key);
    expect(row).toMatchObject({ outcome: 'reverted', status: 'TERMINATED' });
    expect(row?.verification).toMatch(/ledger clean$/);
    expect(await latencies()).toEqual([0, 0, 0]);
    expect(await ledger()).not.toContain(key);
    expect(r.clean).toBe(true);
    expect(await metrics.registry.getSingleMetricAsString('tempest_orphans_reverted_total')).toContain(
      'tempest_orphans_reverted_total{fault="pod-network-latency"} 1',
    );

    // and once clean, the next reconcile finds nothing of it
    expect((await reconcile(cfg)).rows.find((x) => x.key === key)).toBeUndefined();
  });
}, 120_000);

test('a run that is open is never touched, however long it runs; an unreadable entry is reported, not obeyed', async () => {
  const cfg = testConfig(fleet);
  const worker: Worker = await createWorker({ config: cfg });
  const tc = new TempestClient(client, cfg);
  await worker.runUntil(async () => {
    const h = await tc.start(
      engine('api-gateway-latency', 'pod-network-latency', { TOTAL_CHAOS_DURATION: '120', NETWORK_LATENCY: '200', PODS_AFFECTED_PERC: '100' }),
    );
    const key = ledgerKey({ runId: h.workflowId, faultIndex: 0 });
    await waitFor('latency on every replica', async () => (await latencies()).every((l) => l === 200), 30_000);
    await fleet.client.annotateOwner({ 'tempest.io/fault.forged.0': 'not json' });
    try {
      const r = await reconcile(cfg);
      expect(r.rows.find((x) => x.key === key)).toMatchObject({ status: 'RUNNING', action: 'leave', outcome: 'left' });
      expect(r.rows.find((x) => x.key === 'tempest.io/fault.forged.0')).toMatchObject({
        action: 'refuse',
        outcome: 'left',
        why: 'not acted on: the entry is not a readable ledger entry',
      });
      expect(r.clean).toBe(false);
      expect(await latencies()).toEqual([200, 200, 200]);
      expect(await ledger()).toContain(key);
    } finally {
      await fleet.client.annotateOwner({ 'tempest.io/fault.forged.0': null });
      await tc.abort(h.workflowId, 'test done');
      await tc.result(h.workflowId);
    }
    expect(await latencies()).toEqual([0, 0, 0]);
    expect(await ledger()).toEqual([]);
  });
}, 120_000);

test('the schedule a worker creates (here every 5 s) reverts a terminated run within one interval plus the revert, with no one asking', async () => {
  const cfg = testConfig(fleet, { reconciler: { interval: '5s' } });
  const worker: Worker = await createWorker({ config: cfg });
  const tc = new TempestClient(client, cfg);
  const created = await ensureReconciler(client, cfg, { triggerNow: false });
  expect(created).toEqual({ scheduleId: reconcilerScheduleId(cfg.temporal.taskQueue), created: true });
  // idempotent: a second worker finds it and changes nothing but the interval
  expect(await ensureReconciler(client, cfg, { triggerNow: false })).toEqual({ scheduleId: reconcilerScheduleId(cfg.temporal.taskQueue), created: false });
  try {
    await worker.runUntil(async () => {
      const h = await tc.start(
        engine('api-gateway-latency', 'pod-network-latency', { TOTAL_CHAOS_DURATION: '120', NETWORK_LATENCY: '250', PODS_AFFECTED_PERC: '100' }),
      );
      await waitFor('latency on every replica', async () => (await latencies()).every((l) => l === 250), 30_000);
      await h.terminate('operator clicked Terminate');
      const t0 = Date.now();
      await waitFor('the schedule reverted it', async () => (await latencies()).every((l) => l === 0) && !(await ledger()).length, 30_000, 200);
      const took = Date.now() - t0;
      console.log(`terminated run cleaned by the scheduled reconciler (interval 5 s) in ${took} ms`);
    });
  } finally {
    await client.schedule.getHandle(reconcilerScheduleId(cfg.temporal.taskQueue)).delete();
  }
}, 120_000);
