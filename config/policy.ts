/**
 * The operator's policy, as the pure code sees it: limits (the maxima every value from YAML is bounded by),
 * the blast radius (which namespaces and workloads a run may touch, system namespaces always protected),
 * helper images, file roots and what probes may reach. The worker loads it from its own tempest.yaml
 * (config/tempest-config.ts); a client or a YAML file can never weaken it: the worker re-checks every run
 * against it in every activity that touches the world.
 *
 * PURE: no I/O, no Node built-ins (imported by config code, fault descriptors and workflow-side types).
 */
import { matchesLabels, parseLabelSelector, selectorWithin, type LabelSelector } from './selector.js';
import type { TargetSpec } from './spec.js';

/** Maxima. Durations in ms. Every value from YAML is bounded by these (with these defaults unless the operator says otherwise). */
export interface Limits {
  maxChaosDurationMs: number;
  maxRampTimeMs: number;
  maxCpuCores: number;
  maxStressWorkers: number;
  /** Total memory one fault may hold (workers × per-worker MB). */
  maxMemoryMb: number;
  maxNetworkLatencyMs: number;
  maxProbeTimeoutMs: number;
  maxProbeAttempts: number;
  /** Bound of probe interval, polling interval, initial delay and evaluation timeout. */
  maxProbeIntervalMs: number;
  maxFaults: number;
  maxProbesPerFault: number;
  maxTargetPods: number;
}

export const DEFAULT_LIMITS: Limits = {
  maxChaosDurationMs: 6 * 3_600_000,
  maxRampTimeMs: 3_600_000,
  maxCpuCores: 16,
  maxStressWorkers: 16,
  maxMemoryMb: 8192,
  maxNetworkLatencyMs: 60_000,
  maxProbeTimeoutMs: 5 * 60_000,
  maxProbeAttempts: 20,
  maxProbeIntervalMs: 3_600_000,
  maxFaults: 20,
  maxProbesPerFault: 20,
  maxTargetPods: 100,
};

/** Limits of the YAML reader itself (CLI, and later the cluster front door). */
export interface DocumentLimits {
  maxBytes: number;
  maxDocuments: number;
  /** Alias expansions per document (an alias bomb stops here). */
  maxAliases: number;
  /** Engine references followed from one document (hypothesis -> engine, game-day catalog -> engine). */
  maxDepth: number;
  /** YAML nodes (scalars, lists, mappings) in one file, before alias expansion: the parser's work is bounded too. */
  maxNodes: number;
}

export const DEFAULT_DOCUMENT_LIMITS: DocumentLimits = { maxBytes: 1024 * 1024, maxDocuments: 100, maxAliases: 100, maxDepth: 8, maxNodes: 20_000 };

/** Helper images a fault may run (Kubernetes). */
export const IMAGE_ROLES = ['stress', 'tools', 'netem', 'runtimeHelper', 'gpu'] as const;
export type ImageRole = (typeof IMAGE_ROLES)[number];

/**
 * Defaults for the helper images, pinned by tag. `stress` has none: no stress-ng image is pinned here that
 * this project has verified, so pod-cpu-hog / pod-memory-hog on Kubernetes are refused until the operator
 * sets images.stress (see docs/security.md).
 */
export const DEFAULT_IMAGES: Record<ImageRole, string | undefined> = {
  stress: undefined,
  tools: 'docker.io/library/busybox:1.36.1',
  netem: 'docker.io/nicolaka/netshoot:v0.13',
  runtimeHelper: 'docker.io/litmuschaos/go-runner:3.16.0',
  gpu: 'docker.io/pytorch/pytorch:2.4.0-cuda12.1-cudnn9-runtime',
};

