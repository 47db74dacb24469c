/**
 * The orphan-fault reconciler on the kubernetes platform: the real API server, the real Temporal dev server, the
 * worker as tempest-system/tempest-worker. A pod-delete run TERMINATED after its first round leaves its ledger on
 * the Deployment and its marks on the pods; the reconcile workflow finds them (listing the namespaces the blast
 * radius names), reverts from the run's history with the fault's own revert and verify, and the ledger is gone
 * from the API objects. An entry of a run this namespace does not know, with its chaos window not over, waits.
 */
import { Client, Connection } from '@temporalio/client';
import * as k8s from '@kubernetes/client-node';
import { createWorker } from '../../../workers/worker.js';
import { TempestClient } from '../../../client/client.js';
import { faultIds } from '../../../activities/faults/kubernetes-common.js';
import type { ReconcileResult } from '../../../workflows/reconciler.js';
import { cleanupTestFiles, freshPods, k8sConfig, k8sEngine, ledgerKeys, saKubeconfig, seededCluster, waitFor, type Admin } from '../../helpers/k8s.js';

let a: Admin;
let connection: Connection;
let client: Client;

beforeAll(async () => {
  a = await seededCluster();
  connection = await Connection.connect({ address: process.env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233' });
  client = new Client({ connection, namespace: 'default' });
}, 900_000);
afterAll(async () => {
  cleanupTestFiles();
  await connection?.close();
});

test('a pod-delete run terminated after its first round: the reconciler reverts it from its history and the ledger leaves the API objects', async () => {
  await freshPods(a, 'api-gateway');
  const cfg = k8sConfig(await saKubeconfig('footanalytics', a));
  const worker = await createWorker({ config: cfg });
  const tc = new TempestClient(client, cfg);
  const reconcile = (input: object = {}) =>
    client.workflow.execute('reconcileWorkflow', {
      taskQueue: cfg.temporal.taskQueue,
      workflowId: `reconcile-k8s-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 6)}`,
      args: [input],
    }) as Promise<ReconcileResult>;
  await worker.runUntil(async () => {
    const h = await tc.start(k8sEngine('orphan-pod-delete', 'api-gateway', 'pod-delete', { TOTAL_CHAOS_DURATION: '300', CHAOS_INTERVAL: '60', FORCE: 'true' }));
    const key = faultIds({ runId: h.workflowId, faultIndex: 0 }).key;
    await waitFor('the ledger on the Deployment', async () => (await ledgerKeys(a, 'api-gateway', key)).includes(`deployment:${key}`), 60_000);
    await h.terminate('operator clicked Terminate');
    expect(await ledgerKeys(a, 'api-gateway', key)).toContain(`deployment:${key}`);

    // An entry of a run Temporal does not know, its window not over: left alone (waits), never reverted.
    const stranger = faultIds({ runId: 'run-of-another-namespace', faultIndex: 0 }).key;
    const entry = {
      fault: 'pod-delete',
      run: 'run-of-another-namespace',
      faultIndex: 0,
      rounds: {},
      done: [],
      expiresAt: new Date(Date.now() + 600_000).toISOString(),
    };
    await a.apps.patchNamespacedDeployment(
      { name: 'api-gateway', namespace: 'footanalytics', body: { metadata: { annotations: { [stranger]: JSON.stringify(entry) } } } },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
    );
    try {
      const r = await reconcile({ namespace: 'footanalytics' });
      const row = r.rows.find((x) => x.key === key);
      expect(row).toMatchObject({ runId: h.workflowId, fault: 'pod-delete', status: 'TERMINATED', outcome: 'reverted' });
      expect(row?.where).toBe('deployment footanalytics/api-gateway');
      expect(row?.verification).toMatch(/ledger/);
      expect(await ledgerKeys(a, 'api-gateway', key)).toEqual([]);
      expect(r.rows.find((x) => x.key === stranger)).toMatchObject({ status: 'NOT_FOUND', action: 'wait', outcome: 'left' });
      expect(await ledgerKeys(a, 'api-gateway', stranger)).toEqual([`deployment:${stranger}`]);
    } finally {
      await a.apps.patchNamespacedDeployment(
        { name: 'api-gateway', namespace: 'footanalytics', body: { metadata: { annotations: { [stranger]: null } } } },
        k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
      );
    }
  });
}, 300_000);
