/**
 * A fault is never left behind, on Kubernetes: a real worker PROCESS (bin/tempest --config <file> worker,
 * platform.driver kubernetes, as tempest-worker) is SIGKILLed in the middle of a pod-network-latency
 * run against the dev server. The netem containers and the ledger outlive it on the cluster. A new worker
 * process picks the run up from its history, reverts (undo containers on every pod), verifies, and clears the
 * ledger from the Deployment and every pod — asserted on the API, not on logs.
 */
import { Client, Connection } from '@temporalio/client';
import { TempestClient } from '../../../client/client.js';
import { faultIds } from '../../../activities/faults/kubernetes-common.js';
import { killWorkerProcesses, sigkill, startWorkerProcess } from '../../helpers/worker-process.js';
import {
  freshPods,
  k8sConfig,
  k8sEngine,
  ledgerKeys,
  live,
  pods,
  saKubeconfig,
  waitFor,
  type Admin,
  cleanupTestFiles,
  seededCluster,
} from '../../helpers/k8s.js';

let a: Admin;
let connection: Connection;

beforeAll(async () => {
  a = await seededCluster();
  connection = await Connection.connect({ address: process.env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233' });
}, 900_000);

afterAll(async () => {
  cleanupTestFiles();
  killWorkerProcesses();
  await connection?.close();
});

test('SIGKILL the worker mid pod-network-latency: the netem containers and the ledger outlive it; the next worker reverts every pod and clears the ledger', async () => {
  const start = await freshPods(a, 'api-gateway');
  const cfg = k8sConfig(await saKubeconfig('footanalytics', a));
  expect(cfg.platform.driver).toBe('kubernetes');
  const tc = new TempestClient(new Client({ connection, namespace: 'default' }), cfg);
  const spec = k8sEngine('api-gateway-crash-latency', 'api-gateway', 'pod-network-latency', {
    TOTAL_CHAOS_DURATION: '20',
    NETWORK_LATENCY: '300',
    PODS_AFFECTED_PERC: '100',
  });

  const first = await startWorkerProcess(cfg.file);
  const h = await tc.start(spec);
  const { key, id } = faultIds({ runId: h.workflowId, faultIndex: 0 });
  const netem = `tempest-netem-${id}`;

  // injected on all three pods, with the ledger on the Deployment and the mark on each pod
  await waitFor(
    'netem on every pod',
    async () => {
      const ps = live(await pods(a, 'api-gateway'));
      return ps.length === 3 && ps.every((p) => p.spec?.ephemeralContainers?.some((c) => c.name === netem) && p.metadata?.annotations?.[key]);
    },
    90_000,
  );
  await waitFor('ledger says injected', async () => (await ledgerKeys(a, 'api-gateway', key)).includes(`deployment:${key}`));

  await sigkill(first);
  await new Promise((r) => setTimeout(r, 1000));
  // the fault outlives the injector: still on every pod, nobody reverting it
  const orphaned = live(await pods(a, 'api-gateway'));
  expect(orphaned.map((p) => p.metadata!.uid).sort()).toEqual(start.map((p) => p.metadata!.uid).sort());
  for (const p of orphaned) {
    const c = p.spec!.ephemeralContainers!.find((e) => e.name === netem)!;
    expect(Object.fromEntries((c.env ?? []).map((e) => [e.name, e.value]))).toMatchObject({ TEMPEST_IF: 'eth0', TEMPEST_NETEM: 'delay 300ms 0ms' });
    expect(p.spec!.ephemeralContainers!.some((e) => e.name.startsWith('tempest-undo-'))).toBe(false);
  }
  expect((await ledgerKeys(a, 'api-gateway', key)).sort()).toEqual([`deployment:${key}`, ...orphaned.map((p) => `pod/${p.metadata!.name}:${key}`)].sort());

  await startWorkerProcess(cfg.file);
  const r = await tc.result(h.workflowId);
  expect(r.faults[0].state).toBe('reverted');
  expect(r.faults[0].revert!.verification).toContain('ledger clean');
  // every pod got its undo container (exec is refused on kwok), and the ledger is gone everywhere
  for (const p of live(await pods(a, 'api-gateway'))) {
    expect(p.spec!.ephemeralContainers!.map((e) => e.name)).toContain(`tempest-undo-${id}-1`);
  }
  expect(await ledgerKeys(a, 'api-gateway', key)).toEqual([]);
  expect(['Pass', 'Fail']).toContain(r.verdict);
}, 240_000);
