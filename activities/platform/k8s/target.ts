/**
 * An engine's appinfo on a real cluster: the pods that match `applabel` in `appns`, and their owner of kind
 * `appkind` (Deployment, StatefulSet, DaemonSet, ReplicaSet). The owner carries the fault ledger and says
 * when the workload is whole again (ready replicas == desired replicas).
 */
import type { V1Pod } from '@kubernetes/client-node';
import type { TargetSpec } from '../../../config/spec.js';
import { tempestError } from '../../errors.js';
import { MERGE_PATCH, kcall, kcallGone, type K8sClients } from './client.js';
import { matchesLabels, parseLabelSelector, type LabelSelector } from '../../../config/selector.js';

export type OwnerKind = 'Deployment' | 'StatefulSet' | 'DaemonSet' | 'ReplicaSet';

export const OWNER_KIND: Partial<Record<TargetSpec['kind'], OwnerKind>> = {
  deployment: 'Deployment',
  statefulset: 'StatefulSet',
  daemonset: 'DaemonSet',
  replicaset: 'ReplicaSet',
};

const PLURAL: Record<OwnerKind, string> = { Deployment: 'deployments', StatefulSet: 'statefulsets', DaemonSet: 'daemonsets', ReplicaSet: 'replicasets' };

export interface OwnerState {
  kind: OwnerKind;
  name: string;
  uid: string;
  desired: number;
  ready: number;
  /** the controller has seen the latest spec */
  observed: boolean;
  annotations: Record<string, string>;
}

interface OwnerObject {
  metadata?: {
    name?: string;
    uid?: string;
    generation?: number;
    annotations?: Record<string, string>;
    labels?: Record<string, string>;
    ownerReferences?: { kind: string; name: string; controller?: boolean }[];
  };
  spec?: { replicas?: number; template?: { metadata?: { labels?: Record<string, string> } } };
  status?: { readyReplicas?: number; observedGeneration?: number; desiredNumberScheduled?: number; numberReady?: number };
}

/** Running and not being deleted. */
export function isRunning(p: V1Pod): boolean {
  return p.status?.phase === 'Running' && !p.metadata?.deletionTimestamp;
}

export function isReady(p: V1Pod): boolean {
  return isRunning(p) && !!p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
}

/**
 * A pod with running containers but no container ids has no container runtime behind it: a fake (kwok) node.
 * A real kubelet always reports the containerID of a running container. Drivers use this to say honestly
 * that a process-level effect could only be checked on what the API shows.
 */
export function noRuntimeBehind(p: V1Pod): boolean {
  const cs = p.status?.containerStatuses ?? [];
  return isRunning(p) && cs.length > 0 && cs.every((c) => !!c.state?.running && !c.containerID);
}

export class K8sTarget {
  readonly ownerKind: OwnerKind;
  private readonly selector: LabelSelector;

  constructor(
    readonly k8s: K8sClients,
    readonly spec: TargetSpec,
  ) {
    const sel = parseLabelSelector(spec.labelSelector);
    if (!sel.ok || !sel.value.requirements.length)
      throw tempestError('FaultRefused', `target selector ${JSON.stringify(spec.labelSelector.slice(0, 120))} is not a non-empty label selector`);
    this.selector = sel.value;
    const kind = OWNER_KIND[spec.kind];
    if (!kind) {
      throw tempestError(
        'UnsupportedFault',
        `appkind ${spec.kind} is not supported on the kubernetes platform: a bare pod has no owner to recreate it or to carry the fault ledger (use deployment, statefulset, daemonset or replicaset)`,
      );
    }
    this.ownerKind = kind;
  }

  get namespace(): string {
    return this.spec.namespace;
  }

  /** Does the target select this pod (its namespace and labels)? Anything a ledger or a mark names must pass this. */
  selects(pod: V1Pod): boolean {
    return pod.metadata?.namespace === this.namespace && matchesLabels(this.selector, pod.metadata?.labels ?? {});
  }

