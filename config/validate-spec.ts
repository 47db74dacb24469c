/**
 * The strict shape of a run, checked by the WORKER before it touches anything (and by the YAML loader, so an
 * author hears about a bad value at validate time). A workflow input comes from a client, so it is treated as
 * anything: every field is checked for type, shape and bounds (the operator's limits); unknown keys are refused;
 * with a policy, also the allowlists (blast radius, probe namespaces, local commands, k8sProbe writes, images,
 * runtime sockets, probe hosts and body roots). What needs the target itself (realpath of a file, the rewritten
 * URL of a probe) is checked by the driver that touches it.
 *
 * PURE: no I/O.
 */
import { z } from 'zod';
import type { ExperimentSpec, FaultSpec, K8sProbeInputs, ProbeSpec } from './spec.js';
import type { ConfigProblem } from './errors.js';
import { formatMs } from './duration.js';
import {
  blastRadiusRefusal,
  cut,
  hostRefusal,
  impersonationRefusal,
  namespaceRefusal,
  namespaceScope,
  normalAbsolutePath,
  pathWithin,
  scopeText,
  selectorInScope,
  type Limits,
  type Policy,
} from './policy.js';
import { isDnsLabel, isDnsSubdomain, parseFieldSelector, parseLabelSelector } from './selector.js';
import { FAULT_NAMES, faultDescriptor } from '../activities/faults/registry.js';
import { getParam, paramName } from '../activities/faults/params.js';
import { NUMERIC_CRITERIA, STRING_CRITERIA, parseList, parseNumber, toRegExp } from '../activities/probes/comparators.js';

// ------------------------------------------------------------------------------------------ structure (zod, strict)

const int = z.number().int();
const str = (max: number) => z.string().max(max);

const runPropertiesS = z
  .object({
    probeTimeoutMs: int,
    intervalMs: int,
    attempts: int,
    pollingIntervalMs: int,
    initialDelayMs: int,
    stopOnFailure: z.boolean(),
    evaluationTimeoutMs: int.optional(),
  })
  .strict();

const numericCriteria = z.enum(NUMERIC_CRITERIA as unknown as [string, ...string[]]);
const stringCriteria = z.enum(STRING_CRITERIA as unknown as [string, ...string[]]);

const httpS = z
  .object({
    url: str(2048),
    method: z.enum(['GET', 'POST']),
    body: str(64 * 1024).optional(),
    bodyPath: str(4096).optional(),
    contentType: str(256).optional(),
    headers: z.record(str(4096)),
    insecureSkipTLS: z.boolean(),
    responseCode: z
      .object({ criteria: z.enum(['==', '!=', 'oneOf']), value: str(1024) })
      .strict()
      .optional(),
    responseTime: z.object({ criteria: numericCriteria, valueMs: int }).strict().optional(),
    responseBody: z
      .object({ criteria: stringCriteria, value: str(4096) })
      .strict()
      .optional(),
    responseTimeoutMs: int.optional(),
  })
  .strict();

const promS = z.object({ endpoint: str(2048), query: str(4096), comparator: z.object({ criteria: numericCriteria, value: str(1024) }).strict() }).strict();

const comparatorS = z.union([
  z.object({ type: z.enum(['int', 'float']), criteria: numericCriteria, value: str(4096) }).strict(),
  z.object({ type: z.literal('string'), criteria: stringCriteria, value: str(4096) }).strict(),
]);

const cmdS = z
  .object({
    command: str(4096),
    source: z
      .object({ namespace: str(63).optional(), pod: str(253).optional(), labelSelector: str(1024).optional(), container: str(63).optional() })
      .strict()
      .optional(),
    comparator: comparatorS,
  })
  .strict();

const k8sS = z
  .object({
    group: str(253),
    version: str(64),
    resource: str(253),
    namespace: str(63).optional(),
    fieldSelector: str(1024).optional(),
    labelSelector: str(1024).optional(),
    operation: z.enum(['present', 'absent', 'create', 'delete']),
    data: str(64 * 1024).optional(),
  })
  .strict();

