/**
 * Litmus's own templates apply unchanged (test/fixtures/chaos-charts: litmuschaos/chaos-charts' engine.yaml and
 * fault.yaml of every fault Tempest and Litmus both have). A Litmus user copies the engine, fills in its empty
 * `appinfo`, and applies it with the ChaosExperiment beside it: the engine alone validates, and with its
 * ChaosExperiment the experiment's env is the default that the engine's env overrides by name — as Litmus's runner
 * merges them. The merge is checked against the same engine written with the merged env list by hand.
 */
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { loadFile, loadText, type LoadedDoc } from '../../config/load.js';
import { ConfigError } from '../../config/errors.js';
import { faultDescriptor } from '../../activities/faults/registry.js';
import { ROOT } from '../helpers/temporal.js';

const DIR = join(ROOT, 'test/fixtures/chaos-charts');
const FAULTS = readdirSync(DIR, { withFileTypes: true })
  .filter((d) => d.isDirectory())
  .map((d) => d.name)
  .sort();

/** The template with only its empty appinfo filled in, as the template's own comments ask. */
function filledEngine(fault: string): string {
  return readFileSync(join(DIR, fault, 'engine.yaml'), 'utf8')
    .replace("appns: ''", 'appns: footanalytics')
    .replace("applabel: ''", "applabel: 'app.kubernetes.io/name=api-gateway'")
    .replace("appkind: ''", 'appkind: deployment');
}
const faultYaml = (fault: string) => readFileSync(join(DIR, fault, 'fault.yaml'), 'utf8');
const engineOf = (docs: LoadedDoc[]) => {
  const e = docs.find((d) => d.kind === 'ChaosEngine');
  if (e?.kind !== 'ChaosEngine') throw new Error('no engine');
  return e.experiment;
};
type Env = Array<{ name: string; value?: unknown }>;

test('the corpus holds every fault both have', () => {
  expect(FAULTS).toEqual(['container-kill', 'pod-cpu-hog', 'pod-delete', 'pod-memory-hog', 'pod-network-latency', 'pod-network-loss']);
});

describe.each(FAULTS)('%s', (fault) => {
  test('the engine template validates once its appinfo is filled in', () => {
    const spec = engineOf(loadText(filledEngine(fault), `${fault}/engine.yaml`));
    expect(spec.faults.map((f) => f.name)).toEqual([fault]);
    expect(spec.target).toMatchObject({ namespace: 'footanalytics', labelSelector: 'app.kubernetes.io/name=api-gateway', kind: 'deployment' });
  });

  test('with its ChaosExperiment beside it: the experiment env is the default, the engine env wins by name', () => {
    const text = `${filledEngine(fault)}\n---\n${faultYaml(fault)}`;
    const docs = loadText(text, `${fault}/both.yaml`);
    const defaults = docs.find((d) => d.kind === 'ChaosExperiment');
    expect(defaults?.kind === 'ChaosExperiment' && defaults.defaults.name).toBe(fault);
    const merged = engineOf(docs);

    // The same engine with the merged list written out: the ChaosExperiment's env, each replaced by the engine's
    // entry of the same name; its image tunables (Litmus's runner and helper images) are never taken.
    const d = faultDescriptor(fault)!;
    const images = new Set(d.params.filter((x) => typeof x.key === 'object').map((x) => x.env));
    const engineDoc = parse(filledEngine(fault)) as { spec: { experiments: Array<{ spec: { components: { env: Env } } }> } };
    const expDoc = parse(faultYaml(fault)) as { spec: { definition: { env: Env } } };
    const own = engineDoc.spec.experiments[0].spec.components.env;
    const byHand: Env = [...expDoc.spec.definition.env.filter((e) => !images.has(e.name) && !own.some((o) => o.name === e.name)), ...own];
    engineDoc.spec.experiments[0].spec.components.env = byHand;
    expect(merged).toEqual(engineOf(loadText(stringify(engineDoc), `${fault}/both.yaml`)));
  });
});

test("spot checks on the real templates: pod-delete keeps its engine FORCE false and 10 s interval over the experiment's true and 5 s; the network faults take NETWORK_INTERFACE eth0 from the experiment; the stress image is the operator's", () => {
  const both = (f: string) => engineOf(loadText(`${filledEngine(f)}\n---\n${faultYaml(f)}`, `${f}.yaml`)).faults[0];
  expect(both('pod-delete')).toMatchObject({ intervalMs: 10_000, params: { force: false } });
  expect(both('pod-network-latency').params.networkInterface).toBe('eth0');
  expect(both('pod-network-loss').params.networkInterface).toBe('eth0');
  expect(faultYaml('pod-cpu-hog')).toContain('STRESS_IMAGE');
  expect(both('pod-cpu-hog').params.images?.stress).toBeUndefined();
});

