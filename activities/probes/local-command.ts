/**
 * Run a local shell command (cmdProbe without `source`) so that nothing it starts outlives it.
 *
 * A "run" is tracked three ways at once:
 *  1. its session / process group (the shell is spawned detached, so it leads a fresh session and group);
 *  2. an environment marker `TEMPEST_PROBE_RUN=<random>`, which `setsid`, `nohup` and double forks inherit;
 *  3. a fresh per-run cgroup in every writable hierarchy among cgroup v1 `pids`, v1 `freezer` and cgroup2,
 *     joined by a tiny wrapper shell BEFORE it execs the user command (so even `env -i setsid …` stays inside).
 *
 * When the run ends for any reason (top shell exits, output cap hit, signal aborted) every process found by
 * any of the three is SIGKILLed, the search repeats until none is left (bounded), and the cgroups are removed.
 * Only then does the promise settle.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir, readFile, rmdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export const RUN_MARKER_ENV = 'TEMPEST_PROBE_RUN';
const DEFAULT_MAX_OUTPUT_BYTES = 1024 * 1024;
/** How long killRunTree keeps re-scanning (and retrying rmdir) before it gives up. */
const KILL_BUDGET_MS = 2000;
/** After the tree is dead, how long to wait for the pipes to drain / the shell to be reaped. */
const DRAIN_BUDGET_MS = 1000;
const CGROUP_PREFIX = 'tempest-probe-';

export type CgroupKind = 'cgroup-v1-pids' | 'cgroup-v1-freezer' | 'cgroup2';
export type KillMechanism = 'process-group' | 'environ-marker' | CgroupKind;

export interface RunCgroup {
  kind: CgroupKind;
  /** Absolute directory of the per-run cgroup (its basename is `tempest-probe-<marker>`). */
  dir: string;
}

/**
 * Everything needed to find (and kill) a run's processes. Plain data: it can be logged or kept in heartbeat
 * details. `pgid` is only trustworthy while the process that spawned the run is alive (pid reuse); the marker
 * and the cgroups are not subject to reuse.
 */
export interface RunHandle {
  readonly marker: string;
  /** Process group and session id of the top shell (it is spawned detached); null when the spawn failed. */
  readonly pgid: number | null;
  readonly cgroups: readonly RunCgroup[];
  /** What this run is tracked by. */
  readonly mechanisms: readonly KillMechanism[];
}

export interface LocalCommandOptions {
  /** Run as `/bin/sh -c command`. */
  command: string;
  /** Aborted on attempt timeout or activity cancellation. */
  signal: AbortSignal;
  /** The COMPLETE environment of the command (nothing is inherited from process.env); the run marker is added. */
  env: Record<string, string>;
  /** Per stream, default 1 MiB. On overflow collecting stops, the tree is killed and `truncated` is set. */
  maxOutputBytes?: number;
  cwd?: string;
  /** Default true. false: track the run by process group and environment marker only. */
  useCgroup?: boolean;
  /** Called once the shell is spawned, with the handle killRunTree takes. */
  onSpawn?: (run: RunHandle) => void;
}

export interface LocalCommandResult {
  stdout: string;
  stderr: string;
  exitCode: number | null;
  killedBy: string | null;
  truncated: boolean;
}

// ---------------------------------------------------------------- cgroup discovery

interface CgroupRoot {
  kind: CgroupKind;
  /** Where per-run cgroups are created: our own cgroup in that hierarchy when visible, else the mount. */
  parent: string;
}

/** Unescape the octal sequences (\040 …) of /proc/self/mounts. */
function unescapeMount(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}

async function readText(path: string): Promise<string | null> {
  try {
    return await readFile(path, 'utf8');
  } catch {
    return null;
  }
}

