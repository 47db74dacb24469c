/**
 * Probe activities. `runProbe` performs ONE evaluation of a probe with the Litmus attempt semantics and always
 * returns an outcome: a probe failure (criteria not met) and a probe error (could not run) are both
 * `status: 'Failed'`, told apart by `failureKind`. It throws only when the activity is cancelled (CancelledFailure),
 * so Temporal never retries a probe verdict away. initialDelay, polling and modes are the workflow's job.
 */
import { readFileSync } from 'node:fs';
import { Context } from '@temporalio/activity';
import type { ProbeSpec } from '../../config/spec.js';
import { impersonatedUser, impersonationRefusal, withWorkerNamespace } from '../../config/policy.js';
import { isDnsLabel } from '../../config/selector.js';
import { checkRunProperties, errorMessage, runAttempts, type LoopHooks } from './attempts.js';
import { cmdDriver } from './cmd.js';
import { httpDriver } from './http.js';
import { k8sDriver } from './k8s.js';
import { promDriver } from './prom.js';
import { ProbeError, type AttemptResult, type ProbeContext, type ProbeDeps, type ProbeDriver, type ProbeOutcome } from './types.js';

export * from './types.js';
export { compare, compareNumeric, compareString, parseList, parseNumber, type CheckResult } from './comparators.js';

/**
 * The deps a probe runs with: when the policy impersonates, a probe that reaches the cluster (k8sProbe, a
 * cmdProbe's `source`) acts as its run's chaosServiceAccount — re-checked here against the policy (a crafted
 * request never went through the loader); one without a listed account is refused, never run as the worker.
 */
export function identityFor(probe: ProbeSpec, deps: ProbeDeps): ProbeDeps {
  const policy = deps.policy;
  const reaches = probe.type === 'k8sProbe' || (probe.type === 'cmdProbe' && !!probe.cmd.source);
  if (!reaches || !policy?.impersonation || policy.impersonation.mode === 'off') return deps;
  const as = { namespace: String(probe.actAs?.namespace ?? ''), serviceAccount: probe.actAs?.serviceAccount };
  const why = impersonationRefusal(policy, as);
  if (why) throw new ProbeError(`probe ${probe.name} refused by the worker's policy: ${why}`);
  const user = impersonatedUser(policy, as)!;
  if (!deps.k8sAs) throw new ProbeError(`probe ${probe.name}: impersonation needs the kubernetes platform`);
  const execInPod = deps.execInPod;
  return { ...deps, k8s: deps.k8sAs(user), execInPod: execInPod && ((req) => execInPod({ ...req, asUser: user })) };
}

export function driverFor(probe: ProbeSpec, deps: ProbeDeps): ProbeDriver {
  switch (probe.type) {
    case 'httpProbe':
      return httpDriver(probe.http, probe.runProperties, deps);
    case 'promProbe':
      return promDriver(probe.prom, deps);
    case 'cmdProbe':
      return cmdDriver(probe.cmd, deps);
    case 'k8sProbe':
      return k8sDriver(probe.k8s, deps);
    default:
      throw new ProbeError(`unknown probe type ${JSON.stringify((probe as { type?: unknown }).type)}`);
  }
}

/** The activity's cancellation signal and heartbeat; outside an activity (CLI, tests) a never-aborted signal and no-op. */
function activityHooks(): LoopHooks {
  try {
    const ctx = Context.current();
    return { signal: ctx.cancellationSignal, heartbeat: (d) => ctx.heartbeat(d) };
  } catch {
    return { signal: new AbortController().signal, heartbeat: () => undefined };
  }
}

/** Where Kubernetes mounts a pod's service account, namespace included. */
export const SERVICE_ACCOUNT_NAMESPACE_FILE = '/var/run/secrets/kubernetes.io/serviceaccount/namespace';

/**
 * The namespace this worker runs in, if it runs in a pod: POD_NAMESPACE (set it from the downward API,
 * `fieldRef: metadata.namespace`), else the service account's namespace file. undefined outside a cluster.
 * A value that is not a namespace name is ignored (the next source is tried).
 */
export function detectWorkerNamespace(env: Record<string, string | undefined> = process.env, file = SERVICE_ACCOUNT_NAMESPACE_FILE): string | undefined {
  const fromEnv = env.POD_NAMESPACE?.trim();
  if (fromEnv && isDnsLabel(fromEnv)) return fromEnv;
  let text: string | undefined;
  try {
    text = readFileSync(file, 'utf8').trim();
  } catch {
    return undefined;
  }
  return text && isDnsLabel(text) ? text : undefined;
}

/** deps.workerNamespace resolved: undefined = detect, null = none. */
export function resolveWorkerNamespace(given: string | null | undefined): string | undefined {
  return given === undefined ? detectWorkerNamespace() : (given ?? undefined);
}

export function createProbeActivities(given: ProbeDeps = {}) {
  // The worker's own namespace is protected in every probe, whatever the policy's `*` says.
  const workerNamespace = resolveWorkerNamespace(given.workerNamespace);
  const deps: ProbeDeps = { ...given, workerNamespace: workerNamespace ?? null, policy: given.policy && withWorkerNamespace(given.policy, workerNamespace) };
  return {
    async runProbe(probe: ProbeSpec, ctx: ProbeContext): Promise<ProbeOutcome> {
      const hooks = activityHooks();
      const startedAt = new Date();
      const t0 = performance.now();
      let result: AttemptResult;
      let attempts = 0;
      try {
        const invalid = checkRunProperties(probe.runProperties);
        if (invalid) throw new ProbeError(invalid);
        const driver = driverFor(probe, identityFor(probe, deps));
        ({ result, attempts } = await runAttempts(probe.runProperties, driver, hooks, { probe: probe.name, phase: ctx.phase, iteration: ctx.iteration }));
      } catch (err) {
        if (hooks.signal.aborted) throw hooks.signal.reason; // cancellation: not a verdict
        result = { ok: false, failureKind: 'error', reason: errorMessage(err), observed: err instanceof ProbeError ? err.observed : undefined };
      }
      const outcome: ProbeOutcome = {
        name: probe.name,
        type: probe.type,
        mode: probe.mode,
        phase: ctx.phase,
        iteration: ctx.iteration,
        status: result.ok ? 'Passed' : 'Failed',
        reason: result.reason,
        attempts,
        durationMs: Math.round(performance.now() - t0),
        at: startedAt.toISOString(),
      };
      if (!result.ok) outcome.failureKind = result.failureKind;
      if (result.observed !== undefined) outcome.observed = result.observed;
      return outcome;
    },
  };
}

export type ProbeActivities = ReturnType<typeof createProbeActivities>;
