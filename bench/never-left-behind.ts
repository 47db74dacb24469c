/**
 * The crash-and-outage matrix's table: every case of test/integration/never-left-behind.test.ts (local platform) and
 * test/integration/k8s/never-left-behind.test.ts (Kubernetes) writes one row to .tempest/never-left-behind.jsonl as
 * it ends; this prints them as a table and, after a full run in which every case passed, writes
 * bench/results/never-left-behind.json (`--table`, what scripts/test calls, never writes it: a test run leaves the
 * checked-in record alone).
 *
 *   npx tsx bench/never-left-behind.ts            # run both suites (services from scripts/temporal-dev, scripts/k8s-up), then the table
 *   npx tsx bench/never-left-behind.ts --table    # only the table of the rows already written (scripts/test calls this)
 *   npx tsx bench/never-left-behind.ts --table --write   # the table, and the JSON from those rows if they are a complete, passing set
 *
 * Exit code: 0 when every case of the matrix has a row with 0 faults left, 0 duplicates and no failure; 1 otherwise.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { hostname, cpus } from 'node:os';
import type { MatrixRow } from '../test/helpers/matrix.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const ROWS = join(ROOT, '.tempest/never-left-behind.jsonl');
const OUT = join(ROOT, 'bench/results/never-left-behind.json');

/** Every case of the matrix (issue 9 §2 and §3), by the name its suite records. */
export const MATRIX_CASES = [
  'worker SIGKILL during the guards',
  'worker SIGKILL during the start-of-test probes',
  'worker SIGKILL between the ledger write and the act of the injection',
  'worker SIGKILL after the act of the injection, before "done" is recorded',
  'worker SIGKILL mid-chaos',
  'worker SIGKILL between the act of the revert and its verification',
  'worker SIGKILL during the end-of-test probes',
  'worker SIGKILL while publishing the result',
  'two workers, the one holding the run SIGKILLed mid-chaos',
  'terminate mid-fault (Temporal UI / CLI), 30 s reconcile interval',
  'worker SIGTERM mid-chaos (drain), a new worker 2 s later',
  'no worker ever comes back (dead-man margin 5 s)',
  'Temporal server SIGKILL mid-chaos, restarted on the same database',
  'Prometheus stopped during chaos (rollback triggers flying blind)',
  'Prometheus down before the run (guard fails closed)',
  'kube-apiserver stopped 20 s during the revert',
];
const EXPECTED_ROWS = MATRIX_CASES.length + 1; // terminate runs on both platforms

/** One case's row, as the matrix suites record it (a type only: nothing of the test helpers is loaded). */
type Row = MatrixRow;

function readRows(): Row[] {
  if (!existsSync(ROWS)) return [];
  return readFileSync(ROWS, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Row);
}

const s = (ms: number | null) => (ms === null ? '-' : `${(ms / 1000).toFixed(1)} s`);

function table(rows: Row[]): string {
  const head = ['case', 'platform', 'runs', 'faults left', 'duplicates', 'verdict', 'disruption → clean', 'fault on (planned)', 'replays'];
  const body = rows.map((r) => [
    r.case + (r.failure ? '  ✗ FAILED' : ''),
    r.platform,
    String(r.runs),
    String(r.faultsLeft),
    `${r.duplicates} (${r.actions}/${r.planned === 0 ? 0 : r.platform === 'kubernetes' ? r.planned * 2 : r.planned} actions)`,
    r.verdict === r.expectedVerdict ? r.verdict : `${r.verdict} (expected ${r.expectedVerdict})`,
    s(r.disruptionToCleanMs),
    `${s(r.faultOnMs)} (${s(r.plannedChaosMs)})`,
    r.replayed ? 'yes' : 'NO',
  ]);
  const w = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(w[i])).join(' | ');
  return [line(head), w.map((n) => '-'.repeat(n)).join('-|-'), ...body.map(line)].join('\n');
}

function main(): number {
  const onlyTable = process.argv.includes('--table');
  const write = !onlyTable || process.argv.includes('--write');
  if (!onlyTable) {
    rmSync(ROWS, { force: true });
    for (const cmd of ['scripts/temporal-dev', 'scripts/k8s-up']) {
      const r = spawnSync('bash', [cmd], { cwd: ROOT, stdio: 'inherit' });
      if (r.status !== 0) throw new Error(`${cmd} failed`);
    }
    spawnSync('npx', ['jest', '--forceExit', 'test/integration/never-left-behind.test.ts', 'test/integration/k8s/never-left-behind.test.ts'], {
      cwd: ROOT,
      stdio: 'inherit',
      env: { ...process.env, NODE_OPTIONS: '--experimental-vm-modules' },
    });
  }
  const rows = readRows();
  if (!rows.length) {
    console.log('[never-left-behind] no rows: the matrix suites did not run');
    return 1;
  }
  console.log('\nNever left behind: the crash-and-outage matrix (every fault reverted and verified on the target itself)\n');
  console.log(table(rows));
  const missing = MATRIX_CASES.filter((c) => !rows.some((r) => r.case === c));
  const bad = rows.filter((r) => r.failure || r.faultsLeft || r.duplicates || !r.replayed || r.verdict !== r.expectedVerdict);
  const left = rows.reduce((n, r) => n + r.faultsLeft, 0);
  console.log(
    `\n${rows.length} case(s), ${rows.reduce((n, r) => n + r.runs, 0)} run(s): ${left} fault(s) left behind, ${rows.reduce((n, r) => n + r.duplicates, 0)} duplicate action(s), ${bad.length} failing case(s)`,
  );
  for (const r of rows) console.log(`  - ${r.case} [${r.platform}]: ${r.note}${r.failure ? `\n      FAILED: ${r.failure}` : ''}`);
  if (missing.length) console.log(`\nmissing from this run: ${missing.join('; ')}`);
  if (!write)
    console.log('\n(table only: `npx tsx bench/never-left-behind.ts` runs the matrix and writes bench/results/never-left-behind.json when every case passed)');
  else if (missing.length || bad.length) console.log('\nbench/results/never-left-behind.json left as it was: not every case ran and passed');
  if (write && !missing.length && !bad.length && rows.length >= EXPECTED_ROWS) {
    mkdirSync(dirname(OUT), { recursive: true });
    writeFileSync(OUT, JSON.stringify({ measuredAt: new Date().toISOString(), machine: { host: hostname(), cpus: cpus().length }, rows }, null, 2) + '\n');
    console.log(`\nwritten: ${OUT.slice(ROOT.length + 1)}`);
  }
  return bad.length || missing.length ? 1 : 0;
}

process.exitCode = main();
