/**
 * Failpoints for the crash-and-outage matrix (test/integration/never-left-behind.test.ts): a worker started with
 * TEMPEST_FAILPOINTS=<name>[,<name>...] SIGKILLs ITSELF the first time its code reaches one of the named points.
 * It is a real SIGKILL of the real worker process at an exact place no outside observer could hit reliably (the
 * gap between writing a fault's ledger entry and acting on it is a few milliseconds), as etcd's gofail and
 * FoundationDB's buggify do it. The variable belongs to whoever starts the worker process (the operator); nothing a
 * run or a YAML file carries can set it, and a worker that has it set says so at start (workers/worker.ts).
 */
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
  const names = (env.TEMPEST_FAILPOINTS ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  return { armed: names.filter((n): n is Failpoint => (FAILPOINTS as readonly string[]).includes(n)), unknown: names.filter((n) => !(FAILPOINTS as readonly string[]).includes(n)) };
}

/** SIGKILL this process here if `name` is armed. */
export function failpoint(name: Failpoint): void {
  if (!process.env.TEMPEST_FAILPOINTS || !armedFailpoints().armed.includes(name)) return;
  process.stderr.write(`[tempest] failpoint ${name} reached: SIGKILL (TEMPEST_FAILPOINTS)\n`);
  process.kill(process.pid, 'SIGKILL');
}
