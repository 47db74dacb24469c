/**
 * The workflows' hardening, under the real time-skipping test server with recording activities:
 *   - an emergency (breach, stopOnFailure) stays one when an abort arrives afterwards ('emergency-before-abort-v1');
 *   - the worker's guards run again right before each fault is injected ('guards-before-inject-v1');
 *   - a malformed input ends every workflow at once, with the reason, touching nothing (workflows/input.ts);
 *   - the text of an abort signal is cleaned (signalText).
 * Schedule gate and plan: test/unit/schedule-gate.test.ts.
 */
import { join } from 'node:path';
import { Context } from '@temporalio/activity';
import { Worker } from '@temporalio/worker';
import { useTimeSkippingEnv, ROOT } from '../helpers/temporal.js';
import { workflowBundle } from '../../workers/worker.js';
import { runWorkflow, seed, opts, fakeActivities, callsWithFirstInject, type Calls } from '../helpers/workflow.js';
import { loadFile } from '../../config/load.js';
import type { ExperimentSpec, GameDaySpec, ProgressiveSpec, ScheduleSpec } from '../../config/spec.js';
import type { ExperimentResult, TempestActivities, TriggerBreach } from '../../activities/types.js';
import type { ProgressiveResult } from '../../workflows/progressive.js';
import type { GameDayResult } from '../../workflows/gameday.js';
import type { ScheduleGateResult } from '../../workflows/schedule-gate.js';
import { abortSignal, signalText } from '../../workflows/experiment.js';

const testEnv = useTimeSkippingEnv();

const actions = [
  { type: 'scale' as const, name: 'Scale up replicas' },
  { type: 'pagerduty' as const, name: 'Trigger incident' },
];
const triggers = [{ name: 'error-rate', query: 'x', criteria: '>=' as const, threshold: '0.05' }];
const breach = (): TriggerBreach => ({ name: 'error-rate', query: 'x', value: 0.2, criteria: '>=', threshold: '0.05', at: new Date().toISOString() });
const BREACH_REASON = 'rollback trigger error-rate fired: value 0.2 >= 0.05';

/** From inside an activity: signal abort to the workflow that scheduled it, and wait until the server has it. */
async function abortFromActivity(reason: string): Promise<void> {
  const wf = Context.current().info.workflowExecution;
  if (!wf) throw new Error('not an activity of a workflow');
  const { workflowId } = wf;
  await testEnv().client.workflow.getHandle(workflowId).signal(abortSignal, reason);
}

const messages = (r: ExperimentResult) => r.timeline.map((e) => e.message);

/** The seed engine plus a second, sustained fault. */
function twoFaults(rampTimeMs = 0): ExperimentSpec {
  const spec = seed();
  const second = structuredClone(spec.faults[0]);
  second.name = 'pod-cpu-hog';
  second.probes = [];
  second.rampTimeMs = rampTimeMs;
  spec.faults.push(second);
  return spec;
}

