/**
 * The kubernetes platform against the real control plane (scripts/k8s-up), as tempest-worker
 * (TokenRequest, deploy/rbac.yaml): which cluster it talks to, how appinfo resolves (pods by label, the
 * owner through pod -> ReplicaSet -> Deployment, StatefulSet), the ledger annotation key, and how API errors
 * become typed failures — each from a real API answer, not a mock.
 */
import { copyFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { loadTempestConfig } from '../../../config/tempest-config.js';
import { createKubernetesPlatform } from '../../../activities/platform/kubernetes.js';
import { k8sFailure, kcall, kcallGone, loadKubeConfig, makeClients } from '../../../activities/platform/k8s/client.js';
import { K8sTarget } from '../../../activities/platform/k8s/target.js';
import { K8sLedger, faultIds } from '../../../activities/faults/kubernetes-common.js';
import {
  cleanupTestFiles,
  apply,
  failureOf,
  faultRef,
  injectReq,
  k8sConfig,
  k8sEngine,
  noCtx,
  ownerAnnotations,
  saKubeconfig,
  waitFor,
  WORKER_USER,
  seededCluster,
  type Admin,
} from '../../helpers/k8s.js';

let a: Admin;
let saFoot: string;
let saAi: string;

beforeAll(async () => {
  a = await seededCluster();
  saFoot = await saKubeconfig('footanalytics', a);
  saAi = await saKubeconfig('ai-processing', a);
}, 900_000);

afterAll(() => cleanupTestFiles());

describe('which cluster', () => {
  test('platform.kubernetes.kubeconfig, relative to tempest.yaml: preflight resolves the seed target as tempest-worker', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tempest-kcfg-'));
    copyFileSync(saFoot, join(dir, 'sa.kubeconfig'));
    writeFileSync(join(dir, 'tempest.yaml'), stringify({ platform: { driver: 'kubernetes', kubernetes: { kubeconfig: './sa.kubeconfig' } } }));
    const cfg = loadTempestConfig(join(dir, 'tempest.yaml'));
    const p = createKubernetesPlatform(cfg);
    expect(p.clients.source).toContain(join(dir, 'sa.kubeconfig'));
    const r = await p.preflight(k8sEngine('pf', 'api-gateway', 'pod-delete', { TOTAL_CHAOS_DURATION: '10' }));
    expect(r.platform).toBe('kubernetes');
    expect(r.targets).toHaveLength(3);
    for (const t of r.targets) expect(t).toMatch(/^api-gateway-/);
  });

  test('KUBECONFIG when the config names none; a context that does not exist is refused with the ones that do', async () => {
    const saved = process.env.KUBECONFIG;
    process.env.KUBECONFIG = saAi;
    try {
      const p = createKubernetesPlatform(k8sConfig(undefined));
      expect(p.clients.source).toContain(`KUBECONFIG=${saAi}`);
      const r = await p.preflight(k8sEngine('pf', 'ml-pipeline', 'pod-delete', { TOTAL_CHAOS_DURATION: '10' }));
      expect(r.targets).toHaveLength(1);
      const bad = k8sConfig(saAi);
      bad.platform.kubernetes.context = 'nope';
      let err: { type?: string; message: string } | undefined;
      try {
        createKubernetesPlatform(bad);
      } catch (e) {
        err = e as { type?: string; message: string };
      }
      expect(err?.type).toBe('FaultRefused');
      expect(err?.message).toMatch(/context "nope" is not in .* \(has: tempest@ai-processing\)/);
    } finally {
      if (saved === undefined) delete process.env.KUBECONFIG;
      else process.env.KUBECONFIG = saved;
    }
  });

  test('no kubeconfig anywhere and not in a pod: a clear refusal, never the client fallback to localhost:8080', () => {
    let err: { type?: string; message: string } | undefined;
    try {
      loadKubeConfig(k8sConfig(undefined), { HOME: mkdtempSync(join(tmpdir(), 'nohome-')) }); // no KUBECONFIG, empty home, no KUBERNETES_SERVICE_HOST
    } catch (e) {
      err = e as { type?: string; message: string };
    }
    expect(err?.type).toBe('FaultRefused');
    expect(err?.message).toContain('no cluster configured');
  });
});

