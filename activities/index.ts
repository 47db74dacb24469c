/**
 * createActivities(deps): every activity the workflows call, built from the clients it is given.
 * Nothing here is global; tests build their own set against their own servers.
 *
 * The trust boundary lives here. A workflow's input comes from a client, so every activity that touches the
 * world re-checks what it is asked against the WORKER's policy (config.policy) before it acts: the strict shape
 * and bounds of the spec, the blast radius, probe reach, images, sockets. Guards, rollback triggers and
 * rollback actions are the worker's own (looked up by name; whatever a run's input says about them is
 * ignored), and their secrets are resolved here, by reference, at the moment of use.
 */
import { Context } from '@temporalio/activity';
import type { ExperimentSpec, GuardSpec, ProbeSpec, RollbackTriggerSpec } from '../config/spec.js';
import { runPolicyView, type TempestConfig } from '../config/tempest-config.js';
import { blastRadiusRefusal, withWorkerNamespace, type Policy } from '../config/policy.js';
import { checkFault, validateExperimentSpec, validateProbe } from '../config/validate-spec.js';
import { formatProblem, type ConfigProblem } from '../config/errors.js';
import { isDnsSubdomain } from '../config/selector.js';
import type {
  ExperimentResult,
  FaultRef,
  InjectRequest,
  InjectResult,
  PreflightResult,
  PreparedRecord,
  RevertResult,
  RollbackActionsRequest,
  TempestActivities,
} from './types.js';
import { tempestError } from './errors.js';
import type { ActivityCtx, Platform } from './platform/types.js';
import { createLocalPlatform } from './platform/local-platform.js';
import { runGuard } from './guards/index.js';
import { evaluateTriggers } from './rollback/triggers.js';
import { runRollbackActions } from './rollback/actions.js';
import { createProbeActivities, resolveWorkerNamespace } from './probes/index.js';
import type { ProbeContext, ProbeDeps, ProbeOutcome } from './probes/types.js';
import { writeReport } from './report/index.js';
import type { ChaosMetrics } from './metrics/index.js';
import { createReconcileActivities } from './reconcile/index.js';
import { failpoint } from './failpoints.js';

export interface ActivityDeps {
  config: TempestConfig;
  metrics?: ChaosMetrics;
  /** Extra probe dependencies (k8s client, exec); URL rewriting comes from the config. */
  probeDeps?: ProbeDeps;
  /** The platform faults land on; default: built from config.platform.driver. */
  platform?: Platform | Promise<Platform>;
  /**
   * The namespace this worker runs in (protected like kube-system: `*` never includes it). Default: detected from
   * POD_NAMESPACE or the service-account namespace file; null: none (a worker outside a cluster).
   */
  workerNamespace?: string | null;
}

/** The configured platform. Kubernetes is loaded lazily so a local worker never loads the k8s client. */
export async function platformFromConfig(config: TempestConfig, opts: { workerNamespace?: string | null } = {}): Promise<Platform> {
  if (config.platform.driver === 'local') return createLocalPlatform(config);
  const mod = (await import('./platform/kubernetes.js').catch((e: Error) => {
    throw tempestError('UnsupportedFault', `the kubernetes platform could not be loaded: ${e.message}`);
  })) as { createKubernetesPlatform(c: TempestConfig, o?: unknown, w?: { workerNamespace?: string | null }): Promise<Platform> | Platform };
  return mod.createKubernetesPlatform(config, undefined, opts);
}

export function rewriteUrlFrom(cfg: TempestConfig): (url: string) => string {
  const rules = cfg.platform.local.urlRewrites;
  return (url) => {
    for (const r of rules) if (url.startsWith(r.from)) return r.to + url.slice(r.from.length);
    return url;
  };
}

/** A refusal naming every problem (one per line), for a run that asked for more than the policy allows. */
function refused(what: string, problems: ConfigProblem[]): Error {
  const lines = problems.slice(0, 10).map((p) => formatProblem({ ...p, file: p.file === 'workflow input' ? '' : p.file }).replace(/^: /, ''));
  return tempestError(
    'FaultRefused',
    `${what} refused by the worker's policy:\n  ${lines.join('\n  ')}${problems.length > 10 ? `\n  (and ${problems.length - 10} more)` : ''}`,
  );
}

