/**
 * pod-delete on the local platform: every CHAOS_INTERVAL, delete PODS_AFFECTED_PERC of the running pods
 * through the fleet's API (FORCE=true: grace period 0, i.e. SIGKILL; else SIGTERM with a grace period).
 * The fleet recreates them, as a ReplicaSet would. Revert has nothing to undo but must prove the owner is
 * back to its desired ready replicas.
 */
import type { LocalFaultDriver } from '../driver.js';
import { ownerRecovered, selectPods } from '../driver.js';

/** Grace period when FORCE=false (Kubernetes' default terminationGracePeriodSeconds). */
const DEFAULT_GRACE_S = 30;

export const podDeleteLocal: LocalFaultDriver = {
  async inject(req, ctx, ledger) {
    const entry = await ledger.open(req);
    const key = String(req.round);
    if (entry.done.includes(req.round)) return { affected: entry.rounds[key] ?? [], detail: 'round already done' };
    // Same round retried: reuse the targets chosen before (deleting a gone pod is a no-op).
    let targets = entry.rounds[key];
    if (!targets) {
      targets = selectPods(await ctx.fleet.pods(), req.fault, ctx.policy.limits.maxTargetPods).map((p) => p.name);
      entry.rounds[key] = targets;
      await ledger.write(entry); // intent first
    }
    const grace = req.fault.params.force ? 0 : DEFAULT_GRACE_S;
    const deleted: string[] = [];
    for (const name of targets) {
      if (await ctx.fleet.deletePod(name, grace)) deleted.push(name);
      ctx.heartbeat({ round: req.round, deleted });
    }
    entry.done.push(req.round);
    await ledger.write(entry);
    return { affected: targets, detail: `deleted ${targets.join(', ')} (grace ${grace}s)` };
  },
  async revert() {
    return []; // deleted pods come back through their owner; nothing else to undo
  },
  async verify(_ref, ctx) {
    return ownerRecovered(ctx);
  },
};