describe('targets', () => {
  test('pods by label, owner Deployment through the ReplicaSet; appkind pod and unknown labels are refused, typed', async () => {
    const p = createKubernetesPlatform(k8sConfig(saFoot));
    const t = new K8sTarget(p.clients, { namespace: 'footanalytics', labelSelector: 'app.kubernetes.io/name=api-gateway', kind: 'deployment' });
    const owners = await t.requireOwners();
    expect(owners.map((o) => [o.kind, o.name, o.desired])).toEqual([['Deployment', 'api-gateway', 3]]);
    expect((await t.runningPods()).length).toBe(3);
    expect((await t.recovered()).clean).toBe(true);

    const podKind = await failureOf(
      p.preflight({
        ...k8sEngine('pf', 'api-gateway', 'pod-delete', { TOTAL_CHAOS_DURATION: '10' }),
        target: { namespace: 'footanalytics', labelSelector: 'app.kubernetes.io/name=api-gateway', kind: 'pod' },
      }),
    );
    expect(podKind).toMatchObject({ type: 'UnsupportedFault', nonRetryable: true });
    expect(podKind.message).toContain('appkind pod');

    const none = await failureOf(
      p.preflight({
        ...k8sEngine('pf', 'api-gateway', 'pod-delete', { TOTAL_CHAOS_DURATION: '10' }),
        target: { namespace: 'footanalytics', labelSelector: 'app.kubernetes.io/name=no-such-app', kind: 'deployment' },
      }),
    );
    expect(none).toMatchObject({ type: 'TargetNotFound', nonRetryable: true });
    expect(none.message).toContain('no deployment in namespace footanalytics matches app.kubernetes.io/name=no-such-app');
  });

  test('a Deployment labelled like the target whose pods are something else is not an owner: never annotated, never scaled', async () => {
    // The decoy carries the target's label on itself, but its pod template (and so its pods) are app=decoy-db.
    await apply(a, {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'tempest-decoy', namespace: 'footanalytics', labels: { 'app.kubernetes.io/name': 'api-gateway' } },
      spec: {
        replicas: 1,
        selector: { matchLabels: { app: 'decoy-db' } },
        template: { metadata: { labels: { app: 'decoy-db' } }, spec: { containers: [{ name: 'db', image: 'registry.example/db:1' }] } },
      },
    } as never);
    try {
      const p = createKubernetesPlatform(k8sConfig(saFoot));
      const target = { namespace: 'footanalytics', labelSelector: 'app.kubernetes.io/name=api-gateway', kind: 'deployment' as const };
      const t = new K8sTarget(p.clients, target);
      expect((await t.owners()).map((o) => o.name)).toEqual(['api-gateway']);
      // scale (a rollback action) resolves exactly one owner: the real one, the decoy is not a second candidate
      await p.scale(target, 3);
      const decoy = await a.apps.readNamespacedDeployment({ name: 'tempest-decoy', namespace: 'footanalytics' });
      expect(decoy.spec?.replicas).toBe(1);
    } finally {
      await a.apps.deleteNamespacedDeployment({ name: 'tempest-decoy', namespace: 'footanalytics' });
    }
  }, 60_000);

  test("a pod's forged ownerReference does not make another Deployment an owner (its pods are not the target's)", async () => {
    await apply(a, {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'tempest-payments', namespace: 'footanalytics', labels: { app: 'payments' } },
      spec: {
        replicas: 1,
        selector: { matchLabels: { app: 'payments' } },
        template: { metadata: { labels: { app: 'payments' } }, spec: { containers: [{ name: 'pay', image: 'registry.example/pay:1' }] } },
      },
    } as never);
    const payments = await a.apps.readNamespacedDeployment({ name: 'tempest-payments', namespace: 'footanalytics' });
    // A tenant's bare pod, labelled like the target, claiming to belong to payments.
    await a.core.createNamespacedPod({
      namespace: 'footanalytics',
      body: {
        metadata: {
          name: 'tempest-forged',
          labels: { 'app.kubernetes.io/name': 'api-gateway' },
          ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Deployment', name: 'tempest-payments', uid: payments.metadata!.uid!, controller: true }],
        },
        spec: { containers: [{ name: 'x', image: 'registry.example/x:1' }] },
      },
    });
    try {
      const p = createKubernetesPlatform(k8sConfig(saFoot));
      const target = { namespace: 'footanalytics', labelSelector: 'app.kubernetes.io/name=api-gateway', kind: 'deployment' as const };
      expect((await new K8sTarget(p.clients, target).owners()).map((o) => o.name)).toEqual(['api-gateway']);
      await p.scale(target, 3); // one owner: the real one
      expect((await a.apps.readNamespacedDeployment({ name: 'tempest-payments', namespace: 'footanalytics' })).spec?.replicas).toBe(1);
    } finally {
      await a.core.deleteNamespacedPod({ name: 'tempest-forged', namespace: 'footanalytics', gracePeriodSeconds: 0 }).catch(() => undefined);
      await a.apps.deleteNamespacedDeployment({ name: 'tempest-payments', namespace: 'footanalytics' });
    }
  }, 60_000);

  test('appkind statefulset: the StatefulSet owns the pods, carries the ledger, and pod-delete is verified on its ready replicas', async () => {
    await apply(a, {
      apiVersion: 'apps/v1',
      kind: 'StatefulSet',
      metadata: { name: 'tempest-sts', namespace: 'footanalytics', labels: { 'app.kubernetes.io/name': 'tempest-sts' } },
      spec: {
        replicas: 2,
        serviceName: 'tempest-sts',
        selector: { matchLabels: { 'app.kubernetes.io/name': 'tempest-sts' } },
        template: { metadata: { labels: { 'app.kubernetes.io/name': 'tempest-sts' } }, spec: { containers: [{ name: 'db', image: 'registry.example/db:1' }] } },
      },
    } as never);
    const p = createKubernetesPlatform(k8sConfig(saFoot));
    const spec = {
      ...k8sEngine('sts', 'api-gateway', 'pod-delete', { TOTAL_CHAOS_DURATION: '10', FORCE: 'true' }),
      target: { namespace: 'footanalytics', labelSelector: 'app.kubernetes.io/name=tempest-sts', kind: 'statefulset' as const },
    };
    await waitFor('statefulset ready', async () => (await p.preflight(spec)).targets.length === 2, 60_000);
    const ref = faultRef(spec);
    const r = await p.inject(injectReq(ref), noCtx());
    expect(r.affected).toHaveLength(1);
    const sts = await a.apps.readNamespacedStatefulSet({ name: 'tempest-sts', namespace: 'footanalytics' });
    expect(Object.keys(sts.metadata?.annotations ?? {})).toContain(faultIds(ref).key);
    const rv = await p.revert(ref, noCtx());
    expect(rv.verification).toMatch(/statefulset\/tempest-sts 2\/2 ready/);
    expect(rv.verification).toContain('ledger clean');
    const after = await a.apps.readNamespacedStatefulSet({ name: 'tempest-sts', namespace: 'footanalytics' });
    expect(Object.keys(after.metadata?.annotations ?? {})).not.toContain(faultIds(ref).key);
    await a.apps.deleteNamespacedStatefulSet({ name: 'tempest-sts', namespace: 'footanalytics' });
  }, 120_000);
});

