/**
 * Orphaned-faults benchmark: is a fault left behind when the chaos orchestrator dies mid-experiment?
 * Tempest against Chaos Toolkit, the same fault on the same target, in the same run.
 *
 *   bash bench/chaostoolkit/setup     # once: bench/.venv-ctk with the pinned chaostoolkit (Python >= 3.12)
 *   node --import tsx bench/orphaned-faults.ts [--runs 3] [--out bench/results/orphaned-faults.json]
 *        [--variants ctk-sigkill,tempest-sigkill,...] [--clean-timeout 60]
 *
 * Target: one real local fleet (scripts/fleet, 3 replicas, loopback). Fault: +800 ms on every answer of every
 * replica, set through the fleet's control API (PUT /pods/<pod>/behaviour), for a planned 30 s.
 *
 *   Chaos Toolkit  `chaos run bench/chaostoolkit/experiment.json`: method = one HTTP action per pod setting the
 *                  latency (expiresAt null: no dead-man switch, only the orchestrator can take it off), then a
 *                  30 s pause; rollbacks = one HTTP action per pod resetting it.
 *   Tempest        the pod-network-latency engine (NETWORK_LATENCY 800, PODS_AFFECTED_PERC 100,
 *                  TOTAL_CHAOS_DURATION 30) run by a real worker PROCESS (`bin/tempest --config <file> worker`)
 *                  against the Temporal dev server. Tempest always sets its own dead-man switch on the replica
 *                  (expiresAt = end of chaos + 60 s); every observation below happens before it, and the JSON
 *                  says so per run.
 *
 * Each run: reset every pod, start the tool, poll the pods until the fault is on all of them, wait 3 s, send the
 * variant's signal (SIGKILL or SIGTERM) to the orchestrator process, wait 10 s, read every pod back ("left behind"
 * = any pod still slow; one GET through the balancer confirms it is felt), then keep polling for at most
 * --clean-timeout s for every pod to read back clean. Tempest also gets a new worker process at kill + 10 s (its
 * recovery model); Chaos Toolkit has nothing to restart (no durable state: a new `chaos run` is a new experiment).
 * Between runs every pod is reset and every process stopped. Writes the JSON and prints a table.
 *
 * Variants: ctk-sigkill (--rollback-strategy always: the most favourable setting, though no handler runs on
 * SIGKILL), ctk-sigterm-default (out of the box: "never play rollbacks on interruption"), ctk-sigterm-always,
 * tempest-sigkill, tempest-sigterm, and tempest-sigkill-no-restart (no worker ever comes back: what is left is
 * the dead-man switch Tempest put on the replicas; bounded at duration + 90 s instead of --clean-timeout).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { Command } from 'commander';
import { TempestClient } from '../client/client.js';
import { ledgerKey } from '../activities/faults/driver.js';
import type { Behaviour } from '../activities/platform/local.js';
import { startFleet, waitFor, type TestFleet } from '../test/helpers/fleet.js';
import { testConfig } from '../test/helpers/config.js';
import { engine } from '../test/helpers/engines.js';
import { ROOT, TEMPORAL_CLI } from '../test/helpers/temporal.js';

const LATENCY_MS = 800;
const DURATION_S = 30;
const KILL_AFTER_OBSERVED_MS = 3_000;
const LEFT_BEHIND_CHECK_MS = 10_000;
const REPLICAS = 3;
const POLL_MS = 100;
const FAULT_ENV = { NETWORK_LATENCY: String(LATENCY_MS), PODS_AFFECTED_PERC: '100', TOTAL_CHAOS_DURATION: String(DURATION_S) };
const RESET: Partial<Behaviour> = { latencyMs: 0, errorRate: 0, down: false, expiresAt: null, setBy: null };
const CTK_VENV = path.join(ROOT, 'bench/.venv-ctk');
const CTK = path.join(CTK_VENV, 'bin/chaos');
const CTK_EXPERIMENT = path.join(ROOT, 'bench/chaostoolkit/experiment.json');
const CTK_SETUP = path.join(ROOT, 'bench/chaostoolkit/setup');
const TEMPEST = path.join(ROOT, 'bin/tempest');

type Sig = 'SIGKILL' | 'SIGTERM';
interface Variant {
  id: string;
  tool: 'chaostoolkit' | 'tempest';
  signal: Sig;
  /** chaos run --rollback-strategy (Chaos Toolkit only). */
  rollbackStrategy?: 'default' | 'always';
  /** Tempest only: start a new worker process at kill + 10 s (default true). */
  restart?: boolean;
  /** Bound on kill -> clean for this variant, if longer than --clean-timeout. */
  minCleanTimeoutS?: number;
  /** Tempest only: instead of signalling the worker, TERMINATE the run (Temporal UI / CLI); the worker stays up. */
  terminate?: boolean;
  about: string;
}
const VARIANTS: Variant[] = [
  {
    id: 'ctk-sigkill',
    tool: 'chaostoolkit',
    signal: 'SIGKILL',
    rollbackStrategy: 'always',
    about: 'chaos run --rollback-strategy always, SIGKILL (a crash, OOM kill, node loss)',
  },
  {
    id: 'ctk-sigterm-default',
    tool: 'chaostoolkit',
    signal: 'SIGTERM',
    rollbackStrategy: 'default',
    about: 'chaos run (out-of-the-box rollback strategy "default"), SIGTERM',
  },
  { id: 'ctk-sigterm-always', tool: 'chaostoolkit', signal: 'SIGTERM', rollbackStrategy: 'always', about: 'chaos run --rollback-strategy always, SIGTERM' },
  { id: 'tempest-sigkill', tool: 'tempest', signal: 'SIGKILL', about: 'worker process SIGKILLed, new worker process at kill + 10 s' },
  { id: 'tempest-sigterm', tool: 'tempest', signal: 'SIGTERM', about: 'worker process SIGTERMed (graceful shutdown), new worker process at kill + 10 s' },
  {
    id: 'tempest-terminate',
    tool: 'tempest',
    signal: 'SIGKILL',
    terminate: true,
    restart: false,
    about:
      'the run TERMINATED (one click in the Temporal UI) while the worker keeps running: its orphan reconciler (schedule every 30 s, the default) reverts the fault',
  },
  {
    id: 'tempest-sigkill-no-restart',
    tool: 'tempest',
    signal: 'SIGKILL',
    restart: false,
    minCleanTimeoutS: DURATION_S + 60 + 30,
    about: 'worker process SIGKILLed and never replaced: only the dead-man switch Tempest set on the replicas (end of chaos + 60 s) is left to clean up',
  },
];

