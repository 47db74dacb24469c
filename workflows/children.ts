/**
 * Running an experiment as a child workflow (schedule gate, progressive stages, game-day steps), with one
 * policy: if the parent is cancelled or terminated, the child is asked to cancel — so its finally-block
 * reverts every fault — and the parent waits for that; a child is never terminated mid-fault.
 */
import { ChildWorkflowCancellationType, ParentClosePolicy, executeChild } from '@temporalio/workflow';
import type { ExperimentSpec, RunOptions } from '../config/spec.js';
import type { ExperimentResult } from '../activities/types.js';

export function runExperimentChild(
  workflowId: string,
  spec: ExperimentSpec,
  options: RunOptions,
  extra: { memo?: Record<string, unknown>; searchAttributes?: Record<string, string[]> } = {},
): Promise<ExperimentResult> {
  return executeChild<(i: { spec: ExperimentSpec; options: RunOptions }) => Promise<ExperimentResult>>('experimentWorkflow', {
    workflowId,
    args: [{ spec, options }],
    parentClosePolicy: ParentClosePolicy.REQUEST_CANCEL,
    cancellationType: ChildWorkflowCancellationType.WAIT_CANCELLATION_COMPLETED,
    memo: extra.memo,
    searchAttributes: extra.searchAttributes,
  });
}
