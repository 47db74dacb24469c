/**
 * The one registry of faults. Everything else is derived from it or checked against it by a test: the fault
 * names and styles, the YAML loader's env parsing (config/litmus.ts), the worker's re-check
 * (config/validate-spec.ts), the platform driver maps, the docs and RBAC tables.
 * Adding a fault = one folder (descriptor + drivers) + one line here + one test (CONTRIBUTING.md).
 *
 * PURE: imported by workflow code (styles) and config code.
 */
import type { FaultDescriptor, RbacRule } from './descriptor.js';
import { podDelete } from './pod-delete/descriptor.js';
import { containerKill } from './container-kill/descriptor.js';
import { podCpuHog } from './pod-cpu-hog/descriptor.js';
import { podMemoryHog } from './pod-memory-hog/descriptor.js';
import { podNetworkLatency } from './pod-network-latency/descriptor.js';
import { podNetworkLoss } from './pod-network-loss/descriptor.js';
import { gpuMemoryHog } from './gpu-memory-hog/descriptor.js';
import { modelCorruption } from './model-corruption/descriptor.js';

export const FAULTS = [podDelete, containerKill, podCpuHog, podMemoryHog, podNetworkLatency, podNetworkLoss, gpuMemoryHog, modelCorruption] as const;

export type FaultName = (typeof FAULTS)[number]['name'];
export const FAULT_NAMES: readonly FaultName[] = FAULTS.map((f) => f.name);

const BY_NAME = new Map<string, FaultDescriptor>(FAULTS.map((f) => [f.name, f]));

/** The descriptor of a fault, or undefined for a name that is not one (never a prototype lookup). */
export function faultDescriptor(name: string): FaultDescriptor | undefined {
  return BY_NAME.get(name);
}

export function isFaultName(name: unknown): name is FaultName {
  return typeof name === 'string' && BY_NAME.has(name);
}

/** periodic | sustained (used by the experiment workflow). */
export function faultStyle(name: FaultName): 'periodic' | 'sustained' {
  return BY_NAME.get(name)!.style;
}

/** Every Kubernetes fault reads its target: the pods, their owner (which carries the ledger), pod -> Deployment. */
export const TARGET_RBAC: RbacRule[] = [
  { apiGroup: '', resources: ['pods'], verbs: ['get', 'list', 'patch'], why: 'find the target pods; mark touched pods with the ledger key' },
  {
    apiGroup: 'apps',
    resources: ['deployments', 'statefulsets', 'daemonsets', 'replicasets'],
    verbs: ['get', 'list', 'patch'],
    why: 'the owner: desired/ready replicas and the fault ledger annotation',
  },
];
