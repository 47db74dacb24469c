/**
 * The one normalized, typed experiment spec that every workflow takes.
 * The Litmus shape (ChaosEngine, env name/value lists, `httpProbe/inputs`) stays at the edge, in config/litmus.ts;
 * nothing past the parser knows about it. Durations are always milliseconds here.
 *
 * This file is imported by workflow code, so it must stay free of I/O and Node built-ins.
 */

export type ProbeMode = 'SOT' | 'EOT' | 'Edge' | 'Continuous' | 'OnChaos';

/** Comparators, as Litmus defines them. */
export type NumericCriteria = '>=' | '<=' | '>' | '<' | '==' | '!=' | 'oneOf' | 'between';
export type StringCriteria = 'equal' | 'notEqual' | 'contains' | 'matches' | 'notMatches' | 'oneOf';

export type Comparator = { type: 'int' | 'float'; criteria: NumericCriteria; value: string } | { type: 'string'; criteria: StringCriteria; value: string };

export interface RunProperties {
  /** Timeout of one probe attempt. */
  probeTimeoutMs: number;
  /** Wait between retries of a failed attempt. */
  intervalMs: number;
  /** Attempts before the probe is failed (Litmus `attempt`, legacy `retry`). */
  attempts: number;
  /** Wait between two runs in Continuous / OnChaos mode. */
  pollingIntervalMs: number;
  /** Wait before the first run. */
  initialDelayMs: number;
  /** A failure aborts the experiment at once and triggers the emergency rollback. */
  stopOnFailure: boolean;
  /** Upper bound of one whole evaluation (all attempts), if given. */
  evaluationTimeoutMs?: number;
}

export interface HttpProbeInputs {
  url: string;
  method: 'GET' | 'POST';
  body?: string;
  bodyPath?: string;
  contentType?: string;
  headers: Record<string, string>;
  insecureSkipTLS: boolean;
  /** Criteria on the response code (Litmus `criteria` + `responseCode`). */
  responseCode?: { criteria: '==' | '!=' | 'oneOf'; value: string };
  /**
   * Criteria on the response time in ms. Litmus writes `criteria: "<"` next to `responseTimeout: 5000`
   * with no responseCode (the seed's pod-network-latency probe): that means "answered in < 5000 ms".
   */
  responseTime?: { criteria: NumericCriteria; valueMs: number };
  /** Criteria on the response body (Tempest extension). */
  responseBody?: { criteria: StringCriteria; value: string };
  /** Per-request timeout in ms (Litmus `responseTimeout`; else the probe timeout). */
  responseTimeoutMs?: number;
}

export interface PromProbeInputs {
  endpoint: string;
  query: string;
  comparator: { criteria: NumericCriteria; value: string };
}

export interface CmdProbeInputs {
  command: string;
  /** Run inside this pod (Kubernetes) instead of locally in the worker. */
  source?: { namespace?: string; pod?: string; labelSelector?: string; container?: string };
  comparator: Comparator;
}

export interface K8sProbeInputs {
  group: string;
  version: string;
  resource: string;
  namespace?: string;
  fieldSelector?: string;
  labelSelector?: string;
  operation: 'present' | 'absent' | 'create' | 'delete';
  data?: string;
}

interface ProbeBase {
  name: string;
  mode: ProbeMode;
  runProperties: RunProperties;
  /**
   * Whose permissions the probe's Kubernetes calls (k8sProbe, a cmdProbe's `source` exec) are made with: its run's
   * chaosServiceAccount, stamped at load on those probes of an engine that names one. Used only when the policy
   * impersonates (platform.kubernetes.impersonate.mode: required); then it must be the run's own account.
   */
  actAs?: { namespace: string; serviceAccount: string };
}

export type ProbeSpec =
  | (ProbeBase & { type: 'httpProbe'; http: HttpProbeInputs })
  | (ProbeBase & { type: 'promProbe'; prom: PromProbeInputs })
  | (ProbeBase & { type: 'cmdProbe'; cmd: CmdProbeInputs })
  | (ProbeBase & { type: 'k8sProbe'; k8s: K8sProbeInputs });

export type { FaultName } from '../activities/faults/registry.js';
import type { FaultName } from '../activities/faults/registry.js';
import type { ImageRole } from './policy.js';

/**
 * Fault-specific parameters, each parsed from its Litmus env variable to a strict shape by the fault's
 * descriptor (activities/faults/<fault>/descriptor.ts). A fault may only carry the keys its descriptor declares;
 * drivers read nothing else (the rest of the env is kept in FaultSpec.extraEnv for the record only).
 */