describe("an emergency stays an emergency when an abort comes after it ('emergency-before-abort-v1')", () => {
  test('breach, then an abort while the fault is reverted: Fail with the breach reason, rollback actions run', async () => {
    const calls: Calls = { log: [], injected: 0, reverted: 0 };
    let n = 0;
    let abortSent = false;
    const base = fakeActivities(calls, {}, { triggers, rollbackActions: actions });
    const acts = fakeActivities(
      calls,
      {
        async evaluateTriggers() {
          n++;
          return n >= 2 ? breach() : null;
        },
        async revertFault(ref) {
          // The operator presses stop while the emergency rollback is under way.
          if (!abortSent) {
            abortSent = true;
            await abortFromActivity('operator pressed stop');
          }
          return base.revertFault(ref);
        },
      },
      { triggers, rollbackActions: actions },
    );
    const r = await run(seed(), acts);
    expect(abortSent).toBe(true);
    // the abort did arrive, after chaos was stopped by the breach
    const m = messages(r);
    expect(m).toContain('abort requested: operator pressed stop');
    expect(m.indexOf('abort requested: operator pressed stop')).toBeGreaterThan(m.indexOf(`stopping chaos early: ${BREACH_REASON}`));
    expect(m.indexOf(`stopping chaos early: ${BREACH_REASON}`)).toBeGreaterThan(-1);
    expect(r.verdict).toBe('Fail');
    expect(r.reason).toBe(BREACH_REASON);
    expect(r.breach).toMatchObject({ name: 'error-rate', value: 0.2 });
    expect(r.rollbackActions?.map((a) => a.name)).toEqual(['Scale up replicas', 'Trigger incident']);
    expect(calls.log).toContain('actions:scale,pagerduty');
    expect(calls.log.indexOf('actions:scale,pagerduty')).toBeGreaterThan(calls.log.indexOf('revert:pod-delete'));
    expect(calls.reverted).toBe(1);
  });

  test('stopOnFailure probe, then an abort while the fault is reverted: Fail with the probe reason, rollback actions run', async () => {
    const calls: Calls = { log: [], injected: 0, reverted: 0 };
    const spec = seed();
    spec.faults[0].probes[0].runProperties.stopOnFailure = true;
    let n = 0;
    let abortSent = false;
    const base = fakeActivities(calls, {}, { rollbackActions: actions });
    const acts = fakeActivities(
      calls,
      {
        async runProbe(p) {
          n++;
          const ok = n < 3;
          return {
            name: p.name,
            type: p.type,
            mode: p.mode,
            phase: 'Continuous',
            iteration: n,
            status: ok ? 'Passed' : 'Failed',
            reason: ok ? 'ok' : 'down',
            attempts: 1,
            durationMs: 1,
            at: new Date().toISOString(),
          };
        },
        async revertFault(ref) {
          if (!abortSent) {
            abortSent = true;
            await abortFromActivity('operator pressed stop');
          }
          return base.revertFault(ref);
        },
      },
      { rollbackActions: actions },
    );
    const r = await run(spec, acts);
    expect(abortSent).toBe(true);
    expect(messages(r)).toContain('abort requested: operator pressed stop');
    expect(r.verdict).toBe('Fail');
    expect(r.reason).toBe('probe api-gateway-health-check failed with stopOnFailure: down');
    expect(r.rollbackActions?.map((a) => a.name)).toEqual(['Scale up replicas', 'Trigger incident']);
    expect(calls.log).toContain('actions:scale,pagerduty');
    expect(calls.injected).toBeLessThan(6);
    expect(calls.reverted).toBe(1);
  });

  test('an abort BEFORE the breach: Aborted, no rollback actions (the breach after it is recorded, not an emergency)', async () => {
    const calls: Calls = { log: [], injected: 0, reverted: 0 };
    let n = 0;
    const acts = fakeActivities(
      calls,
      {
        async evaluateTriggers() {
          n++;
          if (n < 2) return null;
          // The abort reaches the workflow first; the breach this evaluation found comes after it.
          await abortFromActivity('pager went off');
          return breach();
        },
      },
      { triggers, rollbackActions: actions },
    );
    const r = await run(seed(), acts);
    expect(r.breach).toMatchObject({ name: 'error-rate' }); // the breach did come, after the abort
    const m = messages(r);
    expect(m.indexOf('abort requested: pager went off')).toBeGreaterThan(-1);
    expect(m.indexOf('rollback trigger error-rate fired: 0.2 >= 0.05')).toBeGreaterThan(m.indexOf('abort requested: pager went off'));
    expect(r.verdict).toBe('Aborted');
    expect(r.reason).toBe('pager went off');
    expect(r.rollbackActions).toBeUndefined();
    expect(calls.log.some((l) => l.startsWith('actions:'))).toBe(false);
    expect(calls.reverted).toBe(1);
  });
});