const probeBase = {
  name: str(128),
  mode: z.enum(['SOT', 'EOT', 'Edge', 'Continuous', 'OnChaos']),
  runProperties: runPropertiesS,
  actAs: z
    .object({ namespace: str(63), serviceAccount: str(253) })
    .strict()
    .optional(),
};
const probeS = z.discriminatedUnion('type', [
  z.object({ ...probeBase, type: z.literal('httpProbe'), http: httpS }).strict(),
  z.object({ ...probeBase, type: z.literal('promProbe'), prom: promS }).strict(),
  z.object({ ...probeBase, type: z.literal('cmdProbe'), cmd: cmdS }).strict(),
  z.object({ ...probeBase, type: z.literal('k8sProbe'), k8s: k8sS }).strict(),
]);

const faultS = z
  .object({
    name: z.enum(FAULT_NAMES as unknown as [string, ...string[]]),
    durationMs: int,
    intervalMs: int,
    rampTimeMs: int,
    podsAffectedPerc: int,
    targetPods: z.array(str(253)).max(10_000),
    sequence: z.enum(['parallel', 'serial']),
    params: z.record(z.unknown()),
    extraEnv: z.record(str(4096)),
    probes: z.array(probeS).max(100),
  })
  .strict();

/** Prose shown in reports, the Temporal UI and terminals: line breaks and tabs, no other control characters. */
const text = (max: number) => str(max).refine((s) => !/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/.test(s), 'must be printable text (no control characters)');

const planS = z
  .object({
    steadyState: z.array(z.object({ description: text(1024), probe: str(128).optional() }).strict()).max(100),
    experiment: z.array(text(1024)).max(100),
    successCriteria: z.array(z.object({ description: text(1024), probe: str(128).optional() }).strict()).max(100),
    rollbackPlan: z.array(text(1024)).max(100),
  })
  .strict();

export const experimentSpecSchema = z
  .object({
    name: str(253),
    engineNamespace: str(63),
    target: z
      .object({
        namespace: str(63),
        labelSelector: str(1024),
        kind: z.enum(['deployment', 'statefulset', 'daemonset', 'replicaset', 'pod']),
        serviceAccount: str(253).optional(),
        serviceAccountNamespace: str(63).optional(),
      })
      .strict(),
    serviceAccount: str(253).optional(),
    engineState: z.enum(['active', 'stop']),
    faults: z.array(faultS).min(1).max(100),
    hypothesis: text(4096).optional(),
    hypothesisPlan: planS.optional(),
    source: str(1024).optional(),
  })
  .strict();

// ------------------------------------------------------------------------------------------ semantic checks

/** Where a problem is reported: spec paths by default; the YAML loader maps them to the document's own paths. */
export interface Checker {
  add(path: string, message: string, value?: unknown): void;
}

const PRINTABLE = /^[^\u0000-\u001f\u007f]*$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,128}$/;

function range(c: Checker, path: string, v: number, min: number, max: number, what: string, limit?: string): void {
  if (!Number.isSafeInteger(v)) c.add(path, `${what} must be a whole number`, v);
  else if (v < min) c.add(path, `${what} must be >= ${min}`, v);
  else if (v > max) c.add(path, `${what} must be <= ${max}${limit ? ` (limits.${limit})` : ''}`, v);
}

/**
 * A string bound of the strict shape above, also checked here so that the YAML loader, which runs these checks
 * and not the shape, refuses what the worker would (naming the field) instead of accepting it.
 */
function within(c: Checker, path: string, v: string | undefined, max: number): boolean {
  if (v === undefined || v.length <= max) return true;
  c.add(path, `must be at most ${max} characters`, v);
  return false;
}

/** A duration bound, said in the units an author writes (5s, 6h), not in ms. */
function rangeDur(c: Checker, path: string, ms: number, min: number, max: number, what: string, limit?: string): void {
  if (!Number.isSafeInteger(ms)) c.add(path, `${what} must be a duration`, ms);
  else if (ms < min) c.add(path, `${what} must be at least ${formatMs(min)}`, formatMs(Math.max(0, ms)));
  else if (ms > max) c.add(path, `${what} must be at most ${formatMs(max)}${limit ? ` (limits.${limit})` : ''}`, formatMs(ms));
}

function checkLabelSelector(c: Checker, path: string, s: string, allowEmpty: boolean): void {
  const r = parseLabelSelector(s);
  if (!r.ok) c.add(path, `is not a label selector: ${r.error}`, s);
  else if (!allowEmpty && !r.value.requirements.length) c.add(path, 'must select something (an empty selector selects every pod)', s);
}