const intArg = (name: string, min: number, max: number) => (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) throw new Error(`${name} takes a whole number from ${min} to ${max}`);
  return n;
};
const opts = new Command()
  .option('--runs <n>', 'runs per variant', intArg('--runs', 1, 50), 3)
  .option('--out <file>', 'where the JSON goes', 'bench/results/orphaned-faults.json')
  .option('--variants <ids>', `comma-separated subset of ${VARIANTS.map((v) => v.id).join(', ')}`, VARIANTS.map((v) => v.id).join(','))
  .option('--clean-timeout <s>', 'how long after the kill to wait for every pod to read back clean', intArg('--clean-timeout', 15, 600), 60)
  .parse()
  .opts<{ runs: number; out: string; variants: string; cleanTimeout: number }>();
const selected = opts.variants
  .split(',')
  .map((s) => s.trim())
  .filter(Boolean);
for (const id of selected) if (!VARIANTS.some((v) => v.id === id)) throw new Error(`unknown variant ${id}; known: ${VARIANTS.map((v) => v.id).join(', ')}`);
const variants = VARIANTS.filter((v) => selected.includes(v.id));
const cleanTimeoutMs = (v: Variant) => Math.max(opts.cleanTimeout, v.minCleanTimeoutS ?? 0) * 1000;

Runtime.install({ logger: new DefaultLogger('WARN') });
const say = (m: string) => console.log(`[bench] ${m}`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, Math.max(0, ms)));
const rel = (p: string) => path.relative(ROOT, p) || '.';

// ---------------------------------------------------------------- processes (ours only, ended by pid)
const children = new Set<ChildProcess>();
const alive = (c: ChildProcess) => c.exitCode === null && c.signalCode === null;

interface Proc {
  child: ChildProcess;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;
  output: () => string;
}