describe("the worker's guards run again right before each fault is injected ('guards-before-inject-v1')", () => {
  const guards = [{ type: 'pagerduty' as const, name: 'incidents' }];
  /** A guard that passes its first `passes` calls and fails from then on (a freeze declared mid-run). */
  const guardActs = (calls: Calls, passes: number) => {
    let n = 0;
    return fakeActivities(
      calls,
      {
        async runGuard(g) {
          n++;
          calls.log.push(`guard:${g.name}`);
          const passed = n <= passes;
          return { name: g.name, type: 'pagerduty', passed, reason: passed ? 'no incident' : 'change freeze declared' };
        },
      },
      { guards, rollbackActions: actions },
    );
  };

  test('passes at preflight, fails before the first fault: Aborted, nothing injected (nor the later fault)', async () => {
    const calls: Calls = { log: [], injected: 0, reverted: 0 };
    const r = await run(twoFaults(), guardActs(calls, 1));
    expect(r.guards).toEqual([expect.objectContaining({ name: 'incidents', passed: true })]); // preflight passed
    expect(r.verdict).toBe('Aborted');
    expect(r.reason).toBe('safety checks failed before pod-delete: incidents (change freeze declared)');
    expect(calls.injected).toBe(0);
    expect(calls.log.some((l) => l.startsWith('inject:') || l.startsWith('prepare:'))).toBe(false);
    expect(calls.reverted).toBe(0);
    expect(r.faults.map((f) => f.state)).toEqual(['skipped', 'pending']);
    expect(calls.log.filter((l) => l === 'guard:incidents')).toHaveLength(2);
    expect(calls.log.some((l) => l.startsWith('actions:'))).toBe(false); // not an emergency
    expect(messages(r)).toContain('guard incidents before pod-delete: FAILED - change freeze declared');
  });

  test('fails after the ramp time of the second fault: Aborted, the first fault was injected and reverted, the second never injected', async () => {
    const calls: Calls = { log: [], injected: 0, reverted: 0 };
    const r = await run(twoFaults(30_000), guardActs(calls, 2)); // preflight, before pod-delete: pass; before pod-cpu-hog: fail
    expect(r.verdict).toBe('Aborted');
    expect(r.reason).toBe('safety checks failed before pod-cpu-hog: incidents (change freeze declared)');
    expect(r.reason.startsWith('safety checks failed before pod-cpu-hog')).toBe(true);
    expect(calls.log).toContain('inject:pod-delete:0');
    expect(calls.log.some((l) => l.startsWith('inject:pod-cpu-hog'))).toBe(false);
    expect(calls.log).toContain('revert:pod-delete');
    expect(calls.log).not.toContain('revert:pod-cpu-hog');
    expect(r.faults.map((f) => f.state)).toEqual(['reverted', 'skipped']);
    // the third guard call comes after the first fault's revert, and after the second fault's ramp time
    expect(calls.log.lastIndexOf('guard:incidents')).toBeGreaterThan(calls.log.indexOf('revert:pod-delete'));
    const ramp = r.timeline.find((e) => e.message === 'ramp time 30000 ms before pod-cpu-hog');
    const failed = r.timeline.find((e) => e.message === 'guard incidents before pod-cpu-hog: FAILED - change freeze declared');
    expect(ramp).toBeDefined();
    expect(failed).toBeDefined();
    // workflow (skipped) time, not wall time: the check ran once the ramp time was over
    expect(Date.parse(failed!.at) - Date.parse(ramp!.at)).toBeGreaterThanOrEqual(30_000);
  });
});

// ------------------------------------------------------------------ malformed inputs

/** Activities that record every call by name: a malformed run must call none. */
function recording(used: string[]): TempestActivities {
  const calls: Calls = { log: [], injected: 0, reverted: 0 };
  const acts = fakeActivities(calls) as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>;
  return Object.fromEntries(
    Object.entries(acts).map(([k, f]) => [
      k,
      (...a: unknown[]) => {
        used.push(k);
        return f(...a);
      },
    ]),
  ) as unknown as TempestActivities;
}

/**
 * Run `workflowType` once per crafted argument list with the raw client, on one worker; the results in order.
 * One after the other: each result() unlocks the test server's time skipping, and concurrent unlocks let it skip
 * past the workflow tasks the worker is still running (they then time out).
 */
