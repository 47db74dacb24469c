/**
 * k8sProbe: the Litmus operations `present`, `absent`, `create` and `delete` on any group/version/resource.
 *
 * The resource is resolved through API discovery (`/api/v1` for the core group, `/apis/<group>/<version>`
 * otherwise): plural → kind, namespaced or not, verbs. Discovery answers are cached per KubeConfig (a miss refetches
 * once, so a CRD installed after the first look is found). The calls then go through the generic
 * `KubernetesObjectApi` of @kubernetes/client-node 1.4 (ESM), seeded with the discovered resource so it does not
 * ask discovery again. Every request carries the attempt's AbortSignal (probeTimeout, cancellation).
 *
 *   present  ≥ 1 object matches fieldSelector + labelSelector             → Passed
 *   absent   no object matches                                            → Passed
 *   create   every object of `data` (YAML or JSON, multi-document, `kind: List`) is created in the namespace →
 *            Passed; AlreadyExists is a criteria failure with that reason (as Litmus). A partly created batch is
 *            rolled back before the attempt ends, so a retry starts from the same state.
 *   delete   every matching object is deleted, then the attempt waits (bounded by its probeTimeout) until those
 *            objects (by uid) are gone → Passed; nothing matching → criteria failure "no resource matched".
 *            Replacements a controller creates (new uid) do not count as remaining.
 *
 * Could-not-run problems (RBAC 403, unknown resource, bad manifest, unreachable API) are failureKind 'error' with a
 * reason naming the verb, resource and namespace. The client is imported lazily so workers without Kubernetes never
 * load it.
 */
import { parseAllDocuments } from 'yaml';
import type {
  Configuration,
  KubeConfig,
  KubernetesObject,
  KubernetesObjectApi,
  RequestContext,
  V1APIResource,
  V1APIResourceList,
} from '@kubernetes/client-node';
import type { K8sProbeInputs } from '../../config/spec.js';
import {
  labelsInScope,
  namespaceRefusal,
  namespaceScope,
  scopeText,
  selectorInScope,
  workerNamespaceRefusal,
  type NamespaceScope,
  type Policy,
} from '../../config/policy.js';
import { parseFieldSelector, parseLabelSelector } from '../../config/selector.js';
import { describeOp, parseForbidden, statusOf, type K8sOp } from '../platform/k8s/status.js';
import { abortableSleep, verdictOf } from './attempts.js';
import { ProbeError, type AttemptContext, type AttemptResult, type ProbeDeps, type ProbeDriver } from './types.js';

type KubeClient = typeof import('@kubernetes/client-node');

const OPERATIONS = ['present', 'absent', 'create', 'delete'] as const;

// ---------------------------------------------------------------- API client with the attempt's signal

/** KubernetesObjectApi that aborts every request with the attempt and can read a discovery document. */
interface ProbeObjectApi extends KubernetesObjectApi {
  discover(apiVersion: string): Promise<V1APIResourceList>;
  /** Tell the object API what discovery said, so create/list/delete do not fetch it again. */
  seed(apiVersion: string, resource: V1APIResource): void;
}

let ProbeObjectApiClass: (new (configuration: Configuration) => ProbeObjectApi & { init(kc: KubeConfig, signal: AbortSignal): void }) | undefined;