function checkComparatorValue(c: Checker, path: string, type: 'int' | 'float' | 'string', criteria: string, value: string): void {
  if (type === 'string') {
    if (criteria === 'matches' || criteria === 'notMatches') {
      const re = toRegExp(value);
      if ('error' in re) c.add(path, `is not a valid RE2 regular expression: ${re.error}`, value);
    } else if (criteria === 'oneOf' && !parseList(value)?.length) c.add(path, 'oneOf needs a list like "[a,b]"', value);
    return;
  }
  const integer = type === 'int';
  const nums = criteria === 'oneOf' || criteria === 'between' ? parseList(value) : [value];
  if (!nums || !nums.length || nums.some((n) => parseNumber(n, integer) === undefined)) {
    c.add(path, `must be ${criteria === 'oneOf' || criteria === 'between' ? 'a list of ' : ''}${integer ? 'whole numbers' : 'numbers'}`, value);
  } else if (criteria === 'between' && (nums.length !== 2 || parseNumber(nums[0], integer)! > parseNumber(nums[1], integer)!)) {
    c.add(path, 'between needs [low, high]', value);
  }
}

function checkUrl(c: Checker, path: string, url: string): void {
  let u: URL | undefined;
  try {
    u = new URL(url);
  } catch {
    /* below */
  }
  if (!u || (u.protocol !== 'http:' && u.protocol !== 'https:')) c.add(path, 'must be an http:// or https:// URL', url);
  else if (u.username || u.password) c.add(path, 'must not carry credentials (they would be recorded in the run history)', url);
}