  /** Every pod matching the label selector (whatever its phase). */
  async pods(): Promise<V1Pod[]> {
    const { namespace } = this.spec;
    const list = await kcall({ verb: 'list', resource: 'pods', namespace }, () =>
      this.k8s.core.listNamespacedPod({ namespace, labelSelector: this.selector.text }),
    );
    return list.items;
  }

  async runningPods(): Promise<V1Pod[]> {
    return (await this.pods()).filter(isRunning);
  }

  /** One pod, or undefined if it is gone. */
  async pod(name: string): Promise<V1Pod | undefined> {
    return kcallGone({ verb: 'get', resource: 'pods', namespace: this.namespace, name }, () =>
      this.k8s.core.readNamespacedPod({ name, namespace: this.namespace }),
    );
  }

  async annotatePod(name: string, annotations: Record<string, string | null>): Promise<boolean> {
    const r = await kcallGone({ verb: 'patch', resource: 'pods', namespace: this.namespace, name }, () =>
      this.k8s.core.patchNamespacedPod({ name, namespace: this.namespace, body: { metadata: { annotations } } }, MERGE_PATCH),
    );
    return r !== undefined;
  }

  private async readOwner(kind: OwnerKind, name: string): Promise<OwnerObject | undefined> {
    const namespace = this.namespace;
    const op = { verb: 'get', resource: PLURAL[kind], namespace, name };
    const a = this.k8s.apps;
    switch (kind) {
      case 'Deployment':
        return kcallGone(op, () => a.readNamespacedDeployment({ name, namespace }));
      case 'StatefulSet':
        return kcallGone(op, () => a.readNamespacedStatefulSet({ name, namespace }));
      case 'DaemonSet':
        return kcallGone(op, async () => (await a.readNamespacedDaemonSet({ name, namespace })) as OwnerObject);
      case 'ReplicaSet':
        return kcallGone(op, () => a.readNamespacedReplicaSet({ name, namespace }));
    }
  }

  private async listOwners(kind: OwnerKind): Promise<OwnerObject[]> {
    const { namespace } = this.spec;
    const labelSelector = this.selector.text;
    const op = { verb: 'list', resource: PLURAL[kind], namespace };
    const a = this.k8s.apps;
    switch (kind) {
      case 'Deployment':
        return (await kcall(op, () => a.listNamespacedDeployment({ namespace, labelSelector }))).items;
      case 'StatefulSet':
        return (await kcall(op, () => a.listNamespacedStatefulSet({ namespace, labelSelector }))).items;
      case 'DaemonSet':
        return (await kcall(op, () => a.listNamespacedDaemonSet({ namespace, labelSelector }))).items as OwnerObject[];
      case 'ReplicaSet':
        return (await kcall(op, () => a.listNamespacedReplicaSet({ namespace, labelSelector }))).items;
    }
  }

  /** The owner of kind `appkind` of one pod, following pod -> ReplicaSet -> Deployment. */
  private async ownerNameOf(pod: V1Pod, rsCache: Map<string, string | undefined>): Promise<string | undefined> {
    const ref = pod.metadata?.ownerReferences?.find((r) => r.controller) ?? pod.metadata?.ownerReferences?.[0];
    if (!ref) return undefined;
    if (ref.kind === this.ownerKind) return ref.name;
    if (this.ownerKind === 'Deployment' && ref.kind === 'ReplicaSet') {
      if (!rsCache.has(ref.name)) {
        const rs = await this.readOwner('ReplicaSet', ref.name);
        const dep = rs?.metadata?.ownerReferences?.find((r) => r.kind === 'Deployment');
        rsCache.set(ref.name, dep?.name);
      }
      return rsCache.get(ref.name);
    }
    return undefined;
  }

