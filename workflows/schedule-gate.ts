/**
 * The schedule gate: a Litmus ChaosSchedule as a Temporal Schedule plus this workflow. The Temporal Schedule
 * (created by `tempest schedule apply`) fires at the window's start on the included days; the gate then
 * checks, in workflow time, that it is inside the window (timeRange, workDays) and that minChaosInterval has
 * passed since the last run of this engine, and only then runs the experiment as a child workflow.
 * A skipped run says why (result + Temporal UI), so "why did chaos not run last night?" has an answer.
 */
import { patched, proxyActivities, workflowInfo, log } from '@temporalio/workflow';
import type { RunOptions, ScheduleSpec } from '../config/spec.js';
import type { ExperimentResult, TempestActivities } from '../activities/types.js';
import { runExperimentChild } from './children.js';
import { gateDecision } from './gate.js';
import { scheduleGateInputProblem } from './input.js';
import { printable } from './text.js';
import { SEARCH_ATTRIBUTES } from './experiment.js';

export interface ScheduleGateInput {
  schedule: ScheduleSpec;
  options: RunOptions;
}

export interface ScheduleGateResult {
  ran: boolean;
  reason: string;
  experimentWorkflowId?: string;
  verdict?: ExperimentResult['verdict'];
}

const { lastRunStart } = proxyActivities<TempestActivities>({ startToCloseTimeout: '30s', retry: { maximumAttempts: 3 } });

export async function scheduleGateWorkflow(input: ScheduleGateInput): Promise<ScheduleGateResult> {
  const shape = scheduleGateInputProblem(input);
  if (shape) return { ran: false, reason: `the gate's input is malformed: ${shape}` };
  const { schedule, options } = input;
  const now = new Date();
  // The last run is found by search attribute; a worker without them answers 'unknown' (the gate then fails closed).
  const last = schedule.minChaosIntervalMs > 0 ? await lastRunStart(schedule.engine.name, schedule.engine.target.namespace) : null;
  const d = gateDecision(schedule, now, last === 'unknown' ? undefined : last ? new Date(last) : null);
  if (!d.run) {
    log.info(printable(`schedule ${schedule.name}: skipped: ${d.reason}`));
    return { ran: false, reason: d.reason };
  }
  const ts = now.toISOString().replace(/[-:]/g, '').slice(0, 15);
  // The gate's own id ends with the schedule's timestamp (`...-2026-12-01T02:00:00Z`): its last characters are not
  // unique and not plain; the run id is both. (Older gates used the workflow id's tail.)
  const suffix = patched('gate-child-id-v1')
    ? workflowInfo()
        .runId.replace(/[^a-f0-9]/g, '')
        .slice(0, 6)
    : workflowInfo().workflowId.slice(-4);
  const childId = `${schedule.engine.name}-${ts}-${suffix}`;
  const result = await runExperimentChild(childId, schedule.engine, options, {
    memo: { schedule: schedule.name, faults: schedule.engine.faults.map((f) => f.name).join(',') },
    // The same attributes a CLI start sets: the next gate finds this run by them (minChaosInterval).
    searchAttributes: options.searchAttributes
      ? {
          [SEARCH_ATTRIBUTES.experiment]: [schedule.engine.name],
          [SEARCH_ATTRIBUTES.namespace]: [schedule.engine.target.namespace],
          [SEARCH_ATTRIBUTES.verdict]: ['Running'],
        }
      : undefined,
  });
  return { ran: true, reason: d.reason, experimentWorkflowId: childId, verdict: result.verdict };
}