export function checkProbe(p: ProbeSpec, at: string, limits: Limits, c: Checker, policy?: Policy, targetNamespace?: string): void {
  if (!p.name.trim() || !PRINTABLE.test(p.name)) c.add(`${at}.name`, 'must be printable text', p.name);
  within(c, `${at}.name`, p.name, 128);
  const rp = p.runProperties;
  const rpp = `${at}.runProperties`;
  rangeDur(c, `${rpp}.probeTimeout`, rp.probeTimeoutMs, 1, limits.maxProbeTimeoutMs, 'probeTimeout', 'maxProbeTimeout');
  rangeDur(c, `${rpp}.interval`, rp.intervalMs, 0, limits.maxProbeIntervalMs, 'interval', 'maxProbeInterval');
  range(c, `${rpp}.attempt`, rp.attempts, 1, limits.maxProbeAttempts, 'attempt', 'maxProbeAttempts');
  rangeDur(c, `${rpp}.probePollingInterval`, rp.pollingIntervalMs, 1, limits.maxProbeIntervalMs, 'probePollingInterval', 'maxProbeInterval');
  rangeDur(c, `${rpp}.initialDelay`, rp.initialDelayMs, 0, limits.maxProbeIntervalMs, 'initialDelay', 'maxProbeInterval');
  if (rp.evaluationTimeoutMs !== undefined)
    rangeDur(c, `${rpp}.evaluationTimeout`, rp.evaluationTimeoutMs, 1, limits.maxProbeIntervalMs, 'evaluationTimeout', 'maxProbeInterval');
  switch (p.type) {
    case 'httpProbe': {
      const h = p.http;
      const ip = `${at}["httpProbe/inputs"]`;
      if (within(c, `${ip}.url`, h.url, 2048)) checkUrl(c, `${ip}.url`, h.url);
      within(c, `${ip}.method.post.body`, h.body, 64 * 1024);
      within(c, `${ip}.method.post.bodyPath`, h.bodyPath, 4096);
      within(c, `${ip}.method.contentType`, h.contentType, 256);
      for (const [k, v] of Object.entries(h.headers)) {
        within(c, `${ip}.headers.${k}`, v, 4096);
        if (!HEADER_NAME.test(k)) c.add(`${ip}.headers`, 'header names must be HTTP tokens', k);
        if (/[\r\n\u0000]/.test(v)) c.add(`${ip}.headers.${k}`, 'header values must not contain CR, LF or NUL', v);
      }
      if (Object.keys(h.headers).length > 32) c.add(`${ip}.headers`, 'at most 32 headers');
      if (h.body !== undefined && h.bodyPath !== undefined) c.add(`${ip}.method.post.bodyPath`, 'give either body or bodyPath, not both', h.bodyPath);
      if (h.bodyPath !== undefined) {
        const np = normalAbsolutePath(h.bodyPath);
        if (np !== h.bodyPath) c.add(`${ip}.method.post.bodyPath`, 'must be an absolute path without "..", "." or empty segments', h.bodyPath);
        else if (policy && !policy.files.probeBodyRoots.some((r) => pathWithin(np, r))) {
          c.add(
            `${ip}.method.post.bodyPath`,
            `is not inside files.probeBodyRoots of ${policy.source} (${policy.files.probeBodyRoots.join(', ') || 'none declared'})`,
            h.bodyPath,
          );
        }
      }
      if (h.responseCode && within(c, `${ip}.method.responseCode`, h.responseCode.value, 1024))
        checkComparatorValue(c, `${ip}.method.responseCode`, 'int', h.responseCode.criteria, h.responseCode.value);
      if (h.responseTime) rangeDur(c, `${ip}.method.responseTimeout`, h.responseTime.valueMs, 0, limits.maxProbeTimeoutMs, 'response time', 'maxProbeTimeout');
      if (h.responseBody && within(c, `${ip}.method.responseBody.value`, h.responseBody.value, 4096))
        checkComparatorValue(c, `${ip}.method.responseBody.value`, 'string', h.responseBody.criteria, h.responseBody.value);
      if (h.responseTimeoutMs !== undefined)
        rangeDur(c, `${ip}.responseTimeout`, h.responseTimeoutMs, 1, limits.maxProbeTimeoutMs, 'responseTimeout', 'maxProbeTimeout');
      if (!h.responseCode && !h.responseTime && !h.responseBody)
        c.add(`${ip}.method`, 'needs a criterion: responseCode, responseTimeout with criteria, or responseBody');
      if (policy) {
        const why = hostRefusal(policy, h.url);
        if (why) c.add(`${ip}.url`, why, h.url);
      }
      return;
    }
    case 'promProbe': {
      const ip = `${at}["promProbe/inputs"]`;
      if (within(c, `${ip}.endpoint`, p.prom.endpoint, 2048)) checkUrl(c, `${ip}.endpoint`, p.prom.endpoint);
      if (!p.prom.query.trim()) c.add(`${ip}.query`, 'must not be empty');
      within(c, `${ip}.query`, p.prom.query, 4096);
      if (within(c, `${ip}.comparator.value`, p.prom.comparator.value, 1024))
        checkComparatorValue(c, `${ip}.comparator.value`, 'float', p.prom.comparator.criteria, p.prom.comparator.value);
      if (policy) {
        const why = hostRefusal(policy, p.prom.endpoint);
        if (why) c.add(`${ip}.endpoint`, why, p.prom.endpoint);
      }
      return;
    }
    case 'cmdProbe': {
      const ip = `${at}["cmdProbe/inputs"]`;
      const cmd = p.cmd;
      if (!cmd.command.trim() || /\u0000/.test(cmd.command)) c.add(`${ip}.command`, 'must be a non-empty command without NUL characters', cmd.command);
      within(c, `${ip}.command`, cmd.command, 4096);
      const cmpType = cmd.comparator.type;
      if (
        cmpType === 'string'
          ? !(STRING_CRITERIA as readonly string[]).includes(cmd.comparator.criteria)
          : !(NUMERIC_CRITERIA as readonly string[]).includes(cmd.comparator.criteria)
      ) {
        c.add(
          `${ip}.comparator.criteria`,
          `criteria for type ${cmpType} must be one of ${(cmpType === 'string' ? STRING_CRITERIA : NUMERIC_CRITERIA).join(' ')}`,
          cmd.comparator.criteria,
        );
      } else if (within(c, `${ip}.comparator.value`, cmd.comparator.value, 4096))
        checkComparatorValue(c, `${ip}.comparator.value`, cmpType, cmd.comparator.criteria, cmd.comparator.value);
      const s = cmd.source;
      if (!s) {
        if (policy && !policy.probes.allowLocalCommands) {
          c.add(
            `${ip}.source`,
            `a cmdProbe without source would run /bin/sh on the worker host, which ${policy.source} does not allow (probes.allowLocalCommands): give a source pod`,
          );
        }
        return;
      }
      if (s.namespace === undefined || !isDnsLabel(s.namespace)) c.add(`${ip}.source.namespace`, 'must be a namespace name (DNS-1123 label)', s.namespace);
      else if (policy) {
        const why = namespaceRefusal(policy, s.namespace);
        if (why) c.add(`${ip}.source.namespace`, why, s.namespace);
        else {
          // A selector-restricted namespace: a source selector must be contained in an allowed one. A pod by name
          // is checked by the worker on the pod's live labels, when it runs the command (execInPod).
          const scope = namespaceScope(policy, s.namespace);
          const sel = s.labelSelector !== undefined ? parseLabelSelector(s.labelSelector) : undefined;
          if (scope.allowed && scope.selectors && sel?.ok && sel.value.requirements.length && !selectorInScope(scope, sel.value)) {
            c.add(
              `${ip}.source.labelSelector`,
              `selects pods outside the blast radius: blastRadius.allow of ${policy.source} allows in ${s.namespace} only ${scopeText(scope)}`,
              s.labelSelector,
            );
          }
        }
      }
      if (s.pod !== undefined && !isDnsSubdomain(s.pod)) c.add(`${ip}.source.pod`, 'must be a pod name', s.pod);
      if (s.labelSelector !== undefined) checkLabelSelector(c, `${ip}.source.labelSelector`, s.labelSelector, false);
      if (s.pod === undefined && s.labelSelector === undefined) c.add(`${ip}.source`, 'needs pod or labelSelector');
      if (s.container !== undefined && !isDnsLabel(s.container)) c.add(`${ip}.source.container`, 'must be a container name (DNS-1123 label)', s.container);
      else if (s.container !== undefined && /^tempest-/.test(s.container))
        c.add(`${ip}.source.container`, "is one of Tempest's own fault containers (tempest-*): a cmdProbe runs only in the pod's own containers", s.container);
      return;
    }
    case 'k8sProbe': {
      const ip = `${at}["k8sProbe/inputs"]`;
      const k = p.k8s;
      within(c, `${ip}.data`, k.data, 64 * 1024);
      if (k.group !== '' && k.group !== 'core' && !isDnsSubdomain(k.group)) c.add(`${ip}.group`, 'must be an API group name', k.group);
      if (!/^v\d{1,3}((alpha|beta)\d{1,3})?$/.test(k.version)) c.add(`${ip}.version`, 'must be an API version like v1 or v1beta1', k.version);
      if (!/^[a-z][a-z0-9-]{0,62}$/.test(k.resource)) c.add(`${ip}.resource`, 'must be a resource name like pods or deployments', k.resource);
      if (k.namespace !== undefined && !isDnsLabel(k.namespace)) c.add(`${ip}.namespace`, 'must be a namespace name (DNS-1123 label)', k.namespace);
      if (k.fieldSelector !== undefined) {
        const r = parseFieldSelector(k.fieldSelector);
        if (!r.ok) c.add(`${ip}.fieldSelector`, `is not a field selector: ${r.error}`, k.fieldSelector);
      }
      if (k.labelSelector !== undefined) checkLabelSelector(c, `${ip}.labelSelector`, k.labelSelector, true);
      if (k.operation === 'create' && !k.data?.trim()) c.add(`${ip}.data`, 'create needs data: the manifest of the object(s) to create');
      if (policy) {
        if (k.namespace === undefined)
          c.add(`${ip}.namespace`, `is required (the namespace the probe reads or writes must be in blastRadius.allow of ${policy.source})`);
        else {
          const why = namespaceRefusal(policy, k.namespace);
          if (why) c.add(`${ip}.namespace`, why, k.namespace);
          else checkK8sProbeScope(c, ip, { ...k, namespace: k.namespace }, policy);
        }
        if (k.operation === 'create' || k.operation === 'delete') {
          const gr = k.group && k.group !== 'core' ? `${k.group}/${k.resource}` : k.resource;
          if (!policy.probes.k8sWritable.includes(gr) && !policy.probes.k8sWritable.includes(k.resource)) {
            c.add(
              `${ip}.operation`,
              `${k.operation} on ${gr} is not allowed by ${policy.source} (probes.k8sWritable: ${policy.probes.k8sWritable.join(', ') || 'none'})`,
              k.operation,
            );
          }
        }
      }
      void targetNamespace;
      return;
    }
  }
}

