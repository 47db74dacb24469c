/** cmdProbe: run a command (locally via /bin/sh, or in a pod through the platform) and compare its trimmed stdout. */
import { spawn } from 'node:child_process';
import type { CmdProbeInputs } from '../../config/spec.js';
import { verdictOf } from './attempts.js';
import { compare, quote } from './comparators.js';
import { ProbeError, type AttemptResult, type ProbeDeps, type ProbeDriver } from './types.js';

const MAX_OUTPUT_BYTES = 1024 * 1024;

export interface CommandResult {
  stdout: string;
  stderr?: string;
  exitCode?: number | null;
  /** Signal that ended the process, if any. */
  killedBy?: string | null;
}

/**
 * Run `/bin/sh -c command` in its own process group. When `signal` aborts (attempt timeout or activity
 * cancellation) the whole group is SIGKILLed, so `sh -c "a | b"` or background children do not survive.
 */
export function runLocal(command: string, signal: AbortSignal): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const child = spawn('/bin/sh', ['-c', command], { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let outBytes = 0;
    let errBytes = 0;
    child.stdout.on('data', (b: Buffer) => {
      if (outBytes < MAX_OUTPUT_BYTES) out.push(b);
      outBytes += b.length;
    });
    child.stderr.on('data', (b: Buffer) => {
      if (errBytes < MAX_OUTPUT_BYTES) err.push(b);
      errBytes += b.length;
    });
    const killGroup = () => {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    };
    const onAbort = () => {
      killGroup();
      reject(signal.reason);
    };
    signal.addEventListener('abort', onAbort, { once: true });
    child.on('error', (e) => {
      signal.removeEventListener('abort', onAbort);
      reject(new ProbeError(`cannot run /bin/sh: ${e.message}`));
    });
    child.on('close', (code, killedBy) => {
      signal.removeEventListener('abort', onAbort);
      resolve({ stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8'), exitCode: code, killedBy });
    });
  });
}

/** The trimmed stdout, with exit code / signal and stderr tail when the command did not exit 0. */
function describe(r: CommandResult, stdout: string): string {
  const failed = (r.exitCode !== undefined && r.exitCode !== null && r.exitCode !== 0) || !!r.killedBy;
  if (!failed) return `stdout ${quote(stdout)}`;
  const how = r.killedBy ? `killed by ${r.killedBy}` : `exit code ${r.exitCode}`;
  const stderr = r.stderr?.trim() ? `, stderr ${quote(r.stderr.trim())}` : '';
  return `stdout ${quote(stdout)}, ${how}${stderr}`;
}

/** Litmus: a non-zero exit is still judged on stdout; the exit code is kept in `observed`. */
function judge(r: CommandResult, inputs: CmdProbeInputs, where: string): AttemptResult {
  const stdout = r.stdout.trim();
  const observed = `${describe(r, stdout)} (${where})`;
  return verdictOf([compare(stdout, inputs.comparator, { subject: 'output' })], observed);
}

export function cmdDriver(inputs: CmdProbeInputs, deps: ProbeDeps): ProbeDriver {
  const source = inputs.source;
  if (!source) {
    return {
      target: `local: ${inputs.command}`,
      sleepAfterEveryTry: false,
      attempt: async ({ signal }) => judge(await runLocal(inputs.command, signal), inputs, 'local'),
    };
  }
  const execInPod = deps.execInPod;
  const where = `pod ${source.namespace ?? '<default ns>'}/${source.pod ?? source.labelSelector ?? '?'}${source.container ? ` container ${source.container}` : ''}`;
  if (!execInPod) throw new ProbeError('cmdProbe source needs the kubernetes platform', `${where}: ${inputs.command}`);
  return {
    target: `${where}: ${inputs.command}`,
    sleepAfterEveryTry: false,
    attempt: async ({ signal, timeoutMs }) => judge(await execInPod({ source, command: inputs.command, signal, timeoutMs }), inputs, where),
  };
}
