/**
 * pod-memory-hog on Kubernetes: an ephemeral container (the worker's images.stress) joined to TARGET_CONTAINER's
 * process namespace runs `stress-ng --vm NUMBER_OF_WORKERS --vm-bytes MEMORY_CONSUMPTION M --vm-keep --timeout <s>s`
 * (Litmus' meaning: MEMORY_CONSUMPTION MB per worker), ending by itself at the dead-man time.
 * Note: an ephemeral container has no resources of its own; the memory is charged to the pod's cgroup.
 * A pod with spec.hostPID or spec.hostIPC is refused: its process (or IPC, shared memory) namespace is the node's.
 */
import { PROCESS_FAULT_RBAC, ephemeralProcessFault } from '../kubernetes-common.js';

export const podMemoryHogKubernetes = ephemeralProcessFault({
  abbrev: 'mem',
  what: (f) => `memory stress, ${f.params.numberOfWorkers ?? 1} worker(s) x ${f.params.memoryConsumptionMb ?? 500} MB`,
  role: 'stress',
  command: (f, seconds) => [
    'stress-ng',
    '--vm',
    String(f.params.numberOfWorkers ?? 1),
    '--vm-bytes',
    `${f.params.memoryConsumptionMb ?? 500}M`,
    '--vm-keep',
    '--timeout',
    `${seconds}s`,
    '--metrics-brief',
  ],
  rbac: PROCESS_FAULT_RBAC,
  hostNamespaces: ['hostPID', 'hostIPC'],
});