/**
 * A k8sProbe in a namespace the blast radius restricts to label selectors may only touch objects inside them:
 * no create (a created object could carry any labels); delete with a labelSelector contained in an allowed one;
 * present / absent with such a labelSelector, or by name (fieldSelector metadata.name=...: the worker then checks
 * the object's labels). A read of a resource the operator lists in probes.k8sClusterScoped is left to the worker,
 * which knows after discovery whether it is namespaced at all.
 */
function checkK8sProbeScope(c: Checker, ip: string, k: K8sProbeInputs & { namespace: string }, policy: Policy): void {
  const ns = k.namespace;
  const scope = namespaceScope(policy, ns);
  if (!scope.allowed || !scope.selectors) return;
  const gr = k.group && k.group !== 'core' ? `${k.group}/${k.resource}` : k.resource;
  const read = k.operation === 'present' || k.operation === 'absent';
  if (read && (policy.probes.k8sClusterScoped.includes(gr) || policy.probes.k8sClusterScoped.includes(k.resource))) return;
  const only = `blastRadius.allow of ${policy.source} allows in ${ns} only ${scopeText(scope)}`;
  if (k.operation === 'create') {
    c.add(`${ip}.operation`, `create is refused in ${ns}: ${only}, and a created object could carry any labels`, k.operation);
    return;
  }
  const sel = k.labelSelector !== undefined ? parseLabelSelector(k.labelSelector) : undefined;
  if (sel && !sel.ok) return; // reported by the shape check
  if (sel?.value.requirements.length) {
    if (!selectorInScope(scope, sel.value)) c.add(`${ip}.labelSelector`, `selects objects outside the blast radius: ${only}`, k.labelSelector);
    return;
  }
  const fields = k.fieldSelector !== undefined ? parseFieldSelector(k.fieldSelector) : undefined;
  const byName = read && !!fields?.ok && fields.value.some((f) => f.field === 'metadata.name' && f.op === '=');
  if (!byName)
    c.add(
      `${ip}.labelSelector`,
      `is required for ${k.operation} in ${ns} (${only}): give a labelSelector contained in it${read ? ', or read one object by name (fieldSelector metadata.name=...)' : ''}`,
      k.labelSelector,
    );
}

