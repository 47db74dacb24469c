/**
 * k8sProbe against the real control plane (scripts/k8s-up, kwok nodes), through runProbe inside
 * MockActivityEnvironment: present/absent by label and field selectors (pods, apps/v1 deployments, cluster-scoped
 * namespaces, a CRD installed mid-suite), create from YAML/JSON (single, multi-document, AlreadyExists, rollback of
 * a partly created batch), delete (then absent; nothing matched; a finalizer that keeps the object past the bounded
 * wait), and could-not-run reasons: RBAC 403 as tempest-worker, a resource or group/version the API does not
 * serve. The admin identity sets up and cleans up; each run works in its own namespace, deleted at the end.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createProbeActivities, type ProbeContext, type ProbeOutcome } from '../../../activities/probes/index.js';
import type { K8sProbeInputs, ProbeSpec, RunProperties } from '../../../config/spec.js';
import { ROOT } from '../../helpers/temporal.js';
import { admin, apply, cleanupTestFiles, ensureCluster, k8sConfig, saKubeconfig, waitFor, type Admin } from '../../helpers/k8s.js';

const RUN = Math.random().toString(36).slice(2, 8);
const NS = `tempest-probe-${RUN}`;
const LABEL = 'tempest-tests/k8sprobe-run';
const CRD_GROUP = 'tempest-tests.example.com';
const CRD_NAME = `probewidgets.${CRD_GROUP}`;
const ctx: ProbeContext = { runId: `k8sprobe-${RUN}`, phase: 'SOT', iteration: 0 };

let a: Admin;
let adminKc: k8s.KubeConfig;
let saKc: k8s.KubeConfig;
let crdCreated = false;

function rp(over: Partial<RunProperties> = {}): RunProperties {
  return { probeTimeoutMs: 5000, intervalMs: 200, attempts: 1, pollingIntervalMs: 1000, initialDelayMs: 0, stopOnFailure: false, ...over };
}

function probe(k: Partial<K8sProbeInputs> & Pick<K8sProbeInputs, 'operation'>, run: Partial<RunProperties> = {}): ProbeSpec {
  return {
    name: `k8s-${k.operation}`,
    type: 'k8sProbe',
    mode: 'SOT',
    runProperties: rp(run),
    k8s: { group: '', version: 'v1', resource: 'configmaps', namespace: NS, ...k },
  };
}

function runProbe(p: ProbeSpec, kc: k8s.KubeConfig = adminKc): Promise<ProbeOutcome> {
  return new MockActivityEnvironment().run(createProbeActivities({ k8s: kc }).runProbe, p, ctx);
}

const cmYaml = (name: string, extraLabels: Record<string, string> = {}) =>
  `apiVersion: v1
kind: ConfigMap
metadata:
  name: ${name}
  labels:
    ${LABEL}: "${RUN}"
${Object.entries(extraLabels)
  .map(([k, v]) => `    ${k}: "${v}"`)
  .join('\n')}
data:
  hello: world
`;

async function configMapNames(labelSelector = `${LABEL}=${RUN}`): Promise<string[]> {
  return (await a.core.listNamespacedConfigMap({ namespace: NS, labelSelector })).items.map((c) => c.metadata!.name!).sort();
}

beforeAll(async () => {
  ensureCluster();
  a = admin();
  adminKc = a.kc;
  // deploy/rbac.yaml only (namespaces, tempest-worker, its Roles): no Role in NS, on purpose.
  const docs = k8s.loadAllYaml(readFileSync(join(ROOT, 'deploy/rbac.yaml'), 'utf8')) as k8s.KubernetesObject[];
  for (const d of docs.filter(Boolean)) await apply(a, d);
  await a.core.createNamespace({ body: { metadata: { name: NS, labels: { [LABEL]: RUN } } } });
  // A small workload of our own (kwok runs its pods): the seed apps of other suites stay untouched.
  await a.apps.createNamespacedDeployment({
    namespace: NS,
    body: {
      metadata: { name: 'probe-web', labels: { app: 'probe-web' } },
      spec: {
        replicas: 2,
        selector: { matchLabels: { app: 'probe-web' } },
        template: { metadata: { labels: { app: 'probe-web' } }, spec: { containers: [{ name: 'web', image: 'registry.example/probe-web:1.0' }] } },
      },
    },
  });
  await waitFor(
    'probe-web pods Running',
    async () => {
      const ps = (await a.core.listNamespacedPod({ namespace: NS, labelSelector: 'app=probe-web' })).items;
      return ps.length === 2 && ps.every((p) => p.status?.phase === 'Running');
    },
    90_000,
  );
  const sa = new k8s.KubeConfig();
  sa.loadFromFile(await saKubeconfig('footanalytics', a));
  saKc = sa;
}, 900_000);

afterAll(async () => {
  cleanupTestFiles();
  if (!a) return;
  // Objects a failed test may have left with a finalizer: release them, then drop the namespace.
  const held = (await a.core.listNamespacedConfigMap({ namespace: NS }).catch(() => ({ items: [] as k8s.V1ConfigMap[] }))).items.filter(
    (c) => c.metadata?.finalizers?.length,
  );
  for (const c of held) {
    await a.core
      .patchNamespacedConfigMap(
        { name: c.metadata!.name!, namespace: NS, body: { metadata: { finalizers: null } } },
        k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
      )
      .catch(() => undefined);
  }
  await a.core.deleteNamespace({ name: NS }).catch(() => undefined);
  if (crdCreated) {
    const ext = adminKc.makeApiClient(k8s.ApiextensionsV1Api);
    await ext.deleteCustomResourceDefinition({ name: CRD_NAME }).catch(() => undefined);
  }
}, 120_000);

describe('present / absent', () => {
  test('pods by label selector: present passes, absent fails with the count; an unmatched label is absent', async () => {
    const present = await runProbe(probe({ operation: 'present', resource: 'pods', labelSelector: 'app=probe-web' }));
    expect(present).toMatchObject({ type: 'k8sProbe', status: 'Passed', reason: '2 pods present', attempts: 1 });
    expect(present.observed).toMatch(new RegExp(`^2 pods found \\(present v1/pods in ${NS} labelSelector=app=probe-web\\): ${NS}/probe-web-`));

    const absent = await runProbe(probe({ operation: 'absent', resource: 'pods', labelSelector: 'app=probe-web' }));
    expect(absent).toMatchObject({ status: 'Failed', failureKind: 'criteria', reason: '2 pods present, expected absent' });

    const none = await runProbe(probe({ operation: 'absent', resource: 'pods', labelSelector: 'app=nothing-here' }));
    expect(none).toMatchObject({ status: 'Passed', reason: 'no pods present (absent as required)' });
    const notPresent = await runProbe(probe({ operation: 'present', resource: 'pods', labelSelector: 'app=nothing-here' }));
    expect(notPresent).toMatchObject({ status: 'Failed', failureKind: 'criteria', reason: 'no pods present' });
  });

  test('pods by fieldSelector status.phase=Running (with and without a label selector)', async () => {
    const running = await runProbe(probe({ operation: 'present', resource: 'pods', fieldSelector: 'status.phase=Running' }));
    expect(running).toMatchObject({ status: 'Passed', reason: '2 pods present' });
    const both = await runProbe(probe({ operation: 'present', resource: 'pods', fieldSelector: 'status.phase=Running', labelSelector: 'app=probe-web' }));
    expect(both).toMatchObject({ status: 'Passed', reason: '2 pods present' });
    const failed = await runProbe(probe({ operation: 'absent', resource: 'pods', fieldSelector: 'status.phase=Failed', labelSelector: 'app=probe-web' }));
    expect(failed).toMatchObject({ status: 'Passed', reason: 'no pods present (absent as required)' });
    const notRunning = await runProbe(probe({ operation: 'absent', resource: 'pods', fieldSelector: 'status.phase=Running' }));
    expect(notRunning).toMatchObject({ status: 'Failed', failureKind: 'criteria', reason: '2 pods present, expected absent' });
  });

  test('a bad fieldSelector is an error with the API message', async () => {
    const out = await runProbe(probe({ operation: 'present', resource: 'pods', fieldSelector: 'spec.noSuchField=x' }));
    expect(out).toMatchObject({ status: 'Failed', failureKind: 'error' });
    expect(out.reason).toMatch(new RegExp(`list pods in namespace ${NS}: refused by the API server as invalid \\(400 BadRequest\\).*spec\\.noSuchField`));
  });

  test('apps/v1 deployments (group apps) present, no CRD involved; as tempest-worker where its Role allows list', async () => {
    const out = await runProbe(probe({ operation: 'present', group: 'apps', version: 'v1', resource: 'deployments', labelSelector: 'app=probe-web' }));
    expect(out).toMatchObject({ status: 'Passed', reason: '1 deployments present' });
    expect(out.observed).toContain(`${NS}/probe-web`);
    const byName = await runProbe(
      probe({ operation: 'present', group: 'apps', version: 'v1', resource: 'deployments', fieldSelector: 'metadata.name=probe-web' }),
    );
    expect(byName).toMatchObject({ status: 'Passed', reason: '1 deployments present' });
    // tempest-worker may list deployments in footanalytics (deploy/rbac.yaml)
    const sa = await runProbe(
      probe({ operation: 'absent', group: 'apps', version: 'v1', resource: 'deployments', namespace: 'footanalytics', labelSelector: `${LABEL}=${RUN}` }),
      saKc,
    );
    expect(sa).toMatchObject({ status: 'Passed', reason: 'no deployments present (absent as required)' });
  });

  test('cluster-scoped resources (namespaces): discovery says so, the namespace input is ignored', async () => {
    const out = await runProbe(probe({ operation: 'present', resource: 'namespaces', fieldSelector: `metadata.name=${NS}`, labelSelector: `${LABEL}=${RUN}` }));
    expect(out).toMatchObject({ status: 'Passed', reason: '1 namespaces present' });
    expect(out.observed).toContain(`: ${NS}`);
  });
});

describe('create', () => {
  test('a ConfigMap from YAML data: Passed, then present; a second create is AlreadyExists on every attempt', async () => {
    const name = `cm-${RUN}`;
    const created = await runProbe(probe({ operation: 'create', data: cmYaml(name) }));
    expect(created).toMatchObject({ status: 'Passed', reason: `created ConfigMap ${NS}/${name}`, attempts: 1 });
    expect((await a.core.readNamespacedConfigMap({ name, namespace: NS })).data).toEqual({ hello: 'world' });

    const present = await runProbe(probe({ operation: 'present', fieldSelector: `metadata.name=${name}` }));
    expect(present).toMatchObject({ status: 'Passed', reason: '1 configmaps present' });

    const again = await runProbe(probe({ operation: 'create', data: cmYaml(name) }, { attempts: 2, intervalMs: 100 }));
    expect(again).toMatchObject({ status: 'Failed', failureKind: 'criteria', attempts: 2 });
    expect(again.reason).toBe(`ConfigMap ${NS}/${name} already exists (AlreadyExists: configmaps "${name}" already exists)`);
  });

  test('multi-document YAML and JSON data; apiVersion/kind may be left out; the probe namespace wins', async () => {
    const multi = `${cmYaml(`multi-a-${RUN}`, { batch: 'multi' })}---\n${cmYaml(`multi-b-${RUN}`, { batch: 'multi' })}`;
    const out = await runProbe(probe({ operation: 'create', data: multi }));
    expect(out).toMatchObject({ status: 'Passed', reason: `created 2 configmaps: ConfigMap ${NS}/multi-a-${RUN}, ConfigMap ${NS}/multi-b-${RUN}` });

    const json = JSON.stringify({ metadata: { name: `json-${RUN}`, labels: { [LABEL]: RUN, batch: 'multi' } }, data: { from: 'json' } });
    const fromJson = await runProbe(probe({ operation: 'create', data: json }));
    expect(fromJson).toMatchObject({ status: 'Passed', reason: `created ConfigMap ${NS}/json-${RUN}` });
    expect((await a.core.readNamespacedConfigMap({ name: `json-${RUN}`, namespace: NS })).data).toEqual({ from: 'json' });
    expect(await configMapNames(`${LABEL}=${RUN},batch=multi`)).toEqual([`json-${RUN}`, `multi-a-${RUN}`, `multi-b-${RUN}`]);

    const gen = await runProbe(probe({ operation: 'create', data: cmYaml('x').replace('name: x', `generateName: gen-${RUN}-`) }));
    expect(gen.status).toBe('Passed');
    expect(gen.reason).toMatch(new RegExp(`^created ConfigMap ${NS}/gen-${RUN}-\\w+$`));
  });

  test('a batch that meets AlreadyExists halfway is rolled back: nothing new is left behind', async () => {
    const existing = `cm-${RUN}`; // created by the first create test
    await a.core.createNamespacedConfigMap({ namespace: NS, body: { metadata: { name: existing, labels: { [LABEL]: RUN } } } }).catch(() => undefined);
    const data = `${cmYaml(`fresh-${RUN}`)}---\n${cmYaml(existing)}`;
    const out = await runProbe(probe({ operation: 'create', data }));
    expect(out).toMatchObject({ status: 'Failed', failureKind: 'criteria' });
    expect(out.reason).toMatch(
      new RegExp(`^ConfigMap ${NS}/${existing} already exists \\(AlreadyExists: .*\\); rolled back the 1 object\\(s\\) created before it$`),
    );
    const gone = await runProbe(probe({ operation: 'absent', fieldSelector: `metadata.name=fresh-${RUN}` }));
    expect(gone).toMatchObject({ status: 'Passed' });
  });

  test('a created pod (or workload template) never gets node access or an image the policy does not name; nothing is created', async () => {
    const podYaml = (name: string, spec: string) => `apiVersion: v1\nkind: Pod\nmetadata:\n  name: ${name}\n  labels:\n    ${LABEL}: "${RUN}"\nspec:\n${spec}`;
    const c = (extra = '') => `  containers:\n    - name: c\n      image: registry.example/probe:1.0\n${extra}`;
    const cases: Array<[string, string, string, RegExp]> = [
      ['pods', podYaml(`hp-${RUN}`, `${c()}  volumes:\n    - name: root\n      hostPath: { path: / }\n`), 'Pod', /spec\.volumes: "root" is a hostPath volume/],
      ['pods', podYaml(`priv-${RUN}`, c('      securityContext: { privileged: true }\n')), 'Pod', /spec\.containers\[0\]\.securityContext\.privileged is true/],
      ['pods', podYaml(`caps-${RUN}`, c('      securityContext: { capabilities: { add: [SYS_ADMIN] } }\n')), 'Pod', /capabilities\.add is \["SYS_ADMIN"\]/],
      ['pods', podYaml(`hpid-${RUN}`, `  hostPID: true\n${c()}`), 'Pod', /spec\.hostPID is true/],
      ['pods', podYaml(`sa-${RUN}`, `  serviceAccountName: admin\n${c()}`), 'Pod', /spec\.serviceAccountName is "admin"/],
      ['pods', podYaml(`node-${RUN}`, `  nodeName: kwok-node-0\n${c()}`), 'Pod', /spec\.nodeName is set/],
      [
        'pods',
        podYaml(`img-${RUN}`, '  containers:\n    - name: c\n      image: evil.example/root:latest\n'),
        'Pod',
        /spec\.containers\[0\]\.image "evil\.example\/root:latest" is not one of the images/,
      ],
      [
        'deployments',
        `apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: dep-${RUN}\nspec:\n  selector: { matchLabels: { x: y } }\n  template:\n    metadata: { labels: { x: y } }\n    spec:\n      hostNetwork: true\n      containers: [{ name: c, image: registry.example/probe:1.0 }]\n`,
        'Deployment',
        /spec\.template\.spec\.hostNetwork is true/,
      ],
    ];
    const policy = {
      ...k8sConfig(undefined, {
        probes: { k8sWritable: ['pods', 'deployments'] },
        images: { stress: 'registry.example/stress-ng:0.18.06', allow: ['registry.example/probe:1.0'] },
      }).policy,
      blastRadius: { allow: [{ namespace: NS }], protectedNamespaces: [] },
    };
    for (const [resource, data, kind, reason] of cases) {
      const group = resource === 'deployments' ? 'apps' : '';
      const out: ProbeOutcome = await new MockActivityEnvironment().run(
        createProbeActivities({ k8s: adminKc, policy, workerNamespace: null }).runProbe,
        probe({ operation: 'create', resource, group, data }),
        ctx,
      );
      expect([kind, out.status, out.failureKind]).toEqual([kind, 'Failed', 'error']);
      expect(out.reason).toMatch(/^refused by the worker's policy: k8sProbe create: data object 1 /);
      expect(out.reason).toMatch(reason);
    }
    const pods = (await a.core.listNamespacedPod({ namespace: NS, labelSelector: `${LABEL}=${RUN}` })).items.map((p) => p.metadata!.name);
    expect(pods).toEqual([]);
    expect((await a.apps.listNamespacedDeployment({ namespace: NS })).items.map((d) => d.metadata!.name)).not.toContain(`dep-${RUN}`);
    // the same pod, ordinary and with a named image, is created
    const ok: ProbeOutcome = await new MockActivityEnvironment().run(
      createProbeActivities({ k8s: adminKc, policy, workerNamespace: null }).runProbe,
      probe({ operation: 'create', resource: 'pods', data: podYaml(`ok-${RUN}`, c()) }),
      ctx,
    );
    expect(ok).toMatchObject({ status: 'Passed', reason: `created Pod ${NS}/ok-${RUN}` });
    await a.core.deleteNamespacedPod({ name: `ok-${RUN}`, namespace: NS, gracePeriodSeconds: 0 });
  });

  test('data that does not match the resource, or names another namespace, is a configuration error', async () => {
    const secret = await runProbe(probe({ operation: 'create', resource: 'secrets', data: cmYaml(`wrong-${RUN}`) }));
    expect(secret).toMatchObject({ status: 'Failed', failureKind: 'error' });
    expect(secret.reason).toMatch(/data object 1 \(wrong-\w+\) is v1 ConfigMap, but the probe's resource is secrets \(v1 Secret\)/);
    const otherNs = await runProbe(
      probe({ operation: 'create', data: cmYaml(`wrong-${RUN}`).replace('metadata:\n', 'metadata:\n  namespace: footanalytics\n') }),
    );
    expect(otherNs.reason).toMatch(new RegExp(`says namespace footanalytics, but the probe's namespace is ${NS}`));
    const broken = await runProbe(probe({ operation: 'create', data: 'metadata: {name: [' }));
    expect(broken).toMatchObject({ status: 'Failed', failureKind: 'error', attempts: 0 });
    expect(broken.reason).toMatch(/data is not valid YAML\/JSON/);
    const missing = await runProbe(probe({ operation: 'create' }));
    expect(missing).toMatchObject({ status: 'Failed', failureKind: 'error', attempts: 0 });
    expect(missing.reason).toMatch(/create needs `data`/);
    expect(await configMapNames(`${LABEL}=${RUN}`)).not.toContain(`wrong-${RUN}`);
  });
});

describe('delete', () => {
  test('by label: every match deleted, then absent passes; deleting again is "no resource matched"', async () => {
    for (const n of ['del-1', 'del-2', 'del-3']) {
      await a.core.createNamespacedConfigMap({ namespace: NS, body: { metadata: { name: `${n}-${RUN}`, labels: { [LABEL]: RUN, batch: 'del' } } } });
    }
    const sel = `${LABEL}=${RUN},batch=del`;
    const out = await runProbe(probe({ operation: 'delete', labelSelector: sel }));
    expect(out).toMatchObject({ status: 'Passed', reason: 'deleted 3 configmaps, none left', attempts: 1 });
    expect(out.observed).toContain(`${NS}/del-1-${RUN}`);
    expect(await configMapNames(sel)).toEqual([]);

    const absent = await runProbe(probe({ operation: 'absent', labelSelector: sel }));
    expect(absent).toMatchObject({ status: 'Passed', reason: 'no configmaps present (absent as required)' });

    const again = await runProbe(probe({ operation: 'delete', labelSelector: sel }, { attempts: 2, intervalMs: 100 }));
    expect(again).toMatchObject({ status: 'Failed', failureKind: 'criteria', attempts: 2 });
    expect(again.reason).toMatch(/^no resource matched: no configmaps to delete \(delete v1\/configmaps/);
  });

  test('by fieldSelector and label together: only the named object goes', async () => {
    for (const n of ['keep', 'drop']) {
      await a.core.createNamespacedConfigMap({ namespace: NS, body: { metadata: { name: `${n}-${RUN}`, labels: { [LABEL]: RUN, batch: 'pick' } } } });
    }
    const out = await runProbe(probe({ operation: 'delete', labelSelector: `batch=pick`, fieldSelector: `metadata.name=drop-${RUN}` }));
    expect(out).toMatchObject({ status: 'Passed', reason: 'deleted 1 configmaps, none left' });
    expect(await configMapNames(`${LABEL}=${RUN},batch=pick`)).toEqual([`keep-${RUN}`]);
  });

  test('an object held by a finalizer: the bounded wait ends with a criteria failure naming it and the finalizer', async () => {
    const name = `held-${RUN}`;
    await a.core.createNamespacedConfigMap({
      namespace: NS,
      body: { metadata: { name, labels: { [LABEL]: RUN, batch: 'held' }, finalizers: ['tempest-tests/hold'] } },
    });
    const t0 = Date.now();
    const out = await runProbe(probe({ operation: 'delete', labelSelector: `${LABEL}=${RUN},batch=held` }, { probeTimeoutMs: 2000 }));
    expect(out).toMatchObject({ status: 'Failed', failureKind: 'criteria', attempts: 1 });
    expect(out.reason).toMatch(new RegExp(`^deleted 1 configmaps, but 1 still present after \\d+ms: ${NS}/${name} \\(finalizers: tempest-tests/hold\\)$`));
    expect(Date.now() - t0).toBeLessThan(2000 + 1000);
    const cm = await a.core.readNamespacedConfigMap({ name, namespace: NS });
    expect(cm.metadata?.deletionTimestamp).toBeDefined();
    await a.core.patchNamespacedConfigMap(
      { name, namespace: NS, body: { metadata: { finalizers: null } } },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
    );
    await waitFor(`${name} gone`, async () => (await configMapNames(`${LABEL}=${RUN},batch=held`)).length === 0, 30_000);
  });

  test('a retry after the object finally went away passes: the earlier attempt of the same evaluation deleted it', async () => {
    const name = `slow-${RUN}`;
    await a.core.createNamespacedConfigMap({
      namespace: NS,
      body: { metadata: { name, labels: { [LABEL]: RUN, batch: 'slow' }, finalizers: ['tempest-tests/hold'] } },
    });
    // Release the finalizer during the interval between attempt 1 (times out its wait) and attempt 2.
    const release = setTimeout(() => {
      void a.core
        .patchNamespacedConfigMap(
          { name, namespace: NS, body: { metadata: { finalizers: null } } },
          k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
        )
        .catch(() => undefined);
    }, 1300);
    try {
      const out = await runProbe(
        probe({ operation: 'delete', labelSelector: `${LABEL}=${RUN},batch=slow` }, { probeTimeoutMs: 1000, attempts: 2, intervalMs: 1500 }),
      );
      expect(out).toMatchObject({ status: 'Passed', attempts: 2, reason: 'no configmaps left: 1 deleted by an earlier attempt of this evaluation' });
    } finally {
      clearTimeout(release);
    }
  });

  test('deployments (apps/v1) are deleted and gone within the wait', async () => {
    await a.apps.createNamespacedDeployment({
      namespace: NS,
      body: {
        metadata: { name: 'probe-doomed', labels: { app: 'probe-doomed' } },
        spec: {
          replicas: 0,
          selector: { matchLabels: { app: 'probe-doomed' } },
          template: { metadata: { labels: { app: 'probe-doomed' } }, spec: { containers: [{ name: 'c', image: 'registry.example/x:1' }] } },
        },
      },
    });
    const out = await runProbe(probe({ operation: 'delete', group: 'apps', version: 'v1', resource: 'deployments', labelSelector: 'app=probe-doomed' }));
    expect(out).toMatchObject({ status: 'Passed', reason: 'deleted 1 deployments, none left' });
    const left = await runProbe(probe({ operation: 'present', group: 'apps', version: 'v1', resource: 'deployments' }));
    expect(left).toMatchObject({ status: 'Passed', reason: '1 deployments present' }); // probe-web untouched
  });
});

describe('could not run', () => {
  test('403 as the worker (tempest-system/tempest-worker) in a namespace it has no Role in: the reason names verb, resource and namespace', async () => {
    const list = await runProbe(probe({ operation: 'present', resource: 'pods', labelSelector: 'app=probe-web' }), saKc);
    expect(list).toMatchObject({ status: 'Failed', failureKind: 'error', attempts: 1 });
    expect(list.reason).toContain(`forbidden: system:serviceaccount:tempest-system:tempest-worker may not list pods in namespace ${NS}`);
    expect(list.reason).toContain(`RBAC: grant verb "list" on resource "pods" in API group "" with a Role in namespace ${NS}`);
    expect(list.observed).toBe(`present v1/pods in ${NS} labelSelector=app=probe-web`);

    const create = await runProbe(probe({ operation: 'create', data: cmYaml(`sa-${RUN}`) }), saKc);
    expect(create).toMatchObject({ status: 'Failed', failureKind: 'error' });
    expect(create.reason).toMatch(new RegExp(`may not create configmaps in namespace ${NS} \\(RBAC: grant verb "create"`));
    expect(await configMapNames()).not.toContain(`sa-${RUN}`);

    // Its own namespace, but a verb its Role lacks (no delete on deployments).
    const del = await runProbe(
      probe({
        operation: 'delete',
        group: 'apps',
        version: 'v1',
        resource: 'deployments',
        namespace: 'footanalytics',
        labelSelector: 'app.kubernetes.io/name=api-gateway',
      }),
      saKc,
    );
    if (del.reason.startsWith('no resource matched')) {
      // the seed Deployment is not there (suite run alone on a fresh cluster): nothing to be refused
      expect(del).toMatchObject({ status: 'Failed', failureKind: 'criteria' });
    } else {
      expect(del).toMatchObject({ status: 'Failed', failureKind: 'error' });
      expect(del.reason).toMatch(
        /may not delete deployments in namespace footanalytics \(RBAC: grant verb "delete" on resource "deployments" in API group "apps"/,
      );
    }
  });

  test('a resource discovery does not list, and a group/version the server does not serve', async () => {
    const widgets = await runProbe(probe({ operation: 'present', resource: 'widgets' }));
    expect(widgets).toMatchObject({ status: 'Failed', failureKind: 'error', attempts: 1 });
    expect(widgets.reason).toMatch(/^k8sProbe: resource "widgets" does not exist in API v1 \(discovery \/api\/v1 lists: .*configmaps.*\)$/);
    const apps = await runProbe(probe({ operation: 'absent', group: 'apps', version: 'v1', resource: 'widgets' }));
    expect(apps.reason).toMatch(/resource "widgets" does not exist in API apps\/v1 \(discovery \/apis\/apps\/v1 lists: .*deployments/);
    const group = await runProbe(probe({ operation: 'present', group: 'nope.example.com', version: 'v1', resource: 'things' }));
    expect(group).toMatchObject({ status: 'Failed', failureKind: 'error' });
    expect(group.reason).toBe(
      'k8sProbe: API group/version "nope.example.com/v1" is not served by this API server (discovery GET /apis/nope.example.com/v1 answered 404; check group and version, or install its CRD)',
    );
  });

  test('an unreachable API server is an error, not a verdict', async () => {
    const kc = new k8s.KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'dead', server: 'https://127.0.0.1:1', skipTLSVerify: true }],
      users: [{ name: 'u', token: 't' }],
      contexts: [{ name: 'dead', cluster: 'dead', user: 'u' }],
      currentContext: 'dead',
    });
    const out = await runProbe(probe({ operation: 'present', resource: 'pods' }), kc);
    expect(out).toMatchObject({ status: 'Failed', failureKind: 'error' });
    expect(out.reason).toMatch(/API server is not answering.*ECONNREFUSED/);
  });
});

describe('any group/version/resource: a CRD installed while the worker runs', () => {
  test('not served before; after the CRD is established, create / present / delete / absent work on it', async () => {
    const p = (k: Partial<K8sProbeInputs> & Pick<K8sProbeInputs, 'operation'>) => probe({ group: CRD_GROUP, version: 'v1', resource: 'probewidgets', ...k });
    const before = await runProbe(p({ operation: 'present' }));
    expect(before.reason).toMatch(/API group\/version "tempest-tests\.example\.com\/v1" is not served/);

    const ext = adminKc.makeApiClient(k8s.ApiextensionsV1Api);
    await ext.createCustomResourceDefinition({
      body: {
        metadata: { name: CRD_NAME },
        spec: {
          group: CRD_GROUP,
          scope: 'Namespaced',
          names: { plural: 'probewidgets', singular: 'probewidget', kind: 'ProbeWidget', shortNames: ['pw'] },
          versions: [
            {
              name: 'v1',
              served: true,
              storage: true,
              schema: { openAPIV3Schema: { type: 'object', properties: { spec: { type: 'object', properties: { size: { type: 'integer' } } } } } },
            },
          ],
        },
      },
    });
    crdCreated = true;
    await waitFor(
      'CRD established',
      async () => {
        const c = await ext.readCustomResourceDefinition({ name: CRD_NAME });
        return c.status?.conditions?.some((x) => x.type === 'Established' && x.status === 'True');
      },
      60_000,
    );

    const data = `apiVersion: ${CRD_GROUP}/v1\nkind: ProbeWidget\nmetadata:\n  name: w1\n  labels:\n    ${LABEL}: "${RUN}"\nspec:\n  size: 3\n`;
    // Discovery of a new group can lag the Established condition by a moment: the probe's own attempts absorb it.
    const created = await runProbe(
      probe({ group: CRD_GROUP, version: 'v1', resource: 'probewidgets', operation: 'create', data }, { attempts: 10, intervalMs: 500 }),
    );
    expect(created).toMatchObject({ status: 'Passed', reason: `created ProbeWidget ${NS}/w1` });

    const custom = new k8s.KubeConfig();
    custom.loadFromString(adminKc.exportConfig());
    const viaCo = await custom
      .makeApiClient(k8s.CustomObjectsApi)
      .getNamespacedCustomObject({ group: CRD_GROUP, version: 'v1', namespace: NS, plural: 'probewidgets', name: 'w1' });
    expect((viaCo as { spec?: { size?: number } }).spec?.size).toBe(3);

    // singular / short names resolve too (kubectl-style); the plural is what Litmus YAML uses
    expect(await runProbe(p({ operation: 'present', resource: 'pw', labelSelector: `${LABEL}=${RUN}` }))).toMatchObject({
      status: 'Passed',
      reason: '1 pw present',
    });
    expect(await runProbe(p({ operation: 'delete', labelSelector: `${LABEL}=${RUN}` }))).toMatchObject({
      status: 'Passed',
      reason: 'deleted 1 probewidgets, none left',
    });
    expect(await runProbe(p({ operation: 'absent' }))).toMatchObject({ status: 'Passed', reason: 'no probewidgets present (absent as required)' });
  });
});

describe("the worker's policy bounds what a k8sProbe reaches (checked after discovery, against the real API)", () => {
  const withPolicy = async (p: ProbeSpec, over: Partial<import('../../../config/policy.js').ProbePolicy> = {}, allow = [{ namespace: NS }]) => {
    const { defaultPolicy } = await import('../../../config/policy.js');
    const base = defaultPolicy('/etc/tempest.yaml');
    const policy = { ...base, blastRadius: { allow, protectedNamespaces: [] }, probes: { ...base.probes, ...over } };
    return (await new MockActivityEnvironment().run(createProbeActivities({ k8s: adminKc, policy }).runProbe, p, ctx)) as ProbeOutcome;
  };

  test('a namespace outside the blast radius (kube-system), and a namespaced resource without a namespace, are refused', async () => {
    const ks = await withPolicy(probe({ operation: 'present', resource: 'secrets', namespace: 'kube-system' }));
    expect(ks).toMatchObject({ status: 'Failed', failureKind: 'error' });
    expect(ks.reason).toContain("refused by the worker's policy: namespace kube-system is not in blastRadius.allow of /etc/tempest.yaml");
    const all = await withPolicy(probe({ operation: 'present', resource: 'secrets', namespace: undefined }));
    expect(all.reason).toContain('secrets (v1) is namespaced: the probe must name a namespace (it never lists across namespaces)');
    expect(await withPolicy(probe({ operation: 'present', resource: 'configmaps' }))).toMatchObject({
      status: 'Passed',
      reason: expect.stringContaining('configmaps present'),
    }); // allowed: it runs (kube-root-ca.crt)
  });

  test('cluster-scoped reads only when listed, and never a write; create/delete only on k8sWritable resources', async () => {
    const nodes = probe({ operation: 'present', resource: 'nodes', namespace: undefined });
    expect((await withPolicy(nodes)).reason).toContain('nodes is cluster-scoped and not in probes.k8sClusterScoped of /etc/tempest.yaml');
    expect((await withPolicy(nodes, { k8sClusterScoped: ['nodes'] })).status).toBe('Passed');
    const delNs = probe({ operation: 'delete', resource: 'namespaces', namespace: undefined, labelSelector: `${LABEL}=${RUN}` });
    expect((await withPolicy(delNs, { k8sClusterScoped: ['namespaces'], k8sWritable: ['namespaces'] })).reason).toContain(
      'delete on the cluster-scoped namespaces',
    );
    const create = probe({ operation: 'create', data: cmYaml(`policy-${RUN}`) });
    expect((await withPolicy(create)).reason).toContain('create on configmaps (probes.k8sWritable of /etc/tempest.yaml: none)');
    expect(await configMapNames()).not.toContain(`policy-${RUN}`);
    expect((await withPolicy(create, { k8sWritable: ['configmaps'] })).status).toBe('Passed');
    expect(await configMapNames()).toContain(`policy-${RUN}`);
  });
});

describe('a namespace the blast radius restricts to app=probe-web: a k8sProbe only touches objects inside the selector (the activity checks, a crafted request never went through the loader)', () => {
  const restricted = async (p: ProbeSpec, extra: { workerNamespace?: string | null; allow?: Array<{ namespace: string; selector?: string }> } = {}) => {
    const { defaultPolicy } = await import('../../../config/policy.js');
    const base = defaultPolicy('/etc/tempest.yaml');
    const policy = {
      ...base,
      blastRadius: { allow: extra.allow ?? [{ namespace: NS, selector: 'app=probe-web' }], protectedNamespaces: [] },
      probes: { ...base.probes, k8sWritable: ['configmaps'] },
    };
    return (await new MockActivityEnvironment().run(
      createProbeActivities({ k8s: adminKc, policy, workerNamespace: extra.workerNamespace ?? null }).runProbe,
      p,
      ctx,
    )) as ProbeOutcome;
  };
  const ONLY = `blastRadius.allow of /etc/tempest.yaml allows in ${NS} only app=probe-web`;
  const cm = (name: string, labels: Record<string, string>) =>
    a.core.createNamespacedConfigMap({ namespace: NS, body: { metadata: { name, labels: { [LABEL]: RUN, batch: 'radius', ...labels } } } });

  beforeAll(async () => {
    await cm(`outside-${RUN}`, { app: 'billing' });
    await cm(`inside-${RUN}`, { app: 'probe-web' });
  });

  test('create is refused, even of a resource in probes.k8sWritable and an object that would carry the allowed labels', async () => {
    const out = await restricted(probe({ operation: 'create', data: cmYaml(`planted-${RUN}`, { app: 'probe-web' }) }));
    expect(out).toMatchObject({ status: 'Failed', failureKind: 'error' });
    expect(out.reason).toBe(`refused by the worker's policy: create in ${NS}: ${ONLY}, and a created object could carry any labels`);
    expect(await configMapNames()).not.toContain(`planted-${RUN}`);
  });

  test('reads need a labelSelector contained in the allowed one', async () => {
    const all = await restricted(probe({ operation: 'present', resource: 'pods' }));
    expect(all).toMatchObject({ status: 'Failed', failureKind: 'error' });
    expect(all.reason).toBe(`refused by the worker's policy: present in ${NS} needs a labelSelector contained in the blast radius (${ONLY})`);
    const other = await restricted(probe({ operation: 'absent', labelSelector: `${LABEL}=${RUN}` }));
    expect(other).toMatchObject({ status: 'Failed', failureKind: 'error' });
    expect(other.reason).toBe(`refused by the worker's policy: labelSelector ${LABEL}=${RUN} selects objects outside the blast radius (${ONLY})`);
    expect(await restricted(probe({ operation: 'present', resource: 'pods', labelSelector: 'app=probe-web' }))).toMatchObject({
      status: 'Passed',
      reason: '2 pods present',
    });
    expect(await restricted(probe({ operation: 'present', labelSelector: `app=probe-web,${LABEL}=${RUN}` }))).toMatchObject({
      status: 'Passed',
      reason: '1 configmaps present',
    });
  });

  test("a read by name checks the object's live labels: outside the selector it is refused (present and absent alike), inside it is read", async () => {
    const outside = await restricted(probe({ operation: 'present', fieldSelector: `metadata.name=outside-${RUN}` }));
    expect(outside).toMatchObject({ status: 'Failed', failureKind: 'error' });
    expect(outside.reason).toBe(`refused by the worker's policy: ConfigMap ${NS}/outside-${RUN} in ${NS} has labels outside the blast radius (${ONLY})`);
    expect(await restricted(probe({ operation: 'absent', fieldSelector: `metadata.name=outside-${RUN}` }))).toMatchObject({
      status: 'Failed',
      failureKind: 'error',
    });
    expect(await restricted(probe({ operation: 'present', fieldSelector: `metadata.name=inside-${RUN}` }))).toMatchObject({
      status: 'Passed',
      reason: '1 configmaps present',
    });
    expect(await restricted(probe({ operation: 'absent', fieldSelector: `metadata.name=never-${RUN}` }))).toMatchObject({ status: 'Passed' });
  });

  test('delete needs a contained labelSelector (a name alone is not enough); outside objects stay, inside ones go', async () => {
    const byName = await restricted(probe({ operation: 'delete', fieldSelector: `metadata.name=outside-${RUN}` }));
    expect(byName).toMatchObject({ status: 'Failed', failureKind: 'error' });
    expect(byName.reason).toBe(`refused by the worker's policy: delete in ${NS} needs a labelSelector contained in the blast radius (${ONLY})`);
    const wide = await restricted(probe({ operation: 'delete', labelSelector: 'batch=radius' }));
    expect(wide).toMatchObject({ status: 'Failed', failureKind: 'error' });
    expect(wide.reason).toContain('labelSelector batch=radius selects objects outside the blast radius');
    expect(await configMapNames(`${LABEL}=${RUN},batch=radius`)).toEqual([`inside-${RUN}`, `outside-${RUN}`]);
    expect(await restricted(probe({ operation: 'delete', labelSelector: 'app=probe-web,batch=radius' }))).toMatchObject({
      status: 'Passed',
      reason: 'deleted 1 configmaps, none left',
    });
    expect(await configMapNames(`${LABEL}=${RUN},batch=radius`)).toEqual([`outside-${RUN}`]);
  });

  test("the worker's own namespace: refused through *, even without a selector; reachable when listed by its exact name", async () => {
    const p = probe({ operation: 'present', resource: 'pods', labelSelector: 'app=probe-web' });
    const star = await restricted(p, { allow: [{ namespace: '*' }], workerNamespace: NS });
    expect(star).toMatchObject({ status: 'Failed', failureKind: 'error' });
    expect(star.reason).toBe(
      `refused by the worker's policy: namespace ${NS} is the worker's own namespace: nothing may target it unless blastRadius.allow of /etc/tempest.yaml lists it by its exact name`,
    );
    expect(await restricted(p, { allow: [{ namespace: '*' }], workerNamespace: 'tempest-system' })).toMatchObject({ status: 'Passed' });
    expect(await restricted(p, { allow: [{ namespace: '*' }, { namespace: NS }], workerNamespace: NS })).toMatchObject({ status: 'Passed' });
    // a probe activity built without a policy still protects it
    const bare = await new MockActivityEnvironment().run(createProbeActivities({ k8s: adminKc, workerNamespace: NS }).runProbe, p, ctx);
    expect(bare).toMatchObject({ status: 'Failed', failureKind: 'error', reason: expect.stringContaining("is the worker's own namespace") });
  });
});