/** Writable cgroup hierarchies, in order of preference: v1 pids, v1 freezer, cgroup2. */
async function candidateRoots(): Promise<CgroupRoot[]> {
  const mounts = (await readText('/proc/self/mounts')) ?? '';
  const own = (await readText('/proc/self/cgroup')) ?? '';
  const ownPath = (match: (controllers: string) => boolean): string => {
    for (const line of own.split('\n')) {
      const m = /^(\d+):([^:]*):(.*)$/.exec(line);
      if (m && match(m[2])) return m[3];
    }
    return '/';
  };
  const found = new Map<CgroupKind, string>();
  for (const line of mounts.split('\n')) {
    const [, rawDir, type, rawOpts] = line.split(' ');
    if (!rawDir || !rawOpts) continue;
    const opts = rawOpts.split(',');
    if (opts.includes('ro')) continue;
    const dir = unescapeMount(rawDir);
    if (type === 'cgroup2' && !found.has('cgroup2')) found.set('cgroup2', dir);
    if (type === 'cgroup' && opts.includes('pids') && !found.has('cgroup-v1-pids')) found.set('cgroup-v1-pids', dir);
    if (type === 'cgroup' && opts.includes('freezer') && !found.has('cgroup-v1-freezer')) found.set('cgroup-v1-freezer', dir);
  }
  const roots: CgroupRoot[] = [];
  for (const kind of ['cgroup-v1-pids', 'cgroup-v1-freezer', 'cgroup2'] as const) {
    const mount = found.get(kind);
    if (!mount) continue;
    const rel = kind === 'cgroup2' ? ownPath((c) => c === '') : ownPath((c) => c.split(',').includes(kind === 'cgroup-v1-pids' ? 'pids' : 'freezer'));
    const nested = join(mount, rel);
    roots.push({ kind, parent: rel !== '/' && existsSync(nested) ? nested : mount });
  }
  return roots;
}

/** Wait for a spawned helper to exit; resolves its exit code (null on signal or spawn error). */
function exitOf(child: ReturnType<typeof spawn>): Promise<number | null> {
  return new Promise((resolve) => {
    child.once('error', () => resolve(null));
    child.once('exit', (code) => resolve(code));
  });
}

/**
 * Which hierarchies really work here: create a cgroup in each, move a throwaway shell into it, remove it.
 * Done once per process.
 */
async function probeRoots(): Promise<CgroupRoot[]> {
  const roots = await candidateRoots();
  const tag = `${CGROUP_PREFIX}check-${randomBytes(6).toString('hex')}`;
  const made: CgroupRoot[] = [];
  for (const r of roots) {
    try {
      await mkdir(join(r.parent, tag));
      made.push(r);
    } catch {
      /* not writable */
    }
  }
  if (made.length === 0) return [];
  const script = 'for d do { echo $$ > "$d/cgroup.procs"; } 2>/dev/null && echo "$d"; done';
  const child = spawn('/bin/sh', ['-c', script, 'tempest-cgroup-check', ...made.map((r) => join(r.parent, tag))], {
    stdio: ['ignore', 'pipe', 'ignore'],
    env: {},
  });
  let out = '';
  child.stdout?.on('data', (b: Buffer) => (out += b.toString('utf8')));
  const code = await exitOf(child);
  const joined = new Set(code === 0 ? out.split('\n').filter(Boolean) : []);
  for (const r of made) await removeDir(join(r.parent, tag), Date.now() + 500);
  return made.filter((r) => joined.has(join(r.parent, tag)));
}

let usableRoots: Promise<CgroupRoot[]> | undefined;
function cgroupRoots(): Promise<CgroupRoot[]> {
  usableRoots ??= probeRoots().catch(() => []);
  return usableRoots;
}

/** The kill mechanisms runs get on this machine (process group and marker always; cgroups when usable). */
export async function killMechanisms(): Promise<KillMechanism[]> {
  return ['process-group', 'environ-marker', ...(await cgroupRoots()).map((r) => r.kind)];
}

// ---------------------------------------------------------------- /proc
// procfs reads are in-memory and cheap, so they are synchronous (an async read costs several thread-pool round
// trips per file, which made a scan of ~100 processes take 15-30 ms); a scan yields every SCAN_CHUNK pids.

const SCAN_CHUNK = 256;

interface ProcStat {
  state: string;
  ppid: number;
  pgrp: number;
  session: number;
}

function readProc(path: string): Buffer | null {
  try {
    return readFileSync(path);
  } catch {
    return null; // gone, or not ours to read
  }
}

