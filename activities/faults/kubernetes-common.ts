/**
 * What the Kubernetes fault drivers share: the fault ledger (an annotation on the target's owner, and a mark
 * on every pod a fault touched, same JSON shape as the local Ledger), Litmus target selection, ephemeral
 * containers (added through the pods/ephemeralcontainers subresource with a strategic-merge patch), exec with
 * a timeout, and the two ephemeral-container fault shapes:
 *
 *   - a process fault (pod-cpu-hog, pod-memory-hog, gpu-memory-hog): one ephemeral container per target pod
 *     runs the stressor with its own dead-man timeout; revert adds a second ephemeral container that kills
 *     every process carrying the fault's TEMPEST_FAULT marker (ephemeral containers cannot be removed);
 *   - a netem fault (pod-network-latency, pod-network-loss): one ephemeral container with NET_ADMIN installs
 *     `tc qdisc ... netem` on the pod's interface and holds it in a self-expiring shell; revert deletes the
 *     qdisc by exec into that container when it can, else with another ephemeral container, and records which.
 *
 * Any worker can revert any run's fault: the ledger (and the pod marks) say where to look, but they live on
 * tenant-writable objects, so they are hints. What a revert and a verify act on is decided by the live pods the
 * target selects and by names derived from the run (ephemeral container names, helper pod names and labels);
 * an unreadable ledger is no ledger, never a reason to stop.
 */
import { createHash } from 'node:crypto';
import { Writable } from 'node:stream';
import type { V1ContainerStatus, V1EphemeralContainer, V1Pod, V1Status } from '@kubernetes/client-node';
import type { FaultSpec } from '../../config/spec.js';
import type { ImageRole, Limits, Policy } from '../../config/policy.js';
import type { FaultRef, InjectRequest, PreparedRecord } from '../types.js';
import type { LedgerEntry } from './driver.js';
import { isPlainObject, parseLedger, waitClean, writeLedger } from './driver.js';
import { tempestError } from '../errors.js';
import { STRATEGIC_MERGE_PATCH, failureFromStatus, k8sFailure, kcallGone, type K8sClients, type K8sOp } from '../platform/k8s/client.js';
import type { K8sTarget } from '../platform/k8s/target.js';
import { isRunning, noRuntimeBehind } from '../platform/k8s/target.js';
import { selectTargets } from './select.js';

export { waitClean };
export type { LedgerEntry };

// ------------------------------------------------------------------------------------------ driver shape

export interface K8sSettings {
  /** Upper bound of one exec (heartbeating while it runs). */
  execTimeoutMs: number;
  /** How long verify waits for the target to be clean before NotYetClean (the workflow retries). */
  verifyTimeoutMs: number;
}

export const DEFAULT_SETTINGS: K8sSettings = { execTimeoutMs: 60_000, verifyTimeoutMs: 90_000 };

export interface K8sFaultContext {
  k8s: K8sClients;
  /**
   * The worker's own clients, for what node-level power only the operator grants (container-kill's helper pods,
   * with the runtime socket mounted): never a tenant's account, even when the run impersonates one (`k8s`).
   */
  worker?: K8sClients;
  target: K8sTarget;
  heartbeat: (details?: unknown) => void;
  signal: AbortSignal;
  settings: K8sSettings;
  /** The worker's policy: images, sockets, roots, limits. */
  policy: Policy;
}

export interface K8sInjectResult {
  affected: string[];
  detail: string;
  alreadyDone: boolean;
}

export interface K8sFaultDriver {
  /** RBAC this driver needs in the target namespace (docs, and the preflight's report). */
  readonly rbac: string[];
  /** Refuse what cannot be honoured, before anything is injected (may read the cluster). */
  check?(fault: FaultSpec, ctx: K8sFaultContext): Promise<void>;
  /** Read-only: what the fault will touch and how it is now; the workflow keeps the record (FaultRef.prepared). */
  prepare?(ref: FaultRef, ctx: K8sFaultContext): Promise<PreparedRecord>;
  /** One idempotent round; the ledger is written before acting. */
  inject(req: InjectRequest, ctx: K8sFaultContext, ledger: K8sLedger): Promise<K8sInjectResult>;
  /** Undo everything the ledger (and the pod marks) say this fault did. Returns what was undone. */
  revert(ref: FaultRef, ctx: K8sFaultContext, ledger: K8sLedger): Promise<string[]>;
  /** Prove it is gone, or throw NotYetClean. Returns what was observed. */
  verify(ref: FaultRef, ctx: K8sFaultContext, ledger: K8sLedger): Promise<string>;
}

const ROLE_WHAT: Record<ImageRole, string> = {
  stress: 'stress-ng (stress-ng on PATH)',
  tools: 'busybox-like tools (sh, tr, grep, kill)',
  netem: 'iproute2 (tc) and a shell',
  runtimeHelper: 'container-runtime CLI (crictl / docker)',
  gpu: 'CUDA + PyTorch',
};

/**
 * The image a fault runs for `role`: the engine's *_IMAGE override only when the worker's images.allow lists it
 * (or it is the worker's own default), else the worker's images.<role>. Never an image the operator did not name.
 */
export function imageFor(ctx: Pick<K8sFaultContext, 'policy'>, fault: FaultSpec, role: ImageRole): string {
  const own = fault.params.images?.[role];
  const dflt = ctx.policy.images[role];
  if (own !== undefined) {
    if (own !== dflt && !ctx.policy.images.allow.includes(own)) {
      throw tempestError('FaultRefused', `${fault.name}: the ${role} image ${own.slice(0, 200)} is not in images.allow of ${ctx.policy.source}`);
    }
    return own;
  }
  if (!dflt)
    throw tempestError(
      'FaultRefused',
      `${fault.name}: images.${role} is not set in ${ctx.policy.source}: pin a ${ROLE_WHAT[role]} image there (see docs/security.md)`,
    );
  return dflt;
}

// ------------------------------------------------------------------------------------------ ids and ledger

/**
 * Names derived from (run, fault index), the same on every worker:
 *   key  annotation key `tempest.io/fault.<run>.<index>` (name part <= 63 chars; long run ids are shortened
 *        and suffixed with a hash of the full id, which the entry itself keeps in `run`)
 *   id   `<10 hex of sha256(run)>-<index>`: label value, container-name part, process marker
 */
