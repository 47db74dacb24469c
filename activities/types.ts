/**
 * Shapes exchanged between the workflows and the activities. Type-only for the workflows
 * (workflow code imports these with `import type`), so nothing here may do I/O.
 */
import type { FaultSpec, GuardSpec, TargetSpec, ProbeMode, ProbeSpec, ExperimentSpec, RunPolicyView } from '../config/spec.js';
import type { ProbeContext, ProbeOutcome } from './probes/types.js';
import type { LedgerFinding } from './platform/types.js';

export type { ProbeContext, ProbeOutcome };

/** Identifies one fault of one run; the idempotency key of every fault activity is derived from it. */
export interface FaultRef {
  runId: string;
  experiment: string;
  target: TargetSpec;
  fault: FaultSpec;
  faultIndex: number;
  /**
   * What a fault's read-only prepare step observed (e.g. the files and checksums it will corrupt), kept in the
   * workflow and handed to inject, revert and verify: what a revert restores to comes from here, never from
   * anything on the target. Absent for faults without a prepare step (and in runs recorded before it existed).
   */
  prepared?: PreparedRecord;
}

/** A prepare step's record: fault-specific, JSON, never a secret. */
export type PreparedRecord = Record<string, unknown>;

export interface InjectRequest extends FaultRef {
  /** Round of a periodic fault (0 for a sustained fault). Same round twice = same effect (idempotent). */
  round: number;
  /** When the fault must expire on its own if Tempest is gone (dead-man switch), ISO time. */
  expiresAt: string;
}

export interface InjectResult {
  round: number;
  /** What was hit: pod names, pids, files. */
  affected: string[];
  detail: string;
  /** true when an earlier attempt of this same round had already done it. */
  alreadyDone: boolean;
  at: string;
}

export interface RevertResult {
  /** What the revert undid (may be empty: e.g. nothing left to undo). */
  undone: string[];
  /** What verification observed, e.g. "3/3 replicas ready, ledger clean". */
  verification: string;
  at: string;
}

export interface GuardOutcome {
  name: string;
  type: GuardSpec['type'];
  passed: boolean;
  reason: string;
  observed?: string;
}

export interface PreflightResult {
  /** Targets the engine resolves to right now (pods, processes). */
  targets: string[];
  /** Faults this platform can run; the workflow refuses the run if one cannot. */
  platform: string;
  /** The worker's policy for this run (guards, triggers, actions by name). Absent in runs recorded before it existed. */
  policy?: RunPolicyView;
}

export interface TriggerBreach {
  name: string;
  query: string;
  value: number;
  criteria: string;
  threshold: string;
  at: string;
}

/** No trigger fired, but some could not be evaluated (Prometheus down): the workflow counts these in a row. */
export interface TriggersBlind {
  blind: true;
  /** The triggers that could not be evaluated, and why (the first reason). */
  names: string[];
  reason: string;
  at: string;
}

export interface RollbackActionOutcome {
  name: string;
  type: string;
  /** ran and did something / condition not met / failed */
  status: 'done' | 'skipped' | 'failed';
  detail: string;
}

export interface RollbackActionsRequest {
  target: TargetSpec;
  experiment: string;
  workflowId: string;
  reason: string;
  recoveryMs?: number;
  /** Runs recorded before the worker-side policy listed the client's actions here; the worker runs its own. */
  actions?: Array<{ name: string; type: string }>;
}

export type Verdict = 'Pass' | 'Fail' | 'Aborted' | 'Error';

export interface ProbeSummary {
  name: string;
  type: ProbeSpec['type'];
  mode: ProbeMode;
  fault: string;
  status: 'Passed' | 'Failed' | 'N/A' | 'Awaited';
  runs: number;
  failures: number;
  lastReason: string;
}

export interface FaultSummary {
  name: string;
  index: number;
  state: 'pending' | 'injecting' | 'injected' | 'reverting' | 'reverted' | 'skipped';
  rounds: number;
  affected: string[];
  injectedAt?: string;
  revertedAt?: string;
  revert?: RevertResult;
  /** The dead-man time the fault carries on the target (chaos end + the margin), and the margin (worker policy). */
  deadManAt?: string;
  deadManMarginMs?: number;
}

