/**
 * The crash-and-outage matrix, local platform: a fault is never left behind, whatever fails and wherever it fails.
 * Every case runs the same real experiment — pod-network-latency, 300 ms on all 3 replicas of a real local fleet,
 * an Edge httpProbe (start and end of test), the worker's http guard — through real worker PROCESSES
 * (bin/tempest worker) on the real Temporal dev server, and breaks something real: the worker is SIGKILLed at an
 * exact phase (TEMPEST_FAILPOINTS, activities/failpoints.ts: the worker kills itself there) or from outside, a
 * second worker takes over, the run is terminated, the Temporal server is SIGKILLed, Prometheus dies, the worker is
 * SIGTERMed, or no worker ever comes back. Each case ends with the assertions of issue 9, on the target itself:
 * no latency left on any replica (read back AND measured through the balancer), no ledger entry, no duplicate
 * injection (the fleet's own audit log against the planned targets), the right verdict, and the history replays.
 * Each case writes its row (test/helpers/matrix.ts); bench/never-left-behind.ts prints the table.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import { TempestClient } from '../../client/client.js';
import { ledgerKey } from '../../activities/faults/driver.js';
import type { Failpoint } from '../../activities/failpoints.js';
import type { ExperimentResult } from '../../activities/types.js';
import { workflowBundle } from '../../workers/worker.js';
import { freePort, freePorts, startFleet, waitFor, type TestFleet } from '../helpers/fleet.js';
import { testConfig } from '../helpers/config.js';
import { engine } from '../helpers/engines.js';
import { TEMPORAL_CLI } from '../helpers/temporal.js';
import { ensurePrometheus, startPrometheus, type PrometheusHandle } from '../helpers/prometheus.js';
import { exited, killWorkerProcesses, outputOf, sigkill, startWorkerProcess } from '../helpers/worker-process.js';
import { latencyActions, fleetAudit, localLeft, recordRow, replays, sleep, type MatrixRow } from '../helpers/matrix.js';

const ADDRESS = process.env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233';
const CHAOS_S = 6;
const LATENCY_MS = 300;

const edgeProbe = `          - name: "api-gateway-health-edge"
            type: "httpProbe"
            mode: "Edge"
            runProperties:
              probeTimeout: 5
              attempt: 1
              interval: 1
            httpProbe/inputs:
              url: "http://api-gateway.footanalytics.svc.cluster.local:4000/health"
              method:
                get:
                  criteria: ==
                  responseCode: "200"`;
const continuousProbe = edgeProbe
  .replace('api-gateway-health-edge', 'api-gateway-health-continuous')
  .replace('"Edge"', '"Continuous"')
  .replace('interval: 1', 'interval: 1\n              probePollingInterval: 1');

let fleet: TestFleet;
let connection: Connection;
let client: Client;

beforeAll(async () => {
  connection = await Connection.connect({ address: ADDRESS });
  client = new Client({ connection, namespace: 'default' });
  fleet = await startFleet();
  await workflowBundle(); // for the replays: webpack once, outside the cases' time
}, 120_000);
afterAll(async () => {
  killWorkerProcesses();
  await fleet?.stop();
  await connection?.close();
});

const latencyEngine = (name: string, probe = edgeProbe, chaosS = CHAOS_S) =>
  engine(name, 'pod-network-latency', { TOTAL_CHAOS_DURATION: String(chaosS), NETWORK_LATENCY: String(LATENCY_MS), PODS_AFFECTED_PERC: '100' }, probe);

/** The worker's policy for a case: the test fleet, its http guard, no reconciler unless the case is about it. */
function caseConfig(over: Record<string, unknown> = {}) {
  return testConfig(fleet, {
    guards: [{ type: 'http', name: 'system-health', url: `${fleet.balancerUrl}/health`, expectStatus: 200 }],
    reconciler: { enabled: false },
    ...over,
  });
}