export function faultIds(ref: Pick<FaultRef, 'runId' | 'faultIndex'>): { key: string; id: string; hash: string } {
  const hash = createHash('sha256').update(ref.runId).digest('hex');
  const idx = String(ref.faultIndex);
  const clean = ref.runId.replace(/[^A-Za-z0-9_.-]/g, '_');
  let name = `fault.${clean}.${idx}`;
  // Shortened, or not plain (characters were replaced: two ids could meet), the key carries a hash of the full id.
  if (name.length > 63 || !/^[A-Za-z0-9]/.test(clean) || clean !== ref.runId) {
    const room = 63 - 'fault.'.length - 1 - idx.length - 13; // "-" + 12 hex
    const head = clean.slice(0, Math.max(0, room)).replace(/[^A-Za-z0-9]+$/, '');
    name = `fault.${head ? `${head}-` : ''}${hash.slice(0, 12)}.${idx}`;
  }
  return { key: `tempest.io/${name}`, id: `${hash.slice(0, 10)}-${idx}`, hash };
}

/** What a touched pod carries under the ledger key. */
export interface PodMark {
  run: string;
  fault: string;
  faultIndex: number;
  /** fault-specific: the ephemeral container, the container killed, the file corrupted */
  detail?: string;
}

/** What this worker saw live during a revert, per pod uid (never read from the target). */
export interface LiveObservation {
  /** the exec revert ran and `tc qdisc show` printed this */
  execObserved?: string;
}

/** The fault ledger of one run's fault: an annotation on every owner of the target, and marks on touched pods. */
export class K8sLedger {
  /** Owners whose annotation under this key could not be read as an entry (tampered): for the record. */
  readonly unreadable = new Set<string>();
  /**
   * What this worker observed itself while reverting (pod uid -> observation), for the verify that follows it
   * on the same ledger object. The ledger's own copy of such observations is for the record only.
   */
  readonly seen = new Map<string, LiveObservation>();

  constructor(
    readonly target: K8sTarget,
    readonly key: string,
    /** The ledger of an injection (see writeLedger: only its writes reach the crash matrix's failpoints). */
    private readonly injecting = false,
  ) {}

  /**
   * The entry on the first owner that holds a readable one. An annotation that is not a valid entry is no entry
   * (noted in `unreadable`): the drivers then find the work by the marks and by run-derived names, and the next
   * write replaces it.
   */
  async read(): Promise<LedgerEntry | undefined> {
    for (const o of await this.target.owners()) {
      const raw = o.annotations[this.key];
      if (!raw) continue;
      const e = parseLedger(raw);
      if (e) return e;
      this.unreadable.add(`${o.kind.toLowerCase()}/${o.name}`);
    }
    return undefined;
  }

  /** `observed`, plus a note when an owner's entry could not be read (so a report says what was ignored). */
  note(observed: string): string {
    return this.unreadable.size
      ? `${observed}; the ledger on ${[...this.unreadable].join(', ')} was not a readable entry (ignored: the live pods decided)`
      : observed;
  }

  async write(e: LedgerEntry): Promise<void> {
    const value = JSON.stringify(e);
    await writeLedger(
      e,
      async () => {
        for (const o of await this.target.requireOwners()) await this.target.annotateOwner(o.name, { [this.key]: value });
      },
      this.injecting,
    );
  }

  /** Read-or-create, for the inject path. */
  async open(req: InjectRequest): Promise<LedgerEntry> {
    return (await this.read()) ?? { fault: req.fault.name, run: req.runId, faultIndex: req.faultIndex, rounds: {}, done: [], expiresAt: req.expiresAt };
  }

  async markPod(pod: string, mark: PodMark): Promise<boolean> {
    return this.target.annotatePod(pod, { [this.key]: JSON.stringify(mark) });
  }

  /** Pods that carry this fault's mark (found without the owner's ledger). */
  async markedPods(): Promise<{ pod: V1Pod; mark: PodMark }[]> {
    const out: { pod: V1Pod; mark: PodMark }[] = [];
    for (const p of await this.target.pods()) {
      const raw = p.metadata?.annotations?.[this.key];
      if (!raw) continue;
      let v: unknown;
      try {
        v = JSON.parse(raw);
      } catch {
        v = undefined;
      }
      const m = isPlainObject(v) ? v : {};
      out.push({
        pod: p,
        mark: {
          run: typeof m.run === 'string' ? m.run : '?',
          fault: typeof m.fault === 'string' ? m.fault : '?',
          faultIndex: Number.isInteger(m.faultIndex) ? (m.faultIndex as number) : -1,
          detail: typeof m.detail === 'string' ? m.detail.slice(0, 200) : raw.slice(0, 200),
        },
      });
    }
    return out;
  }

  /** Remove the key from the owners and from every marked pod. */
  async clear(): Promise<void> {
    for (const { pod } of await this.markedPods()) await this.target.annotatePod(pod.metadata!.name!, { [this.key]: null });
    for (const o of await this.target.owners()) if (this.key in o.annotations) await this.target.annotateOwner(o.name, { [this.key]: null });
  }

  /** Where the key is still found: `deployment/x`, `pod/y`. */
  async presentOn(): Promise<string[]> {
    const where: string[] = [];
    for (const o of await this.target.owners()) if (this.key in o.annotations) where.push(`${o.kind.toLowerCase()}/${o.name}`);
    for (const { pod } of await this.markedPods()) where.push(`pod/${pod.metadata!.name}`);
    return where;
  }
}

// ------------------------------------------------------------------------------------------ selection

/**
 * Litmus target selection: TARGET_PODS if given, else PODS_AFFECTED_PERC of the running pods (0 = one pod). More
 * than `maxPods` (pass the worker's `ctx.policy.limits.maxTargetPods`) is refused with FaultRefused.
 */
export function selectPods(pods: V1Pod[], fault: FaultSpec, maxPods?: number): V1Pod[] {
  return selectTargets(pods, fault, (p) => p.metadata?.name ?? '', isRunning, maxPods);
}

/**
 * A retried round acts on the pods its ledger entry names: a rewritten entry could name more than the selection
 * ever could. The names (distinct strings), refused past limits.maxTargetPods like a fresh selection.
 */
