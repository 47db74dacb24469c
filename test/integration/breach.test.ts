/**
 * "Rollback triggers stop the chaos the moment the system breaks": the experiment WORKFLOW on the real Temporal
 * dev server (scripts/temporal-dev), an in-process worker with the real activities, a real local fleet, and a real
 * Prometheus scraping the fleet's replicas every second while bounded traffic (20 req/s) flows through the
 * balancer. The seed's three rollback triggers (test/helpers/prometheus.ts seedTriggers, 10 s rate window) are
 * polled by the workflow every second. No mocks.
 *
 *  - pod-network-latency 2500 ms on every replica for 120 s: the P95 trigger fires within seconds, the chaos stops
 *    at once, the latency is reverted and verified long before 120 s, and the service answers fast again.
 *  - control: 100 ms for 15 s: nothing fires, verdict by probes (none: Pass), reverted.
 *
 * When Prometheus cannot be installed the suite FAILS with the reason (never skips).
 */
import { Client, Connection } from '@temporalio/client';
import type { Worker } from '@temporalio/worker';
import { createWorker, workflowBundle } from '../../workers/worker.js';
import { TempestClient } from '../../client/client.js';
import type { ExperimentResult } from '../../activities/types.js';
import type { RollbackTriggerSpec } from '../../config/spec.js';
import { startFleet, startTraffic, type TestFleet, type TrafficStats } from '../helpers/fleet.js';
import {
  breachTimings,
  ensurePrometheus,
  describeWithPrometheus,
  seedTriggers,
  startPrometheus,
  waitForQuietTriggers,
  type PrometheusHandle,
} from '../helpers/prometheus.js';
import { testConfig } from '../helpers/config.js';
import { engine } from '../helpers/engines.js';

const JOB = 'api-gateway';
const RPS = 20;

const availability = await ensurePrometheus();
const describePrometheus = describeWithPrometheus(availability);

