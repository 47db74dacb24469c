/**
 * The local platform's fault drivers against a tampered fault ledger and crafted revert requests, run as the real
 * activities (createActivities -> injectFault / revertFault / prepareFault) in a real activity Context, against a
 * real fleet of replica processes (scripts/fleet). The attacker here is anyone who can reach the fleet's control
 * API (the ledger is an owner annotation anyone there may rewrite) or schedule an activity with their own input.
 *
 *   container-kill    the pid signalled comes from the fleet's live pod list and must be that pod's replica
 *                     (its /proc cmdline); a pid written into the ledger is never signalled.
 *   model-corruption  revert restores Tempest's own backup only onto the path it was taken from, re-resolved
 *                     inside files.corruptionRoots; a symlink swapped in, or a request naming another file or
 *                     carrying another record, is refused and writes nothing.
 *   revertFault       a malformed runId / faultIndex or an oversized `prepared` is refused before anything is read
 *                     or written (the pre-change revert had no request check at all).
 *   ledger keys       run ids that differ only in replaced characters get different keys (ledgers, stressor
 *                     markers, backups).
 *
 * Real processes (a `sleep` the test starts as the bystander), real files, real symlinks; no mocks. Every wait is
 * bounded; no assertion is about how long something took.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import {
  closeSync,
  constants as fsConstants,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readdirSync,
  realpathSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MockActivityEnvironment } from '@temporalio/testing';
import { ApplicationFailure } from '@temporalio/common';
import { DefaultLogger } from '@temporalio/worker';
import { createActivities } from '../../activities/index.js';
import type { FaultRef, InjectRequest, InjectResult, RevertResult, TempestActivities } from '../../activities/types.js';
import { ledgerKey, type LedgerEntry } from '../../activities/faults/driver.js';
import { faultIds } from '../../activities/faults/kubernetes-common.js';
import { findStressors, killStressors } from '../../activities/faults/stressor.js';
import type { LocalPod } from '../../activities/platform/local.js';
import type { ExperimentSpec } from '../../config/spec.js';
import type { TempestConfig } from '../../config/tempest-config.js';
import { engine } from '../helpers/engines.js';
import { isAlive, startFleet, waitFor, type TestFleet } from '../helpers/fleet.js';
import { testConfig } from '../helpers/config.js';

const REPLICAS = 3;
const TARGET = { namespace: 'footanalytics', selector: 'app.kubernetes.io/name=api-gateway' };

let fleet: TestFleet;
let acts: TempestActivities;
/** Every fault this file injected, so afterAll can make sure no stressor outlives the suite. */
const injected: FaultRef[] = [];
const tempDirs: string[] = [];
const bystanders: ChildProcess[] = [];
const closers: Array<() => Promise<void>> = [];

// ---------------------------------------------------------------- helpers
const mockEnv = () => new MockActivityEnvironment(undefined, { logger: new DefaultLogger('ERROR') });

let seq = 0;
function request(spec: ExperimentSpec, over: Partial<InjectRequest> = {}): InjectRequest {
  return {
    runId: `local-tamper-${process.pid}-${Date.now().toString(36)}-${++seq}`,
    experiment: spec.name,
    target: spec.target,
    fault: spec.faults[0],
    faultIndex: 0,
    round: 0,
    expiresAt: new Date(Date.now() + 120_000).toISOString(),
    ...over,
  };
}

function inject(req: InjectRequest, a: TempestActivities = acts): Promise<InjectResult> {
  if (!injected.some((r) => r.runId === req.runId && r.faultIndex === req.faultIndex)) injected.push(req);
  return mockEnv().run(a.injectFault, req);
}

/** revertFault with any request, well-formed or not (the crafted ones are cast: the activity must not trust the type). */
function revert(ref: FaultRef | Record<string, unknown>, a: TempestActivities = acts): Promise<RevertResult> {
  return mockEnv().run(a.revertFault, ref as FaultRef) as Promise<RevertResult>;
}

/** Runs `body`, then always reverts `ref`; a revert failure fails the test unless the body already failed. */
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

/** The typed failure an activity threw. */
async function failureOf(p: Promise<unknown>): Promise<ApplicationFailure> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(ApplicationFailure);
    return e as ApplicationFailure;
  }
  throw new Error('expected the activity to fail, it succeeded');
}

async function annotations(): Promise<Record<string, string>> {
  return (await fleet.client.owner()).annotations;
}

async function ledgerOf(ref: Pick<FaultRef, 'runId' | 'faultIndex'>): Promise<LedgerEntry | undefined> {
  const raw = (await annotations())[ledgerKey(ref)];
  return raw ? (JSON.parse(raw) as LedgerEntry) : undefined;
}

/** All replicas running and ready, the owner at desired. */
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

/** Waits until the fleet has replaced the pod of `victim`'s slot (another pid there, ready): the kill was noticed. */
async function replaced(victim: LocalPod): Promise<LocalPod> {
  return waitFor(
    `slot ${victim.slot} replaced after pid ${victim.pid} died`,
    async () => (await fleet.client.pods()).find((p) => p.slot === victim.slot && p.pid !== victim.pid && p.phase === 'Running' && p.ready),
    45_000,
    100,
  );
}

const podIds = (pods: LocalPod[]) => pods.map((p) => `${p.name}:${p.pid}`).sort();

/** An unrelated process of the test's own: a `sleep 300` nobody but this file may signal. */
async function bystander(): Promise<ChildProcess & { pid: number }> {
  const child = spawn('sleep', ['300'], { stdio: 'ignore' });
  bystanders.push(child);
  if (!child.pid) throw new Error('could not start sleep');
  const pid = child.pid;
  // Once exec'd, its command line is sleep's (not a replica's, not node's).
  await waitFor(`pid ${pid} is sleep`, () => readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')[0].endsWith('sleep'), 5_000, 20);
  return child as ChildProcess & { pid: number };
}

/** Still running, not signalled: alive in /proc and no exit or signal seen by its parent (this test). */
function untouched(child: ChildProcess & { pid: number }): boolean {
  return isAlive(child.pid) && child.exitCode === null && child.signalCode === null;
}

const sha256 = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

function tmp(prefix: string): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  tempDirs.push(d);
  return d;
}

/** The ledger key the drivers used before the change (characters replaced, nothing else): where an old revert would have looked. */
const preChangeKey = (runId: string, faultIndex: unknown) => `tempest.io/fault.${runId.replace(/[^A-Za-z0-9_.-]/g, '_')}.${String(faultIndex)}`;

// ---------------------------------------------------------------- suite set-up
beforeAll(async () => {
  fleet = await startFleet({ replicas: REPLICAS, restartDelayMs: 200 });
  acts = createActivities({ config: testConfig(fleet) });
}, 90_000);

