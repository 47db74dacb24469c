/**
 * The Kubernetes platform: targets are the engine's appinfo on a real cluster (pods by label in appns, their
 * owner of kind appkind), faults are the drivers in activities/faults/<fault>/kubernetes.ts, the fault ledger
 * is an annotation `tempest.io/fault.<run>.<index>` on the owner (and a mark on every pod a fault touched).
 * Loaded lazily by platformFromConfig (activities/index.ts) when `platform.driver: kubernetes`.
 *
 * Which cluster: platform.kubernetes.kubeconfig (+ context), else KUBECONFIG, else ~/.kube/config, else the
 * in-cluster service account (see platform/k8s/client.ts). Nothing talks to the cluster until an activity runs.
 */
import { KubeConfig, type V1Pod } from '@kubernetes/client-node';
import type { ExperimentSpec, FaultName, TargetSpec } from '../../config/spec.js';
import type { TempestConfig } from '../../config/tempest-config.js';
import type { FaultRef, InjectRequest, PreflightResult, RevertResult } from '../types.js';
import type { ActivityCtx, LedgerFinding, Platform, RevertOptions } from './types.js';
import { LEDGER_PREFIX, ledgerFinding } from '../faults/driver.js';
import { failpoint } from '../failpoints.js';
import {
  impersonatedUser,
  impersonationRefusal,
  labelsInScope,
  namespaceRefusal,
  namespaceScope,
  scopeText,
  selectorInScope,
  withWorkerNamespace,
  workerNamespaceRefusal,
  type Policy,
} from '../../config/policy.js';
import { isDnsLabel, isDnsSubdomain, parseLabelSelector } from '../../config/selector.js';
import { tempestError } from '../errors.js';
import type { ExecInPod } from '../probes/types.js';
import { resolveWorkerNamespace } from '../probes/index.js';
import { execIn } from '../faults/kubernetes-common.js';
import { MERGE_PATCH, kcall, kcallGone, loadKubeConfig, makeClients, type K8sClients } from './k8s/client.js';
import { K8sTarget, isReady, isRunning } from './k8s/target.js';
import { DEFAULT_SETTINGS, K8sLedger, faultIds, type K8sFaultContext, type K8sFaultDriver, type K8sSettings } from '../faults/kubernetes-common.js';
import { podDeleteKubernetes } from '../faults/pod-delete/kubernetes.js';
import { containerKillKubernetes } from '../faults/container-kill/kubernetes.js';
import { podCpuHogKubernetes } from '../faults/pod-cpu-hog/kubernetes.js';
import { podMemoryHogKubernetes } from '../faults/pod-memory-hog/kubernetes.js';
import { podNetworkLatencyKubernetes } from '../faults/pod-network-latency/kubernetes.js';
import { podNetworkLossKubernetes } from '../faults/pod-network-loss/kubernetes.js';
import { gpuMemoryHogKubernetes } from '../faults/gpu-memory-hog/kubernetes.js';
import { modelCorruptionKubernetes } from '../faults/model-corruption/kubernetes.js';

export const K8S_FAULTS: Record<FaultName, K8sFaultDriver> = {
  'pod-delete': podDeleteKubernetes,
  'container-kill': containerKillKubernetes,
  'pod-cpu-hog': podCpuHogKubernetes,
  'pod-memory-hog': podMemoryHogKubernetes,
  'pod-network-latency': podNetworkLatencyKubernetes,
  'pod-network-loss': podNetworkLossKubernetes,
  'gpu-memory-hog': gpuMemoryHogKubernetes,
  'model-corruption': modelCorruptionKubernetes,
};

/** The target workload as rollback actions see it (structurally Platform's optional WorkloadState). */
export interface K8sWorkloadState {
  desired: number;
  ready: number;
  pods: Array<{ name: string; ready: boolean; restarts: number }>;
}