async function runRaw<R>(workflowType: string, argLists: unknown[][], used: string[]): Promise<R[]> {
  const env = testEnv();
  const taskQueue = `raw-${Math.random().toString(36).slice(2)}`;
  const worker = await Worker.create({ connection: env.nativeConnection, taskQueue, workflowBundle: await workflowBundle(), activities: recording(used) });
  return worker.runUntil(async () => {
    const out: R[] = [];
    for (const [i, args] of argLists.entries())
      out.push((await env.client.workflow.execute(workflowType, { taskQueue, workflowId: `${taskQueue}-${i}`, args })) as R);
    return out;
  });
}

describe('a malformed input ends the run at once with the reason, and calls no activity', () => {
  test('experimentWorkflow: verdict Error, "the run\'s input is malformed: ..."', async () => {
    const good = seed();
    const noProbeProps = structuredClone(good);
    delete (noProbeProps.faults[0].probes[0] as { runProperties?: unknown }).runProperties;
    const cases: Array<[unknown[], string]> = [
      [[], 'the input is not an object'],
      [[null], 'the input is not an object'],
      [['run it'], 'the input is not an object'],
      [[[good, opts()]], 'the input is not an object'],
      [[{ options: opts() }], 'spec is not an object'],
      [[{ spec: 'api-gateway-chaos', options: opts() }], 'spec is not an object'],
      [[{ spec: good }], 'options is not an object'],
      [[{ spec: good, options: 'fast' }], 'options is not an object'],
      [[{ spec: { ...good, name: 42 }, options: opts() }], 'spec.name is not a name'],
      [[{ spec: { ...good, target: 'footanalytics' }, options: opts() }], 'spec.target needs namespace and labelSelector'],
      [[{ spec: { ...good, faults: 'pod-delete' }, options: opts() }], 'spec.faults must be a list of 1 to 100 faults'],
      [[{ spec: { ...good, faults: [] }, options: opts() }], 'spec.faults must be a list of 1 to 100 faults'],
      [[{ spec: { ...good, faults: [{ ...good.faults[0], durationMs: '60s' }] }, options: opts() }], 'spec.faults[0].durationMs is not a number'],
      [[{ spec: { ...good, faults: [{ ...good.faults[0], probes: {} }] }, options: opts() }], 'spec.faults[0].probes must be a list'],
      [[{ spec: noProbeProps, options: opts() }], 'spec.faults[0].probes[0].runProperties is not an object'],
      // the legacy client-side copies are read at start: only as lists of named entries
      [[{ spec: good, options: { ...opts(), guards: 'x' } }], 'options.guards is not a list of named entries'],
      [[{ spec: good, options: { ...opts(), rollbackActions: 5 } }], 'options.rollbackActions is not a list of named entries'],
      [[{ spec: good, options: { ...opts(), rollbackTriggers: [{}] } }], 'options.rollbackTriggers is not a list of named entries'],
    ];
    const used: string[] = [];
    const results = await runRaw<ExperimentResult>(
      'experimentWorkflow',
      cases.map(([args]) => args),
      used,
    );
    for (const [i, [, why]] of cases.entries()) {
      expect(results[i]).toMatchObject({
        verdict: 'Error',
        reason: `the run's input is malformed: ${why}`,
        experiment: 'invalid-input',
        faults: [],
        probes: [],
        guards: [],
      });
    }
    expect(used).toEqual([]);
  });

  test('progressiveWorkflow: verdict Error with the reason, no stage started', async () => {
    const [d] = loadFile(join(ROOT, 'examples/progressive/api-gateway-progressive.yaml'));
    if (d.kind !== 'ProgressiveChaos') throw new Error('not progressive');
    const good: ProgressiveSpec = d.progressive;
    const cases: Array<[unknown[], string]> = [
      [[], 'the input needs spec and options'],
      [[{ spec: good }], 'the input needs spec and options'],
      [[{ spec: 'p', options: opts() }], 'the input needs spec and options'],
      [[{ spec: { ...good, name: ['p'] }, options: opts() }], 'spec.name is not a name'],
      [[{ spec: { ...good, stages: 'stage_1' }, options: opts() }], 'spec.stages must be a list of 1 to 20 stages'],
      [
        [{ spec: { ...good, stages: [{ ...good.stages[0], chaosPercentage: '10%' }] }, options: opts() }],
        'spec.stages[0] needs id, name, chaosPercentage, durationMs, successThreshold',
      ],
      [[{ spec: { ...good, engine: undefined }, options: opts() }], 'spec.engine is not an object'],
      [[{ spec: { ...good, engine: { ...good.engine, faults: null } }, options: opts() }], 'spec.engine.faults must be a list of 1 to 100 faults'],
    ];
    const used: string[] = [];
    const results = await runRaw<ProgressiveResult>(
      'progressiveWorkflow',
      cases.map(([args]) => args),
      used,
    );
    for (const [i, [, why]] of cases.entries()) {
      expect(results[i]).toEqual({ name: 'invalid-input', verdict: 'Error', reason: `the run's input is malformed: ${why}`, stages: [], resilienceScore: 0 });
    }
    expect(used).toEqual([]);
  });

  test('gameDayWorkflow: verdict Error with the reason, no step started', async () => {
    const [d] = loadFile(join(ROOT, 'examples/gamedays/footanalytics-monthly.yaml'));
    if (d.kind !== 'GameDay') throw new Error('not a game day');
    const good: GameDaySpec = d.gameDay;
    const sc = good.scenarios[0];
    expect(sc.steps.map((s) => s.kind)).toEqual(['engine', 'manual', 'manual']);
    const withSteps = (steps: unknown[]) => ({ ...good, scenarios: [{ ...sc, steps }] });
    const cases: Array<[unknown[], string]> = [
      [[], 'the input needs spec and options'],
      [[{ spec: good, options: null }], 'the input needs spec and options'],
      [[{ spec: { ...good, name: 7 }, options: opts() }], 'spec.name is not a name'],
      [[{ spec: { ...good, scenarios: {} }, options: opts() }], 'spec.scenarios must be a list of 1 to 50 scenarios'],
      [[{ spec: { ...good, scenarios: [{ ...sc, steps: 'all' }] }, options: opts() }], 'spec.scenarios[0] needs name, durationMs and steps'],
      [[{ spec: withSteps([{ ...sc.steps[0], kind: 'robot' }]), options: opts() }], 'spec.scenarios[0].steps[0] needs experiment and kind'],
      [[{ spec: withSteps([{ ...sc.steps[0], engine: 'zone_failure.yaml' }]), options: opts() }], 'spec.scenarios[0].steps[0].engine is not an object'],
      [
        [{ spec: withSteps([sc.steps[0], { ...sc.steps[1], instructions: { do: 'it' } }]), options: opts() }],
        'spec.scenarios[0].steps[1].instructions is not text',
      ],
    ];
    const used: string[] = [];
    const results = await runRaw<GameDayResult>(
      'gameDayWorkflow',
      cases.map(([args]) => args),
      used,
    );
    for (const [i, [, why]] of cases.entries()) {
      expect(results[i]).toEqual({ name: 'invalid-input', verdict: 'Error', reason: `the run's input is malformed: ${why}`, steps: [], resilienceScore: 0 });
    }
    expect(used).toEqual([]);
  });

  test('scheduleGateWorkflow: not run, "the gate\'s input is malformed: ..."', async () => {
    const [d] = loadFile(join(ROOT, 'examples/schedules/footanalytics-chaos-schedule.yaml'));
    if (d.kind !== 'ChaosSchedule') throw new Error('not a schedule');
    const good: ScheduleSpec = d.schedule;
    const cases: Array<[unknown[], string]> = [
      [[], 'the input needs a schedule'],
      [[{ options: opts() }], 'the input needs a schedule'],
      [[{ schedule: 'nightly', options: opts() }], 'the input needs a schedule'],
      [[{ schedule: { ...good, engine: undefined }, options: opts() }], 'schedule.engine is not an object'],
      [[{ schedule: { ...good, engine: { ...good.engine, faults: [] } }, options: opts() }], 'schedule.engine.faults must be a list of 1 to 100 faults'],
      // every field gateDecision reads
      [[{ schedule: { ...good, days: undefined }, options: opts() }], 'schedule.days is not a list of days 0-6'],
      [[{ schedule: { ...good, days: 'Mon' }, options: opts() }], 'schedule.days is not a list of days 0-6'],
      [[{ schedule: { ...good, state: 'running' }, options: opts() }], 'schedule.state is not active, halt or complete'],
      [[{ schedule: { ...good, once: 'tomorrow' }, options: opts() }], 'schedule.once is not a time'],
      [[{ schedule: good }], 'options is not an object'],
    ];
    const used: string[] = [];
    const results = await runRaw<ScheduleGateResult>(
      'scheduleGateWorkflow',
      cases.map(([args]) => args),
      used,
    );
    for (const [i, [, why]] of cases.entries()) {
      expect(results[i]).toEqual({ ran: false, reason: `the gate's input is malformed: ${why}` });
    }
    expect(used).toEqual([]);
  });
});