afterAll(async () => {
  for (const ref of injected) killStressors(ledgerKey(ref));
  for (const c of bystanders) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  for (const close of closers) await close().catch(() => undefined);
  if (fleet) await fleet.stop();
  for (const d of tempDirs) rmSync(d, { recursive: true, force: true });
}, 60_000);

// ---------------------------------------------------------------- container-kill
describe('container-kill: the pid comes from the live fleet and must be the replica of the pod, never from the ledger', () => {
  test("a retried round whose ledger entry was rewritten to name an unrelated pid kills the pod's live replica, not that pid", async () => {
    const before = await steadyPods();
    const pod = before[0];
    const victim = await bystander();
    const req = request(engine('api-gateway-chaos', 'container-kill', { TARGET_PODS: pod.name }));
    // The round's intent as the driver writes it before it kills (`<pod>:<pid>`), with the pid rewritten on the
    // control API to the test's own `sleep`: a worker crash between intent and kill, then a retry.
    const entry: LedgerEntry = {
      fault: 'container-kill',
      run: req.runId,
      faultIndex: 0,
      rounds: { '0': [`${pod.name}:${victim.pid}`] },
      done: [],
      expiresAt: req.expiresAt,
    };
    await fleet.client.annotateOwner({ [ledgerKey(req)]: JSON.stringify(entry) });

    const { out: r } = await withRevert(req, async () => {
      const res = await inject(req);
      await waitFor(`replica pid ${pod.pid} of ${pod.name} dead`, () => !isAlive(pod.pid), 10_000, 20);
      expect((await ledgerOf(req))?.done).toEqual([0]);
      // the ledger now names the pid really signalled, so verify waits for the fleet to notice that death
      expect((await ledgerOf(req))?.rounds['0']).toEqual([`${pod.name}:${pod.pid}`]);
      return res;
    });
    expect(r.alreadyDone).toBe(false);
    expect(r.affected).toEqual([pod.name]);
    expect(r.detail).toBe(`killed container process ${pod.name}:${pod.pid}`); // what was really signalled
    expect(untouched(victim)).toBe(true);
    for (const p of before.slice(1)) expect(isAlive(p.pid)).toBe(true);
    expect((await replaced(pod)).name).not.toBe(pod.name);
    expect(await ledgerOf(req)).toBeUndefined();
  });

  test("a rewritten ledger naming one replica with ANOTHER replica's pid kills the named pod only", async () => {
    const before = await steadyPods();
    const [named, other] = before;
    const req = request(engine('api-gateway-chaos', 'container-kill', { TARGET_PODS: named.name }));
    const entry: LedgerEntry = {
      fault: 'container-kill',
      run: req.runId,
      faultIndex: 0,
      rounds: { '0': [`${named.name}:${other.pid}`] },
      done: [],
      expiresAt: req.expiresAt,
    };
    await fleet.client.annotateOwner({ [ledgerKey(req)]: JSON.stringify(entry) });
    const { out: r } = await withRevert(req, async () => {
      const res = await inject(req);
      await waitFor(`replica pid ${named.pid} of ${named.name} dead`, () => !isAlive(named.pid), 10_000, 20);
      return res;
    });
    expect(r.detail).toBe(`killed container process ${named.name}:${named.pid}`);
    expect(isAlive(other.pid)).toBe(true);
    expect(isAlive(before[2].pid)).toBe(true);
    await replaced(named);
    const after = await steadyPods();
    expect(after.find((p) => p.slot === other.slot)?.pid).toBe(other.pid);
  });

  test('a rewritten ledger naming every replica for a retried round is held to the policy: more than maxTargetPods is refused, pods outside TARGET_PODS are dropped', async () => {
    const before = await steadyPods();
    const one = createActivities({ config: testConfig(fleet, { limits: { maxTargetPods: 1 } }) });
    const req = request(engine('api-gateway-chaos', 'container-kill', { TARGET_PODS: before[0].name }));
    const all = before.map((p) => `${p.name}:${p.pid}`);
    await fleet.client.annotateOwner({
      [ledgerKey(req)]: JSON.stringify({
        fault: 'container-kill',
        run: req.runId,
        faultIndex: 0,
        rounds: { '0': all },
        done: [],
        expiresAt: req.expiresAt,
      } satisfies LedgerEntry),
    });
    const f = await failureOf(inject(req, one));
    expect(f.type).toBe('FaultRefused');
    expect(f.message).toBe(`container-kill: the ledger's round 0 names ${REPLICAS} pods, more than limits.maxTargetPods (1); refusing`);
    expect(podIds(await fleet.client.pods())).toEqual(podIds(before));
    // within the limit (the default), only the pod TARGET_PODS names is killed
    const { out } = await withRevert(req, async () => {
      const r = await inject(req);
      await waitFor(`replica pid ${before[0].pid} dead`, () => !isAlive(before[0].pid), 10_000, 20);
      return r;
    });
    expect(out.affected).toEqual([before[0].name]);
    for (const p of before.slice(1)) expect(isAlive(p.pid)).toBe(true);
    await replaced(before[0]);
  });

  test('a rewritten ledger naming a pod the fleet does not have (with an unrelated pid) signals nothing', async () => {
    const before = await steadyPods();
    const victim = await bystander();
    const req = request(engine('api-gateway-chaos', 'container-kill', { PODS_AFFECTED_PERC: '0' }));
    const entry: LedgerEntry = {
      fault: 'container-kill',
      run: req.runId,
      faultIndex: 0,
      rounds: { '0': [`api-gateway-ghost:${victim.pid}`] },
      done: [],
      expiresAt: req.expiresAt,
    };
    await fleet.client.annotateOwner({ [ledgerKey(req)]: JSON.stringify(entry) });
    const { out: r, reverted } = await withRevert(req, () => inject(req));
    expect(r.affected).toEqual([]); // only what was really signalled
    expect(r.detail).toBe('killed no container process; skipped api-gateway-ghost (not running: the kill landed, or the pod is gone)');
    expect(untouched(victim)).toBe(true);
    expect(reverted.verification).toBe(`${REPLICAS}/${REPLICAS} replicas ready; ledger clean`);
    expect(podIds(await fleet.client.pods())).toEqual(podIds(before)); // every replica, same pid
  });

  /**
   * A man in the middle on the control API: the real fleet behind it, only GET /pods is rewritten so that `podName`
   * reports `pid` as its pid. Activities that talk to the fleet through it.
   */
  async function tamperedPodList(podName: string, pid: number): Promise<{ pacts: TempestActivities; close: () => Promise<void> }> {
    const server = http.createServer((req, res) => {
      void (async () => {
        try {
          const chunks: Buffer[] = [];
          for await (const c of req) chunks.push(c as Buffer);
          const body = Buffer.concat(chunks);
          const up = await fetch(fleet.controlUrl + (req.url ?? '/'), {
            method: req.method,
            headers: body.length ? { 'content-type': 'application/json' } : undefined,
            body: body.length ? body : undefined,
          });
          let text = await up.text();
          if (req.method === 'GET' && req.url === '/pods' && up.ok) {
            text = JSON.stringify((JSON.parse(text) as LocalPod[]).map((p) => (p.name === podName ? { ...p, pid } : p)));
          }
          res.writeHead(up.status, { 'content-type': 'application/json' });
          res.end(text);
        } catch (e) {
          res.writeHead(502);
          res.end(String(e));
        }
      })();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const close = () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      });
    closers.push(close);
    const proxyUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const pacts = createActivities({
      config: testConfig(fleet, { platform: { driver: 'local', local: { targets: [{ ...TARGET, fleet: proxyUrl }] } } }),
    });
    return { pacts, close };
  }

  test("a pod list whose pid was tampered in transit (a foreign pid for a real pod) is not signalled: the pid must be that pod's replica", async () => {
    // The driver reads /proc/<pid>/cmdline before it signals.
    const before = await steadyPods();
    const pod = before[1];
    const victim = await bystander();
    const { pacts, close } = await tamperedPodList(pod.name, victim.pid);
    const { name: fleetName, pid: fleetPid } = await fleet.client.healthz();
    const req = request(engine('api-gateway-chaos', 'container-kill', { TARGET_PODS: pod.name }));
    await withRevert(
      req,
      async () => {
        const r = await inject(req, pacts);
        expect(r.detail).toBe(
          `killed no container process; skipped ${pod.name} (pid ${victim.pid} is not a replica process of fleet ${fleetName} (pid ${fleetPid}): not signalled)`,
        );
        expect(r.affected).toEqual([]);
        expect(untouched(victim)).toBe(true);
        // Nothing was killed: the real fleet (asked directly) has every replica with its pid.
        expect(podIds(await fleet.client.pods())).toEqual(podIds(before));
        for (const p of before) expect(isAlive(p.pid)).toBe(true);
      },
      pacts,
    );
    expect(untouched(victim)).toBe(true);
    await close();
  });

  test("an impostor whose command line copies a replica's (replica.ts --name <pod> --fleet <fleet> --parent-pid <supervisor>) is not signalled: its real parent is not the fleet", async () => {
    const before = await steadyPods();
    const pod = before[2];
    const { name: fleetName, pid: fleetPid } = await fleet.client.healthz();
    // A process of the test's own, argv made to look like that pod's replica; its parent is this test, not the supervisor.
    const impostor = spawn(
      process.execPath,
      [
        '-e',
        'setTimeout(() => {}, 300000)',
        '--',
        'scripts/fleet/replica.ts',
        '--port',
        '1',
        '--name',
        pod.name,
        '--fleet',
        fleetName,
        '--parent-pid',
        String(fleetPid),
      ],
      { stdio: 'ignore' },
    );
    bystanders.push(impostor);
    const ipid = impostor.pid!;
    await waitFor(`pid ${ipid} has the copied command line`, () => readFileSync(`/proc/${ipid}/cmdline`, 'utf8').includes(pod.name), 5_000, 20);
    const { pacts, close } = await tamperedPodList(pod.name, ipid);
    const req = request(engine('api-gateway-chaos', 'container-kill', { TARGET_PODS: pod.name }));
    await withRevert(
      req,
      async () => {
        const r = await inject(req, pacts);
        expect(r.detail).toBe(
          `killed no container process; skipped ${pod.name} (pid ${ipid} is not a replica process of fleet ${fleetName} (pid ${fleetPid}): not signalled)`,
        );
        expect(r.affected).toEqual([]);
        expect(podIds(await fleet.client.pods())).toEqual(podIds(before));
      },
      pacts,
    );
    expect(untouched(impostor as ChildProcess & { pid: number })).toBe(true);
    await close();
  });
});

