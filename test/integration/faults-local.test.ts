/**
 * The local platform's fault drivers, run as the real activities (createActivities → injectFault / revertFault /
 * preflight) inside a real activity Context (MockActivityEnvironment), against a real fleet of replica processes
 * (scripts/fleet). Every assertion reads the REAL state: /proc for pids, RSS and stressor markers, the fleet's
 * control API for pods, owner annotations (the fault ledger) and replica behaviour, direct HTTP requests to a
 * replica for latency, sha256 of a real file for model corruption. No mocks.
 *
 * Every test reverts in a finally (even on failure) and every wait is bounded.
 */
import { createHash, randomBytes } from 'node:crypto';
import {
  closeSync,
  existsSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readSync,
  readdirSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MockActivityEnvironment } from '@temporalio/testing';
import { ApplicationFailure } from '@temporalio/common';
import { DefaultLogger } from '@temporalio/worker';
import { createActivities } from '../../activities/index.js';
import type { FaultRef, InjectRequest, InjectResult, PreflightResult, RevertResult, TempestActivities } from '../../activities/types.js';
import { ledgerKey, type LedgerEntry } from '../../activities/faults/driver.js';
import { findStressors, killStressors, markerFor } from '../../activities/faults/stressor.js';
import type { LocalPod } from '../../activities/platform/local.js';
import type { ExperimentSpec } from '../../config/spec.js';
import type { TempestConfig } from '../../config/tempest-config.js';
import { engine } from '../helpers/engines.js';
import { isAlive, startFleet, waitFor, type TestFleet } from '../helpers/fleet.js';
import { testConfig } from '../helpers/config.js';

const REPLICAS = 3;

let fleet: TestFleet;
let cfg: TempestConfig & { file: string };
let acts: TempestActivities;
/** Every fault this file injected, so afterAll can make sure no stressor or latency outlives the suite. */
const injected: FaultRef[] = [];
const tempDirs: string[] = [];

// ---------------------------------------------------------------- helpers
/** A real activity Context; the SDK's "Activity failed" warnings are muted (the expected refusals are asserted on). */
const mockEnv = () => new MockActivityEnvironment(undefined, { logger: new DefaultLogger('ERROR') });

let seq = 0;
function request(spec: ExperimentSpec, over: Partial<InjectRequest> = {}): InjectRequest {
  return {
    runId: `faults-local-${process.pid}-${Date.now().toString(36)}-${++seq}`,
    experiment: spec.name,
    target: spec.target,
    fault: spec.faults[0],
    faultIndex: 0,
    round: 0,
    expiresAt: new Date(Date.now() + 120_000).toISOString(),
    ...over,
  };
}

function inject(req: InjectRequest, a: TempestActivities = acts, env = mockEnv()): Promise<InjectResult> {
  if (!injected.some((r) => r.runId === req.runId && r.faultIndex === req.faultIndex)) injected.push(req);
  return env.run(a.injectFault, req);
}

function revert(ref: FaultRef, a: TempestActivities = acts): Promise<RevertResult> {
  return mockEnv().run(a.revertFault, ref);
}

/**
 * Runs `body`, then always reverts `ref` (finally, even if `body` failed). A revert failure fails the test unless the
 * body already failed (then the body's error is the one reported, the revert's is logged).
 */
async function withRevert<T>(ref: FaultRef, body: () => Promise<T>, a: TempestActivities = acts): Promise<{ out: T; reverted: RevertResult }> {
  let out: T | undefined;
  let reverted: RevertResult | undefined;
  let bodyFailed = true;
  try {
    out = await body();
    bodyFailed = false;
  } finally {
    try {
      reverted = await revert(ref, a);
    } catch (re) {
      if (!bodyFailed) throw re;
      console.warn(`revert after a failed test also failed: ${String(re)}`);
    }
  }
  return { out: out as T, reverted: reverted! };
}

async function ledgerOf(ref: FaultRef): Promise<LedgerEntry | undefined> {
  const raw = (await fleet.client.owner()).annotations[ledgerKey(ref)];
  return raw ? (JSON.parse(raw) as LedgerEntry) : undefined;
}

/** All replicas running and ready, the owner at desired: the state every test starts from. */
async function steadyPods(): Promise<LocalPod[]> {
  return waitFor(
    'fleet steady (3/3 ready, all Running)',
    async () => {
      const [o, pods] = await Promise.all([fleet.client.owner(), fleet.client.pods()]);
      return o.ready === REPLICAS && o.desired === REPLICAS && pods.length === REPLICAS && pods.every((p) => p.phase === 'Running' && p.ready) && pods;
    },
    45_000,
    100,
  );
}

