/**
 * The real Kubernetes control plane for tests (scripts/k8s-up: etcd, kube-apiserver, controller-manager,
 * scheduler, kwok fake nodes). ensureCluster() starts it if needed (a no-op re-check when it runs) and FAILS
 * loudly if it cannot: these suites never skip. ensureSeed() applies deploy/rbac.yaml and the seed-labelled
 * Deployments with the admin identity; saKubeconfig() writes a kubeconfig for the worker's service account from a
 * TokenRequest, so the drivers under test run with the least privilege they ship with.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { stringify } from 'yaml';
import { engineYaml } from './engines.js';
import { waitFor as pollUntil } from './fleet.js';
import { ROOT } from './temporal.js';
import { loadText } from '../../config/load.js';
import type { ExperimentSpec } from '../../config/spec.js';
import { loadTempestConfig, type TempestConfig } from '../../config/tempest-config.js';
import type { FaultRef, InjectRequest } from '../../activities/types.js';
import type { ActivityCtx } from '../../activities/platform/types.js';

export const K8S_DIR = join(ROOT, '.tempest/k8s');
export const ADMIN_KUBECONFIG = join(K8S_DIR, 'kubeconfig');
const TEST_DIR = join(ROOT, '.tempest/k8s-tests');

/** Start (or re-check) the cluster. Throws with k8s-up's output if it cannot: never skip. */
export function ensureCluster(): void {
  if (process.env.TEMPEST_K8S_UP_FAILED) {
    throw new Error('scripts/k8s-up failed earlier in scripts/test (see its output above): the Kubernetes suites cannot run');
  }
  const r = spawnSync('bash', [join(ROOT, 'scripts/k8s-up')], { cwd: ROOT, encoding: 'utf8', timeout: 900_000 });
  if (r.status !== 0) {
    throw new Error(`scripts/k8s-up failed (exit ${r.status ?? r.signal}): the Kubernetes suites cannot run\n${r.stdout}\n${r.stderr}`);
  }
}

export function adminConfig(): k8s.KubeConfig {
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(ADMIN_KUBECONFIG);
  return kc;
}

export interface Admin {
  kc: k8s.KubeConfig;
  core: k8s.CoreV1Api;
  apps: k8s.AppsV1Api;
  objects: k8s.KubernetesObjectApi;
}

export function admin(): Admin {
  const kc = adminConfig();
  return { kc, core: kc.makeApiClient(k8s.CoreV1Api), apps: kc.makeApiClient(k8s.AppsV1Api), objects: k8s.KubernetesObjectApi.makeApiClient(kc) };
}

/** Server-side apply, as `kubectl apply --server-side --force-conflicts` would. */
export async function apply(a: Admin, obj: k8s.KubernetesObject): Promise<void> {
  await a.objects.patch(obj, undefined, undefined, 'tempest-tests', true, k8s.PatchStrategy.ServerSideApply);
}

export const SEED = {
  'api-gateway': { namespace: 'footanalytics', replicas: 3, labels: { 'app.kubernetes.io/name': 'api-gateway', 'app.kubernetes.io/part-of': 'footanalytics' } },
  'ml-pipeline': { namespace: 'ai-processing', replicas: 1, labels: { 'app.kubernetes.io/name': 'ml-pipeline' } },
} as const;
export type SeedApp = keyof typeof SEED;

function deployment(name: SeedApp): k8s.V1Deployment {
  const s = SEED[name];
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: s.namespace, labels: { ...s.labels } },
    spec: {
      replicas: s.replicas,
      selector: { matchLabels: { 'app.kubernetes.io/name': name } },
      template: {
        metadata: { labels: { ...s.labels } },
        spec: { containers: [{ name, image: `registry.example/${name}:1.0`, ports: [{ containerPort: name === 'api-gateway' ? 4000 : 8000 }] }] },
      },
    },
  };
}

/** deploy/rbac.yaml (namespaces, service accounts, Roles) and the seed's two Deployments, all ready. */
export async function ensureSeed(a: Admin = admin()): Promise<void> {
  const docs = k8s.loadAllYaml(readFileSync(join(ROOT, 'deploy/rbac.yaml'), 'utf8')) as k8s.KubernetesObject[];
  for (const d of docs.filter(Boolean)) await apply(a, d);
  for (const name of Object.keys(SEED) as SeedApp[]) {
    const d = deployment(name);
    // The replica count may have been changed by a test; the rest of the spec is ours.
    await apply(a, d);
  }
  for (const name of Object.keys(SEED) as SeedApp[]) await waitReady(a, name);
}

/** ensureSeed plus a clean slate for the ledger: what a suite's beforeAll calls. */
export async function ensureSeedClean(a: Admin = admin()): Promise<void> {
  await ensureSeed(a);
  await scrubLedgers(a);
}