// ---------------------------------------------------------------- the worker's own namespace
describe("the worker's own namespace: `*` never includes it, on every platform and in every activity", () => {
  const spec = () => engine('api-gateway-cpu', 'pod-cpu-hog', { CPU_CORES: '1', CPU_LOAD: '5' });
  test('a worker running in footanalytics under allow `*`: preflight and inject refuse, nothing starts', async () => {
    const wacts = createActivities({ config: testConfig(fleet, { blastRadius: { allow: [{ namespace: '*' }] } }), workerNamespace: 'footanalytics' });
    const pf = await failureOf(mockEnv().run(wacts.preflight, spec()));
    expect(pf.message).toContain("footanalytics is the worker's own namespace: it must be listed by its exact name");
    const req = request(spec());
    const f = await failureOf(inject(req, wacts));
    expect(f.type).toBe('FaultRefused');
    expect(f.message).toContain("footanalytics is the worker's own namespace");
    expect(findStressors(ledgerKey(req))).toEqual([]);
    expect(await ledgerOf(req)).toBeUndefined();
  });

  test('listed by its exact name, the operator lets experiments in (and they run)', async () => {
    const wacts = createActivities({
      config: testConfig(fleet, { blastRadius: { allow: [{ namespace: '*' }, { namespace: 'footanalytics' }] } }),
      workerNamespace: 'footanalytics',
    });
    const req = request(spec());
    const { out } = await withRevert(req, () => inject(req, wacts), wacts);
    expect(out.affected.length).toBe(1);
    expect(findStressors(ledgerKey(req))).toEqual([]);
  });
});

