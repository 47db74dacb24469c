/**
 * runLocalCommand with REAL processes: every test checks through /proc that nothing of the run survived
 * (process group, environment marker, cgroup), and afterEach kills whatever a failing test left behind.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, rmdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runLocal } from '../../activities/probes/cmd.js';
import { killMechanisms, killRunTree, runLocalCommand, type LocalCommandOptions, type RunHandle } from '../../activities/probes/local-command.js';

const ENV = { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', LANG: 'C.UTF-8', HOME: '/tmp' };

// ---------------------------------------------------------------- /proc helpers (independent of the module)

function read(path: string): string | null {
  try {
    return readFileSync(path, 'latin1');
  } catch {
    return null;
  }
}

function stat(pid: number): { state: string; pgrp: number; session: number } | null {
  const t = read(`/proc/${pid}/stat`);
  if (!t) return null;
  const f = t.slice(t.lastIndexOf(')') + 2).split(' ');
  return { state: f[0], pgrp: Number(f[2]), session: Number(f[3]) };
}

/** Alive = exists and is not a zombie. */
function alive(pid: number): boolean {
  const s = stat(pid);
  return s !== null && s.state !== 'Z' && s.state !== 'X';
}

function cmdline(pid: number): string {
  return (read(`/proc/${pid}/cmdline`) ?? '').split('\0').join(' ').trim();
}

/** Live processes of a run, by any of the three mechanisms. */
function survivors(run: RunHandle): number[] {
  const entry = `TEMPEST_PROBE_RUN=${run.marker}`;
  const out = new Set<number>();
  for (const n of readdirSync('/proc')) {
    if (!/^\d+$/.test(n)) continue;
    const pid = Number(n);
    if (!alive(pid)) continue;
    const s = stat(pid);
    if (s && run.pgid !== null && (s.pgrp === run.pgid || s.session === run.pgid)) out.add(pid);
    if ((read(`/proc/${pid}/environ`) ?? '').split('\0').includes(entry)) out.add(pid);
    if ((read(`/proc/${pid}/cgroup`) ?? '').includes(`tempest-probe-${run.marker}`)) out.add(pid);
  }
  for (const cg of run.cgroups) for (const p of (read(join(cg.dir, 'cgroup.procs')) ?? '').split('\n')) if (p && alive(Number(p))) out.add(Number(p));
  return [...out];
}

