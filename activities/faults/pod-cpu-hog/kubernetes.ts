/**
 * pod-cpu-hog on Kubernetes: an ephemeral container (the worker's images.stress) joined to TARGET_CONTAINER's
 * process namespace runs `stress-ng --cpu CPU_CORES --cpu-load CPU_LOAD --timeout <s>s` (0 cores = all), where <s>
 * runs to the dead-man time, so the stress ends by itself if Tempest is gone. Revert: an undo ephemeral
 * container kills it (see kubernetes-common.ts). Every value is a validated number in an argv: no shell.
 * A pod with spec.hostPID is refused: its process namespace is the node's.
 */
import { PROCESS_FAULT_RBAC, ephemeralProcessFault } from '../kubernetes-common.js';

export const podCpuHogKubernetes = ephemeralProcessFault({
  abbrev: 'cpu',
  what: (f) => `CPU stress, ${f.params.cpuCores ?? 1} core(s) at ${f.params.cpuLoad ?? 100}% load`,
  role: 'stress',
  // CPU_CORES 0 is "all cores" in Litmus: here at most limits.maxCpuCores (stress-ng's own 0 would be every CPU of the node).
  command: (f, seconds, limits) => [
    'stress-ng',
    '--cpu',
    String(f.params.cpuCores || limits.maxCpuCores),
    '--cpu-load',
    String(f.params.cpuLoad ?? 100),
    '--timeout',
    `${seconds}s`,
    '--metrics-brief',
  ],
  rbac: PROCESS_FAULT_RBAC,
  hostNamespaces: ['hostPID'],
});
