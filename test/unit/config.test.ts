/**
 * Config parsing against the seed's real documents (examples/**, verbatim) and against broken copies of them
 * (test/fixtures/bad/**). No mocks: real files, real YAML parser, real zod schemas.
 */
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError, type ConfigProblem } from '../../config/errors.js';
import { loadEngine, loadFile, loadText, type LoadedDoc } from '../../config/load.js';
import { parseDurationMs } from '../../config/duration.js';
import { defaultConfig, loadTempestConfig, type TempestConfig } from '../../config/tempest-config.js';
import { blastRadiusRefusal } from '../../config/blast-radius.js';
import { FAULT_NAMES, type ExperimentSpec, type FaultSpec, type ProbeSpec, type ScheduleSpec } from '../../config/spec.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const EXAMPLES = join(ROOT, 'examples');
const BAD = join(ROOT, 'test/fixtures/bad');

// ---------------------------------------------------------------- helpers

function engineOf(docs: LoadedDoc[]): ExperimentSpec {
  expect(docs).toHaveLength(1);
  const d = docs[0];
  if (d.kind !== 'ChaosEngine') throw new Error(`expected ChaosEngine, got ${d.kind}`);
  return d.experiment;
}
function faultsOf(docs: LoadedDoc[]): FaultSpec[] {
  expect(docs).toHaveLength(1);
  const d = docs[0];
  if (d.kind !== 'FaultBlock') throw new Error(`expected FaultBlock, got ${d.kind}`);
  return d.faults;
}
function scheduleOf(docs: LoadedDoc[]): ScheduleSpec {
  expect(docs).toHaveLength(1);
  const d = docs[0];
  if (d.kind !== 'ChaosSchedule') throw new Error(`expected ChaosSchedule, got ${d.kind}`);
  return d.schedule;
}
function onlyProbe<T extends ProbeSpec['type']>(f: FaultSpec, type: T): Extract<ProbeSpec, { type: T }> {
  expect(f.probes).toHaveLength(1);
  expect(f.probes[0].type).toBe(type);
  return f.probes[0] as Extract<ProbeSpec, { type: T }>;
}
function configErrorOf(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return e as ConfigError;
  }
  throw new Error('expected a ConfigError, nothing was thrown');
}
/** Exactly one problem; the message names the file, the path (if any) and the bad value (if any). */
function oneProblem(fn: () => unknown): { err: ConfigError; p: ConfigProblem } {
  const err = configErrorOf(fn);
  expect(err.problems).toHaveLength(1);
  const p = err.problems[0];
  expect(err.message).toContain(p.file);
  if (p.path) expect(err.message).toContain(`: ${p.path}: `);
  return { err, p };
}
const bad = (name: string) => join(BAD, name);

// ---------------------------------------------------------------- 1. the seed's documents

describe('examples parse', () => {
  const files = ['engines', 'faults', 'schedules'].flatMap((d) =>
    readdirSync(join(EXAMPLES, d))
      .filter((f) => /\.ya?ml$/.test(f))
      .map((f) => join(EXAMPLES, d, f)),
  );

  test('the example directories are not empty', () => {
    expect(files.length).toBeGreaterThanOrEqual(9);
  });

  test.each(files)('%s', (file) => {
    const docs = loadFile(file);
    expect(docs.length).toBeGreaterThanOrEqual(1);
    for (const d of docs) {
      const faults = d.kind === 'ChaosEngine' ? d.experiment.faults : d.kind === 'ChaosSchedule' ? d.schedule.engine.faults : d.faults;
      expect(faults.length).toBeGreaterThanOrEqual(1);
      for (const f of faults) {
        expect(FAULT_NAMES).toContain(f.name);
        expect(f.durationMs).toBeGreaterThan(0);
        expect(f.intervalMs).toBeGreaterThan(0);
      }
    }
    if (file.includes('/engines/')) expect(docs.every((d) => d.kind === 'ChaosEngine')).toBe(true);
    if (file.includes('/faults/')) expect(docs.every((d) => d.kind === 'FaultBlock')).toBe(true);
    if (file.includes('/schedules/')) expect(docs.every((d) => d.kind === 'ChaosSchedule')).toBe(true);
  });
});

