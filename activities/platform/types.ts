/**
 * A platform is where faults land: the local-process platform (scripts/fleet) or Kubernetes. Each one
 * resolves targets, runs its fault drivers (inject one idempotent round; revert + verify) and keeps the
 * fault ledger on the target. The activities in activities/index.ts are thin wrappers over this.
 */
import type { ExperimentSpec, TargetSpec } from '../../config/spec.js';
import type { FaultRef, InjectRequest, PreflightResult, PreparedRecord, RevertResult } from '../types.js';

/** What an activity gives a platform: heartbeats and the cancellation signal. */
export interface ActivityCtx {
  heartbeat(details?: unknown): void;
  signal: AbortSignal;
}

export interface Platform {
  readonly name: string;
  /** Targets resolve, every fault has a driver here and its parameters are honoured; throws typed failures. */
  preflight(spec: ExperimentSpec): Promise<Omit<PreflightResult, 'policy'>>;
  /** A fault's read-only prepare step (what it will touch and how it is now), for faults that have one. */
  prepare?(ref: FaultRef, ctx: ActivityCtx): Promise<PreparedRecord>;
  /** One idempotent round of one fault; writes the ledger before acting. */
  inject(req: InjectRequest, ctx: ActivityCtx): Promise<{ affected: string[]; detail: string; alreadyDone: boolean }>;
  /** Undo everything this run's fault did, verify the target is clean (throw NotYetClean if not), clear the ledger. */
  revert(ref: FaultRef, ctx: ActivityCtx, opts?: RevertOptions): Promise<RevertResult>;
  /** For rollback actions: the owner's replicas and its pods' health. */
  workload?(target: TargetSpec): Promise<WorkloadState>;
  /** For rollback actions: set the owner's desired replicas. */
  scale?(target: TargetSpec, replicas: number): Promise<void>;
  /** For rollback actions: delete (restart) one pod. */
  restartPod?(target: TargetSpec, pod: string): Promise<void>;
  /**
   * Every fault-ledger entry the platform holds (the orphan reconciler's view), optionally in one namespace. An entry
   * that cannot be read is listed with a `problem` (and never acted on).
   */
  listLedger?(filter?: { namespace?: string }): Promise<LedgerFinding[]>;
}

/** One fault-ledger entry found on a target. */
export interface LedgerFinding {
  /** The annotation key (tempest.io/fault.<run>.<index>). */
  key: string;
  /** Workflow id of the run that wrote it, its fault index and fault name, as the entry says. */
  runId: string;
  faultIndex: number;
  fault: string;
  /** The target it was found on (the run's own target comes from the run's history when there is one). */
  target: TargetSpec;
  /** The entry's dead-man time (chaos end + margin). */
  expiresAt: string;
  /** Where it was found, for people: "fleet api-gateway (footanalytics/app=api)". */
  where: string;
  /** Why it cannot be acted on (unreadable, its key not its own). */
  problem?: string;
}

export interface WorkloadState {
  desired: number;
  ready: number;
  pods: Array<{ name: string; ready: boolean; restarts: number }>;
}

export interface RevertOptions {
  /**
   * The target is outside the worker's blast radius now: undo only what this run's ledger records there, and if
   * there is no ledger entry, touch nothing.
   */
  ledgerOnly?: boolean;
}
