/** The seed's hypothesis template as a ChaosHypothesis document: parsing, overrides, probes, errors, and the verdict it gets. */
import { mkdtempSync, writeFileSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadEngine } from '../../config/load.js';
import { ConfigError } from '../../config/errors.js';
import { useTimeSkippingEnv, ROOT } from '../helpers/temporal.js';
import { runWorkflow, opts, fakeActivities, type Calls } from '../helpers/workflow.js';
import { formatReport } from '../../activities/report/format.js';
import { aggregate } from '../../activities/metrics/durable.js';

const EXAMPLE = join(ROOT, 'examples/hypotheses/api-gateway-half-pods.yaml');

test('the example hypothesis runs the seed engine with its overrides and criteria as probes', () => {
  const spec = loadEngine(EXAMPLE);
  expect(spec.hypothesis).toBe('The API Gateway can handle 50% pod failures without service degradation');
  const f = spec.faults[0];
  expect(f.podsAffectedPerc).toBe(50);
  expect(f.durationMs).toBe(600_000);
  expect(f.intervalMs).toBe(10_000); // from the engine, untouched
  expect(f.probes.map((p) => [p.name, p.mode])).toEqual([
    ['api-gateway-health-check', 'Continuous'],
    ['steady-p95-latency', 'Edge'],
    ['steady-error-rate', 'Edge'],
    ['available-during-chaos', 'Continuous'],
  ]);
  expect(spec.hypothesisPlan!.steadyState).toEqual([
    { description: 'API response time P95 < 200ms', probe: 'steady-p95-latency' },
    { description: 'Error rate < 1%', probe: 'steady-error-rate' },
    { description: 'All health checks passing' },
  ]);
  expect(spec.hypothesisPlan!.rollbackPlan).toHaveLength(3);
});

function writeHypothesis(body: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'tempest-hyp-'));
  copyFileSync(join(ROOT, 'examples/engines/api-gateway-chaos.yaml'), join(dir, 'engine.yaml'));
  const f = join(dir, 'h.yaml');
  writeFileSync(f, `apiVersion: tempest.io/v1alpha1\nkind: ChaosHypothesis\nmetadata:\n  name: h\nspec:\n  engine: engine.yaml\n${body}`);
  return f;
}

test('a bad env override names the variable and its value', () => {
  const f = writeHypothesis(`  env:\n    TOTAL_CHAOS_DURATION: "ten minutes"\n  experiment_template:\n    hypothesis: x\n`);
  expect(() => loadEngine(f)).toThrow(ConfigError);
  try {
    loadEngine(f);
  } catch (e) {
    expect((e as Error).message).toContain(`${f}: spec.engine:`);
    expect((e as Error).message).toContain('TOTAL_CHAOS_DURATION must be a duration');
    expect((e as Error).message).toContain('"ten minutes"');
  }
});

test('a missing engine file and a bad probe are named by path', () => {
  const missing = writeHypothesis(`  experiment_template:\n    hypothesis: x\n`).replace(/h\.yaml$/, 'h2.yaml');
  writeFileSync(
    missing,
    `apiVersion: tempest.io/v1alpha1\nkind: ChaosHypothesis\nmetadata: {name: h}\nspec:\n  engine: nope.yaml\n  experiment_template: {hypothesis: x}\n`,
  );
  expect(() => loadEngine(missing)).toThrow(/nope\.yaml: cannot read file: ENOENT/);
  const badProbe = writeHypothesis(
    `  experiment_template:\n    hypothesis: x\n    success_criteria:\n      - description: up\n        probe:\n          name: up\n          type: httpProbe\n          httpProbe/inputs:\n            url: "not-a-url"\n            method: {get: {criteria: "==", responseCode: "200"}}\n`,
  );
  expect(() => loadEngine(badProbe)).toThrow(/spec\.experiment_template\.success_criteria\[0\]\.probe\["httpProbe\/inputs"\]\.url: must be an http/);
});

describe('verdict of a hypothesis', () => {
  const testEnv = useTimeSkippingEnv();

  test('validated when every criterion holds, refuted when one fails; counted in the metrics', async () => {
    const spec = loadEngine(EXAMPLE);
    spec.faults[0].durationMs = 60_000;
    const calls: Calls = { log: [], injected: 0, reverted: 0 };
    const ok = await runWorkflow(testEnv(), spec, opts(), fakeActivities(calls));
    expect(ok.verdict).toBe('Pass');
    expect(ok.hypothesisValidated).toBe(true);
    expect(formatReport(ok)).toContain('-> VALIDATED');
    expect(formatReport(ok)).toContain('noted   All health checks passing (not evaluated)');

    const bad = await runWorkflow(
      testEnv(),
      spec,
      opts(),
      fakeActivities(
        { log: [], injected: 0, reverted: 0 },
        {
          async runProbe(p, ctx) {
            const fail = p.name === 'steady-error-rate' && ctx.phase === 'EOT';
            return {
              name: p.name,
              type: p.type,
              mode: p.mode,
              phase: ctx.phase,
              iteration: 0,
              status: fail ? 'Failed' : 'Passed',
              reason: fail ? 'value 0.04 is not < 0.01' : 'ok',
              attempts: 1,
              durationMs: 1,
              at: new Date().toISOString(),
            };
          },
        },
      ),
    );
    expect(bad.verdict).toBe('Fail');
    expect(bad.hypothesisValidated).toBe(false);
    expect(formatReport(bad)).toContain('-> REFUTED');

    // The durable totals count both as hypotheses tested, one validated (as visibility lists them: memo.hypothesis set).
    const t = aggregate(
      [ok, bad].map((r, i) => ({
        workflowId: `w${i}`,
        experiment: r.experiment,
        namespace: r.target.namespace,
        verdict: r.verdict,
        hypothesis: !!r.hypothesis,
        startedAt: i,
      })),
    );
    expect(t.hypotheses.get('api-gateway-chaos\u0000footanalytics')).toBe(2);
    expect(t.validated.get('api-gateway-chaos\u0000footanalytics')).toBe(1);
  }, 60_000);
});