describe('normalized values of the seed documents', () => {
  test('api-gateway-chaos: pod-delete with a Continuous httpProbe', () => {
    const file = join(EXAMPLES, 'engines/api-gateway-chaos.yaml');
    const e = engineOf(loadFile(file));
    expect(e).toMatchObject({
      name: 'api-gateway-chaos',
      engineNamespace: 'footanalytics',
      serviceAccount: 'chaos-service-account',
      engineState: 'active',
      source: file,
      target: { namespace: 'footanalytics', labelSelector: 'app.kubernetes.io/name=api-gateway', kind: 'deployment' },
    });
    expect(e.faults).toHaveLength(1);
    const f = e.faults[0];
    expect(f).toMatchObject({
      name: 'pod-delete',
      durationMs: 60_000,
      intervalMs: 10_000,
      rampTimeMs: 0,
      podsAffectedPerc: 0,
      targetPods: [],
      sequence: 'parallel',
      extraEnv: {},
    });
    expect(f.params).toEqual({ force: false });
    const pr = onlyProbe(f, 'httpProbe');
    expect(pr.name).toBe('api-gateway-health-check');
    expect(pr.mode).toBe('Continuous');
    expect(pr.runProperties).toEqual({
      probeTimeoutMs: 5000,
      attempts: 3, // legacy `retry: 3`
      intervalMs: 2000,
      pollingIntervalMs: 2000,
      initialDelayMs: 0,
      stopOnFailure: false,
    });
    expect(pr.http).toEqual({
      url: 'http://api-gateway.footanalytics.svc.cluster.local:4000/health',
      method: 'GET',
      headers: {},
      insecureSkipTLS: true,
      responseCode: { criteria: '==', value: '200' },
    });
  });

  test('ml-pipeline-gpu-chaos: gpu-memory-hog 80 % for 300 s, promProbe < 3.0', () => {
    const e = engineOf(loadFile(join(EXAMPLES, 'engines/ml-pipeline-gpu-chaos.yaml')));
    expect(e.name).toBe('ml-pipeline-gpu-chaos');
    expect(e.engineNamespace).toBe('ai-processing');
    expect(e.serviceAccount).toBeUndefined();
    expect(e.target).toEqual({ namespace: 'ai-processing', labelSelector: 'app.kubernetes.io/name=ml-pipeline', kind: 'deployment' });
    const f = e.faults[0];
    expect(f.name).toBe('gpu-memory-hog');
    expect(f.durationMs).toBe(300_000);
    expect(f.params.gpuMemoryPercentage).toBe(80);
    const pr = onlyProbe(f, 'promProbe');
    expect(pr.prom).toEqual({
      endpoint: 'http://prometheus-server.monitoring:80',
      query: 'histogram_quantile(0.99, rate(ml_inference_duration_seconds_bucket[5m]))',
      comparator: { criteria: '<', value: '3.0' },
    });
  });

  test('pod-network-latency: POST with body, response-time criterion < 5000 ms', () => {
    const [f] = faultsOf(loadFile(join(EXAMPLES, 'faults/pod-network-latency.yaml')));
    expect(f.name).toBe('pod-network-latency');
    expect(f.durationMs).toBe(120_000);
    expect(f.params).toEqual({ networkLatencyMs: 2000, jitterMs: 0, containerRuntime: 'containerd' });
    const pr = onlyProbe(f, 'httpProbe');
    expect(pr.http.method).toBe('POST');
    expect(pr.http.url).toBe('http://api-gateway.footanalytics:4000/graphql');
    expect(pr.http.body).toBe('{"query": "{ health }"}');
    expect(pr.http.responseTime).toEqual({ criteria: '<', valueMs: 5000 });
    expect(pr.http.responseTimeoutMs).toBe(5000);
    expect(pr.http.responseCode).toBeUndefined();
  });

  test('pod-cpu-hog: 1 core at 100 %, promProbe < "0.5"', () => {
    const [f] = faultsOf(loadFile(join(EXAMPLES, 'faults/pod-cpu-hog.yaml')));
    expect(f.name).toBe('pod-cpu-hog');
    expect(f.durationMs).toBe(120_000);
    expect(f.params).toEqual({ cpuCores: 1, cpuLoad: 100 });
    const pr = onlyProbe(f, 'promProbe');
    expect(pr.prom.comparator).toEqual({ criteria: '<', value: '0.5' });
    expect(pr.prom.query).toContain("job='api-gateway'");
  });

  test('pod-memory-hog: 500 MB, 1 worker, promProbe < "0.9"', () => {
    const [f] = faultsOf(loadFile(join(EXAMPLES, 'faults/pod-memory-hog.yaml')));
    expect(f.durationMs).toBe(180_000);
    expect(f.params).toEqual({ memoryConsumptionMb: 500, numberOfWorkers: 1 });
    expect(onlyProbe(f, 'promProbe').prom.comparator).toEqual({ criteria: '<', value: '0.9' });
  });

  test('pod-network-loss: 20 %, cmdProbe string contains "accepting connections"', () => {
    const [f] = faultsOf(loadFile(join(EXAMPLES, 'faults/pod-network-loss.yaml')));
    expect(f.durationMs).toBe(60_000);
    expect(f.params).toEqual({ packetLossPercentage: 20, containerRuntime: 'containerd' });
    const pr = onlyProbe(f, 'cmdProbe');
    expect(pr.cmd.command).toBe('pg_isready -h postgres.footanalytics.svc.cluster.local -p 5432');
    expect(pr.cmd.comparator).toEqual({ type: 'string', criteria: 'contains', value: 'accepting connections' });
    expect(pr.cmd.source).toBeUndefined();
  });

  test('container-kill: containerd socket, 10 s interval', () => {
    const [f] = faultsOf(loadFile(join(EXAMPLES, 'faults/container-kill.yaml')));
    expect(f).toMatchObject({ name: 'container-kill', durationMs: 60_000, intervalMs: 10_000 });
    expect(f.params).toEqual({ containerRuntime: 'containerd', socketPath: '/run/containerd/containerd.sock' });
    expect(onlyProbe(f, 'httpProbe').http.responseCode).toEqual({ criteria: '==', value: '200' });
  });

  test('model-corruption: file path and corruption type', () => {
    const [f] = faultsOf(loadFile(join(EXAMPLES, 'faults/model-corruption.yaml')));
    expect(f.name).toBe('model-corruption');
    expect(f.durationMs).toBe(180_000);
    expect(f.params).toEqual({ filePath: '/models/football_analysis_v2.pth', corruptionType: 'random_bytes' });
    expect(onlyProbe(f, 'httpProbe').http.url).toBe('http://ml-pipeline.ai-processing:8000/model/health');
  });

  test('footanalytics-chaos-schedule: 02:00-04:00 Mon-Fri, 8h apart, pod-delete 30 s', () => {
    const s = scheduleOf(loadFile(join(EXAMPLES, 'schedules/footanalytics-chaos-schedule.yaml')));
    expect(s.name).toBe('footanalytics-chaos-schedule');
    expect(s.namespace).toBe('chaos-engineering');
    expect(s.now).toBe(false);
    expect(s.state).toBe('active');
    expect(s.window).toEqual({ startMin: 120, endMin: 240 });
    expect(s.days).toEqual([1, 2, 3, 4, 5]);
    expect(s.minChaosIntervalMs).toBe(8 * 3_600_000);
    expect(s.engine.name).toBe('footanalytics-chaos-schedule');
    expect(s.engine.target).toEqual({ namespace: 'footanalytics', labelSelector: 'app.kubernetes.io/part-of=footanalytics', kind: 'deployment' });
    expect(s.engine.serviceAccount).toBe('chaos-service-account');
    expect(s.engine.faults).toHaveLength(1);
    expect(s.engine.faults[0]).toMatchObject({ name: 'pod-delete', durationMs: 30_000, intervalMs: 10_000, params: { force: false }, probes: [] });
  });
});