export function roundTargets(fault: FaultSpec, names: unknown, ctx: Pick<K8sFaultContext, 'policy'>): string[] {
  const list = [...new Set(Array.isArray(names) ? names.filter((n): n is string => typeof n === 'string') : [])];
  const max = ctx.policy.limits.maxTargetPods;
  if (list.length > max) {
    throw tempestError(
      'FaultRefused',
      `${fault.name}: the ledger of this round names ${list.length} pods, more than limits.maxTargetPods (${max}): refusing to act on them`,
    );
  }
  return list;
}

/**
 * Preflight: the running pods this fault may choose (TARGET_PODS, else every running target pod), after refusing a
 * selection larger than limits.maxTargetPods (TargetNotFound is left to inject, as before).
 */
export async function candidatePods(fault: FaultSpec, ctx: K8sFaultContext): Promise<V1Pod[]> {
  const running = await ctx.target.runningPods();
  try {
    selectPods(running, fault, ctx.policy.limits.maxTargetPods);
  } catch (e) {
    if ((e as { type?: string }).type === 'FaultRefused') throw e;
  }
  return fault.targetPods.length ? running.filter((p) => fault.targetPods.includes(p.metadata?.name ?? '')) : running;
}

/** Pod fields that put a pod in one of the node's own namespaces. */
export type HostNamespaceField = 'hostNetwork' | 'hostPID' | 'hostIPC';

const HOST_NAMESPACE_WHY: Record<HostNamespaceField, string> = {
  hostNetwork:
    "it uses the node's network namespace, so a network fault there changes the NODE's network (every host-network pod on it, the kubelet's own traffic)",
  hostPID: "it uses the node's process namespace, so a process fault there reaches every process on the node",
  hostIPC: "it uses the node's IPC namespace (its shared memory), so the fault would not stay inside the pod",
};

/**
 * Refuse a pod that shares a namespace of the node the fault works in: a fault on it is a fault on the node.
 * Checked at preflight (every candidate) and again at inject on the live pods (a pod may have been replaced).
 */
export function refuseHostNamespaces(fault: FaultSpec, pods: V1Pod[], fields: readonly HostNamespaceField[]): void {
  for (const p of pods) {
    for (const f of fields) {
      if (p.spec?.[f] === true) {
        throw tempestError(
          'FaultRefused',
          `${fault.name}: pod ${p.metadata?.namespace}/${p.metadata?.name} has spec.${f}: true; ${HOST_NAMESPACE_WHY[f]}: refused`,
        );
      }
    }
  }
}

/** SEQUENCE: parallel acts on every target at once; serial one after another (with `between` after each). */
export async function forEachTarget<T>(
  items: T[],
  sequence: FaultSpec['sequence'],
  act: (item: T) => Promise<void>,
  between?: (item: T) => Promise<void>,
): Promise<void> {
  if (sequence === 'parallel') {
    await Promise.all(items.map(act));
    return;
  }
  for (let i = 0; i < items.length; i++) {
    await act(items[i]);
    if (between && i < items.length - 1) await between(items[i]);
  }
}

/** TARGET_CONTAINER, or the pod's first container. */
export function targetContainerOf(pod: V1Pod, fault: FaultSpec): string {
  const names = (pod.spec?.containers ?? []).map((c) => c.name);
  const want = fault.params.targetContainer;
  if (want) {
    if (!names.includes(want))
      throw tempestError('TargetNotFound', `TARGET_CONTAINER ${want} is not a container of pod ${pod.metadata?.name} (has: ${names.join(', ')})`);
    return want;
  }
  if (!names.length) throw tempestError('TargetNotFound', `pod ${pod.metadata?.name} has no containers`);
  return names[0];
}

/** Seconds until the dead-man time (at least 1, at most the chaos duration plus 5 minutes). */
export function deadManSeconds(req: InjectRequest, now = Date.now()): number {
  const left = Math.ceil((Date.parse(req.expiresAt) - now) / 1000);
  const cap = Math.ceil(req.fault.durationMs / 1000) + 300;
  return Math.max(1, Math.min(Number.isFinite(left) ? left : cap, cap));
}

// ------------------------------------------------------------------------------------------ ephemeral containers

export const MANAGED_BY = { 'app.kubernetes.io/managed-by': 'tempest' } as const;

export interface EphemeralContainerSpec {
  name: string;
  image: string;
  command: string[];
  targetContainerName?: string;
  env?: Record<string, string>;
  capabilities?: string[];
}

export function ephemeralBody(c: EphemeralContainerSpec): V1EphemeralContainer {
  return {
    name: c.name,
    image: c.image,
    imagePullPolicy: 'IfNotPresent',
    command: c.command,
    targetContainerName: c.targetContainerName,
    env: Object.entries(c.env ?? {}).map(([name, value]) => ({ name, value })),
    securityContext: c.capabilities?.length ? { capabilities: { add: c.capabilities } } : undefined,
    terminationMessagePolicy: 'FallbackToLogsOnError',
    stdin: false,
    tty: false,
  };
}

/** Add an ephemeral container unless the pod already has one of that name. 'gone' if the pod is gone. */
export async function addEphemeralContainer(
  ctx: K8sFaultContext,
  podName: string,
  c: EphemeralContainerSpec,
  uid?: string,
): Promise<'added' | 'exists' | 'gone'> {
  const pod = await ctx.target.pod(podName);
  if (!pod || (uid && pod.metadata?.uid !== uid)) return 'gone';
  if (pod.spec?.ephemeralContainers?.some((e) => e.name === c.name)) return 'exists';
  const namespace = ctx.target.namespace;
  const op: K8sOp = { verb: 'patch', resource: 'pods/ephemeralcontainers', namespace, name: podName };
  const r = await kcallGone(op, () =>
    ctx.k8s.core.patchNamespacedPodEphemeralcontainers(
      { name: podName, namespace, body: { spec: { ephemeralContainers: [ephemeralBody(c)] } } },
      STRATEGIC_MERGE_PATCH,
    ),
  );
  ctx.heartbeat({ ephemeralContainer: c.name, pod: podName });
  return r ? 'added' : 'gone';
}

export function ephemeralStatus(pod: V1Pod, name: string): V1ContainerStatus | undefined {
  return pod.status?.ephemeralContainerStatuses?.find((s) => s.name === name);
}

