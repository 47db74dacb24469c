/** What the controller writes back, in Litmus's shapes (workers/controller/litmus-status.ts), and its policy section. */
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ExperimentResult, ExperimentStatus } from '../../activities/types.js';
import {
  chaosResultLabel,
  chaosResultName,
  engineWorkflowId,
  finishedExperiments,
  finishedResult,
  litmusVerdict,
  runningExperiments,
  runningResult,
  sameJson,
  withCondition,
} from '../../workers/controller/litmus-status.js';
import { serviceNamespace, tenantProblems } from '../../workers/controller/tenant.js';
import { redactedMessage } from '../../workers/controller/index.js';
import { ConfigError } from '../../config/errors.js';
import type { ExperimentSpec } from '../../config/spec.js';
import { loadText } from '../../config/load.js';
import { validateExperimentSpec } from '../../config/validate-spec.js';
import { identityFor } from '../../activities/probes/index.js';
import { checkWorkflowId } from '../../client/client.js';
import { loadTempestConfig } from '../../config/tempest-config.js';

const result = (over: Partial<ExperimentResult> = {}): ExperimentResult => ({
  workflowId: 'chaosengine-0b3c',
  runId: 'r',
  experiment: 'api-gateway-chaos',
  target: { namespace: 'footanalytics', labelSelector: 'app=api-gateway', kind: 'deployment' },
  verdict: 'Pass',
  reason: 'every probe passed',
  probeSuccessPercentage: 100,
  dryRun: false,
  startedAt: '',
  endedAt: '',
  guards: [],
  faults: [
    { name: 'pod-delete', index: 0, state: 'reverted', rounds: 6, affected: ['p1'] },
    { name: 'pod-cpu-hog', index: 1, state: 'skipped', rounds: 0, affected: [] },
  ],
  probes: [
    { name: 'health', type: 'httpProbe', mode: 'Continuous', fault: 'pod-delete', status: 'Passed', runs: 10, failures: 0, lastReason: '' },
    { name: 'latency', type: 'httpProbe', mode: 'Edge', fault: 'pod-delete', status: 'Failed', runs: 2, failures: 1, lastReason: 'took 900 ms' },
  ],
  timeline: [],
  ...over,
});

test("verdicts in Litmus's words: Aborted is Stopped, Error is a Fail", () => {
  expect(['Pass', 'Fail', 'Aborted', 'Error'].map((v) => litmusVerdict(v as never))).toEqual(['Pass', 'Fail', 'Stopped', 'Fail']);
});

test('one workflow id per object uid, and it is a valid Tempest workflow id', () => {
  const id = engineWorkflowId('6f1d3a52-0c7e-4b5e-9a55-2f0b7d7e1c11');
  expect(id).toBe('chaosengine-6f1d3a52-0c7e-4b5e-9a55-2f0b7d7e1c11');
  expect(checkWorkflowId(id)).toBe(id);
});

test('status.experiments follows the run, then carries its verdict', () => {
  const s = {
    phase: 'chaos',
    paused: false,
    faults: [{ name: 'pod-delete', index: 0, state: 'injected', rounds: 1, affected: [] }],
    probes: [],
    timeline: [],
  } as ExperimentStatus;
  expect(runningExperiments(['pod-delete', 'pod-cpu-hog'], s, 'w', 'T')).toEqual([
    { name: 'pod-delete', runner: 'w', experimentPod: '', status: 'Running', verdict: 'Awaited', lastUpdateTime: 'T' },
    { name: 'pod-cpu-hog', runner: 'w', experimentPod: '', status: 'Waiting', verdict: 'Awaited', lastUpdateTime: 'T' },
  ]);
  expect(finishedExperiments(['pod-delete', 'pod-cpu-hog'], result(), 'T').map((e) => [e.status, e.verdict])).toEqual([
    ['Completed', 'Pass'],
    ['Skipped', 'Pass'],
  ]);
  expect(finishedExperiments(['pod-delete'], result({ verdict: 'Aborted' }), 'T')[0]).toMatchObject({ status: 'Aborted', verdict: 'Stopped' });
});