async function objectApi(kc: KubeConfig, signal: AbortSignal): Promise<ProbeObjectApi> {
  if (!ProbeObjectApiClass) {
    const client: KubeClient = await import('@kubernetes/client-node');
    ProbeObjectApiClass = class extends client.KubernetesObjectApi {
      private signal?: AbortSignal;
      init(k: KubeConfig, s: AbortSignal): void {
        this.setDefaultNamespace(k);
        this.signal = s;
      }
      protected override requestPromise<T extends KubernetesObject>(requestContext: RequestContext, type?: string, options?: Configuration): Promise<T> {
        if (this.signal) requestContext.setSignal(this.signal);
        return super.requestPromise<T>(requestContext, type, options);
      }
      async discover(apiVersion: string): Promise<V1APIResourceList> {
        const rc = this.configuration.baseServer.makeRequestContext(this.apiVersionPath(apiVersion), client.HttpMethod.GET);
        rc.setHeaderParam('Accept', 'application/json, */*;q=0.8');
        return (await this.requestPromise(rc, 'V1APIResourceList')) as unknown as V1APIResourceList;
      }
      seed(apiVersion: string, resource: V1APIResource): void {
        this.apiVersionResourceCache[apiVersion] = { groupVersion: apiVersion, resources: [resource] };
      }
    };
  }
  const api = kc.makeApiClient(ProbeObjectApiClass);
  api.init(kc, signal);
  return api;
}

// ---------------------------------------------------------------- discovery (cached per KubeConfig)

interface DiscoveryEntry {
  at: number;
  resources: V1APIResource[];
}
const DISCOVERY_TTL_MS = 5 * 60_000;
let discoveryCache = new WeakMap<object, Map<string, DiscoveryEntry>>();

/** Forget cached discovery answers (one KubeConfig's, or all). */
export function clearK8sDiscoveryCache(kc?: object): void {
  if (kc) discoveryCache.delete(kc);
  else discoveryCache = new WeakMap();
}