describe('Litmus defaults when the YAML is silent', () => {
  const engine = (experiments: string) =>
    engineOf(
      loadText(
        `apiVersion: litmuschaos.io/v1alpha1
kind: ChaosEngine
metadata: { name: quiet }
spec:
  appinfo: { appns: shop, applabel: app=cart }
  experiments:
${experiments}`,
        'quiet.yaml',
      ),
    );

  test('pod-delete without env, probe without runProperties', () => {
    const e = engine(`    - name: pod-delete
      spec:
        probe:
          - name: up
            type: cmdProbe
            mode: Edge
            cmdProbe/inputs:
              command: "true"
              comparator: { criteria: equal, value: "" }
`);
    expect(e.engineNamespace).toBe('shop'); // no metadata.namespace -> appns
    expect(e.engineState).toBe('active');
    expect(e.target.kind).toBe('deployment');
    const f = e.faults[0];
    expect(f).toEqual({
      name: 'pod-delete',
      durationMs: 15_000,
      intervalMs: 5_000,
      rampTimeMs: 0,
      podsAffectedPerc: 0,
      targetPods: [],
      sequence: 'parallel',
      params: { force: false },
      extraEnv: {},
      probes: [expect.anything()],
    });
    const pr = onlyProbe(f, 'cmdProbe');
    expect(pr.runProperties).toEqual({
      probeTimeoutMs: 5000,
      intervalMs: 2000,
      attempts: 1,
      pollingIntervalMs: 2000,
      initialDelayMs: 0,
      stopOnFailure: false,
    });
    expect(pr.cmd.comparator.type).toBe('string');
  });

  test('other faults default to 60 s and their own parameters', () => {
    const e = engine(`    - name: pod-cpu-hog
    - name: pod-memory-hog
    - name: pod-network-latency
    - name: pod-network-loss
    - name: container-kill
    - name: gpu-memory-hog
`);
    const byName = Object.fromEntries(e.faults.map((f) => [f.name, f]));
    for (const f of e.faults) expect(f.durationMs).toBe(60_000);
    expect(byName['pod-cpu-hog'].params).toEqual({ cpuCores: 1, cpuLoad: 100 });
    expect(byName['pod-memory-hog'].params).toEqual({ memoryConsumptionMb: 500, numberOfWorkers: 1 });
    expect(byName['pod-network-latency'].params).toEqual({ networkLatencyMs: 2000, jitterMs: 0 });
    expect(byName['pod-network-loss'].params).toEqual({ packetLossPercentage: 100 });
    expect(byName['container-kill'].params).toEqual({ containerRuntime: 'containerd' });
    expect(byName['gpu-memory-hog'].params).toEqual({ gpuMemoryPercentage: 50 });
  });

  test('Litmus 3 spellings: attempt, Go durations, env lists, extra env kept', () => {
    const e = engine(`    - name: pod-delete
      spec:
        components:
          env:
            - { name: TOTAL_CHAOS_DURATION, value: "1m30s" }
            - { name: RAMP_TIME, value: 2 }
            - { name: TARGET_PODS, value: "a, b,,c" }
            - { name: SEQUENCE, value: serial }
            - { name: PODS_AFFECTED_PERC, value: "50" }
            - { name: LIB, value: litmus }
        probe:
          - name: p
            type: httpProbe
            mode: SOT
            runProperties: { probeTimeout: "500ms", attempt: 2, interval: "1s", probePollingInterval: 3, initialDelay: "2s", stopOnFailure: true, evaluationTimeout: "30s" }
            httpProbe/inputs:
              url: https://x.example/health
              headers: { X-Chaos: 1 }
              method: { get: { responseCode: 204 } }
`);
    const f = e.faults[0];
    expect(f.durationMs).toBe(90_000);
    expect(f.rampTimeMs).toBe(2000);
    expect(f.targetPods).toEqual(['a', 'b', 'c']);
    expect(f.sequence).toBe('serial');
    expect(f.podsAffectedPerc).toBe(50);
    expect(f.extraEnv).toEqual({ LIB: 'litmus' });
    const pr = onlyProbe(f, 'httpProbe');
    expect(pr.runProperties).toEqual({
      probeTimeoutMs: 500,
      attempts: 2,
      intervalMs: 1000,
      pollingIntervalMs: 3000,
      initialDelayMs: 2000,
      stopOnFailure: true,
      evaluationTimeoutMs: 30_000,
    });
    expect(pr.http.headers).toEqual({ 'X-Chaos': '1' });
    expect(pr.http.insecureSkipTLS).toBe(false);
    expect(pr.http.responseCode).toEqual({ criteria: '==', value: '204' }); // criteria defaults to ==
  });

  test('a multi-document file loads every document in order', () => {
    const docs = loadFile(join(EXAMPLES, 'engines/api-gateway-chaos.yaml'));
    const text = [join(EXAMPLES, 'engines/api-gateway-chaos.yaml'), join(EXAMPLES, 'faults/pod-cpu-hog.yaml')]
      .map((f) => readFileSync(f, 'utf8'))
      .join('\n---\n');
    const both = loadText(text, 'both.yaml');
    expect(both.map((d) => d.kind)).toEqual(['ChaosEngine', 'FaultBlock']);
    expect(engineOf([both[0]])).toEqual({ ...engineOf(docs), source: 'both.yaml' });
  });
});

