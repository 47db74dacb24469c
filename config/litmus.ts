/**
 * Litmus-compatible documents in, one normalized ExperimentSpec out.
 * The schemas accept the seed's ChaosEngine / ChaosSchedule YAML unchanged (numbers or strings where Litmus
 * allows both, extra Litmus fields passed through); normalization then parses env values into typed fields
 * with Litmus defaults. Every problem names the field path and the bad value.
 */
import { z } from 'zod';
import type { ConfigProblem } from './errors.js';
import { ConfigError, joinPath } from './errors.js';
import { parseDurationMs } from './duration.js';
import type { ExperimentSpec, FaultName, FaultSpec, ProbeSpec, RunProperties, NumericCriteria, StringCriteria, TargetSpec } from './spec.js';
import { DEFAULT_LIMITS, type Limits, type Policy } from './policy.js';
import { checkEngine, checkFault } from './validate-spec.js';
import { FAULT_NAMES, faultDescriptor } from '../activities/faults/registry.js';
import { paramName, setParam } from '../activities/faults/params.js';

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
        components: z
          .object({ env: z.array(envVar).nullable().optional() })
          .passthrough()
          .optional(),
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

export const engineSpecSchema = z
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

/**
 * A Litmus ChaosExperiment (chaos-charts' `fault.yaml`): what Tempest takes from it is `spec.definition.env`, the
 * fault's default tunables, which a ChaosEngine's env overrides by name (as Litmus's runner merges them). Its image,
 * command, args, permissions and labels are the Litmus runner's; Tempest never runs them (the worker's drivers and
 * the operator's images do the work), so they are accepted and ignored.
 */
export const chaosExperimentSchema = z
  .object({
    apiVersion: z.string().regex(/^litmuschaos\.io\//, 'must be litmuschaos.io/<version>'),
    kind: z.literal('ChaosExperiment'),
    metadata: z.object({ name: z.string().regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 'must be a DNS-1123 name (lowercase letters, digits, -)') }).passthrough(),
    spec: z.object({ definition: z.object({ env: z.array(envVar).nullable().optional() }).passthrough() }).passthrough(),
  })
  .passthrough();

/** A ChaosExperiment's defaults: its env, each with the path it came from (for messages that name it). */
export interface ExperimentDefaults {
  name: string;
  env: Array<{ name: string; value: string; path: string }>;
}

/** The defaults of a parsed ChaosExperiment document; `px` prefixes paths ("document 2."). */
export function experimentDefaults(doc: z.infer<typeof chaosExperimentSchema>, file: string, px = ''): ExperimentDefaults {
  const p = new Problems(file);
  const env: ExperimentDefaults['env'] = [];
  const seen = new Set<string>();
  (doc.spec.definition.env ?? []).forEach((e, i) => {
    const path = `${px}spec.definition.env[${i}]`;
    if (e.value === undefined) {
      if (e.valueFrom !== undefined) p.add(`${path}.valueFrom`, `valueFrom is not supported for ${e.name}; write the value inline`);
      return;
    }
    if (seen.has(e.name)) p.add(`${path}.name`, `duplicate env ${e.name}`, e.name);
    seen.add(e.name);
    env.push({ name: e.name, value: String(e.value).trim(), path: `${path}.value` });
  });
  if (p.list.length) throw new ConfigError(p.list);
  return { name: doc.metadata.name, env };
}

export type ChaosEngineDoc = z.infer<typeof chaosEngineSchema>;
export type ExperimentEntry = z.infer<typeof experimentEntrySchema>;
type ProbeDoc = z.infer<typeof probeSchema>;

// ---------------------------------------------------------------------------------------------
// Normalization: typed env, Litmus defaults, probe inputs.
// ---------------------------------------------------------------------------------------------

/** Collects problems while normalizing so the user sees all of them at once. */
export class Problems {
  readonly list: ConfigProblem[] = [];
  private readonly seen = new Set<string>();
  constructor(readonly file: string) {}
  add(path: string, message: string, value?: unknown) {
    const key = `${path}|${message}`;
    if (this.seen.has(key)) return;
    this.seen.add(key);
    this.list.push({ file: this.file, path, message, value });
  }
}

/** What normalization is bounded by: the operator's limits, and (for `run`) the policy's allowlists. */
export interface LoadContext {
  limits: Limits;
  /** With a policy, allowlists are checked too (blast radius, images, probe namespaces, ...). */
  policy?: Policy;
  /** ChaosExperiments by name: their env is the default of an engine's fault of that name (the engine's wins). */
  experiments?: ReadonlyMap<string, ExperimentDefaults>;
}

