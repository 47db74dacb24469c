/**
 * What the controller writes back to the cluster, in Litmus's shapes (litmuschaos/chaos-operator's
 * ChaosEngineStatus and ChaosResultStatus), so `kubectl get chaosengine -A` and `kubectl get chaosresult -o yaml`
 * read as a Litmus user expects. Pure functions: the controller (index.ts) does the API calls.
 */
import { createHash } from 'node:crypto';
import type { ExperimentResult, ExperimentStatus, FaultSummary, ProbeSummary, Verdict } from '../../activities/types.js';

export const FINALIZER = 'tempest.io/revert-verified';
/** `engines: annotated` acts only on objects with this annotation set to "true". */
export const MANAGED_ANNOTATION = 'tempest.io/managed';

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

/** The Temporal Schedule of a ChaosSchedule object: its own id per object (never an operator's `tempest schedule apply` one). */
export const scheduleIdOf = (uid: string) => `chaosschedule-${uid}`;

const hash8 = (s: string) => createHash('sha256').update(s).digest('hex').slice(0, 8);

/** `s` cut to `max` characters with a hash of the whole kept at the end, so two long names never collide. */
function shortened(s: string, max: number): string {
  if (s.length <= max) return s;
  return `${s.slice(0, max - 9).replace(/[-.]+$/, '')}-${hash8(s)}`;
}

/** A ChaosResult's name, as Litmus names it: `<engine>-<experiment>` (hash-shortened past 253 characters). */
export const chaosResultName = (engine: string, experiment: string) => shortened(`${engine}-${experiment}`, 253);

/** Its `name` label (Litmus sets one): a label value has at most 63 characters. */
export const chaosResultLabel = (name: string) => shortened(name, 63);

/** Deep equality regardless of key order (the API server answers objects with sorted keys). */
export function sameJson(a: unknown, b: unknown): boolean {
  const canon = (v: unknown): unknown =>
    Array.isArray(v)
      ? v.map(canon)
      : v && typeof v === 'object'
        ? Object.fromEntries(
            Object.entries(v as Record<string, unknown>)
              .filter(([, x]) => x !== undefined)
              .sort(([x], [y]) => (x < y ? -1 : 1))
              .map(([k, x]) => [k, canon(x)]),
          )
        : v;
  return JSON.stringify(canon(a)) === JSON.stringify(canon(b));
}

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
    return {
      name,
      runner: r.workflowId,
      experimentPod: '',
      status: r.verdict === 'Aborted' ? 'Aborted' : faultState(f) === 'Skipped' ? 'Skipped' : 'Completed',
      verdict: litmusVerdict(r.verdict),
      lastUpdateTime: now,
    };
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
    /** null: none (a merge patch removes what an earlier run left). */
    failureOutput?: { failedStep: string; errorCode: string } | null;
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
    status: {
      verdict: p.status,
      description: p.status === 'Passed' ? `${p.runs - p.failures}/${p.runs} checks passed` : p.lastReason || `${p.runs - p.failures}/${p.runs} checks passed`,
    },
  }));
}

export type History = ChaosResultStatus['history'];
export const emptyHistory = (): History => ({ passedRuns: 0, failedRuns: 0, stoppedRuns: 0, targets: [] });

/**
 * A ChaosResult's status while its run is open: the probes' verdicts so far, without their running counts (those
 * change every poll: the result is written when a verdict changes, not once a second).
 */
export function runningResult(fault: string, index: number, s: ExperimentStatus | undefined, prev: History | undefined): ChaosResultStatus {
  const probes = (s?.probes ?? []).filter((p) => p.fault === fault);
  return {
    experimentStatus: { phase: 'Running', verdict: 'Awaited', probeSuccessPercentage: String(probePercentage(probes, 0)) },
    probeStatuses: probes.map((p) => ({
      name: p.name,
      type: PROBE_TYPE[p.type] ?? p.type,
      mode: p.mode,
      status: { verdict: p.status, description: p.status === 'Failed' ? 'failed so far' : p.status === 'Passed' ? 'passing so far' : '' },
    })),
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
  h.targets = [
    {
      name: r.target.labelSelector,
      kind,
      chaosStatus: f?.state === 'reverted' ? 'reverted' : f && f.state !== 'pending' && f.state !== 'skipped' ? 'targeted' : 'not targeted',
    },
  ];
  return {
    experimentStatus: {
      phase: v === 'Stopped' ? 'Stopped' : 'Completed',
      verdict: v,
      probeSuccessPercentage: String(probePercentage(probes, r.probeSuccessPercentage)),
      failureOutput: v === 'Fail' ? { failedStep: r.reason.slice(0, 1024), errorCode: r.verdict === 'Error' ? 'TEMPEST_ERROR' : 'TEMPEST_FAIL' } : null,
    },
    probeStatuses: probeStatuses(probes),
    history: h,
  };
}