export function describeState(s: V1ContainerStatus | undefined): string {
  if (!s) return 'no status reported';
  if (s.state?.terminated) return `terminated (exit ${s.state.terminated.exitCode}${s.state.terminated.reason ? `, ${s.state.terminated.reason}` : ''})`;
  if (s.state?.running) return 'running';
  if (s.state?.waiting) return `waiting (${s.state.waiting.reason ?? '?'})`;
  return 'unknown state';
}

/**
 * Constant shell text (busybox/iproute2 images) that signals every process carrying env TEMPEST_FAULT=<marker>
 * in the PID namespace it shares (TERM, then KILL), and exits 0 only when none is left. The marker comes from
 * the container's env TEMPEST_KILL, never from the script text.
 */
export const KILL_BY_MARKER_SCRIPT = [
  'set -f; sig=TERM; left=""',
  'for n in 1 2 3 4 5 6 7 8; do',
  '  left=""',
  '  for d in /proc/[0-9]*; do',
  '    p=${d#/proc/}; [ "$p" = "$$" ] && continue',
  `    if tr '\\0' '\\n' < "$d/environ" 2>/dev/null | grep -qxF "TEMPEST_FAULT=$TEMPEST_KILL"; then kill -$sig "$p" 2>/dev/null && left="$left $p"; fi`,
  '  done',
  '  if [ -z "$left" ]; then echo "no process with TEMPEST_FAULT=$TEMPEST_KILL left"; break; fi',
  '  echo "sent $sig to$left"; sleep 1; [ $n -ge 3 ] && sig=KILL',
  'done',
  '[ -z "$left" ]',
].join('\n');

// ------------------------------------------------------------------------------------------ exec

export interface ExecResult {
  /** null when the stream closed without a status (e.g. the container died under the command) */
  exitCode: number | null;
  stdout: string;
  stderr: string;
  /** Output went past the cap (MAX_EXEC_OUTPUT per stream): the exec was closed there. */
  truncated?: boolean;
}

/** At most this much of an exec's stdout (and of its stderr) is kept; past it the exec is closed. */
export const MAX_EXEC_OUTPUT = 1024 * 1024;

/** A stream that keeps at most MAX_EXEC_OUTPUT bytes and calls onOverflow (the exec is closed) past that. */
export function collector(onOverflow: () => void, cap = MAX_EXEC_OUTPUT): { stream: Writable; text: () => string; overflowed: () => boolean } {
  const chunks: Buffer[] = [];
  let size = 0;
  let over = false;
  const stream = new Writable({
    write(c: Buffer, _e, cb) {
      if (!over) {
        const b = Buffer.from(c);
        const room = cap - size;
        chunks.push(b.length > room ? b.subarray(0, room) : b);
        size += Math.min(b.length, room);
        if (b.length > room) {
          over = true;
          onOverflow();
        }
      }
      cb();
    },
  });
  return { stream, text: () => Buffer.concat(chunks).toString('utf8'), overflowed: () => over };
}

/**
 * Run a command in a container through pods/exec (WebSocket), with a timeout, heartbeating while it runs.
 * A non-zero exit is a result; a refusal (RBAC, no kubelet able to run it, pod gone) is a typed failure.
 */
export async function execIn(
  ctx: K8sFaultContext,
  pod: string,
  container: string,
  command: string[],
  timeoutMs = ctx.settings.execTimeoutMs,
): Promise<ExecResult> {
  const namespace = ctx.target.namespace;
  const op: K8sOp = { verb: 'create', resource: 'pods/exec', namespace, name: pod };
  let ws: Awaited<ReturnType<K8sClients['exec']['exec']>> | undefined;
  const overflow = () => ws?.close();
  const out = collector(overflow);
  const err = collector(overflow);
  let status: V1Status | undefined;
  try {
    ws = await ctx.k8s.exec.exec(namespace, pod, container, command, out.stream, err.stream, null, false, (s) => (status = s));
  } catch (e) {
    throw k8sFailure(e, op);
  }
  const socket = ws;
  await new Promise<void>((resolve, reject) => {
    const started = Date.now();
    const beat = setInterval(() => ctx.heartbeat({ exec: command.join(' ').slice(0, 80), pod, container, ms: Date.now() - started }), 5000);
    const done = (e?: Error) => {
      clearInterval(beat);
      clearTimeout(timer);
      ctx.signal.removeEventListener('abort', onAbort);
      if (e) reject(e);
      else resolve();
    };
    const timer = setTimeout(() => {
      socket.close();
      done(
        tempestError(
          'PlatformUnavailable',
          `exec in ${namespace}/${pod}/${container} did not finish within ${Math.round(timeoutMs / 1000)} s: ${command.join(' ').slice(0, 120)}`,
        ),
      );
    }, timeoutMs);
    const onAbort = () => {
      socket.close();
      done(tempestError('PlatformUnavailable', `exec in ${namespace}/${pod}/${container} abandoned: the activity was cancelled`));
    };
    ctx.signal.addEventListener('abort', onAbort);
    if (socket.readyState === socket.CLOSED) done();
    else socket.on('close', () => done());
    socket.on('error', (e: Error) => done(k8sFailure(e, op)));
  });
  const truncated = out.overflowed() || err.overflowed();
  if (truncated) return { exitCode: null, stdout: out.text(), stderr: err.text(), truncated };
  const st = status as (V1Status & { details?: { causes?: { reason?: string; message?: string }[] } }) | undefined;
  if (!st) return { exitCode: null, stdout: out.text(), stderr: err.text() };
  if (st.status === 'Success') return { exitCode: 0, stdout: out.text(), stderr: err.text() };
  if (st.reason === 'NonZeroExitCode') {
    const code = Number(st.details?.causes?.find((c) => c.reason === 'ExitCode')?.message);
    return { exitCode: Number.isFinite(code) ? code : 1, stdout: out.text(), stderr: err.text() };
  }
  const f = failureFromStatus({ code: st.code, reason: st.reason, message: st.message }, op, 'kubelet (through the API server)');
  throw tempestError(
    f.type as 'PlatformUnavailable',
    `exec in ${namespace}/${pod}/${container} could not run (${command.join(' ').slice(0, 200)}): ${st.code ?? ''} ${st.reason ?? ''}: ${st.message ?? ''}`,
    { status: st.code, reason: st.reason, verb: 'create', resource: 'pods/exec', namespace, name: pod },
  );
}

// ------------------------------------------------------------------------------------------ ephemeral faults