/** Every pod of the fleet slowed by this run's key (read back from the replicas). */
async function latencyOnAll(key: string): Promise<boolean> {
  const pods = (await fleet.client.pods()).filter((p) => p.phase === 'Running');
  const bs = await Promise.all(pods.map((p) => fleet.client.behaviour(p.name)));
  return bs.length === 3 && bs.every((b) => b?.latencyMs === LATENCY_MS && b.setBy === key);
}

interface Outcome {
  result?: ExperimentResult;
  verdict: string;
  workflowIds: string[];
  key: string;
  since: string;
  disruptedAt: number;
  planned?: number;
  plannedChaosMs?: number;
  note: string;
  /** The Temporal client that holds the histories, if not the shared dev server's; and what to close after. */
  replayClient?: Client;
  after?: () => Promise<void>;
  /** When the target was clean, if not by a revert action of Tempest's (the dead-man expiry). */
  cleanedAt?: number;
}

/** The case in progress: its run and ledger key, for the clean-up of a case that failed half-way. */
let current: { handle?: WorkflowHandle; key?: string; replayClient?: Client } = {};

/** After a case (passed or not): no run of it left open, no worker left running, nothing of it left on the fleet. */
async function cleanUp(): Promise<void> {
  const { handle, key } = current;
  current = {};
  killWorkerProcesses();
  if (handle) {
    const st = await handle
      .describe()
      .then((d) => d.status.name)
      .catch(() => undefined);
    if (st === 'RUNNING') await handle.terminate('matrix case clean-up').catch(() => undefined);
  }
  if (!key) return;
  for (const p of await fleet.client.pods()) {
    const b = await fleet.client.behaviour(p.name).catch(() => undefined);
    if (b && (b.setBy === key || b.latencyMs > 0))
      await fleet.client.setBehaviour(p.name, { latencyMs: 0, errorRate: 0, down: false, expiresAt: null, setBy: null }).catch(() => undefined);
  }
  await fleet.client.annotateOwner({ [key]: null }).catch(() => undefined);
}

/**
 * Runs one case (`body` starts the run and breaks things), then measures the target and records the row, and only
 * then asserts it: a failing case still shows in the table, with what failed. Whatever happened, it cleans up after
 * itself, so one failing case never leaves a fault for the next one to trip over.
 */
async function matrixCase(name: string, expectedVerdict: string, body: () => Promise<Outcome>, extra: (o: Outcome) => void = () => undefined): Promise<void> {
  try {
    await measure(name, expectedVerdict, await body(), extra);
  } finally {
    await cleanUp();
  }
}

async function measure(name: string, expectedVerdict: string, o: Outcome, extra: (o: Outcome) => void): Promise<void> {
  const left = await localLeft(fleet, o.key);
  const acts = latencyActions(await fleetAudit(fleet), o.key, o.since);
  const planned = o.planned ?? 3;
  const cleanAt = o.cleanedAt ?? acts.cleanAt;
  // A disruption after the revert was verified (end-of-test probes, publishing) finds the target clean already.
  const toClean = cleanAt !== undefined && cleanAt >= o.disruptedAt ? cleanAt - o.disruptedAt : null;
  let replayed = false;
  let failure: string | undefined;
  try {
    for (const id of o.workflowIds) await replays(o.replayClient ?? client, id);
    replayed = true;
  } catch (e) {
    failure = `replay: ${(e as Error).message.split('\n')[0]}`;
  } finally {
    await o.after?.();
  }
  // Every planned target acted on exactly once: anything beyond one per pod is a duplicate.
  const duplicates = [...acts.perPod.values()].reduce((n, c) => n + Math.max(0, c - 1), 0);
  const row: MatrixRow = {
    case: name,
    platform: 'local',
    runs: o.workflowIds.length,
    faultsLeft: left.length ? 1 : 0,
    duplicates,
    planned,
    actions: acts.injects.length,
    verdict: o.verdict,
    expectedVerdict,
    disruptionToCleanMs: toClean,
    faultOnMs: (o.cleanedAt ?? acts.offAt) !== undefined && acts.injects.length ? (o.cleanedAt ?? acts.offAt)! - Date.parse(acts.injects[0].at) : null,
    plannedChaosMs: o.plannedChaosMs ?? CHAOS_S * 1000,
    replayed,
    note: o.note + (left.length ? `; LEFT: ${left.join('; ')}` : ''),
  };
  try {
    expect(left).toEqual([]);
    expect(acts.perPod.size).toBe(planned);
    expect(duplicates).toBe(0);
    if (planned) expect(cleanAt).toBeDefined();
    expect(o.verdict).toBe(expectedVerdict);
    expect(replayed).toBe(true);
    extra(o);
  } catch (e) {
    row.failure = failure ?? (e as Error).message.split('\n').slice(0, 3).join(' ');
    recordRow(row);
    throw e;
  }
  recordRow(row);
}

