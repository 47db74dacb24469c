/**
 * A Litmus ChaosSchedule as a real Temporal Schedule on the dev server: `tempest schedule apply` creates it
 * with the window's calendar; a triggered run goes through the gate, runs the engine against a real fleet,
 * and a second run inside minChaosInterval is skipped with its reason.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection, ScheduleNotFoundError } from '@temporalio/client';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createActivities } from '../../activities/index.js';
import { createWorker } from '../../workers/worker.js';
import type { ScheduleGateResult } from '../../workflows/schedule-gate.js';
import { startFleet, waitFor, type TestFleet } from '../helpers/fleet.js';
import { testConfig } from '../helpers/config.js';
import { ROOT } from '../helpers/temporal.js';

let fleet: TestFleet;
let connection: Connection;
let client: Client;
beforeAll(async () => {
  fleet = await startFleet();
  connection = await Connection.connect({ address: process.env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233' });
  client = new Client({ connection });
}, 90_000);
afterAll(async () => {
  await fleet?.stop();
  await connection?.close();
});

function tempest(args: string[]): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) => {
    const p = spawn(`${ROOT}bin/tempest`, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (err += d));
    p.on('exit', (code) => resolve({ code: code ?? -1, out, err }));
  });
}

test('apply the seed ChaosSchedule: a paused-or-active Temporal Schedule at 02:00 UTC Mon-Fri; apply again updates', async () => {
  const cfg = testConfig(fleet, { blastRadius: { allow: [{ namespace: 'footanalytics' }] } });
  const id = 'tempest-schedule-chaos-engineering.footanalytics-chaos-schedule';
  await client.schedule
    .getHandle(id)
    .delete()
    .catch(() => undefined);
  const first = await tempest(['--config', cfg.file, 'schedule', 'apply', 'examples/schedules/footanalytics-chaos-schedule.yaml']);
  expect(first.err).toBe('');
  expect(first.out).toContain(`created ${id}: 02:00-04:00 UTC, Mon,Tue,Wed,Thu,Fri, at least 8h apart`);
  const d = await client.schedule.getHandle(id).describe();
  expect(d.spec.calendars?.[0]).toMatchObject({ hour: [{ start: 2, end: 2, step: 1 }], minute: [{ start: 0, end: 0, step: 1 }] });
  expect(JSON.stringify(d.spec.calendars?.[0].dayOfWeek)).toContain('MONDAY');
  expect(JSON.stringify(d.spec.calendars?.[0].dayOfWeek)).not.toContain('SATURDAY');
  expect(d.action).toMatchObject({ type: 'startWorkflow', workflowType: 'scheduleGateWorkflow', taskQueue: cfg.temporal.taskQueue });
  const again = await tempest(['--config', cfg.file, 'schedule', 'apply', 'examples/schedules/footanalytics-chaos-schedule.yaml']);
  expect(again.out).toContain(`updated ${id}`);
  const list = await tempest(['--config', cfg.file, 'schedule', 'list']);
  expect(list.out).toContain(id);
  const del = await tempest(['--config', cfg.file, 'schedule', 'delete', id]);
  expect(del.out).toContain(`deleted ${id}`);
}, 60_000);

test('triggered: the gate runs the engine against the fleet, then skips a run inside minChaosInterval', async () => {
  const cfg = testConfig(fleet);
  const now = new Date();
  const m = now.getUTCHours() * 60 + now.getUTCMinutes();
  const hhmm = (x: number) => `${String(Math.floor(((x + 1440) % 1440) / 60)).padStart(2, '0')}:${String(((x + 1440) % 1440) % 60).padStart(2, '0')}`;
  const name = `gate-test-${Date.now().toString(36)}`;
  const dir = mkdtempSync(join(tmpdir(), 'tempest-sched-'));
  const file = join(dir, 'schedule.yaml');
  writeFileSync(
    file,
    `apiVersion: litmuschaos.io/v1alpha1
kind: ChaosSchedule
metadata:
  name: ${name}
  namespace: chaos-engineering
spec:
  schedule:
    now: true
    repeat:
      timeRange:
        startTime: "${hhmm(m - 60)}"
        endTime: "${hhmm(m + 60)}"
      minChaosInterval: "8h"
  engineTemplateSpec:
    appinfo:
      appns: footanalytics
      applabel: "app.kubernetes.io/name=api-gateway"
      appkind: deployment
    experiments:
      - name: pod-delete
        spec:
          components:
            env:
              - name: TOTAL_CHAOS_DURATION
                value: "4"
              - name: CHAOS_INTERVAL
                value: "2"
`,
  );
  const id = `tempest-schedule-chaos-engineering.${name}`;
  const worker = await createWorker({ config: cfg });
  await worker.runUntil(async () => {
    const applied = await tempest(['--config', cfg.file, 'schedule', 'apply', file]);
    expect(applied.out).toContain(`created ${id}`);
    expect(applied.out).toContain('triggered now');
    const h = client.schedule.getHandle(id);
    const firstRun = await waitFor('first gated run', async () => (await h.describe()).info.recentActions[0]?.action.workflow.workflowId, 30_000, 500);
    const r1 = (await client.workflow.getHandle(firstRun).result()) as ScheduleGateResult;
    expect(r1).toMatchObject({ ran: true, verdict: 'Pass' });
    const child = await client.workflow.getHandle(r1.experimentWorkflowId!).result();
    expect(child.faults[0]).toMatchObject({ name: 'pod-delete', state: 'reverted', rounds: 2 });

    await tempest(['--config', cfg.file, 'schedule', 'trigger', id]);
    const secondRun = await waitFor(
      'second gated run',
      async () => {
        const acts = (await h.describe()).info.recentActions;
        return acts.length >= 2 ? acts[acts.length - 1].action.workflow.workflowId : undefined;
      },
      30_000,
      500,
    );
    const r2 = (await client.workflow.getHandle(secondRun).result()) as ScheduleGateResult;
    expect(r2.ran).toBe(false);
    expect(r2.reason).toMatch(/^last run \d+ min ago, minChaosInterval is 480 min$/);
    await h.delete();
  });
}, 120_000);

// ---------------------------------------------------------------- schedule ids, legacy ids, the last run

/** A paused ChaosSchedule (scheduleState: halt) in namespace `ns`: applied, it never fires. */
function haltedSchedule(ns: string, name: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'tempest-sched-'));
  const file = join(dir, `${ns}.${name}.yaml`);
  writeFileSync(
    file,
    `apiVersion: litmuschaos.io/v1alpha1
kind: ChaosSchedule
metadata:
  name: ${name}
  namespace: ${ns}
spec:
  scheduleState: halt
  schedule:
    repeat:
      timeRange: { startTime: "02:00", endTime: "04:00" }
      minChaosInterval: "8h"
  engineTemplateSpec:
    appinfo:
      appns: footanalytics
      applabel: "app.kubernetes.io/name=api-gateway"
      appkind: deployment
    experiments:
      - name: pod-delete
        spec:
          components:
            env:
              - name: TOTAL_CHAOS_DURATION
                value: "4"
              - name: CHAOS_INTERVAL
                value: "2"
`,
  );
  return file;
}