export interface FaultParams {
  force?: boolean;
  containerRuntime?: 'containerd' | 'docker' | 'crio';
  socketPath?: string;
  targetContainer?: string;
  chaosMode?: 'helper' | 'exec';
  signal?: 'SIGKILL' | 'SIGTERM' | 'SIGINT' | 'SIGHUP' | 'SIGQUIT' | 'SIGUSR1' | 'SIGUSR2' | 'SIGSTOP' | 'SIGCONT';
  cpuCores?: number;
  cpuLoad?: number;
  memoryConsumptionMb?: number;
  numberOfWorkers?: number;
  networkLatencyMs?: number;
  jitterMs?: number;
  packetLossPercentage?: number;
  networkInterface?: string;
  gpuMemoryPercentage?: number;
  gpuVisibleDevices?: string;
  filePath?: string;
  corruptionType?: 'random_bytes' | 'truncate' | 'zero';
  /** *_IMAGE overrides (STRESS_IMAGE, NETEM_IMAGE, ...): run only if the worker's images.allow lists them. */
  images?: Partial<Record<ImageRole, string>>;
}

export interface FaultSpec {
  name: FaultName;
  durationMs: number;
  intervalMs: number;
  rampTimeMs: number;
  /** 0 means one target (Litmus). */
  podsAffectedPerc: number;
  targetPods: string[];
  sequence: 'parallel' | 'serial';
  params: FaultParams;
  /** env entries Tempest does not interpret, kept for the record. */
  extraEnv: Record<string, string>;
  probes: ProbeSpec[];
}

export interface TargetSpec {
  namespace: string;
  labelSelector: string;
  kind: 'deployment' | 'statefulset' | 'daemonset' | 'replicaset' | 'pod';
  /**
   * The engine's chaosServiceAccount (in `namespace`): with `platform.kubernetes.impersonate.mode: required` the
   * run's Kubernetes calls act as it (impersonation), so the namespace's own RBAC bounds what its engines can do.
   */
  serviceAccount?: string;
  /** The namespace that account lives in: the engine's (as Litmus's runner runs there); absent: `namespace`. */
  serviceAccountNamespace?: string;
}

export interface ExperimentSpec {
  /** ChaosEngine metadata.name */
  name: string;
  /** ChaosEngine metadata.namespace (where the engine lives) */
  engineNamespace: string;
  target: TargetSpec;
  serviceAccount?: string;
  /** `stop` means: do not inject; abort and revert anything running. */
  engineState: 'active' | 'stop';
  faults: FaultSpec[];
  /** Hypothesis text (memo in the Temporal UI). */
  hypothesis?: string;
  /** The rest of the seed's experiment template, for the report (descriptions; probes are in the faults). */
  hypothesisPlan?: HypothesisPlan;
  /** File the spec came from, for the record. */
  source?: string;
}

/** A secret, by reference: resolved by the activity that needs it, on the worker, never carried in a workflow. */
export type SecretRef = { env: string } | { file: string };

/**
 * Pre-experiment safety checks (the seed's ChaosGuards): part of the WORKER's policy (its tempest.yaml),
 * evaluated by activities. A run names none of them and can skip none of them.
 */
export type GuardSpec =
  | { type: 'http'; name: string; url: string; expectStatus?: number; timeoutMs?: number }
  | { type: 'prometheus'; name: string; endpoint: string; query: string; criteria: NumericCriteria; value: string; onEmpty?: 'fail' | 'pass' }
  | { type: 'pagerduty'; name: string; apiUrl: string; tokenRef?: SecretRef; serviceIds?: string[]; statuses?: string[] }
  | { type: 'freeze'; name: string; file?: string; url?: string };

/** Rollback triggers (worker policy): conditions evaluated continuously while faults are active. */
export interface RollbackTriggerSpec {
  name: string;
  endpoint: string;
  query: string;
  /** The trigger fires when `value <criteria> threshold` holds, e.g. error rate >= 0.05. */
  criteria: NumericCriteria;
  threshold: string;
}

/** The seed's rollback_actions (worker policy), run after an emergency rollback (trigger breach or stopOnFailure probe). */
export type RollbackActionSpec =
  /** "Scale up replicas" when ready pods < minReplicas. */
  | { type: 'scale'; name: string; minReplicas: number }
  /** "Restart unhealthy pods": delete pods not ready, or restarted more than restartThreshold times. */
  | { type: 'restartUnhealthy'; name: string; restartThreshold: number }
  /** "Trigger incident" (PagerDuty Events API v2) when recovery took longer than afterRecoveryMs (0 = always). */
  | {
      type: 'pagerduty';
      name: string;
      eventsUrl: string;
      routingKeyRef: SecretRef;
      afterRecoveryMs: number;
      severity: 'critical' | 'error' | 'warning' | 'info';
    };