/** The injection activity has completed (the ledger says done): an outside disruption from here on is mid-chaos. */
async function injected(tc: TempestClient, workflowId: string, key: string): Promise<void> {
  await waitFor('latency on every replica', () => latencyOnAll(key), 60_000);
  await waitFor('the injection recorded as done', async () => (await tc.status(workflowId)).faults[0]?.state === 'injected', 30_000);
}

/**
 * What the target must show at the moment a failpoint killed the worker, read from the fleet's own audit log and
 * the owner's ledger: the proof that the kill landed in the phase the case names.
 */
async function provePhase(point: Failpoint, key: string, since: string): Promise<string> {
  const a = latencyActions(await fleetAudit(fleet), key, since);
  const raw = (await fleet.client.owner()).annotations[key];
  const entry = raw ? (JSON.parse(raw) as { rounds: Record<string, string[]>; done: number[] }) : undefined;
  const resets = [...a.perPod.keys()].filter((pod) => a.reverts.some((e) => decodeURIComponent(e.path.split('/')[2]) === pod)).length;
  const seen = `ledger ${entry ? `rounds ${JSON.stringify(entry.rounds['0']?.length ?? 0)} done [${entry.done}]` : 'absent'}, ${a.injects.length} injection(s), ${resets} pod(s) reset`;
  switch (point) {
    case 'guard':
    case 'probe.SOT':
      expect({ ledgerWrites: a.ledgerWrites.length, injects: a.injects.length }).toEqual({ ledgerWrites: 0, injects: 0 });
      break;
    case 'fault.intent-recorded':
      expect({ intent: entry?.rounds['0']?.length, done: entry?.done, injects: a.injects.length }).toEqual({ intent: 3, done: [], injects: 0 });
      break;
    case 'fault.acted':
      expect({ done: entry?.done, injectedPods: a.perPod.size }).toEqual({ done: [], injectedPods: 3 });
      break;
    case 'revert.acted':
      expect({ ledger: !!entry, resets }).toEqual({ ledger: true, resets: 3 });
      break;
    case 'probe.EOT':
    case 'publish':
      expect({ ledger: !!entry, resets, cleared: a.ledgerClearedAt !== undefined }).toEqual({ ledger: false, resets: 3, cleared: true });
      break;
  }
  return seen;
}

/**
 * Worker SIGKILL at one phase: the first worker process is armed with a failpoint (it kills itself there) or is
 * killed from outside once the latency is on every replica; a new worker starts 2 s later and finishes the run.
 */