/** What a suite's beforeAll starts with: the cluster up, the seed applied with clean ledgers; the admin identity. */
export async function seededCluster(): Promise<Admin> {
  ensureCluster();
  const a = admin();
  await ensureSeedClean(a);
  return a;
}

/** fleet.ts's waitFor with the longer defaults of a real control plane (60 s, every 250 ms). */
export const waitFor = <T>(what: string, fn: () => Promise<T | undefined | false>, timeoutMs = 60_000, everyMs = 250): Promise<T> =>
  pollUntil(what, fn, timeoutMs, everyMs);

export async function pods(a: Admin, name: SeedApp): Promise<k8s.V1Pod[]> {
  const s = SEED[name];
  return (await a.core.listNamespacedPod({ namespace: s.namespace, labelSelector: `app.kubernetes.io/name=${name}` })).items;
}

export const live = (ps: k8s.V1Pod[]) => ps.filter((p) => p.status?.phase === 'Running' && !p.metadata?.deletionTimestamp);

/** The Deployment is whole: status caught up, all replicas updated and ready, exactly that many live pods. */
export async function waitReady(a: Admin, name: SeedApp, timeoutMs = 90_000): Promise<k8s.V1Pod[]> {
  const s = SEED[name];
  return waitFor(
    `${s.namespace}/${name} ready`,
    async () => {
      const d = await a.apps.readNamespacedDeployment({ name, namespace: s.namespace });
      const want = d.spec?.replicas ?? 1;
      const st = d.status ?? {};
      if ((st.observedGeneration ?? 0) < (d.metadata?.generation ?? 0) || st.updatedReplicas !== want || st.readyReplicas !== want || st.replicas !== want)
        return false;
      const ps = await pods(a, name);
      const running = live(ps);
      return running.length === want && ps.length === want ? running : false;
    },
    timeoutMs,
  );
}

/** A rollout: brand-new pods (no ephemeral containers, no marks, no patched statuses from earlier tests). */
export async function freshPods(a: Admin, name: SeedApp): Promise<k8s.V1Pod[]> {
  const s = SEED[name];
  await a.apps.patchNamespacedDeployment(
    {
      name,
      namespace: s.namespace,
      body: { spec: { template: { metadata: { annotations: { 'tempest-tests/restartedAt': new Date().toISOString() + Math.random() } } } } },
    },
    k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
  );
  return waitReady(a, name);
}

export async function ownerAnnotations(a: Admin, name: SeedApp): Promise<Record<string, string>> {
  const d = await a.apps.readNamespacedDeployment({ name, namespace: SEED[name].namespace });
  return d.metadata?.annotations ?? {};
}

/** Where a ledger key (default: any tempest.io/fault.* key) is found on the Deployment and its pods. */
export async function ledgerKeys(a: Admin, name: SeedApp, key?: string): Promise<string[]> {
  const match = (k: string) => (key ? k === key : k.startsWith('tempest.io/fault.'));
  const keys = Object.keys(await ownerAnnotations(a, name))
    .filter(match)
    .map((k) => `deployment:${k}`);
  for (const p of await pods(a, name)) {
    for (const k of Object.keys(p.metadata?.annotations ?? {})) if (match(k)) keys.push(`pod/${p.metadata!.name}:${k}`);
  }
  return keys;
}

/** Remove ledger keys left on the seed Deployments by an earlier, interrupted test process. */
export async function scrubLedgers(a: Admin): Promise<void> {
  for (const name of Object.keys(SEED) as SeedApp[]) {
    const stale = Object.keys(await ownerAnnotations(a, name)).filter((k) => k.startsWith('tempest.io/fault.'));
    if (!stale.length) continue;
    await a.apps.patchNamespacedDeployment(
      { name, namespace: SEED[name].namespace, body: { metadata: { annotations: Object.fromEntries(stale.map((k) => [k, null])) } } },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
    );
  }
}

/** Play the kubelet: merge a status into a pod (kwok leaves a patched status alone). */
export async function patchPodStatus(a: Admin, namespace: string, name: string, status: k8s.V1PodStatus): Promise<void> {
  await a.core.patchNamespacedPodStatus({ name, namespace, body: { status } }, k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.StrategicMergePatch));
}

/** The worker's identity as deploy/rbac.yaml ships it: its own namespace, bound in each target namespace. */
export const WORKER_SA = { namespace: 'tempest-system', name: 'tempest-worker' } as const;
export const WORKER_USER = `system:serviceaccount:${WORKER_SA.namespace}:${WORKER_SA.name}`;

/**
 * A kubeconfig for the worker's service account (tempest-system/tempest-worker, a TokenRequest token valid 1 h,
 * its own JTI per call; or `account`), with `namespace` as the context's default namespace; CA from the admin kubeconfig.
 * Written under .tempest/k8s-tests/ (mode 600); cleanupTestFiles() deletes them.
 */
