/**
 * The CustomResourceDefinitions Tempest ships for Litmus's kinds (litmuschaos.io/v1alpha1): ChaosEngine,
 * ChaosExperiment, ChaosSchedule, ChaosResult — the same group, version, names and fields as Litmus's own
 * (litmuschaos/chaos-operator deploy/crds, chaos-scheduler), so a Litmus user's YAML applies unchanged with kubectl.
 *
 * Structural schemas: every field Tempest reads is typed here, so the API server refuses a wrong type or value at
 * `kubectl apply` (an engineState that is not active/stop, an env value that is not a string); the Litmus fields
 * Tempest does not read (runner components, auxiliary app info, probe inputs, a ChaosExperiment's permissions) are
 * kept as they are (x-kubernetes-preserve-unknown-fields), as Litmus's own CRDs do, and the strict per-field check of
 * Tempest's loader (config/litmus.ts) stays the one that decides what runs.
 *
 * One difference from Litmus's CRDs: ChaosEngine, ChaosSchedule and ChaosResult have a status subresource (Litmus's
 * have none), so `.status` is written only through `/status` — by Tempest's controller — and an apply of the spec
 * never overwrites it.
 *
 * Tempest's own kinds (TEMPEST_CRDS, tempest.io/v1alpha1): ChaosHypothesis, ProgressiveChaos, GameDay.
 *
 * One source: `npx tsx deploy/crds/schemas.ts` writes deploy/crds/{litmuschaos.io,tempest.io}.yaml and the Helm
 * chart's copies; test/unit/crds.test.ts fails when a committed file differs from what this module generates.
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';

type Schema = Record<string, unknown>;
const str = (description?: string, extra: Schema = {}): Schema => ({ type: 'string', ...(description ? { description } : {}), ...extra });
const obj = (properties: Record<string, Schema>, extra: Schema = {}): Schema => ({ type: 'object', properties, ...extra });
const open = (description?: string): Schema => ({ type: 'object', 'x-kubernetes-preserve-unknown-fields': true, ...(description ? { description } : {}) });
const intOrString = (description?: string): Schema => ({ 'x-kubernetes-int-or-string': true, ...(description ? { description } : {}) });

/** A Litmus env list: name and an inline string value (valueFrom is Kubernetes' shape; Tempest refuses it by field). */
const envList: Schema = {
  type: 'array',
  items: obj(
    { name: str('the Litmus tunable, e.g. TOTAL_CHAOS_DURATION'), value: str("its value; '' means not set"), valueFrom: open() },
    { required: ['name'] },
  ),
};

/** A ChaosEngine's spec (also a ChaosSchedule's engineTemplateSpec). */
export const engineSpec: Schema = obj(
  {
    appinfo: obj(
      {
        appns: str('namespace of the application under test'),
        applabel: str('label selector of its pods, e.g. app.kubernetes.io/name=api-gateway'),
        appkind: str('kind of its owner', { enum: ['deployment', 'statefulset', 'daemonset', 'replicaset', 'pod', 'deploymentconfig', 'rollout', ''] }),
      },
      { 'x-kubernetes-preserve-unknown-fields': true },
    ),
    engineState: str('active runs the engine; stop aborts it (and reverts its faults)', { enum: ['active', 'stop'] }),
    chaosServiceAccount: str('the ServiceAccount whose permissions bound what the run does'),
    jobCleanUpPolicy: str('Litmus: delete or retain the experiment pods', { enum: ['delete', 'retain'] }),
    terminationGracePeriodSeconds: { type: 'integer', minimum: 0 },
    experiments: {
      type: 'array',
      minItems: 1,
      items: obj(
        {
          name: str('the fault, e.g. pod-delete'),
          spec: obj(
            {
              components: obj({ env: envList }, { 'x-kubernetes-preserve-unknown-fields': true }),
              probe: { type: 'array', items: open('a Litmus probe (httpProbe, promProbe, cmdProbe, k8sProbe); checked field by field by Tempest') },
            },
            { 'x-kubernetes-preserve-unknown-fields': true },
          ),
        },
        { required: ['name'], 'x-kubernetes-preserve-unknown-fields': true },
      ),
    },
  },
  { required: ['experiments'], 'x-kubernetes-preserve-unknown-fields': true },
);

const meta = (description: string): Schema => ({
  type: 'object',
  description,
  properties: { apiVersion: str(), kind: str(), metadata: { type: 'object' } },
});

