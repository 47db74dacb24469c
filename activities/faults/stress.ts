/**
 * pod-cpu-hog and pod-memory-hog on the local platform share one shape: start N stressor processes once
 * (idempotent: if this run's marked stressors already exist, nothing new is started), record their pids
 * in the ledger, kill them all on revert, verify none with the marker is left.
 */
import type { LocalFaultDriver } from './driver.js';
import { waitClean } from './driver.js';
import type { StressKind } from './stressor.js';
import { findStressors, killStressors, startStressors } from './stressor.js';
import type { FaultSpec } from '../../config/spec.js';
import type { Limits } from '../../config/policy.js';

export function stressDriver(kind: StressKind, plan: (f: FaultSpec, limits: Limits) => { count: number; amount: number; describe: string }): LocalFaultDriver {
  return {
    async inject(req, ctx, ledger) {
      const entry = await ledger.open(req);
      const existing = findStressors(ledger.key);
      if (entry.done.includes(0) || existing.length) {
        return { affected: existing.map((x) => `pid ${x}`), detail: `already running: pids ${existing.join(', ')}` };
      }
      const p = plan(req.fault, ctx.policy.limits);
      entry.rounds['0'] = [`${p.count} ${kind} stressor(s)`];
      await ledger.write(entry); // intent before action
      const pids = startStressors(kind, ledger.key, p.count, req.expiresAt, p.amount);
      entry.data = { pids };
      entry.done.push(0);
      await ledger.write(entry);
      return { affected: pids.map((x) => `pid ${x}`), detail: `${p.describe} (pids ${pids.join(', ')}; self-expiring at ${req.expiresAt})` };
    },
    async revert(_ref, _ctx, ledger) {
      return killStressors(ledger.key).map((pid) => `pid ${pid}`);
    },
    async verify(_ref, ctx, ledger) {
      return waitClean(
        `${kind} stressors gone`,
        async () => {
          const left = findStressors(ledger.key);
          return { clean: left.length === 0, observed: left.length ? `still running: pids ${left.join(', ')}` : `no ${kind} stressor left` };
        },
        ctx,
        10_000,
        200,
      );
    },
  };
}
