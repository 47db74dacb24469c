/**
 * The seed's rollback_actions against real servers: a real fleet (scale, restart unhealthy pods) and the
 * local PagerDuty server (Events API v2 trigger, visible afterwards through the REST incidents API).
 */
import { MockActivityEnvironment } from '@temporalio/testing';
import { createActivities } from '../../activities/index.js';
import type { RollbackActionSpec } from '../../config/spec.js';
import type { RollbackActionOutcome, RollbackActionsRequest, TempestActivities } from '../../activities/types.js';
import { startFleet, waitFor, type TestFleet } from '../helpers/fleet.js';
import { testConfig } from '../helpers/config.js';
import { startPagerDuty, type PagerDutyHandle } from '../helpers/pagerduty.js';

let fleet: TestFleet;
let pd: PagerDutyHandle;
beforeAll(async () => {
  fleet = await startFleet();
  pd = await startPagerDuty();
}, 90_000);
afterAll(async () => {
  await fleet?.stop();
  await pd?.stop();
});

/** Run the real activity in a mock activity context (it heartbeats and logs like in a worker). */
function runActions(acts: TempestActivities, req: RollbackActionsRequest): Promise<RollbackActionOutcome[]> {
  return new MockActivityEnvironment().run(acts.runRollbackActions, req) as Promise<RollbackActionOutcome[]>;
}

const target = { namespace: 'footanalytics', labelSelector: 'app.kubernetes.io/name=api-gateway', kind: 'deployment' as const };
function request(actions: RollbackActionSpec[], recoveryMs?: number): RollbackActionsRequest {
  return { target, experiment: 'api-gateway-chaos', workflowId: `wf-${Date.now()}`, reason: 'rollback trigger p95 fired', recoveryMs, actions };
}

test('scale up replicas when fewer than minReplicas are ready; skipped when enough', async () => {
  const acts = createActivities({ config: testConfig(fleet) });
  await fleet.client.scale(1);
  await waitFor('scaled down', async () => (await fleet.client.owner()).ready === 1, 30_000);
  const [out] = await runActions(acts, request([{ type: 'scale', name: 'Scale up replicas', minReplicas: 3 }]));
  expect(out).toMatchObject({ status: 'done' });
  expect(out.detail).toContain('to 3');
  await waitFor('3 ready again', async () => (await fleet.client.owner()).ready === 3, 60_000);
  const [again] = await runActions(acts, request([{ type: 'scale', name: 'Scale up replicas', minReplicas: 3 }]));
  expect(again.status).toBe('skipped');
}, 120_000);

test('restart unhealthy pods: a pod that went unready is deleted and replaced', async () => {
  const acts = createActivities({ config: testConfig(fleet) });
  const [victim] = await fleet.client.pods();
  await fleet.client.setBehaviour(victim.name, { down: true });
  await waitFor('victim unready', async () => (await fleet.client.pods()).some((p) => p.name === victim.name && !p.ready), 30_000);
  const [out] = await runActions(acts, request([{ type: 'restartUnhealthy', name: 'Restart unhealthy pods', restartThreshold: 3 }]));
  expect(out.status).toBe('done');
  expect(out.detail).toContain(victim.name);
  await waitFor('replaced and ready', async () => {
    const pods = await fleet.client.pods();
    return !pods.some((p) => p.name === victim.name) && pods.filter((p) => p.ready).length === 3;
  }, 60_000);
}, 120_000);

test('trigger incident through Events v2 only when recovery took longer than the threshold', async () => {
  const acts = createActivities({ config: testConfig(fleet) });
  const action: RollbackActionSpec = { type: 'pagerduty', name: 'Trigger incident', eventsUrl: `${pd.url}/v2/enqueue`, routingKey: pd.routingKey('chaos'), afterRecoveryMs: 300_000, severity: 'critical' };
  const [quick] = await runActions(acts, request([action], 12_000));
  expect(quick.status).toBe('skipped');
  const req = request([action], 420_000);
  const [slow] = await runActions(acts, req);
  expect(slow.status).toBe('done');
  const list = await pd.rest('GET', '/incidents?statuses[]=triggered');
  expect(list.status).toBe(200);
  expect(list.body.incidents.map((i: { title: string }) => i.title)).toContain('Chaos experiment api-gateway-chaos rolled back: rollback trigger p95 fired');
  // a bad routing key is reported as a failed action, not thrown
  const [bad] = await runActions(acts, request([{ ...action, routingKey: 'short' }], 420_000));
  expect(bad.status).toBe('failed');
  expect(bad.detail).toContain('400');
}, 60_000);
