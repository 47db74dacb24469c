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
import { defaultConfig, loadTempestConfig } from '../../config/tempest-config.js';
import { FAULT_NAMES } from '../../activities/faults/registry.js';
import { blastRadiusRefusal } from '../../config/policy.js';
import type { ExperimentSpec, FaultSpec, ProbeSpec, ScheduleSpec } from '../../config/spec.js';

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
  const files = ['engines', 'faults', 'schedules', 'hypotheses', 'progressive', 'gamedays'].flatMap((d) =>
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
      if (d.kind === 'ChaosExperiment') continue; // defaults for the engines beside it
      const faults =
        d.kind === 'ChaosEngine' || d.kind === 'ChaosHypothesis'
          ? d.experiment.faults
          : d.kind === 'ChaosSchedule'
            ? d.schedule.engine.faults
            : d.kind === 'ProgressiveChaos'
              ? d.progressive.engine.faults
              : d.kind === 'GameDay'
                ? d.gameDay.scenarios.flatMap((sc) => sc.steps.flatMap((st) => (st.kind === 'engine' ? st.engine.faults : [])))
                : d.faults;
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
    expect(f.params).toEqual({ networkLatencyMs: 2000, jitterMs: 0, networkInterface: 'eth0' });
    expect(f.extraEnv).toMatchObject({ CONTAINER_RUNTIME: 'containerd' }); // not a parameter of this fault: kept for the record only
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
    expect(f.params).toEqual({ packetLossPercentage: 20, networkInterface: 'eth0' });
    const pr = onlyProbe(f, 'cmdProbe');
    expect(pr.cmd.command).toBe('pg_isready -h postgres.footanalytics.svc.cluster.local -p 5432');
    expect(pr.cmd.comparator).toEqual({ type: 'string', criteria: 'contains', value: 'accepting connections' });
    expect(pr.cmd.source).toBeUndefined();
  });

  test('container-kill: containerd socket, 10 s interval', () => {
    const [f] = faultsOf(loadFile(join(EXAMPLES, 'faults/container-kill.yaml')));
    expect(f).toMatchObject({ name: 'container-kill', durationMs: 60_000, intervalMs: 10_000 });
    expect(f.params).toEqual({ containerRuntime: 'containerd', socketPath: '/run/containerd/containerd.sock', chaosMode: 'helper' });
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
    expect(s.engine.target).toEqual({
      namespace: 'footanalytics',
      labelSelector: 'app.kubernetes.io/part-of=footanalytics',
      kind: 'deployment',
      serviceAccount: 'chaos-service-account',
      serviceAccountNamespace: 'chaos-engineering',
    });
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
    expect(byName['pod-network-latency'].params).toEqual({ networkLatencyMs: 2000, jitterMs: 0, networkInterface: 'eth0' });
    expect(byName['pod-network-loss'].params).toEqual({ packetLossPercentage: 100, networkInterface: 'eth0' });
    expect(byName['container-kill'].params).toEqual({ containerRuntime: 'containerd', chaosMode: 'helper' });
    expect(byName['gpu-memory-hog'].params).toEqual({ gpuMemoryPercentage: 50, gpuVisibleDevices: 'all' });
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

// ---------------------------------------------------------------- 2. bad inputs: one clear ConfigError each

describe('bad inputs give one ConfigError naming file, path and value', () => {
  test('every fixture in test/fixtures/bad is refused', () => {
    const files = readdirSync(BAD).filter((f) => /\.ya?ml$/.test(f));
    expect(files.length).toBeGreaterThanOrEqual(12);
    for (const f of files) {
      const err = configErrorOf(() => loadFile(bad(f)));
      expect(err.problems.length).toBe(1);
      expect(err.message).toContain(bad(f));
    }
  });

  test('YAML syntax error: file:line:col', () => {
    const { err, p } = oneProblem(() => loadFile(bad('yaml-syntax.yaml')));
    expect(p.file).toMatch(new RegExp(`^${bad('yaml-syntax.yaml').replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}:\\d+:\\d+$`));
    expect(p.path).toBe('');
    expect(err.message).toMatch(/yaml-syntax\.yaml:\d+:\d+: YAML syntax error/);
  });

  test('unknown fault name lists the known faults', () => {
    const { err, p } = oneProblem(() => loadFile(bad('unknown-fault.yaml')));
    expect(p.path).toBe('spec.experiments[0].name');
    expect(p.value).toBe('pod-explode');
    expect(err.message).toContain('"pod-explode"');
    for (const n of FAULT_NAMES) expect(err.message).toContain(n);
  });

  test('missing spec.appinfo is required', () => {
    const { err, p } = oneProblem(() => loadFile(bad('missing-appinfo.yaml')));
    expect(p.path).toBe('spec.appinfo');
    expect(p.message).toBe('is required');
    expect(err.message).toContain('spec.appinfo: is required');
  });

  test.each([
    ['duration-abc.yaml', 'spec.experiments[0].spec.components.env[0].value', 'abc', /TOTAL_CHAOS_DURATION/],
    ['negative-interval.yaml', 'spec.experiments[0].spec.components.env[1].value', '-5', /CHAOS_INTERVAL must be at least 1s/],
    ['pods-affected-150.yaml', 'spec.experiments[0].spec.components.env[3].value', '150', /PODS_AFFECTED_PERC must be <= 100/],
    ['force-maybe.yaml', 'spec.experiments[0].spec.components.env[2].value', 'maybe', /FORCE must be true or false/],
    ['bad-probe-mode.yaml', 'spec.experiments[0].spec.probe[0].mode', 'Sometimes', /Continuous/],
    ['bad-criteria.yaml', 'spec.experiments[0].spec.probe[0]["httpProbe/inputs"].method.get.criteria', '=~', /==, != or oneOf/],
    ['schedule-bad-start.yaml', 'spec.schedule.repeat.timeRange.startTime', '25:00', /HH:MM/],
    ['unsupported-kind.yaml', 'kind', 'ChaosResult', /ChaosEngine, ChaosExperiment, ChaosSchedule, ChaosHypothesis, ProgressiveChaos, GameDay/],
  ])('%s -> %s', (file, path, value, what) => {
    const { err, p } = oneProblem(() => loadFile(bad(file)));
    expect(p.file).toBe(bad(file));
    expect(p.path).toBe(path);
    expect(p.value).toBe(value);
    expect(err.message).toContain(`${bad(file)}: ${path}: `);
    expect(err.message).toContain(JSON.stringify(value));
    expect(err.message).toMatch(what);
  });

  test('empty file', () => {
    const { err, p } = oneProblem(() => loadFile(bad('empty.yaml')));
    expect(p.path).toBe('');
    expect(err.message).toBe(`${bad('empty.yaml')}: file holds no YAML document`);
    expect(configErrorOf(() => loadText('# only a comment\n---\n', 'c.yaml')).message).toContain('no YAML document');
  });

  test('a file that cannot be read', () => {
    const { err } = oneProblem(() => loadFile(bad('does-not-exist.yaml')));
    expect(err.message).toContain('does-not-exist.yaml');
    expect(err.message).toContain('ENOENT');
  });

  test('multi-document files prefix the path with "document N."', () => {
    // zod-level problem in document 2
    let r = oneProblem(() => loadFile(bad('multi-doc-missing-appinfo.yaml')));
    expect(r.p.path).toBe('document 2.spec.appinfo');
    expect(r.err.message).toContain('document 2.spec.appinfo: is required');
    // normalization-level problem in document 2
    r = oneProblem(() => loadFile(bad('multi-doc-force-maybe.yaml')));
    expect(r.p.path).toBe('document 2.spec.experiments[0].spec.components.env[2].value');
    expect(r.err.message).toContain('"maybe"');
    // fault block (a list) in document 2
    r = oneProblem(() => loadFile(bad('multi-doc-fault-block.yaml')));
    expect(r.p.path).toBe('document 2[0].name');
    expect(r.p.value).toBe('pod-explode');
    // unsupported kind / non-object documents
    expect(oneProblem(() => loadText('- name: pod-delete\n---\nkind: Foo\n', 'm.yaml')).p.path).toBe('document 2.kind');
    expect(oneProblem(() => loadText('- name: pod-delete\n---\n42\n', 'm.yaml')).p).toMatchObject({ path: 'document 2', value: 42 });
    // a single document has no prefix
    expect(oneProblem(() => loadText('- name: pod-explode\n', 'one.yaml')).p.path).toBe('[0].name');
  });

  test('loadEngine on a fault-block file says it expected a ChaosEngine', () => {
    const file = join(EXAMPLES, 'faults/container-kill.yaml');
    const { err, p } = oneProblem(() => loadEngine(file));
    expect(p.file).toBe(file);
    expect(err.message).toMatch(/expected exactly one ChaosEngine/);
    expect(err.message).toContain('found 0');
  });

  test('loadEngine returns the engine of an engine file', () => {
    const e = loadEngine(join(EXAMPLES, 'engines/api-gateway-chaos.yaml'));
    expect(e.name).toBe('api-gateway-chaos');
  });

  test('problems found during normalization are reported together', () => {
    const s = readFileSync(join(EXAMPLES, 'engines/api-gateway-chaos.yaml'), 'utf8')
      .replace('value: "60"', 'value: "abc"')
      .replace('value: "false"', 'value: "maybe"');
    const err = configErrorOf(() => loadText(s, 'two.yaml'));
    expect(err.problems.map((p) => p.path)).toEqual(['spec.experiments[0].spec.components.env[0].value', 'spec.experiments[0].spec.components.env[2].value']);
    expect(err.message.split('\n')).toHaveLength(2);
  });

  test('more checks on inline documents', () => {
    const base = readFileSync(join(EXAMPLES, 'engines/api-gateway-chaos.yaml'), 'utf8');
    const cases: Array<[string, string, string, unknown]> = [
      ['retry: 3', 'retry: "three"', 'spec.experiments[0].spec.probe[0].runProperties.retry', 'three'],
      ['probeTimeout: 5', 'probeTimeout: "5x"', 'spec.experiments[0].spec.probe[0].runProperties.probeTimeout', '5x'],
      ['insecureSkipTLS: true', 'insecureSkipTLS: "yes"', 'spec.experiments[0].spec.probe[0]["httpProbe/inputs"].insecureSkipTLS', 'yes'],
      [
        'url: "http://api-gateway',
        'url: "ftp://api-gateway',
        'spec.experiments[0].spec.probe[0]["httpProbe/inputs"].url',
        'ftp://api-gateway.footanalytics.svc.cluster.local:4000/health',
      ],
      ['applabel: "app.kubernetes.io/name=api-gateway"', 'applabel: "api gateway"', 'spec.appinfo.applabel', 'api gateway'],
      ['name: api-gateway-chaos', 'name: API_Gateway', 'metadata.name', 'API_Gateway'],
      ['value: "10"', 'value: "90"', 'spec.experiments[0].spec.components.env[1].value', '90'],
      ['appkind: deployment', 'appkind: rollout', 'spec.appinfo.appkind', 'rollout'],
    ];
    for (const [from, to, path, value] of cases) {
      const text = base.replace(from, to);
      expect(text).not.toBe(base);
      const { err, p } = oneProblem(() => loadText(text, 'inline.yaml'));
      expect({ from, path: p.path, value: p.value }).toEqual({ from, path, value });
      expect(err.message).toContain(JSON.stringify(value));
    }
  });

  test('schedule: unknown day and bad minChaosInterval', () => {
    const base = readFileSync(join(EXAMPLES, 'schedules/footanalytics-chaos-schedule.yaml'), 'utf8');
    let r = oneProblem(() => loadText(base.replace('Mon,Tue', 'Mon,Xyz'), 's.yaml'));
    expect(r.p.path).toBe('spec.schedule.repeat.workDays.includedDays');
    expect(r.err.message).toContain('"xyz"');
    r = oneProblem(() => loadText(base.replace('minChaosInterval: "8h"', 'minChaosInterval: "soon"'), 's.yaml'));
    expect(r.p).toMatchObject({ path: 'spec.schedule.repeat.minChaosInterval', value: 'soon' });
    r = oneProblem(() => loadText(base.replace('value: "30"', 'value: "zz"'), 's.yaml'));
    expect(r.p.path).toBe('spec.engineTemplateSpec.experiments[0].spec.components.env[0].value');
  });
});

// ---------------------------------------------------------------- 3. tempest.yaml and the blast radius

describe('tempest.yaml', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'tempest-config-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const write = (name: string, text: string) => {
    const f = join(dir, name);
    mkdirSync(join(f, '..'), { recursive: true });
    writeFileSync(f, text);
    return f;
  };

  test('defaults when no file is given', () => {
    const cfg = loadTempestConfig(undefined);
    expect(cfg).toEqual(defaultConfig());
    expect(cfg.file).toBeUndefined();
    expect(cfg.temporal).toEqual({
      address: '127.0.0.1:7233',
      namespace: 'default',
      taskQueue: 'tempest',
      uiUrl: 'http://127.0.0.1:8233',
      searchAttributes: true,
    });
    expect(cfg.platform.driver).toBe('local');
    expect(cfg.platform.local).toEqual({ targets: [], urlRewrites: [], pathRewrites: [] });
    expect(cfg.blastRadius.allow).toEqual([]);
    expect(cfg.guards).toEqual([]);
    expect(cfg.rollbackTriggers).toEqual({ pollInterval: 5000, blindAfter: 3, triggers: [] });
    expect(cfg.reports.dir).toBe('.tempest/reports');
    expect(cfg.metrics.port).toBe(9464);
    expect(cfg.faults.deadManMargin).toBe(60_000);
    expect(cfg.reconciler).toEqual({ enabled: true, interval: 30_000 });
  });

  test('a minimal file gets the same defaults, with paths resolved', () => {
    const f = write('min/tempest.yaml', 'temporal: { taskQueue: chaos }\n');
    const cfg = loadTempestConfig(f);
    expect(cfg.file).toBe(f);
    expect(cfg.temporal.taskQueue).toBe('chaos');
    expect(cfg.temporal.address).toBe('127.0.0.1:7233');
    expect(cfg.reports.dir).toBe(join(dir, 'min/.tempest/reports'));
  });

  test('relative reports.dir and pathRewrites[].to resolve against the config folder', () => {
    const f = write(
      'sub/tempest.yaml',
      `reports: { dir: out/reports }
rollbackTriggers: { pollInterval: "2s" }
platform:
  local:
    pathRewrites:
      - { from: /models, to: ./models }
      - { from: /data, to: /abs/data }
`,
    );
    const cfg = loadTempestConfig(f);
    expect(cfg.reports.dir).toBe(join(dir, 'sub/out/reports'));
    expect(cfg.platform.local.pathRewrites).toEqual([
      { from: '/models', to: join(dir, 'sub/models') },
      { from: '/data', to: '/abs/data' },
    ]);
    expect(cfg.rollbackTriggers.pollInterval).toBe(2000);
  });

  test('an unknown top-level key is refused, naming it', () => {
    const f = write('unknown.yaml', 'temporal: { address: "x:1" }\nguardz: []\n');
    const { err, p } = oneProblem(() => loadTempestConfig(f));
    expect(p.file).toBe(f);
    expect(p.path).toBe('guardz');
    expect(err.message).toContain('guardz');
    expect(err.message).toContain('unknown key');
  });

  test('a freeze guard without file or url names guards[0]', () => {
    const f = write('freeze.yaml', 'guards:\n  - { type: freeze, name: change-freeze }\n');
    const { err, p } = oneProblem(() => loadTempestConfig(f));
    expect(p.path).toBe('guards[0]');
    expect(err.message).toContain(`${f}: guards[0]: `);
    expect(err.message).toMatch(/freeze guard needs file or url/);
  });

  test('a prometheus guard with criteria "~" names guards[1].criteria', () => {
    const f = write(
      'prom.yaml',
      `guards:
  - { type: freeze, name: f, url: "http://freeze.example/status" }
  - { type: prometheus, name: budget, endpoint: "http://prom:9090", query: "slo:budget", criteria: "~", value: 0.1 }
`,
    );
    const { err, p } = oneProblem(() => loadTempestConfig(f));
    expect(p.path).toBe('guards[1].criteria');
    expect(p.value).toBe('~');
    expect(err.message).toContain('"~"');
  });

  test('a good guard list parses', () => {
    const f = write(
      'guards.yaml',
      `guards:
  - { type: http, name: gw, url: "http://gw/health", expectStatus: 200 }
  - { type: prometheus, name: budget, endpoint: "http://prom:9090", query: "slo:budget", criteria: ">=", value: 0.1 }
blastRadius:
  allow: [{ namespace: footanalytics, selector: "app.kubernetes.io/name=api-gateway" }]
`,
    );
    const cfg = loadTempestConfig(f);
    expect(cfg.guards).toHaveLength(2);
    expect(cfg.guards[1]).toMatchObject({ type: 'prometheus', criteria: '>=', value: '0.1' });
    expect(cfg.blastRadius.allow).toEqual([{ namespace: 'footanalytics', selector: 'app.kubernetes.io/name=api-gateway' }]);
  });

  test('missing file, YAML error, bad duration', () => {
    expect(oneProblem(() => loadTempestConfig(join(dir, 'nope.yaml'))).err.message).toContain('ENOENT');
    const y = write('syntax.yaml', 'temporal: [\n');
    expect(oneProblem(() => loadTempestConfig(y)).p.file).toMatch(/syntax\.yaml:\d+:\d+$/);
    const d = write('dur.yaml', 'rollbackTriggers: { pollInterval: "soon" }\n');
    const r = oneProblem(() => loadTempestConfig(d));
    expect(r.p).toMatchObject({ path: 'rollbackTriggers.pollInterval', value: 'soon' });
  });
});

