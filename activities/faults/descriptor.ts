/**
 * A fault descriptor: everything Tempest knows about one fault that is not platform code — its name, style,
 * the Litmus env it reads (each a typed parameter with default and bounds), cross-field rules, the helper
 * images it runs, whether it has a read-only prepare step, which platforms have a driver, and the
 * Kubernetes permissions it needs. One per fault folder (`activities/faults/<fault>/descriptor.ts`), listed
 * once in `activities/faults/registry.ts`; the YAML loader, the worker's re-check, the styles the workflow
 * uses and the docs / RBAC tables all come from there.
 *
 * PURE: no I/O, no Node built-ins.
 */
import type { FaultParams } from '../../config/spec.js';
import type { ImageRole, Limits } from '../../config/policy.js';
import type { ParamDef } from './params.js';

export interface RbacRule {
  /** '' for the core group. */
  apiGroup: string;
  resources: string[];
  verbs: string[];
  /** Why the driver needs it (docs). */
  why: string;
}

export interface FaultDescriptor<N extends string = string> {
  name: N;
  /** periodic: injected again every CHAOS_INTERVAL; sustained: injected once and held until the end. */
  style: 'periodic' | 'sustained';
  summary: string;
  /** Litmus default of TOTAL_CHAOS_DURATION, seconds. */
  defaultDurationS: number;
  /** The fault-specific env (the common Litmus env is in config/litmus.ts). */
  params: ParamDef[];
  /** Rules across parameters; each problem names the env variable it is about. */
  refine?(p: FaultParams, limits: Limits): Array<{ env: string; message: string }>;
  /** Helper images it runs on Kubernetes (the worker's images.<role>, or an allowed *_IMAGE override). */
  images: ImageRole[];
  /**
   * A read-only prepare step (e.g. the checksum of the file it will corrupt) whose record the workflow keeps
   * and hands to inject, revert and verify: what the revert restores to comes from the workflow, not from
   * anything on the target.
   */
  prepares?: boolean;
  /** true = a driver exists; a string = why not (shown when a run is refused). */
  platforms: { local: true | string; kubernetes: true | string };
  /** Kubernetes permissions in the target namespace, beyond reading the target (see registry TARGET_RBAC). */
  rbac: RbacRule[];
}

export function defineFault<const N extends string>(d: FaultDescriptor<N>): FaultDescriptor<N> {
  return d;
}
