/**
 * Litmus-compatible documents in, one normalized ExperimentSpec out.
 * The schemas accept the seed's ChaosEngine / ChaosSchedule YAML unchanged (numbers or strings where Litmus
 * allows both, extra Litmus fields passed through); normalization then parses env values into typed fields
 * with Litmus defaults. Every problem names the field path and the bad value.
 */
import { z } from 'zod';
import { ConfigProblem, ConfigError, joinPath } from './errors.js';
import { parseDurationMs } from './duration.js';
import {
  ExperimentSpec,
  FaultName,
  FaultSpec,
  FAULT_NAMES,
  ProbeSpec,
  RunProperties,
  NumericCriteria,
  StringCriteria,
  TargetSpec,
} from './spec.js';

const scalar = z.union([z.string(), z.number(), z.boolean()]);

const envVar = z.object({ name: z.string().min(1), value: scalar.optional(), valueFrom: z.unknown().optional() }).passthrough();

const runPropertiesSchema = z
  .object({
    probeTimeout: z.union([z.number(), z.string()]).optional(),
    interval: z.union([z.number(), z.string()]).optional(),
    retry: z.union([z.number(), z.string()]).optional(),
    attempt: z.union([z.number(), z.string()]).optional(),
    probePollingInterval: z.union([z.number(), z.string()]).optional(),
    initialDelay: z.union([z.number(), z.string()]).optional(),
    initialDelaySeconds: z.union([z.number(), z.string()]).optional(),
    stopOnFailure: z.union([z.boolean(), z.string()]).optional(),
    evaluationTimeout: z.union([z.number(), z.string()]).optional(),
  })
  .passthrough();

const httpMethodBlock = z
  .object({
    criteria: z.string().optional(),
    responseCode: scalar.optional(),
    responseTimeout: z.union([z.number(), z.string()]).optional(),
    body: z.string().optional(),
    bodyPath: z.string().optional(),
    contentType: z.string().optional(),
    // Tempest extensions (Litmus has none): criteria on response time and body.
    responseTime: z.object({ criteria: z.string(), value: z.union([z.number(), z.string()]) }).optional(),
    responseBody: z.object({ criteria: z.string(), value: z.string() }).optional(),
  })
  .passthrough();

export const probeSchema = z
  .object({
    name: z.string().min(1),
    type: z.enum(['httpProbe', 'promProbe', 'cmdProbe', 'k8sProbe']),
    mode: z.enum(['SOT', 'EOT', 'Edge', 'Continuous', 'OnChaos']),
    runProperties: runPropertiesSchema.optional(),
    'httpProbe/inputs': z
      .object({
        url: z.string().min(1),
        insecureSkipTLS: z.union([z.boolean(), z.string()]).optional(),
        responseTimeout: z.union([z.number(), z.string()]).optional(),
        headers: z.record(z.string(), scalar).optional(),
        method: z.object({ get: httpMethodBlock.optional(), post: httpMethodBlock.optional() }).passthrough(),
      })
      .passthrough()
      .optional(),
    'promProbe/inputs': z
      .object({
        endpoint: z.string().min(1),
        query: z.string().min(1).optional(),
        queryPath: z.string().optional(),
        comparator: z.object({ criteria: z.string(), value: scalar }).passthrough(),
      })
      .passthrough()
      .optional(),
    'cmdProbe/inputs': z
      .object({
        command: z.string().min(1),
        source: z.union([z.string(), z.record(z.string(), z.unknown())]).optional(),
        comparator: z.object({ type: z.enum(['string', 'int', 'float']).optional(), criteria: z.string(), value: scalar }).passthrough(),
      })
      .passthrough()
      .optional(),
    'k8sProbe/inputs': z
      .object({
        group: z.string().optional(),
        version: z.string(),
        resource: z.string(),
        namespace: z.string().optional(),
        fieldSelector: z.string().optional(),
        labelSelector: z.string().optional(),
        operation: z.enum(['present', 'absent', 'create', 'delete']),
        data: z.string().optional(),
      })
      .passthrough()
      .optional(),
    data: z.string().optional(),
  })
  .passthrough();