const gone = async (id: string) =>
  client.schedule
    .getHandle(id)
    .describe()
    .then(
      () => false,
      (e: unknown) => e instanceof ScheduleNotFoundError,
    );

test('namespace a-b + name c and namespace a + name b-c get different ids; a legacy id is replaced only when it holds this same ChaosSchedule', async () => {
  const cfg = testConfig(fleet);
  const tag = Date.now().toString(36);
  // team A: namespace t<tag>, name x-c; team B: namespace t<tag>-x, name c. Both had the legacy id tempest-schedule-t<tag>-x-c.
  const [nsA, nameA, nsB, nameB] = [`t${tag}`, 'x-c', `t${tag}-x`, 'c'];
  const legacyId = `tempest-schedule-t${tag}-x-c`;
  const idA = `tempest-schedule-${nsA}.${nameA}`;
  const idB = `tempest-schedule-${nsB}.${nameB}`;
  // team B's schedule from before, under the legacy id: its action carries B's ChaosSchedule
  await client.schedule.create({
    scheduleId: legacyId,
    spec: { calendars: [{ hour: 2, comment: 'legacy' }] },
    action: { type: 'startWorkflow', workflowType: 'scheduleGateWorkflow', args: [{ schedule: { namespace: nsB, name: nameB } }], taskQueue: `nobody-${tag}` },
    state: { paused: true, note: 'team B, legacy id' },
  });
  try {
    const a = await tempest(['--config', cfg.file, 'schedule', 'apply', haltedSchedule(nsA, nameA)]);
    expect(a.err).toBe('');
    expect(a.out).toContain(`created ${idA}:`);
    // team A's apply left team B's legacy schedule alone (same legacy id, another ChaosSchedule)
    const legacy = await client.schedule.getHandle(legacyId).describe();
    expect(legacy.state.note).toBe('team B, legacy id');
    expect(legacy.action.type === 'startWorkflow' && legacy.action.args).toEqual([{ schedule: { namespace: nsB, name: nameB } }]);

    const b = await tempest(['--config', cfg.file, 'schedule', 'apply', haltedSchedule(nsB, nameB)]);
    expect(b.err).toBe('');
    expect(b.out).toContain(`created ${idB}:`);
    expect(idB).not.toBe(idA);
    // B's apply replaced B's own legacy schedule; A's is untouched
    expect(await gone(legacyId)).toBe(true);
    const da = await client.schedule.getHandle(idA).describe();
    expect(da.action.type === 'startWorkflow' && (da.action.args as Array<{ schedule: { namespace: string; name: string } }>)[0].schedule).toMatchObject({
      namespace: nsA,
      name: nameA,
    });
    const db = await client.schedule.getHandle(idB).describe();
    expect(db.action.type === 'startWorkflow' && (db.action.args as Array<{ schedule: { namespace: string; name: string } }>)[0].schedule).toMatchObject({
      namespace: nsB,
      name: nameB,
    });
  } finally {
    for (const id of [legacyId, idA, idB])
      await client.schedule
        .getHandle(id)
        .delete()
        .catch(() => undefined);
  }
}, 60_000);

