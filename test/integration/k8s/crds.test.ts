/**
 * The CRDs Tempest ships for Litmus's kinds (deploy/crds/litmuschaos.io.yaml), with kubectl against the real API
 * server, as a Litmus user would: they install and become Established; the seed's own engine and schedule, and every
 * chaos-charts engine.yaml (appinfo filled in) and fault.yaml, pass `kubectl apply --dry-run=server` unchanged; a
 * wrong value is refused by the API server naming the field; `kubectl get chaosengine -A` shows the engine state.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from '../../helpers/temporal.js';
import { ADMIN_KUBECONFIG, seededCluster } from '../../helpers/k8s.js';

let kubectlBin = '';
const kubectl = (...args: string[]) => {
  const r = spawnSync(kubectlBin, ['--kubeconfig', ADMIN_KUBECONFIG, ...args], { encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
};
const tmp = mkdtempSync(join(tmpdir(), 'tempest-crds-'));
const file = (name: string, text: string) => {
  const f = join(tmp, name);
  writeFileSync(f, text);
  return f;
};
const CHARTS = join(ROOT, 'test/fixtures/chaos-charts');

beforeAll(async () => {
  await seededCluster();
  const dirs = spawnSync('bash', [join(ROOT, 'scripts/k8s-build'), '--print-bin-dirs'], { encoding: 'utf8' })
    .stdout.trim()
    .split('\n');
  kubectlBin = join(
    dirs.find((d) => d.includes('/kubectl-'))!,
    'kubectl',
  );
  const applied = kubectl('apply', '-f', join(ROOT, 'deploy/crds/litmuschaos.io.yaml'));
  expect(applied).toMatchObject({ code: 0 });
  const names = ['chaosengines', 'chaosexperiments', 'chaosschedules', 'chaosresults'].map((p) => `crd/${p}.litmuschaos.io`);
  expect(kubectl('wait', '--for', 'condition=Established', '--timeout', '60s', ...names)).toMatchObject({ code: 0 });
  kubectl('create', 'namespace', 'chaos-engineering'); // the seed schedule's namespace (may exist from an earlier run)
  expect(kubectl('get', 'namespace', 'chaos-engineering').code).toBe(0);
}, 900_000);
// The CRDs stay installed (other suites do not use the kinds; a later run re-applies them idempotently).
afterAll(() => {
  kubectl('delete', 'chaosengine', '--all', '-n', 'chaos-engineering', '--wait=true');
});

test('the four kinds are served as litmuschaos.io/v1alpha1, as Litmus names them', () => {
  const r = kubectl('api-resources', '--api-group', 'litmuschaos.io', '-o', 'name');
  expect(r.code).toBe(0);
  expect(r.out.trim().split('\n').sort()).toEqual([
    'chaosengines.litmuschaos.io',
    'chaosexperiments.litmuschaos.io',
    'chaosresults.litmuschaos.io',
    'chaosschedules.litmuschaos.io',
  ]);
});

test("the seed's engines and schedule apply unchanged (server-side dry run)", () => {
  for (const f of [
    'examples/engines/api-gateway-chaos.yaml',
    'examples/engines/ml-pipeline-gpu-chaos.yaml',
    'examples/schedules/footanalytics-chaos-schedule.yaml',
  ]) {
    const r = kubectl('apply', '--dry-run=server', '-f', join(ROOT, f));
    expect({ f, ...r }).toMatchObject({ f, code: 0 });
    expect(r.out).toMatch(/created \(server dry run\)|configured \(server dry run\)|unchanged \(server dry run\)/);
  }
});

test.each(
  readdirSync(CHARTS, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => d.name),
)('chaos-charts %s: engine.yaml (appinfo filled in) and fault.yaml apply unchanged', (fault) => {
  const engine = readFileSync(join(CHARTS, fault, 'engine.yaml'), 'utf8')
    .replace("appns: ''", 'appns: footanalytics')
    .replace("applabel: ''", "applabel: 'app.kubernetes.io/name=api-gateway'")
    .replace("appkind: ''", 'appkind: deployment');
  for (const f of [file(`${fault}-engine.yaml`, engine), join(CHARTS, fault, 'fault.yaml')]) {
    const r = kubectl('apply', '--dry-run=server', '-n', 'default', '-f', f);
    expect({ f, ...r }).toMatchObject({ f, code: 0 });
  }
});

test('a wrong value is refused by the API server, naming the field', () => {
  const seed = readFileSync(join(ROOT, 'examples/engines/api-gateway-chaos.yaml'), 'utf8');
  const paused = kubectl('apply', '--dry-run=server', '-f', file('paused.yaml', seed.replace(/^spec:\n/m, 'spec:\n  engineState: paused\n')));
  expect(paused.code).not.toBe(0);
  expect(paused.out).toMatch(/spec\.engineState: Unsupported value: "paused": supported values: "active", "stop"/);
  const numeric = kubectl('apply', '--dry-run=server', '-f', file('numeric.yaml', seed.replace(/value: "60"/, 'value: 60')));
  expect(numeric.code).not.toBe(0);
  expect(numeric.out).toMatch(
    /spec\.experiments\[0\]\.spec\.components\.env\[0\]\.value: Invalid value: "integer": spec\.experiments\[0\]\.spec\.components\.env\[0\]\.value in body must be of type string/,
  );
  const none = kubectl('apply', '--dry-run=server', '-f', file('none.yaml', seed.replace(/^ {2}experiments:[\s\S]*$/m, '  experiments: []\n')));
  expect(none.code).not.toBe(0);
  expect(none.out).toMatch(/spec\.experiments: Invalid value: 0: spec\.experiments in body should have at least 1 items/);
  const schedule = readFileSync(join(ROOT, 'examples/schedules/footanalytics-chaos-schedule.yaml'), 'utf8');
  const halted = kubectl('apply', '--dry-run=server', '-f', file('sched.yaml', schedule.replace(/^spec:\n/m, 'spec:\n  scheduleState: paused\n')));
  expect(halted.code).not.toBe(0);
  expect(halted.out).toMatch(/spec\.scheduleState: Unsupported value: "paused"/);
  const exp = readFileSync(join(CHARTS, 'pod-delete', 'fault.yaml'), 'utf8');
  const noDefinition = kubectl(
    'apply',
    '--dry-run=server',
    '-n',
    'default',
    '-f',
    file('exp.yaml', exp.replace(/^spec:\n {2}definition:/m, 'spec:\n  definitionz:')),
  );
  expect(noDefinition.code).not.toBe(0);
  expect(noDefinition.out).toMatch(/spec\.definition: Required value/);
});

test('kubectl get chaosengine -A shows the engine state of a real object', () => {
  const seed = readFileSync(join(ROOT, 'examples/engines/api-gateway-chaos.yaml'), 'utf8')
    .replace(/^ {2}name: .*$/m, '  name: crd-test-engine')
    .replace(/^ {2}namespace: .*$/m, '  namespace: chaos-engineering');
  const f = file('real.yaml', seed.replace(/^spec:\n/m, 'spec:\n  engineState: stop\n'));
  expect(kubectl('apply', '-f', f)).toMatchObject({ code: 0 });
  try {
    const r = kubectl('get', 'chaosengine', '-A');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/NAMESPACE\s+NAME\s+ENGINE STATE\s+STATUS\s+AGE/);
    expect(r.out).toMatch(/chaos-engineering\s+crd-test-engine\s+stop\s/);
    // Status goes through the /status subresource only (what the controller will write), and the column shows it.
    expect(
      kubectl(
        'patch',
        'chaosengine',
        'crd-test-engine',
        '-n',
        'chaos-engineering',
        '--subresource=status',
        '--type=merge',
        '-p',
        '{"status":{"engineStatus":"stopped"}}',
      ),
    ).toMatchObject({ code: 0 });
    expect(kubectl('get', 'chaosengine', 'crd-test-engine', '-n', 'chaos-engineering').out).toMatch(/crd-test-engine\s+stop\s+stopped\s/);
    expect(kubectl('apply', '-f', f).code).toBe(0); // re-applying the spec leaves the status alone
    expect(kubectl('get', 'chaosengine', 'crd-test-engine', '-n', 'chaos-engineering', '-o', 'jsonpath={.status.engineStatus}').out).toBe('stopped');
  } finally {
    kubectl('delete', '-f', f, '--wait=true');
  }
});