async function killAt(point: Failpoint | 'mid-chaos'): Promise<Outcome> {
  const cfg = caseConfig();
  const tc = new TempestClient(client, cfg);
  const since = new Date().toISOString();
  const first = await startWorkerProcess(cfg.file, point === 'mid-chaos' ? {} : { TEMPEST_FAILPOINTS: point });
  const h = await tc.start(latencyEngine(`nlb-${point.replace(/[^a-z]/gi, '-').toLowerCase()}`));
  const key = ledgerKey({ runId: h.workflowId, faultIndex: 0 });
  current = { handle: h, key };
  let how: string;
  if (point === 'mid-chaos') {
    await injected(tc, h.workflowId, key);
    await sigkill(first);
    how = 'SIGKILLed from outside once the injection was done';
  } else {
    let timer: NodeJS.Timeout | undefined;
    const end = await Promise.race([exited(first), new Promise<undefined>((r) => (timer = setTimeout(() => r(undefined), 90_000)))]);
    clearTimeout(timer);
    if (!end) throw new Error(`the worker armed with ${point} never reached it`);
    expect(end.signal).toBe('SIGKILL');
    expect(outputOf(first)).toContain(`failpoint ${point} reached: SIGKILL`);
    how = `killed itself at failpoint ${point} (the target then: ${await provePhase(point, key, since)})`;
  }
  const disruptedAt = Date.now();
  await sleep(2000);
  const second = await startWorkerProcess(cfg.file);
  let result: ExperimentResult;
  try {
    result = await tc.result(h.workflowId);
  } finally {
    await sigkill(second);
  }
  const took = Date.now() - disruptedAt;
  expect(result.faults[0].state).toBe('reverted');
  return {
    result,
    verdict: result.verdict,
    workflowIds: [h.workflowId],
    key,
    since,
    disruptedAt,
    note: `worker ${how}; new worker 2 s later; run closed ${(took / 1000).toFixed(1)} s after the kill; ${RECOVERY[point]}`,
  };
}

/** What bounds the recovery after a kill at each point (the activity options in workflows/experiment.ts). */
const RECOVERY: Record<Failpoint | 'mid-chaos', string> = {
  guard: 'the guard is retried when its 30 s start-to-close timeout expires (guards do not heartbeat)',
  'probe.SOT': 'the probe is retried after its 10 s heartbeat timeout',
  'fault.intent-recorded': 'the injection is retried after its 20 s heartbeat timeout; the ledger names the targets, so the same pods are acted on, once',
  'fault.acted': 'the injection is retried after its 20 s heartbeat timeout; it finds its own mark on every replica and acts on none again',
  'mid-chaos': 'nothing was in flight: the chaos timer fires on the new worker, which replays the history and reverts',
  'revert.acted': 'the revert is retried after its 20 s heartbeat timeout (retried until verified, no attempt limit) and verifies',
  'probe.EOT': 'the probe is retried after its 10 s heartbeat timeout; the fault was already reverted and verified',
  publish: 'publishing is retried when its 30 s start-to-close timeout expires; the fault was already reverted and verified',
};

describe('worker SIGKILL at each phase; a new worker 2 s later', () => {
  const cases: Array<[string, Failpoint | 'mid-chaos']> = [
    ['worker SIGKILL during the guards', 'guard'],
    ['worker SIGKILL during the start-of-test probes', 'probe.SOT'],
    ['worker SIGKILL between the ledger write and the act of the injection', 'fault.intent-recorded'],
    ['worker SIGKILL after the act of the injection, before "done" is recorded', 'fault.acted'],
    ['worker SIGKILL mid-chaos', 'mid-chaos'],
    ['worker SIGKILL between the act of the revert and its verification', 'revert.acted'],
    ['worker SIGKILL during the end-of-test probes', 'probe.EOT'],
    ['worker SIGKILL while publishing the result', 'publish'],
  ];
  test.each(cases)(
    '%s: reverted and verified once, no duplicate, verdict Pass, history replays',
    async (name, point) => {
      await matrixCase(name, 'Pass', () => killAt(point));
    },
    240_000,
  );
});

