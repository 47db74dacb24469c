/** Litmus target selection, for any platform's pod shape. */
import type { FaultSpec } from '../../config/spec.js';
import { tempestError } from '../errors.js';

/**
 * TARGET_PODS if given, else PODS_AFFECTED_PERC of the running pods (0 = one pod), chosen at random. More than
 * `maxPods` (the operator's limits.maxTargetPods) is refused, not cut: a silently smaller experiment is another
 * experiment.
 */
export function selectTargets<T>(pods: T[], fault: FaultSpec, nameOf: (p: T) => string, running: (p: T) => boolean, maxPods = Infinity): T[] {
  const chosen = choose(pods, fault, nameOf, running);
  if (chosen.length > maxPods) {
    throw tempestError(
      'FaultRefused',
      `${fault.name} would affect ${chosen.length} pods, more than limits.maxTargetPods (${maxPods}): lower PODS_AFFECTED_PERC or name TARGET_PODS`,
    );
  }
  return chosen;
}

function choose<T>(pods: T[], fault: FaultSpec, nameOf: (p: T) => string, running: (p: T) => boolean): T[] {
  let candidates = pods.filter(running);
  if (fault.targetPods.length) {
    candidates = candidates.filter((p) => fault.targetPods.includes(nameOf(p)));
    if (!candidates.length) throw tempestError('TargetNotFound', `none of TARGET_PODS (${fault.targetPods.join(', ')}) is running`);
    return candidates;
  }
  if (!candidates.length) throw tempestError('TargetNotFound', 'no running pod matches the target');
  const n = fault.podsAffectedPerc === 0 ? 1 : Math.max(1, Math.round((candidates.length * fault.podsAffectedPerc) / 100));
  const shuffled = [...candidates];
  for (let i = shuffled.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [shuffled[i], shuffled[j]] = [shuffled[j], shuffled[i]];
  }
  return shuffled.slice(0, n);
}