  /**
   * The owners of the target: objects of `appkind` whose own labels AND pod-template labels match the
   * selector (their pods are the target's pods: a Deployment labelled `app=web` whose pods are `app=db`
   * is not the target, and scaling or annotating it would reach outside the selector), plus the owners of
   * every matching pod, with the same template check. Empty if none (the caller decides whether that is an error).
   */
  async owners(): Promise<OwnerState[]> {
    const byName = new Map<string, OwnerObject>();
    for (const o of await this.listOwners(this.ownerKind)) {
      if (o.metadata?.name && matchesLabels(this.selector, o.spec?.template?.metadata?.labels ?? {})) byName.set(o.metadata.name, o);
    }
    const rsCache = new Map<string, string | undefined>();
    for (const p of await this.pods()) {
      const name = await this.ownerNameOf(p, rsCache);
      if (name && !byName.has(name)) {
        // An ownerReference is the pod's own claim (a tenant can write any): the owner counts only if ITS pods
        // are the target's pods.
        const o = await this.readOwner(this.ownerKind, name);
        if (o && matchesLabels(this.selector, o.spec?.template?.metadata?.labels ?? {})) byName.set(name, o);
      }
    }
    return [...byName.values()].map((o) => this.state(o)).sort((a, b) => a.name.localeCompare(b.name));
  }

  /** The owners, or TargetNotFound naming what was looked for. */
  async requireOwners(): Promise<OwnerState[]> {
    const owners = await this.owners();
    if (!owners.length) {
      throw tempestError(
        'TargetNotFound',
        `no ${this.spec.kind} in namespace ${this.namespace} matches ${this.spec.labelSelector} (neither by its own labels nor as the owner of a matching pod)`,
      );
    }
    return owners;
  }

  private state(o: OwnerObject): OwnerState {
    const md = o.metadata ?? {};
    const st = o.status ?? {};
    const daemon = this.ownerKind === 'DaemonSet';
    return {
      kind: this.ownerKind,
      name: md.name ?? '',
      uid: md.uid ?? '',
      desired: daemon ? (st.desiredNumberScheduled ?? 0) : (o.spec?.replicas ?? 1),
      ready: daemon ? (st.numberReady ?? 0) : (st.readyReplicas ?? 0),
      observed: (st.observedGeneration ?? 0) >= (md.generation ?? 0),
      annotations: md.annotations ?? {},
    };
  }

  /** Merge-patch the owner's annotations (null deletes a key). false if the owner is gone. */
  async annotateOwner(name: string, annotations: Record<string, string | null>): Promise<boolean> {
    const namespace = this.namespace;
    const op = { verb: 'patch', resource: PLURAL[this.ownerKind], namespace, name };
    const body = { metadata: { annotations } };
    const a = this.k8s.apps;
    let r: unknown;
    switch (this.ownerKind) {
      case 'Deployment':
        r = await kcallGone(op, () => a.patchNamespacedDeployment({ name, namespace, body }, MERGE_PATCH));
        break;
      case 'StatefulSet':
        r = await kcallGone(op, () => a.patchNamespacedStatefulSet({ name, namespace, body }, MERGE_PATCH));
        break;
      case 'DaemonSet':
        r = await kcallGone(op, () => a.patchNamespacedDaemonSet({ name, namespace, body }, MERGE_PATCH));
        break;
      case 'ReplicaSet':
        r = await kcallGone(op, () => a.patchNamespacedReplicaSet({ name, namespace, body }, MERGE_PATCH));
        break;
    }
    return r !== undefined;
  }

  /**
   * Is the workload whole? Every owner has ready >= desired (from its status, with the controller caught up)
   * AND the pod list shows that many ready pods that are not being deleted (the status can lag a deletion
   * by a moment; the list cannot).
   */
  async recovered(): Promise<{ clean: boolean; observed: string }> {
    const owners = await this.owners();
    if (!owners.length) return { clean: true, observed: `no ${this.spec.kind} matches ${this.spec.labelSelector} any more` };
    const readyPods = (await this.pods()).filter(isReady).length;
    const desired = owners.reduce((n, o) => n + o.desired, 0);
    const ok = owners.every((o) => o.observed && o.ready >= o.desired) && readyPods >= desired;
    const each = owners
      .map((o) => `${o.kind.toLowerCase()}/${o.name} ${o.ready}/${o.desired} ready${o.observed ? '' : ' (controller catching up)'}`)
      .join(', ');
    return { clean: ok, observed: `${each}; ${readyPods} ready pod(s) listed` };
  }
}