function parseStat(text: string): ProcStat | null {
  const close = text.lastIndexOf(')');
  if (close < 0) return null;
  const f = text.slice(close + 2).split(' ');
  if (f.length < 4) return null;
  return { state: f[0], ppid: Number(f[1]), pgrp: Number(f[2]), session: Number(f[3]) };
}

function readStat(pid: number): ProcStat | null {
  const b = readProc(`/proc/${pid}/stat`);
  return b === null ? null : parseStat(b.toString('latin1'));
}

const isDead = (s: ProcStat | null): s is null => s === null || s.state === 'Z' || s.state === 'X' || s.state === 'x';

function hasMarker(environ: Buffer, entry: Buffer): boolean {
  for (let at = environ.indexOf(entry); at >= 0; at = environ.indexOf(entry, at + 1)) {
    const end = at + entry.length;
    if ((at === 0 || environ[at - 1] === 0) && (end === environ.length || environ[end] === 0)) return true;
  }
  return false;
}

function environHasMarker(pid: number, entry: Buffer): boolean {
  const environ = readProc(`/proc/${pid}/environ`);
  return environ !== null && hasMarker(environ, entry);
}

const markerEntry = (run: RunHandle): Buffer => Buffer.from(`${RUN_MARKER_ENV}=${run.marker}`);

/**
 * The shell leads a fresh session (and group) with id = its pid. A session cannot be joined from outside and its
 * id stays reserved while any member lives, so session membership also covers `setpgid` escapes.
 */
function inGroup(run: RunHandle, s: ProcStat): boolean {
  return run.pgid !== null && run.pgid > 1 && s.session === run.pgid;
}

function inRunCgroup(run: RunHandle, pid: number): boolean {
  if (run.cgroups.length === 0) return false;
  const text = readProc(`/proc/${pid}/cgroup`)?.toString('utf8');
  if (!text) return false;
  const name = `/${CGROUP_PREFIX}${run.marker}`;
  return text.split('\n').some((line) => line.endsWith(name));
}

/** Re-check, right before signalling, that a pid is a live process of this run. */
function isLiveMember(run: RunHandle, entry: Buffer, pid: number): boolean {
  const s = readStat(pid);
  if (isDead(s)) return false;
  return inGroup(run, s) || environHasMarker(pid, entry) || inRunCgroup(run, pid);
}

/** Live pids that belong to the run by any mechanism (a first pass; isLiveMember confirms each). */
async function findRunPids(run: RunHandle, entry: Buffer): Promise<Set<number>> {
  const found = new Set<number>();
  for (const cg of run.cgroups) {
    for (const p of (readProc(join(cg.dir, 'cgroup.procs'))?.toString('latin1') ?? '').split('\n')) if (/^\d+$/.test(p)) found.add(Number(p));
  }
  let names: string[] = [];
  try {
    names = readdirSync('/proc').filter((n) => /^\d+$/.test(n));
  } catch {
    /* no /proc: only the cgroups can tell */
  }
  for (let i = 0; i < names.length; i++) {
    if (i > 0 && i % SCAN_CHUNK === 0) await new Promise<void>((r) => setImmediate(r));
    const pid = Number(names[i]);
    if (found.has(pid)) continue;
    const s = readStat(pid);
    if (isDead(s) || pid === 2 || s.ppid === 2) continue; // zombie, gone, or kernel thread
    if (inGroup(run, s) || environHasMarker(pid, entry)) found.add(pid);
  }
  return found;
}

/** This process and its ancestors: never signalled, whatever they look like. */
function protectedPids(): Set<number> {
  const keep = new Set<number>([0, 1, 2, process.pid, process.ppid]);
  let pid = process.ppid;
  for (let i = 0; i < 64 && pid > 1; i++) {
    const s = readStat(pid);
    if (!s) break;
    keep.add(s.ppid);
    pid = s.ppid;
  }
  return keep;
}

// ---------------------------------------------------------------- killing

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

async function writeQuiet(path: string, value: string): Promise<void> {
  try {
    await writeFile(path, value);
  } catch {
    /* gone already, or the kernel lacks that knob */
  }
}

