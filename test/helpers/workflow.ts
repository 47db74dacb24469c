/** Unit-testing the experiment workflow under the time-skipping server with recording activities. */
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { WorkflowHandle } from '@temporalio/client';
import { Worker } from '@temporalio/worker';
import { workflowBundle } from '../../workers/worker.js';
import type { ExperimentInput, ExperimentSpec, ProbeSpec, RunOptions, RunPolicyView } from '../../config/spec.js';
import type { ExperimentResult, TempestActivities, ProbeOutcome } from '../../activities/types.js';
import { loadEngine } from '../../config/load.js';

export const seed = () => loadEngine('examples/engines/api-gateway-chaos.yaml');
export const opts = (o: Partial<RunOptions> = {}): RunOptions => ({ dryRun: false, searchAttributes: false, ...o });

/** The worker-side policy a fake preflight answers with (what the run's guards, triggers and actions are). */
export const policyView = (p: Partial<RunPolicyView> = {}): RunPolicyView => ({
  source: 'test policy',
  guards: [],
  triggers: [],
  triggerPollMs: 5000,
  rollbackActions: [],
  ...p,
});

export interface Calls {
  log: string[];
  injected: number;
  reverted: number;
  /** Called on every injection (round number): lets a test act once chaos runs, without polling queries. */
  onInject?: (round: number) => void;
}

/** Calls plus a promise that resolves once the first fault round has been injected. */
export function callsWithFirstInject(): Calls & { firstInject: Promise<void> } {
  let resolve!: () => void;
  const firstInject = new Promise<void>((r) => (resolve = r));
  return { log: [], injected: 0, reverted: 0, onInject: () => resolve(), firstInject };
}

export function fakeActivities(calls: Calls, over: Partial<TempestActivities> = {}, policy: Partial<RunPolicyView> = {}): TempestActivities {
  const outcome = (p: ProbeSpec, ok: boolean): ProbeOutcome => ({
    name: p.name,
    type: p.type,
    mode: p.mode,
    phase: 'Continuous',
    iteration: 0,
    status: ok ? 'Passed' : 'Failed',
    reason: ok ? 'ok' : 'response code 503 is not == 200',
    attempts: 1,
    durationMs: 1,
    at: new Date().toISOString(),
  });
  return {
    async preflight() {
      calls.log.push('preflight');
      return { platform: 'test', targets: ['a', 'b', 'c'], policy: policyView(policy) };
    },
    async runGuard(g) {
      calls.log.push(`guard:${g.name}`);
      return { name: g.name, type: 'http', passed: true, reason: 'ok' };
    },
    async prepareFault(r) {
      calls.log.push(`prepare:${r.fault.name}`);
      return { prepared: true };
    },
    async runProbe(p) {
      calls.log.push(`probe:${p.name}`);
      return outcome(p, true);
    },
    async injectFault(r) {
      calls.injected++;
      calls.onInject?.(r.round);
      calls.log.push(`inject:${r.fault.name}:${r.round}`);
      return { round: r.round, affected: ['pod-a'], detail: 'deleted pod-a', alreadyDone: false, at: new Date().toISOString() };
    },
    async revertFault(r) {
      calls.reverted++;
      calls.log.push(`revert:${r.fault.name}`);
      return { undone: [], verification: '3/3 ready', at: new Date().toISOString() };
    },
    async evaluateTriggers() {
      return null;
    },
    async publishResult() {
      calls.log.push('publish');
      return { reportPath: '/dev/null' };
    },
    async markRunning() {},
    async lastRunStart() {
      return null;
    },
    async listOrphans() {
      calls.log.push('listOrphans');
      return [];
    },
    async revertOrphan(c) {
      calls.log.push(`revertOrphan:${c.key}`);
      return { key: c.key, runId: c.runId, fault: c.fault, where: c.where, reverted: true, from: 'history' as const, undone: [], verification: 'clean' };
    },
    async runRollbackActions(req) {
      const a = req.actions ?? [];
      calls.log.push(`actions:${a.map((x) => x.type).join(',')}`);
      return a.map((x) => ({ name: x.name, type: x.type, status: 'done' as const, detail: 'ok' }));
    },
    ...over,
  };
}

export async function runWorkflow(
  env: TestWorkflowEnvironment,
  spec: ExperimentSpec,
  options: RunOptions,
  acts: TempestActivities,
  during?: (h: WorkflowHandle) => Promise<void>,
): Promise<ExperimentResult> {
  const taskQueue = `tq-${Math.random().toString(36).slice(2)}`;
  const worker = await Worker.create({ connection: env.nativeConnection, taskQueue, workflowBundle: await workflowBundle(), activities: acts });
  return worker.runUntil(async () => {
    const input: ExperimentInput = { spec, options };
    const h = await env.client.workflow.start('experimentWorkflow', { taskQueue, workflowId: `wf-${taskQueue}`, args: [input] });
    if (during) await during(h);
    return h.result() as Promise<ExperimentResult>;
  });
}