export interface KubernetesPlatform extends Platform {
  readonly clients: K8sClients;
  readonly settings: K8sSettings;
  /** The worker's policy the drivers act under. */
  readonly policy: Policy;
  /** Rollback actions: the owner's desired/ready replicas and its live pods. */
  workload(target: TargetSpec): Promise<K8sWorkloadState>;
  /** Rollback actions: set the owner's replicas through its scale subresource (not for DaemonSets). */
  scale(target: TargetSpec, replicas: number): Promise<void>;
  /** Rollback actions: delete one pod of the target (its owner recreates it). A pod already gone is fine. */
  restartPod(target: TargetSpec, pod: string): Promise<void>;
  /** cmdProbe with a `source`: run the command in that pod (`/bin/sh -c`), through pods/exec. */
  execInPod: ExecInPod;
  /** k8sProbe as a run's chaosServiceAccount: the KubeConfig impersonating it (only a listed one). */
  kcAs(user: string): KubeConfig;
}

export interface KubernetesPlatformOptions {
  /**
   * The namespace this worker runs in. Nothing (fault, rollback action, cmdProbe source) may target it unless
   * blastRadius.allow lists it by its exact name; `*` never includes it. undefined: found from POD_NAMESPACE or the
   * service account's namespace file (detectWorkerNamespace); null: none.
   */
  workerNamespace?: string | null;
}

