/**
 * The monthly game day as one durable workflow: scenarios in order, each time-boxed by its duration. An
 * automated step runs its engine as a child experiment (reverted like any run, cancelled — never terminated —
 * if the game day goes away); a manual step waits for the participants to report it (`completeStep`
 * signal, `tempest gameday complete`) until the scenario's time is up. `abort` stops the current child
 * (which reverts) and skips the rest. The result is the game day's record: every step, who reported what,
 * and the resilience score of the automated runs.
 */
import { condition, defineQuery, defineSignal, getExternalWorkflowHandle, isCancellation, setHandler, workflowInfo } from '@temporalio/workflow';
import type { GameDaySpec, RunOptions } from '../config/spec.js';
import type { Verdict } from '../activities/types.js';
import { abortSignal, signalText } from './experiment.js';
import { runExperimentChild } from './children.js';
import { gameDayInputProblem } from './input.js';
import { resilienceScore } from './score.js';

export interface GameDayInput {
  spec: GameDaySpec;
  options: RunOptions;
}

export interface StepOutcome {
  scenario: string;
  experiment: string;
  kind: 'engine' | 'manual';
  state: 'pending' | 'running' | 'awaiting' | 'passed' | 'failed' | 'not-done' | 'skipped';
  instructions?: string;
  workflowId?: string;
  verdict?: Verdict;
  probeSuccessPercentage?: number;
  notes?: string;
  by?: string;
  at?: string;
}

export interface GameDayResult {
  name: string;
  verdict: Verdict;
  reason: string;
  steps: StepOutcome[];
  resilienceScore: number;
}

export interface CompleteStep {
  scenario: string;
  experiment: string;
  outcome: 'pass' | 'fail';
  notes?: string;
  by?: string;
}

export const completeStepSignal = defineSignal<[CompleteStep]>('completeStep');
export const gameDayStatusQuery = defineQuery<StepOutcome[]>('gameDayStatus');

export async function gameDayWorkflow(input: GameDayInput): Promise<GameDayResult> {
  const malformed = gameDayInputProblem(input);
  if (malformed) return { name: 'invalid-input', verdict: 'Error', reason: `the run's input is malformed: ${malformed}`, steps: [], resilienceScore: 0 };
  const { spec, options } = input;
  const steps: StepOutcome[] = spec.scenarios.flatMap((sc) =>
    sc.steps.map((st) => ({
      scenario: sc.name,
      experiment: st.experiment,
      kind: st.kind,
      state: 'pending' as const,
      instructions: st.kind === 'manual' ? st.instructions : undefined,
    })),
  );
  const find = (scenario: string, experiment: string) => steps.find((s) => s.scenario === scenario && s.experiment === experiment);
  let abortReason: string | undefined;
  let current: string | undefined;
  setHandler(gameDayStatusQuery, () => steps);
  setHandler(completeStepSignal, (c: CompleteStep) => {
    if (!c || typeof c.scenario !== 'string' || typeof c.experiment !== 'string') return;
    const s = find(c.scenario, c.experiment);
    // Only a manual step that is waiting (or still pending in its scenario) can be reported.
    if (!s || s.kind !== 'manual' || !['awaiting', 'pending'].includes(s.state)) return;
    s.state = c.outcome === 'pass' ? 'passed' : 'failed';
    s.notes = signalText(c.notes);
    s.by = signalText(c.by, 128);
    s.at = new Date().toISOString();
  });
  setHandler(abortSignal, (why?: string) => {
    abortReason ??= signalText(why) || 'abort requested';
    if (current)
      void getExternalWorkflowHandle(current)
        .signal(abortSignal, abortReason)
        .catch(() => undefined);
  });

  try {
    for (const [i, sc] of spec.scenarios.entries()) {
      const deadline = Date.now() + sc.durationMs;
      for (const st of sc.steps) {
        const out = find(sc.name, st.experiment)!;
        if (abortReason) {
          out.state = 'skipped';
          out.notes = `aborted: ${abortReason}`;
          continue;
        }
        if (Date.now() >= deadline) {
          if (out.state === 'pending') {
            out.state = 'not-done';
            out.notes = `scenario time (${sc.durationMs / 60000} min) was up`;
          }
          continue;
        }
        if (st.kind === 'manual') {
          if (out.state === 'pending') out.state = 'awaiting';
          await condition(() => out.state !== 'awaiting' || !!abortReason, deadline - Date.now());
          if (out.state === 'awaiting') {
            out.state = abortReason ? 'skipped' : 'not-done';
            out.notes = abortReason ? `aborted: ${abortReason}` : `not reported within the scenario's ${sc.durationMs / 60000} min`;
          }
          continue;
        }
        const childId = `${workflowInfo().workflowId}-s${i + 1}-${st.experiment}`;
        out.state = 'running';
        out.workflowId = childId;
        current = childId;
        const r = await runExperimentChild(childId, st.engine, options, { memo: { gameDay: spec.name, scenario: sc.name, step: st.experiment } });
        current = undefined;
        out.verdict = r.verdict;
        out.probeSuccessPercentage = r.probeSuccessPercentage;
        out.state = r.verdict === 'Pass' ? 'passed' : 'failed';
        out.notes = r.reason;
        out.at = r.endedAt;
      }
    }
  } catch (err) {
    if (!isCancellation(err)) throw err;
    abortReason ??= 'workflow cancelled';
    for (const s of steps)
      if (['pending', 'running', 'awaiting'].includes(s.state)) {
        s.state = s.state === 'running' ? 'failed' : 'skipped';
        s.notes = `aborted: ${abortReason}`;
      }
  }

  const auto = steps.filter((s) => s.probeSuccessPercentage !== undefined);
  const score = resilienceScore(auto.map((s) => ({ name: s.experiment, weight: 10, probeSuccessPercentage: s.probeSuccessPercentage! })));
  const bad = steps.filter((s) => s.state === 'failed' || s.state === 'not-done');
  const verdict: Verdict = abortReason ? 'Aborted' : bad.length ? 'Fail' : 'Pass';
  const reason = abortReason
    ? `aborted: ${abortReason}`
    : bad.length
      ? `${bad.length} step(s) failed or not done: ${bad.map((s) => `${s.scenario}/${s.experiment} (${s.state})`).join('; ')}`
      : `all ${steps.length} step(s) passed`;
  return { name: spec.name, verdict, reason, steps, resilienceScore: score };
}