/** What a process/netem fault records per pod in `ledger.data.pods`. */
export interface EphemeralPodRecord {
  uid: string;
  /** the fault's ephemeral container */
  container: string;
  /** the container whose process (and, with targetContainerName, PID namespace) it joins */
  target: string;
  /** For the record only: what was run. A retry or revert recomputes it from the request and the policy. */
  image: string;
  command: string[];
  env?: Record<string, string>;
  /** undo ephemeral containers added by reverts, in order */
  undo: string[];
  /** how the last revert undid it: exec into the fault container, or an undo ephemeral container */
  undoMode?: 'exec' | 'ephemeral';
  /** what the exec revert saw after undoing (netem) */
  execObserved?: string;
  /** why exec was not used, when it was tried */
  execRefused?: string;
}

export interface EphemeralRecord {
  mode: 'ephemeral';
  pods: Record<string, EphemeralPodRecord>;
}

export const PROCESS_FAULT_RBAC = ['get/list pods', 'patch pods (ledger mark)', 'patch pods/ephemeralcontainers', 'get/list/patch the owner (ledger)'];

/**
 * One ephemeral-container fault. Its command is an argv of validated numbers (stress-ng) or a CONSTANT script
 * whose values arrive through the container's env: nothing from YAML is ever spliced into shell text.
 */
export interface EphemeralFaultShape {
  /** short name in container names: cpu, mem, gpu, netem */
  abbrev: string;
  what: (f: FaultSpec) => string;
  /** The helper image's role (the worker's images.<role>, or an allowed override). */
  role: ImageRole;
  command: (f: FaultSpec, seconds: number, limits: Limits) => string[];
  /** The fault container's env in one target pod, whose TARGET_CONTAINER (or first container) is `container`. */
  env?: (f: FaultSpec, seconds: number, pod: V1Pod, container: string) => Record<string, string>;
  capabilities?: string[];
  rbac: string[];
  check?: (f: FaultSpec, ctx: K8sFaultContext) => void;
  /** The node's namespaces a target pod must not share (refused at preflight and at inject). */
  hostNamespaces: readonly HostNamespaceField[];
  /** Refuse a target pod the fault cannot be honoured in (preflight: every candidate; inject: the live pods). */
  podCheck?: (f: FaultSpec, pod: V1Pod, container: string) => void;
}

/** Every refusal a target pod can earn, before anything is done to any of them. */
function checkTargetPods(shape: EphemeralFaultShape, fault: FaultSpec, pods: V1Pod[]): void {
  refuseHostNamespaces(fault, pods, shape.hostNamespaces);
  if (shape.podCheck) for (const p of pods) shape.podCheck(fault, p, targetContainerOf(p, fault));
}

/** The ledger's per-pod records (tenant-writable): objects only, and only ever a hint. */
function recordedPods(entry: LedgerEntry | undefined): Record<string, Record<string, unknown>> {
  const d = entry?.data;
  if (!isPlainObject(d) || d.mode !== 'ephemeral' || !isPlainObject(d.pods)) return {};
  const out: Record<string, Record<string, unknown>> = {};
  for (const [name, r] of Object.entries(d.pods)) if (isPlainObject(r)) out[name] = r;
  return out;
}

/** The fault container's name in every pod: derived from the run, never read from the target. */
const faultContainer = (abbrev: string, id: string) => `tempest-${abbrev}-${id}`;

/** n of an undo container `tempest-undo-<id>-<n>` of this fault, or NaN for any other name. */
function undoIndex(name: string, id: string): number {
  const prefix = `tempest-undo-${id}-`;
  return name.startsWith(prefix) && /^[1-9][0-9]{0,5}$/.test(name.slice(prefix.length)) ? Number(name.slice(prefix.length)) : NaN;
}

/** The undo containers of this fault the live pod has, in order. */
function liveUndo(pod: V1Pod, id: string): string[] {
  return (pod.spec?.ephemeralContainers ?? [])
    .map((e) => e.name)
    .filter((n) => !Number.isNaN(undoIndex(n, id)))
    .sort((x, y) => undoIndex(x, id) - undoIndex(y, id));
}

/** A record of what the live pod shows of this fault (the ledger contributes, for the record, why exec was refused). */
function liveRecord(pod: V1Pod, container: string, id: string, recorded: Record<string, unknown> | undefined): EphemeralPodRecord {
  const c = pod.spec?.ephemeralContainers?.find((e) => e.name === container);
  const uid = pod.metadata?.uid ?? '';
  const note = recorded?.uid === uid && typeof recorded?.execRefused === 'string' ? recorded.execRefused.slice(0, 600) : undefined;
  return {
    uid,
    container,
    target: c?.targetContainerName ?? '',
    image: c?.image ?? '',
    command: c?.command ?? [],
    env: c ? Object.fromEntries((c.env ?? []).map((e) => [e.name, e.value ?? ''])) : undefined,
    undo: liveUndo(pod, id),
    ...(note ? { execRefused: note } : {}),
  };
}

/**
 * The pods a revert (or verify) must look at, decided by the live pods the target selects: every one that carries
 * the fault container (its name derived from the run: it is this run's), plus, for the report, those the ledger
 * or a mark names. Each record is rebuilt from the live pod (uid, undo containers, what the fault container runs);
 * nothing the ledger says about a pod (its uid, undo mode, what exec saw, the undo list) decides anything. A pod
 * that left the selection is not touched (a mark or a ledger naming it is ignored).
 */
async function ephemeralPods(ctx: K8sFaultContext, ledger: K8sLedger, entry: LedgerEntry | undefined, abbrev: string, id: string): Promise<EphemeralRecord> {
  const recorded = recordedPods(entry);
  const named = new Set([...Object.keys(recorded), ...(entry?.rounds['0'] ?? [])]);
  const container = faultContainer(abbrev, id);
  const rec: EphemeralRecord = { mode: 'ephemeral', pods: {} };
  for (const pod of await ctx.target.pods()) {
    const name = pod.metadata?.name;
    if (!name) continue;
    const has = !!pod.spec?.ephemeralContainers?.some((e) => e.name === container);
    if (!has && !named.has(name) && !pod.metadata?.annotations?.[ledger.key]) continue;
    rec.pods[name] = liveRecord(pod, container, id, recorded[name]);
  }
  return rec;
}

