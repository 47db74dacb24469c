/**
 * The local platform's fault ledger (an annotation on the fleet's owner: anyone who reaches the fleet's control
 * API may rewrite it) is a hint. One that is not JSON, or JSON that is not an entry, is no entry: a revert still
 * undoes what the live fleet shows (the behaviour this run set, found by its own key), a retried inject does not
 * throw on it, and the annotation is cleared. Before, `JSON.parse` threw at every attempt: the revert never ended.
 * Real activities in a real activity Context, against a real fleet of replica processes; no mocks.
 */
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { createActivities } from '../../activities/index.js';
import type { InjectRequest, InjectResult, RevertResult, TempestActivities } from '../../activities/types.js';
import { ledgerKey } from '../../activities/faults/driver.js';
import type { ExperimentSpec } from '../../config/spec.js';
import { engine } from '../helpers/engines.js';
import { startFleet, waitFor, type TestFleet } from '../helpers/fleet.js';
import { testConfig } from '../helpers/config.js';

let fleet: TestFleet;
let acts: TempestActivities;
const mockEnv = () => new MockActivityEnvironment(undefined, { logger: new DefaultLogger('ERROR') });

let seq = 0;
function request(spec: ExperimentSpec): InjectRequest {
  return {
    runId: `local-ledger-${process.pid}-${Date.now().toString(36)}-${++seq}`,
    experiment: spec.name,
    target: spec.target,
    fault: spec.faults[0],
    faultIndex: 0,
    round: 0,
    expiresAt: new Date(Date.now() + 60_000).toISOString(),
  };
}
const inject = (req: InjectRequest): Promise<InjectResult> => mockEnv().run(acts.injectFault, req);
const revert = (req: InjectRequest): Promise<RevertResult> => mockEnv().run(acts.revertFault, req);

async function slow(key: string): Promise<string[]> {
  const out: string[] = [];
  for (const p of await fleet.client.pods()) {
    const b = await fleet.client.behaviour(p.name);
    if (b?.setBy === key && b.latencyMs > 0) out.push(p.name);
  }
  return out;
}

beforeAll(async () => {
  fleet = await startFleet({ replicas: 2, restartDelayMs: 200 });
  acts = createActivities({ config: testConfig(fleet) });
  await waitFor('fleet steady', async () => (await fleet.client.pods()).every((p) => p.phase === 'Running'), 30_000, 100);
}, 90_000);

afterAll(async () => {
  if (!fleet) return;
  for (const p of await fleet.client.pods().catch(() => [])) {
    const b = await fleet.client.behaviour(p.name).catch(() => undefined);
    if (b?.setBy?.startsWith('tempest.io/fault.local-ledger-')) await fleet.client.setBehaviour(p.name, {}).catch(() => undefined);
  }
  await fleet.stop();
}, 30_000);

test('a ledger that is not JSON: the revert still removes the latency this run set (found by its key on the pods) and clears the annotation', async () => {
  const req = request(engine('local-ledger', 'pod-network-latency', { TOTAL_CHAOS_DURATION: '30', NETWORK_LATENCY: '300', PODS_AFFECTED_PERC: '100' }));
  const key = ledgerKey(req);
  const r = await inject(req);
  expect(r.affected).toHaveLength(2);
  expect((await slow(key)).sort()).toEqual([...r.affected].sort());
  await fleet.client.annotateOwner({ [key]: '{"fault":"pod-network-latency","rounds":{"0":["api-gat' });
  const rv = await revert(req);
  expect([...rv.undone].sort()).toEqual([...r.affected].sort());
  expect(rv.verification).toContain('no latency on 2 pod(s)');
  expect(await slow(key)).toEqual([]);
  expect((await fleet.client.owner()).annotations[key]).toBeUndefined();
});

test('a ledger that is JSON but not an entry (rounds a string, done a number): a retried inject does not throw on it, and the revert cleans up', async () => {
  const req = request(engine('local-ledger', 'pod-network-latency', { TOTAL_CHAOS_DURATION: '30', NETWORK_LATENCY: '300', PODS_AFFECTED_PERC: '50' }));
  const key = ledgerKey(req);
  await fleet.client.annotateOwner({ [key]: JSON.stringify({ fault: 'pod-network-latency', rounds: 'x', done: 7, data: 'y' }) });
  const r = await inject(req);
  expect(r.affected).toHaveLength(1);
  expect(await slow(key)).toEqual(r.affected);
  const rv = await revert(req);
  expect(rv.undone).toEqual(r.affected);
  expect(await slow(key)).toEqual([]);
  expect((await fleet.client.owner()).annotations[key]).toBeUndefined();
});
