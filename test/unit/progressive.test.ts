/** The seed's progressive chaos: parsing, stage gating by success threshold and depends_on, abort forwarding. */
import { mkdtempSync, writeFileSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from '@temporalio/worker';
import { loadFile } from '../../config/load.js';
import { ConfigError } from '../../config/errors.js';
import type { ProgressiveSpec } from '../../config/spec.js';
import { useTimeSkippingEnv, ROOT } from '../helpers/temporal.js';
import { workflowBundle } from '../../workers/worker.js';
import { callsWithFirstInject, fakeActivities, opts, type Calls } from '../helpers/workflow.js';
import type { ProgressiveResult } from '../../workflows/progressive.js';
import { abortSignal } from '../../workflows/experiment.js';
import type { TempestActivities } from '../../activities/types.js';

function progressive(file: string): ProgressiveSpec {
  const [d] = loadFile(file);
  if (d.kind !== 'ProgressiveChaos') throw new Error('not progressive');
  return d.progressive;
}

function writeDoc(stages: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'tempest-prog-'));
  copyFileSync(join(ROOT, 'examples/engines/api-gateway-chaos.yaml'), join(dir, 'engine.yaml'));
  const f = join(dir, 'p.yaml');
  writeFileSync(
    f,
    `apiVersion: tempest.io/v1alpha1\nkind: ProgressiveChaos\nmetadata: {name: p}\nspec:\n  engine: engine.yaml\n  progressive_chaos:\n${stages}`,
  );
  return f;
}

test('the seed example: three stages in dependency order with their percentages and durations', () => {
  const p = progressive(join(ROOT, 'examples/progressive/api-gateway-progressive.yaml'));
  expect(p.stages.map((s) => [s.id, s.chaosPercentage, s.durationMs, s.successThreshold, s.dependsOn])).toEqual([
    ['stage_1', 10, 300_000, 0.99, undefined],
    ['stage_2', 30, 600_000, 0.95, 'stage_1'],
    ['stage_3', 60, 900_000, 0.9, 'stage_2'],
  ]);
  expect(p.engine.faults[0].name).toBe('pod-delete');
});

test('stages listed out of order run in dependency order', () => {
  const f = writeDoc(
    `    b: {name: B, chaos_percentage: 50, duration: "1 minute", success_threshold: 0.9, depends_on: a}\n    a: {name: A, chaos_percentage: 10, duration: "90 seconds", success_threshold: 0.9}\n`,
  );
  expect(progressive(f).stages.map((s) => [s.id, s.durationMs])).toEqual([
    ['a', 90_000],
    ['b', 60_000],
  ]);
});

test('bad stages are named by path: unknown depends_on, a cycle, a bad duration, a threshold over 1', () => {
  const cases: Array<[string, RegExp]> = [
    [
      `    a: {name: A, chaos_percentage: 10, duration: "1 minute", success_threshold: 0.9, depends_on: zz}\n`,
      /spec\.progressive_chaos\.a\.depends_on: no stage named zz \(got "zz"\)/,
    ],
    [
      `    a: {name: A, chaos_percentage: 10, duration: "1 minute", success_threshold: 0.9, depends_on: b}\n    b: {name: B, chaos_percentage: 10, duration: "1 minute", success_threshold: 0.9, depends_on: a}\n`,
      /spec\.progressive_chaos: depends_on forms a cycle: a -> b/,
    ],
    [
      `    a: {name: A, chaos_percentage: 10, duration: "soon", success_threshold: 0.9}\n`,
      /spec\.progressive_chaos\.a\.duration: must be a duration like "5 minutes".*\(got "soon"\)/,
    ],
    [`    a: {name: A, chaos_percentage: 10, duration: "1 minute", success_threshold: 99}\n`, /spec\.progressive_chaos\.a\.success_threshold: .*1/],
  ];
  for (const [stages, re] of cases) {
    const f = writeDoc(stages);
    expect(() => loadFile(f)).toThrow(ConfigError);
    expect(() => loadFile(f)).toThrow(re);
  }
});