export const experimentEntrySchema = z
  .object({
    name: z.string().min(1),
    spec: z
      .object({
        components: z.object({ env: z.array(envVar).optional() }).passthrough().optional(),
        probe: z.array(probeSchema).optional(),
      })
      .passthrough()
      .optional(),
  })
  .passthrough();

const appinfoSchema = z
  .object({
    appns: z.string().min(1),
    applabel: z.string().min(1),
    appkind: z.enum(['deployment', 'statefulset', 'daemonset', 'replicaset', 'pod', 'deploymentconfig', 'rollout']).optional(),
  })
  .passthrough();

const engineSpecSchema = z
  .object({
    appinfo: appinfoSchema,
    chaosServiceAccount: z.string().optional(),
    engineState: z.enum(['active', 'stop']).optional(),
    annotationCheck: z.union([z.string(), z.boolean()]).optional(),
    jobCleanUpPolicy: z.enum(['delete', 'retain']).optional(),
    terminationGracePeriodSeconds: z.number().optional(),
    experiments: z.array(experimentEntrySchema).min(1, 'needs at least one experiment'),
  })
  .passthrough();

export const chaosEngineSchema = z
  .object({
    apiVersion: z.string().regex(/^litmuschaos\.io\//, 'must be litmuschaos.io/<version>'),
    kind: z.literal('ChaosEngine'),
    metadata: z
      .object({
        name: z.string().regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 'must be a DNS-1123 name (lowercase letters, digits, -)'),
        namespace: z.string().optional(),
        annotations: z.record(z.string(), z.string()).optional(),
      })
      .passthrough(),
    spec: engineSpecSchema,
  })
  .passthrough();

const hhmm = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'must be HH:MM (24h)');