/** Inject: the same for every ephemeral-container fault (one container per target pod, round 0 only). */
async function injectEphemeral(shape: EphemeralFaultShape, req: InjectRequest, ctx: K8sFaultContext, ledger: K8sLedger): Promise<K8sInjectResult> {
  const { id } = faultIds(req);
  const entry = await ledger.open(req);
  if (entry.done.includes(0)) return { affected: entry.rounds['0'] ?? [], detail: 'already injected', alreadyDone: true };
  const image = imageFor(ctx, req.fault, shape.role);
  const seconds = deadManSeconds(req);
  const container = faultContainer(shape.abbrev, id);
  const envFor = (p: V1Pod) => ({ TEMPEST_FAULT: id, ...shape.env?.(req.fault, seconds, p, targetContainerOf(p, req.fault)) });
  const command = shape.command(req.fault, seconds, ctx.policy.limits);
  const live = new Map((await ctx.target.runningPods()).map((p) => [p.metadata!.name!, p]));
  let names: string[];
  if (!entry.rounds['0']) {
    const chosen = selectPods([...live.values()], req.fault, ctx.policy.limits.maxTargetPods);
    checkTargetPods(shape, req.fault, chosen); // before the intent is written: nothing is done to any of them
    const rec: EphemeralRecord = { mode: 'ephemeral', pods: {} };
    for (const p of chosen) {
      rec.pods[p.metadata!.name!] = { uid: p.metadata!.uid!, container, target: targetContainerOf(p, req.fault), image, command, env: envFor(p), undo: [] };
    }
    entry.rounds['0'] = chosen.map((p) => p.metadata!.name!);
    entry.data = rec as unknown as Record<string, unknown>;
    await ledger.write(entry); // intent (pods, container names, what will run) before acting
    names = entry.rounds['0'];
  } else {
    names = roundTargets(req.fault, entry.rounds['0'], ctx);
  }
  const recorded = recordedPods(entry);
  const results: string[] = [];
  // A retried round acts on the pods it chose, if they are still running target pods (same uid, when the
  // entry recorded one); what runs is recomputed here, and every pod is checked again as it is now.
  const act: V1Pod[] = [];
  for (const name of names) {
    const pod = live.get(name);
    if (!pod) {
      results.push(`${name}: no longer a running target pod`);
      continue;
    }
    const uid = recorded[name]?.uid;
    if (typeof uid === 'string' && uid !== pod.metadata?.uid) {
      results.push(`${name}: replaced since the round chose it (not touched)`);
      continue;
    }
    act.push(pod);
  }
  checkTargetPods(shape, req.fault, act);
  await forEachTarget(act, req.fault.sequence, async (pod) => {
    const name = pod.metadata!.name!;
    await ledger.markPod(name, { run: req.runId, fault: req.fault.name, faultIndex: req.faultIndex, detail: container });
    const added = await addEphemeralContainer(
      ctx,
      name,
      { name: container, image, command, targetContainerName: targetContainerOf(pod, req.fault), env: envFor(pod), capabilities: shape.capabilities },
      pod.metadata!.uid!,
    );
    results.push(`${name}: ${added}`);
  });
  entry.done.push(0);
  await ledger.write(entry);
  return {
    affected: names,
    detail: `${shape.what(req.fault)}: ephemeral container ${container} (${image}) \`${command.join(' ').slice(0, 160)}\` in ${results.join(', ')}; expires on its own by ${req.expiresAt}`,
    alreadyDone: false,
  };
}

/**
 * Verification of an ephemeral-container fault: until every pod is clean (or the verify timeout), look at each
 * live pod with `check` (a pod gone, replaced, or never given the fault container counts as clean: the fault
 * went with it). `check` may throw NotYetClean when waiting will not help.
 */
async function verifyEphemeralPods(
  what: string,
  ctx: K8sFaultContext,
  id: string,
  rec: EphemeralRecord,
  check: (name: string, r: EphemeralPodRecord, pod: V1Pod) => { clean: boolean; observed: string },
): Promise<string> {
  if (!Object.keys(rec.pods).length) return 'nothing was injected';
  return waitClean(
    what,
    async () => {
      const seen: string[] = [];
      let clean = true;
      for (const [name, r] of Object.entries(rec.pods)) {
        const { pod, why } = await livePod(ctx, id, name, r);
        if (!pod) {
          seen.push(`${name}: ${why}`);
          continue;
        }
        const c = check(name, r, pod);
        clean &&= c.clean;
        seen.push(c.observed);
      }
      return { clean, observed: seen.join('; ') };
    },
    ctx,
    ctx.settings.verifyTimeoutMs,
    1000,
  );
}

/**
 * Per pod: the live pod, or why there is nothing left to do there. The record is refreshed from what the pod
 * shows now (its uid, its undo containers): a pod replaced under the same name is judged by what IT carries.
 */
async function livePod(ctx: K8sFaultContext, id: string, name: string, r: EphemeralPodRecord): Promise<{ pod?: V1Pod; why?: string }> {
  const pod = await ctx.target.pod(name);
  if (!pod) return { why: 'pod gone (the fault went with it)' };
  if (!ctx.target.selects(pod)) return { why: 'not a target pod (ignored)' };
  if (!pod.spec?.ephemeralContainers?.some((e) => e.name === r.container)) {
    return { why: pod.metadata?.uid !== r.uid ? 'pod replaced (the fault went with the old one)' : 'fault container was never added' };
  }
  r.uid = pod.metadata?.uid ?? '';
  r.undo = liveUndo(pod, id);
  return { pod };
}

function nextUndoName(id: string, r: EphemeralPodRecord): string {
  return `tempest-undo-${id}-${Math.max(0, ...r.undo.map((u) => undoIndex(u, id)).filter((n) => !Number.isNaN(n))) + 1}`;
}

/** Does the last undo container still need to be (re)done? (none yet, or it ended with a non-zero exit) */
function needsUndo(pod: V1Pod, r: EphemeralPodRecord): boolean {
  const last = r.undo[r.undo.length - 1];
  if (!last) return true;
  const s = ephemeralStatus(pod, last);
  return !!s?.state?.terminated && s.state.terminated.exitCode !== 0;
}

/** The container the undo joins: TARGET_CONTAINER (or the first) of the live pod, as the fault was given it. */
function undoTarget(pod: V1Pod, fault: FaultSpec): string {
  try {
    return targetContainerOf(pod, fault);
  } catch {
    return pod.spec?.containers?.[0]?.name ?? '';
  }
}

