/**
 * Progressive chaos (the seed's stage_1 -> stage_2 -> stage_3): each stage runs the engine as a child
 * experiment workflow with PODS_AFFECTED_PERC = chaos_percentage for the stage's duration. A stage passes
 * when its run was not aborted or in error and the share of probe checks that passed reached its
 * success_threshold; a stage whose dependency did not pass is skipped. Children are asked to cancel (and so
 * revert) if this workflow is cancelled or terminated — never left running unattended.
 */
import { defineQuery, getExternalWorkflowHandle, isCancellation, setHandler, workflowInfo } from '@temporalio/workflow';
import type { ProgressiveSpec, RunOptions, ExperimentSpec } from '../config/spec.js';
import type { Verdict } from '../activities/types.js';
import { abortSignal, signalText } from './experiment.js';
import { runExperimentChild } from './children.js';
import { progressiveInputProblem } from './input.js';
import { probeCheckRatio, resilienceScore } from './score.js';

export interface ProgressiveInput {
  spec: ProgressiveSpec;
  options: RunOptions;
}

export interface StageOutcome {
  id: string;
  name: string;
  chaosPercentage: number;
  state: 'pending' | 'running' | 'passed' | 'failed' | 'skipped';
  workflowId?: string;
  verdict?: Verdict;
  /** Share of probe checks that passed during the stage (1 when the engine has no probes and the run passed). */
  successRatio?: number;
  successThreshold: number;
  probeSuccessPercentage?: number;
  reason: string;
}

export interface ProgressiveResult {
  name: string;
  verdict: Verdict;
  reason: string;
  stages: StageOutcome[];
  /** Litmus resilience score over the stages that ran (equal weights). */
  resilienceScore: number;
}

export const progressiveStatusQuery = defineQuery<StageOutcome[]>('progressiveStatus');

export async function progressiveWorkflow(input: ProgressiveInput): Promise<ProgressiveResult> {
  const malformed = progressiveInputProblem(input);
  if (malformed) return { name: 'invalid-input', verdict: 'Error', reason: `the run's input is malformed: ${malformed}`, stages: [], resilienceScore: 0 };
  const { spec, options } = input;
  const stages: StageOutcome[] = spec.stages.map((s) => ({
    id: s.id,
    name: s.name,
    chaosPercentage: s.chaosPercentage,
    state: 'pending',
    successThreshold: s.successThreshold,
    reason: '',
  }));
  let abortReason: string | undefined;
  let current: string | undefined;
  setHandler(progressiveStatusQuery, () => stages);
  setHandler(abortSignal, (why?: string) => {
    abortReason ??= signalText(why) || 'abort requested';
    // Forward to the running stage: it stops its chaos and reverts at once.
    if (current)
      void getExternalWorkflowHandle(current)
        .signal(abortSignal, abortReason)
        .catch(() => undefined);
  });

  try {
    for (let i = 0; i < spec.stages.length; i++) {
      const st = spec.stages[i];
      const out = stages[i];
      if (abortReason) {
        out.state = 'skipped';
        out.reason = `aborted: ${abortReason}`;
        continue;
      }
      const dep = st.dependsOn ? stages.find((x) => x.id === st.dependsOn) : undefined;
      if (dep && dep.state !== 'passed') {
        out.state = 'skipped';
        out.reason = `depends on ${dep.id} (${dep.name}), which ${dep.state === 'skipped' ? 'was skipped' : 'did not pass'}`;
        continue;
      }
      const engine: ExperimentSpec = {
        ...spec.engine,
        faults: spec.engine.faults.map((f) => ({ ...f, podsAffectedPerc: st.chaosPercentage, durationMs: st.durationMs })),
      };
      const childId = `${workflowInfo().workflowId}-${st.id}`;
      out.state = 'running';
      out.workflowId = childId;
      current = childId;
      const r = await runExperimentChild(childId, engine, options, {
        memo: { progressive: spec.name, stage: `${st.id}: ${st.name}`, faults: engine.faults.map((f) => f.name).join(',') },
      });
      current = undefined;
      const ratio = probeCheckRatio(r);
      out.verdict = r.verdict;
      out.successRatio = ratio;
      out.probeSuccessPercentage = r.probeSuccessPercentage;
      const ok = r.verdict !== 'Error' && r.verdict !== 'Aborted' && ratio >= st.successThreshold;
      out.state = ok ? 'passed' : 'failed';
      out.reason = `${r.verdict}; ${(ratio * 100).toFixed(1)}% of probe checks passed (threshold ${(st.successThreshold * 100).toFixed(1)}%)${ok ? '' : `: ${r.reason}`}`;
    }
  } catch (err) {
    if (!isCancellation(err)) throw err;
    abortReason ??= 'workflow cancelled';
    for (const s of stages)
      if (s.state === 'pending' || s.state === 'running') {
        s.state = s.state === 'running' ? 'failed' : 'skipped';
        s.reason = `aborted: ${abortReason}`;
      }
  }
  const ran = stages.filter((s) => s.probeSuccessPercentage !== undefined);
  const score = resilienceScore(ran.map((s) => ({ name: s.id, weight: 10, probeSuccessPercentage: s.probeSuccessPercentage! })));
  const failed = stages.find((s) => s.state === 'failed');
  const verdict: Verdict = abortReason ? 'Aborted' : failed ? (failed.verdict === 'Error' ? 'Error' : 'Fail') : 'Pass';
  const reason = abortReason
    ? `aborted: ${abortReason}`
    : failed
      ? `${failed.id} (${failed.name}) did not pass: ${failed.reason}`
      : `all ${stages.length} stage(s) passed`;
  return { name: spec.name, verdict, reason, stages, resilienceScore: score };
}