test('two workers on the task queue, the one holding the run SIGKILLed mid-chaos: the other takes it over without a restart', async () => {
  await matrixCase('two workers, the one holding the run SIGKILLed mid-chaos', 'Pass', async () => {
    const cfg = caseConfig();
    const tc = new TempestClient(client, cfg);
    const since = new Date().toISOString();
    const workers = [await startWorkerProcess(cfg.file), await startWorkerProcess(cfg.file)];
    const chaosS = 20;
    const h = await tc.start(latencyEngine('nlb-two-workers', continuousProbe, chaosS));
    const key = ledgerKey({ runId: h.workflowId, faultIndex: 0 });
    current = { handle: h, key };
    await injected(tc, h.workflowId, key);
    await sleep(2000);
    // The worker that completed the last workflow task holds the run in its sticky cache: that is the one to kill.
    const identityOf = async () => {
      const events = (await h.fetchHistory()).events ?? [];
      const done = events.filter((e) => e.workflowTaskCompletedEventAttributes).pop();
      return done?.workflowTaskCompletedEventAttributes?.identity ?? '';
    };
    const holder = await identityOf();
    const victim = workers.find((w) => holder.startsWith(`${w.pid}@`));
    if (!victim) throw new Error(`no worker of ours (${workers.map((w) => w.pid).join(', ')}) completed the last task (${holder})`);
    const survivor = workers.find((w) => w !== victim)!;
    await sigkill(victim);
    const disruptedAt = Date.now();
    const result = await tc.result(h.workflowId);
    const events = (await h.fetchHistory()).events ?? [];
    const firstBySurvivor = events.find(
      (e) =>
        e.workflowTaskCompletedEventAttributes?.identity?.startsWith(`${survivor.pid}@`) &&
        Number(e.eventTime?.seconds ?? 0) * 1000 + Math.floor((e.eventTime?.nanos ?? 0) / 1e6) >= disruptedAt,
    );
    const takeoverMs = firstBySurvivor
      ? Number(firstBySurvivor.eventTime!.seconds) * 1000 + Math.floor((firstBySurvivor.eventTime!.nanos ?? 0) / 1e6) - disruptedAt
      : NaN;
    await sigkill(survivor);
    expect(result.faults[0].state).toBe('reverted');
    expect(Number.isFinite(takeoverMs)).toBe(true);
    return {
      result,
      verdict: result.verdict,
      workflowIds: [h.workflowId],
      key,
      since,
      disruptedAt,
      plannedChaosMs: chaosS * 1000,
      note: `the survivor completed its first workflow task of the run ${(takeoverMs / 1000).toFixed(1)} s after the kill, without a restart: the task went to the dead worker's sticky queue and was rescheduled on the shared queue after the sticky schedule-to-start timeout (10 s); a probe in flight on the dead worker is retried after its 10 s heartbeat timeout`,
    };
  });
}, 240_000);

test('terminate mid-fault: the scheduled reconciler (30 s default interval) reverts within 45 s', async () => {
  const cfg = caseConfig({ reconciler: { enabled: true } });
  const scheduleId = `tempest-reconciler.${cfg.temporal.taskQueue}`;
  try {
    await matrixCase('terminate mid-fault (Temporal UI / CLI), 30 s reconcile interval', 'TERMINATED', async () => {
      const tc = new TempestClient(client, cfg);
      const since = new Date().toISOString();
      const worker = await startWorkerProcess(cfg.file);
      const h = await tc.start(latencyEngine('nlb-terminate', edgeProbe, 300), {});
      const key = ledgerKey({ runId: h.workflowId, faultIndex: 0 });
      current = { handle: h, key };
      await injected(tc, h.workflowId, key);
      await h.terminate('operator clicked Terminate in the Temporal UI');
      const disruptedAt = Date.now();
      await waitFor('the reconciler cleaned the target', async () => (await localLeft(fleet, key)).length === 0, 60_000, 500);
      const cleanMs = Date.now() - disruptedAt;
      await sigkill(worker);
      expect(cleanMs).toBeLessThanOrEqual(45_000);
      return {
        verdict: (await h.describe()).status.name,
        workflowIds: [h.workflowId],
        key,
        since,
        disruptedAt,
        plannedChaosMs: 300_000,
        note: `clean ${(cleanMs / 1000).toFixed(1)} s after the terminate: the reconcile schedule fires every 30 s, so anywhere from 0 to 30 s plus the revert (about a second)`,
      };
    });
  } finally {
    await client.schedule
      .getHandle(scheduleId)
      .delete()
      .catch(() => undefined);
  }
}, 180_000);

