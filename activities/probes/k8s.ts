/**
 * k8sProbe — MINIMAL IMPLEMENTATION (present / absent only).
 *
 * Lists group/version/resource with fieldSelector/labelSelector through @kubernetes/client-node 1.4 (ESM):
 * CustomObjectsApi for named API groups (it builds `/apis/<group>/<version>/...`, which works for any group,
 * apps/v1 included), KubernetesObjectApi for the core group (it needs a kind, so core resources go through a small
 * plural → kind table). `create` and `delete` are not implemented yet and fail with failureKind 'error'.
 * The client is imported lazily so workers without Kubernetes never load it.
 */
import type { K8sProbeInputs } from '../../config/spec.js';
import { verdictOf } from './attempts.js';
import { ProbeError, type AttemptResult, type ProbeDeps, type ProbeDriver } from './types.js';

const CORE_KINDS: Record<string, string> = {
  pods: 'Pod',
  services: 'Service',
  endpoints: 'Endpoints',
  configmaps: 'ConfigMap',
  secrets: 'Secret',
  serviceaccounts: 'ServiceAccount',
  persistentvolumeclaims: 'PersistentVolumeClaim',
  persistentvolumes: 'PersistentVolume',
  nodes: 'Node',
  namespaces: 'Namespace',
  events: 'Event',
  replicationcontrollers: 'ReplicationController',
};

type KubeClient = typeof import('@kubernetes/client-node');

async function listItems(kc: InstanceType<KubeClient['KubeConfig']>, client: KubeClient, inputs: K8sProbeInputs): Promise<unknown[]> {
  const { group, version, resource, namespace, fieldSelector, labelSelector } = inputs;
  if (group === '' || group === 'core') {
    const kind = CORE_KINDS[resource];
    if (!kind) throw new ProbeError(`k8sProbe: core resource '${resource}' is not supported yet (known: ${Object.keys(CORE_KINDS).join(', ')})`);
    const api = client.KubernetesObjectApi.makeApiClient(kc);
    const list = await api.list(version, kind, namespace, undefined, undefined, undefined, fieldSelector, labelSelector);
    return list.items ?? [];
  }
  const api = kc.makeApiClient(client.CustomObjectsApi);
  const list = (
    namespace
      ? await api.listNamespacedCustomObject({ group, version, namespace, plural: resource, fieldSelector, labelSelector })
      : await api.listClusterCustomObject({ group, version, plural: resource, fieldSelector, labelSelector })
  ) as { items?: unknown[] };
  return list.items ?? [];
}

export function k8sDriver(inputs: K8sProbeInputs, deps: ProbeDeps): ProbeDriver {
  const gvr = `${inputs.group ? `${inputs.group}/` : ''}${inputs.version}/${inputs.resource}`;
  const selectors = [inputs.fieldSelector && `fieldSelector=${inputs.fieldSelector}`, inputs.labelSelector && `labelSelector=${inputs.labelSelector}`]
    .filter(Boolean)
    .join(' ');
  const target = `${inputs.operation} ${gvr}${inputs.namespace ? ` in ${inputs.namespace}` : ''}${selectors ? ` ${selectors}` : ''}`;
  if (!deps.k8s) throw new ProbeError('k8sProbe needs the kubernetes platform: this worker has no KubeConfig', target);
  if (inputs.operation === 'create' || inputs.operation === 'delete') {
    throw new ProbeError(`k8sProbe operation '${inputs.operation}' is not implemented yet in Tempest (present/absent only; create/delete will come later)`, target);
  }
  return {
    target,
    sleepAfterEveryTry: false,
    async attempt(): Promise<AttemptResult> {
      const client = await import('@kubernetes/client-node');
      const kc = deps.k8s as InstanceType<KubeClient['KubeConfig']>;
      if (typeof kc?.makeApiClient !== 'function') throw new ProbeError('k8sProbe: deps.k8s is not a KubeConfig from @kubernetes/client-node', target);
      let items: unknown[];
      try {
        items = await listItems(kc, client, inputs);
      } catch (err) {
        if (err instanceof ProbeError) throw err;
        throw new ProbeError(`k8sProbe list failed: ${err instanceof Error ? err.message : String(err)}`, target);
      }
      const observed = `${items.length} ${inputs.resource} found (${target})`;
      const ok = inputs.operation === 'present' ? items.length > 0 : items.length === 0;
      const reason =
        inputs.operation === 'present'
          ? ok
            ? `${items.length} ${inputs.resource} present`
            : `no ${inputs.resource} present`
          : ok
            ? `no ${inputs.resource} present (absent as required)`
            : `${items.length} ${inputs.resource} present, expected absent`;
      return verdictOf([{ ok, reason }], observed);
    },
  };
}
