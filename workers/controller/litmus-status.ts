/**
 * What the controller writes back to the cluster, in Litmus's shapes (litmuschaos/chaos-operator's
 * ChaosEngineStatus and ChaosResultStatus), so `kubectl get chaosengine -A` and `kubectl get chaosresult -o yaml`
 * read as a Litmus user expects. Pure functions: the controller (index.ts) does the API calls.
 */
import type { ExperimentResult, ExperimentStatus, FaultSummary, ProbeSummary, Verdict } from '../../activities/types.js';

export const FINALIZER = 'tempest.io/revert-verified';
/** `engines: annotated` acts only on objects with this annotation set to "true". */
export const MANAGED_ANNOTATION = 'tempest.io/managed';
/** Set on a ChaosResult: the run whose verdict its history counted last (so a resync never counts it twice). */
export const COUNTED_ANNOTATION = 'tempest.io/counted-run';

/** Litmus's engineStatus values. */
export type EngineStatus = 'initialized' | 'completed' | 'stopped';
/** Litmus's verdicts (ResultVerdict). */
export type LitmusVerdict = 'Awaited' | 'Pass' | 'Fail' | 'Stopped';

export interface Condition {
  type: 'Accepted' | 'Running' | 'Reverted';
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message: string;
  lastTransitionTime: string;
  observedGeneration?: number;
}

export interface ExperimentStatusEntry {
  name: string;
  runner: string;
  experimentPod: string;
  status: string;
  verdict: LitmusVerdict;
  lastUpdateTime: string;
}

export interface EngineStatusDoc {
  engineStatus: EngineStatus;
  experiments: ExperimentStatusEntry[];
  /** Tempest's additions (Litmus has none of these): the run, its phase, and conditions. */
  workflowId?: string;
  phase?: string;
  observedGeneration?: number;
  conditions?: Condition[];
}

/** Tempest's verdict in Litmus's words: an aborted run is Stopped; an error is a Fail with its failed step. */
export function litmusVerdict(v: Verdict): LitmusVerdict {
  return v === 'Pass' ? 'Pass' : v === 'Aborted' ? 'Stopped' : 'Fail';
}

/** The workflow id of an engine: one per object (its uid), so a resync or a second controller never starts it twice. */
export const engineWorkflowId = (uid: string) => `chaosengine-${uid}`;

/** A ChaosResult's name, as Litmus names it: `<engine>-<experiment>`. */
export const chaosResultName = (engine: string, experiment: string) => `${engine}-${experiment}`.slice(0, 253);

function faultState(f: FaultSummary | undefined): string {
  if (!f) return 'Waiting';
  if (f.state === 'pending') return 'Waiting';
  if (f.state === 'skipped') return 'Skipped';
  if (f.state === 'reverted') return 'Completed';
  if (f.state === 'reverting') return 'Reverting';
  return 'Running';
}

/** status.experiments while a run is open, from the workflow's status query. */
export function runningExperiments(faults: string[], s: ExperimentStatus | undefined, workflowId: string, now: string): ExperimentStatusEntry[] {
  return faults.map((name, i) => ({
    name,
    runner: workflowId,
    experimentPod: '',
    status: faultState(s?.faults.find((f) => f.index === i) ?? s?.faults.find((f) => f.name === name)),
    verdict: 'Awaited' as const,
    lastUpdateTime: now,
  }));
}

/** status.experiments once the run closed: every experiment gets the run's verdict. */
export function finishedExperiments(faults: string[], r: ExperimentResult, now: string): ExperimentStatusEntry[] {
  return faults.map((name, i) => {
    const f = r.faults.find((x) => x.index === i) ?? r.faults.find((x) => x.name === name);
    return { name, runner: r.workflowId, experimentPod: '', status: r.verdict === 'Aborted' ? 'Aborted' : faultState(f) === 'Skipped' ? 'Skipped' : 'Completed', verdict: litmusVerdict(r.verdict), lastUpdateTime: now };
  });
}