export function createKubernetesPlatform(config: TempestConfig, over: Partial<K8sSettings> = {}, opts: KubernetesPlatformOptions = {}): KubernetesPlatform {
  const { kc, source } = loadKubeConfig(config);
  const clients = makeClients(kc, source);
  const baseClients = clients;
  const settings: K8sSettings = { ...DEFAULT_SETTINGS, ...over };
  const workerNamespace = resolveWorkerNamespace(opts.workerNamespace);
  /** The worker's policy with its own namespace protected. */
  const policy: Policy = withWorkerNamespace(config.policy, workerNamespace);
  if (workerNamespace && config.policy.blastRadius.allow.some((a) => a.namespace === workerNamespace)) {
    console.warn(
      `tempest: blastRadius.allow of ${config.policy.source} lists ${workerNamespace}, the namespace this worker runs in: experiments and probes may target the worker itself (run the worker in a namespace of its own, e.g. tempest-system; see docs/kubernetes.md)`,
    );
  }
  /** Refuse anything aimed at the worker's own namespace (what the policy's `*` would otherwise let through). */
  const notOwn = (namespace: unknown, what: string): void => {
    const why = typeof namespace === 'string' ? workerNamespaceRefusal(policy, namespace) : null;
    if (why) throw tempestError('FaultRefused', `${what} refused by the worker's policy: ${why}`);
  };

  const driverFor = (name: FaultName): K8sFaultDriver => {
    const d = K8S_FAULTS[name];
    if (!d) throw tempestError('UnsupportedFault', `${name} has no kubernetes driver`);
    return d;
  };
  /**
   * Whose permissions a call is made with. `run` (preflight, prepare, inject: what a run does to its target): the
   * engine's chaosServiceAccount when the policy impersonates (re-checked here: a crafted request never went
   * through the loader), else the worker. `worker` (reverts and their verification, the reconciler, rollback
   * actions, probes): always the worker's own identity — undoing a fault never depends on a tenant's RBAC.
   */
  const impersonated = new Map<string, K8sClients>();
  const clientsFor = (target: TargetSpec | undefined, as: 'run' | 'worker', what: string): K8sClients => {
    if (as === 'worker' || !policy.impersonation || policy.impersonation.mode === 'off') return clients;
    const t = {
      namespace: String(target?.namespace ?? ''),
      serviceAccount: typeof target?.serviceAccount === 'string' ? target.serviceAccount : undefined,
      serviceAccountNamespace: typeof target?.serviceAccountNamespace === 'string' ? target.serviceAccountNamespace : undefined,
    };
    const why = impersonationRefusal(policy, t);
    if (why) throw tempestError('FaultRefused', `${what} refused by the worker's policy: ${why}`);
    return clientsAs(impersonatedUser(policy, t)!);
  };
  /** Whether `user` is one of the accounts the policy lists (system:serviceaccount:<ns>:<name>). */
  const listedUser = (user: string) => !!policy.impersonation?.serviceAccounts.some((a) => `system:serviceaccount:${a.namespace}:${a.name}` === user);
  /** Clients impersonating `user` (cached per user). */
  const clientsAs = (user: string): K8sClients => {
    let c = impersonated.get(user);
    if (!c) {
      c = makeClients(impersonating(kc, user), `${source} as ${user}`);
      impersonated.set(user, c);
    }
    return c;
  };
  const context = (target: TargetSpec, ctx: ActivityCtx, as: 'run' | 'worker' = 'worker', what = 'run'): K8sFaultContext => ({
    k8s: clientsFor(target, as, what),
    worker: clients,
    target: new K8sTarget(clientsFor(target, as, what), target),
    heartbeat: ctx.heartbeat,
    signal: ctx.signal,
    settings,
    policy,
  });
  const noCtx: ActivityCtx = { heartbeat: () => undefined, signal: new AbortController().signal };

  /**
   * cmdProbe `source`: only a pod of an allowed namespace, found by name or selector (re-checked here: a crafted
   * request never went through the loader). In a namespace the blast radius restricts to label selectors, a source
   * selector must be contained in an allowed one, and the pod's LIVE labels (read now, just before the exec) must
   * fall inside them — whether it was named or selected.
   */
  const execInPod: ExecInPod = async ({ source, command, signal, timeoutMs, asUser }) => {
    // The probe activity chose the identity (identityFor: the run's account, checked against the policy); only a
    // user the policy lists can be asked for here.
    if (asUser !== undefined && !listedUser(asUser)) throw tempestError('FaultRefused', `cmdProbe source: ${asUser} is not an account the worker may act as`);
    const clients = asUser ? clientsAs(asUser) : baseClients;
    const namespace = source.namespace;
    if (!namespace || !isDnsLabel(namespace)) throw tempestError('FaultRefused', 'cmdProbe source needs a namespace');
    notOwn(namespace, 'cmdProbe source');
    const outside = namespaceRefusal(policy, namespace);
    if (outside) throw tempestError('FaultRefused', `cmdProbe source: ${outside}`);
    const scope = namespaceScope(policy, namespace);
    const only = () => `blastRadius.allow of ${policy.source} allows in ${namespace} only ${scopeText(scope)}`;
    let pod = source.pod;
    if (pod !== undefined && !isDnsSubdomain(pod)) throw tempestError('FaultRefused', 'cmdProbe source: pod must be a pod name');
    if (source.container !== undefined && !isDnsLabel(source.container))
      throw tempestError('FaultRefused', 'cmdProbe source: container must be a container name');
    let live: V1Pod | undefined;
    if (!pod) {
      const sel = parseLabelSelector(source.labelSelector ?? '');
      if (!sel.ok || !sel.value.requirements.length) throw tempestError('FaultRefused', 'cmdProbe source: needs pod or a non-empty labelSelector');
      if (!selectorInScope(scope, sel.value))
        throw tempestError('FaultRefused', `cmdProbe source: labelSelector ${sel.value.text} selects pods outside the blast radius (${only()})`);
      const list = await kcall({ verb: 'list', resource: 'pods', namespace }, () =>
        clients.core.listNamespacedPod({ namespace, labelSelector: sel.value.text }),
      );
      live = list.items.find((p) => isRunning(p) && labelsInScope(scope, p.metadata?.labels));
      pod = live?.metadata?.name;
      if (!pod) throw tempestError('TargetNotFound', `cmdProbe source: no running pod in ${namespace} matches ${sel.value.text}`);
    } else {
      // Always read: the labels (where the namespace is restricted) and the pod's own containers.
      const name = pod;
      live = await kcall({ verb: 'get', resource: 'pods', namespace, name }, () => clients.core.readNamespacedPod({ name, namespace }));
      if (!labelsInScope(scope, live.metadata?.labels)) {
        const labels = Object.entries(live.metadata?.labels ?? {})
          .map(([k, v]) => `${k}=${v}`)
          .sort()
          .join(',');
        throw tempestError(
          'FaultRefused',
          `cmdProbe source: pod ${namespace}/${name} (labels: ${labels.slice(0, 300) || 'none'}) is outside the blast radius (${only()})`,
        );
      }
    }
    // Only one of the pod's own containers (spec.containers): never an ephemeral container (Tempest's netem and
    // undo containers hold NET_ADMIN / SYS_PTRACE and the target's PID namespace while a fault runs) nor an init one.
    const own = (live?.spec?.containers ?? []).map((c) => c.name);
    const container = source.container ?? own[0] ?? '';
    if (!own.includes(container)) {
      throw tempestError(
        'FaultRefused',
        `cmdProbe source: ${container ? `container ${container}` : 'no container'} is not one of pod ${namespace}/${pod}'s own containers (${own.join(', ') || 'none'}): a cmdProbe runs only in the pod's spec.containers, never in an ephemeral or init container`,
      );
    }
    const ctx = { k8s: clients, target: { namespace } as K8sTarget, heartbeat: () => undefined, signal, settings, policy } as unknown as K8sFaultContext;
    const r = await execIn(ctx, pod, container, ['/bin/sh', '-c', command], timeoutMs);
    return { stdout: r.stdout, stderr: r.stderr, exitCode: r.exitCode ?? undefined };
  };

  return {
    execInPod,
    /** For k8sProbes: the KubeConfig impersonating a listed account (the probe activity checked which). */
    kcAs: (user: string) => {
      if (!listedUser(user)) throw tempestError('FaultRefused', `k8sProbe: ${user} is not an account the worker may act as`);
      return clientsAs(user).kc;
    },
    name: 'kubernetes',
    clients,
    settings,
    policy,

    async preflight(spec: ExperimentSpec): Promise<PreflightResult> {
      notOwn(spec?.target?.namespace, `run on ${String(spec?.target?.namespace).slice(0, 63)}`);
      for (const f of spec.faults) driverFor(f.name);
      const c = context(spec.target, noCtx, 'run', `run on ${spec.target.namespace}`);
      await c.target.requireOwners();
      const pods = await c.target.runningPods();
      if (!pods.length) throw tempestError('TargetNotFound', `no running pod in namespace ${spec.target.namespace} matches ${spec.target.labelSelector}`);
      for (const f of spec.faults) await driverFor(f.name).check?.(f, c);
      return { platform: 'kubernetes', targets: pods.map((p) => p.metadata!.name!) };
    },

    async prepare(ref: FaultRef, ctx: ActivityCtx) {
      notOwn(ref?.target?.namespace, `${String(ref?.fault?.name).slice(0, 40)} on ${String(ref?.target?.namespace).slice(0, 63)}`);
      const d = driverFor(ref.fault.name);
      if (!d.prepare) throw tempestError('UnsupportedFault', `${ref.fault.name} has no prepare step on the kubernetes platform`);
      return d.prepare(ref, context(ref.target, ctx, 'run', ref.fault.name));
    },

    async inject(req: InjectRequest, ctx: ActivityCtx) {
      notOwn(req?.target?.namespace, `${String(req?.fault?.name).slice(0, 40)} on ${String(req?.target?.namespace).slice(0, 63)}`);
      const c = context(req.target, ctx, 'run', req.fault.name);
      return driverFor(req.fault.name).inject(req, c, new K8sLedger(c.target, faultIds(req).key, true));
    },

    async workload(target: TargetSpec): Promise<K8sWorkloadState> {
      notOwn(target?.namespace, 'rollback action');
      const t = new K8sTarget(clients, target);
      const owners = await t.requireOwners();
      const pods = (await t.pods()).filter(isRunning);
      return {
        desired: owners.reduce((n, o) => n + o.desired, 0),
        ready: owners.reduce((n, o) => n + o.ready, 0),
        pods: pods.map((p) => ({
          name: p.metadata!.name!,
          ready: isReady(p),
          restarts: (p.status?.containerStatuses ?? []).reduce((n, c) => n + (c.restartCount ?? 0), 0),
        })),
      };
    },

    async scale(target: TargetSpec, replicas: number): Promise<void> {
      notOwn(target?.namespace, 'scale');
      const t = new K8sTarget(clients, target);
      const owners = await t.requireOwners();
      if (owners.length !== 1)
        throw tempestError(
          'FaultRefused',
          `scale: ${target.labelSelector} matches ${owners.length} ${target.kind}s (${owners.map((o) => o.name).join(', ')}); refusing to guess which one`,
        );
      const [o] = owners;
      const namespace = target.namespace;
      const body = { spec: { replicas } };
      const a = clients.apps;
      switch (o.kind) {
        case 'Deployment':
          await kcall({ verb: 'patch', resource: 'deployments/scale', namespace, name: o.name }, () =>
            a.patchNamespacedDeploymentScale({ name: o.name, namespace, body }, MERGE_PATCH),
          );
          return;
        case 'StatefulSet':
          await kcall({ verb: 'patch', resource: 'statefulsets/scale', namespace, name: o.name }, () =>
            a.patchNamespacedStatefulSetScale({ name: o.name, namespace, body }, MERGE_PATCH),
          );
          return;
        case 'ReplicaSet':
          await kcall({ verb: 'patch', resource: 'replicasets/scale', namespace, name: o.name }, () =>
            a.patchNamespacedReplicaSetScale({ name: o.name, namespace, body }, MERGE_PATCH),
          );
          return;
        case 'DaemonSet':
          throw tempestError('UnsupportedFault', `scale: daemonset/${o.name} has one pod per node and no replicas to scale`);
      }
    },

    async restartPod(target: TargetSpec, pod: string): Promise<void> {
      notOwn(target?.namespace, 'restartPod');
      const namespace = target.namespace;
      const t = new K8sTarget(clients, target);
      if (!(await t.pods()).some((p) => p.metadata?.name === pod)) {
        if (await t.pod(pod))
          throw tempestError('FaultRefused', `restartPod: ${namespace}/${pod} does not match ${target.labelSelector}; refusing to touch it`);
        return; // gone already
      }
      await kcallGone({ verb: 'delete', resource: 'pods', namespace, name: pod }, () => clients.core.deleteNamespacedPod({ name: pod, namespace }));
    },

    /**
     * Ledger entries on the workloads (Deployments, StatefulSets, DaemonSets, ReplicaSets) and the marks on pods, in
     * every namespace the blast radius names exactly (a `*` entry cannot be listed without cluster-wide rights the
     * worker does not have; the worker's own namespace is never looked at).
     */
    async listLedger(filter = {}): Promise<LedgerFinding[]> {
      const namespaces = [...new Set(policy.blastRadius.allow.map((a) => a.namespace))].filter(
        (n) => n !== '*' && !workerNamespaceRefusal(policy, n) && (!filter.namespace || n === filter.namespace),
      );
      const out = new Map<string, LedgerFinding>();
      const keyOf = (r: Pick<FaultRef, 'runId' | 'faultIndex'>) => faultIds(r).key;
      const selectorText = (m: Record<string, string> | undefined) =>
        Object.entries(m ?? {})
          .map(([k, v]) => `${k}=${v}`)
          .join(',');
      for (const namespace of namespaces) {
        type Listed = {
          items: Array<{ metadata?: { name?: string; annotations?: Record<string, string> }; spec?: { selector?: { matchLabels?: Record<string, string> } } }>;
        };
        const kinds: Array<readonly ['deployment' | 'statefulset' | 'daemonset' | 'replicaset', () => Promise<Listed>, string]> = [
          ['deployment', () => clients.apps.listNamespacedDeployment({ namespace }), 'deployments'],
          ['statefulset', () => clients.apps.listNamespacedStatefulSet({ namespace }), 'statefulsets'],
          ['daemonset', () => clients.apps.listNamespacedDaemonSet({ namespace }), 'daemonsets'],
          ['replicaset', () => clients.apps.listNamespacedReplicaSet({ namespace }), 'replicasets'],
        ];
        for (const [kind, list, resource] of kinds) {
          const items = (await kcall({ verb: 'list', resource, namespace }, list)).items;
          for (const o of items) {
            for (const [key, raw] of Object.entries(o.metadata?.annotations ?? {})) {
              if (!key.startsWith(LEDGER_PREFIX) || out.has(key)) continue;
              const target = { namespace, labelSelector: selectorText(o.spec?.selector?.matchLabels), kind };
              out.set(key, ledgerFinding(key, raw, target, `${kind} ${namespace}/${o.metadata?.name}`, keyOf));
            }
          }
        }
        // Pod marks (the same key on every pod a fault touched): found even when the owner's entry is gone.
        const pods = (await kcall({ verb: 'list', resource: 'pods', namespace }, () => clients.core.listNamespacedPod({ namespace }))).items;
        for (const p of pods) {
          for (const [key, raw] of Object.entries(p.metadata?.annotations ?? {})) {
            if (!key.startsWith(LEDGER_PREFIX) || out.has(key)) continue;
            const target = { namespace, labelSelector: selectorText(p.metadata?.labels), kind: 'pod' as const };
            out.set(key, { ...ledgerFinding(key, raw, target, `pod ${namespace}/${p.metadata?.name}`, keyOf), expiresAt: '' });
          }
        }
      }
      return [...out.values()];
    },

    async revert(ref: FaultRef, ctx: ActivityCtx, opts: RevertOptions = {}): Promise<RevertResult> {
      const c = context(ref.target, ctx, 'worker');
      const ledger = new K8sLedger(c.target, faultIds(ref).key);
      // The worker's own namespace is outside the radius: nothing was injected there, so only a ledger is undone.
      const ledgerOnly = opts.ledgerOnly || !!workerNamespaceRefusal(policy, ref.target.namespace);
      if (ledgerOnly && !(await ledger.presentOn()).length) {
        return {
          undone: [],
          verification: 'target is outside the blast radius now and holds no ledger entry of this run: nothing touched',
          at: new Date().toISOString(),
        };
      }
      const driver = driverFor(ref.fault.name);
      const undone = await driver.revert(ref, c, ledger);
      ctx.heartbeat({ undone });
      failpoint('revert.acted');
      const verification = await driver.verify(ref, c, ledger);
      await ledger.clear();
      const left = await ledger.presentOn();
      if (left.length) throw tempestError('NotYetClean', `ledger ${ledger.key} is still present on ${left.join(', ')} after clearing`);
      return { undone, verification: `${verification}; ledger clean`, at: new Date().toISOString() };
    },
  };
}

/** A copy of `kc` whose current user sends Impersonate-User: `user` (the API server authorizes the worker to impersonate it). */
function impersonating(kc: KubeConfig, user: string): KubeConfig {
  const current = kc.getCurrentUser()?.name;
  const copy = new KubeConfig();
  copy.loadFromOptions({
    clusters: kc.clusters,
    contexts: kc.contexts,
    currentContext: kc.currentContext,
    users: kc.users.map((u) => (u.name === current ? { ...u, impersonateUser: user } : u)),
  });
  return copy;
}