/**
 * What the worker's policy applies to one run, as the workflow records it (preflight's answer): names, types
 * and thresholds only — never a secret, never an address with credentials.
 */
export interface RunPolicyView {
  /** Which policy (the worker's tempest.yaml), for the record. */
  source: string;
  guards: Array<{ name: string; type: GuardSpec['type'] }>;
  triggers: Array<{ name: string; query: string; criteria: NumericCriteria; threshold: string }>;
  triggerPollMs: number;
  /** Trigger polls in a row that could not be evaluated before that stops the chaos like a breach (0 = never). Absent in older runs: never. */
  triggerBlindAfter?: number;
  rollbackActions: Array<{ name: string; type: RollbackActionSpec['type'] }>;
  /**
   * How long a fault outlives its chaos window on the target by itself when no worker reverts it (the dead-man
   * expiry: chaos end + this). Absent in runs recorded before it was policy: 60 s.
   */
  deadManMarginMs?: number;
}

/**
 * What a client may choose about a run. Everything that protects the system (blast radius, guards, rollback
 * triggers and actions, images, file roots, limits, secrets) is the worker's policy, not an option.
 */
export interface RunOptions {
  /** Dry run: guards and probes only, no injection. */
  dryRun: boolean;
  /** Upsert Tempest's custom search attributes (registered by scripts/temporal-dev; off on the test server). */
  searchAttributes: boolean;
  /**
   * Runs started before the worker-side policy carried client-side copies of guards, triggers and actions.
   * Kept only so their histories replay; the worker ignores what they say (it evaluates its own policy).
   */
  guards?: Array<{ name: string; type: string }>;
  rollbackTriggers?: Array<{ name: string }>;
  triggerPollMs?: number;
  rollbackActions?: Array<{ name: string; type: string }>;
}

export interface ExperimentInput {
  spec: ExperimentSpec;
  options: RunOptions;
}

/** A Litmus ChaosSchedule, normalized (config/schedule.ts): when the gate may start the templated engine. Times are UTC. */
export interface ScheduleSpec {
  name: string;
  namespace: string;
  /** Start one gated run at once (Litmus `now: true`). */
  now: boolean;
  /** Has a repeat policy (false: `now` or `once` only, so the schedule never fires by itself again). Absent = repeats (older specs). */
  repeats?: boolean;
  /** Litmus `once.executionTime` (ISO): exactly one run, at that time. */
  once?: string;
  /** The seed's daily window, minutes after midnight: the schedule fires at its start. */
  window?: { startMin: number; endMin: number };
  /** Litmus timeRange timestamps (ISO): no run before / after. */
  activeFrom?: string;
  activeUntil?: string;
  /** Litmus workHours: hours of the day a run may start (empty or absent = any hour). */
  hours?: number[];
  /** 0 = Sunday ... 6 = Saturday. Empty = every day. */
  days: number[];
  /** Litmus properties.minChaosInterval: the schedule's cadence (a run every n minutes / hours). */
  every?: { unit: 'minute' | 'hour'; n: number };
  /** At least this long between two runs of the engine (the gate checks it against visibility). */
  minChaosIntervalMs: number;
  state: 'active' | 'halt' | 'complete';
  engine: ExperimentSpec;
}

/** The seed's experiment_template, as text for the report. Evaluable criteria become probes of the first fault. */
export interface HypothesisPlan {
  steadyState: Array<{ description: string; probe?: string }>;
  experiment: string[];
  successCriteria: Array<{ description: string; probe?: string }>;
  rollbackPlan: string[];
}

/** The seed's progressive chaos: stages of the same engine with a growing blast radius. */
export interface ProgressiveSpec {
  name: string;
  engine: ExperimentSpec;
  /** In dependency order. */
  stages: Array<{ id: string; name: string; chaosPercentage: number; durationMs: number; successThreshold: number; dependsOn?: string }>;
}

/** A game day: scenarios of automated experiments (engines) and manual steps, each scenario time-boxed. */
export interface GameDaySpec {
  name: string;
  frequency?: string;
  durationMs: number;
  participants: string[];
  scenarios: Array<{
    name: string;
    description?: string;
    durationMs: number;
    steps: Array<{ experiment: string } & ({ kind: 'engine'; engine: ExperimentSpec } | { kind: 'manual'; instructions: string })>;
  }>;
}
