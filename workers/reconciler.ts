/**
 * The orphan reconciler's Temporal Schedule: created (or brought up to date) by every worker at start-up,
 * idempotently, then triggered once so a worker that starts after an outage cleans up at once. One schedule per
 * task queue: `tempest-reconciler.<task queue>`, every `reconciler.interval` of the worker's policy (default 30 s),
 * overlap BUFFER_ONE: two reconciles never run at the same time, and a fire that comes while one is still running (a
 * reconcile that finds many entries takes seconds) runs right after it instead of being dropped, so a terminated
 * run waits at most one interval plus one reconcile (SKIP, before, could make that two intervals).
 */
import { Client, Connection, ScheduleNotFoundError, ScheduleOverlapPolicy } from '@temporalio/client';
import type { TempestConfig } from '../config/tempest-config.js';
import { temporalConnection } from '../client/connection.js';

export const reconcilerScheduleId = (taskQueue: string) => `tempest-reconciler.${taskQueue}`;

export async function ensureReconciler(
  client: Client,
  config: TempestConfig,
  opts: { taskQueue?: string; triggerNow?: boolean } = {},
): Promise<{ scheduleId: string; created: boolean } | undefined> {
  if (!config.reconciler.enabled) return undefined;
  const taskQueue = opts.taskQueue ?? config.temporal.taskQueue;
  const scheduleId = reconcilerScheduleId(taskQueue);
  const spec = { intervals: [{ every: config.reconciler.interval }] };
  const action = { type: 'startWorkflow' as const, workflowType: 'reconcileWorkflow', args: [{}], taskQueue, workflowId: `${scheduleId}-run` };
  const handle = client.schedule.getHandle(scheduleId);
  let created = false;
  try {
    await handle.update((prev) => ({ ...prev, spec, action, policies: { ...prev.policies, overlap: ScheduleOverlapPolicy.BUFFER_ONE } }));
  } catch (e) {
    if (!(e instanceof ScheduleNotFoundError)) throw e;
    try {
      await client.schedule.create({
        scheduleId,
        spec,
        action,
        policies: { overlap: ScheduleOverlapPolicy.BUFFER_ONE, catchupWindow: '1m' },
        state: { note: 'Tempest orphan-fault reconciler (created by a worker)' },
      });
      created = true;
    } catch (c) {
      // Another worker created it a moment ago: that one is as good as ours.
      if ((c as Error).name !== 'ScheduleAlreadyRunning') throw c;
    }
  }
  if (opts.triggerNow !== false) await handle.trigger(ScheduleOverlapPolicy.BUFFER_ONE);
  return { scheduleId, created };
}

/** For `tempest worker`: its own client connection (the worker's NativeConnection cannot serve a Client). */
export async function ensureReconcilerFor(config: TempestConfig, log: (m: string) => void): Promise<void> {
  if (!config.reconciler.enabled) {
    log('orphan reconciler: off (reconciler.enabled false)');
    return;
  }
  const connection = await Connection.connect(temporalConnection(config));
  try {
    const r = await ensureReconciler(new Client({ connection, namespace: config.temporal.namespace }), config);
    log(
      `orphan reconciler: schedule ${r!.scheduleId} ${r!.created ? 'created' : 'up to date'}, every ${config.reconciler.interval / 1000}s; triggered once now`,
    );
  } finally {
    await connection.close();
  }
}