/** The fault's parameters: only the keys its descriptor declares, each of its strict shape; cross-field rules. */
export function checkFaultParams(f: Pick<FaultSpec, 'name' | 'params'>, at: string, limits: Limits, c: Checker, policy?: Policy): void {
  const d = faultDescriptor(f.name);
  if (!d) return;
  const defs = new Map(d.params.map((p) => [paramName(p), p]));
  for (const [key, value] of Object.entries(f.params as Record<string, unknown>)) {
    if (key === 'images') {
      if (value === null || typeof value !== 'object' || Array.isArray(value)) {
        c.add(`${at}.params.images`, 'must be a map of image roles', value);
        continue;
      }
      for (const [role, img] of Object.entries(value as Record<string, unknown>)) {
        const def = defs.get(`images.${role}`);
        if (!def) {
          c.add(`${at}.params.images.${role}`, `${f.name} runs no ${role} image`, img);
          continue;
        }
        const msg = def.check(img, limits);
        if (msg) c.add(`${at}.params.images.${role}`, msg, img);
        else if (policy && img !== policy.images[role as keyof Policy['images']] && !policy.images.allow.includes(img as string)) {
          c.add(`${at}.params.images.${role}`, `${def.env} ${cut(String(img))} is not in images.allow of ${policy.source}`, img);
        }
      }
      continue;
    }
    const def = defs.get(key);
    if (!def) {
      c.add(`${at}.params.${key}`, `${f.name} has no parameter ${key}`, value);
      continue;
    }
    if (value === undefined) continue;
    const msg = def.check(value, limits);
    if (msg) c.add(`${at}.params.${key}`, msg, value);
  }
  for (const r of d.refine?.(f.params, limits) ?? []) {
    const def = d.params.find((p) => p.env === r.env);
    c.add(`${at}.params.${def ? paramName(def) : r.env}`, r.message, def ? getParam(f.params, def) : undefined);
  }
  if (policy && f.params.socketPath !== undefined && !policy.runtimeSockets.includes(f.params.socketPath)) {
    c.add(
      `${at}.params.socketPath`,
      `SOCKET_PATH ${cut(f.params.socketPath)} is not one of the runtime sockets of ${policy.source} (${policy.runtimeSockets.join(', ')})`,
      f.params.socketPath,
    );
  }
}