describe('the ledger key', () => {
  test('a run id too long for an annotation name is shortened with a hash; the API accepts the key; the entry keeps the full id', async () => {
    const runId = `api-gateway-chaos-${'x'.repeat(120)}-20260101T000000-abcd`;
    const { key, id } = faultIds({ runId, faultIndex: 3 });
    const name = key.slice('tempest.io/'.length);
    expect(name.length).toBeLessThanOrEqual(63);
    expect(name).toMatch(/^fault\.[A-Za-z0-9][-A-Za-z0-9_.]*\.3$/);
    expect(faultIds({ runId, faultIndex: 3 }).key).toBe(key); // every worker derives the same key
    expect(id).toMatch(/^[0-9a-f]{10}-3$/);
    // a short id is kept readable
    expect(faultIds({ runId: 'api-gateway-chaos-20260101T000000-abcd', faultIndex: 0 }).key).toBe('tempest.io/fault.api-gateway-chaos-20260101T000000-abcd.0');

    const p = createKubernetesPlatform(k8sConfig(saFoot));
    const spec = k8sEngine('long', 'api-gateway', 'pod-delete', { TOTAL_CHAOS_DURATION: '10' });
    const ledger = new K8sLedger(new K8sTarget(p.clients, spec.target), key);
    const entry = await ledger.open(injectReq({ ...faultRef(spec, runId), faultIndex: 3 }));
    await ledger.write(entry);
    expect(JSON.parse((await ownerAnnotations(a, 'api-gateway'))[key])).toMatchObject({ run: runId, faultIndex: 3, fault: 'pod-delete', rounds: {}, done: [] });
    await ledger.clear();
    expect(await ledger.presentOn()).toEqual([]);
  });
});