/** One GET straight to a replica's port (not through the balancer); resolves with status and elapsed ms. */
function directGet(port: number, path = '/health', timeoutMs = 10_000): Promise<{ status: number; ms: number }> {
  const t0 = Date.now();
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, method: 'GET', agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, ms: Date.now() - t0 }));
      res.on('error', reject);
    });
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`GET :${port}${path} timed out after ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}

const sha256 = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

function vmRssKb(pid: number): number {
  const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : 0;
}

/** utime + stime of a process, in clock ticks. */
function cpuTicks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(f[11]) + Number(f[12]); // fields 14 and 15 of proc(5), counted from field 3
}

const pidsOf = (r: InjectResult) => r.affected.map((a) => Number(/^pid (\d+)$/.exec(a)?.[1] ?? NaN));

/** The typed failure an activity threw (the ApplicationFailure itself, through the mock Context). */
async function failureOf(p: Promise<unknown>): Promise<ApplicationFailure> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(ApplicationFailure);
    return e as ApplicationFailure;
  }
  throw new Error('expected the activity to fail, it succeeded');
}

// ---------------------------------------------------------------- suite set-up
beforeAll(async () => {
  fleet = await startFleet({ replicas: REPLICAS, restartDelayMs: 200 });
  cfg = testConfig(fleet);
  acts = createActivities({ config: cfg });
}, 90_000);

afterAll(async () => {
  // Safety net only: each test reverts its own fault. Nothing this file started may outlive it.
  for (const ref of injected) killStressors(ledgerKey(ref));
  if (fleet) {
    try {
      for (const p of await fleet.client.pods()) {
        const b = await fleet.client.behaviour(p.name).catch(() => undefined);
        if (b?.setBy?.startsWith('tempest.io/fault.faults-local-')) await fleet.client.setBehaviour(p.name, {}).catch(() => undefined);
      }
    } catch {
      /* the fleet is stopped next anyway */
    }
    await fleet.stop();
  }
  for (const d of tempDirs) rmSync(d, { recursive: true, force: true });
}, 60_000);

// ---------------------------------------------------------------- pod-delete
describe('pod-delete', () => {
  test('FORCE=true kills with grace 0 (the pid is dead at once), the ledger records the round, and revert waits for ready == desired', async () => {
    const before = await steadyPods();
    const spec = engine('api-gateway-chaos', 'pod-delete', { FORCE: 'true', PODS_AFFECTED_PERC: '0' });
    const req = request(spec);
    const env = mockEnv();
    const beats: unknown[] = [];
    env.on('heartbeat', (d: unknown) => beats.push(d));

    const { reverted } = await withRevert(req, async () => {
      const r = await inject(req, acts, env);
      const t = Date.now();
      expect(r.alreadyDone).toBe(false);
      expect(r.affected).toHaveLength(1);
      const victim = before.find((p) => p.name === r.affected[0])!;
      expect(victim).toBeDefined();
      expect(r.detail).toContain('grace 0s');
      // SIGKILL: dead (or a reaped zombie) within a blink, not after a grace period.
      await waitFor(`pid ${victim.pid} dead`, () => !isAlive(victim.pid), 1_000, 10);
      expect(Date.now() - t).toBeLessThan(1_000);
      for (const p of before.filter((x) => x !== victim)) expect(isAlive(p.pid)).toBe(true);
      // The owner saw it: fewer ready than desired right after the inject.
      const o = await fleet.client.owner();
      expect(o.ready).toBeLessThan(o.desired);
      // The ledger annotation exists on the owner, naming the round's target, round marked done.
      const entry = await ledgerOf(req);
      expect(entry).toMatchObject({ fault: 'pod-delete', run: req.runId, faultIndex: 0, rounds: { '0': [victim.name] }, done: [0], expiresAt: req.expiresAt });
      expect(beats).toContainEqual({ round: 0, deleted: [victim.name] });
      return victim;
    });

    // revertFault returns only once the owner is back to desired ready replicas, then clears the ledger.
    expect(reverted.undone).toEqual([]);
    expect(reverted.verification).toBe(`${REPLICAS}/${REPLICAS} replicas ready; ledger clean`);
    const o = await fleet.client.owner();
    expect(o.ready).toBe(o.desired);
    expect(o.annotations[ledgerKey(req)]).toBeUndefined();
  });

  test('FORCE=false deletes with SIGTERM: the replica drains its in-flight request and exits on its own, long before the 30 s grace', async () => {
    const before = await steadyPods();
    const victim = before[1];
    const spec = engine('api-gateway-chaos', 'pod-delete', { FORCE: 'false', TARGET_PODS: victim.name });
    const req = request(spec);
    await withRevert(req, async () => {
      // A slow request in flight on the victim: SIGTERM lets it finish (graceful shutdown), SIGKILL would reset it.
      expect(
        await fleet.client.setBehaviour(victim.name, { latencyMs: 1000, setBy: 'faults-local-test', expiresAt: new Date(Date.now() + 15_000).toISOString() }),
      ).toBe(true);
      const inflight = directGet(victim.port, '/health', 10_000);
      inflight.catch(() => undefined); // observed below
      await new Promise((r) => setTimeout(r, 200));
      const t = Date.now();
      const r = await inject(req);
      expect(r.affected).toEqual([victim.name]);
      expect(r.detail).toContain('grace 30s');
      const view = (await fleet.client.pods()).find((p) => p.name === victim.name);
      expect(view?.phase).toBe('Terminating'); // still there, draining: not killed at once
      expect(isAlive(victim.pid)).toBe(true);
      const answered = await inflight;
      expect(answered.status).toBe(200);
      expect(answered.ms).toBeGreaterThanOrEqual(1000);
      // It exits by itself on SIGTERM (the replica's hard stop is 1.5 s), nowhere near the 30 s SIGKILL.
      await waitFor(`pid ${victim.pid} exited after SIGTERM`, () => !isAlive(victim.pid), 5_000, 50);
      expect(Date.now() - t).toBeLessThan(5_000);
      for (const p of before.filter((x) => x !== victim)) expect(isAlive(p.pid)).toBe(true);
    });
    expect((await fleet.client.owner()).ready).toBe(REPLICAS);
  });

  test('PODS_AFFECTED_PERC=67 deletes 2 of 3 pods', async () => {
    const before = await steadyPods();
    const spec = engine('api-gateway-chaos', 'pod-delete', { FORCE: 'true', PODS_AFFECTED_PERC: '67' });
    const req = request(spec);
    await withRevert(req, async () => {
      const r = await inject(req);
      expect(r.affected).toHaveLength(2);
      expect(new Set(r.affected).size).toBe(2);
      const hit = before.filter((p) => r.affected.includes(p.name));
      const spared = before.filter((p) => !r.affected.includes(p.name));
      expect(hit).toHaveLength(2);
      expect(spared).toHaveLength(1);
      await waitFor('both victims dead', () => hit.every((p) => !isAlive(p.pid)), 1_000, 10);
      expect(isAlive(spared[0].pid)).toBe(true);
      expect((await ledgerOf(req))?.rounds['0']?.sort()).toEqual(r.affected.sort());
    });
    const after = await fleet.client.pods();
    expect(after.filter((p) => p.phase === 'Running' && p.ready)).toHaveLength(REPLICAS);
  });

  test('TARGET_PODS is honoured: exactly the named pods are deleted', async () => {
    const before = await steadyPods();
    const named = [before[0], before[2]];
    const spec = engine('api-gateway-chaos', 'pod-delete', { FORCE: 'true', TARGET_PODS: named.map((p) => p.name).join(',') });
    const req = request(spec);
    await withRevert(req, async () => {
      const r = await inject(req);
      expect([...r.affected].sort()).toEqual(named.map((p) => p.name).sort());
      await waitFor('named pods dead', () => named.every((p) => !isAlive(p.pid)), 1_000, 10);
      expect(isAlive(before[1].pid)).toBe(true);
      expect((await fleet.client.pods()).some((p) => p.name === before[1].name && p.phase === 'Running')).toBe(true);
    });
  });

  test('the same round injected twice deletes only once (second attempt: alreadyDone, no pod deleted)', async () => {
    const before = await steadyPods();
    const restartsBefore = before.reduce((n, p) => n + p.restarts, 0);
    const spec = engine('api-gateway-chaos', 'pod-delete', { FORCE: 'true', PODS_AFFECTED_PERC: '0' });
    const req = request(spec);
    await withRevert(req, async () => {
      const first = await inject(req);
      expect(first.alreadyDone).toBe(false);
      expect(first.affected).toHaveLength(1);
      // Let the fleet replace the victim, so a second deletion would have a running pod to hit.
      const recovered = await steadyPods();
      const second = await inject({ ...req }); // same runId / faultIndex / round: a retry of the same attempt
      expect(second.alreadyDone).toBe(true);
      expect(second.affected).toEqual(first.affected);
      // Nothing else was deleted: the same pods, the same pids, all alive, and a single restart overall.
      const now = await fleet.client.pods();
      expect(now.map((p) => `${p.name}:${p.pid}:${p.phase}`).sort()).toEqual(recovered.map((p) => `${p.name}:${p.pid}:${p.phase}`).sort());
      for (const p of recovered) expect(isAlive(p.pid)).toBe(true);
      expect(now.reduce((n, p) => n + p.restarts, 0)).toBe(restartsBefore + 1);
      expect((await ledgerOf(req))?.done).toEqual([0]);
    });
    expect(await ledgerOf(req)).toBeUndefined();
  });
});

// ---------------------------------------------------------------- container-kill
describe('container-kill', () => {
  test("kills the replica's process directly; the fleet replaces it; revert verifies recovery", async () => {
    const before = await steadyPods();
    const spec = engine('api-gateway-chaos', 'container-kill', { PODS_AFFECTED_PERC: '0' });
    const req = request(spec);
    let victim: LocalPod | undefined;
    const { reverted } = await withRevert(req, async () => {
      const r = await inject(req);
      expect(r.alreadyDone).toBe(false);
      expect(r.affected).toHaveLength(1);
      victim = before.find((p) => p.name === r.affected[0])!;
      expect(r.detail).toContain(`${victim.name}:${victim.pid}`);
      expect((await ledgerOf(req))?.rounds['0']).toEqual([`${victim.name}:${victim.pid}`]);
      await waitFor(`container pid ${victim.pid} dead`, () => !isAlive(victim!.pid), 1_000, 10);
      for (const p of before.filter((x) => x !== victim)) expect(isAlive(p.pid)).toBe(true);
      // Same round again: nothing more is killed.
      const again = await inject({ ...req });
      expect(again.alreadyDone).toBe(true);
      for (const p of before.filter((x) => x !== victim)) expect(isAlive(p.pid)).toBe(true);
    });
    expect(reverted.verification).toBe(`${REPLICAS}/${REPLICAS} replicas ready; ledger clean`);
    const after = await fleet.client.pods();
    const replacement = after.find((p) => p.slot === victim!.slot)!;
    expect(replacement.name).not.toBe(victim!.name);
    expect(replacement.pid).not.toBe(victim!.pid);
    expect(replacement.ready).toBe(true);
    expect(isAlive(replacement.pid)).toBe(true);
    expect(await ledgerOf(req)).toBeUndefined();
  });

  test('revert right after the kill, before the fleet has even noticed it, still waits for the replacement', async () => {
    const before = await steadyPods();
    const spec = engine('api-gateway-chaos', 'container-kill', { PODS_AFFECTED_PERC: '0' });
    const req = request(spec);
    let victim: LocalPod | undefined;
    const { reverted } = await withRevert(req, async () => {
      const r = await inject(req);
      victim = before.find((p) => p.name === r.affected[0])!;
      expect(victim).toBeDefined();
    }); // no wait at all between the kill and revertFault
    expect(reverted.verification).toBe(`${REPLICAS}/${REPLICAS} replicas ready; ledger clean`);
    expect(isAlive(victim!.pid)).toBe(false);
    const after = await fleet.client.pods();
    expect(after.map((p) => p.name)).not.toContain(victim!.name);
    const replacement = after.find((p) => p.slot === victim!.slot)!;
    expect(replacement.ready).toBe(true);
    expect(isAlive(replacement.pid)).toBe(true);
    for (const p of before.filter((x) => x !== victim)) expect(isAlive(p.pid)).toBe(true);
  });
});

// ---------------------------------------------------------------- pod-cpu-hog
describe('pod-cpu-hog', () => {
  test('CPU_CORES=2 CPU_LOAD=20 starts 2 real stressors, once; revert kills them and verifies', async () => {
    const spec = engine('api-gateway-cpu', 'pod-cpu-hog', { CPU_CORES: '2', CPU_LOAD: '20' });
    const req = request(spec);
    const key = ledgerKey(req);
    let pids: number[] = [];
    const { reverted } = await withRevert(req, async () => {
      const r = await inject(req);
      expect(r.alreadyDone).toBe(false);
      pids = pidsOf(r);
      expect(pids).toHaveLength(2);
      expect(findStressors(key).sort()).toEqual([...pids].sort());
      for (const pid of pids) {
        expect(isAlive(pid)).toBe(true);
        expect(readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')).toContain(markerFor(key));
      }
      // They really burn CPU (20 % of a core each: ~20 ticks/s).
      await waitFor('stressors consuming CPU', () => pids.every((pid) => cpuTicks(pid) >= 5), 10_000, 200);
      expect((await ledgerOf(req))?.data).toEqual({ pids });
      // A second inject of the same fault starts nothing new.
      const again = await inject({ ...req });
      expect(again.alreadyDone).toBe(true);
      expect([...again.affected].sort()).toEqual([...r.affected].sort()); // same shape as the first answer: "pid N"
      expect(findStressors(key).sort()).toEqual([...pids].sort());
    });
    expect(reverted.undone.sort()).toEqual(pids.map((p) => `pid ${p}`).sort());
    expect(reverted.verification).toBe('no cpu stressor left; ledger clean');
    expect(findStressors(key)).toEqual([]);
    for (const pid of pids) expect(isAlive(pid)).toBe(false);
    expect(await ledgerOf(req)).toBeUndefined();
  });

  test("a stressor's dead-man switch: with expiresAt 2 s ahead it exits by itself", async () => {
    const spec = engine('api-gateway-cpu', 'pod-cpu-hog', { CPU_CORES: '1', CPU_LOAD: '10' });
    const req = request(spec, { expiresAt: new Date(Date.now() + 2_000).toISOString() });
    const key = ledgerKey(req);
    const { reverted } = await withRevert(req, async () => {
      const r = await inject(req);
      const [pid] = pidsOf(r);
      expect(findStressors(key)).toEqual([pid]);
      expect(r.detail).toContain(req.expiresAt);
      const t0 = Date.now();
      await waitFor('stressor gone on its own', () => findStressors(key).length === 0 && !isAlive(pid), 10_000, 100);
      // Gone at about expiresAt, not before (it was started well within the 2 s).
      expect(Date.now()).toBeGreaterThanOrEqual(Date.parse(req.expiresAt) - 150);
      expect(Date.now() - t0).toBeLessThan(10_000);
    });
    expect(reverted.undone).toEqual([]); // nothing left to kill
    expect(reverted.verification).toBe('no cpu stressor left; ledger clean');
  });
});

// ---------------------------------------------------------------- pod-memory-hog
describe('pod-memory-hog', () => {
  test('MEMORY_CONSUMPTION=50 NUMBER_OF_WORKERS=1 holds >= 50 MB resident; revert kills it', async () => {
    const spec = engine('api-gateway-mem', 'pod-memory-hog', { MEMORY_CONSUMPTION: '50', NUMBER_OF_WORKERS: '1' });
    const req = request(spec);
    const key = ledgerKey(req);
    let pid = 0;
    const { reverted } = await withRevert(req, async () => {
      const r = await inject(req);
      const pids = pidsOf(r);
      expect(pids).toHaveLength(1);
      pid = pids[0];
      expect(findStressors(key)).toEqual([pid]);
      const rss = await waitFor(
        'RSS >= 50 MB',
        () => {
          const kb = vmRssKb(pid);
          return kb >= 50 * 1024 && kb;
        },
        15_000,
        100,
      );
      expect(rss).toBeGreaterThanOrEqual(50 * 1024);
    });
    expect(reverted.undone).toEqual([`pid ${pid}`]);
    expect(reverted.verification).toBe('no memory stressor left; ledger clean');
    expect(isAlive(pid)).toBe(false);
    expect(findStressors(key)).toEqual([]);
  });
});

// ---------------------------------------------------------------- pod-network-latency
describe('pod-network-latency', () => {
  const LATENCY = 600;

  test('latency is really applied on every replica; revert resets them all and verify reads them back', async () => {
    const before = await steadyPods();
    for (const p of before) expect((await directGet(p.port)).ms).toBeLessThan(LATENCY);
    const spec = engine('api-gateway-latency', 'pod-network-latency', { NETWORK_LATENCY: String(LATENCY), PODS_AFFECTED_PERC: '100' });
    const req = request(spec);
    const { reverted } = await withRevert(req, async () => {
      const r = await inject(req);
      expect([...r.affected].sort()).toEqual(before.map((p) => p.name).sort());
      for (const p of before) {
        const b = await fleet.client.behaviour(p.name);
        expect(b).toMatchObject({ latencyMs: LATENCY, setBy: ledgerKey(req), expiresAt: req.expiresAt });
        const g = await directGet(p.port);
        expect(g.status).toBe(200);
        expect(g.ms).toBeGreaterThanOrEqual(LATENCY);
      }
      expect((await inject({ ...req })).alreadyDone).toBe(true);
    });
    expect([...reverted.undone].sort()).toEqual(before.map((p) => p.name).sort());
    expect(reverted.verification).toBe(`no latency on ${REPLICAS} pod(s); ledger clean`);
    for (const p of await fleet.client.pods()) {
      expect(await fleet.client.behaviour(p.name)).toEqual({ latencyMs: 0, errorRate: 0, down: false, expiresAt: null, setBy: null });
      expect((await directGet(p.port)).ms).toBeLessThan(LATENCY);
    }
    expect(await ledgerOf(req)).toBeUndefined();
  });

  test('a pod deleted while latency is on (its replacement starts clean) does not break revert', async () => {
    const before = await steadyPods();
    const spec = engine('api-gateway-latency', 'pod-network-latency', { NETWORK_LATENCY: String(LATENCY), PODS_AFFECTED_PERC: '100' });
    const req = request(spec);
    const victim = before[0];
    const { reverted } = await withRevert(req, async () => {
      await inject(req);
      expect((await directGet(victim.port)).ms).toBeGreaterThanOrEqual(LATENCY);
      expect(await fleet.client.deletePod(victim.name, 0)).toBe(true);
      await waitFor('victim dead', () => !isAlive(victim.pid), 2_000, 10);
      const pods = await steadyPods();
      const replacement = pods.find((p) => p.slot === victim.slot)!;
      expect(replacement.name).not.toBe(victim.name);
      expect(await fleet.client.behaviour(replacement.name)).toMatchObject({ latencyMs: 0, setBy: null });
      expect((await directGet(replacement.port)).ms).toBeLessThan(LATENCY);
      // The survivors are still slow.
      for (const p of before.slice(1)) expect((await fleet.client.behaviour(p.name))?.latencyMs).toBe(LATENCY);
    });
    // The ledger names the gone pod: it is skipped, the two survivors are reset.
    expect([...reverted.undone].sort()).toEqual(
      before
        .slice(1)
        .map((p) => p.name)
        .sort(),
    );
    expect(reverted.verification).toBe(`no latency on ${REPLICAS} pod(s); ledger clean`);
    for (const p of await fleet.client.pods()) expect((await fleet.client.behaviour(p.name))?.latencyMs).toBe(0);
  });

  test('a pod deleted just before revert (still terminating, or just gone) does not break revert', async () => {
    const before = await steadyPods();
    const spec = engine('api-gateway-latency', 'pod-network-latency', { NETWORK_LATENCY: String(LATENCY), PODS_AFFECTED_PERC: '100' });
    const req = request(spec);
    const victim = before[2];
    const { reverted } = await withRevert(req, async () => {
      await inject(req);
      expect(await fleet.client.deletePod(victim.name, 0)).toBe(true);
    });
    expect(reverted.undone).not.toContain(victim.name);
    for (const p of before.slice(0, 2)) expect(reverted.undone).toContain(p.name);
    for (const p of await steadyPods()) expect((await fleet.client.behaviour(p.name))?.latencyMs).toBe(0);
  });
  test('a replacement pod still starting (Pending, not answering yet) when revert runs does not break revert', async () => {
    const before = await steadyPods();
    const spec = engine('api-gateway-latency', 'pod-network-latency', { NETWORK_LATENCY: String(LATENCY), PODS_AFFECTED_PERC: '100' });
    const req = request(spec);
    const victim = before[0];
    const { reverted } = await withRevert(req, async () => {
      await inject(req);
      expect(await fleet.client.deletePod(victim.name, 0)).toBe(true);
      const pending = await waitFor(
        'replacement pod Pending',
        async () => (await fleet.client.pods()).find((p) => p.slot === victim.slot && p.name !== victim.name && p.phase === 'Pending'),
        5_000,
        10,
      );
      expect(pending.ready).toBe(false);
    });
    expect([...reverted.undone].sort()).toEqual(
      before
        .slice(1)
        .map((p) => p.name)
        .sort(),
    );
    for (const p of await steadyPods()) expect(await fleet.client.behaviour(p.name)).toMatchObject({ latencyMs: 0, setBy: null });
  });

  test('a pod still terminating (draining a slow request) when revert runs does not break revert', async () => {
    const before = await steadyPods();
    const spec = engine('api-gateway-latency', 'pod-network-latency', { NETWORK_LATENCY: '1500', PODS_AFFECTED_PERC: '100' });
    const req = request(spec);
    const victim = before[1];
    let inflight: Promise<{ status: number; ms: number }> | undefined;
    const { reverted } = await withRevert(req, async () => {
      await inject(req);
      inflight = directGet(victim.port, '/health', 10_000);
      inflight.catch(() => undefined);
      await new Promise((r) => setTimeout(r, 100));
      expect(await fleet.client.deletePod(victim.name, 30)).toBe(true); // SIGTERM: it drains for ~1.4 s
      expect((await fleet.client.pods()).find((p) => p.name === victim.name)?.phase).toBe('Terminating');
    });
    expect(reverted.undone).not.toContain(victim.name);
    for (const p of before.filter((x) => x !== victim)) expect(reverted.undone).toContain(p.name);
    expect((await inflight)?.status).toBe(200);
    for (const p of await steadyPods()) expect((await fleet.client.behaviour(p.name))?.latencyMs).toBe(0);
  });
});

// ---------------------------------------------------------------- model-corruption
describe('model-corruption', () => {
  let dir: string;
  let stateDir: string;
  let mcfg: TempestConfig & { file: string };
  let macts: TempestActivities;
  const MODEL = 'football_analysis_v2.pth';
  const SIZE = 256 * 1024;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'tempest-models-'));
    stateDir = mkdtempSync(join(tmpdir(), 'tempest-state-'));
    tempDirs.push(dir, stateDir);
    mcfg = modelConfig('/models');
    macts = createActivities({ config: mcfg });
  });

  function modelConfig(from: string, over: Record<string, unknown> = {}): TempestConfig & { file: string } {
    return testConfig(fleet, {
      platform: {
        driver: 'local',
        local: {
          targets: [{ namespace: 'footanalytics', selector: 'app.kubernetes.io/name=api-gateway', fleet: fleet.controlUrl }],
          pathRewrites: [{ from, to: dir }],
        },
      },
      files: { corruptionRoots: [dir] },
      state: { dir: stateDir },
      ...over,
    });
  }

  function writeModel(name = MODEL, size = SIZE): { file: string; original: Buffer; sum: string } {
    const file = join(dir, name);
    const original = randomBytes(size);
    writeFileSync(file, original);
    return { file, original, sum: sha256(file) };
  }

  /** What the workflow does: prepare (read-only, its record kept), then inject with that record. */
  async function prepared(spec: ExperimentSpec, a: TempestActivities = macts, over: Partial<InjectRequest> = {}): Promise<InjectRequest> {
    const req = request(spec, over);
    req.prepared = await mockEnv().run(a.prepareFault, req);
    return req;
  }

  const backups = () => (existsSync(join(stateDir, 'backups')) ? readdirSync(join(stateDir, 'backups')) : []);

  test.each(['random_bytes', 'truncate', 'zero'] as const)('CORRUPTION_TYPE=%s changes the sha256; revert restores byte-identical content', async (type) => {
    const { file, original, sum } = writeModel();
    const spec = engine('model-chaos', 'model-corruption', { FILE_PATH: `/models/${MODEL}`, CORRUPTION_TYPE: type });
    expect(await mockEnv().run(macts.preflight, spec)).toMatchObject({ platform: 'local' });
    const req = await prepared(spec);
    // the record the workflow keeps: the real path, size, checksum, and which file it is (device, inode)
    expect(req.prepared).toEqual({ path: file, size: SIZE, sha256: sum, dev: String(statSync(file).dev), ino: String(statSync(file).ino) });
    const { reverted } = await withRevert(
      req,
      async () => {
        const r = await inject(req, macts);
        expect(r.alreadyDone).toBe(false);
        expect(r.affected).toEqual([file]);
        expect(sha256(file)).not.toBe(sum);
        const now = readFileSync(file);
        if (type === 'truncate') expect(now.length).toBe(SIZE / 2);
        else expect(now.length).toBe(SIZE);
        if (type === 'zero') expect(now.subarray(0, 64 * 1024).every((b) => b === 0)).toBe(true);
        // The backup lives in Tempest's own state (0700), not beside the target; the ledger only records intent.
        expect(readdirSync(dir).filter((f) => f !== MODEL && f.includes(MODEL.split('.')[0]))).toEqual([]);
        const [b] = backups();
        expect(statSync(join(stateDir, 'backups', b)).mode & 0o777).toBe(0o700);
        expect(readFileSync(join(stateDir, 'backups', b, 'data')).equals(original)).toBe(true);
        expect((await ledgerOf(req))?.data).toMatchObject({ file, sha256: sum });
        // Same fault again: not corrupted twice.
        const corrupted = sha256(file);
        expect((await inject({ ...req }, macts)).alreadyDone).toBe(true);
        expect(sha256(file)).toBe(corrupted);
      },
      macts,
    );
    expect(reverted.undone).toEqual([file]);
    expect(reverted.verification).toMatch(/^sha256 [0-9a-f]{12}… == recorded [0-9a-f]{12}…; ledger clean$/);
    expect(readFileSync(file).equals(original)).toBe(true);
    expect(readdirSync(dir).filter((f) => f.includes('tempest-'))).toEqual([]); // no restore temp left
    expect(backups()).toEqual([]); // backup removed after the verified restore
    expect(await ledgerOf(req)).toBeUndefined();
  });

  test('a missing FILE_PATH is refused at preflight with TargetNotFound naming the path', async () => {
    const spec = engine('model-chaos', 'model-corruption', { FILE_PATH: '/models/no-such-model.pth' });
    const f = await failureOf(mockEnv().run(macts.preflight, spec));
    expect(f.type).toBe('TargetNotFound');
    expect(f.nonRetryable).toBe(true);
    expect(f.message).toContain('/models/no-such-model.pth');
    expect(f.message).toContain(join(dir, 'no-such-model.pth'));
    expect(existsSync(join(dir, 'no-such-model.pth'))).toBe(false);
  });

  test('pathRewrites with a trailing slash (/models/ -> dir) map to the file inside dir', async () => {
    const name = 'slash.pth';
    const { file, original } = writeModel(name);
    const scfg = modelConfig('/models/');
    const sacts = createActivities({ config: scfg });
    const spec = engine('model-chaos', 'model-corruption', { FILE_PATH: `/models/${name}`, CORRUPTION_TYPE: 'zero' });
    await mockEnv().run(sacts.preflight, spec);
    const req = await prepared(spec, sacts);
    await withRevert(
      req,
      async () => {
        const r = await inject(req, sacts);
        expect(r.affected).toEqual([file]);
        expect(
          readFileSync(file)
            .subarray(0, 1024)
            .every((b) => b === 0),
        ).toBe(true);
      },
      sacts,
    );
    expect(readFileSync(file).equals(original)).toBe(true);
    expect(statSync(file).size).toBe(SIZE);
  });

  test('a first inject is not reported as alreadyDone, whatever the file is called', async () => {
    const name = 'already-quantized.pth';
    const { file, original } = writeModel(name);
    const spec = engine('model-chaos', 'model-corruption', { FILE_PATH: `/models/${name}`, CORRUPTION_TYPE: 'truncate' });
    const req = await prepared(spec);
    await withRevert(
      req,
      async () => {
        const first = await inject(req, macts);
        expect(first.alreadyDone).toBe(false);
        expect(statSync(file).size).toBe(SIZE / 2);
        expect((await inject({ ...req }, macts)).alreadyDone).toBe(true);
      },
      macts,
    );
    expect(readFileSync(file).equals(original)).toBe(true);
  });

  test('revert with nothing injected succeeds and says clean', async () => {
    const { file, sum } = writeModel();
    const spec = engine('model-chaos', 'model-corruption', { FILE_PATH: `/models/${MODEL}` });
    const r = await revert(request(spec), macts);
    expect(r.undone).toEqual([]);
    expect(r.verification).toBe('nothing was corrupted (Tempest holds no backup of this run: nothing touched); ledger clean');
    expect(sha256(file)).toBe(sum);
  });

  // ---- the trust boundary: only files inside the operator's roots, never what the target-side ledger says

  test('a path outside files.corruptionRoots (unmapped, absolute) is refused before anything is touched', async () => {
    const victimDir = mkdtempSync(join(tmpdir(), 'tempest-victim-'));
    tempDirs.push(victimDir);
    const victim = join(victimDir, 'precious.bin');
    writeFileSync(victim, 'keep me');
    const spec = engine('model-chaos', 'model-corruption', { FILE_PATH: victim });
    const f = await failureOf(mockEnv().run(macts.preflight, spec));
    expect(f).toMatchObject({ type: 'FaultRefused', nonRetryable: true });
    expect(f.message).toContain(`not inside files.corruptionRoots of ${mcfg.file}`);
    const g = await failureOf(mockEnv().run(macts.prepareFault, request(spec)));
    expect(g.type).toBe('FaultRefused');
    expect(readFileSync(victim, 'utf8')).toBe('keep me');
  });

  test('outside the roots, the answer is the same whether the path exists or where it leads (no oracle on the worker host)', async () => {
    const answers = [];
    for (const p of ['/etc/shadow', '/etc/no-such-file-here', '/proc/self/exe', '/proc/self/cwd']) {
      const f = await failureOf(mockEnv().run(macts.preflight, engine('model-chaos', 'model-corruption', { FILE_PATH: p })));
      expect([p, f.type]).toEqual([p, 'FaultRefused']);
      answers.push(f.message.replaceAll(p, '<path>'));
    }
    expect(new Set(answers).size).toBe(1);
    expect(answers[0]).toBe(`model-corruption: FILE_PATH <path> (local path <path>) is not inside files.corruptionRoots of ${mcfg.file} (${dir})`);
  });

  test('a "..", a relative path and a symlink out of the root are refused; no policy roots = nothing may be corrupted', async () => {
    // ".." never gets past the loader
    expect(() => engine('model-chaos', 'model-corruption', { FILE_PATH: '/models/../../etc/passwd' })).toThrow(/FILE_PATH must be an absolute path without/);
    // a crafted workflow input that skips the loader is refused by the worker's own check
    const spec = engine('model-chaos', 'model-corruption', { FILE_PATH: `/models/${MODEL}` });
    const crafted = structuredClone(spec);
    crafted.faults[0].params.filePath = '/models/../../etc/passwd';
    const f = await failureOf(mockEnv().run(macts.preflight, crafted));
    expect(f.type).toBe('FaultRefused');
    expect(f.message).toContain('faults[0].params.filePath');
    // a symlink inside the root that points outside it
    const outside = mkdtempSync(join(tmpdir(), 'tempest-outside-'));
    tempDirs.push(outside);
    writeFileSync(join(outside, 'secret.bin'), 'not yours');
    symlinkSync(join(outside, 'secret.bin'), join(dir, 'link.pth'));
    const viaLink = engine('model-chaos', 'model-corruption', { FILE_PATH: '/models/link.pth' });
    const g = await failureOf(mockEnv().run(macts.preflight, viaLink));
    expect(g.type).toBe('FaultRefused');
    expect(g.message).toContain(`resolves to ${join(outside, 'secret.bin')}, which is not inside files.corruptionRoots`);
    expect(readFileSync(join(outside, 'secret.bin'), 'utf8')).toBe('not yours');
    // without roots in the policy, nothing may be corrupted
    const noRoots = createActivities({ config: modelConfig('/models', { files: { corruptionRoots: [] } }) });
    writeModel();
    const h = await failureOf(mockEnv().run(noRoots.preflight, spec));
    expect(h.message).toContain('declares no files.corruptionRoots');
  });

  test('a tampered ledger cannot turn restore into an overwrite nor verify into a delete', async () => {
    const { file, original } = writeModel();
    const victimDir = mkdtempSync(join(tmpdir(), 'tempest-victim-'));
    tempDirs.push(victimDir);
    const victim = join(victimDir, 'precious.bin');
    const evil = join(victimDir, 'evil.bin');
    writeFileSync(victim, 'keep me');
    writeFileSync(evil, 'attacker content');
    const spec = engine('model-chaos', 'model-corruption', { FILE_PATH: `/models/${MODEL}`, CORRUPTION_TYPE: 'zero' });
    const req = await prepared(spec);
    await inject(req, macts);
    // Anyone who can reach the fleet's control API rewrites the ledger, as with the old driver's {file, backup}.
    const entry = (await ledgerOf(req))!;
    entry.data = { file: victim, backup: evil, sha256: sha256(evil), size: 16 };
    await fleet.client.annotateOwner({ [ledgerKey(req)]: JSON.stringify(entry) });
    const r = await revert(req, macts);
    expect(r.undone).toEqual([file]);
    expect(readFileSync(file).equals(original)).toBe(true); // the real file restored from Tempest's own backup
    expect(readFileSync(victim, 'utf8')).toBe('keep me'); // not overwritten
    expect(readFileSync(evil, 'utf8')).toBe('attacker content'); // not deleted
  });

  test('a file that changes between prepare and inject is not corrupted', async () => {
    const { file } = writeModel();
    const spec = engine('model-chaos', 'model-corruption', { FILE_PATH: `/models/${MODEL}` });
    const req = await prepared(spec);
    writeFileSync(file, 'a new model was deployed meanwhile');
    const f = await failureOf(inject(req, macts));
    expect(f.type).toBe('FaultRefused');
    expect(f.message).toContain('changed since it was prepared');
    expect(readFileSync(file, 'utf8')).toBe('a new model was deployed meanwhile');
    await revert(req, macts);
    expect(readFileSync(file, 'utf8')).toBe('a new model was deployed meanwhile');
  });

  test('a file over 2 GiB (sparse) is prepared, corrupted and restored by streaming', async () => {
    const name = 'big.bin';
    const file = join(dir, name);
    const size = 2 * 1024 ** 3 + 4096 * 3;
    const fd = openSync(file, 'w');
    writeSync(fd, Buffer.from('header of a big model'), 0, 21, 0);
    writeSync(fd, Buffer.from('tail'), 0, 4, size - 4);
    closeSync(fd);
    expect(statSync(file).size).toBe(size);
    const spec = engine('model-chaos', 'model-corruption', { FILE_PATH: `/models/${name}`, CORRUPTION_TYPE: 'random_bytes' });
    const req = await prepared(spec);
    const rec = req.prepared as { size: number; sha256: string };
    expect(rec.size).toBe(size);
    try {
      await inject(req, macts);
      const head = Buffer.alloc(21);
      const h = openSync(file, 'r');
      readSync(h, head, 0, 21, 0);
      closeSync(h);
      expect(head.toString()).not.toBe('header of a big model');
      const r = await revert(req, macts);
      expect(r.undone).toEqual([file]);
      expect(statSync(file).size).toBe(size);
      const back = Buffer.alloc(21);
      const h2 = openSync(file, 'r');
      readSync(h2, back, 0, 21, 0);
      closeSync(h2);
      expect(back.toString()).toBe('header of a big model');
    } finally {
      rmSync(file, { force: true });
    }
  }, 300_000);
});

// ---------------------------------------------------------------- preflight
describe('preflight', () => {
  const preflight = (spec: ExperimentSpec): Promise<PreflightResult> => mockEnv().run(acts.preflight, spec);

  test('a supported fault on a mapped target resolves to the running pods', async () => {
    const pods = await steadyPods();
    const r = await preflight(engine('api-gateway-chaos', 'pod-delete', { FORCE: 'true' }));
    expect(r.platform).toBe('local');
    expect([...r.targets].sort()).toEqual(pods.map((p) => p.name).sort());
  });

  test('pod-network-loss is refused with UnsupportedFault naming why', async () => {
    const f = await failureOf(preflight(engine('api-gateway-loss', 'pod-network-loss', { NETWORK_PACKET_LOSS_PERCENTAGE: '50' })));
    expect(f.type).toBe('UnsupportedFault');
    expect(f.nonRetryable).toBe(true);
    expect(f.message).toContain('pod-network-loss cannot run on the local platform');
    expect(f.message).toContain('tc netem');
  });

  test('gpu-memory-hog is refused with UnsupportedFault naming why', async () => {
    const f = await failureOf(preflight(engine('api-gateway-gpu', 'gpu-memory-hog', { GPU_MEMORY_PERCENTAGE: '50' })));
    expect(f.type).toBe('UnsupportedFault');
    expect(f.message).toContain('gpu-memory-hog cannot run on the local platform');
    expect(f.message).toContain('GPU');
  });

  test('an unmapped target is refused with TargetNotFound naming the config', async () => {
    const spec = engine('api-gateway-chaos', 'pod-delete', { FORCE: 'true' });
    const unmapped: ExperimentSpec = { ...spec, target: { ...spec.target, labelSelector: 'app.kubernetes.io/name=ml-inference' } };
    const f = await failureOf(preflight(unmapped));
    expect(f.type).toBe('TargetNotFound');
    expect(f.nonRetryable).toBe(true);
    expect(f.message).toContain('footanalytics/app.kubernetes.io/name=ml-inference');
    expect(f.message).toContain(cfg.file);
    expect(f.message).toContain('platform.local.targets');
  });

  test('a target outside the blast radius is refused with FaultRefused, before any platform call', async () => {
    const spec = engine('api-gateway-chaos', 'pod-delete', { FORCE: 'true' });
    const outside: ExperimentSpec = { ...spec, target: { ...spec.target, namespace: 'payments' } };
    const f = await failureOf(preflight(outside));
    expect(f.type).toBe('FaultRefused');
    expect(f.nonRetryable).toBe(true);
    expect(f.message).toContain('blast radius');
    expect(f.message).toContain('payments/app.kubernetes.io/name=api-gateway');
    expect(f.message).toContain(cfg.file);
  });
});

// ---------------------------------------------------------------- the blast radius in every activity, not only preflight
describe('the blast radius is re-checked by inject and revert themselves', () => {
  test('inject of a target outside the radius (a crafted request, no preflight) is refused; a revert there touches nothing', async () => {
    const before = await steadyPods();
    const spec = engine('api-gateway-chaos', 'pod-delete', { FORCE: 'true', PODS_AFFECTED_PERC: '100' });
    const narrow = createActivities({ config: testConfig(fleet, { blastRadius: { allow: [{ namespace: 'payments' }] } }) });
    const req = request(spec);
    const f = await failureOf(mockEnv().run(narrow.injectFault, req));
    expect(f).toMatchObject({ type: 'FaultRefused', nonRetryable: true });
    expect(f.message).toContain('blast radius: target footanalytics/app.kubernetes.io/name=api-gateway is not in blastRadius.allow');
    const crafted = { ...req, fault: { ...req.fault, params: { force: true, signal: 'KILL; id' } } } as unknown as InjectRequest;
    const g = await failureOf(mockEnv().run(acts.injectFault, crafted));
    expect(g.message).toContain('faults[0].params.signal: pod-delete has no parameter signal');
    const r = (await mockEnv().run(narrow.revertFault, req)) as RevertResult;
    expect(r.verification).toBe('target is outside the blast radius now and holds no ledger entry of this run: nothing touched');
    const after = await fleet.client.pods();
    expect(after.map((p) => `${p.name}:${p.pid}`).sort()).toEqual(before.map((p) => `${p.name}:${p.pid}`).sort());
  });
});

// ---------------------------------------------------------------- revert with nothing injected
describe('revert when nothing was injected', () => {
  test.each([
    ['pod-delete', { FORCE: 'true' }, `${REPLICAS}/${REPLICAS} replicas ready; ledger clean`],
    ['container-kill', { PODS_AFFECTED_PERC: '0' }, `${REPLICAS}/${REPLICAS} replicas ready; ledger clean`],
    ['pod-cpu-hog', { CPU_CORES: '1' }, 'no cpu stressor left; ledger clean'],
    ['pod-memory-hog', { MEMORY_CONSUMPTION: '10' }, 'no memory stressor left; ledger clean'],
    ['pod-network-latency', { NETWORK_LATENCY: '100' }, `no latency on ${REPLICAS} pod(s); ledger clean`],
  ] as const)('%s: the ledger is absent, revert succeeds and says clean', async (fault, env, verification) => {
    const before = await steadyPods();
    const ref = request(engine('api-gateway-chaos', fault, env));
    expect(await ledgerOf(ref)).toBeUndefined();
    const r = await revert(ref);
    expect(r.undone).toEqual([]);
    expect(r.verification).toBe(verification);
    expect(await ledgerOf(ref)).toBeUndefined();
    // Nothing was touched.
    const after = await fleet.client.pods();
    expect(after.map((p) => `${p.name}:${p.pid}`).sort()).toEqual(before.map((p) => `${p.name}:${p.pid}`).sort());
  });
});