async function removeDir(dir: string, deadline: number): Promise<boolean> {
  for (;;) {
    try {
      await rmdir(dir);
      return true;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return true;
      if (Date.now() >= deadline) return false;
      await sleep(10);
    }
  }
}

/**
 * Kill every process of a run: SIGKILL everything found by process group, environment marker and cgroup,
 * re-scan until nothing live is left (bounded by ~2 s), then remove the run's cgroups. Zombies count as dead.
 * Forks are stopped first where the kernel allows (pids.max = 0, freezer), and cgroup2's cgroup.kill is used
 * on top. Returns the pids that were signalled. Safe to call more than once, and concurrently.
 */
export async function killRunTree(run: RunHandle): Promise<number[]> {
  const deadline = Date.now() + KILL_BUDGET_MS;
  const keep = protectedPids();
  const entry = markerEntry(run);
  const signalled = new Set<number>();
  const byKind = (k: CgroupKind) => run.cgroups.filter((c) => c.kind === k);
  for (const cg of byKind('cgroup-v1-pids')) await writeQuiet(join(cg.dir, 'pids.max'), '0');
  // A /proc scan is not atomic: a process can fork and exit while it runs, so its child is missed. With pids.max
  // = 0 or cgroup.kill no member can fork any more and one empty scan is proof; otherwise demand a few empty
  // scans in a row, some time apart.
  const forkStopped = run.cgroups.some((c) => c.kind === 'cgroup-v1-pids' || c.kind === 'cgroup2');
  const quietNeeded = forkStopped ? 1 : 3;
  let quiet = 0;
  for (;;) {
    for (const cg of byKind('cgroup-v1-freezer')) await writeQuiet(join(cg.dir, 'freezer.state'), 'FROZEN');
    let alive = 0;
    try {
      // Confirm each candidate first, then signal them all in one synchronous burst, the top shell first: a
      // shell must not get to see (and report) its child's death before its own SIGKILL is pending.
      const targets: number[] = [];
      for (const pid of [...(await findRunPids(run, entry))].sort((a, b) => (a === run.pgid ? -1 : b === run.pgid ? 1 : a - b))) {
        if (!keep.has(pid) && isLiveMember(run, entry, pid)) targets.push(pid);
      }
      alive = targets.length;
      for (const pid of targets) {
        try {
          process.kill(pid, 'SIGKILL');
          signalled.add(pid);
        } catch {
          /* exited in between */
        }
      }
      for (const cg of byKind('cgroup2')) await writeQuiet(join(cg.dir, 'cgroup.kill'), '1');
    } finally {
      for (const cg of byKind('cgroup-v1-freezer')) await writeQuiet(join(cg.dir, 'freezer.state'), 'THAWED');
    }
    quiet = alive === 0 ? quiet + 1 : 0;
    if (quiet >= quietNeeded || Date.now() >= deadline) break;
    await sleep(alive === 0 ? 15 : 5);
  }
  for (const cg of run.cgroups) await removeDir(cg.dir, Math.max(deadline, Date.now() + 100));
  return [...signalled].sort((a, b) => a - b);
}

// ---------------------------------------------------------------- running

/**
 * $0 = tempest-probe, $1 = the user command, $2… = cgroup directories to join. The user command is only ever
 * an argument, never spliced into this script.
 */
const WRAPPER = 'c=$1; shift; for d do { echo $$ > "$d/cgroup.procs"; } 2>/dev/null; done; exec /bin/sh -c "$c"';

async function createCgroups(marker: string): Promise<RunCgroup[]> {
  const out: RunCgroup[] = [];
  for (const r of await cgroupRoots()) {
    const dir = join(r.parent, CGROUP_PREFIX + marker);
    try {
      await mkdir(dir);
      out.push({ kind: r.kind, dir });
    } catch {
      /* became unusable: the other mechanisms still apply */
    }
  }
  return out;
}

function withTimeout(p: Promise<unknown>, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    void p.then(
      () => {
        clearTimeout(t);
        resolve();
      },
      () => {
        clearTimeout(t);
        resolve();
      },
    );
  });
}

