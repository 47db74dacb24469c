/**
 * The seed's api-gateway-chaos engine (examples/engines/api-gateway-chaos.yaml: pod-delete, FORCE=false,
 * 60 s every 10 s, Continuous httpProbe) end to end as a workflow, with `platform.driver: kubernetes`, under
 * the TIME-SKIPPING test server: the real worker (createWorker -> createActivities({config})), the real
 * activities, the real cluster as tempest-worker. The probe's cluster URL is rewritten
 * (platform.local.urlRewrites) to a small HTTP server this test starts, standing in for the gateway.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { loadEngine } from '../../../config/load.js';
import type { ExperimentInput } from '../../../config/spec.js';
import type { ExperimentResult } from '../../../activities/types.js';
import { runOptionsFrom } from '../../../client/client.js';
import { createWorker } from '../../../workers/worker.js';
import { timeSkippingEnv } from '../../helpers/temporal.js';
import { freshPods, k8sConfig, ledgerKeys, pods, saKubeconfig, waitReady, type Admin, cleanupTestFiles, seededCluster } from '../../helpers/k8s.js';

let a: Admin;
let env: TestWorkflowEnvironment;
let gateway: http.Server;
let hits = 0;

beforeAll(async () => {
  a = await seededCluster();
  env = await timeSkippingEnv();
  gateway = http.createServer((req, res) => {
    hits++;
    res.writeHead(req.url === '/health' ? 200 : 404, { 'content-type': 'application/json' }).end('{"status":"ok"}');
  });
  await new Promise<void>((r) => gateway.listen(0, '127.0.0.1', () => r()));
}, 900_000);

afterAll(async () => {
  cleanupTestFiles();
  await env?.teardown();
  await new Promise((r) => gateway?.close(r));
});

test('seed api-gateway-chaos on the kubernetes platform: 6 rounds of real pod deletions, probe passes, revert verified 3/3, ledger clean, verdict Pass', async () => {
  const before = await freshPods(a, 'api-gateway');
  const url = `http://127.0.0.1:${(gateway.address() as AddressInfo).port}`;
  const kubeconfig = await saKubeconfig('footanalytics', a);
  const cfg = k8sConfig(kubeconfig, {
    temporal: { namespace: 'default', taskQueue: `k8s-ts-${Math.random().toString(36).slice(2, 8)}`, searchAttributes: false },
    platform: {
      driver: 'kubernetes',
      kubernetes: { kubeconfig },
      local: { urlRewrites: [{ from: 'http://api-gateway.footanalytics.svc.cluster.local:4000', to: url }] },
    },
  });
  const spec = loadEngine('examples/engines/api-gateway-chaos.yaml');
  expect(spec.faults[0]).toMatchObject({ name: 'pod-delete', durationMs: 60_000, intervalMs: 10_000, params: { force: false } });

  const worker = await createWorker({ config: cfg, connection: env.nativeConnection, taskQueue: cfg.temporal.taskQueue, namespace: 'default' });
  const workflowId = `api-gateway-chaos-k8s-${Date.now()}`;
  const t0 = Date.now();
  const r = await worker.runUntil(async () => {
    const input: ExperimentInput = { spec, options: runOptionsFrom(cfg, { searchAttributes: false }) };
    const h = await env.client.workflow.start('experimentWorkflow', { taskQueue: cfg.temporal.taskQueue, workflowId, args: [input] });
    return (await h.result()) as ExperimentResult;
  });

  expect(r.verdict).toBe('Pass');
  expect(r.probeSuccessPercentage).toBe(100);
  expect(r.probes[0]).toMatchObject({ name: 'api-gateway-health-check', status: 'Passed' });
  expect(hits).toBeGreaterThan(0);
  const f = r.faults[0];
  expect(f).toMatchObject({ name: 'pod-delete', state: 'reverted', rounds: 6 });
  expect(f.revert!.verification).toMatch(/deployment\/api-gateway 3\/3 ready; 3 ready pod\(s\) listed; ledger clean/);
  // the timeline names the pods each round deleted, with the grace period FORCE=false means
  const rounds = r.timeline.filter((e) => /pod-delete round \d: deleted api-gateway-/.test(e.message));
  expect(rounds).toHaveLength(6);
  for (const e of rounds) expect(e.message).toContain("the pod's own grace period");
  // on the cluster: the first round's pod is gone, the Deployment whole, the ledger gone
  expect(before.map((p) => p.metadata!.name)).toContain(f.affected[0]);
  const now = await waitReady(a, 'api-gateway');
  expect(now.map((p) => p.metadata!.name)).not.toContain(f.affected[0]);
  expect(f.affected.length).toBeGreaterThanOrEqual(3); // 6 rounds of one pod among a changing set
  expect((await pods(a, 'api-gateway')).length).toBe(3);
  expect(await ledgerKeys(a, 'api-gateway', `tempest.io/fault.${workflowId}.0`)).toEqual([]);
  // 60 s of chaos in skipped time
  expect(Date.now() - t0).toBeLessThan(60_000);
}, 180_000);