describe('progressiveWorkflow under the time-skipping server', () => {
  const testEnv = useTimeSkippingEnv();
  const short = () =>
    progressive(
      writeDoc(
        `    stage_1: {name: "Single Pod Failure", chaos_percentage: 10, duration: "1 minute", success_threshold: 0.99}\n` +
          `    stage_2: {name: "Multiple Pod Failures", chaos_percentage: 30, duration: "1 minute", success_threshold: 0.95, depends_on: stage_1}\n` +
          `    stage_3: {name: "Majority Pod Failures", chaos_percentage: 60, duration: "1 minute", success_threshold: 0.90, depends_on: stage_2}\n`,
      ),
    );

  async function run(
    spec: ProgressiveSpec,
    acts: TempestActivities,
    during?: (h: { signal: (s: typeof abortSignal, r: string) => Promise<void> }) => Promise<void>,
  ): Promise<ProgressiveResult> {
    const env = testEnv();
    const taskQueue = `prog-${Math.random().toString(36).slice(2)}`;
    const worker = await Worker.create({ connection: env.nativeConnection, taskQueue, workflowBundle: await workflowBundle(), activities: acts });
    return worker.runUntil(async () => {
      const h = await env.client.workflow.start('progressiveWorkflow', { taskQueue, workflowId: `p-${taskQueue}`, args: [{ spec, options: opts() }] });
      if (during) await during(h);
      return h.result() as Promise<ProgressiveResult>;
    });
  }

  test('every stage passes: three child experiments with growing PODS_AFFECTED_PERC, verdict Pass', async () => {
    const calls: Calls = { log: [], injected: 0, reverted: 0 };
    const percs = new Set<number>();
    const acts = fakeActivities(calls, {
      async injectFault(r) {
        percs.add(r.fault.podsAffectedPerc);
        calls.injected++;
        return { round: r.round, affected: ['pod-a'], detail: 'ok', alreadyDone: false, at: new Date().toISOString() };
      },
    });
    const r = await run(short(), acts);
    expect(r.verdict).toBe('Pass');
    expect(r.stages.map((s) => s.state)).toEqual(['passed', 'passed', 'passed']);
    expect([...percs].sort((a, b) => a - b)).toEqual([10, 30, 60]);
    expect(calls.reverted).toBe(3);
    expect(r.stages[0].workflowId).toMatch(/-stage_1$/);
    expect(r.resilienceScore).toBe(100);
  });

  test('a stage below its success threshold fails the run and skips the stages that depend on it', async () => {
    const calls: Calls = { log: [], injected: 0, reverted: 0 };
    let perc = 0;
    let n = 0;
    const acts = fakeActivities(calls, {
      async injectFault(r) {
        perc = r.fault.podsAffectedPerc;
        return { round: r.round, affected: ['pod-a'], detail: 'ok', alreadyDone: false, at: new Date().toISOString() };
      },
      async runProbe(p, ctx) {
        // at 30 % of pods down, one check in ten fails: 90 % < the stage's 95 % threshold
        const fail = perc === 30 && ++n % 10 === 0;
        return {
          name: p.name,
          type: p.type,
          mode: p.mode,
          phase: ctx.phase,
          iteration: ctx.iteration,
          status: fail ? 'Failed' : 'Passed',
          reason: fail ? '503' : 'ok',
          attempts: 1,
          durationMs: 1,
          at: new Date().toISOString(),
        };
      },
    });
    const r = await run(short(), acts);
    expect(r.verdict).toBe('Fail');
    expect(r.stages.map((s) => s.state)).toEqual(['passed', 'failed', 'skipped']);
    expect(r.stages[1].successRatio).toBeLessThan(0.95);
    expect(r.stages[1].reason).toMatch(/% of probe checks passed \(threshold 95\.0%\)/);
    expect(r.stages[2].reason).toBe('depends on stage_2 (Multiple Pod Failures), which did not pass');
    expect(r.reason).toMatch(/^stage_2 \(Multiple Pod Failures\) did not pass/);
  });

  test('abort is forwarded to the running stage: it reverts, later stages are skipped, verdict Aborted', async () => {
    const calls = callsWithFirstInject();
    const r = await run(short(), fakeActivities(calls), async (h) => {
      await calls.firstInject;
      await testEnv().sleep(1000);
      await h.signal(abortSignal, 'stop the game day');
    });
    expect(r.verdict).toBe('Aborted');
    expect(r.stages[0]).toMatchObject({ state: 'failed', verdict: 'Aborted' });
    expect(r.stages.slice(1).map((s) => s.state)).toEqual(['skipped', 'skipped']);
    expect(calls.reverted).toBe(1);
  });
});
