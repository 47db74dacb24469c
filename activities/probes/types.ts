/** Types of the probe activities. Type-only imports of config/spec.ts; safe to import from workflow code. */
import type { CmdProbeInputs, ProbeMode, ProbeSpec } from '../../config/spec.js';

export interface ProbeContext {
  runId: string;
  phase: 'SOT' | 'OnChaos' | 'Continuous' | 'EOT';
  iteration: number;
}

export interface ProbeOutcome {
  name: string;
  type: ProbeSpec['type'];
  mode: ProbeMode;
  phase: ProbeContext['phase'];
  iteration: number;
  status: 'Passed' | 'Failed';
  /** Failed because criteria were not met vs could not run */
  failureKind?: 'criteria' | 'error';
  reason: string;
  /** What the last attempt saw: effective URL and status, the sample value, stdout and exit code... */
  observed?: string;
  /** Attempts made (0 when the probe could not even start, e.g. a missing platform). */
  attempts: number;
  durationMs: number;
  /** ISO time the evaluation started. */
  at: string;
}

/** Run a command in a pod (the Kubernetes platform provides it). */
export type ExecInPod = (req: {
  source: NonNullable<CmdProbeInputs['source']>;
  command: string;
  /** Aborted on attempt timeout and on activity cancellation. */
  signal: AbortSignal;
  timeoutMs: number;
  /** Impersonate this user (system:serviceaccount:<ns>:<name>): the run's chaosServiceAccount. */
  asUser?: string;
}) => Promise<{ stdout: string; stderr?: string; exitCode?: number }>;

export interface ProbeDeps {
  /** The worker's policy: what probes may reach (hosts, body roots, local commands, k8sProbe writes). */
  policy?: import('../../config/policy.js').Policy;
  /** Worker-side mapping of cluster URLs (`http://svc.ns:4000`) to reachable ones. */
  rewriteUrl?: (url: string) => string;
  /** A `KubeConfig` from @kubernetes/client-node (typed loosely so this module does not load the client). */
  k8s?: unknown;
  /** The platform's KubeConfig impersonating `user` (platform.kubernetes.impersonate). */
  k8sAs?: (user: string) => unknown;
  execInPod?: ExecInPod;
  /**
   * The namespace this worker runs in: no probe reaches it unless blastRadius.allow lists it by its exact name
   * (`*` never includes it). createProbeActivities: undefined = found from POD_NAMESPACE or the service account's
   * namespace file (detectWorkerNamespace); null = none (a worker outside any cluster). Tests inject it.
   */
  workerNamespace?: string | null;
}

/** The result of one attempt. */
export type AttemptResult =
  { ok: true; reason: string; observed?: string } | { ok: false; failureKind: 'criteria' | 'error'; reason: string; observed?: string };

export interface AttemptContext {
  /** 1-based attempt number. */
  attempt: number;
  /** Aborted when the attempt times out or the activity is cancelled. */
  signal: AbortSignal;
  /** Time this attempt may take (probeTimeout, or less when evaluationTimeout is near). */
  timeoutMs: number;
}

/** What each probe type supplies to the shared attempt loop. */
export interface ProbeDriver {
  /** Short description of what is probed (e.g. `GET http://…`); the observed value when an attempt errors without one. */
  target: string;
  /** Litmus httpProbe sleeps `interval` after every try, even a successful one; the other probes only between failed tries. */
  sleepAfterEveryTry: boolean;
  /** One attempt. Returns a verdict when the probe ran; throws (preferably a ProbeError) when it could not run. */
  attempt(ctx: AttemptContext): Promise<AttemptResult>;
}

/** "The probe could not run" (failureKind 'error'), with what was observed so far. */
export class ProbeError extends Error {
  constructor(
    message: string,
    readonly observed?: string,
  ) {
    super(message);
    this.name = 'ProbeError';
  }
}