export interface TimelineEvent {
  at: string;
  message: string;
}

export interface ExperimentResult {
  workflowId: string;
  runId: string;
  experiment: string;
  target: TargetSpec;
  verdict: Verdict;
  reason: string;
  /** floor(passed * 100 / total) over the probes (Litmus PSP). */
  probeSuccessPercentage: number;
  hypothesis?: string;
  /** Set when the run tested a hypothesis: validated (verdict Pass) or refuted. */
  hypothesisValidated?: boolean;
  hypothesisPlan?: import('../config/spec.js').HypothesisPlan;
  dryRun: boolean;
  startedAt: string;
  endedAt: string;
  guards: GuardOutcome[];
  faults: FaultSummary[];
  probes: ProbeSummary[];
  breach?: TriggerBreach;
  /** The seed's rollback_actions, when an emergency rollback ran them. */
  rollbackActions?: RollbackActionOutcome[];
  /** Time from the end of chaos (or the breach/abort) until every revert was verified. */
  recoveryMs?: number;
  timeline: TimelineEvent[];
}

export interface ExperimentStatus {
  phase: 'preflight' | 'guards' | 'steady-state' | 'chaos' | 'post-chaos' | 'rollback' | 'done';
  paused: boolean;
  abortRequested?: string;
  currentFault?: string;
  faults: FaultSummary[];
  probes: ProbeSummary[];
  /** ms of chaos left in the current fault, if chaos is running. */
  chaosRemainingMs?: number;
  verdict?: Verdict;
  reason?: string;
  timeline: TimelineEvent[];
}

/** The activity interface the workflows call. Implemented by createActivities(deps). */
/** A fault-ledger entry as the orphan reconciler judges it. */
export interface OrphanCandidate extends LedgerFinding {
  /** The run's state in this Temporal namespace, and its status (RUNNING, TERMINATED, ..., NOT_FOUND). */
  state: 'open' | 'closed' | 'unknown';
  status: string;
  /** revert: an orphan; leave: its run is open; wait: unknown run, chaos window not over; refuse: unreadable. */
  action: 'revert' | 'leave' | 'wait' | 'refuse';
  why: string;
}

export interface OrphanOutcome {
  key: string;
  runId: string;
  fault: string;
  where: string;
  reverted: boolean;
  /** Where the fault to revert came from: the run's history, or the ledger's fault name with defaults. */
  from: 'history' | 'ledger' | 'none';
  undone: string[];
  verification: string;
}

export interface TempestActivities {
  preflight(spec: ExperimentSpec): Promise<PreflightResult>;
  /** The worker's guard of that name (a run's own guard fields are ignored). */
  runGuard(guard: Pick<GuardSpec, 'name'>): Promise<GuardOutcome>;
  runProbe(probe: ProbeSpec, ctx: ProbeContext): Promise<ProbeOutcome>;
  /** A fault's read-only prepare step (faults whose descriptor says `prepares`). */
  prepareFault(ref: FaultRef): Promise<PreparedRecord>;
  injectFault(req: InjectRequest): Promise<InjectResult>;
  revertFault(ref: FaultRef): Promise<RevertResult>;
  /** The worker's rollback triggers (the argument, sent by runs recorded before the worker-side policy, is ignored). */
  evaluateTriggers(ignored?: unknown): Promise<TriggerBreach | TriggersBlind | null>;
  publishResult(result: ExperimentResult): Promise<{ reportPath: string }>;
  markRunning(info: { experiment: string; namespace: string }): Promise<void>;
  runRollbackActions(req: RollbackActionsRequest): Promise<RollbackActionOutcome[]>;
  /** ISO start time of the latest run of this engine (any run: scheduled or by hand), null if none, 'unknown' without search attributes. */
  lastRunStart(experiment: string, namespace?: string): Promise<string | null | 'unknown'>;
  /** Every fault-ledger entry on the platform and what its run's state means for it (read-only). */
  listOrphans(input?: { namespace?: string }): Promise<OrphanCandidate[]>;
  /** Revert one orphan with its fault's own revert and verify (its run is looked up again first). */
  revertOrphan(c: OrphanCandidate): Promise<OrphanOutcome>;
}
