/**
 * gpu-memory-hog on Kubernetes: an ephemeral container (the worker's images.gpu, CUDA + PyTorch) in the target pod
 * allocates GPU_MEMORY_PERCENTAGE % of each GPU it sees (capped by what is free) and holds it until the dead-man
 * time. Which GPUs it sees is the NVIDIA container runtime's business, driven by NVIDIA_VISIBLE_DEVICES (the CUDA
 * images themselves default it to `all`: every GPU of the node, other tenants' included). Ephemeral containers
 * cannot request `nvidia.com/gpu`, so Tempest sets NVIDIA_VISIBLE_DEVICES itself, and only ever to GPUs that are
 * the target container's own:
 *   - the target container (TARGET_CONTAINER, or the first) must have `limits: nvidia.com/gpu` > 0, else refused;
 *   - its devices are the ones the kubelet reports for it (status.containerStatuses[].allocatedResourcesStatus,
 *     resource nvidia.com/gpu: the device plugin's ids, GPU UUIDs or indexes; a time-slicing replica suffix
 *     `::<n>` is dropped). Nothing the container itself could print (its env, read by exec) is believed: the
 *     tenant owns that process. No report from the kubelet (a cluster without ResourceHealthStatus): refused;
 *   - GPU_VISIBLE_DEVICES `all` (the default) means all of those; a list must lie within them, else refused.
 *     The value is never `all`, `none`, `void` or anything but those ids.
 * Checked at preflight (every candidate pod) and again at inject, on the live pod.
 * Revert: an undo ephemeral container kills the allocating process (see kubernetes-common.ts).
 * A pod with spec.hostPID or spec.hostIPC is refused (the node's processes / shared memory).
 * Cannot be exercised without a GPU node: the tests assert the API content only.
 */
import type { V1Pod } from '@kubernetes/client-node';
import type { FaultSpec } from '../../../config/spec.js';
import { tempestError } from '../../errors.js';
import { PROCESS_FAULT_RBAC, ephemeralProcessFault } from '../kubernetes-common.js';

/** Holds pct % of each visible GPU until `seconds` have passed; exits 1 if no GPU is visible. */
export const GPU_HOG_SCRIPT = [
  'import os, sys, time',
  'import torch',
  "pct = float(os.environ['GPU_MEMORY_PERCENTAGE']); until = time.time() + float(os.environ['TEMPEST_SECONDS'])",
  'n = torch.cuda.device_count() if torch.cuda.is_available() else 0',
  "if n == 0: print('no CUDA device visible to this container', flush=True); sys.exit(1)",
  'held = []',
  'for i in range(n):',
  '    free, total = torch.cuda.mem_get_info(i)',
  '    want = max(0, min(int(total * pct / 100), free - (64 << 20)))',
  "    held.append(torch.empty(want, dtype=torch.uint8, device=f'cuda:{i}'))",
  "    print(f'cuda:{i}: holding {want >> 20} MiB of {total >> 20} MiB ({pct}% asked)', flush=True)",
  'while time.time() < until: time.sleep(1)',
].join('\n');

export const GPU_RESOURCE = 'nvidia.com/gpu';

/** A device id NVIDIA_VISIBLE_DEVICES accepts: a GPU or MIG UUID, or an index. */
const DEVICE_ID = /^(?:(?:GPU|MIG)-[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}|\d{1,3})$/;

/**
 * The GPUs allocated to `container` of `pod`, as the kubelet reports them; FaultRefused (naming the pod, the
 * container and what is missing) when it has none of its own or they cannot be told.
 */
