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
import { LocalPlatform } from './platform/local.js';
import { LOCAL_FAULTS, LOCAL_UNSUPPORTED } from './faults/index.js';
import { Ledger, ledgerKey, type LocalFaultContext } from './faults/driver.js';
import { runGuard } from './guards/index.js';
import { evaluateTriggers } from './rollback/triggers.js';
import { createProbeActivities } from './probes/index.js';
import type { ProbeContext, ProbeDeps } from './probes/types.js';
import { writeReport } from './report/index.js';
import { ChaosMetrics } from './metrics/index.js';

export interface ActivityDeps {
  config: TempestConfig;
  metrics?: ChaosMetrics;
  /** Extra probe dependencies (k8s client, exec); URL rewriting comes from the config. */
  probeDeps?: ProbeDeps;
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
  const local = new LocalPlatform(config);
  const probes = createProbeActivities({ rewriteUrl: rewriteUrlFrom(config), ...deps.probeDeps });

  function driverFor(name: FaultRef['fault']['name']) {
    if (config.platform.driver !== 'local') {
      throw tempestError('UnsupportedFault', `platform ${config.platform.driver} has no fault drivers in this build; use platform.driver: local`);
    }
    const d = LOCAL_FAULTS[name];
    if (!d) throw tempestError('UnsupportedFault', `${name} cannot run on the local platform: ${LOCAL_UNSUPPORTED[name] ?? 'no driver'}`);
    return d;
  }

  function faultContext(ref: FaultRef): LocalFaultContext {
    const ctx = Context.current();
    return { platform: local, fleet: local.fleetFor(ref.target), heartbeat: (d) => ctx.heartbeat(d), signal: ctx.cancellationSignal };
  }

  return {
    async preflight(spec: ExperimentSpec): Promise<PreflightResult> {
      const refusal = blastRadiusRefusal(config, spec.target);
      if (refusal) throw tempestError('FaultRefused', refusal);
      for (const f of spec.faults) {
        const d = driverFor(f.name);
        d.check?.(f, local);
      }
      const pods = await local.fleetFor(spec.target).pods();
      if (!pods.length) throw tempestError('TargetNotFound', `${spec.target.namespace}/${spec.target.labelSelector} has no pods`);
      return { platform: 'local', targets: pods.map((p) => p.name) };
    },

    async runGuard(g: GuardSpec) {
      return runGuard(g);
    },

    async runProbe(probe: ProbeSpec, ctx: ProbeContext) {
      return probes.runProbe(probe, ctx);
    },

    async injectFault(req: InjectRequest): Promise<InjectResult> {
      const ctx = faultContext(req);
      const ledger = new Ledger(ctx.fleet, ledgerKey(req));
      const r = await driverFor(req.fault.name).inject(req, ctx, ledger);
      return { round: req.round, affected: r.affected, detail: r.detail, alreadyDone: /already/.test(r.detail), at: new Date().toISOString() };
    },

    async revertFault(ref: FaultRef): Promise<RevertResult> {
      const ctx = faultContext(ref);
      const ledger = new Ledger(ctx.fleet, ledgerKey(ref));
      const driver = driverFor(ref.fault.name);
      const undone = await driver.revert(ref, ctx, ledger);
      ctx.heartbeat({ undone });
      const verification = await driver.verify(ref, ctx, ledger);
      await ledger.clear();
      if (await ledger.read()) throw tempestError('NotYetClean', `ledger entry ${ledger.key} is still present after clearing`);
      return { undone, verification: `${verification}; ledger clean`, at: new Date().toISOString() };
    },

    async evaluateTriggers(triggers: RollbackTriggerSpec[]) {
      return evaluateTriggers(triggers);
    },

    async publishResult(result: ExperimentResult) {
      deps.metrics?.finished(result);
      const reportPath = writeReport(config.reports.dir, result, { uiUrl: config.temporal.uiUrl, namespace: config.temporal.namespace });
      return { reportPath };
    },

    async markRunning(info) {
      deps.metrics?.running(info.experiment, info.namespace);
    },
  };
}
