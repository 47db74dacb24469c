/**
 * Real worker PROCESSES (bin/tempest --config <file> worker) for the crash suites: start one and wait until it says
 * "worker ready", SIGKILL one and wait for its exit, and kill whatever is still running when the suite ends.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { dirname } from 'node:path';
import { ROOT } from './temporal.js';

const workers: ChildProcess[] = [];
const output = new WeakMap<ChildProcess, { text: string }>();

/** Everything a worker process printed so far (stdout and stderr). */
export const outputOf = (child: ChildProcess): string => output.get(child)?.text ?? '';

/**
 * Spawns `bin/tempest --config <configFile> worker` (with `env` added to this process's environment, e.g.
 * TEMPEST_FAILPOINTS); resolves once it prints "worker ready" (rejects on exit or after 90 s).
 */
export function startWorkerProcess(configFile: string, env: Record<string, string> = {}): Promise<ChildProcess> {
  return startTempestProcess(['--config', configFile, 'worker'], 'worker ready', env);
}

/**
 * Spawns `bin/tempest --config <configFile> --kubeconfig <kubeconfig> controller --identity <identity>`; resolves
 * once it is up and waiting for (or holding) its Lease.
 */
export function startControllerProcess(configFile: string, kubeconfig: string, identity: string, env: Record<string, string> = {}): Promise<ChildProcess> {
  return startTempestProcess(['--config', configFile, '--kubeconfig', kubeconfig, 'controller', '--identity', identity], 'waiting for lease', env);
}

/** Spawns bin/tempest (or `bin`) with `args`; resolves once its output contains `ready` (rejects on exit or after 90 s). */
export function startTempestProcess(args: string[], ready: string, env: Record<string, string> = {}, bin = `${ROOT}bin/tempest`): Promise<ChildProcess> {
  // From another layout (the image's), run in its root, as the image's WORKDIR.
  const child = spawn(bin, args, {
    cwd: bin === `${ROOT}bin/tempest` ? ROOT : dirname(dirname(bin)),
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
  workers.push(child);
  const out = { text: '' };
  output.set(child, out);
  let t: NodeJS.Timeout;
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => {
      out.text += d.toString();
      if (out.text.includes(ready)) {
        clearTimeout(t);
        resolve(child);
      }
    });
    child.stderr!.on('data', (d: Buffer) => (out.text += d.toString()));
    child.once('exit', (code) => reject(new Error(`tempest ${args.join(' ')} exited with ${code} before it was ready:\n${out.text}`)));
    t = setTimeout(() => reject(new Error(`tempest ${args.join(' ')}: not ready after 90 s:\n${out.text}`)), 90_000);
    child.once('exit', () => clearTimeout(t));
  });
}

/** Resolves when the process has exited (at once if it already has), with how it ended. */
export function exited(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
}

/** SIGKILL and wait for the exit (at once if it has exited already). */
export function sigkill(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

/** SIGKILL every worker process started here that is still running (afterAll). */
export function killWorkerProcesses(): void {
  for (const w of workers) if (w.exitCode === null && w.signalCode === null) w.kill('SIGKILL');
}