test("a ChaosResult's status: this experiment's probes and percentage, a failed step on Fail, the history counted from the previous one", () => {
  const r = finishedResult('pod-delete', 0, result(), { passedRuns: 2, failedRuns: 1, stoppedRuns: 0, targets: [] });
  expect(r).toEqual({
    experimentStatus: { phase: 'Completed', verdict: 'Pass', probeSuccessPercentage: '50', failureOutput: null },
    probeStatuses: [
      { name: 'health', type: 'httpProbe', mode: 'Continuous', status: { verdict: 'Passed', description: '10/10 checks passed' } },
      { name: 'latency', type: 'httpProbe', mode: 'Edge', status: { verdict: 'Failed', description: 'took 900 ms' } },
    ],
    history: { passedRuns: 3, failedRuns: 1, stoppedRuns: 0, targets: [{ name: 'app=api-gateway', kind: 'deployment', chaosStatus: 'reverted' }] },
  });
  const failed = finishedResult('pod-delete', 0, result({ verdict: 'Error', reason: 'guard could not be evaluated' }), undefined);
  expect(failed.experimentStatus).toEqual({
    phase: 'Completed',
    verdict: 'Fail',
    probeSuccessPercentage: '50',
    failureOutput: { failedStep: 'guard could not be evaluated', errorCode: 'TEMPEST_ERROR' },
  });
  expect(failed.history).toMatchObject({ passedRuns: 0, failedRuns: 1, stoppedRuns: 0 });
  const stopped = finishedResult('pod-cpu-hog', 1, result({ verdict: 'Aborted' }), undefined);
  expect(stopped.experimentStatus).toEqual({ phase: 'Stopped', verdict: 'Stopped', probeSuccessPercentage: '100', failureOutput: null }); // no probes of its own: the run's
  expect(stopped.history).toMatchObject({ stoppedRuns: 1, targets: [{ chaosStatus: 'not targeted' }] });
  expect(runningResult('pod-delete', 0, undefined, undefined)).toEqual({
    experimentStatus: { phase: 'Running', verdict: 'Awaited', probeSuccessPercentage: '0' },
    probeStatuses: [],
    history: { passedRuns: 0, failedRuns: 0, stoppedRuns: 0, targets: [] },
  });
});

test('a condition keeps its transition time while it stays the same', () => {
  const one = withCondition(undefined, { type: 'Accepted', status: 'True', reason: 'Started', message: 'a' }, 'T1');
  const two = withCondition(one, { type: 'Accepted', status: 'True', reason: 'Started', message: 'b' }, 'T2');
  expect(two).toEqual([{ type: 'Accepted', status: 'True', reason: 'Started', message: 'b', lastTransitionTime: 'T1' }]);
  const three = withCondition(two, { type: 'Accepted', status: 'False', reason: 'Invalid', message: 'c' }, 'T3');
  expect(three[0].lastTransitionTime).toBe('T3');
});

test('tempest.yaml: controller and metrics.host, with defaults, and bad values named by field', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tempest-ctl-cfg-'));
  const file = (name: string, text: string) => {
    writeFileSync(join(dir, name), text);
    return join(dir, name);
  };
  const d = loadTempestConfig(file('d.yaml', '{}\n'));
  expect(d.controller).toEqual({
    engines: 'annotated',
    namespace: 'tempest-system',
    leaseName: 'tempest-controller',
    leaseDuration: 15_000,
    resync: 5000,
    crossNamespaceFrom: [],
  });
  expect(d.metrics).toEqual({ port: 9464, host: '127.0.0.1' });
  const c = loadTempestConfig(file('c.yaml', 'controller: {engines: all, crossNamespaceFrom: [chaos-engineering], resync: 1}\nmetrics: {host: 0.0.0.0}\n'));
  expect(c.controller).toMatchObject({ engines: 'all', crossNamespaceFrom: ['chaos-engineering'], resync: 1000 });
  expect(c.metrics.host).toBe('0.0.0.0');
  expect(() => loadTempestConfig(file('b1.yaml', 'controller: {engines: some}\n'))).toThrow(/b1\.yaml: controller\.engines/);
  expect(() => loadTempestConfig(file('b2.yaml', 'controller: {crossNamespaceFrom: ["Not_A_Namespace"]}\n'))).toThrow(
    /controller\.crossNamespaceFrom\[0\]: must be a namespace name/,
  );
  expect(() => loadTempestConfig(file('b3.yaml', 'metrics: {host: "example.com"}\n'))).toThrow(/metrics\.host/);
  expect(() => loadTempestConfig(file('b4.yaml', 'controller: {leaseDuration: 1}\n'))).toThrow(/controller\.leaseDuration: must be from 2s to 5m/);
});

