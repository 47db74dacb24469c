/**
 * Rollback triggers (the seed's error rate >= 5 %, P95 >= 2 s, availability <= 95 %), each a Prometheus
 * expression compared with its threshold. Evaluated by the workflow every pollInterval while faults are
 * active; the first breach stops the chaos and reverts at once.
 */
import type { RollbackTriggerSpec } from '../../config/spec.js';
import type { TriggerBreach, TriggersBlind } from '../types.js';
import { compareNumeric } from '../probes/comparators.js';
import { promInstant } from '../prometheus.js';
import { log } from '@temporalio/activity';

/**
 * The first trigger that fires, else — when some could not be evaluated (Prometheus unreachable or answering an
 * error) — which ones and why (the workflow counts such polls in a row: flying blind long enough is a breach unless
 * the operator's policy says otherwise), else null. An empty result (no series) is not "blind": the query ran.
 */
export async function evaluateTriggers(triggers: RollbackTriggerSpec[]): Promise<TriggerBreach | TriggersBlind | null> {
  const blind: string[] = [];
  let reason = '';
  for (const t of triggers) {
    let v: number | null;
    try {
      v = await promInstant(t.endpoint, t.query);
    } catch (e) {
      log.warn(`rollback trigger ${t.name} could not be evaluated: ${(e as Error).message}`);
      blind.push(t.name);
      reason ||= (e as Error).message.slice(0, 300);
      continue;
    }
    if (v === null || Number.isNaN(v)) continue;
    if (compareNumeric(v, t.criteria, t.threshold).ok) {
      return { name: t.name, query: t.query, value: v, criteria: t.criteria, threshold: t.threshold, at: new Date().toISOString() };
    }
  }
  return blind.length ? { blind: true, names: blind, reason, at: new Date().toISOString() } : null;
}