// ------------------------------------------------------------------ signal text

describe('signalText: the text a signal carries is cleaned', () => {
  test('control characters become U+FFFD (tab and newline stay), then the text is trimmed', () => {
    expect(signalText('stop\u0000now')).toBe('stop\ufffdnow');
    expect(signalText('\u001b[2Jpager went off\u001b[0m')).toBe('\ufffd[2Jpager went off\ufffd[0m');
    expect(signalText('a\u0007b\u0008c\u000bd\u000ce\u000df\u007fg\u0085h\u009fi')).toBe('a\ufffdb\ufffdc\ufffdd\ufffde\ufffdf\ufffdg\ufffdh\ufffdi');
    expect(signalText('line one\nline two\tend')).toBe('line one\nline two\tend');
    expect(signalText('  \n\t pager went off \t\n ')).toBe('pager went off');
    // a control character is replaced, not dropped: it still shows that something was there
    expect(signalText(' \u0000 ')).toBe('\ufffd');
    // printable text beyond C0 / C1 is kept as it is
    expect(signalText('Zürich – 東京 ✓')).toBe('Zürich – 東京 ✓');
  });

  test('cut to max characters (1000 by default) with an ellipsis; empty or not a string: undefined', () => {
    expect(signalText('x'.repeat(1000))).toBe('x'.repeat(1000));
    const long = signalText('y'.repeat(5000))!;
    expect(long).toHaveLength(1000);
    expect(long.endsWith('y…')).toBe(true);
    expect(signalText('abcdef', 4)).toBe('abc…');
    expect(signalText('\u0001\u0002\u0003\u0004\u0005', 4)).toBe('\ufffd\ufffd\ufffd…'); // replaced first, then cut
    expect(signalText('   ')).toBeUndefined();
    expect(signalText('')).toBeUndefined();
    expect(signalText(42)).toBeUndefined();
    expect(signalText({ reason: 'x' })).toBeUndefined();
    expect(signalText(undefined)).toBeUndefined();
  });

  test('an abort reason with control characters reaches the result cleaned', async () => {
    const calls = callsWithFirstInject();
    const r = await run(seed(), fakeActivities(calls), async (h) => {
      await calls.firstInject;
      await h.signal(abortSignal, '  \u001b[31mpager\r\nwent off\u0000  ');
    });
    expect(r.verdict).toBe('Aborted');
    expect(r.reason).toBe('\ufffd[31mpager\ufffd\nwent off\ufffd');
    expect(messages(r)).toContain('abort requested: \ufffd[31mpager\ufffd\nwent off\ufffd');
    expect(calls.reverted).toBe(1);
  });

  test('flying blind: rollback triggers that cannot be evaluated blindAfter polls in a row stop the chaos like a breach (Fail, rollback actions run)', async () => {
    const calls: Calls = { log: [], injected: 0, reverted: 0 };
    const trig = {
      triggers: [{ name: 'error-rate', query: 'x', criteria: '>=' as const, threshold: '0.05' }],
      triggerPollMs: 1000,
      triggerBlindAfter: 3,
      rollbackActions: actions,
    };
    let polls = 0;
    const acts = fakeActivities(
      calls,
      {
        async evaluateTriggers() {
          polls++;
          return { blind: true as const, names: ['error-rate'], reason: 'fetch failed (prometheus:9090)', at: new Date().toISOString() };
        },
      },
      trig,
    );
    const r = await run(seed(), acts);
    expect(r.verdict).toBe('Fail');
    expect(r.reason).toBe(
      'rollback triggers could not be evaluated 3 times in a row (flying blind is treated as a breach: rollbackTriggers.blindAfter): fetch failed (prometheus:9090)',
    );
    expect(polls).toBe(3);
    expect(messages(r)).toContain('rollback triggers error-rate could not be evaluated (2/3 in a row): fetch failed (prometheus:9090)');
    expect(r.rollbackActions?.map((a) => a.name)).toEqual(['Scale up replicas', 'Trigger incident']);
    expect(calls.reverted).toBe(1);
  });

  test('blindAfter 0 (the operator says so): blind polls are noted, never a breach; one good poll resets the count', async () => {
    const calls: Calls = { log: [], injected: 0, reverted: 0 };
    let polls = 0;
    const blindOrNot = () => (++polls % 3 === 0 ? null : { blind: true as const, names: ['p95'], reason: 'down', at: new Date().toISOString() });
    const base = { triggers: [{ name: 'p95', query: 'x', criteria: '>=' as const, threshold: '2' }], triggerPollMs: 1000 };
    const off = await run(seed(), fakeActivities(calls, { evaluateTriggers: async () => blindOrNot() }, { ...base, triggerBlindAfter: 0 }));
    expect(off.verdict).toBe('Pass');
    expect(polls).toBeGreaterThan(10);
    // with 3: two blind, then a good one, again and again: never three in a row
    polls = 0;
    const reset = await run(
      seed(),
      fakeActivities({ log: [], injected: 0, reverted: 0 }, { evaluateTriggers: async () => blindOrNot() }, { ...base, triggerBlindAfter: 3 }),
    );
    expect(reset.verdict).toBe('Pass');
  });

  test("the dead-man margin is the worker's policy: every injection carries chaos end + that margin, and the result says so per fault", async () => {
    const calls: Calls = { log: [], injected: 0, reverted: 0 };
    const seen: string[] = [];
    const base = fakeActivities(calls, {}, { deadManMarginMs: 120_000 });
    const acts = fakeActivities(
      calls,
      {
        async injectFault(r) {
          seen.push(r.expiresAt);
          return base.injectFault(r);
        },
      },
      { deadManMarginMs: 120_000 },
    );
    const r = await run(seed(), acts);
    const f = r.faults[0];
    expect(f.deadManMarginMs).toBe(120_000);
    expect(seen.length).toBeGreaterThan(0);
    expect(new Set(seen)).toEqual(new Set([f.deadManAt]));
    // chaos end + 2 min: the fault's 60 s window starts right after injection began
    expect(Date.parse(f.deadManAt!) - Date.parse(f.injectedAt!)).toBeGreaterThanOrEqual(seed().faults[0].durationMs + 120_000 - 1000);
  });

  test('a probe reason from the target (an HTTP body with terminal escapes and a bidi override) reaches the timeline cleaned', async () => {
    const calls: Calls = { log: [], injected: 0, reverted: 0 };
    const acts = fakeActivities(calls, {
      async runProbe(p) {
        return {
          name: p.name,
          type: p.type,
          mode: p.mode,
          phase: 'Continuous',
          iteration: 1,
          status: 'Failed',
          reason: 'body \u001b]0;owned\u0007 \u202edesrever',
          attempts: 1,
          durationMs: 1,
          at: new Date().toISOString(),
        };
      },
    });
    const r = await run(seed(), acts);
    const all = messages(r).join('\n');
    expect(all).toContain('body \ufffd]0;owned\ufffd \ufffddesrever');
    expect(all).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/);
    expect(calls.reverted).toBe(1);
  });
});

function run(spec: ExperimentSpec, acts: TempestActivities, during?: Parameters<typeof runWorkflow>[4]): Promise<ExperimentResult> {
  return runWorkflow(testEnv(), spec, opts(), acts, during);
}
