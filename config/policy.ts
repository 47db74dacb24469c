/**
 * The operator's policy, as the pure code sees it: limits (the maxima every value from YAML is bounded by),
 * the blast radius (which namespaces and workloads a run may touch, system namespaces always protected),
 * helper images, file roots and what probes may reach. The worker loads it from its own tempest.yaml
 * (config/tempest-config.ts); a client or a YAML file can never weaken it: the worker re-checks every run
 * against it in every activity that touches the world.
 *
 * PURE: no I/O, no Node built-ins (imported by config code, fault descriptors and workflow-side types).
 */
import { parseLabelSelector, selectorWithin, type LabelSelector } from './selector.js';
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
}

export const DEFAULT_DOCUMENT_LIMITS: DocumentLimits = { maxBytes: 1024 * 1024, maxDocuments: 100, maxAliases: 100, maxDepth: 8 };

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
}

export interface ProbePolicy {
  /** cmdProbe without `source` runs /bin/sh on the worker host: off unless the operator turns it on. */
  allowLocalCommands: boolean;
  /** httpProbe: follow redirects (each hop re-checked against the host rules). */
  followRedirects: boolean;
  /** httpProbe / promProbe hosts (host or host:port); empty = any host except link-local / metadata addresses. */
  allowHosts: string[];
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
}

export const DEFAULT_RUNTIME_SOCKETS = ['/run/containerd/containerd.sock', '/var/run/containerd/containerd.sock', '/var/run/crio/crio.sock', '/var/run/docker.sock'];

export function defaultPolicy(source = 'the default policy'): Policy {
  return {
    source,
    limits: { ...DEFAULT_LIMITS },
    blastRadius: { allow: [], protectedNamespaces: [] },
    images: { ...DEFAULT_IMAGES, allow: [] },
    files: { corruptionRoots: [], probeBodyRoots: [] },
    probes: { allowLocalCommands: false, followRedirects: false, allowHosts: [], k8sWritable: [], k8sClusterScoped: [] },
    runtimeSockets: [...DEFAULT_RUNTIME_SOCKETS],
  };
}

// ------------------------------------------------------------------------------------------ blast radius

export function isProtectedNamespace(p: Pick<Policy, 'blastRadius'>, ns: string): boolean {
  return (SYSTEM_NAMESPACES as readonly string[]).includes(ns) || p.blastRadius.protectedNamespaces.includes(ns);
}

/** A namespace a run (or a probe) may reach at all: listed exactly, or `*` for any unprotected one. */
export function namespaceAllowed(p: Pick<Policy, 'blastRadius'>, ns: string): boolean {
  return p.blastRadius.allow.some((a) => a.namespace === ns || (a.namespace === '*' && !isProtectedNamespace(p, ns)));
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
  const prot = isProtectedNamespace(p, target.namespace) ? ` (${target.namespace} is a protected namespace: it must be listed by its exact name)` : '';
  return `blast radius: ${where} is not in blastRadius.allow of ${p.source}${prot} (allowed: ${listed(p)})`;
}

/** Parse a selector the policy itself holds (already validated when loaded). */
export function policySelector(s: string): LabelSelector | undefined {
  const r = parseLabelSelector(s);
  return r.ok ? r.value : undefined;
}

// ------------------------------------------------------------------------------------------ hosts and paths

/** Link-local and cloud metadata addresses: never reached by a probe unless listed by the operator. */
export function isMetadataHost(host: string): boolean {
  const h = host.toLowerCase().replace(/^\[|\]$/g, '');
  return /^169\.254\./.test(h) || h === 'metadata.google.internal' || h === 'metadata' || /^fe80:/i.test(h) || h === 'fd00:ec2::254' || h === '100.100.100.200';
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
  const host = u.hostname.toLowerCase();
  const hostPort = u.port ? `${host}:${u.port}` : host;
  const allow = p.probes.allowHosts.map((h) => h.toLowerCase());
  if (allow.length) {
    if (allow.includes(host) || allow.includes(hostPort)) return null;
    return `host ${hostPort} is not in probes.allowHosts of ${p.source}`;
  }
  if (isMetadataHost(host)) return `host ${host} is a link-local / metadata address (list it in probes.allowHosts of ${p.source} to allow it)`;
  return null;
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