/**
 * Run `/bin/sh -c command` with exactly `env` (plus the run marker), stdin ignored, stdout/stderr collected up
 * to the cap. Settles only after the whole process tree is dead and its cgroups are gone; rejects with
 * `signal.reason` when the signal aborted.
 */
export async function runLocalCommand(opts: LocalCommandOptions): Promise<LocalCommandResult> {
  const { signal } = opts;
  if (signal.aborted) throw signal.reason;
  const cap = opts.maxOutputBytes ?? DEFAULT_MAX_OUTPUT_BYTES;
  const marker = randomBytes(16).toString('hex');
  const cgroups = opts.useCgroup === false ? [] : await createCgroups(marker);
  const mechanisms: KillMechanism[] = ['process-group', 'environ-marker', ...cgroups.map((c) => c.kind)];
  if (signal.aborted) {
    await killRunTree({ marker, pgid: null, cgroups, mechanisms });
    throw signal.reason;
  }

  return new Promise<LocalCommandResult>((resolve, reject) => {
    let child: ReturnType<typeof spawn>;
    try {
      child = spawn('/bin/sh', ['-c', WRAPPER, 'tempest-probe', opts.command, ...cgroups.map((c) => c.dir)], {
        detached: true,
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...opts.env, [RUN_MARKER_ENV]: marker },
        cwd: opts.cwd,
      });
    } catch (e) {
      void killRunTree({ marker, pgid: null, cgroups, mechanisms }).then(() => reject(e));
      return;
    }
    const run: RunHandle = { marker, pgid: child.pid ?? null, cgroups, mechanisms };
    const stdout = child.stdout!;
    const stderr = child.stderr!;

    const collected = { out: [] as Buffer[], err: [] as Buffer[], outBytes: 0, errBytes: 0 };
    let truncated = false;
    let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    const closed = Promise.all([new Promise((r) => stdout.once('close', r)), new Promise((r) => stderr.once('close', r))]);

    const collect = (which: 'out' | 'err') => (b: Buffer) => {
      const bytes = which === 'out' ? 'outBytes' : 'errBytes';
      const room = cap - collected[bytes];
      if (room <= 0 && b.length > 0) return void ((truncated = true), finish('overflow'));
      collected[which].push(room >= b.length ? b : b.subarray(0, room));
      collected[bytes] += Math.min(room, b.length);
      if (b.length > room) {
        truncated = true;
        finish('overflow');
      }
    };
    stdout.on('data', collect('out'));
    stderr.on('data', collect('err'));

    let finishing = false;
    const onAbort = () => finish('abort');
    const finish = (why: 'exit' | 'overflow' | 'abort' | { error: Error }) => {
      if (finishing) return;
      finishing = true;
      signal.removeEventListener('abort', onAbort);
      (async () => {
        await killRunTree(run);
        // Everything holding the pipes is dead: let them drain (bounded, in case something escaped), and let
        // Node reap the shell so its exit status is known.
        await withTimeout(Promise.all([closed, run.pgid === null ? undefined : exited]), DRAIN_BUDGET_MS);
        stdout.destroy();
        stderr.destroy();
        if (why === 'abort') return reject(signal.reason);
        if (typeof why === 'object') return reject(why.error);
        resolve({
          stdout: Buffer.concat(collected.out).toString('utf8'),
          stderr: Buffer.concat(collected.err).toString('utf8'),
          exitCode: exit?.code ?? null,
          killedBy: exit?.signal ?? null,
          truncated,
        });
      })().catch(reject);
    };

    child.once('exit', (code, sig) => {
      exit = { code, signal: sig };
      finish('exit');
    });
    child.once('error', (e) => finish({ error: new Error(`cannot run /bin/sh${opts.cwd ? ` in ${opts.cwd}` : ''}: ${e.message}`) }));
    signal.addEventListener('abort', onAbort, { once: true });
    if (signal.aborted) onAbort();
    if (run.pgid !== null && opts.onSpawn) {
      try {
        opts.onSpawn(run);
      } catch (e) {
        finish({ error: e instanceof Error ? e : new Error(String(e)) });
      }
    }
  });
}