describePrometheus('rollback triggers stop a real experiment when the system breaks (workflow, Prometheus, fleet)', () => {
  let connection: Connection | undefined;
  let fleet: TestFleet | undefined;
  let prom: PrometheusHandle | undefined;
  let triggers: RollbackTriggerSpec[];

  beforeAll(async () => {
    if (!availability.ok) return;
    connection = await Connection.connect({ address: process.env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233' });
    fleet = await startFleet({ name: JOB, replicas: 3 });
    prom = await startPrometheus({ bin: availability.bin, targets: fleet.targets, job: JOB, scrapeIntervalS: 1 });
    await prom.waitForTargetsUp(30_000);
    triggers = seedTriggers(prom.url, JOB, '10s');
    await workflowBundle(); // webpack once, outside the tests' time
  }, 110_000);

  afterAll(async () => {
    await prom?.stop();
    await fleet?.stop();
    await connection?.close();
  }, 60_000);

  /**
   * Waits for a healthy baseline under traffic, then runs the engine to its end on an in-process worker with the
   * seed's triggers polled every second. Traffic runs for the whole run and is stopped in any case.
   */
  async function runUnderTraffic(name: string, env: Record<string, string>): Promise<{ result: ExperimentResult; traffic: TrafficStats; wallMs: number }> {
    const cfg = testConfig(fleet!, { rollbackTriggers: { pollInterval: 1, triggers } });
    const load = startTraffic(fleet!.balancerUrl, RPS, 110_000);
    try {
      const baseline = await waitForQuietTriggers(triggers, 45_000);
      console.log(`${name}: healthy baseline under ${RPS} req/s: ${JSON.stringify(baseline)}`);
      const worker: Worker = await createWorker({ config: cfg });
      const tc = new TempestClient(new Client({ connection: connection!, namespace: 'default' }), cfg);
      const t0 = Date.now();
      const result = await worker.runUntil(async () => tc.result((await tc.start(engine(name, 'pod-network-latency', env))).workflowId));
      return { result, traffic: load.stats, wallMs: Date.now() - t0 };
    } finally {
      await load.stop();
    }
  }

  /** Every replica reads back no latency and no owner; the fault ledger on the owner is empty. */
  async function expectClean(): Promise<void> {
    const pods = await fleet!.client.pods();
    expect(pods).toHaveLength(3);
    for (const p of pods) expect(await fleet!.client.behaviour(p.name)).toMatchObject({ latencyMs: 0, setBy: null });
    const owner = await fleet!.client.owner();
    expect(Object.keys(owner.annotations).filter((k) => k.startsWith('tempest.io/fault.'))).toEqual([]);
  }

  /** The service answers fast again, for real: one request per replica through the balancer, each well under 1 s. */
  async function expectFast(): Promise<void> {
    for (let i = 0; i < 3; i++) {
      const t0 = Date.now();
      const res = await fetch(`${fleet!.balancerUrl}/health`, { signal: AbortSignal.timeout(5000) });
      expect(res.status).toBe(200);
      await res.arrayBuffer();
      expect(Date.now() - t0).toBeLessThan(1000);
    }
  }

  test('control: 100 ms for 15 s under traffic: no trigger fires, verdict Pass (no probes), fault reverted', async () => {
    const {
      result: r,
      traffic,
      wallMs,
    } = await runUnderTraffic('api-gateway-latency-control', {
      NETWORK_LATENCY: '100',
      PODS_AFFECTED_PERC: '100',
      TOTAL_CHAOS_DURATION: '15',
    });
    console.log(`control: verdict ${r.verdict} (${r.reason}) in ${wallMs} ms; traffic ${JSON.stringify(traffic)}`);
    expect(r.breach).toBeUndefined();
    expect(r.verdict).toBe('Pass');
    expect(r.reason).toBe('faults injected and reverted; no probes defined');
    expect(r.faults[0]).toMatchObject({ name: 'pod-network-latency', state: 'reverted' });
    expect(r.faults[0].affected).toHaveLength(3);
    // It really ran its full 15 s (nothing stopped it early).
    expect(Date.parse(r.faults[0].revertedAt!) - Date.parse(r.faults[0].injectedAt!)).toBeGreaterThanOrEqual(14_000);
    expect(r.recoveryMs).toBeDefined();
    // Not vacuous: the traffic was served throughout.
    expect(traffic.byStatus['200'] ?? 0).toBeGreaterThanOrEqual(15 * RPS * 0.8);
    await expectClean();
    await expectFast();
  }, 110_000);

  test('2500 ms on every replica for 120 s: the P95 trigger fires, chaos stops, revert verified within seconds', async () => {
    const {
      result: r,
      traffic,
      wallMs,
    } = await runUnderTraffic('api-gateway-latency-breach', {
      NETWORK_LATENCY: '2500',
      PODS_AFFECTED_PERC: '100',
      TOTAL_CHAOS_DURATION: '120',
    });
    const t = breachTimings(r);
    console.log(
      `breach: ${r.breach!.name} = ${r.breach!.value} (${r.breach!.criteria} ${r.breach!.threshold}); ` +
        `injection -> breach ${t.injectionToBreachMs} ms; breach -> verified revert ${t.breachToRevertMs} ms; ` +
        `injection -> verified revert ${t.injectionToRevertMs} ms; recoveryMs ${t.recoveryMs}; workflow ${wallMs} ms; traffic ${JSON.stringify(traffic)}`,
    );
    expect(r.breach).toMatchObject({ name: 'p95-latency', criteria: '>=', threshold: '2' });
    expect(r.breach!.query).toBe('histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket{job="api-gateway"}[10s])))');
    // 2.5 s answers land in the (2.5, 5] bucket: the interpolated P95 is in that range.
    expect(r.breach!.value).toBeGreaterThanOrEqual(2);
    expect(r.breach!.value).toBeLessThanOrEqual(5);
    expect(r.verdict).toBe('Fail');
    expect(r.reason).toContain('rollback trigger p95-latency fired');
    expect(r.faults[0]).toMatchObject({ name: 'pod-network-latency', state: 'reverted' });
    expect(r.faults[0].affected).toHaveLength(3);
    expect(r.recoveryMs).toBeDefined();
    // The breach came after the injection (a healthy baseline fires nothing), and the chaos stopped at once:
    // reverted and verified long before the 120 s the engine asked for.
    expect(t.injectionToBreachMs).toBeGreaterThan(0);
    expect(t.injectionToBreachMs).toBeLessThan(30_000);
    expect(t.breachToRevertMs).toBeGreaterThanOrEqual(0);
    expect(t.breachToRevertMs).toBeLessThan(10_000);
    expect(t.injectionToRevertMs).toBeLessThan(40_000);
    expect(wallMs).toBeLessThan(60_000);
    await expectClean();
    await expectFast();
    // And Prometheus sees it too: under traffic again, within a rate window no trigger would fire any more.
    const load = startTraffic(fleet!.balancerUrl, RPS, 60_000);
    try {
      const t0 = Date.now();
      const after = await waitForQuietTriggers(triggers, 45_000);
      console.log(`after the revert: triggers quiet again ${Date.now() - t0} ms later: ${JSON.stringify(after)}`);
      expect(after['p95-latency']).toBeLessThan(2);
    } finally {
      await load.stop();
    }
  }, 115_000);
});