test('SIGTERM: the worker drains and exits; the fault stays until the next worker reverts it', async () => {
  await matrixCase('worker SIGTERM mid-chaos (drain), a new worker 2 s later', 'Pass', async () => {
    const cfg = caseConfig();
    const tc = new TempestClient(client, cfg);
    const since = new Date().toISOString();
    const first = await startWorkerProcess(cfg.file);
    const chaosS = 15;
    const h = await tc.start(latencyEngine('nlb-sigterm', continuousProbe, chaosS));
    const key = ledgerKey({ runId: h.workflowId, faultIndex: 0 });
    current = { handle: h, key };
    await injected(tc, h.workflowId, key);
    const disruptedAt = Date.now();
    first.kill('SIGTERM');
    const end = await exited(first);
    const drainMs = Date.now() - disruptedAt;
    // Not reverted at once: the run is open and belongs to the next worker (or, if none comes, the dead-man expiry).
    const still = await latencyOnAll(key);
    expect(still).toBe(true);
    await sleep(2000);
    const second = await startWorkerProcess(cfg.file);
    const result = await tc.result(h.workflowId);
    await sigkill(second);
    expect(result.faults[0].state).toBe('reverted');
    return {
      result,
      verdict: result.verdict,
      workflowIds: [h.workflowId],
      key,
      since,
      disruptedAt,
      plannedChaosMs: chaosS * 1000,
      note: `the worker stopped polling and exited (${end.code === 0 ? 'exit 0' : `exit ${end.code ?? end.signal}`}) ${(drainMs / 1000).toFixed(1)} s after SIGTERM (in-flight activities get the 5 s shutdown grace); nothing was reverted at once: the latency stayed on every replica (${still ? 'checked' : 'NOT found'}) until the next worker resumed the run`,
    };
  });
}, 180_000);

test('no worker ever comes back: the target drops the fault by itself at chaos end + the dead-man margin', async () => {
  await matrixCase('no worker ever comes back (dead-man margin 5 s)', 'Pass', async () => {
    const cfg = caseConfig({ faults: { deadManMargin: '5s' } });
    const tc = new TempestClient(client, cfg);
    const since = new Date().toISOString();
    const first = await startWorkerProcess(cfg.file);
    const h = await tc.start(latencyEngine('nlb-no-worker'));
    const key = ledgerKey({ runId: h.workflowId, faultIndex: 0 });
    current = { handle: h, key };
    await injected(tc, h.workflowId, key);
    const entry = JSON.parse((await fleet.client.owner()).annotations[key]) as { expiresAt: string };
    await sigkill(first);
    const disruptedAt = Date.now();
    // Nobody reverts: each replica drops the fault at its own expiry, read here from the replicas themselves.
    await waitFor(
      'the replicas healed themselves',
      async () => {
        const bs = await Promise.all((await fleet.client.pods()).map((p) => fleet.client.behaviour(p.name)));
        return bs.every((b) => b && b.latencyMs === 0);
      },
      60_000,
      200,
    );
    const healedAt = Date.now();
    const afterExpiry = healedAt - Date.parse(entry.expiresAt);
    expect(afterExpiry).toBeGreaterThanOrEqual(-250);
    expect(afterExpiry).toBeLessThan(5000);
    // Clean with no worker at all: read back AND measured through the balancer (the ledger is still there, by design).
    expect(await localLeft(fleet, key, { ledger: false })).toEqual([]);
    expect((await fleet.client.owner()).annotations[key]).toBeDefined();
    // A worker that comes back later still closes the run: it reverts (nothing left to undo), verifies, clears the ledger.
    const second = await startWorkerProcess(cfg.file);
    const result = await tc.result(h.workflowId);
    await sigkill(second);
    return {
      result,
      verdict: result.verdict,
      workflowIds: [h.workflowId],
      key,
      since,
      disruptedAt,
      cleanedAt: healedAt,
      note: `no worker at all: every replica dropped the latency by itself ${(afterExpiry / 1000).toFixed(1)} s after its dead-man time (chaos end + 5 s), ${((healedAt - disruptedAt) / 1000).toFixed(1)} s after the kill; a worker started afterwards closed the run (revert: nothing left to undo, verified) and cleared the ledger`,
    };
  });
}, 180_000);