export const chaosScheduleSchema = z
  .object({
    apiVersion: z.string().regex(/^litmuschaos\.io\//, 'must be litmuschaos.io/<version>'),
    kind: z.literal('ChaosSchedule'),
    metadata: z.object({ name: z.string().min(1), namespace: z.string().optional() }).passthrough(),
    spec: z
      .object({
        schedule: z
          .object({
            now: z.boolean().optional(),
            once: z.object({ executionTime: z.string() }).passthrough().optional(),
            repeat: z
              .object({
                timeRange: z.object({ startTime: hhmm.optional(), endTime: hhmm.optional() }).passthrough().optional(),
                workDays: z.object({ includedDays: z.string() }).passthrough().optional(),
                workHours: z.object({ includedHours: z.string() }).passthrough().optional(),
                minChaosInterval: z.string().optional(),
              })
              .passthrough()
              .optional(),
          })
          .passthrough(),
        engineTemplateSpec: engineSpecSchema,
        scheduleState: z.enum(['active', 'halt', 'complete']).optional(),
      })
      .passthrough(),
  })
  .passthrough();

export type ChaosEngineDoc = z.infer<typeof chaosEngineSchema>;
export type ChaosScheduleDoc = z.infer<typeof chaosScheduleSchema>;
export type ExperimentEntry = z.infer<typeof experimentEntrySchema>;
type ProbeDoc = z.infer<typeof probeSchema>;

// ---------------------------------------------------------------------------------------------
// Normalization: typed env, Litmus defaults, probe inputs.
// ---------------------------------------------------------------------------------------------

/** Collects problems while normalizing so the user sees all of them at once. */
export class Problems {
  readonly list: ConfigProblem[] = [];
  constructor(readonly file: string) {}
  add(path: string, message: string, value?: unknown) {
    this.list.push({ file: this.file, path, message, value });
  }
}

/** Litmus defaults, per fault, for TOTAL_CHAOS_DURATION (s). */
const DEFAULT_DURATION_S: Partial<Record<FaultName, number>> = { 'pod-delete': 15 };
const COMMON_ENV = new Set([
  'TOTAL_CHAOS_DURATION', 'CHAOS_INTERVAL', 'RAMP_TIME', 'PODS_AFFECTED_PERC', 'TARGET_PODS', 'SEQUENCE',
  'FORCE', 'CONTAINER_RUNTIME', 'SOCKET_PATH', 'TARGET_CONTAINER', 'CPU_CORES', 'CPU_LOAD', 'MEMORY_CONSUMPTION',
  'NUMBER_OF_WORKERS', 'NETWORK_LATENCY', 'JITTER', 'NETWORK_PACKET_LOSS_PERCENTAGE', 'GPU_MEMORY_PERCENTAGE',
  'FILE_PATH', 'CORRUPTION_TYPE',
]);

function envMap(entry: ExperimentEntry, base: string, p: Problems): Map<string, { value: string; path: string }> {
  const map = new Map<string, { value: string; path: string }>();
  (entry.spec?.components?.env ?? []).forEach((e, i) => {
    const path = `${base}.spec.components.env[${i}]`;
    if (e.value === undefined) {
      if (e.valueFrom !== undefined) p.add(`${path}.valueFrom`, `valueFrom is not supported for ${e.name}; write the value inline`);
      return;
    }
    if (map.has(e.name)) p.add(`${path}.name`, `duplicate env ${e.name}`, e.name);
    map.set(e.name, { value: String(e.value).trim(), path: `${path}.value` });
  });
  return map;
}

function intEnv(env: ReturnType<typeof envMap>, key: string, p: Problems, opts: { min?: number; max?: number } = {}): number | undefined {
  const e = env.get(key);
  if (!e) return undefined;
  if (!/^-?\d+$/.test(e.value)) {
    p.add(e.path, `${key} must be a whole number`, e.value);
    return undefined;
  }
  const n = Number(e.value);
  if (opts.min !== undefined && n < opts.min) p.add(e.path, `${key} must be >= ${opts.min}`, e.value);
  else if (opts.max !== undefined && n > opts.max) p.add(e.path, `${key} must be <= ${opts.max}`, e.value);
  else return n;
  return undefined;
}

function numEnv(env: ReturnType<typeof envMap>, key: string, p: Problems, opts: { min?: number; max?: number } = {}): number | undefined {
  const e = env.get(key);
  if (!e) return undefined;
  const n = Number(e.value);
  if (e.value === '' || !Number.isFinite(n)) {
    p.add(e.path, `${key} must be a number`, e.value);
    return undefined;
  }
  if (opts.min !== undefined && n < opts.min) p.add(e.path, `${key} must be >= ${opts.min}`, e.value);
  else if (opts.max !== undefined && n > opts.max) p.add(e.path, `${key} must be <= ${opts.max}`, e.value);
  else return n;
  return undefined;
}

/** Seconds env (TOTAL_CHAOS_DURATION, CHAOS_INTERVAL, RAMP_TIME): bare numbers are seconds, "30s"/"1m" accepted. */
function secondsEnvMs(env: ReturnType<typeof envMap>, key: string, p: Problems, min: number): number | undefined {
  const e = env.get(key);
  if (!e) return undefined;
  const ms = parseDurationMs(e.value, 's');
  if (ms === undefined) {
    p.add(e.path, `${key} must be a duration in seconds (e.g. "60" or "1m")`, e.value);
    return undefined;
  }
  if (ms < min * 1000) {
    p.add(e.path, `${key} must be >= ${min} seconds`, e.value);
    return undefined;
  }
  return ms;
}

function enumEnv<T extends string>(env: ReturnType<typeof envMap>, key: string, allowed: readonly T[], p: Problems): T | undefined {
  const e = env.get(key);
  if (!e) return undefined;
  if (!(allowed as readonly string[]).includes(e.value)) {
    p.add(e.path, `${key} must be one of ${allowed.join(', ')}`, e.value);
    return undefined;
  }
  return e.value as T;
}

function boolEnv(env: ReturnType<typeof envMap>, key: string, p: Problems): boolean | undefined {
  const v = enumEnv(env, key, ['true', 'false'] as const, p);
  return v === undefined ? undefined : v === 'true';
}

const NUMERIC_CRITERIA: readonly NumericCriteria[] = ['>=', '<=', '>', '<', '==', '!=', 'oneOf', 'between'];
const STRING_CRITERIA: readonly StringCriteria[] = ['equal', 'notEqual', 'contains', 'matches', 'notMatches', 'oneOf'];

function durationField(raw: unknown, bareUnit: 's' | 'ms', path: string, p: Problems, dflt: number, min = 0): number {
  if (raw === undefined) return dflt;
  const ms = parseDurationMs(raw, bareUnit);
  if (ms === undefined) p.add(path, `must be a duration (a number of ${bareUnit === 's' ? 'seconds' : 'milliseconds'}, or like "5s", "500ms")`, raw);
  else if (ms < min) p.add(path, `must be >= ${min} ms`, raw);
  else return ms;
  return dflt;
}

function intField(raw: unknown, path: string, p: Problems, dflt: number, min: number): number {
  if (raw === undefined) return dflt;
  const n = typeof raw === 'number' ? raw : /^\s*-?\d+\s*$/.test(String(raw)) ? Number(raw) : NaN;
  if (!Number.isInteger(n)) p.add(path, 'must be a whole number', raw);
  else if (n < min) p.add(path, `must be >= ${min}`, raw);
  else return n;
  return dflt;
}

function boolField(raw: unknown, path: string, p: Problems, dflt: boolean): boolean {
  if (raw === undefined) return dflt;
  if (raw === true || raw === 'true') return true;
  if (raw === false || raw === 'false') return false;
  p.add(path, 'must be true or false', raw);
  return dflt;
}

function normalizeRunProperties(rp: ProbeDoc['runProperties'], path: string, p: Problems): RunProperties {
  const r = rp ?? {};
  if (r.attempt !== undefined && r.retry !== undefined) p.add(`${path}.retry`, 'give either attempt or retry (legacy), not both', r.retry);
  const out: RunProperties = {
    probeTimeoutMs: durationField(r.probeTimeout, 's', `${path}.probeTimeout`, p, 5000, 1),
    intervalMs: durationField(r.interval, 's', `${path}.interval`, p, 2000),
    attempts: intField(r.attempt ?? r.retry, `${path}.${r.attempt !== undefined ? 'attempt' : 'retry'}`, p, 1, 1),
    pollingIntervalMs: durationField(r.probePollingInterval, 's', `${path}.probePollingInterval`, p, 2000, 1),
    initialDelayMs: durationField(r.initialDelay ?? r.initialDelaySeconds, 's', `${path}.initialDelay`, p, 0),
    stopOnFailure: boolField(r.stopOnFailure, `${path}.stopOnFailure`, p, false),
  };
  if (r.evaluationTimeout !== undefined) out.evaluationTimeoutMs = durationField(r.evaluationTimeout, 's', `${path}.evaluationTimeout`, p, 0, 1);
  return out;
}

function numericCriteria(raw: string, path: string, p: Problems): NumericCriteria {
  if ((NUMERIC_CRITERIA as readonly string[]).includes(raw)) return raw as NumericCriteria;
  p.add(path, `criteria must be one of ${NUMERIC_CRITERIA.join(' ')}`, raw);
  return '==';
}

export function normalizeProbe(doc: ProbeDoc, path: string, p: Problems): ProbeSpec | undefined {
  const base = { name: doc.name, mode: doc.mode, runProperties: normalizeRunProperties(doc.runProperties, `${path}.runProperties`, p) };
  const inputsKey = `${doc.type}/inputs` as const;
  const inputs = (doc as Record<string, unknown>)[inputsKey];
  if (inputs === undefined) {
    p.add(`${path}["${inputsKey}"]`, `is required for a ${doc.type}`);
    return undefined;
  }
  const ip = `${path}["${inputsKey}"]`;
  switch (doc.type) {
    case 'httpProbe': {
      const h = doc['httpProbe/inputs']!;
      const methods = Object.keys(h.method).filter((k) => k === 'get' || k === 'post');
      if (methods.length !== 1) {
        p.add(`${ip}.method`, 'must have exactly one of get, post', h.method);
        return undefined;
      }
      const m = methods[0] as 'get' | 'post';
      const blk = h.method[m]!;
      const mp = `${ip}.method.${m}`;
      const http: Extract<ProbeSpec, { type: 'httpProbe' }>['http'] = {
        url: h.url,
        method: m === 'get' ? 'GET' : 'POST',
        headers: Object.fromEntries(Object.entries(h.headers ?? {}).map(([k, v]) => [k, String(v)])),
        insecureSkipTLS: boolField(h.insecureSkipTLS, `${ip}.insecureSkipTLS`, p, false),
      };
      if (!/^https?:\/\//.test(h.url)) p.add(`${ip}.url`, 'must be an http:// or https:// URL', h.url);
      if (blk.body !== undefined) http.body = blk.body;
      if (blk.bodyPath !== undefined) http.bodyPath = blk.bodyPath;
      if (blk.contentType !== undefined) http.contentType = blk.contentType;
      if (blk.body !== undefined && blk.bodyPath !== undefined) p.add(`${mp}.bodyPath`, 'give either body or bodyPath, not both', blk.bodyPath);
      const rtRaw = blk.responseTimeout ?? h.responseTimeout;
      if (rtRaw !== undefined) http.responseTimeoutMs = durationField(rtRaw, 'ms', `${blk.responseTimeout !== undefined ? mp : ip}.responseTimeout`, p, 0, 1);
      if (blk.responseCode !== undefined) {
        const crit = blk.criteria ?? '==';
        if (!['==', '!=', 'oneOf'].includes(crit)) p.add(`${mp}.criteria`, 'criteria on responseCode must be ==, != or oneOf', crit);
        http.responseCode = { criteria: crit as '==' | '!=' | 'oneOf', value: String(blk.responseCode) };
      } else if (blk.criteria !== undefined) {
        // Seed form: `criteria: "<"` with `responseTimeout: 5000` and no responseCode = a response-time criterion.
        if (http.responseTimeoutMs === undefined) {
          p.add(`${mp}.criteria`, 'criteria needs responseCode (or responseTimeout for a response-time criterion)', blk.criteria);
        } else {
          http.responseTime = { criteria: numericCriteria(blk.criteria, `${mp}.criteria`, p), valueMs: http.responseTimeoutMs };
        }
      }
      if (blk.responseTime) {
        const ms = parseDurationMs(blk.responseTime.value, 'ms');
        if (ms === undefined) p.add(`${mp}.responseTime.value`, 'must be a duration in ms', blk.responseTime.value);
        http.responseTime = { criteria: numericCriteria(blk.responseTime.criteria, `${mp}.responseTime.criteria`, p), valueMs: ms ?? 0 };
      }
      if (blk.responseBody) {
        if (!(STRING_CRITERIA as readonly string[]).includes(blk.responseBody.criteria)) {
          p.add(`${mp}.responseBody.criteria`, `must be one of ${STRING_CRITERIA.join(' ')}`, blk.responseBody.criteria);
        }
        http.responseBody = { criteria: blk.responseBody.criteria as StringCriteria, value: blk.responseBody.value };
      }
      if (!http.responseCode && !http.responseTime && !http.responseBody) p.add(`${mp}`, 'needs a criterion: responseCode, responseTimeout with criteria, or responseBody');
      return { ...base, type: 'httpProbe', http };
    }
    case 'promProbe': {
      const pr = doc['promProbe/inputs']!;
      if (!pr.query) {
        p.add(`${ip}.query`, 'is required (queryPath is not supported yet)');
        return undefined;
      }
      if (!/^https?:\/\//.test(pr.endpoint)) p.add(`${ip}.endpoint`, 'must be an http:// or https:// URL', pr.endpoint);
      return {
        ...base,
        type: 'promProbe',
        prom: {
          endpoint: pr.endpoint,
          query: pr.query,
          comparator: { criteria: numericCriteria(pr.comparator.criteria, `${ip}.comparator.criteria`, p), value: String(pr.comparator.value) },
        },
      };
    }
    case 'cmdProbe': {
      const c = doc['cmdProbe/inputs']!;
      const type = c.comparator.type ?? 'string';
      const allowed: readonly string[] = type === 'string' ? STRING_CRITERIA : NUMERIC_CRITERIA;
      if (!allowed.includes(c.comparator.criteria)) p.add(`${ip}.comparator.criteria`, `criteria for type ${type} must be one of ${allowed.join(' ')}`, c.comparator.criteria);
      const cmd: Extract<ProbeSpec, { type: 'cmdProbe' }>['cmd'] = {
        command: c.command,
        comparator: { type, criteria: c.comparator.criteria, value: String(c.comparator.value) } as never,
      };
      if (typeof c.source === 'object' && c.source !== null) {
        const s = c.source as Record<string, unknown>;
        cmd.source = {
          namespace: s.namespace as string | undefined,
          pod: (s.pod ?? s.podName) as string | undefined,
          labelSelector: s.labelSelector as string | undefined,
          container: s.container as string | undefined,
        };
      } else if (typeof c.source === 'string' && c.source !== 'inline') {
        cmd.source = { pod: c.source };
      }
      return { ...base, type: 'cmdProbe', cmd };
    }
    case 'k8sProbe': {
      const k = doc['k8sProbe/inputs']!;
      return {
        ...base,
        type: 'k8sProbe',
        k8s: {
          group: k.group ?? '',
          version: k.version,
          resource: k.resource,
          namespace: k.namespace,
          fieldSelector: k.fieldSelector,
          labelSelector: k.labelSelector,
          operation: k.operation,
          data: k.data ?? doc.data,
        },
      };
    }
  }
}

/** One Litmus experiment entry (a "fault block") -> FaultSpec. */
export function normalizeFault(entry: ExperimentEntry, path: string, p: Problems): FaultSpec | undefined {
  if (!(FAULT_NAMES as readonly string[]).includes(entry.name)) {
    p.add(`${path}.name`, `unknown fault; known faults: ${FAULT_NAMES.join(', ')}`, entry.name);
    return undefined;
  }
  const name = entry.name as FaultName;
  const env = envMap(entry, path, p);
  const durationMs = secondsEnvMs(env, 'TOTAL_CHAOS_DURATION', p, 1) ?? (DEFAULT_DURATION_S[name] ?? 60) * 1000;
  const intervalMs = secondsEnvMs(env, 'CHAOS_INTERVAL', p, 1) ?? 5000;
  const rampTimeMs = secondsEnvMs(env, 'RAMP_TIME', p, 0) ?? 0;
  const fault: FaultSpec = {
    name,
    durationMs,
    intervalMs,
    rampTimeMs,
    podsAffectedPerc: intEnv(env, 'PODS_AFFECTED_PERC', p, { min: 0, max: 100 }) ?? 0,
    targetPods: (env.get('TARGET_PODS')?.value ?? '').split(',').map((s) => s.trim()).filter(Boolean),
    sequence: enumEnv(env, 'SEQUENCE', ['parallel', 'serial'] as const, p) ?? 'parallel',
    params: {},
    extraEnv: {},
    probes: [],
  };
  const prm = fault.params;
  const set = <K extends keyof typeof prm>(k: K, v: (typeof prm)[K] | undefined) => {
    if (v !== undefined) prm[k] = v;
  };
  set('force', boolEnv(env, 'FORCE', p));
  set('containerRuntime', enumEnv(env, 'CONTAINER_RUNTIME', ['containerd', 'docker', 'crio'] as const, p));
  set('socketPath', env.get('SOCKET_PATH')?.value);
  set('targetContainer', env.get('TARGET_CONTAINER')?.value);
  set('cpuCores', intEnv(env, 'CPU_CORES', p, { min: 0 }));
  set('cpuLoad', intEnv(env, 'CPU_LOAD', p, { min: 0, max: 100 }));
  set('memoryConsumptionMb', intEnv(env, 'MEMORY_CONSUMPTION', p, { min: 1 }));
  set('numberOfWorkers', intEnv(env, 'NUMBER_OF_WORKERS', p, { min: 1 }));
  set('networkLatencyMs', intEnv(env, 'NETWORK_LATENCY', p, { min: 0 }));
  set('jitterMs', intEnv(env, 'JITTER', p, { min: 0 }));
  set('packetLossPercentage', numEnv(env, 'NETWORK_PACKET_LOSS_PERCENTAGE', p, { min: 0, max: 100 }));
  set('gpuMemoryPercentage', numEnv(env, 'GPU_MEMORY_PERCENTAGE', p, { min: 0, max: 100 }));
  set('filePath', env.get('FILE_PATH')?.value);
  set('corruptionType', enumEnv(env, 'CORRUPTION_TYPE', ['random_bytes', 'truncate', 'zero'] as const, p));
  // Litmus defaults for the fault-specific parameters.
  if (name === 'pod-delete') prm.force ??= false;
  if (name === 'container-kill') prm.containerRuntime ??= 'containerd';
  if (name === 'pod-cpu-hog') { prm.cpuCores ??= 1; prm.cpuLoad ??= 100; }
  if (name === 'pod-memory-hog') { prm.memoryConsumptionMb ??= 500; prm.numberOfWorkers ??= 1; }
  if (name === 'pod-network-latency') { prm.networkLatencyMs ??= 2000; prm.jitterMs ??= 0; }
  if (name === 'pod-network-loss') prm.packetLossPercentage ??= 100;
  if (name === 'gpu-memory-hog') prm.gpuMemoryPercentage ??= 50;
  if (name === 'model-corruption') {
    prm.corruptionType ??= 'random_bytes';
    if (!prm.filePath) p.add(`${path}.spec.components.env`, 'model-corruption needs FILE_PATH');
  }
  for (const [k, v] of env) if (!COMMON_ENV.has(k)) fault.extraEnv[k] = v.value;
  if (intervalMs > durationMs && FAULT_STYLE_PERIODIC.has(name)) {
    p.add(env.get('CHAOS_INTERVAL')?.path ?? `${path}.spec.components.env`, `CHAOS_INTERVAL (${intervalMs / 1000}s) is longer than TOTAL_CHAOS_DURATION (${durationMs / 1000}s)`, env.get('CHAOS_INTERVAL')?.value);
  }
  const names = new Set<string>();
  (entry.spec?.probe ?? []).forEach((pd, i) => {
    const pp = `${path}.spec.probe[${i}]`;
    if (names.has(pd.name)) p.add(`${pp}.name`, 'duplicate probe name', pd.name);
    names.add(pd.name);
    const probe = normalizeProbe(pd, pp, p);
    if (probe) fault.probes.push(probe);
  });
  return fault;
}

const FAULT_STYLE_PERIODIC = new Set<FaultName>(['pod-delete', 'container-kill']);

function normalizeTarget(appinfo: z.infer<typeof appinfoSchema>, path: string, p: Problems): TargetSpec {
  const kind = appinfo.appkind ?? 'deployment';
  if (!/^[\w./-]+(=|==|!=)[\w.-]*(,[\w./-]+(=|==|!=)[\w.-]*)*$/.test(appinfo.applabel)) {
    p.add(`${path}.applabel`, 'must be a label selector like key=value', appinfo.applabel);
  }
  if (kind === 'deploymentconfig' || kind === 'rollout') p.add(`${path}.appkind`, `appkind ${kind} is not supported by Tempest yet`, kind);
  return { namespace: appinfo.appns, labelSelector: appinfo.applabel, kind: kind as TargetSpec['kind'] };
}

export function engineSpecToExperiment(
  name: string,
  engineNamespace: string,
  spec: z.infer<typeof engineSpecSchema>,
  file: string,
  pathPrefix: string,
): ExperimentSpec {
  const p = new Problems(file);
  const target = normalizeTarget(spec.appinfo, `${pathPrefix}.appinfo`, p);
  const faults: FaultSpec[] = [];
  spec.experiments.forEach((e, i) => {
    const f = normalizeFault(e, `${pathPrefix}.experiments[${i}]`, p);
    if (f) faults.push(f);
  });
  if (p.list.length) throw new ConfigError(p.list);
  return {
    name,
    engineNamespace,
    target,
    serviceAccount: spec.chaosServiceAccount,
    engineState: spec.engineState ?? 'active',
    faults,
    source: file,
  };
}

export function normalizeFaultBlock(entries: ExperimentEntry[], file: string, pathPrefix = ''): FaultSpec[] {
  const p = new Problems(file);
  const faults: FaultSpec[] = [];
  entries.forEach((e, i) => {
    const f = normalizeFault(e, joinPath(pathPrefix, `[${i}]`), p);
    if (f) faults.push(f);
  });
  if (p.list.length) throw new ConfigError(p.list);
  return faults;
}