test('examples/local/tempest.yaml loads and admits the seed engine', () => {
  const file = join(EXAMPLES, 'local/tempest.yaml');
  const cfg = loadTempestConfig(file);
  expect(cfg.file).toBe(file);
  expect(cfg.reports.dir).toBe(join(ROOT, '.tempest/reports'));
  expect(cfg.guards.find((g) => g.type === 'freeze')).toMatchObject({ file: join(ROOT, '.tempest/deployment-freeze') });
  const engine = loadEngine(join(EXAMPLES, 'engines/api-gateway-chaos.yaml'));
  expect(blastRadiusRefusal(cfg.policy, engine.target)).toBeNull();
  const gpu = loadEngine(join(EXAMPLES, 'engines/ml-pipeline-gpu-chaos.yaml'));
  expect(blastRadiusRefusal(cfg.policy, gpu.target)).toContain('ai-processing/app.kubernetes.io/name=ml-pipeline');
});

// ---------------------------------------------------------------- 4. durations

describe('parseDurationMs', () => {
  test.each<[unknown, 's' | 'ms', number]>([
    ['60', 's', 60_000],
    [60, 's', 60_000],
    [' 60 ', 's', 60_000],
    ['1.5', 's', 1500],
    [5000, 'ms', 5000],
    ['5000', 'ms', 5000],
    ['5s', 's', 5000],
    ['5s', 'ms', 5000],
    ['500ms', 's', 500],
    ['1m30s', 's', 90_000],
    ['2m', 's', 120_000],
    ['8h', 's', 28_800_000],
    ['1h30m', 's', 5_400_000],
    ['-5', 's', -5000], // sign kept: callers decide what is too small
  ])('%p (bare %s) -> %p', (input, unit, ms) => {
    expect(parseDurationMs(input, unit)).toBe(ms);
  });

  test.each<unknown>(['abc', '5x', '', '   ', '5 s', 's', '5s5', 'ms', NaN, Infinity, null, undefined, true, {}])('%p -> undefined', (input) => {
    expect(parseDurationMs(input, 's')).toBeUndefined();
  });
});
