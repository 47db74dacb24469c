/**
 * The seed's hypothesis-driven experiment template as a runnable document:
 *
 *   apiVersion: tempest.io/v1alpha1
 *   kind: ChaosHypothesis
 *   metadata: { name: ... }
 *   spec:
 *     engine: ../engines/api-gateway-chaos.yaml      # the ChaosEngine to run (path relative to this file)
 *     env: { PODS_AFFECTED_PERC: "50" }              # optional env overrides for every fault of the engine
 *     experiment_template:                            # the seed's keys, unchanged
 *       hypothesis: "..."
 *       steady_state:     [ "text", { description, probe } ]   # probe default mode Edge (before and after)
 *       experiment:       [ "text" ]
 *       success_criteria: [ "text", { description, probe } ]   # probe default mode Continuous
 *       rollback_plan:    [ "text" ]
 *
 * Plain strings are kept for the report; entries with a Litmus probe are evaluated. The hypothesis is
 * validated when the run's verdict is Pass, refuted otherwise, and counted in chaos_hypothesis_*.
 */
import { dirname, resolve } from 'node:path';
import { z } from 'zod';
import { engineRefSchema } from './reference.js';
import { ConfigError } from './errors.js';
import { DEFAULT_LOAD_CONTEXT, Problems, normalizeProbe, probeSchema, type LoadContext } from './litmus.js';
import { checkProbe } from './validate-spec.js';
import type { ExperimentSpec, HypothesisPlan } from './spec.js';

const criterion = z.union([
  z.string().min(1),
  z.object({ description: z.string().min(1), probe: probeSchema.extend({ mode: probeSchema.shape.mode.optional() }) }),
]);

export const hypothesisSchema = z.object({
  apiVersion: z.string().regex(/^tempest\.io\//, 'must be tempest.io/<version>'),
  kind: z.literal('ChaosHypothesis'),
  metadata: z.object({ name: z.string().min(1) }).passthrough(),
  spec: z.object({
    engine: engineRefSchema,
    env: z.record(z.string(), z.union([z.string(), z.number()])).optional(),
    experiment_template: z.object({
      hypothesis: z.string().min(1).max(4096),
      steady_state: z.array(criterion).default([]),
      experiment: z.array(z.string()).default([]),
      success_criteria: z.array(criterion).default([]),
      rollback_plan: z.array(z.string()).default([]),
    }),
  }),
});

export type HypothesisDoc = z.infer<typeof hypothesisSchema>;

/**
 * Combine a parsed hypothesis document with its engine (loaded by the caller from `engineFileOf`).
 * Env overrides are re-validated by re-normalizing through the engine loader (the caller passes them in).
 */
export function applyHypothesis(doc: HypothesisDoc, engine: ExperimentSpec, file: string, px = '', ctx: LoadContext = DEFAULT_LOAD_CONTEXT): ExperimentSpec {
  const p = new Problems(file);
  const t = doc.spec.experiment_template;
  const spec: ExperimentSpec = structuredClone(engine);
  spec.hypothesis = t.hypothesis;
  spec.source = file;
  const plan: HypothesisPlan = { steadyState: [], experiment: t.experiment, successCriteria: [], rollbackPlan: t.rollback_plan };
  let probes = 0;
  const take = (
    list: typeof t.steady_state,
    key: 'steady_state' | 'success_criteria',
    defaultMode: 'Edge' | 'Continuous',
    into: HypothesisPlan['steadyState'],
  ) => {
    list.forEach((c, i) => {
      if (typeof c === 'string') return into.push({ description: c });
      const path = `${px}spec.experiment_template.${key}[${i}].probe`;
      const probe = normalizeProbe({ ...c.probe, mode: c.probe.mode ?? defaultMode } as never, path, p, ctx, spec.target.namespace);
      if (!probe) return;
      checkProbe(probe, path, ctx.limits, p, ctx.policy);
      if (spec.faults[0].probes.some((x) => x.name === probe.name)) p.add(`${path}.name`, 'a probe of this name already exists in the engine', probe.name);
      spec.faults[0].probes.push(probe);
      into.push({ description: c.description, probe: probe.name });
      probes++;
    });
  };
  take(t.steady_state, 'steady_state', 'Edge', plan.steadyState);
  take(t.success_criteria, 'success_criteria', 'Continuous', plan.successCriteria);
  if (!probes && !spec.faults.some((f) => f.probes.length)) {
    p.add(`${px}spec.experiment_template`, 'nothing to evaluate: give steady_state or success_criteria entries a probe (or use an engine with probes)');
  }
  if (p.list.length) throw new ConfigError(p.list);
  spec.hypothesisPlan = plan;
  return spec;
}

export function engineFileOf(doc: HypothesisDoc, file: string): string {
  return resolve(dirname(file), doc.spec.engine);
}
