/**
 * `chaosServiceAccount` honoured (platform.kubernetes.impersonate.mode: required): a run's Kubernetes calls are
 * made as the engine's ServiceAccount, so the namespace's own RBAC bounds what its engines can do. Against the real
 * API server, its audit log as the record:
 *  - the seed's chaos-service-account (deploy/impersonation-rbac.yaml): the pod deletions are requests of the
 *    worker impersonating that account; the revert and its verification are the worker's own;
 *  - an account whose Role grants less (no patch, no delete): the run fails Forbidden naming that account, before
 *    anything is injected; nothing of it is left;
 *  - an account the operator does not list, or none: refused at load naming spec.chaosServiceAccount, and by the
 *    worker for a request that never went through the loader.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { NativeConnection } from '@temporalio/worker';
import { Client, Connection } from '@temporalio/client';
import { loadText } from '../../../config/load.js';
import type { ExperimentSpec } from '../../../config/spec.js';
import type { ExperimentResult } from '../../../activities/types.js';
import { TempestClient } from '../../../client/client.js';
import { createWorker } from '../../../workers/worker.js';
import { createKubernetesPlatform } from '../../../activities/platform/kubernetes.js';
import { faultIds } from '../../../activities/faults/kubernetes-common.js';
import { ROOT } from '../../helpers/temporal.js';
import { engineYaml } from '../../helpers/engines.js';
import { readAudit } from '../../helpers/audit.js';
import {
  ADMIN_KUBECONFIG,
  cleanupTestFiles,
  freshPods,
  k8sConfig,
  ledgerKeys,
  pods,
  saKubeconfig,
  seededCluster,
  waitReady,
  WORKER_USER,
  type Admin,
} from '../../helpers/k8s.js';

let a: Admin;
let kubectlBin = '';
let cfg: ReturnType<typeof k8sConfig>;
let native: NativeConnection;
let connection: Connection;
const kubectl = (...args: string[]) => {
  const r = spawnSync(kubectlBin, ['--kubeconfig', ADMIN_KUBECONFIG, ...args], {
    encoding: 'utf8',
    timeout: 60_000,
    input: args.includes('-') ? pendingInput : undefined,
  });
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
};
let pendingInput = '';
const applyYaml = (text: string) => {
  pendingInput = text;
  return kubectl('apply', '-f', '-');
};
const SEED_SA = 'system:serviceaccount:footanalytics:chaos-service-account';
const LIMITED_SA = 'system:serviceaccount:footanalytics:limited-chaos';

/**
 * A k8sProbe the account may make and the worker may not: list services (the test grants the seed's account
 * services get/list; the worker's Role has no services). It passes only when the probe really acts as the account.
 */
const SERVICES_PROBE = `          - name: "no-quarantine-service"
            type: "k8sProbe"
            mode: "SOT"
            runProperties: { probeTimeout: 5, interval: 1, retry: 1 }
            k8sProbe/inputs: { group: "", version: v1, resource: services, namespace: footanalytics, labelSelector: "tempest.io/quarantine=true", operation: absent }`;

/** An engine on api-gateway as chaosServiceAccount `sa` (or none), loaded with the worker's policy. */
function engineAs(name: string, sa: string | undefined, probes = ''): string {
  const text = engineYaml(name, 'footanalytics', 'api-gateway', 'pod-delete', { TOTAL_CHAOS_DURATION: '6', CHAOS_INTERVAL: '3', FORCE: 'false' }, probes);
  return sa
    ? text.replace('chaosServiceAccount: chaos-service-account', `chaosServiceAccount: ${sa}`)
    : text.replace('  chaosServiceAccount: chaos-service-account\n', '');
}
const load = (text: string, file: string): ExperimentSpec => {
  const [d] = loadText(text, file, { limits: cfg.policy.limits, policy: cfg.policy });
  return (d as { experiment: ExperimentSpec }).experiment;
};

