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

export type Comparator =
  | { type: 'int' | 'float'; criteria: NumericCriteria; value: string }
  | { type: 'string'; criteria: StringCriteria; value: string };

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
}

export type ProbeSpec =
  | (ProbeBase & { type: 'httpProbe'; http: HttpProbeInputs })
  | (ProbeBase & { type: 'promProbe'; prom: PromProbeInputs })
  | (ProbeBase & { type: 'cmdProbe'; cmd: CmdProbeInputs })
  | (ProbeBase & { type: 'k8sProbe'; k8s: K8sProbeInputs });

export const FAULT_NAMES = [
  'pod-delete',
  'container-kill',
  'pod-cpu-hog',
  'pod-memory-hog',
  'pod-network-latency',
  'pod-network-loss',
  'gpu-memory-hog',
  'model-corruption',
] as const;
export type FaultName = (typeof FAULT_NAMES)[number];

/** Periodic faults are injected again every CHAOS_INTERVAL; sustained ones are injected once and held. */
export const FAULT_STYLE: Record<FaultName, 'periodic' | 'sustained'> = {
  'pod-delete': 'periodic',
  'container-kill': 'periodic',
  'pod-cpu-hog': 'sustained',
  'pod-memory-hog': 'sustained',
  'pod-network-latency': 'sustained',
  'pod-network-loss': 'sustained',
  'gpu-memory-hog': 'sustained',
  'model-corruption': 'sustained',
};

export interface FaultParams {
  force?: boolean;
  containerRuntime?: 'containerd' | 'docker' | 'crio';
  socketPath?: string;
  targetContainer?: string;
  cpuCores?: number;
  cpuLoad?: number;
  memoryConsumptionMb?: number;
  numberOfWorkers?: number;
  networkLatencyMs?: number;
  jitterMs?: number;
  packetLossPercentage?: number;
  gpuMemoryPercentage?: number;
  filePath?: string;
  corruptionType?: 'random_bytes' | 'truncate' | 'zero';
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

/** Pre-experiment safety checks (the seed's ChaosGuards). Configured in tempest.yaml, evaluated by activities. */
export type GuardSpec =
  | { type: 'http'; name: string; url: string; expectStatus?: number; timeoutMs?: number }
  | { type: 'prometheus'; name: string; endpoint: string; query: string; criteria: NumericCriteria; value: string; onEmpty?: 'fail' | 'pass' }
  | { type: 'pagerduty'; name: string; apiUrl: string; token?: string; serviceIds?: string[]; statuses?: string[] }
  | { type: 'freeze'; name: string; file?: string; url?: string };

/** Rollback triggers: conditions evaluated continuously while faults are active. */
export interface RollbackTriggerSpec {
  name: string;
  endpoint: string;
  query: string;
  /** The trigger fires when `value <criteria> threshold` holds, e.g. error rate >= 0.05. */
  criteria: NumericCriteria;
  threshold: string;
}

/** The seed's rollback_actions, run after an emergency rollback (trigger breach or stopOnFailure probe). */
export type RollbackActionSpec =
  /** "Scale up replicas" when ready pods < minReplicas. */
  | { type: 'scale'; name: string; minReplicas: number }
  /** "Restart unhealthy pods": delete pods not ready, or restarted more than restartThreshold times. */
  | { type: 'restartUnhealthy'; name: string; restartThreshold: number }
  /** "Trigger incident" (PagerDuty Events API v2) when recovery took longer than afterRecoveryMs (0 = always). */
  | { type: 'pagerduty'; name: string; eventsUrl: string; routingKey: string; afterRecoveryMs: number; severity: 'critical' | 'error' | 'warning' | 'info' };

export interface RunOptions {
  guards: GuardSpec[];
  rollbackTriggers: RollbackTriggerSpec[];
  /** How often rollback triggers are evaluated. */
  triggerPollMs: number;
  /** Dry run: guards and probes only, no injection. */
  dryRun: boolean;
  /** Upsert Tempest's custom search attributes (registered by scripts/temporal-dev; off on the test server). */
  searchAttributes: boolean;
  /** Absent in runs started before rollback actions existed. */
  rollbackActions?: RollbackActionSpec[];
}

export interface ExperimentInput {
  spec: ExperimentSpec;
  options: RunOptions;
}

/** A Litmus ChaosSchedule, normalized: when the gate may start the templated engine. */
export interface ScheduleSpec {
  name: string;
  namespace: string;
  /** Start at once (Litmus `now: true`). */
  now: boolean;
  /** Allowed window, minutes after midnight (UTC unless the worker sets TZ). */
  window?: { startMin: number; endMin: number };
  /** 0 = Sunday ... 6 = Saturday. Empty = every day. */
  days: number[];
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
