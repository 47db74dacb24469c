/**
 * The seed's rollback_actions against real servers: a real fleet (scale, restart unhealthy pods) and the
 * local PagerDuty server (Events API v2 trigger, visible afterwards through the REST incidents API).
 * The actions are the WORKER's (its tempest.yaml); a request cannot bring its own, and the routing key is
 * resolved by reference inside the activity.
 */
import { MockActivityEnvironment } from '@temporalio/testing';
import { createActivities } from '../../activities/index.js';
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
function request(recoveryMs?: number, extra: Partial<RollbackActionsRequest> = {}): RollbackActionsRequest {
  return { target, experiment: 'api-gateway-chaos', workflowId: `wf-${Date.now()}`, reason: 'rollback trigger p95 fired', recoveryMs, ...extra };
}
/** A worker whose policy has exactly these rollback actions (tempest.yaml shape). */
const withActions = (rollbackActions: unknown[]) => createActivities({ config: testConfig(fleet, { rollbackActions }) });

test('scale up replicas when fewer than minReplicas are ready; skipped when enough', async () => {
  const acts = withActions([{ type: 'scale', name: 'Scale up replicas', minReplicas: 3 }]);
  await fleet.client.scale(1);
  await waitFor('scaled down', async () => (await fleet.client.owner()).ready === 1, 30_000);
  const [out] = await runActions(acts, request());
  expect(out).toMatchObject({ status: 'done' });
  expect(out.detail).toContain('to 3');
  await waitFor('3 ready again', async () => (await fleet.client.owner()).ready === 3, 60_000);
  const [again] = await runActions(acts, request());
  expect(again.status).toBe('skipped');
}, 120_000);

test('restart unhealthy pods: a pod that went unready is deleted and replaced', async () => {
  const acts = withActions([{ type: 'restartUnhealthy', name: 'Restart unhealthy pods', restartThreshold: 3 }]);
  const [victim] = await fleet.client.pods();
  await fleet.client.setBehaviour(victim.name, { down: true });
  await waitFor('victim unready', async () => (await fleet.client.pods()).some((p) => p.name === victim.name && !p.ready), 30_000);
  const [out] = await runActions(acts, request());
  expect(out.status).toBe('done');
  expect(out.detail).toContain(victim.name);
  await waitFor(
    'replaced and ready',
    async () => {
      const pods = await fleet.client.pods();
      return !pods.some((p) => p.name === victim.name) && pods.filter((p) => p.ready).length === 3;
    },
    60_000,
  );
}, 120_000);

test('trigger incident through Events v2 only when recovery took longer than the threshold; the routing key by reference', async () => {
  process.env.TEMPEST_TEST_PD_ROUTING_KEY = pd.routingKey('chaos');
  const action = {
    type: 'pagerduty',
    name: 'Trigger incident',
    eventsUrl: `${pd.url}/v2/enqueue`,
    routingKeyEnv: 'TEMPEST_TEST_PD_ROUTING_KEY',
    whenRecoveryOver: '300s',
    severity: 'critical',
  };
  const acts = withActions([action]);
  const [quick] = await runActions(acts, request(12_000));
  expect(quick.status).toBe('skipped');
  const [slow] = await runActions(acts, request(420_000));
  expect(slow.status).toBe('done');
  const list = await pd.rest('GET', '/incidents?statuses[]=triggered');
  expect(list.status).toBe(200);
  expect(list.body.incidents.map((i: { title: string }) => i.title)).toContain('Chaos experiment api-gateway-chaos rolled back: rollback trigger p95 fired');
  // a bad routing key is reported as a failed action, not thrown, and its value is in no outcome
  process.env.TEMPEST_TEST_PD_ROUTING_KEY = 'short';
  const [bad] = await runActions(acts, request(420_000));
  expect(bad.status).toBe('failed');
  expect(bad.detail).toContain('400');
  expect(JSON.stringify(bad)).not.toContain(pd.routingKey('chaos'));
  // an unset reference fails the action with a message naming the reference, not a value
  delete process.env.TEMPEST_TEST_PD_ROUTING_KEY;
  const [unset] = await runActions(acts, request(420_000));
  expect(unset).toMatchObject({ status: 'failed', detail: "secret reference env TEMPEST_TEST_PD_ROUTING_KEY is not set in the worker's environment" });
}, 60_000);

test('a request cannot bring its own actions, nor aim them outside the blast radius', async () => {
  const acts = withActions([{ type: 'scale', name: 'Scale up replicas', minReplicas: 1 }]);
  // the request lists a PagerDuty action with its own key: the worker runs only its own scale action
  const out = await runActions(
    acts,
    request(420_000, { actions: [{ type: 'pagerduty', name: 'attacker', eventsUrl: 'http://127.0.0.1:1', routingKey: 'x' } as never] }),
  );
  expect(out.map((a) => a.name)).toEqual(['Scale up replicas']);
  // a target the worker's blast radius does not allow: every action is refused, nothing runs
  const outside = await runActions(acts, request(420_000, { target: { namespace: 'kube-system', labelSelector: 'k8s-app=kube-dns', kind: 'deployment' } }));
  expect(outside).toEqual([
    {
      name: 'Scale up replicas',
      type: 'scale',
      status: 'failed',
      detail: expect.stringContaining('refused: blast radius: target kube-system/k8s-app=kube-dns'),
    },
  ]);
}, 60_000);