describe('the Temporal server SIGKILLed mid-chaos and restarted on the same database', () => {
  let server: ChildProcess | undefined;
  let dir: string;
  let port: number;
  const startServer = async () => {
    server = spawn(
      TEMPORAL_CLI,
      [
        'server',
        'start-dev',
        '--ip',
        '127.0.0.1',
        '--port',
        String(port),
        '--http-port',
        String(port + 1),
        '--metrics-port',
        String(port + 2),
        '--headless',
        '--db-filename',
        join(dir, 'temporal.db'),
        '--namespace',
        'default',
        '--log-level',
        'error',
      ],
      { stdio: 'ignore' },
    );
    await waitFor(
      'own Temporal server healthy',
      async () => {
        try {
          const c = await Connection.connect({ address: `127.0.0.1:${port}`, connectTimeout: 1000 });
          await c.workflowService.getSystemInfo({});
          await c.close();
          return true;
        } catch {
          return false;
        }
      },
      60_000,
      300,
    );
  };
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tempest-temporal-'));
    port = await freePorts(3); // gRPC, then HTTP and metrics
    await startServer();
  }, 90_000);
  afterAll(() => {
    server?.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  test('the run continues and reverts; nothing is injected twice', async () => {
    await matrixCase('Temporal server SIGKILL mid-chaos, restarted on the same database', 'Pass', async () => {
      const address = `127.0.0.1:${port}`;
      const cfg = caseConfig({
        temporal: { address, namespace: 'default', taskQueue: `it-temporal-kill-${Date.now().toString(36)}`, searchAttributes: false },
      });
      const own = await Connection.connect({ address });
      const tc = new TempestClient(new Client({ connection: own, namespace: 'default' }), cfg);
      const since = new Date().toISOString();
      const worker = await startWorkerProcess(cfg.file);
      const chaosS = 15;
      const h = await tc.start(latencyEngine('nlb-temporal-kill', edgeProbe, chaosS));
      const key = ledgerKey({ runId: h.workflowId, faultIndex: 0 });
      current = { handle: h, key };
      await injected(tc, h.workflowId, key);
      const dead = new Promise((r) => server!.once('exit', r));
      server!.kill('SIGKILL');
      await dead;
      const disruptedAt = Date.now();
      await sleep(3000);
      await startServer();
      const restartedMs = Date.now() - disruptedAt;
      await own.close();
      const again = await Connection.connect({ address });
      const againClient = new Client({ connection: again, namespace: 'default' });
      let result: ExperimentResult;
      try {
        result = await new TempestClient(againClient, cfg).result(h.workflowId);
      } finally {
        await sigkill(worker);
      }
      expect(result.faults[0].state).toBe('reverted');
      return {
        result,
        verdict: result.verdict,
        workflowIds: [h.workflowId],
        key,
        since,
        disruptedAt,
        plannedChaosMs: chaosS * 1000,
        replayClient: againClient,
        after: () => again.close(),
        note: `server down ${(restartedMs / 1000).toFixed(1)} s (SIGKILL, 3 s, restart on the same SQLite file); the worker reconnected by itself and the run went on from its durable timers `,
      };
    });
  }, 240_000);
});