export const DEFAULT_LOAD_CONTEXT: LoadContext = { limits: DEFAULT_LIMITS };

/** The Litmus env every fault reads (FaultSpec's own fields). */
const COMMON_ENV = new Set(['TOTAL_CHAOS_DURATION', 'CHAOS_INTERVAL', 'RAMP_TIME', 'PODS_AFFECTED_PERC', 'TARGET_PODS', 'SEQUENCE']);

type EnvMap = Map<string, { value: string; path: string }>;

/**
 * The env list of a fault entry, over its ChaosExperiment's defaults (if the load has one of that name): an engine
 * entry replaces the default of the same name. An empty value means "not set" (as Litmus reads its own templates),
 * so an engine's `''` also unsets a default. A value's path is where it was written (engine or ChaosExperiment).
 */
function envMap(entry: ExperimentEntry, base: string, p: Problems, defaults?: ExperimentDefaults, notFromDefaults: ReadonlySet<string> = new Set()): EnvMap {
  const map: EnvMap = new Map();
  for (const d of defaults?.env ?? []) if (d.value !== '' && !notFromDefaults.has(d.name)) map.set(d.name, { value: d.value, path: d.path });
  const seen = new Set<string>();
  (entry.spec?.components?.env ?? []).forEach((e, i) => {
    const path = `${base}.spec.components.env[${i}]`;
    if (e.value === undefined && e.valueFrom !== undefined) {
      p.add(`${path}.valueFrom`, `valueFrom is not supported for ${e.name}; write the value inline`);
      return;
    }
    if (seen.has(e.name)) p.add(`${path}.name`, `duplicate env ${e.name}`, e.name);
    seen.add(e.name);
    const value = String(e.value ?? '').trim(); // a name without a value is "" (as Kubernetes reads it): not set
    if (value === '') map.delete(e.name);
    else map.set(e.name, { value, path: `${path}.value` });
  });
  return map;
}

/** Seconds env (TOTAL_CHAOS_DURATION, CHAOS_INTERVAL, RAMP_TIME): bare numbers are seconds, "30s"/"1m" accepted. Bounds: checkFault. */
function secondsEnvMs(env: EnvMap, key: string, p: Problems): number | undefined {
  const e = env.get(key);
  if (!e) return undefined;
  const ms = parseDurationMs(e.value, 's');
  if (ms === undefined) {
    p.add(e.path, `${key} must be a duration in seconds (e.g. "60" or "1m")`, e.value);
    return undefined;
  }
  return ms;
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

export function normalizeProbe(
  doc: ProbeDoc,
  path: string,
  p: Problems,
  _ctx: LoadContext = DEFAULT_LOAD_CONTEXT,
  defaultNamespace?: string,
): ProbeSpec | undefined {
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
      if (!http.responseCode && !http.responseTime && !http.responseBody)
        p.add(`${mp}`, 'needs a criterion: responseCode, responseTimeout with criteria, or responseBody');
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
      if (!allowed.includes(c.comparator.criteria))
        p.add(`${ip}.comparator.criteria`, `criteria for type ${type} must be one of ${allowed.join(' ')}`, c.comparator.criteria);
      const cmd: Extract<ProbeSpec, { type: 'cmdProbe' }>['cmd'] = {
        command: c.command,
        comparator: { type, criteria: c.comparator.criteria, value: String(c.comparator.value) } as never,
      };
      if (typeof c.source === 'object' && c.source !== null && !Array.isArray(c.source)) {
        const src = c.source as Record<string, unknown>;
        const str = (k: string, v: unknown): string | undefined => {
          if (v === undefined || v === '') return undefined;
          if (typeof v !== 'string') p.add(`${ip}.source.${k}`, 'must be a string', v);
          return typeof v === 'string' ? v : undefined;
        };
        cmd.source = {
          namespace: str('namespace', src.namespace) ?? defaultNamespace,
          pod: str('pod', src.pod ?? src.podName),
          labelSelector: str('labelSelector', src.labelSelector),
          container: str('container', src.container),
        };
        for (const k of Object.keys(src)) {
          if (!['namespace', 'pod', 'podName', 'labelSelector', 'container'].includes(k)) {
            p.add(
              `${ip}.source.${k}`,
              'Tempest runs cmdProbe sources in an existing pod: give namespace, pod or labelSelector, and container (a Litmus source image is not supported)',
            );
          }
        }
      } else if (typeof c.source === 'string' && c.source !== 'inline') {
        cmd.source = { namespace: defaultNamespace, pod: c.source };
      } else if (c.source !== undefined && c.source !== 'inline') {
        p.add(`${ip}.source`, 'must be "inline" or a pod (namespace, pod or labelSelector, container)', c.source);
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
          namespace: k.namespace || defaultNamespace,
          fieldSelector: k.fieldSelector || undefined,
          labelSelector: k.labelSelector || undefined,
          operation: k.operation,
          data: k.data ?? doc.data,
        },
      };
    }
  }
}

