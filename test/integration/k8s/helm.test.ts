/**
 * The Helm chart (deploy/helm/tempest) with helm built from Go modules (scripts/k8s-build) and the real API server:
 *  - `helm lint` passes; the values the chart cannot guess (image, Temporal address) are required, by name;
 *  - `helm template | kubectl apply --dry-run=server` is accepted by the API server, object by object; the
 *    ServiceMonitor and the PrometheusRule (the SLO rules file, unchanged) render for the Prometheus operator;
 *  - its RBAC is exactly deploy/rbac.yaml's and deploy/controller-rbac.yaml's (the audited rules);
 *  - its ConfigMap's tempest.yaml is a valid policy for the real loader;
 *  - installed for real (everything but the two Deployments, which need the image), the worker and the controller
 *    run as PROCESSES with that ConfigMap's tempest.yaml and the chart's own ServiceAccounts' tokens: an engine
 *    annotated tempest.io/managed runs to a Pass ChaosResult; one without the annotation is left alone (the default,
 *    `engines: annotated`, next to a Litmus operator).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { parse, parseAllDocuments, stringify } from 'yaml';
import { loadTempestConfig } from '../../../config/tempest-config.js';
import { ROOT } from '../../helpers/temporal.js';
import { engineYaml } from '../../helpers/engines.js';
import { ADMIN_KUBECONFIG, cleanupTestFiles, saKubeconfig, seededCluster, waitFor, waitReady, type Admin } from '../../helpers/k8s.js';
import { killWorkerProcesses, startControllerProcess, startWorkerProcess } from '../../helpers/worker-process.js';

const CHART = join(ROOT, 'deploy/helm/tempest');
const RELEASE = 'tempest-chart';
const NS = 'tempest-chart';
let helm = '';
let kubectlBin = '';
let a: Admin;
const tmp = mkdtempSync(join(tmpdir(), 'tempest-helm-'));
const taskQueue = `chart-${Math.random().toString(36).slice(2, 8)}`;
const VALUES = [
  '--set',
  'image.repository=registry.example/tempest',
  '--set',
  `temporal.address=${process.env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233'}`,
  '--set',
  `temporal.taskQueue=${taskQueue}`,
  '--set',
  'targetNamespaces={footanalytics,ai-processing}',
  '--set',
  'controller.leaseDuration=4s',
  '--set',
  'controller.resync=1s',
];
const run = (bin: string, args: string[], input?: string) => {
  const r = spawnSync(bin, args, { encoding: 'utf8', timeout: 120_000, input });
  return { code: r.status, out: `${r.stdout}${r.stderr}`, stdout: r.stdout };
};
const kubectl = (...args: string[]) => run(kubectlBin, ['--kubeconfig', ADMIN_KUBECONFIG, ...args]);
type Doc = { kind: string; metadata: { name: string; namespace?: string }; rules?: unknown[]; data?: Record<string, string> };
const docsOf = (text: string): Doc[] =>
  parseAllDocuments(text)
    .map((d) => d.toJS() as Doc)
    .filter(Boolean);
const render = (...extra: string[]) => run(helm, ['template', RELEASE, CHART, '-n', NS, '--kube-version', 'v1.36.3', ...VALUES, ...extra]);

beforeAll(async () => {
  a = await seededCluster();
  const dirs = run('bash', [join(ROOT, 'scripts/k8s-build'), '--print-bin-dirs'])
    .stdout.trim()
    .split('\n');
  kubectlBin = join(
    dirs.find((d) => d.includes('/kubectl-'))!,
    'kubectl',
  );
  helm = join(
    dirs.find((d) => d.includes('/helm-'))!,
    'helm',
  );
  kubectl('create', 'namespace', NS);
  expect(kubectl('apply', '-f', join(ROOT, 'deploy/crds/litmuschaos.io.yaml')).code).toBe(0);
}, 900_000);

afterAll(() => {
  for (const ns of ['footanalytics'])
    kubectl('delete', 'chaosengine', 'chart-managed', 'chart-unmanaged', '-n', ns, '--wait=true', '--timeout=120s', '--ignore-not-found');
  killWorkerProcesses();
  cleanupTestFiles();
}, 200_000);

test('helm lint passes; the image and the Temporal address are required, by name; the release namespace is never a target', () => {
  const lint = run(helm, ['lint', CHART, ...VALUES]);
  expect(lint.out).toMatch(/1 chart\(s\) linted, 0 chart\(s\) failed/);
  expect(lint.code).toBe(0);
  const noImage = run(helm, ['template', RELEASE, CHART, '-n', NS, '--kube-version', 'v1.36.3', '--set', 'temporal.address=x:7233']);
  expect(noImage.code).not.toBe(0);
  expect(noImage.out).toMatch(/image\.repository is required: there is no public Tempest image; build deploy\/Dockerfile/);
  const noTemporal = run(helm, ['template', RELEASE, CHART, '-n', NS, '--kube-version', 'v1.36.3', '--set', 'image.repository=r/t']);
  expect(noTemporal.out).toMatch(/temporal\.address is required/);
  expect(render('--set', `targetNamespaces={${NS}}`).out).toMatch(/targetNamespaces: tempest-chart is the release namespace/);
  expect(render('--set', 'policy.temporal.address=evil:7233').out).toMatch(/policy\.temporal: set it with the chart's own values/);
  // impersonate.mode: an unquoted off (YAML false) is off; required needs its accounts; anything else is refused.
  expect(render('--set', 'impersonate.mode=false').code).toBe(0);
  expect(render('--set', 'impersonate.mode=required').out).toMatch(/impersonate\.mode required needs impersonate\.serviceAccounts/);
  expect(render('--set', 'impersonate.mode=maybe').out).toMatch(/impersonate\.mode: maybe is neither off nor required/);
  // The policy's secrets go to the worker only (the controller runs no guard or action).
  const withSecret = docsOf(
    render('--set', 'secretEnv[0].env=PAGERDUTY_TOKEN', '--set', 'secretEnv[0].secretName=pagerduty', '--set', 'secretEnv[0].key=token').stdout,
  ) as unknown as k8s.V1Deployment[];
  const envOf = (n: string) =>
    (withSecret.find((d) => d.kind === 'Deployment' && d.metadata?.name === n)!.spec!.template.spec!.containers[0].env ?? []).map((e) => e.name);
  expect(envOf('tempest-chart-worker')).toContain('PAGERDUTY_TOKEN');
  expect(envOf('tempest-chart-controller')).not.toContain('PAGERDUTY_TOKEN');
});

test('helm template | kubectl apply --dry-run=server: the API server accepts every object', () => {
  const r = render('--set', 'nodeHelpers=true');
  expect(r.code).toBe(0);
  const kinds = docsOf(r.stdout).map((d) => `${d.kind}/${d.metadata.name}`);
  expect(kinds).toEqual(
    expect.arrayContaining([
      'ServiceAccount/tempest-chart-worker',
      'ServiceAccount/tempest-chart-controller',
      'ConfigMap/tempest-chart-config',
      'ClusterRole/tempest-chart-controller',
      'Role/tempest-chart-chaos',
      'Role/tempest-chart-chaos-node-helpers',
      'Deployment/tempest-chart-worker',
      'Deployment/tempest-chart-controller',
      'Service/tempest-chart-worker-metrics',
    ]),
  );
  const f = join(tmp, 'all.yaml');
  writeFileSync(f, r.stdout);
  const dry = kubectl('apply', '--dry-run=server', '-f', f);
  expect(dry.out).not.toMatch(/error|invalid/i);
  expect(dry.code).toBe(0);
  expect(dry.out).toMatch(/deployment\.apps\/tempest-chart-worker created \(server dry run\)/);
  // The worker's pod as the chart writes it: non-root, read-only root, no capabilities, metrics on all interfaces.
  const worker = docsOf(r.stdout).find((d) => d.kind === 'Deployment' && d.metadata.name === 'tempest-chart-worker') as unknown as k8s.V1Deployment;
  const pod = worker.spec!.template.spec!;
  expect(pod.serviceAccountName).toBe('tempest-chart-worker');
  expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 10001 });
  expect(pod.containers[0]).toMatchObject({
    image: 'registry.example/tempest:0.1.0',
    args: ['--config', '/etc/tempest/tempest.yaml', 'worker'],
    securityContext: { readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
  });
  // With the Prometheus operator: a ServiceMonitor (its CRD is not in this cluster: rendered, not applied).
  const sm = docsOf(render('--set', 'metrics.serviceMonitor.enabled=true').stdout).find((d) => d.kind === 'ServiceMonitor');
  expect(sm).toMatchObject({ metadata: { name: 'tempest-chart-worker' }, spec: { endpoints: [{ port: 'metrics', path: '/metrics' }] } });
  // The SLO recording rules as a PrometheusRule: the same groups as deploy/prometheus/slo-rules.yaml.
  const pr = docsOf(render('--set', 'prometheusRule.enabled=true').stdout).find((d) => d.kind === 'PrometheusRule') as unknown as { spec: { groups: unknown } };
  expect(pr.spec.groups).toEqual((parse(readFileSync(join(ROOT, 'deploy/prometheus/slo-rules.yaml'), 'utf8')) as { groups: unknown }).groups);
});

test("the chart's RBAC is exactly the audited deploy/rbac.yaml and deploy/controller-rbac.yaml rules", () => {
  const chart = docsOf(render('--set', 'nodeHelpers=true').stdout);
  const rulesOf = (docs: Doc[], kind: string, suffix: string) => docs.filter((d) => d.kind === kind && d.metadata.name.endsWith(suffix)).map((d) => d.rules);
  const worker = docsOf(readFileSync(join(ROOT, 'deploy/rbac.yaml'), 'utf8'));
  const controller = docsOf(readFileSync(join(ROOT, 'deploy/controller-rbac.yaml'), 'utf8'));
  expect(rulesOf(chart, 'Role', '-chaos')).toEqual(rulesOf(worker, 'Role', '-chaos'));
  expect(rulesOf(chart, 'Role', '-chaos-node-helpers')).toEqual(rulesOf(worker, 'Role', '-chaos-node-helpers'));
  expect(rulesOf(chart, 'ClusterRole', '-controller')).toEqual(rulesOf(controller, 'ClusterRole', '-controller'));
  expect(rulesOf(chart, 'Role', '-controller-lease')).toEqual(rulesOf(controller, 'Role', '-controller-lease'));
  expect(chart.filter((d) => d.kind === 'ClusterRole')).toHaveLength(1); // the worker has none
  // chaosServiceAccount impersonation: exactly deploy/impersonation-rbac.yaml's rule, per listed account; off by default.
  expect(chart.some((d) => d.metadata.name.includes('impersonate'))).toBe(false);
  const imp = docsOf(
    render(
      '--set',
      'impersonate.mode=required',
      '--set',
      'impersonate.serviceAccounts[0].namespace=footanalytics',
      '--set',
      'impersonate.serviceAccounts[0].name=chaos-service-account',
    ).stdout,
  );
  const seedImp = docsOf(readFileSync(join(ROOT, 'deploy/impersonation-rbac.yaml'), 'utf8')).filter(
    (d) => d.kind === 'Role' && d.metadata.name === 'tempest-impersonate' && d.metadata.namespace === 'footanalytics',
  );
  expect(rulesOf(imp, 'Role', '-impersonate-chaos-service-account')).toEqual(seedImp.map((d) => d.rules));
  const cm = imp.find((d) => d.kind === 'ConfigMap')!;
  expect(parse(cm.data!['tempest.yaml']).platform.kubernetes.impersonate).toEqual({
    mode: 'required',
    serviceAccounts: [{ namespace: 'footanalytics', name: 'chaos-service-account' }],
  });
});

test("installed (all but the Deployments), the chart's ConfigMap and ServiceAccounts run a managed engine to a Pass ChaosResult and leave an unannotated one alone", async () => {
  const docs = docsOf(render('--set', 'controller.replicas=1').stdout).filter((d) => d.kind !== 'Deployment');
  const f = join(tmp, 'install.yaml');
  writeFileSync(f, docs.map((d) => `---\n${stringify(d)}`).join(''));
  expect(kubectl('apply', '-f', f)).toMatchObject({ code: 0 });

  // The ConfigMap's policy, read back from the cluster, through the real loader.
  const cm = await a.core.readNamespacedConfigMap({ name: 'tempest-chart-config', namespace: NS });
  const policy = parse(cm.data!['tempest.yaml']);
  expect(policy).toMatchObject({
    platform: { driver: 'kubernetes' },
    metrics: { host: '0.0.0.0' },
    controller: { engines: 'annotated', namespace: NS, leaseName: 'tempest-chart-controller' },
    blastRadius: { allow: [{ namespace: 'footanalytics' }, { namespace: 'ai-processing' }] },
  });
  // Where the pod mounts its volumes is the only thing that differs outside a pod: state and reports here.
  policy.state.dir = join(tmp, 'state');
  policy.reports.dir = join(tmp, 'reports');
  const cfgFile = join(tmp, 'tempest.yaml');
  writeFileSync(cfgFile, stringify(policy));
  const cfg = loadTempestConfig(cfgFile);
  expect(cfg.policy.blastRadius.allow.map((x) => x.namespace)).toEqual(['footanalytics', 'ai-processing']);

  // Each process as the chart's own ServiceAccount (TokenRequest tokens), never admin.
  const workerKc = await saKubeconfig('footanalytics', a, { namespace: NS, name: 'tempest-chart-worker' });
  const controllerKc = await saKubeconfig('default', a, { namespace: NS, name: 'tempest-chart-controller' });
  const wcfg = join(tmp, 'worker.yaml');
  writeFileSync(wcfg, stringify({ ...policy, platform: { driver: 'kubernetes', kubernetes: { kubeconfig: workerKc } } }));
  await startWorkerProcess(wcfg);
  await startControllerProcess(cfgFile, controllerKc, 'chart-ctl');

  await waitReady(a, 'api-gateway');
  const env = { TOTAL_CHAOS_DURATION: '10', CHAOS_INTERVAL: '5', FORCE: 'false' };
  const managed = engineYaml('chart-managed', 'footanalytics', 'api-gateway', 'pod-delete', env).replace(
    '  namespace: footanalytics\n',
    '  namespace: footanalytics\n  annotations:\n    tempest.io/managed: "true"\n',
  );
  const unmanaged = engineYaml('chart-unmanaged', 'footanalytics', 'api-gateway', 'pod-delete', env);
  for (const [n, t] of [
    ['managed', managed],
    ['unmanaged', unmanaged],
  ]) {
    writeFileSync(join(tmp, `${n}.yaml`), t);
    expect(kubectl('apply', '-f', join(tmp, `${n}.yaml`)).code).toBe(0);
  }
  const custom = a.kc.makeApiClient(k8s.CustomObjectsApi);
  const get = (name: string) =>
    custom.getNamespacedCustomObject({ group: 'litmuschaos.io', version: 'v1alpha1', plural: 'chaosengines', namespace: 'footanalytics', name }) as Promise<{
      metadata: { finalizers?: string[] };
      status?: { engineStatus?: string };
    }>;
  await waitFor('the managed engine completed', async () => (await get('chart-managed')).status?.engineStatus === 'completed', 120_000, 500);
  const res = (await custom.getNamespacedCustomObject({
    group: 'litmuschaos.io',
    version: 'v1alpha1',
    plural: 'chaosresults',
    namespace: 'footanalytics',
    name: 'chart-managed-pod-delete',
  })) as { status: { experimentStatus: { verdict: string } } };
  expect(res.status.experimentStatus.verdict).toBe('Pass');
  const left = await get('chart-unmanaged');
  expect(left.status).toBeUndefined();
  expect(left.metadata.finalizers ?? []).toEqual([]);
  const ev = await a.core.listNamespacedEvent({ namespace: 'footanalytics', fieldSelector: 'involvedObject.name=chart-unmanaged' });
  expect(ev.items).toEqual([]);
}, 300_000);