export async function saKubeconfig(namespace: string, a: Admin = admin(), account: { namespace: string; name: string } = WORKER_SA): Promise<string> {
  const tr = await a.core.createNamespacedServiceAccountToken({
    name: account.name,
    namespace: account.namespace,
    body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { audiences: [], expirationSeconds: 3600 } },
  });
  const cluster = a.kc.getCurrentCluster()!;
  const user = `${account.name}@${account.namespace}`;
  const doc = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'tempest-local', cluster: { server: cluster.server, 'certificate-authority-data': cluster.caData } }],
    users: [{ name: user, user: { token: tr.status!.token } }],
    contexts: [{ name: `tempest@${namespace}`, context: { cluster: 'tempest-local', user, namespace } }],
    'current-context': `tempest@${namespace}`,
  };
  mkdirSync(TEST_DIR, { recursive: true, mode: 0o700 });
  const file = join(TEST_DIR, `${account.name}.${namespace}.${process.pid}.${Math.random().toString(36).slice(2, 8)}.kubeconfig`);
  writeFileSync(file, stringify(doc), { mode: 0o600 });
  chmodSync(file, 0o600);
  written.push(file);
  return file;
}

const written: string[] = [];
/** Delete the token-bearing kubeconfigs this suite wrote (afterAll). */
export function cleanupTestFiles(): void {
  for (const f of written.splice(0)) rmSync(f, { force: true });
}

/** A tempest.yaml on the kubernetes platform (its own task queue), loaded through the real loader. */
/** The stress image the test policy pins, and one more it allows an engine's STRESS_IMAGE to name. */
export const TEST_STRESS_IMAGE = 'registry.example/stress-ng:0.18.06';
export const ALLOWED_STRESS_OVERRIDE = 'registry.example/stress-ng:0.18';

export function k8sConfig(kubeconfig: string | undefined, over: Record<string, unknown> = {}): TempestConfig & { file: string } {
  const dir = mkdtempSync(join(tmpdir(), 'tempest-k8s-cfg-'));
  const doc = {
    temporal: {
      address: process.env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233',
      namespace: 'default',
      taskQueue: `k8s-${Math.random().toString(36).slice(2, 10)}`,
      searchAttributes: true,
    },
    platform: { driver: 'kubernetes', kubernetes: kubeconfig ? { kubeconfig } : {} },
    blastRadius: { allow: [{ namespace: 'footanalytics' }, { namespace: 'ai-processing' }] },
    // The operator's helper images (no stress-ng image has a default) and one more a test engine may name.
    images: { stress: TEST_STRESS_IMAGE, allow: [ALLOWED_STRESS_OVERRIDE] },
    files: { corruptionRoots: ['/models'] },
    // The tests' probe targets are local HTTP servers: loopback is what this worker may reach.
    probes: { allowLoopback: true },
    reports: { dir: join(dir, 'reports') },
    metrics: { port: 0 },
    ...over,
  };
  const file = join(dir, 'tempest.yaml');
  writeFileSync(file, stringify(doc));
  return loadTempestConfig(file) as TempestConfig & { file: string };
}

/** A seed-shaped ChaosEngine for any of the two seed apps, parsed by the real Litmus parser. */
export function k8sEngine(name: string, app: SeedApp, fault: string, env: Record<string, string>, probes = ''): ExperimentSpec {
  const ns = SEED[app].namespace;
  const text = engineYaml(name, ns, app, fault, env, probes, '            []');
  const [doc] = loadText(text, `${name}.yaml`);
  if (doc.kind !== 'ChaosHypothesis' && doc.kind !== 'ChaosEngine') throw new Error(`not an engine: ${doc.kind}`);
  return (doc as { experiment: ExperimentSpec }).experiment;
}

let runSeq = 0;
/** A FaultRef / InjectRequest for a spec's first fault, with a fresh run id. */
export function faultRef(spec: ExperimentSpec, runId = `${spec.name}-${Date.now().toString(36)}-${runSeq++}`): FaultRef {
  return { runId, experiment: spec.name, target: spec.target, fault: spec.faults[0], faultIndex: 0 };
}
export function injectReq(ref: FaultRef, round = 0, expiresInMs = 120_000): InjectRequest {
  return { ...ref, round, expiresAt: new Date(Date.now() + expiresInMs).toISOString() };
}

export const noCtx = (): ActivityCtx => ({ heartbeat: () => undefined, signal: new AbortController().signal });

/** The failure's type and message, from a thrown ApplicationFailure. */
export async function failureOf(p: Promise<unknown>): Promise<{ type?: string; message: string; nonRetryable?: boolean; details?: unknown[] }> {
  try {
    await p;
  } catch (e) {
    const f = e as { type?: string; message: string; nonRetryable?: boolean; details?: unknown[] };
    return { type: f.type, message: f.message, nonRetryable: f.nonRetryable, details: f.details };
  }
  throw new Error('expected a failure, but the call succeeded');
}