// ---------------------------------------------------------------- round and dead-man time
describe('injectFault refuses a crafted round or dead-man time before anything starts', () => {
  const cpu = () => engine('api-gateway-cpu', 'pod-cpu-hog', { CPU_CORES: '1', CPU_LOAD: '5', TOTAL_CHAOS_DURATION: '30', CHAOS_INTERVAL: '10' });
  const cases: Array<[string, Partial<InjectRequest>, RegExp]> = [
    ['expiresAt "never" (a stressor with no end)', { expiresAt: 'never' }, /expiresAt must be an ISO time/],
    [
      'expiresAt a day away (the fault would outlive its window by a day)',
      { expiresAt: new Date(Date.now() + 86_400_000).toISOString() },
      /expiresAt \S+ is later than the fault's duration \(plus 10 min\) from now/,
    ],
    ['expiresAt a number', { expiresAt: 1e15 as unknown as string }, /expiresAt must be an ISO time/],
    [
      'expiresAt already past (a retry held beyond its chaos window by a crash)',
      { expiresAt: new Date(Date.now() - 1000).toISOString() },
      /has passed: the injection comes too late .*nothing injected/,
    ],
    ['round -1', { round: -1 }, /round must be a whole number from 0 to 4/],
    ['round 1.5', { round: 1.5 }, /round must be a whole number from 0 to 4/],
    ['round 99 (a helper name nobody planned)', { round: 99 }, /round must be a whole number from 0 to 4/],
  ];
  test.each(cases)('%s: FaultRefused, no stressor, no ledger entry', async (_what, over, message) => {
    const req = request(cpu(), over);
    const f = await failureOf(inject(req));
    expect(f.type).toBe('FaultRefused');
    expect(f.message).toMatch(message);
    expect(findStressors(ledgerKey(req))).toEqual([]);
    expect(await ledgerOf(req)).toBeUndefined();
  });

  test('the last planned round, with its real dead-man time, is accepted (and reverted)', async () => {
    const req = request(cpu(), { round: 3, expiresAt: new Date(Date.now() + 30_000 + 60_000).toISOString() });
    const { out, reverted } = await withRevert(req, () => inject(req));
    expect(out.alreadyDone).toBe(false);
    expect(out.affected.length).toBe(1);
    expect(reverted.verification).toMatch(/ledger clean/);
    expect(findStressors(ledgerKey(req))).toEqual([]);
  });
});

