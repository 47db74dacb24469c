/**
 * A Litmus ChaosSchedule as a real Temporal Schedule on the dev server: `tempest schedule apply` creates it
 * with the window's calendar; a triggered run goes through the gate, runs the engine against a real fleet,
 * and a second run inside minChaosInterval is skipped with its reason.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
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
  const id = 'tempest-schedule-chaos-engineering-footanalytics-chaos-schedule';
  await client.schedule.getHandle(id).delete().catch(() => undefined);
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
  writeFileSync(file, `apiVersion: litmuschaos.io/v1alpha1
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
`);
  const id = `tempest-schedule-chaos-engineering-${name}`;
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
    const secondRun = await waitFor('second gated run', async () => {
      const acts = (await h.describe()).info.recentActions;
      return acts.length >= 2 ? acts[acts.length - 1].action.workflow.workflowId : undefined;
    }, 30_000, 500);
    const r2 = (await client.workflow.getHandle(secondRun).result()) as ScheduleGateResult;
    expect(r2.ran).toBe(false);
    expect(r2.reason).toMatch(/^last run \d+ min ago, minChaosInterval is 480 min$/);
    await h.delete();
  });
}, 120_000);