beforeAll(async () => {
  a = await seededCluster();
  const dirs = spawnSync('bash', [join(ROOT, 'scripts/k8s-build'), '--print-bin-dirs'], { encoding: 'utf8' })
    .stdout.trim()
    .split('\n');
  kubectlBin = join(
    dirs.find((d) => d.includes('/kubectl-'))!,
    'kubectl',
  );
  expect(kubectl('apply', '-f', join(ROOT, 'deploy/rbac.yaml'), '-f', join(ROOT, 'deploy/impersonation-rbac.yaml'))).toMatchObject({ code: 0 });
  // A second account the operator lists, whose Role grants only reads: what a namespace grants is what its runs get.
  expect(
    applyYaml(`apiVersion: v1
kind: ServiceAccount
metadata: { name: limited-chaos, namespace: footanalytics }
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: { name: limited-chaos, namespace: footanalytics }
rules:
  - { apiGroups: [""], resources: [pods], verbs: [get, list] }
  - { apiGroups: [apps], resources: [deployments, replicasets], verbs: [get, list] }
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: { name: limited-chaos, namespace: footanalytics }
roleRef: { apiGroup: rbac.authorization.k8s.io, kind: Role, name: limited-chaos }
subjects: [{ kind: ServiceAccount, name: limited-chaos, namespace: footanalytics }]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: { name: tempest-impersonate-limited, namespace: footanalytics }
rules: [{ apiGroups: [""], resources: [serviceaccounts], verbs: [impersonate], resourceNames: [limited-chaos] }]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: { name: tempest-impersonate-limited, namespace: footanalytics }
roleRef: { apiGroup: rbac.authorization.k8s.io, kind: Role, name: tempest-impersonate-limited }
subjects: [{ kind: ServiceAccount, name: tempest-worker, namespace: tempest-system }]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: { name: chaos-sa-services, namespace: footanalytics }
rules: [{ apiGroups: [""], resources: [services], verbs: [get, list] }]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: { name: chaos-sa-services, namespace: footanalytics }
roleRef: { apiGroup: rbac.authorization.k8s.io, kind: Role, name: chaos-sa-services }
subjects: [{ kind: ServiceAccount, name: chaos-service-account, namespace: footanalytics }]
`),
  ).toMatchObject({ code: 0 });
  const kubeconfig = await saKubeconfig('footanalytics', a);
  cfg = k8sConfig(kubeconfig, {
    platform: {
      driver: 'kubernetes',
      kubernetes: {
        kubeconfig,
        impersonate: {
          mode: 'required',
          serviceAccounts: [
            { namespace: 'footanalytics', name: 'chaos-service-account' },
            { namespace: 'footanalytics', name: 'limited-chaos' },
          ],
        },
      },
    },
  });
  native = await NativeConnection.connect({ address: process.env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233' });
  connection = await Connection.connect({ address: process.env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233' });
}, 900_000);

afterAll(async () => {
  kubectl('delete', 'rolebinding,role', 'tempest-impersonate-limited', '-n', 'footanalytics', '--ignore-not-found');
  kubectl('delete', 'rolebinding,role', 'chaos-sa-services', '-n', 'footanalytics', '--ignore-not-found');
  kubectl('delete', 'rolebinding,role,serviceaccount', 'limited-chaos', '-n', 'footanalytics', '--ignore-not-found');
  cleanupTestFiles();
  await native?.close();
  await connection?.close();
});

async function run(spec: ExperimentSpec, id: string): Promise<ExperimentResult> {
  const worker = await createWorker({ config: cfg, connection: native, taskQueue: cfg.temporal.taskQueue, namespace: 'default' });
  const c = new TempestClient(new Client({ connection, namespace: 'default' }), cfg);
  return worker.runUntil(async () => (await (await c.start(spec, { workflowId: id, options: { searchAttributes: false } })).result()) as ExperimentResult);
}

test("the seed's chaos-service-account: the deletions and the k8sProbe are made as it (the worker impersonating it), the revert as the worker", async () => {
  await freshPods(a, 'api-gateway');
  const spec = load(engineAs('as-seed-sa', 'chaos-service-account', SERVICES_PROBE), 'as-seed-sa.yaml');
  expect(spec.target.serviceAccount).toBe('chaos-service-account');
  expect(spec.faults[0].probes[0].actAs).toEqual({ namespace: 'footanalytics', serviceAccount: 'chaos-service-account' });
  const since = new Date(Date.now() - 1000);
  const id = `impersonate-seed-${Date.now()}`;
  const r = await run(spec, id);
  expect(r.verdict).toBe('Pass');
  expect(r.faults[0]).toMatchObject({ state: 'reverted' });
  const events = readAudit({ since, users: [WORKER_USER] });
  const deletes = events.filter((e) => e.verb === 'delete' && e.resource === 'pods' && e.namespace === 'footanalytics' && e.code !== undefined && e.code < 300);
  expect(deletes.length).toBeGreaterThanOrEqual(2); // 6 s every 3 s
  for (const d of deletes) expect(d.impersonatedUser).toBe(SEED_SA);
  // The probe: it passed, and its list of services was the account's (the worker alone may not list services).
  expect(r.probes[0]).toMatchObject({ name: 'no-quarantine-service', status: 'Passed' });
  const lists = events.filter((e) => e.resource === 'services' && e.verb === 'list' && e.namespace === 'footanalytics');
  expect(lists.length).toBeGreaterThanOrEqual(1);
  for (const l of lists) expect([l.impersonatedUser, l.code]).toEqual([SEED_SA, 200]);
  // The ledger: written as the account at injection; cleared by the worker itself at revert.
  const ledgerPatches = events.filter(
    (e) => e.verb === 'patch' && e.resource === 'deployments' && e.name === 'api-gateway' && e.code !== undefined && e.code < 300,
  );
  expect(ledgerPatches.some((e) => e.impersonatedUser === SEED_SA)).toBe(true);
  expect(ledgerPatches.at(-1)!.impersonatedUser).toBeUndefined();
  expect(await ledgerKeys(a, 'api-gateway', faultIds({ runId: id, faultIndex: 0 }).key)).toEqual([]);
  await waitReady(a, 'api-gateway');
}, 180_000);

test('an account whose Role grants less: the run fails Forbidden naming it, before anything is injected; nothing is left', async () => {
  const before = (await freshPods(a, 'api-gateway')).map((p) => p.metadata!.name).sort();
  const spec = load(engineAs('as-limited', 'limited-chaos'), 'as-limited.yaml');
  const id = `impersonate-limited-${Date.now()}`;
  const r = await run(spec, id);
  expect(r.verdict).toBe('Error');
  expect(r.reason).toContain(LIMITED_SA);
  expect(r.reason).toMatch(/cannot patch resource "deployments"|cannot (patch|delete) resource "pods"/);
  expect((await pods(a, 'api-gateway')).map((p) => p.metadata!.name).sort()).toEqual(before); // no pod deleted
  expect(await ledgerKeys(a, 'api-gateway', faultIds({ runId: id, faultIndex: 0 }).key)).toEqual([]);
}, 180_000);

test('an account the operator does not list, or none: refused at load by field, and by the worker for a crafted request', async () => {
  expect(() => load(engineAs('as-other', 'someone-else'), 'as-other.yaml')).toThrow(
    /as-other\.yaml: spec\.chaosServiceAccount: chaosServiceAccount footanalytics\/someone-else is not one the worker may act as \(platform\.kubernetes\.impersonate\.serviceAccounts of .* lists for footanalytics: chaos-service-account, limited-chaos\)/,
  );
  expect(() => load(engineAs('as-none', undefined), 'as-none.yaml')).toThrow(
    /as-none\.yaml: spec\.chaosServiceAccount: the worker acts only as a listed chaosServiceAccount/,
  );
  // A request that never went through the loader (the worker's platform, directly).
  const platform = createKubernetesPlatform(cfg);
  const crafted = { ...load(engineAs('crafted', 'chaos-service-account'), 'crafted.yaml') };
  crafted.target = { ...crafted.target, serviceAccount: 'tempest-worker' };
  await expect(platform.preflight(crafted)).rejects.toThrow(
    /run on footanalytics refused by the worker's policy: chaosServiceAccount footanalytics\/tempest-worker is not one the worker may act as/,
  );
});