describe('Prometheus down', () => {
  let prom: PrometheusHandle | undefined;
  let bin = '';
  beforeAll(async () => {
    const a = await ensurePrometheus();
    if (!a.ok) throw new Error(`Prometheus is needed for these cases and could not be installed: ${a.reason}`);
    bin = a.bin;
  }, 120_000);
  afterAll(async () => {
    await prom?.stop();
  });
  const upQuery = (job: string) => `min(up{job=${JSON.stringify(job)}})`;

  test('stopped during chaos: the rollback triggers go blind, and after 3 blind polls the chaos stops as a breach', async () => {
    prom = await startPrometheus({ bin, targets: fleet.targets, job: 'api-gateway', scrapeIntervalS: 1 });
    await prom.waitForTargetsUp(30_000);
    await matrixCase('Prometheus stopped during chaos (rollback triggers flying blind)', 'Fail', async () => {
      const cfg = caseConfig({
        rollbackTriggers: {
          pollInterval: 1,
          blindAfter: 3,
          triggers: [{ name: 'replica-down', endpoint: prom!.url, query: upQuery('api-gateway'), criteria: '<', threshold: '1' }],
        },
      });
      const tc = new TempestClient(client, cfg);
      const since = new Date().toISOString();
      const worker = await startWorkerProcess(cfg.file);
      const chaosS = 120;
      const h = await tc.start(latencyEngine('nlb-prometheus-blind', edgeProbe, chaosS));
      const key = ledgerKey({ runId: h.workflowId, faultIndex: 0 });
      current = { handle: h, key };
      await injected(tc, h.workflowId, key);
      await prom!.stop();
      prom = undefined;
      const disruptedAt = Date.now();
      const result = await tc.result(h.workflowId);
      await sigkill(worker);
      expect(result.faults[0].state).toBe('reverted');
      expect(result.reason).toMatch(/blind|could not be evaluated/i);
      return {
        result,
        verdict: result.verdict,
        workflowIds: [h.workflowId],
        key,
        since,
        disruptedAt,
        plannedChaosMs: chaosS * 1000,
        note: `Prometheus stopped mid-chaos; the chaos (planned 120 s) was stopped after 3 blind polls at 1 s and reverted (time to clean in the table): "${result.reason.slice(0, 140)}"`,
      };
    });
  }, 240_000);

  test('before the run: the Prometheus guard fails closed, the run is blocked with the reason, nothing is injected', async () => {
    await matrixCase('Prometheus down before the run (guard fails closed)', 'Aborted', async () => {
      const dead = await freePort(); // nothing listens there: Prometheus is down
      const cfg = caseConfig({
        guards: [
          {
            type: 'prometheus',
            name: 'error-budget',
            endpoint: `http://127.0.0.1:${dead}`,
            query: upQuery('api-gateway'),
            criteria: '>=',
            value: '1',
            onEmpty: 'fail',
          },
        ],
      });
      const tc = new TempestClient(client, cfg);
      const since = new Date().toISOString();
      const worker = await startWorkerProcess(cfg.file);
      const h = await tc.start(latencyEngine('nlb-prometheus-guard'));
      const key = ledgerKey({ runId: h.workflowId, faultIndex: 0 });
      current = { handle: h, key };
      const disruptedAt = Date.now();
      const result = await tc.result(h.workflowId);
      await sigkill(worker);
      expect(result.reason).toMatch(/error-budget/);
      expect(result.faults.every((f) => f.rounds === 0)).toBe(true);
      return {
        result,
        verdict: result.verdict,
        workflowIds: [h.workflowId],
        key,
        since,
        disruptedAt,
        planned: 0,
        note: `blocked before any injection: "${result.reason.slice(0, 160)}"`,
      };
    });
  }, 120_000);
});