/**
 * Process faults (pod-cpu-hog, pod-memory-hog, gpu-memory-hog): the stressor runs in an ephemeral container
 * joined to the target container's process namespace; it expires on its own at the dead-man time.
 * Revert: an undo ephemeral container (images.tools) kills every process carrying the marker.
 * Verify: the API shows the stressor container terminated (on a node with no container runtime behind it,
 * e.g. kwok, the kubelet reports no ephemeral status at all: verified on the API content, and said so).
 */
export function ephemeralProcessFault(shape: EphemeralFaultShape): K8sFaultDriver {
  return {
    rbac: shape.rbac,
    async check(fault, ctx) {
      imageFor(ctx, fault, shape.role);
      imageFor(ctx, fault, 'tools');
      shape.check?.(fault, ctx);
      checkTargetPods(shape, fault, await candidatePods(fault, ctx));
    },
    inject: (req, ctx, ledger) => injectEphemeral(shape, req, ctx, ledger),

    async revert(ref, ctx, ledger) {
      const { id } = faultIds(ref);
      const entry = await ledger.read();
      const rec = await ephemeralPods(ctx, ledger, entry, shape.abbrev, id);
      const tools = imageFor(ctx, ref.fault, 'tools');
      const undone: string[] = [];
      for (const [name, r] of Object.entries(rec.pods)) {
        const { pod } = await livePod(ctx, id, name, r);
        if (!pod) continue;
        if (ephemeralStatus(pod, r.container)?.state?.terminated) continue; // already stopped
        if (!needsUndo(pod, r)) continue; // an undo container is on it
        const undo = nextUndoName(id, r);
        r.undo.push(undo);
        r.undoMode = 'ephemeral';
        if (entry) {
          entry.data = rec as unknown as Record<string, unknown>;
          await ledger.write(entry); // record the undo before adding it
        }
        await addEphemeralContainer(
          ctx,
          name,
          {
            name: undo,
            image: tools,
            command: ['sh', '-c', KILL_BY_MARKER_SCRIPT],
            targetContainerName: undoTarget(pod, ref.fault),
            env: { TEMPEST_UNDO: id, TEMPEST_KILL: id },
            capabilities: ['SYS_PTRACE'],
          },
          r.uid,
        );
        undone.push(`${name}: ${undo} kills TEMPEST_FAULT=${id}`);
      }
      return undone;
    },

    async verify(ref, ctx, ledger) {
      const { id } = faultIds(ref);
      const rec = await ephemeralPods(ctx, ledger, await ledger.read(), shape.abbrev, id);
      return ledger.note(
        await verifyEphemeralPods(`${ref.fault.name} stopped`, ctx, id, rec, (name, r, pod) => {
          const s = ephemeralStatus(pod, r.container);
          const undo = r.undo[r.undo.length - 1];
          const us = undo ? ephemeralStatus(pod, undo) : undefined;
          if (!s?.state?.terminated && us?.state?.terminated && us.state.terminated.exitCode !== 0) {
            throw tempestError(
              'NotYetClean',
              `${name}: undo ${undo} ended with exit ${us.state.terminated.exitCode} and ${r.container} is ${describeState(s)}`,
            );
          }
          if (s?.state?.terminated) return { clean: true, observed: `${name}: ${r.container} ${describeState(s)}` };
          if (!s && noRuntimeBehind(pod)) {
            return {
              clean: true,
              observed: `${name}: no container runtime behind this pod (kubelet reports no container ids, e.g. kwok): verified on API content only: ${r.container} is in the spec, undo ${undo ?? 'none'} added`,
            };
          }
          return {
            clean: false,
            observed: `${name}: ${r.container} ${describeState(s)}${undo ? `, undo ${undo} ${describeState(ephemeralStatus(pod, undo))}` : ''}`,
          };
        }),
      );
    },
  };
}

/** The interface tc works on (Litmus NETWORK_INTERFACE, default eth0), re-checked before it reaches a command. */
export function netInterface(fault: FaultSpec): string {
  const i = fault.params.networkInterface ?? 'eth0';
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,14}$/.test(i))
    throw tempestError('FaultRefused', `NETWORK_INTERFACE ${JSON.stringify(i.slice(0, 40))} is not an interface name`);
  return i;
}

/** Netem arguments from validated numbers only. */
function netemArgs(words: Array<string | number>): string {
  const text = words.map(String).join(' ');
  if (!/^[a-z]+( [0-9.]+(ms|%)?)+$/.test(text))
    throw tempestError('FaultRefused', `netem arguments ${JSON.stringify(text.slice(0, 80))} are not of the expected shape`);
  return text;
}

/** The netem holder: constant text; interface, netem arguments and the dead-man seconds come from its env. */
const NETEM_HOLD_SCRIPT = [
  'set -f',
  'tc qdisc replace dev "$TEMPEST_IF" root netem $TEMPEST_NETEM || exit 1',
  'echo $$ > /tmp/tempest-fault.pid',
  `trap 'tc qdisc del dev "$TEMPEST_IF" root 2>/dev/null; exit 0' TERM INT`,
  'sleep "$TEMPEST_SECONDS" & wait $!',
  'tc qdisc del dev "$TEMPEST_IF" root 2>/dev/null',
  'exit 0',
].join('; ');

/** Revert by exec into the holder: the interface is the script's $1. */
const NETEM_EXEC_UNDO =
  'tc qdisc del dev "$1" root 2>/dev/null; tc qdisc show dev "$1"; (sleep 1; kill $(cat /tmp/tempest-fault.pid) 2>/dev/null) >/dev/null 2>&1 &';

/** Revert by an undo container: delete the qdisc, stop the holder, exit 0 only if no netem is left. */
const NETEM_UNDO_SCRIPT = [
  'tc qdisc del dev "$TEMPEST_IF" root 2>/dev/null',
  KILL_BY_MARKER_SCRIPT.replace(/\n\[ -z "\$left" \]$/, ''),
  'out=$(tc qdisc show dev "$TEMPEST_IF"); echo "$out"',
  'if echo "$out" | grep -q netem; then exit 1; fi',
  'exit 0',
].join('\n');