describe('the merge, on small documents', () => {
  const engine = (env: string) => `apiVersion: litmuschaos.io/v1alpha1
kind: ChaosEngine
metadata: { name: latency }
spec:
  appinfo: { appns: footanalytics, applabel: app=api, appkind: deployment }
  experiments:
    - name: pod-network-latency
      spec:
        components:
          env:
${env}`;
  const experiment = (env: string) => `apiVersion: litmuschaos.io/v1alpha1
kind: ChaosExperiment
metadata: { name: pod-network-latency }
spec:
  definition:
    image: litmuschaos/go-runner:latest
    env:
${env}`;
  const latencyOf = (text: string) => engineOf(loadText(text, 'x.yaml')).faults[0].params.networkLatencyMs;

  test("a default the engine does not set applies; the engine's value wins; the engine's empty value unsets it (the fault's own default then)", () => {
    const exp = experiment('      - { name: NETWORK_LATENCY, value: "3000" }');
    expect(latencyOf(`${engine('            - { name: JITTER, value: "0" }')}\n---\n${exp}`)).toBe(3000);
    expect(latencyOf(`${exp}\n---\n${engine('            - { name: NETWORK_LATENCY, value: "150" }')}`)).toBe(150); // order in the file does not matter
    expect(latencyOf(`${engine('            - { name: NETWORK_LATENCY, value: "" }')}\n---\n${exp}`)).toBe(2000);
    expect(latencyOf(`${engine('            - { name: NETWORK_LATENCY }')}\n---\n${exp}`)).toBe(2000); // no value is "", as Kubernetes reads it
  });

  test('a bad default is refused with the path of the ChaosExperiment entry it came from', () => {
    const text = `${engine('            - { name: JITTER, value: "0" }')}\n---\n${experiment('      - { name: TOTAL_CHAOS_DURATION, value: "60" }\n      - { name: NETWORK_LATENCY, value: "lots" }')}`;
    let err: unknown;
    try {
      loadText(text, 'x.yaml');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).problems[0]).toMatchObject({ file: 'x.yaml', path: 'document 2.spec.definition.env[1].value' });
  });

  test('a ChaosExperiment reaches the engines of its own file only, never an engine file a ProgressiveChaos (or GameDay, hypothesis) beside it references', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tempest-exp-'));
    writeFileSync(join(dir, 'engine.yaml'), engine('            - { name: JITTER, value: "0" }'));
    const progressive = `apiVersion: tempest.io/v1alpha1
kind: ProgressiveChaos
metadata: { name: p }
spec:
  engine: engine.yaml
  progressive_chaos:
    stage_1: { name: one, chaos_percentage: 10, duration: "5 minutes", success_threshold: 0.9 }`;
    writeFileSync(join(dir, 'p.yaml'), `${progressive}\n---\n${experiment('      - { name: NETWORK_LATENCY, value: "3000" }')}`);
    const docs = loadFile(join(dir, 'p.yaml'));
    const p = docs.find((d) => d.kind === 'ProgressiveChaos');
    expect(p?.kind === 'ProgressiveChaos' && p.progressive.engine.faults[0].params.networkLatencyMs).toBe(2000);
  });

  test('two ChaosExperiments of one name in a file, a valueFrom, or a bad name are refused by field', () => {
    const exp = experiment('      - { name: NETWORK_LATENCY, value: "3000" }');
    expect(() => loadText(`${exp}\n---\n${exp}`, 'x.yaml')).toThrow(/document 2\.metadata\.name: a second ChaosExperiment named pod-network-latency/);
    expect(() => loadText(experiment('      - { name: NETWORK_LATENCY, valueFrom: { secretKeyRef: { name: s, key: k } } }'), 'x.yaml')).toThrow(
      /spec\.definition\.env\[0\]\.valueFrom: valueFrom is not supported/,
    );
    expect(() =>
      loadText(experiment('      - { name: NETWORK_LATENCY, value: "1" }').replace('name: pod-network-latency', 'name: Not_A_Name'), 'x.yaml'),
    ).toThrow(/metadata\.name/);
  });
});