export const apiVersionOf = (group: string, version: string): string => (group && group !== 'core' ? `${group}/${version}` : version);
const discoveryPath = (apiVersion: string): string => (apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`);

function findResource(resources: V1APIResource[], name: string): V1APIResource | undefined {
  const top = resources.filter((r) => !r.name.includes('/'));
  const exact = top.find((r) => r.name === name);
  if (exact) return exact;
  const lower = name.toLowerCase();
  // kubectl-style leniency: singular name, kind or a short name also resolve (Litmus itself wants the plural).
  return top.find(
    (r) =>
      r.name.toLowerCase() === lower ||
      r.singularName?.toLowerCase() === lower ||
      r.kind.toLowerCase() === lower ||
      r.shortNames?.some((s) => s.toLowerCase() === lower),
  );
}

async function fetchDiscovery(api: ProbeObjectApi, kc: object, apiVersion: string): Promise<DiscoveryEntry> {
  let list: V1APIResourceList;
  try {
    list = await api.discover(apiVersion);
  } catch (err) {
    if (statusOf(err)?.code === 404) {
      throw new ProbeError(
        `k8sProbe: API group/version "${apiVersion}" is not served by this API server (discovery GET ${discoveryPath(apiVersion)} answered 404; check group and version, or install its CRD)`,
      );
    }
    throw apiFailure(err, { verb: 'get', resource: `discovery ${discoveryPath(apiVersion)}` });
  }
  const entry = { at: Date.now(), resources: list.resources ?? [] };
  let byVersion = discoveryCache.get(kc);
  if (!byVersion) discoveryCache.set(kc, (byVersion = new Map()));
  byVersion.set(apiVersion, entry);
  return entry;
}

/** group/version/resource → the API's description of it (kind, namespaced, verbs). */
async function resolveResource(api: ProbeObjectApi, kc: object, inputs: K8sProbeInputs): Promise<{ apiVersion: string; res: V1APIResource }> {
  const apiVersion = apiVersionOf(inputs.group, inputs.version);
  const cached = discoveryCache.get(kc)?.get(apiVersion);
  let entry = cached && Date.now() - cached.at < DISCOVERY_TTL_MS ? cached : await fetchDiscovery(api, kc, apiVersion);
  let res = findResource(entry.resources, inputs.resource);
  if (!res && entry === cached) {
    entry = await fetchDiscovery(api, kc, apiVersion); // maybe installed since we last looked
    res = findResource(entry.resources, inputs.resource);
  }
  if (!res) {
    const known = entry.resources.filter((r) => !r.name.includes('/')).map((r) => r.name);
    throw new ProbeError(
      `k8sProbe: resource "${inputs.resource}" does not exist in API ${apiVersion} (discovery ${discoveryPath(apiVersion)} lists: ${known.slice(0, 40).join(', ') || 'nothing'}${known.length > 40 ? ', …' : ''})`,
    );
  }
  return { apiVersion, res };
}

function requireVerb(res: V1APIResource, apiVersion: string, verb: string): void {
  if (res.verbs && !res.verbs.includes(verb)) {
    throw new ProbeError(`k8sProbe: ${res.name} (${apiVersion}) does not support "${verb}" (verbs: ${res.verbs.join(', ')})`);
  }
}

// ---------------------------------------------------------------- API errors → reasons

/** A failed API call as a ProbeError whose reason says what was refused and why. */
function apiFailure(err: unknown, op: K8sOp): ProbeError {
  if (err instanceof ProbeError) return err;
  const s = statusOf(err);
  if (!s) {
    const e = err as { message?: string; code?: string; type?: string };
    if (e?.type === 'aborted' || (err as Error)?.name === 'AbortError') return new ProbeError(`k8sProbe: ${describeOp(op)}: request aborted`);
    const text = e?.message ?? String(err);
    return new ProbeError(`k8sProbe: ${describeOp(op)}: the API server is not answering (${e?.code && !text.includes(e.code) ? `${e.code}: ` : ''}${text})`);
  }
  const msg = s.message ?? s.reason ?? `HTTP ${s.code}`;
  switch (s.code) {
    case 403: {
      const { user, verb, resource, group, namespace: ns } = parseForbidden(msg);
      if (verb === undefined) return new ProbeError(`k8sProbe: ${describeOp(op)}: forbidden (403, RBAC or admission): ${msg}`);
      const where = ns ? ` in namespace ${ns}` : ' (cluster-wide)';
      return new ProbeError(
        `k8sProbe: forbidden: ${user} may not ${verb} ${resource}${where} (RBAC: grant verb "${verb}" on resource "${resource}"${group !== undefined ? ` in API group "${group}"` : ''}${ns ? ` with a Role in namespace ${ns}` : ' with a ClusterRole'}): ${msg}`,
      );
    }
    case 401:
      return new ProbeError(`k8sProbe: ${describeOp(op)}: the credentials were not accepted (401 ${msg})`);
    case 404:
      return new ProbeError(`k8sProbe: ${describeOp(op)}: not found (404 ${msg})`);
    case 400:
    case 422:
      return new ProbeError(`k8sProbe: ${describeOp(op)}: refused by the API server as invalid (${s.code} ${s.reason ?? ''}): ${msg}`);
    default:
      return new ProbeError(`k8sProbe: ${describeOp(op)}: the API server answered ${s.code} ${s.reason ?? ''}: ${msg}`);
  }
}

// ---------------------------------------------------------------- manifests (create)

/** The objects of `data`: YAML or JSON, several documents, `kind: List` and JSON arrays expanded. */
export function parseManifest(data: string): Record<string, unknown>[] {
  const docs = parseAllDocuments(data);
  if (!Array.isArray(docs)) return [];
  const out: Record<string, unknown>[] = [];
  const add = (v: unknown, where: string): void => {
    if (v === null || v === undefined) return;
    if (Array.isArray(v)) {
      v.forEach((x, i) => add(x, `${where}[${i}]`));
      return;
    }
    if (typeof v !== 'object') throw new ProbeError(`k8sProbe: data ${where} is not an object (got ${typeof v})`);
    const o = v as Record<string, unknown>;
    if (typeof o.kind === 'string' && o.kind.endsWith('List') && Array.isArray(o.items)) {
      o.items.forEach((x, i) => add(x, `${where}.items[${i}]`));
      return;
    }
    out.push(o);
  };
  docs.forEach((d, i) => {
    if (d.errors.length) throw new ProbeError(`k8sProbe: data is not valid YAML/JSON (document ${i + 1}): ${d.errors[0].message}`);
    add(d.toJS(), `document ${i + 1}`);
  });
  return out;
}

const objName = (o: KubernetesObject): string =>
  `${o.metadata?.namespace ? `${o.metadata.namespace}/` : ''}${o.metadata?.name ?? o.metadata?.generateName ?? '?'}`;

function listNames(items: KubernetesObject[], max = 5): string {
  const names = items.slice(0, max).map(objName);
  return `${names.join(', ')}${items.length > max ? `, … (${items.length - max} more)` : ''}`;
}

// ---------------------------------------------------------------- the driver

/**
 * Why a manifest a k8sProbe would create carries a pod spec that reaches past the operator's policy, or null. Every
 * pod spec in it counts (a Pod, a Deployment's or Job's template, a CronJob's, a custom resource embedding one: any
 * object with a `containers` list): no host namespaces, hostPath volumes, nodeName, other service account,
 * privileged / escalating containers or added capabilities, and — with a policy — only the images it names. An
 * operator who lists pods (or workloads) in probes.k8sWritable allows creating ordinary pods, not node access.
 */
export function podSpecRefusal(obj: unknown, policy: Pick<Policy, 'images'> | undefined): string | null {
  const specs: Array<{ at: string; spec: Record<string, unknown> }> = [];
  const walk = (v: unknown, at: string, depth: number) => {
    if (depth > 12 || typeof v !== 'object' || v === null) return;
    if (Array.isArray(v)) return v.forEach((x, i) => walk(x, `${at}[${i}]`, depth + 1));
    const o = v as Record<string, unknown>;
    if (Array.isArray(o.containers)) specs.push({ at, spec: o });
    for (const [k, x] of Object.entries(o)) walk(x, at ? `${at}.${k}` : k, depth + 1);
  };
  walk(obj, '', 0);
  const allowed = policy
    ? new Set(
        [
          ...Object.entries(policy.images)
            .filter(([k]) => k !== 'allow')
            .map(([, v]) => v as string | undefined),
          ...policy.images.allow,
        ].filter((x): x is string => !!x),
      )
    : undefined;
  for (const { at, spec } of specs) {
    const where = at || 'the object';
    for (const f of ['hostNetwork', 'hostPID', 'hostIPC']) if (spec[f] === true) return `${where}.${f} is true (the node's namespaces)`;
    if (spec.nodeName !== undefined) return `${where}.nodeName is set (it would bypass the scheduler and its admission)`;
    for (const f of ['serviceAccountName', 'serviceAccount']) {
      if (spec[f] !== undefined && spec[f] !== 'default')
        return `${where}.${f} is ${JSON.stringify(String(spec[f]).slice(0, 63))} (only the namespace's default account)`;
    }
    const vols = Array.isArray(spec.volumes) ? (spec.volumes as Array<Record<string, unknown>>) : [];
    const hp = vols.find((x) => x && typeof x === 'object' && x.hostPath !== undefined);
    if (hp) return `${where}.volumes: ${JSON.stringify(String(hp.name).slice(0, 63))} is a hostPath volume (the node's files)`;
    for (const list of ['containers', 'initContainers', 'ephemeralContainers']) {
      const cs = Array.isArray(spec[list]) ? (spec[list] as Array<Record<string, unknown>>) : [];
      for (const [i, c] of cs.entries()) {
        const cat = `${where}.${list}[${i}]`;
        const sc = (c?.securityContext ?? {}) as Record<string, unknown>;
        if (sc.privileged === true) return `${cat}.securityContext.privileged is true`;
        if (sc.allowPrivilegeEscalation === true) return `${cat}.securityContext.allowPrivilegeEscalation is true`;
        const add = (sc.capabilities as { add?: unknown } | undefined)?.add;
        if (Array.isArray(add) && add.length) return `${cat}.securityContext.capabilities.add is ${JSON.stringify(add).slice(0, 120)}`;
        if (allowed && !allowed.has(String(c?.image)))
          return `${cat}.image ${JSON.stringify(String(c?.image).slice(0, 200))} is not one of the images the worker's policy names (images.*, images.allow)`;
      }
    }
  }
  return null;
}

