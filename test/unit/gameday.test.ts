/** The seed's monthly game day: parsing with its catalog, automated and manual steps, time boxes, abort. */
import { mkdtempSync, writeFileSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from '@temporalio/worker';
import type { WorkflowHandle } from '@temporalio/client';
import { loadFile } from '../../config/load.js';
import type { GameDaySpec } from '../../config/spec.js';
import { useTimeSkippingEnv, ROOT } from '../helpers/temporal.js';
import { workflowBundle } from '../../workers/worker.js';
import { callsWithFirstInject, fakeActivities, opts, type Calls } from '../helpers/workflow.js';
import { completeStepSignal, type GameDayResult } from '../../workflows/gameday.js';
import { abortSignal } from '../../workflows/experiment.js';
import type { TempestActivities } from '../../activities/types.js';

function gameDay(file: string): GameDaySpec {
  const [d] = loadFile(file);
  if (d.kind !== 'GameDay') throw new Error('not a game day');
  return d.gameDay;
}

function writeDoc(body: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'tempest-gd-'));
  copyFileSync(join(ROOT, 'examples/engines/api-gateway-chaos.yaml'), join(dir, 'engine.yaml'));
  const f = join(dir, 'gd.yaml');
  writeFileSync(f, `apiVersion: tempest.io/v1alpha1\nkind: GameDay\nmetadata: {name: gd}\nspec:\n${body}`);
  return f;
}

test('the seed game day: three scenarios, engines and manual steps from the catalog', () => {
  const gd = gameDay(join(ROOT, 'examples/gamedays/footanalytics-monthly.yaml'));
  expect(gd.durationMs).toBe(4 * 3600_000);
  expect(gd.participants).toEqual(['platform_engineering', 'ml_engineering', 'devops', 'product_management']);
  expect(gd.scenarios.map((s) => [s.name, s.durationMs, s.steps.map((x) => `${x.experiment}:${x.kind}`)])).toEqual([
    ['Complete Region Failure', 7200_000, ['zone_failure:engine', 'database_failover:manual', 'traffic_rerouting:manual']],
    ['ML Pipeline Overload', 3600_000, ['gpu_exhaustion:engine', 'queue_overflow:manual', 'model_degradation:manual']],
    ['Security Incident', 3600_000, ['network_isolation:manual', 'credential_rotation:manual', 'audit_log_analysis:manual']],
  ]);
});

test('an experiment missing from the catalog, and scenarios longer than the day, are named by path', () => {
  const unknown = writeDoc(
    `  catalog: {a: {engine: engine.yaml}}\n  game_days:\n    duration: "1 hour"\n    scenarios:\n      - {name: S, duration: "30 minutes", experiments: [a, zone_failure]}\n`,
  );
  expect(() => loadFile(unknown)).toThrow(/spec\.game_days\.scenarios\[0\]\.experiments\[1\]: not in spec\.catalog \(known: a\) \(got "zone_failure"\)/);
  const long = writeDoc(
    `  catalog: {a: {manual: "do it"}}\n  game_days:\n    duration: "1 hour"\n    scenarios:\n      - {name: S, duration: "2 hours", experiments: [a]}\n`,
  );
  expect(() => loadFile(long)).toThrow(/spec\.game_days\.duration: scenarios take 120 min, more than the game day's 60 min/);
});

describe('gameDayWorkflow under the time-skipping server', () => {
  const testEnv = useTimeSkippingEnv();
  const doc = () =>
    gameDay(
      writeDoc(`  catalog:
    zone_failure: {engine: engine.yaml}
    database_failover: {manual: "switch the primary"}
    traffic_rerouting: {manual: "shift traffic"}
  game_days:
    duration: "1 hour"
    participants: [platform_engineering]
    scenarios:
      - {name: "Complete Region Failure", duration: "30 minutes", experiments: [zone_failure, database_failover, traffic_rerouting]}
`),
    );

  async function run(spec: GameDaySpec, acts: TempestActivities, during?: (h: WorkflowHandle) => Promise<void>): Promise<GameDayResult> {
    const env = testEnv();
    const taskQueue = `gd-${Math.random().toString(36).slice(2)}`;
    const worker = await Worker.create({ connection: env.nativeConnection, taskQueue, workflowBundle: await workflowBundle(), activities: acts });
    return worker.runUntil(async () => {
      const h = await env.client.workflow.start('gameDayWorkflow', { taskQueue, workflowId: `gd-${taskQueue}`, args: [{ spec, options: opts() }] });
      if (during) await during(h);
      return h.result() as Promise<GameDayResult>;
    });
  }

  test('automated step runs and reverts; a reported manual step passes; an unreported one is not done when time is up', async () => {
    const calls: Calls = { log: [], injected: 0, reverted: 0 };
    const r = await run(doc(), fakeActivities(calls), async (h) => {
      await h.signal(completeStepSignal, {
        scenario: 'Complete Region Failure',
        experiment: 'database_failover',
        outcome: 'pass',
        notes: 'failover in 14 s',
        by: 'alice',
      });
    });
    expect(r.steps.map((s) => [s.experiment, s.state])).toEqual([
      ['zone_failure', 'passed'],
      ['database_failover', 'passed'],
      ['traffic_rerouting', 'not-done'],
    ]);
    expect(r.steps[1]).toMatchObject({ by: 'alice', notes: 'failover in 14 s' });
    expect(r.steps[2].notes).toBe("not reported within the scenario's 30 min");
    expect(r.verdict).toBe('Fail');
    expect(r.reason).toContain('Complete Region Failure/traffic_rerouting (not-done)');
    expect(calls.injected).toBe(6); // the seed engine: 60 s every 10 s
    expect(calls.reverted).toBe(1);
    expect(r.resilienceScore).toBe(100);
  });

  test('everything reported: Pass', async () => {
    const calls: Calls = { log: [], injected: 0, reverted: 0 };
    const r = await run(doc(), fakeActivities(calls), async (h) => {
      for (const experiment of ['database_failover', 'traffic_rerouting']) {
        await h.signal(completeStepSignal, { scenario: 'Complete Region Failure', experiment, outcome: 'pass' });
      }
    });
    expect(r.verdict).toBe('Pass');
    expect(r.reason).toBe('all 3 step(s) passed');
  });

  test('abort during the automated step: the child reverts, the rest is skipped, verdict Aborted', async () => {
    const calls = callsWithFirstInject();
    const r = await run(doc(), fakeActivities(calls), async (h) => {
      await calls.firstInject;
      await testEnv().sleep(1000);
      await h.signal(abortSignal, 'real incident, stop the game day');
    });
    expect(r.verdict).toBe('Aborted');
    expect(r.steps[0]).toMatchObject({ state: 'failed', verdict: 'Aborted' });
    expect(r.steps.slice(1).map((s) => s.state)).toEqual(['skipped', 'skipped']);
    expect(calls.reverted).toBe(1);
  });
});