// ---------------------------------------------------------------- model-corruption
describe("model-corruption: revert restores Tempest's own backup, only onto the file it was taken from, inside the roots", () => {
  let dir: string;
  let stateDir: string;
  let mcfg: TempestConfig & { file: string };
  let macts: TempestActivities;
  const SIZE = 128 * 1024;

  beforeAll(() => {
    dir = realpathSync(tmp('tempest-models-'));
    stateDir = tmp('tempest-state-');
    mcfg = testConfig(fleet, {
      platform: { driver: 'local', local: { targets: [{ ...TARGET, fleet: fleet.controlUrl }], pathRewrites: [{ from: '/models', to: dir }] } },
      files: { corruptionRoots: [dir] },
      state: { dir: stateDir },
    });
    macts = createActivities({ config: mcfg });
  });

  /** A model file at <root>/<rel> with random bytes. */
  function writeModel(rel: string): { file: string; original: Buffer; sum: string } {
    const file = join(dir, rel);
    mkdirSync(join(file, '..'), { recursive: true });
    const original = randomBytes(SIZE);
    writeFileSync(file, original);
    return { file, original, sum: sha256(file) };
  }

  const spec = (filePath: string) => engine('model-chaos', 'model-corruption', { FILE_PATH: filePath, CORRUPTION_TYPE: 'zero' });

  /** What the workflow does: prepare (its record kept), then inject with that record. */
  async function prepareAndInject(filePath: string): Promise<{ req: InjectRequest; corrupted: string }> {
    const req = request(spec(filePath));
    req.prepared = await mockEnv().run(macts.prepareFault, req);
    const r = await inject(req, macts);
    expect(r.alreadyDone).toBe(false);
    return { req, corrupted: sha256(String((req.prepared as { path: string }).path)) };
  }

  const backups = () => (existsSync(join(stateDir, 'backups')) ? readdirSync(join(stateDir, 'backups')).sort() : []);

  /** Nothing touched: the file still corrupted, this run's backup and ledger entry still there. */
  async function stillCorrupted(req: InjectRequest, file: string, corrupted: string, backupsBefore: string[]): Promise<void> {
    expect(sha256(file)).toBe(corrupted);
    expect(backups()).toEqual(backupsBefore);
    expect((await ledgerOf(req))?.done).toEqual([0]);
  }

  test('(a) the parent folder swapped for a symlink out of the root: revert refuses, naming the path, and writes nothing through the link', async () => {
    const sub = `v-${++seq}`;
    const { file, original } = writeModel(`${sub}/model.pth`);
    const { req, corrupted } = await prepareAndInject(`/models/${sub}/model.pth`);
    const held = backups();
    const outside = realpathSync(tmp('tempest-outside-'));
    writeFileSync(join(outside, 'model.pth'), 'precious');
    // The folder is moved away and a symlink to a folder outside the root takes its place.
    renameSync(join(dir, sub), join(dir, `${sub}.moved`));
    symlinkSync(outside, join(dir, sub));

    const f = await failureOf(revert(req, macts));
    expect(f.type).toBe('NotYetClean');
    expect(f.message).toContain(`resolves to ${join(outside, 'model.pth')}, which is not inside files.corruptionRoots`);
    expect(f.message).toContain(`refusing to restore ${file}`);
    expect(readFileSync(join(outside, 'model.pth'), 'utf8')).toBe('precious');
    expect(readdirSync(outside)).toEqual(['model.pth']); // not even a restore temp written through the link
    await stillCorrupted(req, join(dir, `${sub}.moved`, 'model.pth'), corrupted, held);

    // Put back, the same revert restores the original bytes.
    unlinkSync(join(dir, sub));
    renameSync(join(dir, `${sub}.moved`), join(dir, sub));
    const r = await revert(req, macts);
    expect(r.undone).toEqual([file]);
    expect(readFileSync(file).equals(original)).toBe(true);
  });

  test('(a) the file swapped for a symlink out of the root: revert refuses, naming the path, and neither follows nor replaces the link', async () => {
    const { file, original } = writeModel(`v-${++seq}/model.pth`);
    const { req, corrupted } = await prepareAndInject(`/models/${file.slice(dir.length + 1)}`);
    const held = backups();
    const corruptedBytes = readFileSync(file);
    const outside = realpathSync(tmp('tempest-outside-'));
    const precious = join(outside, 'precious.bin');
    writeFileSync(precious, 'precious');
    // The corrupted file is moved out of the way (kept, so it can be put back as the same file) and a symlink to a
    // file outside the root takes its name.
    const aside = join(realpathSync(tmp('tempest-aside-')), 'model.pth');
    renameSync(file, aside);
    symlinkSync(precious, file);

    const f = await failureOf(revert(req, macts));
    expect(f.type).toBe('NotYetClean');
    expect(f.message).toContain(`resolves to ${precious}, which is not inside files.corruptionRoots`);
    expect(f.message).toContain(`refusing to restore ${file}`);
    expect(readFileSync(precious, 'utf8')).toBe('precious');
    expect(lstatSync(file).isSymbolicLink()).toBe(true); // the link itself was not replaced either
    expect(readdirSync(join(file, '..'))).toEqual(['model.pth']);
    expect(backups()).toEqual(held);
    expect((await ledgerOf(req))?.done).toEqual([0]);

    unlinkSync(file);
    renameSync(aside, file);
    expect(readFileSync(file).equals(corruptedBytes)).toBe(true);
    expect(sha256(file)).toBe(corrupted);
    const r = await revert(req, macts);
    expect(r.undone).toEqual([file]);
    expect(readFileSync(file).equals(original)).toBe(true);
  });

  test('(b) crafted revert requests naming another FILE_PATH or carrying another record never restore onto another file', async () => {
    const sub = `v-${++seq}`;
    const { file, original, sum } = writeModel(`${sub}/model.pth`);
    const other = join(dir, sub, 'other.pth');
    writeFileSync(other, 'another model, in the root');
    const outside = realpathSync(tmp('tempest-outside-'));
    const precious = join(outside, 'precious.bin');
    writeFileSync(precious, 'precious');
    const { req, corrupted } = await prepareAndInject(`/models/${sub}/model.pth`);
    const real = req.prepared as { path: string; size: number; sha256: string };
    expect(real).toEqual({ path: file, size: SIZE, sha256: sum, dev: String(statSync(file).dev), ino: String(statSync(file).ino) });
    const held = backups();
    const craft = (filePath: string, prepared: unknown): FaultRef => ({ ...req, fault: spec(filePath).faults[0], prepared: prepared as FaultRef['prepared'] });

    const cases: Array<[string, FaultRef, string]> = [
      // the record names the other file, with the checksum of the real backup: the pre-change revert restored onto it
      [
        'FILE_PATH and record name another file in the root',
        craft(`/models/${sub}/other.pth`, { ...real, path: other }),
        `the run's record (${other}) does not match Tempest's backup record (${file}); refusing to restore`,
      ],
      // the record names a file outside the roots and FILE_PATH does not resolve: the pre-change revert wrote there
      [
        'the record names a file outside the roots, FILE_PATH nothing',
        craft(`/models/${sub}/missing.pth`, { ...real, path: precious }),
        `the run's record (${precious}) does not match Tempest's backup record (${file}); refusing to restore`,
      ],
      [
        'FILE_PATH names another file, the record is the real one',
        craft(`/models/${sub}/other.pth`, real),
        `FILE_PATH now resolves to ${other}, not to ${file} as backed up; refusing to restore`,
      ],
      [
        'FILE_PATH names another file, no record',
        craft(`/models/${sub}/other.pth`, undefined),
        `FILE_PATH now resolves to ${other}, not to ${file} as backed up; refusing to restore`,
      ],
      [
        'the record has another checksum',
        craft(`/models/${sub}/model.pth`, { ...real, sha256: sha256(other) }),
        `the run's record (${file}) does not match Tempest's backup record (${file}); refusing to restore`,
      ],
    ];
    for (const [what, ref, message] of cases) {
      const f = await failureOf(revert(ref, macts));
      expect({ what, type: f.type, message: f.message }).toEqual({ what, type: 'NotYetClean', message: expect.stringContaining(message) });
      expect(readFileSync(other, 'utf8')).toBe('another model, in the root');
      expect(readFileSync(precious, 'utf8')).toBe('precious');
      expect(existsSync(join(dir, sub, 'missing.pth'))).toBe(false);
      expect(readdirSync(outside)).toEqual(['precious.bin']);
      expect(readdirSync(join(dir, sub)).sort()).toEqual(['model.pth', 'other.pth']);
      await stillCorrupted(req, file, corrupted, held);
    }

    // The run's own request still restores its own file.
    const r = await revert(req, macts);
    expect(r.undone).toEqual([file]);
    expect(readFileSync(file).equals(original)).toBe(true);
  });

  test('(c) the honest path: inject, then revert restores the original bytes and the checksum verifies', async () => {
    const sub = `v-${++seq}`;
    const { file, original, sum } = writeModel(`${sub}/model.pth`);
    const before = backups();
    const { req } = await prepareAndInject(`/models/${sub}/model.pth`);
    expect(sha256(file)).not.toBe(sum);
    expect(backups()).toHaveLength(before.length + 1);
    const r = await revert(req, macts);
    expect(r.undone).toEqual([file]);
    expect(r.verification).toBe(`sha256 ${sum.slice(0, 12)}… == recorded ${sum.slice(0, 12)}…; ledger clean`);
    expect(readFileSync(file).equals(original)).toBe(true);
    expect(readdirSync(join(dir, sub))).toEqual(['model.pth']); // no restore temp left
    expect(backups()).toEqual(before); // the backup removed after the verified restore
    expect(await ledgerOf(req)).toBeUndefined();
  });

  test('(c) the honest path through a symlink inside the root: the real file is restored, the link stays a link', async () => {
    const sub = `v-${++seq}`;
    const { file, original, sum } = writeModel(`${sub}/releases/model-3.pth`);
    symlinkSync(join('releases', 'model-3.pth'), join(dir, sub, 'current.pth'));
    const { req } = await prepareAndInject(`/models/${sub}/current.pth`);
    expect(req.prepared).toMatchObject({ path: file });
    expect(sha256(file)).not.toBe(sum);
    const r = await revert(req, macts);
    expect(r.undone).toEqual([file]);
    expect(r.verification).toBe(`sha256 ${sum.slice(0, 12)}… == recorded ${sum.slice(0, 12)}…; ledger clean`);
    expect(readFileSync(file).equals(original)).toBe(true);
    expect(lstatSync(join(dir, sub, 'current.pth')).isSymbolicLink()).toBe(true);
  });

  // ---------------------------------------------------------------- revertFault's own request check
  describe('revertFault refuses a malformed request before touching anything', () => {
    let req: InjectRequest;
    let file: string;
    let original: Buffer;
    let corrupted: string;
    let held: string[];

    beforeAll(async () => {
      const sub = `v-${++seq}`;
      ({ file, original } = writeModel(`${sub}/model.pth`));
      ({ req, corrupted } = await prepareAndInject(`/models/${sub}/model.pth`));
      held = backups();
    });

    const maxFaults = () => mcfg.policy.limits.maxFaults;
    test.each<[string, (r: InjectRequest) => Record<string, unknown>, string]>([
      ['an empty runId', () => ({ runId: '' }), 'runId: must be a workflow id'],
      ['a runId starting with "-"', (r) => ({ runId: `-${r.runId}` }), 'runId: must be a workflow id'],
      ['a runId with a "/"', (r) => ({ runId: `${r.runId}/x` }), 'runId: must be a workflow id'],
      ['a 257-character runId (one over the limit)', () => ({ runId: 'r'.repeat(257) }), 'runId: must be a workflow id'],
      ['a runId that is not a string', () => ({ runId: 42 }), 'runId: must be a workflow id'],
      ['a negative faultIndex', () => ({ faultIndex: -1 }), 'faultIndex: must be a fault index'],
      ['a fractional faultIndex', () => ({ faultIndex: 0.5 }), 'faultIndex: must be a fault index'],
      ['a faultIndex at limits.maxFaults', () => ({ faultIndex: maxFaults() }), 'faultIndex: must be a fault index'],
      ['a faultIndex given as a string', () => ({ faultIndex: '0' }), 'faultIndex: must be a fault index'],
      [
        'an oversized prepared (the real record, padded past 64 KiB)',
        (r) => ({ prepared: { ...r.prepared, pad: 'x'.repeat(64 * 1024) } }),
        'prepared: must be a JSON object of at most 64 KiB',
      ],
      ['a prepared that is an array', () => ({ prepared: [] }), 'prepared: must be a JSON object of at most 64 KiB'],
      ['a prepared that is null', () => ({ prepared: null }), 'prepared: must be a JSON object of at most 64 KiB'],
    ])('%s', async (_what, change, message) => {
      const crafted: Record<string, unknown> = { ...req, ...change(req) };
      // Where the pre-change revert (no request check) would have looked: a ledger entry is planted there, so
      // "nothing touched" also covers the run it names (an old revert would have cleared it).
      const old = typeof crafted.runId === 'string' ? preChangeKey(crafted.runId, crafted.faultIndex) : undefined;
      const decoy = old !== undefined && old !== ledgerKey(req) ? old : undefined;
      const entry: LedgerEntry = { fault: 'model-corruption', run: String(crafted.runId), faultIndex: 0, rounds: {}, done: [], expiresAt: req.expiresAt };
      if (decoy) await fleet.client.annotateOwner({ [decoy]: JSON.stringify(entry) });
      try {
        const f = await failureOf(revert(crafted, macts));
        expect(f.type).toBe('FaultRefused');
        expect(f.nonRetryable).toBe(true);
        expect(f.message).toContain("refused by the worker's policy");
        expect(f.message).toContain(message);
        await stillCorrupted(req, file, corrupted, held);
        if (decoy) expect((await annotations())[decoy]).toBe(JSON.stringify(entry));
      } finally {
        if (decoy) await fleet.client.annotateOwner({ [decoy]: null });
      }
    });

    test("after all those refusals, the run's own request still restores the file", async () => {
      const r = await revert(req, macts);
      expect(r.undone).toEqual([file]);
      expect(readFileSync(file).equals(original)).toBe(true);
      expect(await ledgerOf(req)).toBeUndefined();
    });
  });

  test('two runs whose ids differ only in a replaced character keep separate ledgers and backups', async () => {
    const base = `local-tamper-${process.pid}-${Date.now().toString(36)}-${++seq}`;
    const sub = `v-${seq}`;
    const a = writeModel(`${sub}/a.pth`);
    const b = writeModel(`${sub}/b.pth`);
    const reqA = request(spec(`/models/${sub}/a.pth`), { runId: `${base}:1` });
    const reqB = request(spec(`/models/${sub}/b.pth`), { runId: `${base}_1` });
    const before = backups();
    for (const r of [reqA, reqB]) r.prepared = await mockEnv().run(macts.prepareFault, r);
    const { reverted: ra, out: rb } = await withRevert(
      reqA,
      async () => {
        expect((await inject(reqA, macts)).alreadyDone).toBe(false);
        const { reverted } = await withRevert(
          reqB,
          async () => {
            const second = await inject(reqB, macts); // with the pre-change key it was A's ledger: "already corrupted", B untouched
            expect(second.alreadyDone).toBe(false);
            expect(sha256(a.file)).not.toBe(a.sum);
            expect(sha256(b.file)).not.toBe(b.sum);
            expect(backups()).toHaveLength(before.length + 2);
          },
          macts,
        );
        return reverted;
      },
      macts,
    );
    expect(rb.undone).toEqual([b.file]);
    expect(ra.undone).toEqual([a.file]);
    expect(readFileSync(a.file).equals(a.original)).toBe(true);
    expect(readFileSync(b.file).equals(b.original)).toBe(true);
  });

  // ---------------------------------------------------------------- TOCTOU: the file is opened once and acted on through that descriptor

  /** Tempest's backup folder for a run's fault (as the driver derives it: from the run, never from the target). */
  const backupDirOf = (ref: Pick<FaultRef, 'runId' | 'faultIndex'>) =>
    join(stateDir, 'backups', createHash('sha256').update(ledgerKey(ref)).digest('hex').slice(0, 32));

  /** A file outside every root, with random bytes: what an attacker would like Tempest to overwrite. */
  function preciousFile(): { precious: string; bytes: Buffer; outside: string } {
    const outside = realpathSync(tmp('tempest-outside-'));
    const precious = join(outside, 'precious.bin');
    const bytes = randomBytes(256 * 1024);
    writeFileSync(precious, bytes);
    return { precious, bytes, outside };
  }

  test('a real race: the file swapped for a symlink out of the root WHILE inject copies its backup is refused; the outside file is byte-for-byte untouched, and so is the model', async () => {
    const sub = `race-${++seq}`;
    const file = join(dir, sub, 'model.pth');
    mkdirSync(join(dir, sub), { recursive: true });
    const original = randomBytes(64 * 1024 * 1024); // big enough that the backup copy spans many event-loop turns
    writeFileSync(file, original);
    const { precious, bytes } = preciousFile();
    const aside = join(dir, `${sub}-aside.pth`);
    const req = request(spec(`/models/${sub}/model.pth`));
    req.prepared = await mockEnv().run(macts.prepareFault, req);
    const copying = join(backupDirOf(req), 'data.tmp');

    // The attacker waits for the backup copy to start, then moves the model away and puts a symlink in its place.
    let settled = false;
    let swapped = false;
    const attacker = (async () => {
      while (!settled && !existsSync(copying)) await new Promise((r) => setImmediate(r));
      if (settled) return;
      renameSync(file, aside);
      symlinkSync(precious, file);
      swapped = true;
    })();
    const result = inject(req, macts).finally(() => (settled = true));
    const f = await failureOf(result);
    await attacker;
    expect(swapped).toBe(true); // the swap landed while inject was running
    expect(f.type).toBe('FaultRefused');
    expect(f.message).toContain(`${file} was moved or replaced while Tempest held it open (the file it opened is now ${aside}); refusing to corrupt`);
    expect(readFileSync(precious).equals(bytes)).toBe(true); // the pre-change inject corrupted THIS file (open by name)
    expect(lstatSync(file).isSymbolicLink()).toBe(true);
    expect(readFileSync(aside).equals(original)).toBe(true); // nothing corrupted at all
    expect((await ledgerOf(req))?.done ?? []).toEqual([]);

    // With the symlink still there, revert refuses to restore through it; put back, it finds nothing to undo but
    // its own backup, restores the same bytes and cleans up.
    const g = await failureOf(revert(req, macts));
    expect(g.type).toBe('NotYetClean');
    expect(readFileSync(precious).equals(bytes)).toBe(true);
    unlinkSync(file);
    renameSync(aside, file);
    const r = await revert(req, macts);
    expect(r.undone).toEqual([file]);
    expect(readFileSync(file).equals(original)).toBe(true);
    expect(existsSync(backupDirOf(req))).toBe(false);
  }, 60_000);

  test('the file replaced between prepare and inject by another file with the same bytes (another inode) is refused; neither is touched', async () => {
    const sub = `inode-${++seq}`;
    const { file, original } = writeModel(`${sub}/model.pth`);
    const req = request(spec(`/models/${sub}/model.pth`));
    req.prepared = await mockEnv().run(macts.prepareFault, req);
    const prepared = req.prepared as { ino: string };
    writeFileSync(`${file}.new`, original);
    renameSync(`${file}.new`, file);
    expect(String(statSync(file).ino)).not.toBe(prepared.ino);
    const f = await failureOf(inject(req, macts));
    expect(f.type).toBe('FaultRefused');
    expect(f.message).toContain(`${file} is another file (device ${statSync(file).dev}, inode ${statSync(file).ino}) than the one prepared`);
    expect(readFileSync(file).equals(original)).toBe(true);
    expect(existsSync(backupDirOf(req))).toBe(false); // no backup taken either
    expect(await ledgerOf(req)).toBeUndefined();
    expect((await revert(req, macts)).undone).toEqual([]);
  });

  test('a real record with only its size rewritten (2^44: "truncate to half" would grow the file to 8 TiB) is refused before any backup; the file keeps its size and bytes', async () => {
    const sub = `size-${++seq}`;
    const { file, original } = writeModel(`${sub}/model.pth`);
    const req = request(engine('model-chaos', 'model-corruption', { FILE_PATH: `/models/${sub}/model.pth`, CORRUPTION_TYPE: 'truncate' }));
    req.prepared = { ...(await mockEnv().run(macts.prepareFault, req)), size: 2 ** 44 };
    const f = await failureOf(inject(req, macts));
    expect(f.type).toBe('FaultRefused');
    expect(f.message).toBe(
      `model-corruption: ${file} changed since it was prepared (it is ${SIZE} bytes, the prepared record says ${2 ** 44}); refusing to corrupt`,
    );
    expect(statSync(file).size).toBe(SIZE);
    expect(readFileSync(file).equals(original)).toBe(true);
    expect(existsSync(backupDirOf(req))).toBe(false);
    expect(await ledgerOf(req)).toBeUndefined();
  });

  test("Tempest's backup is never created through a symlink: one planted at the temporary name is removed, not followed", async () => {
    const sub = `tmp-link-${++seq}`;
    const { file, original } = writeModel(`${sub}/model.pth`);
    const { precious, bytes } = preciousFile();
    const req = request(spec(`/models/${sub}/model.pth`));
    req.prepared = await mockEnv().run(macts.prepareFault, req);
    mkdirSync(backupDirOf(req), { recursive: true, mode: 0o700 });
    symlinkSync(precious, join(backupDirOf(req), 'data.tmp'));
    await withRevert(
      req,
      async () => {
        expect((await inject(req, macts)).alreadyDone).toBe(false); // the pre-change copyFile wrote the model INTO precious.bin
        expect(readFileSync(precious).equals(bytes)).toBe(true);
        expect(lstatSync(join(backupDirOf(req), 'data')).isFile()).toBe(true);
        expect(readFileSync(join(backupDirOf(req), 'data')).equals(original)).toBe(true);
        expect(readdirSync(backupDirOf(req)).sort()).toEqual(['data', 'meta.json']);
      },
      macts,
    );
    expect(readFileSync(file).equals(original)).toBe(true);
    expect(readFileSync(precious).equals(bytes)).toBe(true);
  });

  test("Tempest's backup folder planted as a symlink to another folder: inject is refused; that folder is neither chmod'ed nor written", async () => {
    const sub = `dir-link-${++seq}`;
    const { file, original } = writeModel(`${sub}/model.pth`);
    const { outside } = preciousFile();
    const modeBefore = statSync(outside).mode;
    const req = request(spec(`/models/${sub}/model.pth`));
    req.prepared = await mockEnv().run(macts.prepareFault, req);
    mkdirSync(join(stateDir, 'backups'), { recursive: true, mode: 0o700 });
    symlinkSync(outside, backupDirOf(req));
    try {
      const f = await failureOf(inject(req, macts));
      expect(f.type).toBe('FaultRefused');
      expect(f.message).toContain(`Tempest's backup folder ${backupDirOf(req)} is not a plain directory`);
      expect(statSync(outside).mode).toBe(modeBefore); // the pre-change inject chmod'ed it to 0700 through the link
      expect(readdirSync(outside)).toEqual(['precious.bin']); // ... and put the backup there
      expect(readFileSync(file).equals(original)).toBe(true);
    } finally {
      unlinkSync(backupDirOf(req));
    }
    expect((await revert(req, macts)).undone).toEqual([]);
  });

  test('without a backup Tempest took for this run, revert touches nothing, whatever `prepared` names: no device or FIFO is read, and no answer depends on a checksum', async () => {
    const sub = `oracle-${++seq}`;
    const { file, original } = writeModel(`${sub}/model.pth`);
    const { precious, bytes, outside } = preciousFile();
    const fifo = join(outside, 'fifo');
    const fifoInRoot = join(dir, sub, 'fifo.pth');
    for (const p of [fifo, fifoInRoot]) expect(spawnSync('mkfifo', [p]).status).toBe(0);
    const record = (path: string, sum: string) => ({ path, size: 1024, sha256: sum, dev: '1', ino: '1' });
    const cases: Array<[string, Record<string, unknown>]> = [
      ['an outside file with its right checksum', record(precious, sha256(precious))],
      ['an outside file with a wrong checksum', record(precious, 'b'.repeat(64))],
      ['the model with its right checksum', record(file, sha256(file))],
      ['/dev/zero', record('/dev/zero', 'c'.repeat(64))],
      ['a FIFO outside the roots', record(fifo, 'd'.repeat(64))],
      ['a FIFO inside the root', record(fifoInRoot, 'e'.repeat(64))],
    ];
    const answers = new Set<string>();
    for (const [what, prepared] of cases) {
      const ref: FaultRef = { ...request(spec(`/models/${sub}/model.pth`)), prepared };
      // The ledger says the round was done (anyone on the fleet's control API can write that): the pre-change
      // revert then hashed `prepared.path` to decide whether "the backup is gone" — a checksum oracle that hung
      // forever on /dev/zero or a FIFO.
      const entry: LedgerEntry = {
        fault: 'model-corruption',
        run: ref.runId,
        faultIndex: 0,
        rounds: { '0': [String(prepared.path)] },
        done: [0],
        expiresAt: new Date(Date.now() + 60_000).toISOString(),
      };
      await fleet.client.annotateOwner({ [ledgerKey(ref)]: JSON.stringify(entry) });
      const r = await Promise.race([
        revert(ref, macts),
        new Promise<never>((_, reject) =>
          setTimeout(() => reject(new Error(`${what}: revert did not answer within 10 s (it is reading ${String(prepared.path)})`)), 10_000),
        ),
      ]);
      expect({ what, undone: r.undone }).toEqual({ what, undone: [] });
      answers.add(r.verification);
      for (const p of [fifo, fifoInRoot]) {
        // Nobody holds the FIFO open for reading: a writer that will not wait is refused (ENXIO).
        expect(() => closeSync(openSync(p, fsConstants.O_WRONLY | fsConstants.O_NONBLOCK))).toThrow(expect.objectContaining({ code: 'ENXIO' }));
      }
      expect(readFileSync(precious).equals(bytes)).toBe(true);
      expect(readFileSync(file).equals(original)).toBe(true);
    }
    expect([...answers]).toEqual(['nothing was corrupted (Tempest holds no backup of this run: nothing touched); ledger clean']);
  });

  test('a backup taken before the upgrade (its record has no device/inode) is still restored by revert', async () => {
    const sub = `legacy-${++seq}`;
    const { file, original, sum } = writeModel(`${sub}/model.pth`);
    const req = request(spec(`/models/${sub}/model.pth`));
    const legacy = { path: file, size: SIZE, sha256: sum }; // what the workflow of a run prepared by the earlier driver holds
    const bdir = backupDirOf(req);
    mkdirSync(bdir, { recursive: true, mode: 0o700 });
    writeFileSync(join(bdir, 'data'), original, { mode: 0o600 });
    writeFileSync(join(bdir, 'meta.json'), JSON.stringify({ ...legacy, key: ledgerKey(req), takenAt: new Date().toISOString() }), { mode: 0o600 });
    writeFileSync(file, Buffer.concat([Buffer.alloc(64 * 1024), original.subarray(64 * 1024)])); // corrupted in place
    const r = await revert({ ...req, prepared: legacy }, macts);
    expect(r.undone).toEqual([file]);
    expect(readFileSync(file).equals(original)).toBe(true);
    expect(existsSync(bdir)).toBe(false);
  });
});

