/** The local-process platform as a Platform: fleets from tempest.yaml, drivers from activities/faults/<fault>/local.ts. */
import type { ExperimentSpec, FaultName } from '../../config/spec.js';
import type { TempestConfig } from '../../config/tempest-config.js';
import type { FaultRef, InjectRequest, PreflightResult, RevertResult } from '../types.js';
import type { ActivityCtx, LedgerFinding, Platform, RevertOptions } from './types.js';
import { LocalPlatform } from './local.js';
import { tempestError } from '../errors.js';
import { LOCAL_FAULTS, LOCAL_UNSUPPORTED } from '../faults/index.js';
import { failpoint } from '../failpoints.js';
import { LEDGER_PREFIX, Ledger, ledgerFinding, ledgerKey, type LocalFaultContext } from '../faults/driver.js';

export function createLocalPlatform(config: TempestConfig): Platform {
  const local = new LocalPlatform(config);

  const driverFor = (name: FaultName) => {
    const d = LOCAL_FAULTS[name];
    if (!d) throw tempestError('UnsupportedFault', `${name} cannot run on the local platform: ${LOCAL_UNSUPPORTED[name] ?? 'no driver'}`);
    return d;
  };
  const context = (ref: FaultRef, ctx: ActivityCtx): LocalFaultContext => ({
    platform: local,
    fleet: local.fleetFor(ref.target),
    policy: config.policy,
    stateDir: config.state.dir,
    heartbeat: ctx.heartbeat,
    signal: ctx.signal,
  });

  return {
    name: 'local',
    async workload(target) {
      const fleet = local.fleetFor(target);
      const [o, pods] = await Promise.all([fleet.owner(), fleet.pods()]);
      return { desired: o.desired, ready: o.ready, pods: pods.map((p) => ({ name: p.name, ready: p.ready, restarts: p.restarts })) };
    },
    async scale(target, replicas) {
      await local.fleetFor(target).scale(replicas);
    },
    async restartPod(target, pod) {
      await local.fleetFor(target).deletePod(pod, 0);
    },
    async listLedger(filter = {}) {
      const out: LedgerFinding[] = [];
      for (const t of config.platform.local.targets) {
        if (filter.namespace && t.namespace !== filter.namespace) continue;
        const target = { namespace: t.namespace, labelSelector: t.selector, kind: 'deployment' as const };
        const owner = await local.fleetFor(target).owner();
        const where = `fleet ${owner.name} (${t.namespace}/${t.selector})`;
        for (const [key, raw] of Object.entries(owner.annotations ?? {})) {
          if (!key.startsWith(LEDGER_PREFIX)) continue;
          out.push(ledgerFinding(key, raw, target, where));
        }
      }
      return out;
    },
    async preflight(spec: ExperimentSpec): Promise<PreflightResult> {
      for (const f of spec.faults) await driverFor(f.name).check?.(f, local, config.policy);
      const pods = await local.fleetFor(spec.target).pods();
      if (!pods.length) throw tempestError('TargetNotFound', `${spec.target.namespace}/${spec.target.labelSelector} has no pods`);
      return { platform: 'local', targets: pods.map((p) => p.name) };
    },
    async inject(req: InjectRequest, ctx: ActivityCtx) {
      const c = context(req, ctx);
      const r = await driverFor(req.fault.name).inject(req, c, new Ledger(c.fleet, ledgerKey(req), true));
      return { ...r, alreadyDone: /^(round )?already\b/.test(r.detail) }; // the drivers' own wording, not a path or pod name in it
    },
    async prepare(ref: FaultRef, ctx: ActivityCtx) {
      const d = driverFor(ref.fault.name);
      if (!d.prepare) throw tempestError('UnsupportedFault', `${ref.fault.name} has no prepare step on the local platform`);
      return d.prepare(ref, context(ref, ctx));
    },
    async revert(ref: FaultRef, ctx: ActivityCtx, opts: RevertOptions = {}): Promise<RevertResult> {
      const c = context(ref, ctx);
      const ledger = new Ledger(c.fleet, ledgerKey(ref));
      if (opts.ledgerOnly && !(await ledger.read())) {
        return {
          undone: [],
          verification: 'target is outside the blast radius now and holds no ledger entry of this run: nothing touched',
          at: new Date().toISOString(),
        };
      }
      const driver = driverFor(ref.fault.name);
      const undone = await driver.revert(ref, c, ledger);
      ctx.heartbeat({ undone });
      failpoint('revert.acted');
      const verification = await driver.verify(ref, c, ledger);
      await ledger.clear();
      if (await ledger.read()) throw tempestError('NotYetClean', `ledger entry ${ledger.key} is still present after clearing`);
      return { undone, verification: `${verification}; ledger clean`, at: new Date().toISOString() };
    },
  };
}
