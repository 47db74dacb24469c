/**
 * Rollback triggers (the seed's error rate >= 5 %, P95 >= 2 s, availability <= 95 %), each a Prometheus
 * expression compared with its threshold. Evaluated by the workflow every pollInterval while faults are
 * active; the first breach stops the chaos and reverts at once.
 */
import type { RollbackTriggerSpec } from '../../config/spec.js';
import type { TriggerBreach } from '../types.js';
import { compareNumeric } from '../probes/comparators.js';
import { promInstant } from '../prometheus.js';
import { log } from '@temporalio/activity';

export async function evaluateTriggers(triggers: RollbackTriggerSpec[]): Promise<TriggerBreach | null> {
  for (const t of triggers) {
    let v: number | null;
    try {
      v = await promInstant(t.endpoint, t.query);
    } catch (e) {
      // An unreachable Prometheus is not a breach by itself (the probes cover the system); say so loudly.
      log.warn(`rollback trigger ${t.name} could not be evaluated: ${(e as Error).message}`);
      continue;
    }
    if (v === null || Number.isNaN(v)) continue;
    if (compareNumeric(v, t.criteria, t.threshold).ok) {
      return { name: t.name, query: t.query, value: v, criteria: t.criteria, threshold: t.threshold, at: new Date().toISOString() };
    }
  }
  return null;
}