/** One Litmus experiment entry (a "fault block") -> FaultSpec: the descriptor's typed params, Litmus defaults, bounds. */
export function normalizeFault(
  entry: ExperimentEntry,
  path: string,
  p: Problems,
  ctx: LoadContext = DEFAULT_LOAD_CONTEXT,
  defaultNamespace?: string,
): FaultSpec | undefined {
  const d = faultDescriptor(entry.name);
  if (!d) {
    p.add(`${path}.name`, `unknown fault; known faults: ${FAULT_NAMES.join(', ')}`, entry.name);
    return undefined;
  }
  // A ChaosExperiment's *_IMAGE tunables name Litmus's own runner and helper images: never a default here (the
  // helper images are the operator's, images.* of the worker's policy; an engine may still name an allowed one).
  const imageEnv = new Set(d.params.filter((x) => typeof x.key === 'object').map((x) => x.env));
  const env = envMap(entry, path, p, ctx.experiments?.get(entry.name), imageEnv);
  const at = (key: string) => env.get(key)?.path ?? `${path}.spec.components.env`;
  const fault: FaultSpec = {
    name: d.name as FaultName,
    durationMs: secondsEnvMs(env, 'TOTAL_CHAOS_DURATION', p) ?? d.defaultDurationS * 1000,
    intervalMs: secondsEnvMs(env, 'CHAOS_INTERVAL', p) ?? 5000,
    rampTimeMs: secondsEnvMs(env, 'RAMP_TIME', p) ?? 0,
    podsAffectedPerc: 0,
    targetPods: (env.get('TARGET_PODS')?.value ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
    sequence: 'parallel',
    params: {},
    extraEnv: {},
    probes: [],
  };
  const perc = env.get('PODS_AFFECTED_PERC');
  if (perc) {
    if (!/^\d{1,3}$/.test(perc.value)) p.add(perc.path, 'PODS_AFFECTED_PERC must be a whole number from 0 to 100', perc.value);
    else fault.podsAffectedPerc = Number(perc.value);
  }
  const seq = env.get('SEQUENCE');
  if (seq) {
    if (seq.value !== 'parallel' && seq.value !== 'serial') p.add(seq.path, 'SEQUENCE must be one of parallel, serial', seq.value);
    else fault.sequence = seq.value;
  }
  const declared = new Set<string>(COMMON_ENV);
  /** Env entries already refused: one problem per entry (a later rule about the same variable stays quiet). */
  const refused = new Set<string>();
  for (const def of d.params) {
    declared.add(def.env);
    const e = env.get(def.env);
    if (e) {
      const r = def.parse(e.value, ctx.limits);
      if (r.ok) setParam(fault.params, def, r.value);
      else {
        p.add(e.path, r.error, e.value);
        refused.add(def.env);
      }
    } else if (def.default) setParam(fault.params, def, def.default(ctx.limits));
  }
  for (const [k, v] of env) if (!declared.has(k)) fault.extraEnv[k] = v.value;
  // Bounds, cross-field rules and (with a policy) allowlists: the worker's own checks, reported at the env entries.
  const envOfKey = new Map(d.params.map((def) => [paramName(def), def.env]));
  /** A problem the shared checks report at a spec path, moved to the env entry it is about (with the YAML's own value). */
  const report = (specPath: string, message: string, value: unknown): void => {
    const rest = specPath.slice(path.length);
    const m = /^\.(TOTAL_CHAOS_DURATION|CHAOS_INTERVAL|RAMP_TIME|PODS_AFFECTED_PERC|TARGET_PODS)$/.exec(rest);
    const pm = /^\.params\.(.+)$/.exec(rest);
    const envName = m ? m[1] : pm ? (envOfKey.get(pm[1]) ?? pm[1]) : undefined;
    if (envName !== undefined && refused.has(envName)) return;
    if (envName !== undefined) {
      const e = env.get(envName);
      p.add(at(envName), message, e ? e.value : value);
    } else if (rest === '.env') p.add(`${path}.spec.components.env`, message, value);
    else if (rest.startsWith('.probe')) p.add(`${path}.spec${rest}`, message, value);
    else p.add(specPath, message, value);
  };
  (entry.spec?.probe ?? []).forEach((pd, i) => {
    const probe = normalizeProbe(pd, `${path}.spec.probe[${i}]`, p, ctx, defaultNamespace);
    if (probe) fault.probes.push(probe);
  });
  checkFault(fault, path, ctx.limits, { add: report }, ctx.policy, defaultNamespace);
  return fault;
}

const APPKINDS = ['deployment', 'statefulset', 'daemonset', 'replicaset', 'pod'] as const;

/**
 * The probes of a run that reach the cluster (k8sProbe, a cmdProbe with a `source`) act as its chaosServiceAccount
 * when the policy impersonates: each carries it (ProbeSpec.actAs). Also called on the probes a hypothesis adds.
 */
export function stampProbeIdentity(spec: Pick<ExperimentSpec, 'target' | 'faults'>): void {
  const sa = spec.target.serviceAccount;
  for (const f of spec.faults) {
    for (const p of f.probes) {
      if (p.type === 'k8sProbe' || (p.type === 'cmdProbe' && p.cmd.source)) {
        if (sa) p.actAs = { namespace: spec.target.serviceAccountNamespace ?? spec.target.namespace, serviceAccount: sa };
        else delete p.actAs;
      }
    }
  }
}

export function engineSpecToExperiment(
  name: string,
  engineNamespace: string,
  spec: z.infer<typeof engineSpecSchema>,
  file: string,
  pathPrefix: string,
  ctx: LoadContext = DEFAULT_LOAD_CONTEXT,
  metaPrefix = '',
): ExperimentSpec {
  const p = new Problems(file);
  const kind = spec.appinfo.appkind ?? 'deployment';
  if (!(APPKINDS as readonly string[]).includes(kind)) p.add(`${pathPrefix}.appinfo.appkind`, `appkind ${kind} is not supported by Tempest yet`, kind);
  const target: TargetSpec = {
    namespace: spec.appinfo.appns,
    labelSelector: spec.appinfo.applabel,
    kind: kind as TargetSpec['kind'],
    ...(spec.chaosServiceAccount ? { serviceAccount: spec.chaosServiceAccount } : {}),
    // Litmus's chaosServiceAccount lives in the engine's namespace (its runner runs there).
    ...(spec.chaosServiceAccount && engineNamespace && engineNamespace !== spec.appinfo.appns ? { serviceAccountNamespace: engineNamespace } : {}),
  };
  const faults: FaultSpec[] = [];
  spec.experiments.forEach((e, i) => {
    const f = normalizeFault(e, `${pathPrefix}.experiments[${i}]`, p, ctx, target.namespace);
    if (f) faults.push(f);
  });
  stampProbeIdentity({ target, faults });
  const out: ExperimentSpec = {
    name,
    engineNamespace,
    target,
    serviceAccount: spec.chaosServiceAccount || undefined,
    engineState: spec.engineState ?? 'active',
    faults,
    source: file,
  };
  checkEngine(out, ctx.limits, p, ctx.policy, {
    name: `${metaPrefix}metadata.name`,
    engineNamespace: `${metaPrefix}metadata.namespace`,
    appns: `${pathPrefix}.appinfo.appns`,
    applabel: `${pathPrefix}.appinfo.applabel`,
    serviceAccount: `${pathPrefix}.chaosServiceAccount`,
    faults: `${pathPrefix}.experiments`,
    fault: (i) => `${pathPrefix}.experiments[${i}]`,
  });
  if (p.list.length) throw new ConfigError(p.list);
  return out;
}

export function normalizeFaultBlock(entries: ExperimentEntry[], file: string, pathPrefix = '', ctx: LoadContext = DEFAULT_LOAD_CONTEXT): FaultSpec[] {
  const p = new Problems(file);
  const faults: FaultSpec[] = [];
  entries.forEach((e, i) => {
    const f = normalizeFault(e, joinPath(pathPrefix, `[${i}]`), p, ctx);
    if (f) faults.push(f);
  });
  if (p.list.length) throw new ConfigError(p.list);
  return faults;
}