function leftoverCgroups(run: RunHandle): string[] {
  return run.cgroups.map((c) => c.dir).filter((d) => existsSync(d));
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

// ---------------------------------------------------------------- harness

const runs: RunHandle[] = [];
const foreign: ChildProcess[] = [];
let tmp: string;
let mechanisms: string[] = [];

/** runLocalCommand, remembering the handle for the /proc assertions and the cleanup. */
function start(command: string, over: Partial<LocalCommandOptions> = {}): { result: ReturnType<typeof runLocalCommand>; handle: () => RunHandle } {
  let h: RunHandle | undefined;
  const result = runLocalCommand({
    command,
    signal: new AbortController().signal,
    env: ENV,
    ...over,
    onSpawn: (r) => {
      h = r;
      runs.push(r);
    },
  });
  return {
    result,
    handle: () => {
      if (!h) throw new Error('run was never spawned');
      return h;
    },
  };
}

function pidsIn(file: string): number[] {
  return (read(file) ?? '').split('\n').filter(Boolean).map(Number);
}

/** Assert (right now, no waiting) that nothing of the run lives and its cgroups are gone. */
function expectNothingLeft(run: RunHandle, extraPids: number[] = []): void {
  expect(survivors(run).map((p) => `${p} ${cmdline(p)}`)).toEqual([]);
  expect(extraPids.filter(alive).map((p) => `${p} ${cmdline(p)}`)).toEqual([]);
  expect(leftoverCgroups(run)).toEqual([]);
}

beforeAll(async () => {
  mechanisms = await killMechanisms();
  // Reported so a reader of the test log knows which mechanisms were exercised on this machine.
  console.log(`local-command kill mechanisms on this machine: ${mechanisms.join(', ')}`);
});

beforeEach(() => {
  tmp = mkdtempSync(join(tmpdir(), 'tempest-local-cmd-'));
});

afterEach(async () => {
  // Clean up after a failing test, bounded: SIGKILL whatever survived, remove the cgroups.
  for (const run of runs.splice(0)) {
    for (let i = 0; i < 50; i++) {
      const left = survivors(run);
      if (left.length === 0) break;
      for (const p of left) {
        if (p !== process.pid && p > 1) {
          try {
            process.kill(p, 'SIGKILL');
          } catch {
            /* gone */
          }
        }
      }
      await sleep(20);
    }
    for (const d of leftoverCgroups(run)) {
      try {
        rmdirSync(d);
      } catch {
        /* still busy */
      }
    }
  }
  for (const c of foreign.splice(0)) c.kill('SIGKILL');
  rmSync(tmp, { recursive: true, force: true });
});

// ---------------------------------------------------------------- tests

test('mechanisms: process group and environ marker always; cgroups when writable', async () => {
  expect(mechanisms.slice(0, 2)).toEqual(['process-group', 'environ-marker']);
  const { result, handle } = start('true');
  await result;
  expect(handle().mechanisms).toEqual(mechanisms);
  expect(handle().cgroups.map((c) => c.kind)).toEqual(mechanisms.slice(2));
  expectNothingLeft(handle());
});

test('a command that prints and exits: stdout, stderr, exit code', async () => {
  const { result, handle } = start('echo hello; echo "wörld"; echo oops >&2; exit 3');
  await expect(result).resolves.toEqual({ stdout: 'hello\nwörld\n', stderr: 'oops\n', exitCode: 3, killedBy: null, truncated: false });
  expectNothingLeft(handle());
});

test('cwd is honoured; a missing cwd rejects', async () => {
  const { result } = start('pwd', { cwd: tmp });
  expect((await result).stdout).toBe(`${tmp}\n`);
  await expect(runLocalCommand({ command: 'pwd', signal: new AbortController().signal, env: ENV, cwd: join(tmp, 'nope') })).rejects.toThrow(
    /cannot run \/bin\/sh/,
  );
});

test('an already aborted signal rejects with its reason and starts nothing', async () => {
  const ac = new AbortController();
  const reason = new Error('too late');
  ac.abort(reason);
  let spawned = false;
  await expect(runLocalCommand({ command: 'echo no', signal: ac.signal, env: ENV, onSpawn: () => (spawned = true) })).rejects.toBe(reason);
  expect(spawned).toBe(false);
});

describe.each([
  ['all mechanisms', true],
  ['without cgroups (process group + environ marker only)', false],
])('%s', (_label, useCgroup) => {
  test('`setsid sleep 300 &` then `echo started`: the sleep does not outlive the run', async () => {
    const pids = join(tmp, 'pids');
    const { result, handle } = start(`setsid sleep 300 & echo $! > "$PIDS"; echo started`, { useCgroup, env: { ...ENV, PIDS: pids } });
    const r = await result;
    expect(r).toMatchObject({ stdout: 'started\n', exitCode: 0 });
    expectNothingLeft(handle(), pidsIn(pids));
  });

  test('setsid really left the group before the shell exited, and still died', async () => {
    const pids = join(tmp, 'pids');
    // Wait (bounded) until the background sleep leads its own session, then exit.
    const command = `setsid sleep 300 & p=$!; echo $p > "$PIDS"; i=0
      while [ "$(cut -d' ' -f6 /proc/$p/stat)" != "$p" ] && [ $i -lt 200 ]; do sleep 0.01; i=$((i+1)); done
      echo "session $(cut -d' ' -f6 /proc/$p/stat) pid $p"`;
    const { result, handle } = start(command, { useCgroup, env: { ...ENV, PIDS: pids } });
    const r = await result;
    const [pid] = pidsIn(pids);
    expect(r.stdout.trim()).toBe(`session ${pid} pid ${pid}`);
    expectNothingLeft(handle(), [pid]);
  });

  test('double fork `(sh -c "sleep 302 &" &)`: the orphan dies with the run', async () => {
    const pids = join(tmp, 'pids');
    const command = `(sh -c 'sleep 302 & echo $! > "$PIDS"' &); i=0
      while [ ! -s "$PIDS" ] && [ $i -lt 200 ]; do sleep 0.01; i=$((i+1)); done; echo forked`;
    const { result, handle } = start(command, { useCgroup, env: { ...ENV, PIDS: pids } });
    expect((await result).stdout).toBe('forked\n');
    const orphans = pidsIn(pids);
    expect(orphans).toHaveLength(1);
    expectNothingLeft(handle(), orphans);
  });

  test('the plain double fork, exiting at once', async () => {
    const { result, handle } = start(`(sh -c 'sleep 302 &' &)`, { useCgroup });
    expect(await result).toMatchObject({ exitCode: 0 });
    expectNothingLeft(handle());
  });

  test('timeout: `sleep 300 & setsid sh -c "sleep 301" & wait` aborted after 300 ms', async () => {
    const pids = join(tmp, 'pids');
    const ac = new AbortController();
    const reason = new Error('attempt timed out');
    const command = `sleep 300 & echo $! >> "$PIDS"; setsid sh -c 'echo $$ >> "$PIDS"; sleep 301; :' & echo $! >> "$PIDS"; wait`;
    const t0 = Date.now();
    setTimeout(() => ac.abort(reason), 300);
    const { result, handle } = start(command, { useCgroup, signal: ac.signal, env: { ...ENV, PIDS: pids } });
    let rejected: unknown;
    await result.catch((e: unknown) => {
      rejected = e;
      // Checked inside the settlement itself: nothing may still be running when the promise settles.
      expectNothingLeft(handle(), pidsIn(pids));
    });
    expect(rejected).toBe(reason);
    expect(Date.now() - t0).toBeLessThan(2500);
    expect(new Set(pidsIn(pids)).size).toBeGreaterThanOrEqual(2);
  });

  test('a command that ignores SIGTERM (`trap "" TERM; sleep 303`) still dies on abort', async () => {
    const ac = new AbortController();
    setTimeout(() => ac.abort(new Error('cancelled')), 200);
    const { result, handle } = start(`trap "" TERM; sleep 303; echo never`, { useCgroup, signal: ac.signal });
    await expect(result).rejects.toThrow('cancelled');
    expectNothingLeft(handle());
  });

  test('output flood `yes` with maxOutputBytes 64 KiB: truncated, process gone', async () => {
    const cap = 64 * 1024;
    const { result, handle } = start('yes', { useCgroup, maxOutputBytes: cap });
    const r = await result;
    expect(r.truncated).toBe(true);
    expect(Buffer.byteLength(r.stdout)).toBeLessThanOrEqual(cap);
    expect(r.stdout.length).toBeLessThanOrEqual(cap);
    expect(r.stdout.length).toBeGreaterThan(cap / 2);
    expect(r.stdout.startsWith('y\ny\n')).toBe(true);
    expect(r.killedBy).toBe('SIGKILL');
    expectNothingLeft(handle());
  });
});

test('cgroup catches what clears its environment and leaves the session (`env -i setsid sleep 304 &`)', async () => {
  if (mechanisms.length === 2) {
    console.log('no usable cgroup on this machine: env -i escape test skipped');
    return;
  }
  const pids = join(tmp, 'pids');
  const command = `env -i setsid sleep 304 & p=$!; echo $p > "$PIDS"; i=0
    while [ "$(cut -d' ' -f6 /proc/$p/stat)" != "$p" ] && [ $i -lt 200 ]; do sleep 0.01; i=$((i+1)); done
    tr '\\0' '\\n' < /proc/$p/environ | grep -c TEMPEST_PROBE_RUN || true`;
  const { result, handle } = start(command, { env: { ...ENV, PIDS: pids } });
  expect((await result).stdout.trim()).toBe('0'); // the marker really was gone
  expectNothingLeft(handle(), pidsIn(pids));
});

test('environment: exactly the given env plus the marker; process.env secrets stay out; PATH works', async () => {
  process.env.TEMPEST_TEST_SECRET = 'hunter2';
  try {
    const { result, handle } = start('env; echo ---; ls /');
    const r = await result;
    const [envPart, lsPart] = r.stdout.split('---\n');
    expect(r.stdout).not.toContain('hunter2');
    expect(r.stdout).not.toContain('TEMPEST_TEST_SECRET');
    const names = envPart
      .trim()
      .split('\n')
      .map((l) => l.split('=')[0])
      .sort();
    expect(names).toEqual(['HOME', 'LANG', 'PATH', 'PWD', 'TEMPEST_PROBE_RUN']); // PWD: set by the shell
    expect(envPart).toContain(`TEMPEST_PROBE_RUN=${handle().marker}\n`);
    expect(lsPart.split('\n')).toEqual(expect.arrayContaining(['proc', 'etc', 'usr']));
    expect(r.exitCode).toBe(0);
    expectNothingLeft(handle());
  } finally {
    delete process.env.TEMPEST_TEST_SECRET;
  }
});

test("cmd.ts runLocal: minimal environment, the worker's secrets are not passed on", async () => {
  process.env.TEMPEST_TEST_SECRET = 'hunter2';
  try {
    const r = await runLocal('env | sort; ls / >/dev/null && echo ls-ok', new AbortController().signal);
    expect(r.stdout).not.toContain('hunter2');
    expect(r.stdout).toContain('PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n');
    expect(r.stdout).toContain('LANG=C.UTF-8\n');
    expect(r.stdout).toContain('HOME=/tmp\n');
    expect(r.stdout).toContain('ls-ok\n');
    expect(Object.keys(r).sort()).toEqual(['exitCode', 'killedBy', 'stderr', 'stdout']);
  } finally {
    delete process.env.TEMPEST_TEST_SECRET;
  }
});

test('killRunTree on a live run: kills it, returns the signalled pids, spares foreign processes and the runner', async () => {
  // An unrelated sleeper in the test runner's own group, with the same command line.
  const other = spawn('sleep', ['305'], { stdio: 'ignore' });
  foreign.push(other);
  const pids = join(tmp, 'pids');
  const { result, handle } = start(`setsid sleep 305 & echo $! > "$PIDS"; wait`, { env: { ...ENV, PIDS: pids } });
  for (let i = 0; i < 200 && pidsIn(pids).length === 0; i++) await sleep(10);
  const run = handle();
  const killed = await killRunTree(run);
  expect(killed).toEqual(expect.arrayContaining([run.pgid, ...pidsIn(pids)]));
  expect(killed).not.toContain(process.pid);
  expect(killed).not.toContain(process.ppid);
  expect(killed).not.toContain(other.pid);
  const r = await result;
  expect(r.killedBy).toBe('SIGKILL');
  expectNothingLeft(run, pidsIn(pids));
  expect(alive(other.pid!)).toBe(true);
  expect(await killRunTree(run)).toEqual([]); // idempotent
});

test('zombies count as dead: a never-reaped child does not hold the run up', async () => {
  // `sleep 0 &` exits at once; its parent execs sleep 306 and never reaps it.
  const ac = new AbortController();
  setTimeout(() => ac.abort(new Error('stop')), 300);
  const t0 = Date.now();
  const { result, handle } = start(`sh -c 'sleep 0 & exec sleep 306'`, { signal: ac.signal });
  await expect(result).rejects.toThrow('stop');
  expect(Date.now() - t0).toBeLessThan(1500);
  expectNothingLeft(handle());
});
