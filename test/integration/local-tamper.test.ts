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
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, realpathSync, renameSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
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
  test('a retried round whose ledger entry was rewritten to name an unrelated pid kills the pod\'s live replica, not that pid', async () => {
    const before = await steadyPods();
    const pod = before[0];
    const victim = await bystander();
    const req = request(engine('api-gateway-chaos', 'container-kill', { TARGET_PODS: pod.name }));
    // The round's intent as the driver writes it before it kills (`<pod>:<pid>`), with the pid rewritten on the
    // control API to the test's own `sleep`: a worker crash between intent and kill, then a retry.
    const entry: LedgerEntry = { fault: 'container-kill', run: req.runId, faultIndex: 0, rounds: { '0': [`${pod.name}:${victim.pid}`] }, done: [], expiresAt: req.expiresAt };
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

  test('a rewritten ledger naming one replica with ANOTHER replica\'s pid kills the named pod only', async () => {
    const before = await steadyPods();
    const [named, other] = before;
    const req = request(engine('api-gateway-chaos', 'container-kill', { TARGET_PODS: named.name }));
    const entry: LedgerEntry = { fault: 'container-kill', run: req.runId, faultIndex: 0, rounds: { '0': [`${named.name}:${other.pid}`] }, done: [], expiresAt: req.expiresAt };
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

  test('a rewritten ledger naming a pod the fleet does not have (with an unrelated pid) signals nothing', async () => {
    const before = await steadyPods();
    const victim = await bystander();
    const req = request(engine('api-gateway-chaos', 'container-kill', { PODS_AFFECTED_PERC: '0' }));
    const entry: LedgerEntry = { fault: 'container-kill', run: req.runId, faultIndex: 0, rounds: { '0': [`api-gateway-ghost:${victim.pid}`] }, done: [], expiresAt: req.expiresAt };
    await fleet.client.annotateOwner({ [ledgerKey(req)]: JSON.stringify(entry) });
    const { out: r, reverted } = await withRevert(req, () => inject(req));
    expect(r.affected).toEqual([]); // only what was really signalled
    expect(r.detail).toBe('killed no container process; skipped api-gateway-ghost (not running: the kill landed, or the pod is gone)');
    expect(untouched(victim)).toBe(true);
    expect(reverted.verification).toBe(`${REPLICAS}/${REPLICAS} replicas ready; ledger clean`);
    expect(podIds(await fleet.client.pods())).toEqual(podIds(before)); // every replica, same pid
  });

  test('a pod list whose pid was tampered in transit (a foreign pid for a real pod) is not signalled: the pid must be that pod\'s replica', async () => {
    // A man in the middle on the control API: the real fleet behind it, only GET /pods is rewritten so that one
    // pod reports the test's `sleep` as its pid. The driver reads /proc/<pid>/cmdline before it signals.
    const before = await steadyPods();
    const pod = before[1];
    const victim = await bystander();
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
            text = JSON.stringify((JSON.parse(text) as LocalPod[]).map((p) => (p.name === pod.name ? { ...p, pid: victim.pid } : p)));
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
    const close = () => new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    });
    closers.push(close);
    const proxyUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const pacts = createActivities({
      config: testConfig(fleet, { platform: { driver: 'local', local: { targets: [{ ...TARGET, fleet: proxyUrl }] } } }),
    });
    const req = request(engine('api-gateway-chaos', 'container-kill', { TARGET_PODS: pod.name }));
    await withRevert(
      req,
      async () => {
        const r = await inject(req, pacts);
        expect(r.detail).toBe(`killed no container process; skipped ${pod.name} (pid ${victim.pid} is not the fleet's replica process: not signalled)`);
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
});

// ---------------------------------------------------------------- model-corruption
describe('model-corruption: revert restores Tempest\'s own backup, only onto the file it was taken from, inside the roots', () => {
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
    rmSync(file);
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
    writeFileSync(file, corruptedBytes);
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
    expect(real).toEqual({ path: file, size: SIZE, sha256: sum });
    const held = backups();
    const craft = (filePath: string, prepared: unknown): FaultRef => ({ ...req, fault: spec(filePath).faults[0], prepared: prepared as FaultRef['prepared'] });

    const cases: Array<[string, FaultRef, string]> = [
      // the record names the other file, with the checksum of the real backup: the pre-change revert restored onto it
      ['FILE_PATH and record name another file in the root', craft(`/models/${sub}/other.pth`, { ...real, path: other }), `the run's record (${other}) does not match Tempest's backup record (${file}); refusing to restore`],
      // the record names a file outside the roots and FILE_PATH does not resolve: the pre-change revert wrote there
      ['the record names a file outside the roots, FILE_PATH nothing', craft(`/models/${sub}/missing.pth`, { ...real, path: precious }), `the run's record (${precious}) does not match Tempest's backup record (${file}); refusing to restore`],
      ['FILE_PATH names another file, the record is the real one', craft(`/models/${sub}/other.pth`, real), `FILE_PATH now resolves to ${other}, not to ${file} as backed up; refusing to restore`],
      ['FILE_PATH names another file, no record', craft(`/models/${sub}/other.pth`, undefined), `FILE_PATH now resolves to ${other}, not to ${file} as backed up; refusing to restore`],
      ['the record has another checksum', craft(`/models/${sub}/model.pth`, { ...real, sha256: sha256(other) }), `the run's record (${file}) does not match Tempest's backup record (${file}); refusing to restore`],
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
      ['an oversized prepared (the real record, padded past 64 KiB)', (r) => ({ prepared: { ...r.prepared, pad: 'x'.repeat(64 * 1024) } }), 'prepared: must be a JSON object of at most 64 KiB'],
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

    test('after all those refusals, the run\'s own request still restores the file', async () => {
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
