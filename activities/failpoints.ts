/**
 * Failpoints for the crash-and-outage matrix (test/integration/never-left-behind.test.ts): a worker started with
 * TEMPEST_FAILPOINTS=<name>[,<name>...] SIGKILLs ITSELF the first time its code reaches one of the named points.
 * It is a real SIGKILL of the real worker process at an exact place no outside observer could hit reliably (the
 * gap between writing a fault's ledger entry and acting on it is a few milliseconds), as etcd's gofail and
 * FoundationDB's buggify do it. The variable belongs to whoever starts the worker process (the operator); nothing a
 * run or a YAML file carries can set it, and a worker that has it set says so at start (workers/worker.ts).
 *
 * Each point fires at most ONCE per state directory (state.dir of the worker's policy): before it kills, it records
 * its name in `<state>/failpoints-fired`, and a later worker on the same state finds it there and goes on. So a
 * variable left in a Deployment by mistake costs one crash per point, never a worker that dies at the same place
 * forever while a fault waits for its verification.
 */
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';

export const FAILPOINTS = [
  'guard', // a safety guard is about to be evaluated
  'probe.SOT', // a start-of-test probe is about to run
  'probe.EOT', // an end-of-test probe is about to run
  'fault.intent-recorded', // a round's targets are in the ledger, nothing has acted yet
  'fault.acted', // a round has acted on the target; the ledger does not say "done" yet
  'revert.acted', // a revert has acted on the target; it is not verified yet
  'publish', // the result is about to be published (report, metrics)
] as const;
export type Failpoint = (typeof FAILPOINTS)[number];

/** The failpoints armed in this process's environment (unknown names are ignored; the worker warns about them). */
export function armedFailpoints(env: NodeJS.ProcessEnv = process.env): { armed: Failpoint[]; unknown: string[] } {
  const names = (env.TEMPEST_FAILPOINTS ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  return {
    armed: names.filter((n): n is Failpoint => (FAILPOINTS as readonly string[]).includes(n)),
    unknown: names.filter((n) => !(FAILPOINTS as readonly string[]).includes(n)),
  };
}

let firedFile: string | undefined;
/** Where this process records the points it fired (the worker calls it with its state directory at start). */
export function useFailpointState(stateDir: string): void {
  firedFile = join(stateDir, 'failpoints-fired');
}

function fired(): string[] {
  try {
    return firedFile ? readFileSync(firedFile, 'utf8').split('\n').filter(Boolean) : [];
  } catch {
    return [];
  }
}

/** SIGKILL this process here if `name` is armed (and has not fired yet on this state directory). */
export function failpoint(name: Failpoint): void {
  if (!process.env.TEMPEST_FAILPOINTS || !armedFailpoints().armed.includes(name)) return;
  if (fired().includes(name)) return;
  if (firedFile) {
    mkdirSync(dirname(firedFile), { recursive: true, mode: 0o700 });
    const fd = openSync(firedFile, 'a', 0o600);
    try {
      writeSync(fd, `${name}\n`);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  }
  process.stderr.write(`[tempest] failpoint ${name} reached: SIGKILL (TEMPEST_FAILPOINTS)\n`);
  process.kill(process.pid, 'SIGKILL');
}
