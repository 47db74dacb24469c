/** The fault library, per platform. Faults a platform cannot run are refused at preflight, before any injection. */
import type { FaultName } from '../../config/spec.js';
import type { LocalFaultDriver } from './driver.js';
import { podDeleteLocal } from './pod-delete/local.js';
import { containerKillLocal } from './container-kill/local.js';
import { podNetworkLatencyLocal } from './pod-network-latency/local.js';
import { podCpuHogLocal } from './pod-cpu-hog/local.js';
import { podMemoryHogLocal } from './pod-memory-hog/local.js';
import { modelCorruptionLocal } from './model-corruption/local.js';

export const LOCAL_FAULTS: Partial<Record<FaultName, LocalFaultDriver>> = {
  'pod-delete': podDeleteLocal,
  'container-kill': containerKillLocal,
  'pod-network-latency': podNetworkLatencyLocal,
  'pod-cpu-hog': podCpuHogLocal,
  'pod-memory-hog': podMemoryHogLocal,
  'model-corruption': modelCorruptionLocal,
};

/** Why a fault has no local driver (shown in the refusal). */
export const LOCAL_UNSUPPORTED: Partial<Record<FaultName, string>> = {
  'pod-network-loss': 'packet loss needs tc netem in a network namespace: use the kubernetes platform',
  'gpu-memory-hog': 'needs a GPU node on the kubernetes platform',
};