export function checkFault(f: FaultSpec, at: string, limits: Limits, c: Checker, policy?: Policy, targetNamespace?: string): void {
  const d = faultDescriptor(f.name);
  if (!d) return;
  rangeDur(c, `${at}.TOTAL_CHAOS_DURATION`, f.durationMs, 1000, limits.maxChaosDurationMs, 'TOTAL_CHAOS_DURATION', 'maxChaosDuration');
  rangeDur(c, `${at}.CHAOS_INTERVAL`, f.intervalMs, 1000, limits.maxChaosDurationMs, 'CHAOS_INTERVAL', 'maxChaosDuration');
  if (d.style === 'periodic' && f.intervalMs > f.durationMs) {
    c.add(
      `${at}.CHAOS_INTERVAL`,
      `CHAOS_INTERVAL (${f.intervalMs / 1000}s) is longer than TOTAL_CHAOS_DURATION (${f.durationMs / 1000}s)`,
      f.intervalMs / 1000,
    );
  }
  rangeDur(c, `${at}.RAMP_TIME`, f.rampTimeMs, 0, limits.maxRampTimeMs, 'RAMP_TIME', 'maxRampTime');
  range(c, `${at}.PODS_AFFECTED_PERC`, f.podsAffectedPerc, 0, 100, 'PODS_AFFECTED_PERC', undefined);
  if (f.targetPods.length > limits.maxTargetPods)
    c.add(`${at}.TARGET_PODS`, `at most ${limits.maxTargetPods} pods (limits.maxTargetPods)`, f.targetPods.length);
  for (const pod of f.targetPods) if (!isDnsSubdomain(pod)) c.add(`${at}.TARGET_PODS`, 'must be a comma list of pod names', pod);
  if (Object.keys(f.extraEnv).length > 64) c.add(`${at}.env`, 'at most 64 env entries Tempest does not use');
  for (const [k, v] of Object.entries(f.extraEnv)) {
    if (!ENV_NAME.test(k)) c.add(`${at}.env`, 'env names must be letters, digits and _', k);
    else if (v.length > 4096) c.add(`${at}.env`, `the value of ${k} must be at most 4096 characters`, v);
  }
  checkFaultParams(f, at, limits, c, policy);
  if (f.probes.length > limits.maxProbesPerFault)
    c.add(`${at}.probe`, `at most ${limits.maxProbesPerFault} probes per fault (limits.maxProbesPerFault)`, f.probes.length);
  const names = new Set<string>();
  f.probes.forEach((p, i) => {
    if (names.has(p.name)) c.add(`${at}.probe[${i}].name`, 'duplicate probe name', p.name);
    names.add(p.name);
    checkProbe(p, `${at}.probe[${i}]`, limits, c, policy, targetNamespace);
  });
}

/** The engine-level checks (names, target, blast radius); faults are checked one by one with checkFault. */
export function checkEngine(spec: ExperimentSpec, limits: Limits, c: Checker, policy?: Policy, paths: SpecPaths = SPEC_PATHS): void {
  if (!isDnsSubdomain(spec.name)) c.add(paths.name, 'must be a DNS-1123 name (lowercase letters, digits, "-", ".")', spec.name);
  if (!isDnsLabel(spec.engineNamespace)) c.add(paths.engineNamespace, 'must be a namespace name (DNS-1123 label)', spec.engineNamespace);
  if (!isDnsLabel(spec.target.namespace))
    c.add(paths.appns, 'must be a namespace name (DNS-1123 label: lowercase letters, digits, "-")', spec.target.namespace);
  checkLabelSelector(c, paths.applabel, spec.target.labelSelector, false);
  if (spec.serviceAccount !== undefined && !isDnsSubdomain(spec.serviceAccount))
    c.add(paths.serviceAccount, 'must be a service account name', spec.serviceAccount);
  if (spec.target.serviceAccount !== undefined && !isDnsSubdomain(spec.target.serviceAccount))
    c.add(paths.serviceAccount, 'must be a service account name', spec.target.serviceAccount);
  if (
    spec.target.serviceAccountNamespace !== undefined &&
    (!isDnsLabel(spec.target.serviceAccountNamespace) || spec.target.serviceAccountNamespace !== spec.engineNamespace)
  )
    c.add(paths.serviceAccount, "the chaosServiceAccount's namespace must be the engine's", spec.target.serviceAccountNamespace);
  if (policy) {
    const why = impersonationRefusal(policy, spec.target);
    if (why) c.add(paths.serviceAccount, why, spec.target.serviceAccount);
    // A probe that reaches the cluster acts as its run's own account, never another (nor the worker, when it impersonates).
    const imp = policy.impersonation?.mode === 'required';
    spec.faults.forEach((f, i) =>
      f.probes.forEach((p, j) => {
        const reaches = p.type === 'k8sProbe' || (p.type === 'cmdProbe' && !!p.cmd.source);
        const saNs = spec.target.serviceAccountNamespace ?? spec.target.namespace;
        const own = p.actAs && p.actAs.namespace === saNs && p.actAs.serviceAccount === spec.target.serviceAccount;
        if (p.actAs && !own)
          c.add(
            `${paths.fault(i)}.probe[${j}]`,
            `probe ${p.name} may act only as its run's chaosServiceAccount (${saNs}/${spec.target.serviceAccount ?? 'none'})`,
            `${p.actAs.namespace}/${p.actAs.serviceAccount}`,
          );
        else if (imp && reaches && !p.actAs)
          c.add(
            `${paths.fault(i)}.probe[${j}]`,
            `probe ${p.name} reaches the cluster and must act as the run's chaosServiceAccount (platform.kubernetes.impersonate.mode required in ${policy.source})`,
            p.name,
          );
      }),
    );
  }
  if (spec.faults.length > limits.maxFaults) c.add(paths.faults, `at most ${limits.maxFaults} faults (limits.maxFaults)`, spec.faults.length);
  if (policy && isDnsLabel(spec.target.namespace) && parseLabelSelector(spec.target.labelSelector).ok) {
    const why = blastRadiusRefusal(policy, spec.target);
    if (why) c.add(paths.appns, why, spec.target.namespace);
  }
}

