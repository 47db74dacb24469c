/** cmdProbe: run a command (locally via /bin/sh, or in a pod through the platform) and compare its trimmed stdout. */
import type { CmdProbeInputs } from '../../config/spec.js';
import { namespaceRefusal, namespaceScope, scopeText, selectorInScope, workerNamespaceRefusal } from '../../config/policy.js';
import { parseLabelSelector } from '../../config/selector.js';
import { verdictOf } from './attempts.js';
import { quote } from './comparators.js';
import { compareBounded } from './match.js';
import { runLocalCommand } from './local-command.js';
import { ProbeError, type AttemptResult, type ProbeDeps, type ProbeDriver } from './types.js';

const MAX_OUTPUT_BYTES = 1024 * 1024;

export interface CommandResult {
  stdout: string;
  stderr?: string;
  exitCode?: number | null;
  /** Signal that ended the process, if any. */
  killedBy?: string | null;
}

/** The whole environment a local cmdProbe command gets: nothing of the worker's own environment leaks in. */
const MINIMAL_ENV: Record<string, string> = {
  PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
  LANG: 'C.UTF-8',
  HOME: '/tmp',
};

/**
 * Run `/bin/sh -c command` with a minimal environment. When `signal` aborts (attempt timeout or activity
 * cancellation), and also when the shell exits, every process it started is SIGKILLed (process group,
 * environment marker, per-run cgroup: see local-command.ts), so `setsid`/double-forked children do not survive.
 */
export async function runLocal(command: string, signal: AbortSignal): Promise<CommandResult> {
  try {
    const r = await runLocalCommand({ command, signal, env: { ...MINIMAL_ENV }, maxOutputBytes: MAX_OUTPUT_BYTES });
    return { stdout: r.stdout, stderr: r.stderr, exitCode: r.exitCode, killedBy: r.killedBy };
  } catch (e) {
    if (signal.aborted && e === signal.reason) throw e;
    throw new ProbeError(e instanceof Error ? e.message : `cannot run /bin/sh: ${String(e)}`);
  }
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
async function judge(r: CommandResult, inputs: CmdProbeInputs, where: string, signal: AbortSignal): Promise<AttemptResult> {
  const stdout = r.stdout.trim();
  const observed = `${describe(r, stdout)} (${where})`;
  return verdictOf([await compareBounded(stdout, inputs.comparator, { subject: 'output', signal })], observed);
}

/**
 * What the worker's policy says of a `source` before anything is asked of the cluster: a namespace of the blast
 * radius (never the worker's own unless listed by name), and in a selector-restricted namespace a labelSelector
 * contained in an allowed one. A pod named directly is checked on its live labels by execInPod (the platform).
 */
export function sourceRefusal(source: NonNullable<CmdProbeInputs['source']>, deps: Pick<ProbeDeps, 'policy' | 'workerNamespace'>): string | null {
  const policy = deps.policy;
  const ns = source.namespace;
  if (!ns) return policy ? 'cmdProbe source needs a namespace' : null;
  // Tempest's own containers (fault and undo containers, helpers) carry capabilities the author's command must not get.
  if (source.container !== undefined && /^tempest-/.test(source.container))
    return `source.container ${JSON.stringify(source.container.slice(0, 63))} is one of Tempest's own fault containers: a cmdProbe runs only in the pod's own containers`;
  const own = workerNamespaceRefusal(policy, ns, deps.workerNamespace ?? policy?.blastRadius.workerNamespace);
  if (own) return own;
  if (!policy) return null;
  const outside = namespaceRefusal(policy, ns);
  if (outside) return outside;
  const scope = namespaceScope(policy, ns);
  if (scope.allowed && scope.selectors && source.labelSelector !== undefined) {
    const sel = parseLabelSelector(source.labelSelector);
    if (!sel.ok || !sel.value.requirements.length || !selectorInScope(scope, sel.value)) {
      return `source.labelSelector ${JSON.stringify(source.labelSelector.slice(0, 200))} selects pods outside the blast radius: blastRadius.allow of ${policy.source} allows in ${ns} only ${scopeText(scope)}`;
    }
  }
  return null;
}

export function cmdDriver(inputs: CmdProbeInputs, deps: ProbeDeps): ProbeDriver {
  const source = inputs.source;
  if (!source) {
    if (deps.policy && !deps.policy.probes.allowLocalCommands) {
      throw new ProbeError(
        `refused by the worker's policy: a cmdProbe without source would run /bin/sh on the worker host (probes.allowLocalCommands is off in ${deps.policy.source})`,
        `local: ${inputs.command}`,
      );
    }
    return {
      target: `local: ${inputs.command}`,
      sleepAfterEveryTry: false,
      attempt: async ({ signal }) => judge(await runLocal(inputs.command, signal), inputs, 'local', signal),
    };
  }
  const execInPod = deps.execInPod;
  const where = `pod ${source.namespace ?? '<default ns>'}/${source.pod ?? source.labelSelector ?? '?'}${source.container ? ` container ${source.container}` : ''}`;
  const refusal = sourceRefusal(source, deps);
  if (refusal) throw new ProbeError(`refused by the worker's policy: ${refusal}`, `${where}: ${inputs.command}`);
  if (!execInPod) throw new ProbeError('cmdProbe source needs the kubernetes platform', `${where}: ${inputs.command}`);
  return {
    target: `${where}: ${inputs.command}`,
    sleepAfterEveryTry: false,
    attempt: async ({ signal, timeoutMs }) => judge(await execInPod({ source, command: inputs.command, signal, timeoutMs }), inputs, where, signal),
  };
}
