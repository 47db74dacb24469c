/**
 * createActivities(deps): every activity the workflows call, built from the clients it is given.
 * Nothing here is global; tests build their own set against their own servers.
 */
import { Context } from '@temporalio/activity';
import type { ExperimentSpec, GuardSpec, ProbeSpec, RollbackTriggerSpec } from '../config/spec.js';
import type { TempestConfig } from '../config/tempest-config.js';
import { blastRadiusRefusal } from '../config/blast-radius.js';
import type { ExperimentResult, FaultRef, InjectRequest, InjectResult, PreflightResult, RevertResult, TempestActivities } from './types.js';
import { tempestError } from './errors.js';
import type { ActivityCtx, Platform } from './platform/types.js';
import { createLocalPlatform } from './platform/local-platform.js';
import { runGuard } from './guards/index.js';
import { evaluateTriggers } from './rollback/triggers.js';
import { runRollbackActions } from './rollback/actions.js';
import { createProbeActivities } from './probes/index.js';
import type { ProbeContext, ProbeDeps } from './probes/types.js';
import { writeReport } from './report/index.js';
import { ChaosMetrics } from './metrics/index.js';

export interface ActivityDeps {
  config: TempestConfig;
  metrics?: ChaosMetrics;
  /** Extra probe dependencies (k8s client, exec); URL rewriting comes from the config. */
  probeDeps?: ProbeDeps;
  /** The platform faults land on; default: built from config.platform.driver. */
  platform?: Platform | Promise<Platform>;
}

/** The configured platform. Kubernetes is loaded lazily so a local worker never loads the k8s client. */
export async function platformFromConfig(config: TempestConfig): Promise<Platform> {
  if (config.platform.driver === 'local') return createLocalPlatform(config);
  const mod = (await import('./platform/kubernetes.js').catch((e: Error) => {
    throw tempestError('UnsupportedFault', `the kubernetes platform could not be loaded: ${e.message}`);
  })) as { createKubernetesPlatform(c: TempestConfig): Promise<Platform> | Platform };
  return mod.createKubernetesPlatform(config);
}

export function rewriteUrlFrom(cfg: TempestConfig): (url: string) => string {
  const rules = cfg.platform.local.urlRewrites;
  return (url) => {
    for (const r of rules) if (url.startsWith(r.from)) return r.to + url.slice(r.from.length);
    return url;
  };
}

export function createActivities(deps: ActivityDeps): TempestActivities {
  const { config } = deps;
  let platformP: Promise<Platform> | undefined;
  const platform = () => (platformP ??= Promise.resolve(deps.platform ?? platformFromConfig(config)));
  // Probes get the platform's Kubernetes client (k8sProbe) and pod exec (cmdProbe `source`) when it has them.
  let probesP: Promise<ReturnType<typeof createProbeActivities>> | undefined;
  const probes = () =>
    (probesP ??= (async () => {
      const fromPlatform: ProbeDeps = {};
      if (config.platform.driver === 'kubernetes' || deps.platform) {
        const p = (await platform()) as Platform & { clients?: { kc: unknown }; execInPod?: ProbeDeps['execInPod'] };
        if (p.clients) fromPlatform.k8s = p.clients.kc;
        if (p.execInPod) fromPlatform.execInPod = p.execInPod;
      }
      return createProbeActivities({ rewriteUrl: rewriteUrlFrom(config), ...fromPlatform, ...deps.probeDeps });
    })());
  const activityCtx = (): ActivityCtx => {
    const ctx = Context.current();
    return { heartbeat: (d) => ctx.heartbeat(d), signal: ctx.cancellationSignal };
  };

  return {
    async preflight(spec: ExperimentSpec): Promise<PreflightResult> {
      // Refused before any platform call: the blast radius is the operator's, not the engine's, to set.
      const refusal = blastRadiusRefusal(config, spec.target);
      if (refusal) throw tempestError('FaultRefused', refusal);
      return (await platform()).preflight(spec);
    },

    async runGuard(g: GuardSpec) {
      return runGuard(g);
    },

    async runProbe(probe: ProbeSpec, ctx: ProbeContext) {
      return (await probes()).runProbe(probe, ctx);
    },

    async injectFault(req: InjectRequest): Promise<InjectResult> {
      const r = await (await platform()).inject(req, activityCtx());
      return { round: req.round, affected: r.affected, detail: r.detail, alreadyDone: r.alreadyDone, at: new Date().toISOString() };
    },

    async revertFault(ref: FaultRef): Promise<RevertResult> {
      return (await platform()).revert(ref, activityCtx());
    },

    async evaluateTriggers(triggers: RollbackTriggerSpec[]) {
      return evaluateTriggers(triggers);
    },

    async publishResult(result: ExperimentResult) {
      deps.metrics?.finished(result);
      const reportPath = writeReport(config.reports.dir, result, { uiUrl: config.temporal.uiUrl, namespace: config.temporal.namespace });
      return { reportPath };
    },

    async runRollbackActions(req) {
      return runRollbackActions(req, await platform());
    },

    async lastRunStart(experiment: string) {
      // Visibility (the dev server's SQLite or a cluster's ES/SQL) via the worker's own client.
      const client = Context.current().client;
      const q = `WorkflowType = 'experimentWorkflow' AND TempestExperiment = '${experiment.replace(/'/g, '')}'`;
      let latest: Date | null = null;
      for await (const w of client.workflow.list({ query: q, pageSize: 20 })) {
        if (!latest || w.startTime > latest) latest = w.startTime;
      }
      return latest ? latest.toISOString() : null;
    },

    async markRunning(info) {
      deps.metrics?.running(info.experiment, info.namespace);
    },
  };
}
