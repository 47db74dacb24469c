/**
 * pod-delete on Kubernetes: every CHAOS_INTERVAL, delete PODS_AFFECTED_PERC of the running target pods
 * (or TARGET_PODS). FORCE=true deletes with gracePeriodSeconds 0; otherwise the pod's own grace period
 * applies. Each delete carries a uid precondition, so a retried round never deletes a namesake that the
 * owner recreated (StatefulSet). SEQUENCE=serial waits for the owner to be whole between two deletions.
 * Revert has nothing to undo (the owner recreates the pods); verify: every deleted pod is gone or
 * terminating, and the owner is back to its desired ready replicas, in its status and in the pod list.
 * More pods than limits.maxTargetPods are refused (a fresh selection, and a retried round whose ledger names more).
 * The ledger is read as a hint: a garbled one is none, its uids are strings or ignored.
 */
import { kcallGone } from '../../platform/k8s/client.js';
import { isRunning } from '../../platform/k8s/target.js';
import { isPlainObject, type LedgerEntry } from '../driver.js';
import { candidatePods, forEachTarget, roundTargets, selectPods, waitClean, type K8sFaultDriver } from '../kubernetes-common.js';

interface PodDeleteData {
  /** name -> uid of every pod a round chose */
  uids: Record<string, string>;
}

/** The ledger's name -> uid map (tenant-writable): string values only. */
function dataOf(entry: LedgerEntry | undefined): PodDeleteData {
  const uids: Record<string, string> = {};
  const d = entry?.data;
  if (isPlainObject(d) && isPlainObject(d.uids)) for (const [n, u] of Object.entries(d.uids)) if (typeof u === 'string') uids[n] = u;
  return { uids };
}

export const podDeleteKubernetes: K8sFaultDriver = {
  rbac: ['get/list/delete pods', 'get/list/patch the owner (ledger)', 'get replicasets (pod -> deployment)'],

  async check(fault, ctx) {
    await candidatePods(fault, ctx); // more than limits.maxTargetPods: refused before anything is deleted
  },

  async inject(req, ctx, ledger) {
    const entry = await ledger.open(req);
    const round = String(req.round);
    if (entry.done.includes(req.round)) return { affected: entry.rounds[round] ?? [], detail: 'round already done', alreadyDone: true };
    const data = dataOf(entry);
    let targets = entry.rounds[round];
    if (targets) {
      targets = roundTargets(req.fault, targets, ctx); // a rewritten ledger naming more pods than allowed: refused
    } else {
      const chosen = selectPods(await ctx.target.runningPods(), req.fault, ctx.policy.limits.maxTargetPods);
      targets = chosen.map((p) => p.metadata!.name!);
      for (const p of chosen) data.uids[p.metadata!.name!] = p.metadata!.uid!;
      entry.rounds[round] = targets;
      entry.data = data as unknown as Record<string, unknown>;
      await ledger.write(entry); // intent first
    }
    const grace = req.fault.params.force ? 0 : undefined;
    const namespace = ctx.target.namespace;
    const deleted: string[] = [];
    // A retried round deletes only pods the target still selects (a ledger naming another pod is ignored);
    // the uid precondition keeps it from deleting a namesake the owner recreated.
    const selected = new Set((await ctx.target.pods()).map((p) => p.metadata!.name!));
    const mine = targets.filter((t) => typeof t === 'string' && selected.has(t) && typeof data.uids?.[t] === 'string');
    await forEachTarget(
      mine,
      req.fault.sequence,
      async (name) => {
        const r = await kcallGone({ verb: 'delete', resource: 'pods', namespace, name }, async () => {
          try {
            return await ctx.k8s.core.deleteNamespacedPod({ name, namespace, gracePeriodSeconds: grace, body: { preconditions: { uid: data.uids[name] } } });
          } catch (e) {
            // uid precondition failed: the pod of that name is a newer one; ours is gone already
            if ((e as { code?: number }).code === 409) return undefined;
            throw e;
          }
        });
        if (r) deleted.push(name);
        ctx.heartbeat({ round: req.round, deleted });
      },
      async () => {
        await waitClean('owner whole again before the next serial deletion', () => ctx.target.recovered(), ctx, ctx.settings.verifyTimeoutMs);
      },
    );
    entry.done.push(req.round);
    entry.data = data as unknown as Record<string, unknown>;
    await ledger.write(entry);
    const gone = targets.filter((t) => !deleted.includes(t));
    return {
      affected: targets,
      detail: `deleted ${deleted.join(', ') || 'nothing'}${gone.length ? ` (already gone: ${gone.join(', ')})` : ''} (${grace === 0 ? 'FORCE=true: grace 0 s' : "the pod's own grace period"})`,
      alreadyDone: false,
    };
  },

  async revert() {
    return []; // the owner recreates deleted pods; nothing else to undo
  },

  async verify(_ref, ctx, ledger) {
    const data = dataOf(await ledger.read());
    const uids = new Set(Object.values(data.uids));
    return ledger.note(
      await waitClean(
        'owner back to its desired ready replicas',
        async () => {
          const lingering = (await ctx.target.pods()).filter((p) => uids.has(p.metadata?.uid ?? '') && isRunning(p)).map((p) => p.metadata!.name!);
          const r = await ctx.target.recovered();
          if (lingering.length) return { clean: false, observed: `deleted pod(s) still running: ${lingering.join(', ')}; ${r.observed}` };
          return r;
        },
        ctx,
        ctx.settings.verifyTimeoutMs,
      ),
    );
  },
};
