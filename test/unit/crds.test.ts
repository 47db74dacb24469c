/** deploy/crds/litmuschaos.io.yaml is exactly what deploy/crds/schemas.ts generates (one source; never edited by hand). */
import { readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';
import { CHART_CRD_FILE, CHART_TEMPEST_CRD_FILE, CRD_FILE, CRDS, TEMPEST_CRDS, TEMPEST_CRD_FILE, crdYaml } from '../../deploy/crds/schemas.js';

test('the committed CRDs are the generated ones (run `npx tsx deploy/crds/schemas.ts` after changing the schemas)', () => {
  expect(readFileSync(CRD_FILE, 'utf8')).toBe(crdYaml());
  expect(readFileSync(CHART_CRD_FILE, 'utf8')).toBe(crdYaml()); // the Helm chart's copy
  expect(readFileSync(TEMPEST_CRD_FILE, 'utf8')).toBe(crdYaml(TEMPEST_CRDS));
  expect(readFileSync(CHART_TEMPEST_CRD_FILE, 'utf8')).toBe(crdYaml(TEMPEST_CRDS));
  expect(TEMPEST_CRDS.map((c) => (c as { metadata: { name: string } }).metadata.name)).toEqual([
    'chaoshypotheses.tempest.io',
    'progressivechaoses.tempest.io',
    'gamedays.tempest.io',
  ]);
});

test('four Litmus kinds, v1alpha1, namespaced, with a schema on every version', () => {
  const docs = parseAllDocuments(readFileSync(CRD_FILE, 'utf8')).map(
    (d) => d.toJS() as { spec: { names: { kind: string }; scope: string; versions: Array<{ name: string; schema?: unknown }> } },
  );
  expect(docs.map((d) => d.spec.names.kind)).toEqual(['ChaosEngine', 'ChaosExperiment', 'ChaosSchedule', 'ChaosResult']);
  for (const d of docs) {
    expect(d.spec.scope).toBe('Namespaced');
    expect(d.spec.versions.map((v) => v.name)).toEqual(['v1alpha1']);
    expect(d.spec.versions[0].schema).toBeDefined();
  }
  expect(CRDS).toHaveLength(4);
});

test("the Helm chart's copy of the SLO rules is deploy/prometheus/slo-rules.yaml (helm reads files only inside the chart)", () => {
  const root = new URL('../../', import.meta.url);
  expect(readFileSync(new URL('deploy/helm/tempest/files/slo-rules.yaml', root), 'utf8')).toBe(
    readFileSync(new URL('deploy/prometheus/slo-rules.yaml', root), 'utf8'),
  );
});