export function k8sDriver(inputs: K8sProbeInputs, deps: ProbeDeps): ProbeDriver {
  const gvr = `${inputs.group ? `${inputs.group}/` : ''}${inputs.version}/${inputs.resource}`;
  const selectors = [inputs.fieldSelector && `fieldSelector=${inputs.fieldSelector}`, inputs.labelSelector && `labelSelector=${inputs.labelSelector}`]
    .filter(Boolean)
    .join(' ');
  const target = `${inputs.operation} ${gvr}${inputs.namespace ? ` in ${inputs.namespace}` : ''}${selectors ? ` ${selectors}` : ''}`;
  if (!deps.k8s) throw new ProbeError('k8sProbe needs the kubernetes platform: this worker has no KubeConfig', target);
  const kc = deps.k8s as KubeConfig;
  if (typeof kc?.makeApiClient !== 'function') throw new ProbeError('k8sProbe: deps.k8s is not a KubeConfig from @kubernetes/client-node', target);
  if (!(OPERATIONS as readonly string[]).includes(inputs.operation)) {
    throw new ProbeError(`k8sProbe: unknown operation "${inputs.operation}" (expected one of ${OPERATIONS.join(', ')})`, target);
  }
  if (!inputs.version || !inputs.resource) throw new ProbeError('k8sProbe: version and resource are required', target);

  let manifest: Record<string, unknown>[] = [];
  if (inputs.operation === 'create') {
    if (!inputs.data?.trim()) throw new ProbeError('k8sProbe create needs `data`: the manifest of the object(s) to create (YAML or JSON)', target);
    manifest = parseManifest(inputs.data);
    if (manifest.length === 0) throw new ProbeError('k8sProbe create: `data` holds no object', target);
  }

  const namespace = inputs.namespace || undefined;
  const fieldSelector = inputs.fieldSelector || undefined;
  const labelSelector = inputs.labelSelector || undefined;
  /** delete: objects deleted by earlier attempts of this evaluation (a retry that finds nothing left is a pass). */
  let deletedEarlier = 0;
  /**
   * Set by reachable() when the blast radius restricts the namespace to label selectors: every object the probe
   * sees or deletes must carry labels inside them (a read by name is checked here, on the object's live labels).
   */
  let restricted: NamespaceScope | undefined;

  async function list(api: ProbeObjectApi, apiVersion: string, res: V1APIResource): Promise<KubernetesObject[]> {
    let items: KubernetesObject[];
    try {
      const l = await api.list(apiVersion, res.kind, res.namespaced ? namespace : undefined, undefined, undefined, undefined, fieldSelector, labelSelector);
      items = l.items ?? [];
    } catch (err) {
      if (statusOf(err)?.code === 404) discoveryCache.get(kc)?.delete(apiVersion); // served no more: look again next time
      throw apiFailure(err, { verb: 'list', resource: res.name, namespace: res.namespaced ? namespace : undefined });
    }
    if (restricted) {
      const outside = items.filter((o) => !labelsInScope(restricted!, o.metadata?.labels));
      if (outside.length) {
        throw new ProbeError(
          `refused by the worker's policy: ${res.kind} ${listNames(outside)} in ${namespace} ${outside.length === 1 ? 'has labels' : 'have labels'} outside the blast radius (blastRadius.allow of ${deps.policy?.source} allows in ${namespace} only ${scopeText(restricted)})`,
          target,
        );
      }
    }
    return items;
  }

  async function presence(api: ProbeObjectApi, apiVersion: string, res: V1APIResource): Promise<AttemptResult> {
    requireVerb(res, apiVersion, 'list');
    const items = await list(api, apiVersion, res);
    const n = items.length;
    const observed = `${n} ${inputs.resource} found (${target})${n ? `: ${listNames(items)}` : ''}`;
    const ok = inputs.operation === 'present' ? n > 0 : n === 0;
    const reason =
      inputs.operation === 'present'
        ? ok
          ? `${n} ${inputs.resource} present`
          : `no ${inputs.resource} present`
        : ok
          ? `no ${inputs.resource} present (absent as required)`
          : `${n} ${inputs.resource} present, expected absent`;
    return verdictOf([{ ok, reason }], observed);
  }

  async function create(api: ProbeObjectApi, apiVersion: string, res: V1APIResource, signal: AbortSignal): Promise<AttemptResult> {
    requireVerb(res, apiVersion, 'create');
    const client: KubeClient = await import('@kubernetes/client-node');
    // Validate every object before creating any.
    const objects = manifest.map((raw, i) => {
      const o = structuredClone(raw) as KubernetesObject & Record<string, unknown>;
      const what = `data object ${i + 1}${o.metadata?.name ? ` (${o.metadata.name})` : ''}`;
      if ((o.apiVersion ?? apiVersion) !== apiVersion || (o.kind ?? res.kind) !== res.kind) {
        throw new ProbeError(
          `k8sProbe create: ${what} is ${o.apiVersion ?? '?'} ${o.kind ?? '?'}, but the probe's resource is ${res.name} (${apiVersion} ${res.kind})`,
        );
      }
      o.apiVersion = apiVersion;
      o.kind = res.kind;
      const risky = podSpecRefusal(o, deps.policy);
      if (risky) throw new ProbeError(`refused by the worker's policy: k8sProbe create: ${what}: ${risky}`, target);
      const meta = (o.metadata ??= {});
      if (!meta.name && !meta.generateName) throw new ProbeError(`k8sProbe create: ${what} has neither metadata.name nor metadata.generateName`);
      if (res.namespaced) {
        if (namespace && meta.namespace && meta.namespace !== namespace) {
          throw new ProbeError(`k8sProbe create: ${what} says namespace ${meta.namespace}, but the probe's namespace is ${namespace}`);
        }
        if (namespace) meta.namespace = namespace;
      } else {
        delete meta.namespace;
      }
      // Typed objects, so the client's serializer keeps every field.
      return client.loadYaml<KubernetesObject>(JSON.stringify(o));
    });
    const created: KubernetesObject[] = [];
    for (const o of objects) {
      const ns = res.namespaced ? (o.metadata?.namespace ?? undefined) : undefined;
      try {
        created.push(await api.create(o));
      } catch (err) {
        const s = statusOf(err);
        const undo = signal.aborted ? '' : await rollback(api, created);
        const shown = `${res.kind} ${objName(o)}`;
        if (s?.code === 409 && (s.reason === 'AlreadyExists' || !s.reason)) {
          return { ok: false, failureKind: 'criteria', reason: `${shown} already exists (AlreadyExists: ${s.message ?? 'conflict'})${undo}`, observed: target };
        }
        const f = apiFailure(err, { verb: 'create', resource: res.name, namespace: ns, name: o.metadata?.name });
        throw new ProbeError(`${f.message}${undo}`, target);
      }
    }
    const names = created.map((c) => `${res.kind} ${objName(c)}`);
    return {
      ok: true,
      reason: created.length === 1 ? `created ${names[0]}` : `created ${created.length} ${inputs.resource}: ${names.join(', ')}`,
      observed: `${target}: ${names.join(', ')}`,
    };
  }

  /** Undo the creations of a failed batch; answers a note for the reason. */
  async function rollback(api: ProbeObjectApi, created: KubernetesObject[]): Promise<string> {
    if (!created.length) return '';
    const left: string[] = [];
    for (const c of created) {
      try {
        await api.delete(c);
      } catch (err) {
        if (statusOf(err)?.code !== 404) left.push(objName(c));
      }
    }
    return left.length
      ? `; the ${created.length - left.length} object(s) created before could not all be rolled back (left: ${left.join(', ')})`
      : `; rolled back the ${created.length} object(s) created before it`;
  }

  async function remove(api: ProbeObjectApi, apiVersion: string, res: V1APIResource, ctx: AttemptContext, started: number): Promise<AttemptResult> {
    requireVerb(res, apiVersion, 'list');
    requireVerb(res, apiVersion, 'delete');
    const items = await list(api, apiVersion, res);
    if (items.length === 0) {
      if (deletedEarlier > 0) {
        return {
          ok: true,
          reason: `no ${inputs.resource} left: ${deletedEarlier} deleted by an earlier attempt of this evaluation`,
          observed: `0 ${inputs.resource} found (${target})`,
        };
      }
      return {
        ok: false,
        failureKind: 'criteria',
        reason: `no resource matched: no ${inputs.resource} to delete (${target})`,
        observed: `0 ${inputs.resource} found (${target})`,
      };
    }
    const uids = new Set<string>();
    let deleted = 0;
    for (const item of items) {
      const ns = res.namespaced ? item.metadata?.namespace : undefined;
      // In a selector-restricted namespace, only the very object whose labels were checked (its uid): a namesake
      // created since then is left alone (409: the one we listed is gone, which is what we wanted).
      const uid = restricted ? item.metadata?.uid : undefined;
      try {
        await api.delete(
          { apiVersion, kind: res.kind, metadata: { name: item.metadata!.name!, namespace: ns } },
          undefined,
          undefined,
          undefined,
          undefined,
          undefined,
          uid ? { preconditions: { uid } } : undefined,
        );
      } catch (err) {
        const code = statusOf(err)?.code;
        if (code !== 404 && !(uid && code === 409)) throw apiFailure(err, { verb: 'delete', resource: res.name, namespace: ns, name: item.metadata?.name });
        // gone already (someone else deleted it): what we wanted
      }
      deleted += 1;
      deletedEarlier += 1;
      if (item.metadata?.uid) uids.add(item.metadata.uid);
    }
    // Bounded wait for the deleted objects to disappear (finalizers, graceful pod termination), leaving a
    // margin of the attempt's own timeout so the reason says what is left instead of "attempt timed out".
    const budgetEnd = started + Math.max(0, ctx.timeoutMs - Math.min(500, ctx.timeoutMs / 5));
    let remaining: KubernetesObject[] = [];
    for (let pause = 50; ; pause = Math.min(500, pause * 2)) {
      remaining = (await list(api, apiVersion, res)).filter((o) => o.metadata?.uid && uids.has(o.metadata.uid));
      if (remaining.length === 0) break;
      const left = budgetEnd - Date.now();
      if (left <= 0) break;
      await abortableSleep(Math.min(pause, left), ctx.signal);
    }
    const names = listNames(items);
    if (remaining.length === 0) {
      return { ok: true, reason: `deleted ${deleted} ${inputs.resource}, none left`, observed: `${target}: deleted ${names}` };
    }
    const finalizers = [...new Set(remaining.flatMap((o) => o.metadata?.finalizers ?? []))];
    return {
      ok: false,
      failureKind: 'criteria',
      reason: `deleted ${deleted} ${inputs.resource}, but ${remaining.length} still present after ${Date.now() - started}ms: ${listNames(remaining)}${
        finalizers.length ? ` (finalizers: ${finalizers.join(', ')})` : ''
      }`,
      observed: `${target}: deleted ${names}`,
    };
  }

  /**
   * What the worker's policy lets this probe reach, once discovery has said what the resource is: a namespaced
   * resource only in a namespace of the blast radius (never across all namespaces); a cluster-scoped one only if
   * probes.k8sClusterScoped lists it, and then only to read (present / absent).
   */
  function reachable(res: V1APIResource, apiVersion: string): void {
    const policy = deps.policy;
    if (res.namespaced && namespace) {
      // The worker's own namespace, even without a policy (a probe activity built without one).
      const own = workerNamespaceRefusal(policy, namespace, deps.workerNamespace ?? policy?.blastRadius.workerNamespace);
      if (own) throw new ProbeError(`refused by the worker's policy: ${own}`, target);
    }
    if (!policy) return;
    const gr = inputs.group && inputs.group !== 'core' ? `${inputs.group}/${res.name}` : res.name;
    if (res.namespaced) {
      if (!namespace)
        throw new ProbeError(`k8sProbe: ${res.name} (${apiVersion}) is namespaced: the probe must name a namespace (it never lists across namespaces)`, target);
      const outside = namespaceRefusal(policy, namespace);
      if (outside) throw new ProbeError(`refused by the worker's policy: ${outside}`, target);
      const scope = namespaceScope(policy, namespace);
      if (scope.allowed && scope.selectors) {
        const only = `blastRadius.allow of ${policy.source} allows in ${namespace} only ${scopeText(scope)}`;
        if (inputs.operation === 'create')
          throw new ProbeError(`refused by the worker's policy: create in ${namespace}: ${only}, and a created object could carry any labels`, target);
        const sel = labelSelector !== undefined ? parseLabelSelector(labelSelector) : undefined;
        const fields = fieldSelector !== undefined ? parseFieldSelector(fieldSelector) : undefined;
        const byName = inputs.operation !== 'delete' && !!fields?.ok && fields.value.some((f) => f.field === 'metadata.name' && f.op === '=');
        if (sel && !sel.ok) throw new ProbeError(`k8sProbe: labelSelector is not a label selector: ${sel.error}`, target);
        if (sel?.value.requirements.length) {
          if (!selectorInScope(scope, sel.value))
            throw new ProbeError(`refused by the worker's policy: labelSelector ${labelSelector} selects objects outside the blast radius (${only})`, target);
        } else if (!byName) {
          throw new ProbeError(
            `refused by the worker's policy: ${inputs.operation} in ${namespace} needs a labelSelector contained in the blast radius (${only})`,
            target,
          );
        }
        restricted = scope; // and every object listed is checked on its labels
      }
    } else {
      if (!policy.probes.k8sClusterScoped.includes(gr) && !policy.probes.k8sClusterScoped.includes(res.name)) {
        throw new ProbeError(`refused by the worker's policy: ${gr} is cluster-scoped and not in probes.k8sClusterScoped of ${policy.source}`, target);
      }
      if (inputs.operation === 'create' || inputs.operation === 'delete')
        throw new ProbeError(`refused by the worker's policy: ${inputs.operation} on the cluster-scoped ${gr}`, target);
    }
    if (
      (inputs.operation === 'create' || inputs.operation === 'delete') &&
      !policy.probes.k8sWritable.includes(gr) &&
      !policy.probes.k8sWritable.includes(res.name)
    ) {
      throw new ProbeError(
        `refused by the worker's policy: ${inputs.operation} on ${gr} (probes.k8sWritable of ${policy.source}: ${policy.probes.k8sWritable.join(', ') || 'none'})`,
        target,
      );
    }
  }

  return {
    target,
    sleepAfterEveryTry: false,
    async attempt(ctx: AttemptContext): Promise<AttemptResult> {
      const started = Date.now();
      const api = await objectApi(kc, ctx.signal);
      const { apiVersion, res } = await resolveResource(api, kc, inputs);
      restricted = undefined;
      reachable(res, apiVersion);
      api.seed(apiVersion, res);
      switch (inputs.operation) {
        case 'present':
        case 'absent':
          return presence(api, apiVersion, res);
        case 'create':
          return create(api, apiVersion, res, ctx.signal);
        case 'delete':
          return remove(api, apiVersion, res, ctx, started);
      }
    },
  };
}