function launch(cmd: string, args: string[], logFile: string, env: NodeJS.ProcessEnv = process.env): Proc {
  const child = spawn(cmd, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  let out = '';
  const log = fs.createWriteStream(logFile);
  const onData = (d: Buffer) => {
    out += d.toString();
    log.write(d);
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>((resolve) => {
    child.once('exit', (code, signal) => {
      children.delete(child);
      log.end();
      resolve({ code, signal, at: Date.now() });
    });
  });
  return { child, exited, output: () => out };
}

/** Sends sig and waits for the exit; a SIGTERM not obeyed within graceMs is followed by a SIGKILL (and reported). */
async function signalAndWait(
  p: Proc,
  sig: Sig,
  graceMs = 30_000,
): Promise<{ code: number | null; signal: NodeJS.Signals | null; exitMs: number; escalatedToSigkill: boolean }> {
  const t0 = Date.now();
  if (!alive(p.child)) {
    const e = await p.exited;
    return { code: e.code, signal: e.signal, exitMs: 0, escalatedToSigkill: false };
  }
  p.child.kill(sig);
  let escalated = false;
  const timer = setTimeout(() => {
    if (alive(p.child)) {
      escalated = true;
      p.child.kill('SIGKILL');
    }
  }, graceMs);
  const e = await p.exited;
  clearTimeout(timer);
  return { code: e.code, signal: e.signal, exitMs: e.at - t0, escalatedToSigkill: escalated };
}

async function stopAll(): Promise<void> {
  await Promise.all(
    [...children].map(async (c) => {
      const done = new Promise((r) => c.once('exit', r));
      c.kill('SIGKILL');
      await Promise.race([done, sleep(5_000)]);
    }),
  );
}

async function waitForWorkerReady(p: Proc, timeoutMs = 90_000): Promise<number> {
  await waitFor(
    'worker ready',
    () => {
      if (!alive(p.child)) throw new Error(`worker exited before it was ready:\n${p.output().slice(-2000)}`);
      return p.output().includes('worker ready');
    },
    timeoutMs,
    50,
  );
  return Date.now();
}

// ---------------------------------------------------------------- the target
interface PodState {
  pod: string;
  latencyMs: number | null;
  setBy: string | null;
  expiresAt: string | null;
}

async function readPods(fleet: TestFleet): Promise<PodState[]> {
  const pods = (await fleet.client.pods()).filter((p) => p.phase === 'Running').sort((a, b) => a.slot - b.slot);
  return Promise.all(
    pods.map(async (p) => {
      const b = await fleet.client.behaviour(p.name);
      return { pod: p.name, latencyMs: b?.latencyMs ?? null, setBy: b?.setBy ?? null, expiresAt: b?.expiresAt ?? null };
    }),
  );
}
const isClean = (s: PodState[]) => s.length === REPLICAS && s.every((p) => p.latencyMs === 0 && p.setBy === null);
const faultOn = (s: PodState[], setBy: string) => s.length === REPLICAS && s.every((p) => p.latencyMs === LATENCY_MS && p.setBy === setBy);

async function resetAll(fleet: TestFleet): Promise<void> {
  for (const p of await fleet.client.pods()) if (p.phase === 'Running') await fleet.client.setBehaviour(p.name, RESET);
  // Ledger entries a terminated (never resumed) Tempest run left on this benchmark's own fleet.
  const stale = Object.keys((await fleet.client.owner()).annotations).filter((k) => k.startsWith('tempest.io/fault.'));
  if (stale.length) await fleet.client.annotateOwner(Object.fromEntries(stale.map((k) => [k, null])));
  await waitFor('every pod clean after reset', async () => isClean(await readPods(fleet)), 15_000, 100);
}

/** One GET /health through the balancer: how long the fault is felt from outside. */
async function balancerMs(fleet: TestFleet): Promise<number | null> {
  const t0 = Date.now();
  try {
    const res = await fetch(`${fleet.balancerUrl}/health`, { signal: AbortSignal.timeout(10_000) });
    await res.arrayBuffer();
    return Date.now() - t0;
  } catch {
    return null;
  }
}

/** Polls the pods from now on; resolves with the first time every pod read back clean (or null at the deadline). */
function watchClean(
  fleet: TestFleet,
  deadline: number,
  extra: () => Promise<boolean> = async () => true,
): { firstClean: Promise<number | null>; stop: () => void } {
  let stopped = false;
  const firstClean = (async () => {
    while (!stopped && Date.now() <= deadline) {
      try {
        if (isClean(await readPods(fleet)) && (await extra())) return Date.now();
      } catch {
        /* the control API blipped; poll again */
      }
      await sleep(POLL_MS);
    }
    return null;
  })();
  return { firstClean, stop: () => void (stopped = true) };
}

// ---------------------------------------------------------------- one run of each tool
type RunRecord = Record<string, unknown> & { run: number; leftBehind: boolean | null; killToCleanMs: number | null; error?: string };

async function ctkRun(fleet: TestFleet, v: Variant, run: number, workDir: string): Promise<RunRecord> {
  const dir = fs.mkdtempSync(path.join(workDir, `${v.id}-${run}-`));
  const pods = (await readPods(fleet)).map((p) => p.pod);
  if (pods.length !== REPLICAS) throw new Error(`expected ${REPLICAS} running pods, got ${pods.length}`);
  const settings = path.join(dir, 'settings.yaml');
  fs.writeFileSync(settings, '{}\n'); // keep ~/.chaostoolkit/settings.yaml out of it
  const journal = path.join(dir, 'journal.json');
  const args = [
    '--no-version-check',
    '--log-file',
    path.join(dir, 'chaostoolkit.log'),
    '--settings',
    settings,
    'run',
    '--journal-path',
    journal,
    '--rollback-strategy',
    v.rollbackStrategy!,
    '--var',
    `control_url=${fleet.controlUrl}`,
    ...pods.flatMap((p, i) => ['--var', `pod_${i}=${p}`]),
    CTK_EXPERIMENT,
  ];
  const command = [rel(CTK), ...args.map((a) => (a.startsWith(ROOT) ? rel(a) : a.replace(dir, '<tmp>')))].join(' ');
  const t0 = Date.now();
  const proc = launch(CTK, args, path.join(dir, 'stdout.log'), { ...process.env, NO_COLOR: '1' });
  try {
    await waitFor(
      'latency from chaostoolkit on every pod',
      async () => {
        if (!alive(proc.child)) throw new Error(`chaos exited early (${proc.child.exitCode}):\n${proc.output().slice(-2000)}`);
        return faultOn(await readPods(fleet), 'chaostoolkit');
      },
      60_000,
      POLL_MS,
    );
    const observedAt = Date.now();
    await sleep(KILL_AFTER_OBSERVED_MS);
    const killAt = Date.now();
    const watch = watchClean(fleet, killAt + cleanTimeoutMs(v));
    const exit = await signalAndWait(proc, v.signal);
    await sleep(killAt + LEFT_BEHIND_CHECK_MS - Date.now());
    const after = await readPods(fleet);
    const felt = await balancerMs(fleet);
    const cleanAt = await watch.firstClean;
    let j: { status?: string; rollbacks?: Array<{ activity?: { name?: string }; status?: string }> } | null = null;
    try {
      j = JSON.parse(fs.readFileSync(journal, 'utf8'));
    } catch {
      j = null;
    }
    const logLines = proc
      .output()
      .split('\n')
      .map((l) => l.replace(/\x1b\[[0-9;]*m/g, '').trim())
      .filter((l) => /signal|interrupt|rollback|terminat|exit/i.test(l));
    return {
      run,
      command,
      startToObservedMs: observedAt - t0,
      observedToKillMs: killAt - observedAt,
      signal: v.terminate ? 'terminate' : v.signal,
      processExit: exit,
      leftBehind: !isClean(after),
      podsAtKillPlus10s: after,
      balancerGetMsAtKillPlus10s: felt,
      killToCleanMs: cleanAt === null ? null : cleanAt - killAt,
      cleanedBy: cleanAt === null ? null : 'chaostoolkit rollbacks (nothing else touches these pods)',
      journal: j
        ? { written: true, status: j.status ?? null, rollbacksRun: (j.rollbacks ?? []).map((r) => `${r.activity?.name}: ${r.status}`) }
        : { written: false },
      ctkLogExcerpt: logLines.slice(0, 12),
    };
  } finally {
    if (alive(proc.child)) await signalAndWait(proc, 'SIGKILL');
  }
}

async function tempestRun(fleet: TestFleet, connection: Connection, v: Variant, run: number, workDir: string): Promise<RunRecord> {
  const dir = fs.mkdtempSync(path.join(workDir, `${v.id}-${run}-`));
  const cfg = testConfig(fleet); // its own task queue: no other worker can pick the run up
  const tc = new TempestClient(new Client({ connection, namespace: 'default' }), cfg);
  const spec = engine(`api-gateway-orphan-bench-${run}`, 'pod-network-latency', FAULT_ENV);
  const workerArgs = ['--config', cfg.file, 'worker'];
  const workers: Proc[] = [];
  let workflowId: string | undefined;
  try {
    const t0 = Date.now();
    const first = launch(TEMPEST, workerArgs, path.join(dir, 'worker-1.log'));
    workers.push(first);
    await waitForWorkerReady(first);
    const h = await tc.start(spec);
    workflowId = h.workflowId;
    const key = ledgerKey({ runId: h.workflowId, faultIndex: 0 });
    let expiresAt: string | null = null;
    await waitFor(
      'latency from tempest on every pod',
      async () => {
        const s = await readPods(fleet);
        expiresAt = s[0]?.expiresAt ?? null;
        return faultOn(s, key);
      },
      60_000,
      POLL_MS,
    );
    const observedAt = Date.now();
    await sleep(KILL_AFTER_OBSERVED_MS);
    const killAt = Date.now();
    const ledgerClean = async () => !Object.keys((await fleet.client.owner()).annotations).includes(key);
    const restart = v.restart !== false;
    const terminate = v.terminate === true;
    // With a worker back, clean = every pod clean AND the ledger entry gone (Tempest's own verify). Without one,
    // nobody can clear the ledger: clean = every pod clean (the dead-man switch), and the ledger is reported.
    const watch = watchClean(fleet, killAt + cleanTimeoutMs(v), restart || terminate ? ledgerClean : undefined);
    const exit = terminate
      ? (await h.terminate('orphaned-faults bench: operator clicked Terminate'), { terminated: true })
      : await signalAndWait(first, v.signal);
    await sleep(killAt + LEFT_BEHIND_CHECK_MS - Date.now());
    const after = await readPods(fleet);
    const ledgerAtCheck = !(await ledgerClean());
    const felt = await balancerMs(fleet);

    // Tempest's recovery model: a worker comes back (here: a new process, same config and task queue).
    let restartAt: number | null = null;
    let readyAt: number | null = null;
    if (restart) {
      restartAt = Date.now();
      const second = launch(TEMPEST, workerArgs, path.join(dir, 'worker-2.log'));
      workers.push(second);
      readyAt = await waitForWorkerReady(second);
    }
    const cleanAt = await watch.firstClean;
    const ledgerAtEnd = !(await ledgerClean());
    let result: Awaited<ReturnType<TempestClient['result']>> | undefined;
    let resultError: string | undefined;
    if (restart) {
      try {
        result = await Promise.race([
          tc.result(h.workflowId),
          sleep(Math.max(5_000, killAt + cleanTimeoutMs(v) - Date.now())).then(() => {
            throw new Error('no result within the bounded wait');
          }),
        ]);
      } catch (e) {
        resultError = (e as Error).message;
      }
    } else {
      resultError = terminate
        ? 'terminated: a terminated run has no result; its fault was reverted by the reconciler'
        : 'no worker: the workflow stays open (terminated by the bench afterwards)';
    }
    const f = result?.faults[0];
    const deadMan = expiresAt ? Date.parse(expiresAt) : null;
    return {
      run,
      workflowId: h.workflowId,
      commands: {
        worker: `${rel(TEMPEST)} --config <tmp>/tempest.yaml worker`,
        restart: restart ? `${rel(TEMPEST)} --config <tmp>/tempest.yaml worker (new process, same config)` : null,
      },
      startToObservedMs: observedAt - t0,
      observedToKillMs: killAt - observedAt,
      signal: v.terminate ? 'terminate' : v.signal,
      processExit: exit,
      leftBehind: !isClean(after),
      ledgerEntryAtKillPlus10s: ledgerAtCheck,
      podsAtKillPlus10s: after,
      balancerGetMsAtKillPlus10s: felt,
      restartAfterKillMs: restartAt === null ? null : restartAt - killAt,
      restartToWorkerReadyMs: restartAt === null || readyAt === null ? null : readyAt - restartAt,
      killToCleanMs: cleanAt === null ? null : cleanAt - killAt,
      restartToCleanMs: cleanAt === null || restartAt === null ? null : cleanAt - restartAt,
      ledgerEntryAtEnd: ledgerAtEnd,
      plannedChaosEndToCleanMs: cleanAt === null || !f?.injectedAt ? null : cleanAt - (Date.parse(f.injectedAt) + DURATION_S * 1000),
      deadManExpiresAt: expiresAt,
      cleanBeforeDeadMan: cleanAt === null || deadMan === null ? null : cleanAt < deadMan,
      cleanedBy:
        cleanAt === null
          ? null
          : deadMan !== null && cleanAt >= deadMan
            ? "the replica's dead-man switch"
            : terminate
              ? "the worker's orphan reconciler (scheduled)"
              : 'the new worker (revert + verify activities)',
      result: result
        ? { verdict: result.verdict, faultState: f?.state, injectedAt: f?.injectedAt, revertedAt: f?.revertedAt, verification: f?.revert?.verification ?? null }
        : { error: resultError },
    };
  } finally {
    for (const w of workers) if (alive(w.child)) await signalAndWait(w, 'SIGTERM', 10_000);
    // Each worker process created its task queue's reconciler schedule: the bench's queues are its own, remove it.
    await new Client({ connection, namespace: 'default' }).schedule
      .getHandle(`tempest-reconciler.${cfg.temporal.taskQueue}`)
      .delete()
      .catch(() => undefined);
    if (workflowId) {
      try {
        const d = await tc.handle(workflowId).describe();
        if (d.status.name === 'RUNNING') await tc.handle(workflowId).terminate('orphaned-faults bench cleanup');
      } catch {
        /* gone */
      }
    }
  }
}

// ---------------------------------------------------------------- reporting
function versionOf(cmd: string, args: string[]): string | null {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
      .trim()
      .split('\n')[0]!
      .trim();
  } catch {
    return null;
  }
}
function median(xs: number[]): number | null {
  if (!xs.length) return null;
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}
const secs = (ms: number | null | undefined) => (ms === null || ms === undefined ? 'never' : `${(ms / 1000).toFixed(1)} s`);

function table(results: Array<{ variant: Variant; runs: RunRecord[] }>): string {
  const rows = [['variant', 'signal', 'left behind at kill+10s', 'kill -> every pod clean', 'new worker -> clean']];
  for (const { variant, runs } of results) {
    const ok = runs.filter((r) => !r.error);
    const left = ok.filter((r) => r.leftBehind).length;
    rows.push([
      variant.id,
      variant.terminate ? 'terminate' : variant.signal,
      `${left}/${ok.length}${runs.length > ok.length ? ` (${runs.length - ok.length} errored)` : ''}`,
      ok.map((r) => secs(r.killToCleanMs)).join(', '),
      variant.tool === 'tempest' && variant.restart !== false
        ? ok.map((r) => secs(r.restartToCleanMs as number | null)).join(', ')
        : variant.tool === 'tempest'
          ? 'n/a (no new worker)'
          : 'n/a (nothing to restart)',
    ]);
  }
  const w = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) => `| ${r.map((c, i) => c.padEnd(w[i]!)).join(' | ')} |`;
  return [line(rows[0]!), `|${w.map((n) => '-'.repeat(n + 2)).join('|')}|`, ...rows.slice(1).map(line)].join('\n');
}

// ---------------------------------------------------------------- main
async function main(): Promise<void> {
  if (!fs.existsSync(CTK) && variants.some((v) => v.tool === 'chaostoolkit')) {
    say(`${rel(CTK)} missing: running ${rel(CTK_SETUP)}`);
    execFileSync('bash', [CTK_SETUP], { stdio: 'inherit' });
  }
  const address = process.env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233';
  let connection: Connection | undefined;
  if (variants.some((v) => v.tool === 'tempest')) {
    try {
      connection = await Connection.connect({ address, connectTimeout: '5s' });
    } catch {
      if (process.env.TEMPORAL_ADDRESS) throw new Error(`no Temporal at ${address}`);
      say('no Temporal dev server on 127.0.0.1:7233: running scripts/temporal-dev');
      execFileSync('bash', [path.join(ROOT, 'scripts/temporal-dev')], { stdio: 'inherit', cwd: ROOT });
      connection = await Connection.connect({ address, connectTimeout: '5s' });
    }
  }
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tempest-orphan-bench-'));
  const started = new Date();
  const results = variants.map((variant) => ({ variant, runs: [] as RunRecord[] }));
  let fleet: TestFleet | undefined;
  const onSignal = () => {
    say('interrupted: stopping our processes');
    void stopAll()
      .then(() => fleet?.stop())
      .finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    fleet = await startFleet({ name: 'api-gateway', replicas: REPLICAS });
    say(`fleet: balancer ${fleet.balancerUrl}, control ${fleet.controlUrl}; Temporal ${connection ? address : 'not used'}; work dir ${workDir}`);
    // Interleaved (run 1 of every variant, then run 2, ...) so drift on the machine hits every variant alike.
    for (let run = 1; run <= opts.runs; run++) {
      for (const r of results) {
        const v = r.variant;
        await resetAll(fleet);
        const t0 = Date.now();
        let rec: RunRecord;
        try {
          rec = v.tool === 'chaostoolkit' ? await ctkRun(fleet, v, run, workDir) : await tempestRun(fleet, connection!, v, run, workDir);
        } catch (e) {
          rec = { run, leftBehind: null, killToCleanMs: null, error: (e as Error).message.slice(0, 2000) };
        }
        rec.wallMs = Date.now() - t0;
        r.runs.push(rec);
        say(
          `${v.id} run ${run}/${opts.runs}: ${rec.error ? `ERROR ${rec.error.split('\n')[0]}` : `left behind at kill+10s: ${rec.leftBehind}; kill -> clean: ${secs(rec.killToCleanMs)}${rec.restartToCleanMs !== undefined && rec.restartToCleanMs !== null ? `; new worker -> clean: ${secs(rec.restartToCleanMs as number)}` : ''}`}`,
        );
        await stopAll();
        await resetAll(fleet); // whatever the run left behind is not the next run's problem
      }
    }
  } finally {
    await stopAll();
    await fleet?.stop();
    await connection?.close();
    fs.rmSync(workDir, { recursive: true, force: true });
  }

  const pyVersion = versionOf(path.join(CTK_VENV, 'bin/python'), ['--version']);
  const out = {
    benchmark: 'orphaned-faults',
    question:
      'When the chaos orchestrator process dies mid-experiment, is the injected fault left on the target, and how long until the target is clean again?',
    startedAt: started.toISOString(),
    endedAt: new Date().toISOString(),
    command: `node --import tsx bench/orphaned-faults.ts --runs ${opts.runs} --out ${opts.out}${opts.variants !== VARIANTS.map((v) => v.id).join(',') ? ` --variants ${opts.variants}` : ''} --clean-timeout ${opts.cleanTimeout}`,
    scenario: {
      target: `local fleet (scripts/fleet/fleet.ts), ${REPLICAS} replicas, loopback only; one fleet for the whole benchmark, every pod reset between runs`,
      fault: `+${LATENCY_MS} ms on every answer of every replica, planned for ${DURATION_S} s, set through PUT {controlUrl}/pods/<pod>/behaviour`,
      chaostoolkit: {
        experiment: 'bench/chaostoolkit/experiment.json',
        inject: { method: 'PUT', path: '/pods/<pod>/behaviour', body: { latencyMs: LATENCY_MS, expiresAt: null, setBy: 'chaostoolkit' } },
        rollback: { method: 'PUT', path: '/pods/<pod>/behaviour', body: RESET },
        command: `${rel(CTK)} --no-version-check --log-file <tmp>/chaostoolkit.log --settings <tmp>/settings.yaml run --journal-path <tmp>/journal.json --rollback-strategy <default|always> --var control_url=<controlUrl> --var pod_0=<pod> --var pod_1=<pod> --var pod_2=<pod> bench/chaostoolkit/experiment.json`,
      },
      tempest: {
        engine: 'pod-network-latency (local driver)',
        env: FAULT_ENV,
        deadManSwitch:
          'Tempest always sets expiresAt = end of chaos + 60 s on the replica; it cannot be switched off, so each run records it and whether the pods were clean before it (cleanBeforeDeadMan)',
        worker: `${rel(TEMPEST)} --config <tmp>/tempest.yaml worker   (tempest.yaml from test/helpers/config.ts testConfig(fleet): own task queue per run)`,
        start: "TempestClient.start(engine('api-gateway-orphan-bench-<run>', 'pod-network-latency', env)) from client/client.ts",
      },
      protocol: [
        'reset every pod; start the tool',
        `poll every pod's behaviour every ${POLL_MS} ms until the fault is on all of them ("observed")`,
        `wait ${KILL_AFTER_OBSERVED_MS / 1000} s, send the variant's signal to the orchestrator process (chaos / the worker), wait for it to exit`,
        `at kill + ${LEFT_BEHIND_CHECK_MS / 1000} s read every pod back: leftBehind = any pod not back to latencyMs 0 / setBy null; one GET /health through the balancer`,
        `tempest only (not in tempest-sigkill-no-restart): start a new worker process right after that check`,
        `from the kill on, poll until every pod reads back clean (tempest with a new worker: and its ledger annotation is gone), at most ${opts.cleanTimeout} s (tempest-sigkill-no-restart: ${DURATION_S + 90} s, past the dead-man time): killToCleanMs, null = never within the bound`,
        'stop every process, reset every pod, next run',
      ],
      variants: variants.map((v) => ({
        id: v.id,
        tool: v.tool,
        signal: v.terminate ? 'terminate' : v.signal,
        rollbackStrategy: v.rollbackStrategy ?? null,
        newWorker: v.tool === 'tempest' ? v.restart !== false : null,
        cleanBoundS: cleanTimeoutMs(v) / 1000,
        about: v.about,
      })),
    },
    versions: {
      chaostoolkit: versionOf(CTK, ['--version']),
      chaostoolkitLib: versionOf(path.join(CTK_VENV, 'bin/python'), ['-c', 'import chaoslib; print(chaoslib.__version__)']),
      ctkPipFreeze: (
        versionOf(path.join(CTK_VENV, 'bin/python'), [
          '-c',
          'import importlib.metadata as m; print(",".join(sorted(f"{d.metadata[\'Name\']}=={d.version}" for d in m.distributions())))',
        ]) ?? ''
      ).split(','),
      tempest: (() => {
        const commit = versionOf('git', ['-C', ROOT, 'rev-parse', '--short', 'HEAD']);
        const dirty = versionOf('git', ['-C', ROOT, 'status', '--porcelain', '--untracked-files=no']);
        return `${JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')).version} (git ${commit}${dirty ? ', work tree modified' : ''})`;
      })(),
      temporalio: JSON.parse(fs.readFileSync(path.join(ROOT, 'node_modules/@temporalio/worker/package.json'), 'utf8')).version,
      temporalCli: fs.existsSync(TEMPORAL_CLI) ? versionOf(TEMPORAL_CLI, ['--version']) : null,
    },
    machine: {
      nproc: os.availableParallelism(),
      cpu: os.cpus()[0]?.model ?? null,
      memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
      os: `${os.type()} ${os.release()} ${os.arch()}`,
      node: process.version,
      python: pyVersion,
      temporalAddress: address,
    },
    results: Object.fromEntries(
      results.map(({ variant, runs }) => {
        const ok = runs.filter((r) => !r.error);
        const clean = ok.map((r) => r.killToCleanMs).filter((x): x is number => typeof x === 'number');
        return [
          variant.id,
          {
            tool: variant.tool,
            signal: variant.terminate ? 'terminate' : variant.signal,
            rollbackStrategy: variant.rollbackStrategy ?? null,
            summary: {
              runs: runs.length,
              errored: runs.length - ok.length,
              leftBehind: ok.filter((r) => r.leftBehind).length,
              neverCleanWithinBound: ok.filter((r) => r.killToCleanMs === null).length,
              killToCleanMedianMs: median(clean),
              cleanBoundS: cleanTimeoutMs(variant) / 1000,
              restartToCleanMedianMs:
                variant.tool === 'tempest' && variant.restart !== false
                  ? median(ok.map((r) => r.restartToCleanMs).filter((x): x is number => typeof x === 'number'))
                  : null,
            },
            runs,
          },
        ];
      }),
    ),
    table: table(results),
  };
  const file = path.resolve(opts.out);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, `${JSON.stringify(out, null, 2)}\n`);
  console.log(`\n${out.table}\n`);
  say(`wrote ${path.relative(process.cwd(), file)}`);
}

main().then(
  () => process.exit(0),
  async (err: unknown) => {
    console.error(`[bench] failed: ${err instanceof Error ? err.stack : String(err)}`);
    await stopAll();
    process.exit(1);
  },
);