export function ownGpus(pod: V1Pod, container: string): string[] {
  const where = `container ${container} of pod ${pod.metadata?.namespace}/${pod.metadata?.name}`;
  const spec = pod.spec?.containers?.find((c) => c.name === container);
  const raw = spec?.resources?.limits?.[GPU_RESOURCE];
  const limit = raw === undefined ? 0 : Number(raw);
  if (!(Number.isInteger(limit) && limit > 0)) {
    throw tempestError(
      'FaultRefused',
      `gpu-memory-hog: ${where} has no ${GPU_RESOURCE} limit (resources.limits["${GPU_RESOURCE}"]${raw === undefined ? ' is not set' : ` is ${JSON.stringify(String(raw).slice(0, 20))}`}): it has no GPU of its own, and any GPU the hog could see would be another pod's: refused`,
    );
  }
  const reported =
    pod.status?.containerStatuses?.find((c) => c.name === container)?.allocatedResourcesStatus?.find((r) => r.name === GPU_RESOURCE)?.resources ?? [];
  const ids = [...new Set(reported.map((r) => String(r.resourceID ?? '').replace(/::\d{1,6}$/, '')))];
  if (!ids.length) {
    throw tempestError(
      'FaultRefused',
      `gpu-memory-hog: the kubelet reports no ${GPU_RESOURCE} device for ${where} (status.containerStatuses[].allocatedResourcesStatus; Kubernetes ResourceHealthStatus): which GPUs are its own cannot be told, and Tempest never makes every GPU of the node visible: refused`,
    );
  }
  const bad = ids.find((id) => !DEVICE_ID.test(id));
  if (bad !== undefined)
    throw tempestError(
      'FaultRefused',
      `gpu-memory-hog: ${where}: the device id ${JSON.stringify(bad.slice(0, 80))} reported for ${GPU_RESOURCE} is not a GPU UUID or index: refused`,
    );
  if (ids.length > limit)
    throw tempestError(
      'FaultRefused',
      `gpu-memory-hog: ${where} is reported with ${ids.length} GPUs (${ids.join(', ')}) but its ${GPU_RESOURCE} limit is ${limit}: refused`,
    );
  return ids;
}

/** NVIDIA_VISIBLE_DEVICES for the hog in this pod: GPU_VISIBLE_DEVICES within the container's own GPUs (`all`: all of them). */
export function visibleDevices(f: FaultSpec, pod: V1Pod, container: string): string {
  const own = ownGpus(pod, container);
  const want = f.params.gpuVisibleDevices ?? 'all';
  if (want === 'all') return own.join(',');
  const asked = [...new Set(want.split(','))];
  const outside = asked.filter((d) => !own.includes(d));
  if (outside.length || !asked.length) {
    throw tempestError(
      'FaultRefused',
      `gpu-memory-hog: GPU_VISIBLE_DEVICES ${JSON.stringify(want.slice(0, 200))} names ${outside.map((d) => d.slice(0, 40)).join(', ') || 'nothing'}, not among the GPUs allocated to container ${container} of pod ${pod.metadata?.namespace}/${pod.metadata?.name} (${own.join(', ')}): refused`,
    );
  }
  return asked.join(',');
}

export const gpuMemoryHogKubernetes = ephemeralProcessFault({
  abbrev: 'gpu',
  what: (f) => `GPU memory hog, ${f.params.gpuMemoryPercentage ?? 50}% of each of the target container's own GPUs`,
  role: 'gpu',
  command: () => ['python3', '-c', GPU_HOG_SCRIPT],
  env: (f, seconds, pod, container) => ({
    GPU_MEMORY_PERCENTAGE: String(f.params.gpuMemoryPercentage ?? 50),
    TEMPEST_SECONDS: String(seconds),
    NVIDIA_VISIBLE_DEVICES: visibleDevices(f, pod, container),
  }),
  check: (f) => {
    const p = f.params.gpuMemoryPercentage ?? 50;
    if (!(p > 0 && p <= 100)) throw tempestError('FaultRefused', `GPU_MEMORY_PERCENTAGE must be in (0, 100] (got ${p})`);
  },
  podCheck: (f, pod, container) => void visibleDevices(f, pod, container),
  hostNamespaces: ['hostPID', 'hostIPC'],
  rbac: PROCESS_FAULT_RBAC,
});
