/**
 * The seed's rollback_actions, run by the workflow after an emergency rollback (a trigger breach or a
 * stopOnFailure probe), once every fault is already reverted and verified:
 *   "Scale up replicas"      (pod_count < min_replicas)      -> scale the owner to minReplicas
 *   "Restart unhealthy pods" (pod_restart_count > threshold) -> delete pods not ready or restarted too often
 *   "Trigger incident"       (recovery_time > 300)           -> PagerDuty Events API v2 trigger
 * ("Stop chaos experiment" is the emergency rollback itself.) Each action reports done/skipped/failed;
 * one failing action never stops the others.
 */
import type { RollbackActionSpec } from '../../config/spec.js';
import type { RollbackActionOutcome, RollbackActionsRequest } from '../types.js';
import type { Platform } from '../platform/types.js';
import { readSecret } from '../secrets.js';

async function one(a: RollbackActionSpec, req: RollbackActionsRequest, platform: Platform): Promise<Omit<RollbackActionOutcome, 'name' | 'type'>> {
  switch (a.type) {
    case 'scale': {
      if (!platform.workload || !platform.scale) return { status: 'skipped', detail: `platform ${platform.name} cannot scale` };
      const w = await platform.workload(req.target);
      if (w.ready >= a.minReplicas && w.desired >= a.minReplicas) return { status: 'skipped', detail: `${w.ready} ready >= min ${a.minReplicas}` };
      const to = Math.max(a.minReplicas, w.desired);
      await platform.scale(req.target, to);
      return { status: 'done', detail: `scaled from ${w.desired} desired (${w.ready} ready) to ${to}` };
    }
    case 'restartUnhealthy': {
      if (!platform.workload || !platform.restartPod) return { status: 'skipped', detail: `platform ${platform.name} cannot restart pods` };
      const w = await platform.workload(req.target);
      const bad = w.pods.filter((p) => !p.ready || p.restarts > a.restartThreshold);
      for (const p of bad) await platform.restartPod(req.target, p.name);
      return bad.length
        ? { status: 'done', detail: `restarted ${bad.map((p) => `${p.name} (${p.ready ? `${p.restarts} restarts` : 'not ready'})`).join(', ')}` }
        : { status: 'skipped', detail: `all ${w.pods.length} pods ready, none over ${a.restartThreshold} restarts` };
    }
    case 'pagerduty': {
      if (req.recoveryMs !== undefined && req.recoveryMs <= a.afterRecoveryMs) {
        return { status: 'skipped', detail: `recovered in ${(req.recoveryMs / 1000).toFixed(1)}s, within ${a.afterRecoveryMs / 1000}s` };
      }
      const res = await fetch(a.eventsUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          // Resolved here, at the moment of use; never in a workflow input, a result or a log line.
          routing_key: readSecret(a.routingKeyRef),
          event_action: 'trigger',
          dedup_key: `tempest-${req.workflowId}`,
          payload: {
            summary: `Chaos experiment ${req.experiment} rolled back: ${req.reason}`.slice(0, 1024),
            source: `tempest/${req.target.namespace}/${req.target.labelSelector}`,
            severity: a.severity,
            custom_details: { workflowId: req.workflowId, recoveryMs: req.recoveryMs },
          },
        }),
        signal: AbortSignal.timeout(10_000),
      });
      const body = (await res.json().catch(() => ({}))) as { status?: string; dedup_key?: string; errors?: string[] };
      if (res.status !== 202) return { status: 'failed', detail: `PagerDuty answered ${res.status}: ${body.errors?.join('; ') ?? body.status ?? ''}` };
      return { status: 'done', detail: `incident triggered (dedup_key ${body.dedup_key})` };
    }
  }
}

/** Run the WORKER's rollback actions (the caller passes its own policy's list). */
export async function runRollbackActions(
  req: RollbackActionsRequest & { actions: RollbackActionSpec[] },
  platform: Platform,
): Promise<RollbackActionOutcome[]> {
  const out: RollbackActionOutcome[] = [];
  for (const a of req.actions) {
    try {
      out.push({ name: a.name, type: a.type, ...(await one(a, req, platform)) });
    } catch (e) {
      out.push({ name: a.name, type: a.type, status: 'failed', detail: (e as Error).message });
    }
  }
  return out;
}