describe('API errors become typed failures', () => {
  /** A namespace the worker's policy allows but deploy/rbac.yaml binds nothing in: RBAC, not the policy, refuses. */
  const UNBOUND = 'tempest-no-role';
  async function unboundPlatform() {
    await a.core.createNamespace({ body: { metadata: { name: UNBOUND } } }).catch((e) => {
      if ((e as { code?: number }).code !== 409) throw e;
    });
    return createKubernetesPlatform(k8sConfig(saFoot, { blastRadius: { allow: [{ namespace: 'footanalytics' }, { namespace: UNBOUND }] } }));
  }

  test('403: the worker in a namespace it has no Role in names the user, verb, resource and namespace; not retryable', async () => {
    const p = await unboundPlatform();
    const spec = k8sEngine('x', 'ml-pipeline', 'pod-delete', { TOTAL_CHAOS_DURATION: '10' });
    const f = await failureOf(p.preflight({ ...spec, target: { ...spec.target, namespace: UNBOUND } }));
    expect(f.type).toBe('Forbidden');
    expect(f.nonRetryable).toBe(true);
    expect(f.message).toContain(`${WORKER_USER} may not list deployments in namespace ${UNBOUND}`);
    expect(f.message).toContain(`grant verb "list" on resource "deployments" (API group "apps") in namespace ${UNBOUND}`);
    expect(f.details?.[0]).toMatchObject({ status: 403, verb: 'list', resource: 'deployments', namespace: UNBOUND });
  });

  test('403 on a subresource: pods/exec refused by RBAC names verb create on pods/exec', async () => {
    const p = await unboundPlatform();
    // the worker may exec in footanalytics but not where it has no Role
    const t = new K8sTarget(p.clients, { namespace: UNBOUND, labelSelector: 'app.kubernetes.io/name=ml-pipeline', kind: 'deployment' });
    const { execIn, DEFAULT_SETTINGS } = await import('../../../activities/faults/kubernetes-common.js');
    const f = await failureOf(
      execIn(
        { k8s: p.clients, target: t, heartbeat: () => undefined, signal: new AbortController().signal, settings: DEFAULT_SETTINGS, policy: p.policy },
        'ml-pipeline-x',
        'ml-pipeline',
        ['true'],
      ),
    );
    expect(f.type).toBe('Forbidden');
    expect(f.message).toContain(`create pods/exec in namespace ${UNBOUND}`);
  });

  test('404 -> TargetNotFound (or "gone" where that is an answer); 409 -> Conflict, retryable', async () => {
    const c = makeClients(a.kc, 'admin');
    const nf = await failureOf(
      kcall({ verb: 'get', resource: 'pods', namespace: 'footanalytics', name: 'nope' }, () =>
        c.core.readNamespacedPod({ name: 'nope', namespace: 'footanalytics' }),
      ),
    );
    expect(nf).toMatchObject({ type: 'TargetNotFound', nonRetryable: true });
    expect(nf.message).toContain('get pods nope in namespace footanalytics: not found');
    expect(
      await kcallGone({ verb: 'delete', resource: 'pods', namespace: 'footanalytics', name: 'nope' }, () =>
        c.core.deleteNamespacedPod({ name: 'nope', namespace: 'footanalytics' }),
      ),
    ).toBeUndefined();

    await a.core.deleteNamespacedConfigMap({ name: 'tempest-conflict', namespace: 'footanalytics' }).catch(() => undefined);
    const cm = await a.core.createNamespacedConfigMap({ namespace: 'footanalytics', body: { metadata: { name: 'tempest-conflict' }, data: { a: '1' } } });
    await a.core.replaceNamespacedConfigMap({ name: 'tempest-conflict', namespace: 'footanalytics', body: { ...cm, data: { a: '2' } } });
    let raw: unknown;
    try {
      await a.core.replaceNamespacedConfigMap({ name: 'tempest-conflict', namespace: 'footanalytics', body: { ...cm, data: { a: '3' } } }); // stale resourceVersion
    } catch (e) {
      raw = e;
    }
    const conflict = k8sFailure(raw, { verb: 'update', resource: 'configmaps', namespace: 'footanalytics', name: 'tempest-conflict' });
    expect(conflict.type).toBe('Conflict');
    expect(conflict.nonRetryable).toBe(false);
    expect(conflict.message).toContain('conflict');
    await a.core.deleteNamespacedConfigMap({ name: 'tempest-conflict', namespace: 'footanalytics' });
  });

  test('API server not answering -> PlatformUnavailable, retryable', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tempest-down-'));
    const file = join(dir, 'down.kubeconfig');
    writeFileSync(
      file,
      stringify({
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [{ name: 'c', cluster: { server: 'https://127.0.0.1:1', 'insecure-skip-tls-verify': true } }],
        users: [{ name: 'u', user: { token: 'x' } }],
        contexts: [{ name: 'x', context: { cluster: 'c', user: 'u' } }],
        'current-context': 'x',
      }),
    );
    const p = createKubernetesPlatform(k8sConfig(file));
    const f = await failureOf(p.preflight(k8sEngine('x', 'api-gateway', 'pod-delete', { TOTAL_CHAOS_DURATION: '10' })));
    expect(f).toMatchObject({ type: 'PlatformUnavailable', nonRetryable: false });
    expect(f.message).toMatch(/API server is not answering .*ECONNREFUSED/);
  });
});