export function withCondition(list: Condition[] | undefined, c: Omit<Condition, 'lastTransitionTime'>, now: string): Condition[] {
  const prev = (list ?? []).find((x) => x.type === c.type);
  const same = prev && prev.status === c.status && prev.reason === c.reason;
  const next: Condition = { ...c, lastTransitionTime: same ? prev.lastTransitionTime : now };
  return [...(list ?? []).filter((x) => x.type !== c.type), next];
}

export interface ChaosResultStatus {
  experimentStatus: {
    phase: 'Running' | 'Completed' | 'Stopped';
    verdict: LitmusVerdict;
    probeSuccessPercentage: string;
    failureOutput?: { failedStep: string; errorCode: string };
  };
  probeStatuses: Array<{ name: string; type: string; mode: string; status: { verdict: 'Passed' | 'Failed' | 'N/A' | 'Awaited'; description: string } }>;
  history: { passedRuns: number; failedRuns: number; stoppedRuns: number; targets: Array<{ name: string; kind: string; chaosStatus: string }> };
}

const PROBE_TYPE: Record<ProbeSummary['type'], string> = { httpProbe: 'httpProbe', cmdProbe: 'cmdProbe', k8sProbe: 'k8sProbe', promProbe: 'promProbe' };

function probePercentage(probes: ProbeSummary[], fallback: number): number {
  const judged = probes.filter((p) => p.status === 'Passed' || p.status === 'Failed');
  if (!judged.length) return fallback;
  return Math.floor((judged.filter((p) => p.status === 'Passed').length * 100) / judged.length);
}

function probeStatuses(probes: ProbeSummary[]): ChaosResultStatus['probeStatuses'] {
  return probes.map((p) => ({
    name: p.name,
    type: PROBE_TYPE[p.type] ?? p.type,
    mode: p.mode,
    status: { verdict: p.status, description: p.status === 'Passed' ? `${p.runs - p.failures}/${p.runs} checks passed` : p.lastReason || `${p.runs - p.failures}/${p.runs} checks passed` },
  }));
}

export type History = ChaosResultStatus['history'];
export const emptyHistory = (): History => ({ passedRuns: 0, failedRuns: 0, stoppedRuns: 0, targets: [] });

/** A ChaosResult's status while its run is open. */
export function runningResult(fault: string, index: number, s: ExperimentStatus | undefined, prev: History | undefined): ChaosResultStatus {
  const probes = (s?.probes ?? []).filter((p) => p.fault === fault);
  return {
    experimentStatus: { phase: 'Running', verdict: 'Awaited', probeSuccessPercentage: String(probePercentage(probes, 0)) },
    probeStatuses: probeStatuses(probes),
    history: prev ?? emptyHistory(),
  };
}

/** A ChaosResult's status once its run closed; `prev` is the history before this run (counted once). */
export function finishedResult(fault: string, index: number, r: ExperimentResult, prev: History | undefined): ChaosResultStatus {
  const probes = r.probes.filter((p) => p.fault === fault);
  const v = litmusVerdict(r.verdict);
  const h = structuredClone(prev ?? emptyHistory());
  if (v === 'Pass') h.passedRuns++;
  else if (v === 'Stopped') h.stoppedRuns++;
  else h.failedRuns++;
  const f = r.faults.find((x) => x.index === index) ?? r.faults.find((x) => x.name === fault);
  const kind = r.target.kind;
  h.targets = [{ name: r.target.labelSelector, kind, chaosStatus: f?.state === 'reverted' ? 'reverted' : f && f.state !== 'pending' && f.state !== 'skipped' ? 'targeted' : 'not targeted' }];
  return {
    experimentStatus: {
      phase: v === 'Stopped' ? 'Stopped' : 'Completed',
      verdict: v,
      probeSuccessPercentage: String(probePercentage(probes, r.probeSuccessPercentage)),
      ...(v === 'Fail' ? { failureOutput: { failedStep: r.reason.slice(0, 1024), errorCode: r.verdict === 'Error' ? 'TEMPEST_ERROR' : 'TEMPEST_FAIL' } } : {}),
    },
    probeStatuses: probeStatuses(probes),
    history: h,
  };
}