/** Image reference: [registry[:port]/]path[:tag][@sha256:digest]. */
const IMAGE_RE =
  /^(?:(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*(?::\d{1,5})?\/)?[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(?:@sha256:[a-f0-9]{64})?$/;

export function isImageRef(s: string): boolean {
  return s.length <= 512 && IMAGE_RE.test(s);
}

/** Pinned: a digest, or a tag other than `latest`. */
export function isPinnedImage(s: string): boolean {
  if (!isImageRef(s)) return false;
  if (/@sha256:[a-f0-9]{64}$/.test(s)) return true;
  const tag = /:([A-Za-z0-9_][A-Za-z0-9_.-]*)$/.exec(s.replace(/^[^/]*:\d+\//, ''))?.[1];
  return !!tag && tag !== 'latest';
}

/** Namespaces no run may touch unless the blast radius lists them by exact name; `*` never includes them. */
export const SYSTEM_NAMESPACES = ['kube-system', 'kube-public', 'kube-node-lease'] as const;

export interface BlastRadiusPolicy {
  allow: Array<{ namespace: string; selector?: string }>;
  /** Added to SYSTEM_NAMESPACES (e.g. Tempest's own namespace); never replaces them. */
  protectedNamespaces: string[];
  /**
   * The namespace the worker itself runs in, when it runs in a cluster (found by the worker at start-up:
   * POD_NAMESPACE, else the service account's namespace file; see withWorkerNamespace). Protected like
   * kube-system: `*` never includes it, only an entry of `allow` naming it exactly does. Not read from
   * tempest.yaml: the worker sets it.
   */
  workerNamespace?: string;
}

export interface ProbePolicy {
  /** cmdProbe without `source` runs /bin/sh on the worker host: off unless the operator turns it on. */
  allowLocalCommands: boolean;
  /** httpProbe: follow redirects (each hop re-checked against the host rules). */
  followRedirects: boolean;
  /** httpProbe / promProbe hosts (host or host:port); empty = any host except link-local / metadata addresses and loopback. */
  allowHosts: string[];
  /** Probes may reach the worker's own host (loopback): the local platform's fleets live there. Off by default. */
  allowLoopback: boolean;
  /** k8sProbe create/delete only on these resources (`resource` or `group/resource`); present/absent on any namespaced one. */
  k8sWritable: string[];
  /** Cluster-scoped resources a k8sProbe may read (present/absent), e.g. `nodes`. */
  k8sClusterScoped: string[];
}

/** What the pure checks need of the operator's policy. config/tempest-config.ts builds it from tempest.yaml. */
export interface Policy {
  /** File the policy came from, for messages. */
  source: string;
  limits: Limits;
  blastRadius: BlastRadiusPolicy;
  images: Record<ImageRole, string | undefined> & { allow: string[] };
  files: {
    /** model-corruption FILE_PATH must be inside one of these (host paths on the local platform, container paths on Kubernetes). */
    corruptionRoots: string[];
    /** httpProbe bodyPath must be inside one of these (worker host paths). */
    probeBodyRoots: string[];
  };
  probes: ProbePolicy;
  /** container-kill SOCKET_PATH must be one of these. */
  runtimeSockets: string[];
  /** Kubernetes: whose permissions a run acts with (platform.kubernetes.impersonate). Absent: off. */
  impersonation?: ImpersonationPolicy;
}

/**
 * `off`: every run acts as the worker's own identity (chaosServiceAccount is accepted and ignored). `required`: a
 * run must name a chaosServiceAccount the operator lists here (in its target namespace), and its Kubernetes calls
 * are made as that ServiceAccount (Impersonate-User system:serviceaccount:<ns>:<name>): the namespace's RBAC for
 * that account bounds what the run can do. The worker's RBAC grants `impersonate` on exactly these accounts.
 */
export interface ImpersonationPolicy {
  mode: 'off' | 'required';
  serviceAccounts: Array<{ namespace: string; name: string }>;
}

/** Why a run's target may not run with this policy's impersonation (one line), or null. */
export function impersonationRefusal(
  p: Pick<Policy, 'impersonation' | 'source'>,
  target: Pick<TargetSpec, 'namespace' | 'serviceAccount' | 'serviceAccountNamespace'>,
): string | null {
  const imp = p.impersonation;
  if (!imp || imp.mode === 'off') return null;
  const ns = target.serviceAccountNamespace ?? target.namespace;
  const listed = imp.serviceAccounts.filter((a) => a.namespace === ns).map((a) => a.name);
  if (!target.serviceAccount)
    return `the worker acts only as a listed chaosServiceAccount (platform.kubernetes.impersonate.mode required in ${p.source}); this engine names none${listed.length ? ` (listed for ${ns}: ${listed.join(', ')})` : ''}`;
  if (!listed.includes(target.serviceAccount))
    return `chaosServiceAccount ${ns}/${target.serviceAccount} is not one the worker may act as (platform.kubernetes.impersonate.serviceAccounts of ${p.source}${listed.length ? ` lists for ${ns}: ${listed.join(', ')}` : ` lists none for ${ns}`})`;
  return null;
}

/** The Kubernetes user a run acts as, or undefined (the worker's own identity). */
export function impersonatedUser(
  p: Pick<Policy, 'impersonation' | 'source'>,
  target: Pick<TargetSpec, 'namespace' | 'serviceAccount' | 'serviceAccountNamespace'>,
): string | undefined {
  if (!p.impersonation || p.impersonation.mode === 'off') return undefined;
  return `system:serviceaccount:${target.serviceAccountNamespace ?? target.namespace}:${target.serviceAccount}`;
}

export const DEFAULT_RUNTIME_SOCKETS = [
  '/run/containerd/containerd.sock',
  '/var/run/containerd/containerd.sock',
  '/var/run/crio/crio.sock',
  '/var/run/docker.sock',
];

export function defaultPolicy(source = 'the default policy'): Policy {
  return {
    source,
    limits: { ...DEFAULT_LIMITS },
    blastRadius: { allow: [], protectedNamespaces: [] },
    images: { ...DEFAULT_IMAGES, allow: [] },
    files: { corruptionRoots: [], probeBodyRoots: [] },
    probes: { allowLocalCommands: false, followRedirects: false, allowHosts: [], allowLoopback: false, k8sWritable: [], k8sClusterScoped: [] },
    runtimeSockets: [...DEFAULT_RUNTIME_SOCKETS],
  };
}

// ------------------------------------------------------------------------------------------ blast radius

export function isProtectedNamespace(p: Pick<Policy, 'blastRadius'>, ns: string): boolean {
  return (SYSTEM_NAMESPACES as readonly string[]).includes(ns) || p.blastRadius.protectedNamespaces.includes(ns) || p.blastRadius.workerNamespace === ns;
}

/**
 * The policy with the worker's own namespace protected (a copy; `p` itself is unchanged). The worker's namespace
 * holds the worker: its service account token, its Temporal certificates, its secrets. A probe or a fault there
 * could read them (cmdProbe in the worker pod) or take the worker down, so `*` never includes it; an operator
 * who really wants it lists it by its exact name (and is warned at start-up).
 */
export function withWorkerNamespace<P extends Pick<Policy, 'blastRadius'>>(p: P, ns: string | undefined | null): P {
  if (!ns || p.blastRadius.workerNamespace === ns) return p;
  return { ...p, blastRadius: { ...p.blastRadius, workerNamespace: ns } };
}

/**
 * Why nothing may target `ns` because it is the worker's own namespace (`workerNamespace`, default: the policy's),
 * or null: not the worker's namespace, or listed by its exact name in blastRadius.allow.
 */
export function workerNamespaceRefusal(
  p: Pick<Policy, 'blastRadius' | 'source'> | undefined,
  ns: string,
  workerNamespace: string | undefined | null = p?.blastRadius.workerNamespace,
): string | null {
  if (!workerNamespace || ns !== workerNamespace) return null;
  if (p?.blastRadius.allow.some((a) => a.namespace === ns)) return null;
  return `namespace ${ns} is the worker's own namespace: nothing may target it unless blastRadius.allow of ${p?.source ?? 'the policy'} lists it by its exact name`;
}

/** A namespace a run (or a probe) may reach at all: listed exactly, or `*` for any unprotected one. */
export function namespaceAllowed(p: Pick<Policy, 'blastRadius'>, ns: string): boolean {
  return p.blastRadius.allow.some((a) => a.namespace === ns || (a.namespace === '*' && !isProtectedNamespace(p, ns)));
}

/** Why a run or a probe may not reach namespace `ns` at all (one line), or null. */
export function namespaceRefusal(p: Pick<Policy, 'blastRadius' | 'source'>, ns: string): string | null {
  if (namespaceAllowed(p, ns)) return null;
  return workerNamespaceRefusal(p, ns) ?? `namespace ${ns} is not in blastRadius.allow of ${p.source}`;
}

/**
 * How much of namespace `ns` the blast radius lets a run or a probe reach: nothing; all of it (an entry without a
 * selector); or only the objects one of `selectors` selects (every entry for `ns` has a selector). A probe in a
 * selector-restricted namespace may only touch objects inside those selectors, like a fault's target.
 */
export type NamespaceScope = { allowed: false } | { allowed: true; selectors?: LabelSelector[] };

export function namespaceScope(p: Pick<Policy, 'blastRadius'>, ns: string): NamespaceScope {
  const selectors: LabelSelector[] = [];
  let allowed = false;
  for (const a of p.blastRadius.allow) {
    if (!(a.namespace === ns || (a.namespace === '*' && !isProtectedNamespace(p, ns)))) continue;
    allowed = true;
    if (!a.selector) return { allowed: true };
    const s = policySelector(a.selector);
    if (s) selectors.push(s); // a selector the loader would have refused allows nothing
  }
  return allowed ? { allowed: true, selectors } : { allowed: false };
}

/** Is every object `sel` selects inside the scope (contained in one allowed selector)? */
export function selectorInScope(scope: NamespaceScope, sel: LabelSelector): boolean {
  if (!scope.allowed) return false;
  return !scope.selectors || scope.selectors.some((a) => selectorWithin(sel, a));
}

/** Does an object with these (live) labels lie inside the scope? */
export function labelsInScope(scope: NamespaceScope, labels: Record<string, string> | undefined | null): boolean {
  if (!scope.allowed) return false;
  return !scope.selectors || scope.selectors.some((a) => matchesLabels(a, labels ?? {}));
}

/** The selectors of a restricted scope, for messages: `app=api or tier=edge`. */
export function scopeText(scope: NamespaceScope): string {
  if (!scope.allowed) return 'nothing';
  if (!scope.selectors) return 'everything';
  return scope.selectors.map((s) => s.text).join(' or ') || 'nothing';
}

function listed(p: Pick<Policy, 'blastRadius'>): string {
  return p.blastRadius.allow.map((a) => (a.selector ? `${a.namespace}/${a.selector}` : a.namespace)).join(', ') || 'nothing';
}

/** null when the policy lets a run touch the target, else the refusal message. */
export function blastRadiusRefusal(p: Pick<Policy, 'blastRadius' | 'source'>, target: Pick<TargetSpec, 'namespace' | 'labelSelector'>): string | null {
  const t = parseLabelSelector(target.labelSelector);
  const where = `target ${target.namespace}/${target.labelSelector}`;
  if (!t.ok) return `blast radius: ${where}: the selector is not valid (${t.error})`;
  if (!t.value.requirements.length) return `blast radius: ${where}: an empty selector would select every pod of the namespace`;
  for (const a of p.blastRadius.allow) {
    const nsOk = a.namespace === target.namespace || (a.namespace === '*' && !isProtectedNamespace(p, target.namespace));
    if (!nsOk) continue;
    if (!a.selector) return null;
    const allowed = parseLabelSelector(a.selector);
    if (allowed.ok && selectorWithin(t.value, allowed.value)) return null;
  }
  const prot =
    p.blastRadius.workerNamespace === target.namespace
      ? ` (${target.namespace} is the worker's own namespace: it must be listed by its exact name)`
      : isProtectedNamespace(p, target.namespace)
        ? ` (${target.namespace} is a protected namespace: it must be listed by its exact name)`
        : '';
  return `blast radius: ${where} is not in blastRadius.allow of ${p.source}${prot} (allowed: ${listed(p)})`;
}

/** Parse a selector the policy itself holds (already validated when loaded). */
export function policySelector(s: string): LabelSelector | undefined {
  const r = parseLabelSelector(s);
  return r.ok ? r.value : undefined;
}

// ------------------------------------------------------------------------------------------ hosts and paths

// ------------------------------------------------------------------------------------------ addresses

/** a.b.c.d -> 32-bit number, or undefined. */
function ipv4(s: string): number | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s);
  if (!m) return undefined;
  const o = m.slice(1).map(Number);
  return o.some((x) => x > 255) ? undefined : ((o[0] << 24) >>> 0) + (o[1] << 16) + (o[2] << 8) + o[3];
}

/** An IPv6 literal -> its 8 groups, or undefined (embedded dotted IPv4 tails allowed). */
function ipv6(s: string): number[] | undefined {
  let t = s.toLowerCase().replace(/%.*$/, '');
  if (!/^[0-9a-f:.]+$/.test(t) || !t.includes(':')) return undefined;
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(t);
  if (dotted) {
    const v = ipv4(dotted[1]);
    if (v === undefined) return undefined;
    t = `${t.slice(0, -dotted[1].length)}${(v >>> 16).toString(16)}:${(v & 0xffff).toString(16)}`;
  }
  const halves = t.split('::');
  if (halves.length > 2) return undefined;
  const part = (h: string) => (h === '' ? [] : h.split(':'));
  const head = part(halves[0]);
  const tail = halves.length === 2 ? part(halves[1]) : [];
  const missing = 8 - head.length - tail.length;
  if ((halves.length === 1 && missing !== 0) || missing < 0) return undefined;
  const groups = [...head, ...Array(halves.length === 2 ? missing : 0).fill('0'), ...tail].map((g) => (/^[0-9a-f]{1,4}$/.test(g) ? parseInt(g, 16) : NaN));
  return groups.length === 8 && groups.every((g) => Number.isInteger(g)) ? groups : undefined;
}

export type AddressClass = 'metadata' | 'link-local' | 'loopback' | 'unspecified' | 'other';

/**
 * What kind of address an IP literal is. IPv6 forms that carry an IPv4 address are judged by that address (the
 * most dangerous reading wins): mapped ::ffff:a.b.c.d, translated ::ffff:0:a.b.c.d, compatible ::a.b.c.d, NAT64
 * 64:ff9b::/96 and the local-use 64:ff9b:1::/48, 6to4 2002:aabb:ccdd::/48, Teredo 2001:0::/32 (its server
 * and its obfuscated client address). undefined: not an IP literal.
 */
export function addressClass(host: string): AddressClass | undefined {
  const h = host.replace(/^\[|\]$/g, '');
  const v4 = ipv4(h) ?? ipv4(numericHost(h));
  if (v4 !== undefined) return ipv4Class(v4);
  const g = ipv6(h);
  if (!g) return undefined;
  const zeros = (from: number, to: number) => g.slice(from, to).every((x) => x === 0);
  const word = (hi: number, lo: number) => ((hi << 16) + lo) >>> 0;
  const carried: number[] = [];
  if (zeros(0, 5) && g[5] === 0xffff) carried.push(word(g[6], g[7])); // mapped
  if (zeros(0, 4) && g[4] === 0xffff && g[5] === 0) carried.push(word(g[6], g[7])); // translated
  if (zeros(0, 6) && (g[6] !== 0 || g[7] > 1)) carried.push(word(g[6], g[7])); // compatible
  if (g[0] === 0x64 && g[1] === 0xff9b && (zeros(2, 6) || g[2] === 1)) carried.push(word(g[6], g[7])); // NAT64
  if (g[0] === 0x2002) carried.push(word(g[1], g[2])); // 6to4
  if (g[0] === 0x2001 && g[1] === 0) carried.push(word(g[2], g[3]), word(g[6] ^ 0xffff, g[7] ^ 0xffff)); // Teredo
  if (carried.length) {
    const classes = carried.map(ipv4Class);
    for (const c of ['metadata', 'link-local', 'loopback', 'unspecified'] as const) if (classes.includes(c)) return c;
    return 'other';
  }
  if (g.every((x) => x === 0)) return 'unspecified';
  if (zeros(0, 7) && g[7] === 1) return 'loopback';
  if ((g[0] & 0xffc0) === 0xfe80) return 'link-local';
  if (g[0] === 0xfd00 && g[1] === 0x0ec2 && zeros(2, 7) && g[7] === 0x254) return 'metadata'; // AWS IMDS over IPv6
  return 'other';
}

/** 2852039166, 0xa9fea9fe, 0251.0376.0251.0376, 169.254.43518: the dotted form a URL parser (and the OS) reads them as. */
function numericHost(h: string): string {
  if (!/^(0x[0-9a-f]+|\d+)(\.(0x[0-9a-f]+|\d+)){0,3}$/i.test(h)) return '';
  try {
    return new URL(`http://${h}/`).hostname;
  } catch {
    return '';
  }
}

function ipv4Class(a: number): AddressClass {
  if (a >>> 16 === (169 << 8) + 254) return 'link-local'; // 169.254.0.0/16, where every cloud's metadata endpoint lives
  if (a === ((100 << 24) >>> 0) + (100 << 16) + (100 << 8) + 200) return 'metadata'; // Alibaba
  if (a >>> 24 === 127) return 'loopback';
  if (a >>> 24 === 0) return 'unspecified';
  return 'other';
}

const METADATA_NAMES = new Set(['metadata', 'metadata.google.internal', 'metadata.goog', 'instance-data', 'instance-data.ec2.internal', 'metadata.azure.com']);

/** Why a probe may not reach this host (an IP literal or a name), or null. Names are checked again when they resolve. */
export function addressRefusal(p: Pick<Policy, 'probes' | 'source'>, host: string, port?: string): string | null {
  const h = host
    .toLowerCase()
    .replace(/^\[|\]$/g, '')
    .replace(/\.+$/, '');
  const listed = p.probes.allowHosts.map((x) => x.toLowerCase().replace(/^\[([^\]]*)\]$/, '$1')); // [v6] -> v6; [v6]:port stays as it is
  if (listed.includes(h) || (port && (listed.includes(`${h}:${port}`) || listed.includes(`[${h}]:${port}`)))) return null;
  if (listed.length) return `host ${port ? `${h.includes(':') ? `[${h}]` : h}:${port}` : h} is not in probes.allowHosts of ${p.source}`;
  const cls = addressClass(h) ?? (METADATA_NAMES.has(h) ? 'metadata' : h === 'localhost' || h.endsWith('.localhost') ? 'loopback' : undefined);
  if (cls === 'metadata' || cls === 'link-local')
    return `host ${h} is a link-local / metadata address (list it in probes.allowHosts of ${p.source} to allow it)`;
  if ((cls === 'loopback' || cls === 'unspecified') && !p.probes.allowLoopback) {
    return `host ${h} is the worker's own host (loopback): set probes.allowLoopback in ${p.source}, or list it in probes.allowHosts`;
  }
  return null;
}

/**
 * At connect time: may a probe reach `host` at the address it resolved to? A host the operator lists by name is
 * trusted wherever it resolves; otherwise the address itself must pass (loopback, link-local, metadata refused).
 */
export function resolvedAddressRefusal(p: Pick<Policy, 'probes' | 'source'>, host: string, address: string): string | null {
  if (p.probes.allowHosts.some((x) => addressRefusal(p, host, /:(\d{1,5})$/.exec(x)?.[1]) === null)) return null; // listed as host, or host:port (the port was checked on the URL)
  return addressRefusal(p, address);
}

/** null when a probe may reach this URL's host, else why not. */
export function hostRefusal(p: Pick<Policy, 'probes' | 'source'>, url: string): string | null {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return `${cut(url)} is not a URL`;
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return `${u.protocol} URLs are not allowed (http or https only)`;
  if (u.username || u.password) return 'credentials in a URL are not allowed (they would be recorded in the history)';
  return addressRefusal(p, u.hostname, u.port);
}

/** Kept for callers that only know a host name (lexical: names are checked again after they resolve). */
export function isMetadataHost(host: string): boolean {
  const h = host
    .toLowerCase()
    .replace(/^\[|\]$/g, '')
    .replace(/\.+$/, '');
  const cls = addressClass(h);
  return cls === 'metadata' || cls === 'link-local' || METADATA_NAMES.has(h);
}

/**
 * Lexical normal form of an absolute POSIX path, or undefined if it is not one: no `..`, no `.` segments, no
 * empty segments, no NUL or control characters. (Symlinks are checked with realpath where the file lives.)
 */
export function normalAbsolutePath(p: string): string | undefined {
  if (typeof p !== 'string' || !p.startsWith('/') || p.length > 4096 || /[\u0000-\u001f\u007f]/.test(p)) return undefined;
  const parts = p.split('/').slice(1);
  if (parts.length && parts[parts.length - 1] === '') parts.pop();
  if (parts.some((s) => s === '' || s === '.' || s === '..')) return undefined;
  return '/' + parts.join('/');
}

/** Is `path` (normal, absolute) inside `root` (normal, absolute)? */
export function pathWithin(path: string, root: string): boolean {
  const r = root === '/' ? '/' : root.replace(/\/+$/, '');
  return r === '/' ? path.startsWith('/') : path === r || path.startsWith(r + '/');
}

export function cut(s: string, n = 80): string {
  return s.length > n ? `${s.slice(0, n - 1)}…` : s;
}