/**
 * Netem faults (pod-network-latency, pod-network-loss). The fault container (images.netem, NET_ADMIN) runs
 *   tc qdisc replace dev IF root netem <args>; then holds it in a shell that deletes it on TERM or at the
 *   dead-man time (sleep <seconds>).
 * Revert, per pod: exec into the fault container (`tc qdisc del dev IF root; tc qdisc show dev IF`) while it runs
 * and no undo container has taken over, else an undo ephemeral container that deletes the qdisc, stops the
 * holder and exits 0 only if `tc qdisc show` has no netem. Which one ran is written to the ledger for the
 * record; verify believes only what it sees: what this worker's exec printed in this revert (ledger.seen), or
 * the undo container's status.
 * A pod with spec.hostNetwork is refused: its network is the node's.
 */
export function ephemeralNetemFault(opts: { abbrev: string; what: (f: FaultSpec) => string; netem: (f: FaultSpec) => Array<string | number> }): K8sFaultDriver {
  const shape: EphemeralFaultShape = {
    abbrev: opts.abbrev,
    what: opts.what,
    role: 'netem',
    capabilities: ['NET_ADMIN'],
    rbac: [
      'get/list pods',
      'patch pods (ledger mark)',
      'patch pods/ephemeralcontainers',
      'create pods/exec (revert, when the fault container still runs)',
      'get/list/patch the owner (ledger)',
    ],
    check: (f) => {
      netInterface(f);
      netemArgs(opts.netem(f));
    },
    command: () => ['sh', '-c', NETEM_HOLD_SCRIPT],
    env: (f, seconds) => ({ TEMPEST_IF: netInterface(f), TEMPEST_NETEM: netemArgs(opts.netem(f)), TEMPEST_SECONDS: String(seconds) }),
    hostNamespaces: ['hostNetwork'],
  };

  return {
    rbac: shape.rbac,
    async check(fault, ctx) {
      imageFor(ctx, fault, 'netem');
      shape.check?.(fault, ctx);
      checkTargetPods(shape, fault, await candidatePods(fault, ctx));
    },
    inject: (req, ctx, ledger) => injectEphemeral(shape, req, ctx, ledger),

    async revert(ref, ctx, ledger) {
      const { id } = faultIds(ref);
      const dev = netInterface(ref.fault);
      const entry = await ledger.read();
      const rec = await ephemeralPods(ctx, ledger, entry, shape.abbrev, id);
      const image = imageFor(ctx, ref.fault, 'netem');
      const save = async () => {
        if (!entry) return;
        entry.data = rec as unknown as Record<string, unknown>;
        await ledger.write(entry); // for the record: nothing reads undoMode / execObserved back
      };
      const undone: string[] = [];
      for (const [name, r] of Object.entries(rec.pods)) {
        const { pod } = await livePod(ctx, id, name, r);
        if (!pod) continue;
        const s = ephemeralStatus(pod, r.container);
        // 1. exec into the fault container while it runs (or while nobody reports that it does not), unless an
        //    undo container already took over (exec was refused, or did not get netem off, before)
        if (!s?.state?.terminated && !r.undo.length) {
          try {
            const x = await execIn(ctx, name, r.container, ['sh', '-c', NETEM_EXEC_UNDO, 'sh', dev]);
            r.undoMode = 'exec';
            r.execObserved = x.stdout.trim().slice(0, 2000) || '(no qdisc)';
            ledger.seen.set(r.uid, { execObserved: r.execObserved });
            await save();
            if (!/netem/.test(r.execObserved)) {
              undone.push(`${name}: tc qdisc del by exec in ${r.container}`);
              continue;
            }
          } catch (e) {
            r.execRefused = (e as Error).message.slice(0, 600);
          }
        }
        // 2. an undo ephemeral container
        ledger.seen.delete(r.uid);
        if (!needsUndo(pod, r)) continue;
        const undo = nextUndoName(id, r);
        r.undo.push(undo);
        r.undoMode = 'ephemeral';
        await save(); // record the undo before adding it
        await addEphemeralContainer(
          ctx,
          name,
          {
            name: undo,
            image,
            command: ['sh', '-c', NETEM_UNDO_SCRIPT],
            targetContainerName: undoTarget(pod, ref.fault),
            env: { TEMPEST_UNDO: id, TEMPEST_KILL: id, TEMPEST_IF: dev },
            capabilities: ['NET_ADMIN', 'SYS_PTRACE'],
          },
          r.uid,
        );
        undone.push(`${name}: ${undo} (tc qdisc del dev ${dev} root)`);
      }
      return undone;
    },

    async verify(ref, ctx, ledger) {
      const { id } = faultIds(ref);
      const rec = await ephemeralPods(ctx, ledger, await ledger.read(), shape.abbrev, id);
      return ledger.note(
        await verifyEphemeralPods(`${ref.fault.name} removed`, ctx, id, rec, (name, r, pod) => {
          const undo = r.undo[r.undo.length - 1];
          const exec = ledger.seen.get(r.uid)?.execObserved;
          if (!undo && exec !== undefined) {
            return { clean: !/netem/.test(exec), observed: `${name}: exec in ${r.container}: tc qdisc show -> ${exec.replace(/\s+/g, ' ').slice(0, 120)}` };
          }
          const us = undo ? ephemeralStatus(pod, undo) : undefined;
          if (us?.state?.terminated && us.state.terminated.exitCode !== 0) {
            // waiting will not help: the next revert attempt adds another undo container
            throw tempestError(
              'NotYetClean',
              `${name}: undo ${undo} ended with exit ${us.state.terminated.exitCode}: netem may still be on ${netInterface(ref.fault)}`,
            );
          }
          if (us?.state?.terminated?.exitCode === 0)
            return { clean: true, observed: `${name}: ${undo} terminated (exit 0: no netem on ${netInterface(ref.fault)})` };
          if (!us && undo && noRuntimeBehind(pod)) {
            return {
              clean: true,
              observed: `${name}: no container runtime behind this pod (kubelet reports no container ids, e.g. kwok): verified on API content only: undo ${undo} added${r.execRefused ? ` after exec was refused (${String(r.execRefused).slice(0, 100)})` : ''}`,
            };
          }
          return { clean: false, observed: `${name}: ${undo ? `undo ${undo} ${describeState(us)}` : 'not undone yet'}` };
        }),
      );
    },
  };
}