describe('tenant rules and what reaches the cluster', () => {
  const cfg = loadTempestConfig(undefined);
  const spec = (over: Partial<ExperimentSpec> = {}, probes: ExperimentSpec['faults'][number]['probes'] = []): ExperimentSpec =>
    ({
      name: 'e',
      engineNamespace: 'team-a',
      target: { namespace: 'team-a', labelSelector: 'app=x', kind: 'deployment' },
      engineState: 'active',
      faults: [{ name: 'pod-delete', probes } as never],
      ...over,
    }) as ExperimentSpec;
  const rp = { probeTimeoutMs: 1000, intervalMs: 1000, attempts: 1 } as never;

  test("an engine reaches only its own namespace: target, cmdProbe source, k8sProbe namespace, a service URL's namespace", () => {
    expect(tenantProblems(spec(), 'team-a', 'f', 'spec', cfg)).toEqual([]);
    const bad = tenantProblems(
      spec({ target: { namespace: 'team-b', labelSelector: 'app=x', kind: 'deployment' } }, [
        {
          name: 'c',
          type: 'cmdProbe',
          mode: 'SOT',
          runProperties: rp,
          cmd: {
            command: 'cat /etc/passwd',
            source: { namespace: 'team-b', labelSelector: 'app=db' },
            comparator: { type: 'string', criteria: 'contains', value: 'x' },
          },
        } as never,
        {
          name: 'k',
          type: 'k8sProbe',
          mode: 'SOT',
          runProperties: rp,
          k8s: { group: '', version: 'v1', resource: 'pods', namespace: 'team-b', operation: 'delete' },
        } as never,
        { name: 'h', type: 'httpProbe', mode: 'SOT', runProperties: rp, http: { url: 'http://db.team-b.svc.cluster.local:5432/' } } as never,
        { name: 'own', type: 'httpProbe', mode: 'SOT', runProperties: rp, http: { url: 'http://api.team-a.svc:80/health' } } as never,
      ]),
      'team-a',
      'chaosengine/team-a/e',
      'spec',
      cfg,
    );
    expect(bad.map((p) => p.path)).toEqual([
      'spec.appinfo.appns',
      'spec.experiments[0].spec.probe[0].cmdProbe/inputs.source',
      'spec.experiments[0].spec.probe[1].k8sProbe/inputs.namespace',
      'spec.experiments[0].spec.probe[2].httpProbe/inputs.url',
    ]);
    expect(bad[1].message).toMatch(/probe c would run in namespace team-b: an engine in namespace team-a may only probe its own/);
    // The operator's own platform namespace may reach others (still inside the blast radius: the loader checks that).
    const platform = loadTempestConfig(undefined);
    platform.controller.crossNamespaceFrom = ['team-a'];
    expect(tenantProblems(spec({ target: { namespace: 'team-b', labelSelector: 'app=x', kind: 'deployment' } }), 'team-a', 'f', 'spec', platform)).toEqual([]);
  });

  test('service URLs: the namespace of svc.ns.svc[.cluster.local] (and a pod-per-service form); other hosts name none', () => {
    expect(
      ['http://a.b.svc', 'https://a.b.svc.cluster.local:8443/x', 'http://p.a.b.svc:1', 'http://example.com', 'http://10.0.0.1', 'not a url'].map(
        serviceNamespace,
      ),
    ).toEqual(['b', 'b', 'b', undefined, undefined, undefined]);
  });

  test('a refusal for the cluster redacts URL credentials and secret-looking fields, and keeps the rest', () => {
    const e = new ConfigError([
      {
        file: 'chaosengine/a/e',
        path: 'spec.experiments[0].spec.probe[0].httpProbe/inputs.url',
        message: 'bad',
        value: 'https://svc:s3cr3tPW@api.a.svc/health',
      },
      { file: 'chaosengine/a/e', path: 'spec.experiments[0].spec.probe[0].httpProbe/inputs.headers.Authorization', message: 'bad', value: 'Bearer abc' },
      { file: 'chaosengine/a/e', path: 'spec.experiments[0].spec.components.env[1].value', message: 'PODS_AFFECTED_PERC must be <= 100', value: '500' },
    ]);
    const m = redactedMessage(e);
    expect(m).not.toMatch(/s3cr3tPW|abc/);
    expect(m).toContain('(got "https://<redacted>@api.a.svc/health")');
    expect(m).toContain('headers.Authorization: bad (got "<redacted>")');
    expect(m).toContain('PODS_AFFECTED_PERC must be <= 100 (got "500")');
  });

  test('names that fit the API: ChaosResult names and their label, hash-shortened, never colliding; JSON compared regardless of key order', () => {
    expect(chaosResultName('api-gateway-chaos', 'pod-delete')).toBe('api-gateway-chaos-pod-delete');
    const long = chaosResultName('e'.repeat(250), 'pod-delete');
    expect(long.length).toBeLessThanOrEqual(253);
    expect(long).not.toBe(chaosResultName('e'.repeat(250), 'pod-cpu-hog'));
    const label = chaosResultLabel(`${'a'.repeat(60)}-pod-delete`);
    expect(label.length).toBeLessThanOrEqual(63);
    expect(label).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
    expect(sameJson({ b: 1, a: { d: [1, { y: 2, x: 1 }], c: undefined } }, { a: { d: [1, { x: 1, y: 2 }] }, b: 1 })).toBe(true);
    expect(sameJson({ a: 1 }, { a: 2 })).toBe(false);
  });
});

