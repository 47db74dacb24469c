/** What the controller writes back, in Litmus's shapes (workers/controller/litmus-status.ts), and its policy section. */
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ExperimentResult, ExperimentStatus } from '../../activities/types.js';
import { engineWorkflowId, finishedExperiments, finishedResult, litmusVerdict, runningExperiments, runningResult, withCondition } from '../../workers/controller/litmus-status.js';
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
  faults: [{ name: 'pod-delete', index: 0, state: 'reverted', rounds: 6, affected: ['p1'] }, { name: 'pod-cpu-hog', index: 1, state: 'skipped', rounds: 0, affected: [] }],
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
  const s = { phase: 'chaos', paused: false, faults: [{ name: 'pod-delete', index: 0, state: 'injected', rounds: 1, affected: [] }], probes: [], timeline: [] } as ExperimentStatus;
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
    experimentStatus: { phase: 'Completed', verdict: 'Pass', probeSuccessPercentage: '50' },
    probeStatuses: [
      { name: 'health', type: 'httpProbe', mode: 'Continuous', status: { verdict: 'Passed', description: '10/10 checks passed' } },
      { name: 'latency', type: 'httpProbe', mode: 'Edge', status: { verdict: 'Failed', description: 'took 900 ms' } },
    ],
    history: { passedRuns: 3, failedRuns: 1, stoppedRuns: 0, targets: [{ name: 'app=api-gateway', kind: 'deployment', chaosStatus: 'reverted' }] },
  });
  const failed = finishedResult('pod-delete', 0, result({ verdict: 'Error', reason: 'guard could not be evaluated' }), undefined);
  expect(failed.experimentStatus).toEqual({ phase: 'Completed', verdict: 'Fail', probeSuccessPercentage: '50', failureOutput: { failedStep: 'guard could not be evaluated', errorCode: 'TEMPEST_ERROR' } });
  expect(failed.history).toMatchObject({ passedRuns: 0, failedRuns: 1, stoppedRuns: 0 });
  const stopped = finishedResult('pod-cpu-hog', 1, result({ verdict: 'Aborted' }), undefined);
  expect(stopped.experimentStatus).toEqual({ phase: 'Stopped', verdict: 'Stopped', probeSuccessPercentage: '100' }); // no probes of its own: the run's
  expect(stopped.history).toMatchObject({ stoppedRuns: 1, targets: [{ chaosStatus: 'not targeted' }] });
  expect(runningResult('pod-delete', 0, undefined, undefined)).toEqual({ experimentStatus: { phase: 'Running', verdict: 'Awaited', probeSuccessPercentage: '0' }, probeStatuses: [], history: { passedRuns: 0, failedRuns: 0, stoppedRuns: 0, targets: [] } });
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
  expect(d.controller).toEqual({ engines: 'annotated', namespace: 'tempest-system', leaseName: 'tempest-controller', leaseDuration: 15_000, resync: 5000, crossNamespaceFrom: [] });
  expect(d.metrics).toEqual({ port: 9464, host: '127.0.0.1' });
  const c = loadTempestConfig(file('c.yaml', 'controller: {engines: all, crossNamespaceFrom: [chaos-engineering], resync: 1}\nmetrics: {host: 0.0.0.0}\n'));
  expect(c.controller).toMatchObject({ engines: 'all', crossNamespaceFrom: ['chaos-engineering'], resync: 1000 });
  expect(c.metrics.host).toBe('0.0.0.0');
  expect(() => loadTempestConfig(file('b1.yaml', 'controller: {engines: some}\n'))).toThrow(/b1\.yaml: controller\.engines/);
  expect(() => loadTempestConfig(file('b2.yaml', 'controller: {crossNamespaceFrom: ["Not_A_Namespace"]}\n'))).toThrow(/controller\.crossNamespaceFrom\[0\]: must be a namespace name/);
  expect(() => loadTempestConfig(file('b3.yaml', 'metrics: {host: "example.com"}\n'))).toThrow(/metrics\.host/);
  expect(() => loadTempestConfig(file('b4.yaml', 'controller: {leaseDuration: 1}\n'))).toThrow(/controller\.leaseDuration: must be from 2s to 5m/);
});