/** A fault request's prepared record: JSON of bounded size (what it says is checked by the driver that uses it). */
function checkPrepared(ref: FaultRef, c: { add(path: string, message: string): void }): void {
  if (ref.prepared === undefined) return;
  if (ref.prepared === null || typeof ref.prepared !== 'object' || Array.isArray(ref.prepared) || JSON.stringify(ref.prepared).length > 64 * 1024)
    c.add('prepared', 'must be a JSON object of at most 64 KiB');
}

/**
 * The fault of an inject / prepare / revert request: the strict shape and bounds, and (except for a revert, which
 * then undoes only what its ledger records) the blast radius, again. Activities are scheduled by workflows, and
 * any workflow in the Temporal namespace can schedule them: their input is as untrusted as a workflow input.
 */
function checkFaultRequest(ref: FaultRef, policy: Policy, opts: { blastRadius: boolean } = { blastRadius: true }): void {
  const problems: ConfigProblem[] = [];
  const c = { add: (path: string, message: string, value?: unknown) => problems.push({ file: '', path, message, value }) };
  if (typeof ref?.runId !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9._:-]{0,255}$/.test(ref.runId)) c.add('runId', 'must be a workflow id');
  if (!Number.isSafeInteger(ref?.faultIndex) || ref.faultIndex < 0 || ref.faultIndex >= policy.limits.maxFaults) c.add('faultIndex', 'must be a fault index');
  checkPrepared(ref, c);
  const targetWhy =
    ref?.target && typeof ref.target === 'object' ? (opts.blastRadius ? blastRadiusRefusal(policy, ref.target) : null) : 'the request has no target';
  if (targetWhy) c.add('target', targetWhy);
  const shape = validateExperimentSpec(
    { name: ref.experiment, engineNamespace: ref.target?.namespace, target: ref.target, engineState: 'active', faults: [ref.fault] },
    policy.limits,
    undefined,
    '',
  );
  if (!shape.ok) problems.push(...shape.problems);
  else checkFault(ref.fault, 'fault', policy.limits, c, policy, ref.target.namespace);
  if (problems.length)
    throw refused(
      `${String(ref?.fault?.name).slice(0, 40)} on ${String(ref?.target?.namespace).slice(0, 63)}/${String(ref?.target?.labelSelector).slice(0, 120)}`,
      problems,
    );
}

/** Margin a fault may outlive its chaos window by itself (the workflow adds 60 s; slack for clocks and retries). */
const MAX_DEAD_MAN_MS = 10 * 60_000;

/**
 * An injection's round and dead-man time: the round a number the fault can have, the expiry a real time no later
 * than the fault's own duration (plus margin) from now — the server's now: when this attempt was scheduled (the
 * workflow's clock, which a time-skipping test server moves ahead of the machine's). A crafted `expiresAt: "never"` would otherwise give a
 * stressor with no end, and a round a helper pod name nobody planned.
 */
function checkRound(req: InjectRequest, now: number): void {
  const rounds = req.fault.intervalMs > 0 ? Math.ceil(req.fault.durationMs / req.fault.intervalMs) + 1 : 1;
  const problems: string[] = [];
  if (!Number.isSafeInteger(req.round) || req.round < 0 || req.round > rounds) problems.push(`round must be a whole number from 0 to ${rounds}`);
  const at = typeof req.expiresAt === 'string' && /^\d{4}-\d{2}-\d{2}T/.test(req.expiresAt) ? Date.parse(req.expiresAt) : NaN;
  if (!Number.isFinite(at)) problems.push('expiresAt must be an ISO time');
  else if (at <= now)
    problems.push(
      `its dead-man time ${req.expiresAt.slice(0, 40)} has passed: the injection comes too late (a crash or an outage held it past its chaos window); nothing injected`,
    );
  else if (at > now + req.fault.durationMs + (req.fault.rampTimeMs ?? 0) + MAX_DEAD_MAN_MS)
    problems.push(`expiresAt ${req.expiresAt.slice(0, 40)} is later than the fault's duration (plus ${MAX_DEAD_MAN_MS / 60_000} min) from now`);
  if (problems.length) throw tempestError('FaultRefused', `injection of ${req.fault.name} refused by the worker: ${problems.join('; ')}`);
}