describe("probes act as the run's chaosServiceAccount when the policy impersonates", () => {
  const engineText = (sa: string | undefined) => `apiVersion: litmuschaos.io/v1alpha1
kind: ChaosEngine
metadata: { name: e, namespace: footanalytics }
spec:
  appinfo: { appns: footanalytics, applabel: "app=x", appkind: deployment }
${sa ? `  chaosServiceAccount: ${sa}\n` : ''}  experiments:
    - name: pod-delete
      spec:
        components: { env: [{ name: TOTAL_CHAOS_DURATION, value: "10" }] }
        probe:
          - name: pods-there
            type: k8sProbe
            mode: SOT
            runProperties: { probeTimeout: 5, interval: 1, retry: 1 }
            k8sProbe/inputs: { group: "", version: v1, resource: pods, namespace: footanalytics, operation: present }
          - name: http
            type: httpProbe
            mode: SOT
            runProperties: { probeTimeout: 5, interval: 1, retry: 1 }
            httpProbe/inputs: { url: "http://x.footanalytics.svc:80/", method: { get: { criteria: ==, responseCode: "200" } } }
`;
  const policyFile = (mode: string) => {
    const dir = mkdtempSync(join(tmpdir(), 'tempest-imp-'));
    const f = join(dir, 'tempest.yaml');
    writeFileSync(
      f,
      `blastRadius: { allow: [{ namespace: footanalytics }] }\nprobes: { allowHosts: ["x.footanalytics.svc"] }\nplatform:\n  kubernetes:\n    impersonate: { mode: ${mode}, serviceAccounts: [{ namespace: footanalytics, name: chaos-sa }] }\n`,
    );
    return loadTempestConfig(f);
  };

  test("stamped at load on the probes that reach the cluster, and checked to be the run's own", () => {
    const cfg = policyFile('required');
    const [d] = loadText(engineText('chaos-sa'), 'e.yaml', { limits: cfg.policy.limits, policy: cfg.policy });
    const spec = (d as { experiment: ExperimentSpec }).experiment;
    expect(spec.faults[0].probes.map((p) => p.actAs)).toEqual([{ namespace: 'footanalytics', serviceAccount: 'chaos-sa' }, undefined]);
    // A crafted spec whose probe acts as someone else is refused by the worker's own check.
    const crafted = structuredClone(spec);
    crafted.faults[0].probes[0].actAs = { namespace: 'footanalytics', serviceAccount: 'tempest-worker' };
    const v = validateExperimentSpec(crafted, cfg.policy.limits, cfg.policy);
    expect(v.ok).toBe(false);
    expect(JSON.stringify(!v.ok && v.problems)).toMatch(/probe pods-there may act only as its run's chaosServiceAccount \(footanalytics\/chaos-sa\)/);
    const without = structuredClone(spec);
    delete without.faults[0].probes[0].actAs;
    expect(JSON.stringify((validateExperimentSpec(without, cfg.policy.limits, cfg.policy) as { problems?: unknown }).problems)).toMatch(
      /probe pods-there reaches the cluster and must act as the run's chaosServiceAccount/,
    );
  });

  test('the probe activity impersonates the listed account, refuses an unlisted one, and leaves probes alone when off', () => {
    const cfg = policyFile('required');
    const asked: string[] = [];
    const deps = { policy: cfg.policy, k8s: 'worker-kc', k8sAs: (u: string) => (asked.push(u), `kc-as-${u}`) };
    const probe = {
      name: 'p',
      type: 'k8sProbe',
      mode: 'SOT',
      runProperties: {},
      k8s: { group: '', version: 'v1', resource: 'pods', operation: 'present' },
      actAs: { namespace: 'footanalytics', serviceAccount: 'chaos-sa' },
    } as never;
    expect(identityFor(probe, deps).k8s).toBe('kc-as-system:serviceaccount:footanalytics:chaos-sa');
    expect(() => identityFor({ ...(probe as object), actAs: { namespace: 'footanalytics', serviceAccount: 'other' } } as never, deps)).toThrow(
      /probe p refused by the worker's policy: chaosServiceAccount footanalytics\/other is not one the worker may act as/,
    );
    expect(() => identityFor({ ...(probe as object), actAs: undefined } as never, deps)).toThrow(/refused by the worker's policy/);
    const off = policyFile('off');
    expect(identityFor(probe, { ...deps, policy: off.policy }).k8s).toBe('worker-kc');
    expect(asked).toEqual(['system:serviceaccount:footanalytics:chaos-sa']);
  });
});