function crd(o: {
  kind: string;
  plural: string;
  singular: string;
  shortNames?: string[];
  spec: Schema;
  status?: boolean;
  columns?: Schema[];
  description: string;
  rootFields?: Record<string, Schema>;
  group?: string;
}): Schema {
  const group = o.group ?? 'litmuschaos.io';
  const root = meta(o.description);
  Object.assign(root.properties as Record<string, Schema>, o.rootFields ?? {});
  (root.properties as Record<string, Schema>).spec = o.spec;
  (root.properties as Record<string, Schema>).status = open(
    group === 'litmuschaos.io' ? "written by the controller, in Litmus's shape" : 'written by the controller',
  );
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${o.plural}.${group}`, labels: { 'app.kubernetes.io/part-of': 'tempest' } },
    spec: {
      group,
      names: { kind: o.kind, listKind: `${o.kind}List`, plural: o.plural, singular: o.singular, ...(o.shortNames ? { shortNames: o.shortNames } : {}) },
      scope: 'Namespaced',
      versions: [
        {
          name: 'v1alpha1',
          served: true,
          storage: true,
          schema: { openAPIV3Schema: root },
          subresources: o.status === false ? {} : { status: {} },
          ...(o.columns ? { additionalPrinterColumns: o.columns } : {}),
        },
      ],
    },
  };
}

const nth = (key: string): Schema => obj({ [key]: { type: 'integer', minimum: 1 } });

export const CRDS: Schema[] = [
  crd({
    kind: 'ChaosEngine',
    plural: 'chaosengines',
    singular: 'chaosengine',
    description: 'A Litmus ChaosEngine: the application under test and the experiments (faults with their tunables and probes) to run on it.',
    spec: engineSpec,
    columns: [
      { name: 'Engine State', type: 'string', jsonPath: '.spec.engineState' },
      { name: 'Status', type: 'string', jsonPath: '.status.engineStatus' },
      { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
    ],
  }),
  crd({
    kind: 'ChaosExperiment',
    plural: 'chaosexperiments',
    singular: 'chaosexperiment',
    description:
      "A Litmus ChaosExperiment: a fault's default tunables (spec.definition.env), overridden by an engine's env. Its image, command and permissions are Litmus's runner's and are not used by Tempest.",
    spec: obj(
      { definition: obj({ env: envList, scope: str(), image: str() }, { 'x-kubernetes-preserve-unknown-fields': true }) },
      { required: ['definition'], 'x-kubernetes-preserve-unknown-fields': true },
    ),
    status: false,
    // chaos-charts' fault.yaml carries `description: { message: ... }` beside spec, as Litmus's CRD allows.
    rootFields: { description: { type: 'object', additionalProperties: { type: 'string' } } },
  }),
  crd({
    kind: 'ChaosSchedule',
    plural: 'chaosschedules',
    singular: 'chaosschedule',
    description: 'A Litmus ChaosSchedule: when to run an engine (now, once, or repeated within a time range, on work days and hours, at a minimum interval).',
    spec: obj(
      {
        // Unknown fields are kept (not pruned), so Tempest's loader sees what was written and refuses it by name.
        schedule: obj(
          {
            now: { type: 'boolean' },
            once: obj({ executionTime: str('RFC 3339 time') }, { 'x-kubernetes-preserve-unknown-fields': true }),
            repeat: obj(
              {
                timeRange: obj({ startTime: str(), endTime: str() }, { 'x-kubernetes-preserve-unknown-fields': true }),
                properties: obj(
                  { minChaosInterval: obj({ minute: nth('everyNthMinute'), hour: nth('everyNthHour') }, { 'x-kubernetes-preserve-unknown-fields': true }) },
                  { 'x-kubernetes-preserve-unknown-fields': true },
                ),
                workDays: obj({ includedDays: str('e.g. Mon,Tue,Wed,Thu,Fri') }, { 'x-kubernetes-preserve-unknown-fields': true }),
                workHours: obj({ includedHours: intOrString('e.g. 9-17') }, { 'x-kubernetes-preserve-unknown-fields': true }),
                minChaosInterval: intOrString('e.g. 8h'),
              },
              { 'x-kubernetes-preserve-unknown-fields': true },
            ),
          },
          { 'x-kubernetes-preserve-unknown-fields': true },
        ),
        engineTemplateSpec: engineSpec,
        scheduleState: str(undefined, { enum: ['active', 'halt', 'complete'] }),
      },
      { required: ['schedule', 'engineTemplateSpec'], 'x-kubernetes-preserve-unknown-fields': true },
    ),
    columns: [
      { name: 'State', type: 'string', jsonPath: '.spec.scheduleState' },
      { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
    ],
  }),
  crd({
    kind: 'ChaosResult',
    plural: 'chaosresults',
    singular: 'chaosresult',
    description: "A Litmus ChaosResult: one experiment's phase, verdict, probe success percentage and probe statuses, as Litmus writes it.",
    spec: open(),
    columns: [
      { name: 'Verdict', type: 'string', jsonPath: '.status.experimentStatus.verdict' },
      { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
    ],
  }),
];

/**
 * Tempest's own kinds (tempest.io/v1alpha1), the documents Litmus has no kind for: the same YAML `tempest run`
 * takes, with `spec.engine` (and a GameDay's `catalog.<x>.engine`) naming a ChaosEngine of the same namespace — a
 * template, annotated `tempest.io/template: "true"` so that it never runs by itself — instead of a file.
 */
const runColumns: Schema[] = [
  { name: 'Status', type: 'string', jsonPath: '.status.phase' },
  { name: 'Verdict', type: 'string', jsonPath: '.status.verdict' },
  { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
];
const engineRef = str('the name of a ChaosEngine in this namespace, annotated tempest.io/template: "true"', { minLength: 1, maxLength: 253 });
export const TEMPEST_CRDS: Schema[] = [
  crd({
    group: 'tempest.io',
    kind: 'ChaosHypothesis',
    plural: 'chaoshypotheses',
    singular: 'chaoshypothesis',
    description: "The seed's hypothesis-driven experiment: an engine, env overrides, and the hypothesis' steady state and criteria as probes.",
    spec: obj(
      { engine: engineRef, env: open("Litmus tunables that override the engine's"), experiment_template: open() },
      { required: ['engine', 'experiment_template'], 'x-kubernetes-preserve-unknown-fields': true },
    ),
    columns: runColumns,
  }),
  crd({
    group: 'tempest.io',
    kind: 'ProgressiveChaos',
    plural: 'progressivechaoses',
    singular: 'progressivechaos',
    description: "The seed's progressive chaos: stages of growing chaos percentage, each gated by the success of the one it depends on.",
    spec: obj({ engine: engineRef, progressive_chaos: open() }, { required: ['engine', 'progressive_chaos'], 'x-kubernetes-preserve-unknown-fields': true }),
    columns: runColumns,
  }),
  crd({
    group: 'tempest.io',
    kind: 'GameDay',
    plural: 'gamedays',
    singular: 'gameday',
    description: "The seed's game day: scenarios of engines Tempest runs and manual steps the team reports.",
    spec: obj(
      { catalog: open('experiment name -> { engine: <ChaosEngine name> } or { manual: <instructions> }'), game_days: open() },
      { required: ['catalog', 'game_days'], 'x-kubernetes-preserve-unknown-fields': true },
    ),
    columns: runColumns,
  }),
];

export const CRD_FILE = fileURLToPath(new URL('./litmuschaos.io.yaml', import.meta.url));
export const TEMPEST_CRD_FILE = fileURLToPath(new URL('./tempest.io.yaml', import.meta.url));
export const CHART_TEMPEST_CRD_FILE = fileURLToPath(new URL('../helm/tempest/crds/tempest.io.yaml', import.meta.url));
/** The same file in the Helm chart's crds/ (Helm installs those before the templates, and never deletes them). */
export const CHART_CRD_FILE = fileURLToPath(new URL('../helm/tempest/crds/litmuschaos.io.yaml', import.meta.url));

export function crdYaml(crds: Schema[] = CRDS): string {
  const head = '# Generated by deploy/crds/schemas.ts (npx tsx deploy/crds/schemas.ts); edit that, not this file.\n';
  return head + crds.map((c) => `---\n${stringify(c, { lineWidth: 0, aliasDuplicateObjects: false })}`).join('');
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  for (const [f, crds] of [
    [CRD_FILE, CRDS],
    [CHART_CRD_FILE, CRDS],
    [TEMPEST_CRD_FILE, TEMPEST_CRDS],
    [CHART_TEMPEST_CRD_FILE, TEMPEST_CRDS],
  ] as const) {
    writeFileSync(f, crdYaml(crds));
    console.log(`written ${f}`);
  }
}