describe('rollback actions on kubernetes (workload, scale, restartPod)', () => {
  test('as tempest-worker: reads the workload, scales the Deployment through deployments/scale and back, restarts one pod, refuses a pod outside the target', async () => {
    const p = createKubernetesPlatform(k8sConfig(saFoot));
    const target = { namespace: 'footanalytics', labelSelector: 'app.kubernetes.io/name=api-gateway', kind: 'deployment' as const };
    const w = await p.workload(target);
    expect(w).toMatchObject({ desired: 3, ready: 3 });
    expect(w.pods).toHaveLength(3);
    for (const x of w.pods) expect(x).toMatchObject({ ready: true, restarts: 0 });

    await p.scale(target, 4);
    await waitFor('4/4', async () => {
      const s = await p.workload(target);
      return s.desired === 4 && s.ready === 4 && s.pods.length === 4;
    });
    await p.scale(target, 3);
    await waitFor('3/3', async () => {
      const s = await p.workload(target);
      return s.desired === 3 && s.ready === 3 && s.pods.length === 3;
    });

    const victim = (await p.workload(target)).pods[0].name;
    await p.restartPod(target, victim);
    await waitFor('replaced', async () => {
      const s = await p.workload(target);
      return s.ready === 3 && s.pods.length === 3 && !s.pods.some((x) => x.name === victim);
    });
    await p.restartPod(target, victim); // gone already: fine

    // a bystander pod in the same namespace, not matching the selector, is never deleted
    await a.core.deleteNamespacedPod({ name: 'tempest-bystander', namespace: 'footanalytics', gracePeriodSeconds: 0 }).catch(() => undefined);
    await waitFor(
      'no old bystander',
      async () => !(await a.core.listNamespacedPod({ namespace: 'footanalytics', fieldSelector: 'metadata.name=tempest-bystander' })).items.length,
    );
    await a.core.createNamespacedPod({
      namespace: 'footanalytics',
      body: { metadata: { name: 'tempest-bystander', labels: { app: 'bystander' } }, spec: { containers: [{ name: 'c', image: 'registry.example/x:1' }] } },
    });
    const f = await failureOf(p.restartPod(target, 'tempest-bystander'));
    expect(f.type).toBe('FaultRefused');
    expect(f.message).toContain('does not match app.kubernetes.io/name=api-gateway');
    expect((await a.core.readNamespacedPod({ name: 'tempest-bystander', namespace: 'footanalytics' })).metadata?.deletionTimestamp).toBeUndefined();
    await a.core.deleteNamespacedPod({ name: 'tempest-bystander', namespace: 'footanalytics', gracePeriodSeconds: 0 });
  });
});