/** Text from a request, for a message that leaves the worker (a PagerDuty summary): printable, bounded. */
function plainText(v: unknown, max: number): string {
  return String(v ?? '')
    .replace(/[\u0000-\u001f\u007f-\u009f]/g, ' ')
    .slice(0, max);
}

/** A metric label or file name from a run's name: the validated DNS name, or a placeholder for anything else. */
function safeName(name: unknown): string {
  return typeof name === 'string' && isDnsSubdomain(name) ? name : 'invalid-name';
}

export function createActivities(deps: ActivityDeps): TempestActivities {
  const { config } = deps;
  // Every activity judges requests by the worker's policy with the worker's own namespace protected.
  const policy = withWorkerNamespace(config.policy, resolveWorkerNamespace(deps.workerNamespace));
  let platformP: Promise<Platform> | undefined;
  const workerNamespace = policy.blastRadius.workerNamespace ?? null;
  const platform = () => (platformP ??= Promise.resolve(deps.platform ?? platformFromConfig(config, { workerNamespace })));
  // Probes get the platform's Kubernetes client (k8sProbe) and pod exec (cmdProbe `source`) when it has them.
  let probesP: Promise<ReturnType<typeof createProbeActivities>> | undefined;
  const probes = () =>
    (probesP ??= (async () => {
      const fromPlatform: ProbeDeps = {};
      if (config.platform.driver === 'kubernetes' || deps.platform) {
        const p = (await platform()) as Platform & { clients?: { kc: unknown }; execInPod?: ProbeDeps['execInPod']; kcAs?: ProbeDeps['k8sAs'] };
        if (p.clients) fromPlatform.k8s = p.clients.kc;
        if (p.kcAs) fromPlatform.k8sAs = p.kcAs;
        if (p.execInPod) fromPlatform.execInPod = p.execInPod;
      }
      return createProbeActivities({ rewriteUrl: rewriteUrlFrom(config), policy, workerNamespace, ...fromPlatform, ...deps.probeDeps });
    })());
  const activityCtx = (): ActivityCtx => {
    const ctx = Context.current();
    return { heartbeat: (d) => ctx.heartbeat(d), signal: ctx.cancellationSignal };
  };
  const guardByName = new Map(config.guards.map((g) => [g.name, g]));

  return {
    async preflight(spec: ExperimentSpec): Promise<PreflightResult> {
      // Everything the client sent is re-checked before any platform call: the blast radius, limits, probes,
      // images are the operator's, not the engine's, to set.
      const v = validateExperimentSpec(spec, policy.limits, policy);
      if (!v.ok) throw refused(`run of ${String((spec as { name?: unknown })?.name).slice(0, 60)}`, v.problems);
      const pf = await (await platform()).preflight(v.spec);
      return { ...pf, policy: runPolicyView(config) };
    },

    async runGuard(g: Pick<GuardSpec, 'name'>) {
      // By name, from this worker's policy: a run cannot bring its own guard, or point one elsewhere.
      const mine = guardByName.get(g?.name);
      if (!mine)
        return {
          name: String(g?.name).slice(0, 128),
          type: 'http' as const,
          passed: false,
          reason: `no guard of that name in the worker's policy (${policy.source}); failing closed`,
        };
      failpoint('guard');
      return runGuard(mine);
    },

    async runProbe(probe: ProbeSpec, ctx: ProbeContext): Promise<ProbeOutcome> {
      const v = validateProbe(probe, policy.limits, policy);
      if (!v.ok) {
        const reason = `refused by the worker's policy: ${v.problems
          .slice(0, 3)
          .map((p) => `${p.path}: ${p.message}`)
          .join('; ')}`;
        return {
          name: String(probe?.name).slice(0, 128),
          type: probe?.type,
          mode: probe?.mode,
          phase: ctx.phase,
          iteration: ctx.iteration,
          status: 'Failed',
          failureKind: 'error',
          reason,
          attempts: 0,
          durationMs: 0,
          at: new Date().toISOString(),
        };
      }
      if (ctx.phase === 'SOT' || ctx.phase === 'EOT') failpoint(`probe.${ctx.phase}`);
      return (await probes()).runProbe(v.probe, ctx);
    },

    async prepareFault(ref: FaultRef): Promise<PreparedRecord> {
      checkFaultRequest(ref, policy);
      const p = await platform();
      if (!p.prepare) throw tempestError('UnsupportedFault', `${ref.fault.name} has no prepare step on the ${p.name} platform`);
      return p.prepare(ref, activityCtx());
    },

    async injectFault(req: InjectRequest): Promise<InjectResult> {
      checkFaultRequest(req, policy);
      checkRound(req, Math.max(Date.now(), Context.current().info.currentAttemptScheduledTimestampMs || 0));
      const r = await (await platform()).inject(req, activityCtx());
      return { round: req.round, affected: r.affected, detail: r.detail, alreadyDone: r.alreadyDone, at: new Date().toISOString() };
    },

    async revertFault(ref: FaultRef): Promise<RevertResult> {
      // The same strict shape as an injection. A revert only ever undoes what this run's ledger records: if the
      // target has left the blast radius since (the operator narrowed it mid-run), it still undoes that — and
      // nothing else: no ledger, nothing to do.
      checkFaultRequest(ref, policy, { blastRadius: false });
      const outside = blastRadiusRefusal(policy, ref.target);
      return (await platform()).revert(ref, activityCtx(), { ledgerOnly: !!outside });
    },

    async evaluateTriggers(_ignored?: unknown) {
      // The worker's triggers, whatever the run's input lists.
      return evaluateTriggers(config.rollbackTriggers.triggers as RollbackTriggerSpec[]);
    },

    async publishResult(result: ExperimentResult) {
      // Names from a run's input (refused runs included) become metric labels and a file name: only valid names.
      failpoint('publish');
      const safe = { ...result, experiment: safeName(result.experiment), target: { ...result.target, namespace: safeName(result.target?.namespace) } };
      deps.metrics?.finished(safe);
      const reportPath = writeReport(config.reports.dir, safe, { uiUrl: config.temporal.uiUrl, namespace: config.temporal.namespace });
      return { reportPath };
    },

    async runRollbackActions(req: RollbackActionsRequest) {
      const why = req?.target && typeof req.target === 'object' ? blastRadiusRefusal(policy, req.target) : 'the request has no target';
      if (why) return config.rollbackActions.map((a) => ({ name: a.name, type: a.type, status: 'failed' as const, detail: `refused: ${why}` }));
      // The worker's actions (and their secrets, resolved inside), whatever the request lists; the request's own
      // text only as plain, bounded text.
      const clean: RollbackActionsRequest = {
        target: req.target,
        experiment: safeName(req.experiment),
        workflowId: plainText(req.workflowId, 256),
        reason: plainText(req.reason, 512),
        recoveryMs: typeof req.recoveryMs === 'number' && Number.isFinite(req.recoveryMs) ? req.recoveryMs : undefined,
      };
      return runRollbackActions({ ...clean, actions: config.rollbackActions }, await platform());
    },

    async lastRunStart(experiment: string, namespace?: string) {
      // Visibility (the dev server's SQLite or a cluster's ES/SQL) via the worker's own client; without the
      // search attributes the last run cannot be found, and the gate must know that rather than see "none".
      if (!config.temporal.searchAttributes) return 'unknown' as const;
      const client = Context.current().client;
      // By name AND target namespace: a run elsewhere with the same engine name does not hold this schedule back.
      const q = `WorkflowType = 'experimentWorkflow' AND TempestExperiment = '${safeName(experiment)}'${namespace !== undefined ? ` AND TempestNamespace = '${safeName(namespace)}'` : ''}`;
      let latest: Date | null = null;
      for await (const w of client.workflow.list({ query: q, pageSize: 20 })) {
        if (!latest || w.startTime > latest) latest = w.startTime;
      }
      return latest ? latest.toISOString() : null;
    },

    async markRunning(info) {
      deps.metrics?.running(safeName(info?.experiment), safeName(info?.namespace));
    },

    // The orphan reconciler (workflows/reconciler.ts): Temporal is asked through the worker's own client.
    ...createReconcileActivities({
      platform,
      temporal: async () => ({ client: Context.current().client, namespace: Context.current().info.workflowNamespace ?? config.temporal.namespace }),
      policy,
      metrics: deps.metrics,
      checkRef: (ref) => checkFaultRequest(ref, policy, { blastRadius: false }),
      activityCtx,
    }),
  };
}