/** Semantic checks of an already well-typed spec (spec paths: `target.namespace`, `faults[0].params.signal`, ...). */
export function checkExperiment(spec: ExperimentSpec, limits: Limits, c: Checker, policy?: Policy, paths: SpecPaths = SPEC_PATHS): void {
  checkEngine(spec, limits, c, policy, paths);
  spec.faults.forEach((f, i) => checkFault(f, paths.fault(i), limits, c, policy, spec.target.namespace));
}

/** Where the semantic checks report each part of the spec. */
export interface SpecPaths {
  name: string;
  engineNamespace: string;
  appns: string;
  applabel: string;
  serviceAccount: string;
  faults: string;
  fault(i: number): string;
}

export const SPEC_PATHS: SpecPaths = {
  name: 'name',
  engineNamespace: 'engineNamespace',
  appns: 'target.namespace',
  applabel: 'target.labelSelector',
  serviceAccount: 'serviceAccount',
  faults: 'faults',
  fault: (i) => `faults[${i}]`,
};

export type ValidateResult = { ok: true; spec: ExperimentSpec } | { ok: false; problems: ConfigProblem[] };

/**
 * The worker's check of a workflow input: anything in, a spec of the strict shape out, or every problem.
 * With a policy, the allowlists are checked too.
 */
export function validateExperimentSpec(input: unknown, limits: Limits, policy?: Policy, where = 'workflow input'): ValidateResult {
  const problems: ConfigProblem[] = [];
  const r = experimentSpecSchema.safeParse(input);
  if (!r.success) {
    for (const i of r.error.issues.slice(0, 20))
      problems.push({
        file: where,
        path: i.path
          .map((x) => (typeof x === 'number' ? `[${x}]` : `.${x}`))
          .join('')
          .replace(/^\./, ''),
        message: i.message,
      });
    return { ok: false, problems };
  }
  const spec = r.data as ExperimentSpec;
  checkExperiment(spec, limits, { add: (path, message, value) => problems.push({ file: where, path, message, value }) }, policy);
  return problems.length ? { ok: false, problems } : { ok: true, spec };
}

/** One probe, as runProbe receives it. */
export function validateProbe(input: unknown, limits: Limits, policy?: Policy): { ok: true; probe: ProbeSpec } | { ok: false; problems: ConfigProblem[] } {
  const r = probeS.safeParse(input);
  if (!r.success) return { ok: false, problems: r.error.issues.slice(0, 10).map((i) => ({ file: 'probe', path: i.path.join('.'), message: i.message })) };
  const problems: ConfigProblem[] = [];
  checkProbe(r.data as ProbeSpec, 'probe', limits, { add: (path, message, value) => problems.push({ file: 'probe', path, message, value }) }, policy);
  return problems.length ? { ok: false, problems } : { ok: true, probe: r.data as ProbeSpec };
}