test('`tempest schedule list` prints a schedule note without its terminal escapes', async () => {
  const cfg = testConfig(fleet);
  const id = `tempest-schedule-note-${Date.now().toString(36)}`;
  await client.schedule.create({
    scheduleId: id,
    spec: { calendars: [{ hour: 2, comment: 'note test' }] },
    action: { type: 'startWorkflow', workflowType: 'scheduleGateWorkflow', args: [{}], taskQueue: `nobody-${id}` },
    state: { paused: true, note: 'set by hand \u001b]0;owned\u0007\u001b[2J\u009b31m done' },
  });
  try {
    await waitFor(
      'the schedule in the list',
      async () => {
        for await (const s of client.schedule.list()) if (s.scheduleId === id) return true;
        return undefined;
      },
      30_000,
      500,
    );
    const r = await tempest(['--config', cfg.file, 'schedule', 'list']);
    expect(r.err).toBe('');
    const line = r.out.split('\n').find((l) => l.startsWith(`${id} `));
    expect(line).toContain('paused');
    expect(line).toContain('set by hand \ufffd]0;owned\ufffd\ufffd[2J\ufffd31m done');
    expect(r.out).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/);
  } finally {
    await client.schedule
      .getHandle(id)
      .delete()
      .catch(() => undefined);
  }
}, 60_000);

test('lastRunStart(experiment, namespace): a run of the same engine name in another namespace is not the last run', async () => {
  const cfg = testConfig(fleet);
  const experiment = `last-run-${Date.now().toString(36)}`;
  // a run elsewhere, as a CLI start records it (search attributes), on a task queue nobody polls
  const elsewhere = await client.workflow.start('experimentWorkflow', {
    taskQueue: `nobody-${experiment}`,
    workflowId: `${experiment}-elsewhere`,
    args: [{}],
    searchAttributes: { TempestExperiment: [experiment], TempestNamespace: ['payments'], TempestVerdict: ['Running'] },
  });
  try {
    const acts = createActivities({ config: cfg });
    const env = new MockActivityEnvironment({}, { client });
    const last = (ns?: string) => env.run(acts.lastRunStart, experiment, ns);
    // visibility is eventually consistent: first see the run where it is, then ask about footanalytics
    const there = await waitFor<string>('the run in visibility', async () => ((await last('payments')) as string | null) ?? undefined, 30_000, 500);
    expect(Date.parse(there)).not.toBeNaN();
    expect(await last()).toBe(there); // without a namespace: any run of the engine
    expect(await last('footanalytics')).toBeNull();
  } finally {
    await elsewhere.terminate('test done').catch(() => undefined);
  }
}, 60_000);