// ---------------------------------------------------------------- ledger keys
describe('ledger keys: ids that differ only in replaced characters never share a key', () => {
  const PAIRS: Array<[string, string]> = [
    ['run/a', 'run_a'],
    ['a:1', 'a_1'],
    ['experiment:api-gateway:2024', 'experiment_api-gateway_2024'],
    ['run a', 'run_a'],
    ['run/a', 'run:a'],
    ['rün', 'r_n'],
    [`${'x'.repeat(80)}:1`, `${'x'.repeat(80)}_1`],
  ];

  test.each(PAIRS)('%j and %j: different local ledger keys and Kubernetes annotation keys', (x, y) => {
    expect(ledgerKey({ runId: x, faultIndex: 0 })).not.toBe(ledgerKey({ runId: y, faultIndex: 0 }));
    expect(faultIds({ runId: x, faultIndex: 0 }).key).not.toBe(faultIds({ runId: y, faultIndex: 0 }).key);
    // stable: the same id always gives the same key (every worker finds the same ledger)
    expect(ledgerKey({ runId: x, faultIndex: 0 })).toBe(ledgerKey({ runId: x, faultIndex: 0 }));
    expect(faultIds({ runId: x, faultIndex: 0 }).key).toBe(faultIds({ runId: x, faultIndex: 0 }).key);
  });

  test('a plain id keeps its readable key; a replaced one carries a hash of the full id; Kubernetes keys stay valid', () => {
    expect(ledgerKey({ runId: 'run_a', faultIndex: 3 })).toBe('tempest.io/fault.run_a.3');
    expect(faultIds({ runId: 'run_a', faultIndex: 3 }).key).toBe('tempest.io/fault.run_a.3');
    const h = createHash('sha256').update('run/a').digest('hex').slice(0, 12);
    expect(ledgerKey({ runId: 'run/a', faultIndex: 3 })).toBe(`tempest.io/fault.run_a-${h}.3`);
    expect(faultIds({ runId: 'run/a', faultIndex: 3 }).key).toBe(`tempest.io/fault.run_a-${h}.3`);
    // An annotation key's name part: at most 63 characters, alphanumeric at both ends, [-A-Za-z0-9_.] between.
    for (const id of PAIRS.flat()) {
      const name = faultIds({ runId: id, faultIndex: 19 }).key.slice('tempest.io/'.length);
      expect(name.length).toBeLessThanOrEqual(63);
      expect(name).toMatch(/^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/);
    }
  });

  test('on the real fleet: reverting the run "<id>_1" leaves the stressor and ledger of the run "<id>:1" alone', async () => {
    const base = `local-tamper-${process.pid}-${Date.now().toString(36)}-${++seq}`;
    const s = engine('api-gateway-cpu', 'pod-cpu-hog', { CPU_CORES: '1', CPU_LOAD: '5' });
    const colon = request(s, { runId: `${base}:1` });
    const underscore = request(s, { runId: `${base}_1` });
    let pids: number[] = [];
    await withRevert(colon, async () => {
      const r = await inject(colon);
      pids = r.affected.map((x) => Number(/^pid (\d+)$/.exec(x)?.[1]));
      expect(pids).toHaveLength(1);
      expect(findStressors(ledgerKey(colon))).toEqual(pids);
      const other = await revert(underscore);
      expect(other.undone).toEqual([]);
      expect(other.verification).toBe('no cpu stressor left; ledger clean');
      expect(findStressors(ledgerKey(colon))).toEqual(pids); // still running
      expect(isAlive(pids[0])).toBe(true);
      expect((await ledgerOf(colon))?.run).toBe(colon.runId);
    });
    expect(findStressors(ledgerKey(colon))).toEqual([]);
    expect(isAlive(pids[0])).toBe(false);
  });
});
