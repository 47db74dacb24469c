/**
 * deploy/rbac.yaml is exactly what the code uses, proven with the real API server's audit log
 * (scripts/k8s-up: --audit-log-path .tempest/k8s/logs/audit.log; test/helpers/audit.ts).
 *
 * As the shipped identity — tempest-system/tempest-worker, bound in footanalytics and in ai-processing, with one
 * TokenRequest token per namespace's platform — the suite runs every Kubernetes fault driver (preflight, prepare where the fault has one,
 * inject, revert) against the seed workloads, pod-delete and both rollback actions (scale, restartUnhealthy)
 * against one workload of every kind the Role names (Deployment, StatefulSet, DaemonSet, ReplicaSet — their own
 * labels deliberately do not match the selector, so the owner is found through the pods and read by name), every
 * probe that talks to the cluster (k8sProbe present / absent / create / delete, cmdProbe with a `source` pod).
 * Then it reads the audit events of exactly those tokens (by their JTI) and compares them with the grants of
 * deploy/rbac.yaml, expanded to (namespace, Role, apiGroup, resource[/subresource], verb):
 *   - a grant nothing used fails the test, by name;
 *   - a request that was denied (403, or decision forbid) fails the test, by name;
 *   - an allowed request that no grant covers fails too (the authorizer's own reason is cross-checked).
 *
 * kwok runs no containers: exec is authorized by the API server and then fails ("unable to upgrade connection"),
 * which still counts as use. @kubernetes/client-node execs over WebSocket, an HTTP GET: the audit log shows
 * `get pods/exec`; on 1.35+ (AuthorizePodWebsocketUpgradeCreatePermission) the exec handler then also checks
 * `create pods/exec`, which is not logged separately — an exec answered with anything but 403 had both. The last
 * test proves that on this cluster: with `get` alone the same exec is refused (403), with `create` added it passes
 * authorization.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { MockActivityEnvironment } from '@temporalio/testing';
import { parseAllDocuments } from 'yaml';
import { createKubernetesPlatform, type KubernetesPlatform } from '../../../activities/platform/kubernetes.js';
import { createProbeActivities, type ProbeContext, type ProbeOutcome } from '../../../activities/probes/index.js';
import { runRollbackActions } from '../../../activities/rollback/actions.js';
import type { ExperimentSpec, ProbeSpec, RunProperties, TargetSpec } from '../../../config/spec.js';
import type { TempestConfig } from '../../../config/tempest-config.js';
import { ROOT } from '../../helpers/temporal.js';
import { auditFence, readAudit, tokenJti, type AuditEvent } from '../../helpers/audit.js';
import {
  apply,
  cleanupTestFiles,
  faultRef,
  freshPods,
  injectReq,
  k8sConfig,
  k8sEngine,
  live,
  noCtx,
  patchPodStatus,
  saKubeconfig,
  seededCluster,
  waitFor,
  WORKER_USER,
  TEST_STRESS_IMAGE,
  ALLOWED_STRESS_OVERRIDE,
  type Admin,
  type SeedApp,
} from '../../helpers/k8s.js';

const RUN = Math.random().toString(36).slice(2, 8);
const NAMESPACES = { footanalytics: 'api-gateway', 'ai-processing': 'ml-pipeline' } as const satisfies Record<string, SeedApp>;
type Ns = keyof typeof NAMESPACES;
const KINDS = ['deployment', 'statefulset', 'daemonset', 'replicaset'] as const;
type Kind = (typeof KINDS)[number];
const APP_LABEL = 'app.kubernetes.io/name';
const AUDIT_LABEL = 'tempest-tests/rbac-audit';
const EXEC_REFUSED = { type: 'PlatformUnavailable', message: /unable to upgrade connection/ };
const CONTROL_NS = `tempest-audit-${RUN}`;

let a: Admin;
const kubeconfigs = {} as Record<Ns, string>;
const platforms = {} as Record<Ns, KubernetesPlatform>;
const configs = {} as Record<Ns, TempestConfig>;
const jtis = new Set<string>();
let startFence: string;

// ------------------------------------------------------------------ extra workloads (one per kind the Role names)

const workloadName = (kind: Kind) => `tempest-audit-${kind}-${RUN}`; // a run of its own: concurrent runs never share one
const targetOf = (ns: Ns, kind: Kind): TargetSpec => ({ namespace: ns, labelSelector: `${APP_LABEL}=${workloadName(kind)}`, kind });

/** Own labels that do NOT match the target selector: the code must find the owner through its pods (get by name). */
function workload(ns: Ns, kind: Kind): k8s.KubernetesObject {
  const name = workloadName(kind);
  const podLabels = { [APP_LABEL]: name, [AUDIT_LABEL]: 'pod' };
  const template = {
    metadata: { labels: podLabels },
    spec: { terminationGracePeriodSeconds: 0, containers: [{ name: 'app', image: `registry.example/${name}:1.0` }] },
  };
  const metadata = { name, namespace: ns, labels: { [AUDIT_LABEL]: 'workload' } };
  const selector = { matchLabels: { [APP_LABEL]: name } };
  const kindName = { deployment: 'Deployment', statefulset: 'StatefulSet', daemonset: 'DaemonSet', replicaset: 'ReplicaSet' }[kind];
  const spec: Record<string, unknown> = { selector, template };
  if (kind !== 'daemonset') spec.replicas = 1;
  if (kind === 'statefulset') spec.serviceName = name;
  return { apiVersion: 'apps/v1', kind: kindName, metadata, spec } as k8s.KubernetesObject;
}

/** Workloads an interrupted earlier run left behind (older than an hour): deleted, with their pods. */
async function removeStaleWorkloads(ns: Ns): Promise<void> {
  const sel = { namespace: ns, labelSelector: `${AUDIT_LABEL}=workload` };
  const old = (o: { metadata?: { creationTimestamp?: Date } }) => Date.now() - new Date(o.metadata?.creationTimestamp ?? Date.now()).getTime() > 3_600_000;
  const ap = a.apps;
  const propagationPolicy = 'Background';
  for (const d of (await ap.listNamespacedDeployment(sel)).items.filter(old))
    await ap.deleteNamespacedDeployment({ name: d.metadata!.name!, namespace: ns, propagationPolicy }).catch(() => undefined);
  for (const d of (await ap.listNamespacedStatefulSet(sel)).items.filter(old))
    await ap.deleteNamespacedStatefulSet({ name: d.metadata!.name!, namespace: ns, propagationPolicy }).catch(() => undefined);
  for (const d of (await ap.listNamespacedDaemonSet(sel)).items.filter(old))
    await ap.deleteNamespacedDaemonSet({ name: d.metadata!.name!, namespace: ns, propagationPolicy }).catch(() => undefined);
  for (const d of (await ap.listNamespacedReplicaSet(sel)).items.filter(old))
    await ap.deleteNamespacedReplicaSet({ name: d.metadata!.name!, namespace: ns, propagationPolicy }).catch(() => undefined);
}

interface Status {
  desired: number;
  ready: number;
  current: boolean;
}
async function statusOf(ns: Ns, kind: Kind): Promise<Status> {
  const name = workloadName(kind);
  const ap = a.apps;
  switch (kind) {
    case 'daemonset': {
      const d = await ap.readNamespacedDaemonSet({ name, namespace: ns });
      return {
        desired: d.status?.desiredNumberScheduled ?? 0,
        ready: d.status?.numberReady ?? 0,
        current: (d.status?.observedGeneration ?? 0) >= (d.metadata?.generation ?? 0),
      };
    }
    default: {
      const d =
        kind === 'deployment'
          ? await ap.readNamespacedDeployment({ name, namespace: ns })
          : kind === 'statefulset'
            ? await ap.readNamespacedStatefulSet({ name, namespace: ns })
            : await ap.readNamespacedReplicaSet({ name, namespace: ns });
      return {
        desired: d.spec?.replicas ?? 1,
        ready: d.status?.readyReplicas ?? 0,
        current: (d.status?.observedGeneration ?? 0) >= (d.metadata?.generation ?? 0),
      };
    }
  }
}
async function workloadPods(ns: Ns, kind: Kind): Promise<k8s.V1Pod[]> {
  return (await a.core.listNamespacedPod({ namespace: ns, labelSelector: `${APP_LABEL}=${workloadName(kind)}` })).items;
}
/** desired == ready (>= 1 for a DaemonSet), controller caught up, and exactly that many live pods and no others. */
async function whole(ns: Ns, kind: Kind, want?: number): Promise<k8s.V1Pod[]> {
  return waitFor(
    `${ns}/${workloadName(kind)} whole${want ? ` at ${want}` : ''}`,
    async () => {
      const s = await statusOf(ns, kind);
      if (!s.current || s.desired < 1 || s.ready !== s.desired || (want !== undefined && s.desired !== want)) return false;
      const ps = await workloadPods(ns, kind);
      return live(ps).length === s.desired && ps.length === s.desired ? live(ps) : false;
    },
    90_000,
  );
}

// ------------------------------------------------------------------ deploy/rbac.yaml, expanded

interface Grant {
  namespace: string;
  role: string;
  apiGroup: string;
  /** resource or resource/subresource */
  resource: string;
  verb: string;
}
const grantName = (g: Grant) => `${g.namespace} Role ${g.role}: ${g.verb} ${g.resource}${g.apiGroup ? ` (${g.apiGroup})` : ''}`;

interface Rbac {
  grants: Grant[];
  /** user name -> namespace -> Role names bound to it there */
  bindings: Map<string, Map<string, Set<string>>>;
}

function loadRbac(): Rbac {
  const docs = parseAllDocuments(readFileSync(join(ROOT, 'deploy/rbac.yaml'), 'utf8'));
  const objs = (Array.isArray(docs) ? docs : [docs]).map((d) => d.toJS() as Record<string, any> | null).filter((o): o is Record<string, any> => !!o);
  const grants: Grant[] = [];
  const bindings = new Map<string, Map<string, Set<string>>>();
  for (const o of objs) {
    if (o.kind === 'ClusterRole' || o.kind === 'ClusterRoleBinding')
      throw new Error(`deploy/rbac.yaml has a ${o.kind} (${o.metadata?.name}): this suite only knows namespaced RBAC`);
    if (o.kind === 'Role') {
      for (const r of o.rules ?? []) {
        if (r.resourceNames?.length || r.nonResourceURLs?.length)
          throw new Error(`Role ${o.metadata.name}: resourceNames / nonResourceURLs are not expanded by this suite`);
        for (const apiGroup of r.apiGroups)
          for (const resource of r.resources)
            for (const verb of r.verbs) grants.push({ namespace: o.metadata.namespace, role: o.metadata.name, apiGroup, resource, verb });
      }
    }
    if (o.kind === 'RoleBinding') {
      if (o.roleRef.kind !== 'Role') throw new Error(`RoleBinding ${o.metadata.name} binds a ${o.roleRef.kind}`);
      for (const s of o.subjects ?? []) {
        if (s.kind !== 'ServiceAccount') continue;
        const user = `system:serviceaccount:${s.namespace ?? o.metadata.namespace}:${s.name}`;
        if (!bindings.has(user)) bindings.set(user, new Map());
        const byNs = bindings.get(user)!;
        if (!byNs.has(o.metadata.namespace)) byNs.set(o.metadata.namespace, new Set());
        byNs.get(o.metadata.namespace)!.add(o.roleRef.name);
      }
    }
  }
  return { grants, bindings };
}

const resourceOf = (e: AuditEvent) => `${e.resource}${e.subresource ? `/${e.subresource}` : ''}`;
const describeEvent = (e: AuditEvent) =>
  e.nonResourceURL
    ? `${e.user} ${e.verb} ${e.nonResourceURL} -> ${e.code} (${e.decision ?? '-'})`
    : `${e.user} ${e.verb} ${resourceOf(e)}${e.apiGroup ? ` (${e.apiGroup})` : ''}${e.name ? ` ${e.name}` : ''} in ${e.namespace ?? '(cluster)'} -> ${e.code} (${e.decision ?? '-'})`;
const denied = (e: AuditEvent) => e.code === 403 || e.decision === 'forbid';

/** The grants a request used. A WebSocket exec (GET, logged as get pods/exec) that was not refused also passed the exec handler's create check. */
function grantsUsedBy(e: AuditEvent, rbac: Rbac): Grant[] {
  const roles = rbac.bindings.get(e.user)?.get(e.namespace ?? '') ?? new Set<string>();
  const match = (verb: string) =>
    rbac.grants.filter(
      (g) =>
        g.namespace === e.namespace &&
        roles.has(g.role) &&
        (g.apiGroup === e.apiGroup || g.apiGroup === '*') &&
        (g.resource === resourceOf(e) || g.resource === '*') &&
        (g.verb === verb || g.verb === '*'),
    );
  const used = match(e.verb);
  if (e.verb === 'get' && resourceOf(e) === 'pods/exec' && e.apiGroup === '' && e.code !== 403) used.push(...match('create'));
  return used;
}

// ------------------------------------------------------------------ running things, recording what went wrong

type Want = 'ok' | { type: string; message?: RegExp };
const problems: string[] = [];
async function step<T>(what: string, fn: () => Promise<T>, want: Want = 'ok'): Promise<T | undefined> {
  try {
    const v = await fn();
    if (want !== 'ok') problems.push(`${what}: succeeded, expected ${want.type}`);
    return v;
  } catch (e) {
    const f = e as { type?: string; message?: string };
    if (want === 'ok' || f.type !== want.type || (want.message && !want.message.test(f.message ?? '')))
      problems.push(`${what}: ${f.type ?? 'Error'}: ${f.message}`);
    return undefined;
  }
}

function rp(over: Partial<RunProperties> = {}): RunProperties {
  return { probeTimeoutMs: 20_000, intervalMs: 200, attempts: 1, pollingIntervalMs: 1000, initialDelayMs: 0, stopOnFailure: false, ...over };
}
function runProbe(ns: Ns, p: ProbeSpec): Promise<ProbeOutcome> {
  const pl = platforms[ns];
  return new MockActivityEnvironment().run(createProbeActivities({ k8s: pl.clients.kc, execInPod: pl.execInPod, policy: configs[ns].policy }).runProbe, p, {
    runId: `rbac-audit-${RUN}`,
    phase: 'SOT',
    iteration: 0,
  } satisfies ProbeContext);
}
async function probeStep(ns: Ns, what: string, p: ProbeSpec, want: Partial<ProbeOutcome> & { reasonMatches?: RegExp }): Promise<void> {
  const out = await runProbe(ns, p);
  const { reasonMatches, ...fields } = want;
  const bad = Object.entries(fields).filter(([k, v]) => (out as unknown as Record<string, unknown>)[k] !== v);
  if (bad.length || (reasonMatches && !reasonMatches.test(out.reason))) problems.push(`${ns} ${what}: ${out.status} ${out.failureKind ?? ''}: ${out.reason}`);
}

/** preflight -> [prepare] -> inject -> revert, each with the outcome it must have on kwok. */
async function faultRoundTrip(
  ns: Ns,
  label: string,
  spec: ExperimentSpec,
  wants: { preflight?: Want; prepare?: Want; inject?: Want; revert?: Want } = {},
): Promise<void> {
  const p = platforms[ns];
  const ref = faultRef(spec);
  await step(`${ns} ${label} preflight`, () => p.preflight(spec), wants.preflight);
  if (wants.prepare) await step(`${ns} ${label} prepare`, () => p.prepare!(ref, noCtx()), wants.prepare);
  await step(`${ns} ${label} inject`, () => p.inject(injectReq(ref, 0, 90_000), noCtx()), wants.inject);
  await step(`${ns} ${label} revert`, () => p.revert(ref, noCtx()), wants.revert);
}

// ------------------------------------------------------------------ suite

beforeAll(async () => {
  a = await seededCluster();
  startFence = await auditFence(a.kc); // also fails at once if the apiserver runs without the audit log
  for (const ns of Object.keys(NAMESPACES) as Ns[]) {
    kubeconfigs[ns] = await saKubeconfig(ns, a);
    jtis.add(tokenJti(kubeconfigs[ns]));
    // the probe's pod may use its image because the policy names it (images.allow)
    configs[ns] = k8sConfig(kubeconfigs[ns], {
      probes: { k8sWritable: ['pods'] },
      images: { stress: TEST_STRESS_IMAGE, allow: [ALLOWED_STRESS_OVERRIDE, 'registry.example/probe:1.0'] },
    });
    platforms[ns] = createKubernetesPlatform(configs[ns], { verifyTimeoutMs: 30_000, execTimeoutMs: 10_000 });
    await removeStaleWorkloads(ns);
    for (const kind of KINDS) await apply(a, workload(ns, kind));
  }
  for (const ns of Object.keys(NAMESPACES) as Ns[]) {
    await freshPods(a, NAMESPACES[ns]);
    for (const kind of KINDS) await whole(ns, kind, kind === 'daemonset' ? undefined : 1);
  }
}, 900_000);

afterAll(async () => {
  cleanupTestFiles();
  if (!a) return;
  for (const ns of Object.keys(NAMESPACES) as Ns[]) {
    for (const kind of KINDS) await a.objects.delete(workload(ns, kind), undefined, undefined, 0, undefined, 'Background').catch(() => undefined);
    await a.core.deleteCollectionNamespacedPod({ namespace: ns, labelSelector: `${AUDIT_LABEL}=probe-${RUN}`, gracePeriodSeconds: 0 }).catch(() => undefined);
  }
  await a.core.deleteNamespace({ name: CONTROL_NS }).catch(() => undefined);
}, 120_000);

describe.each(Object.keys(NAMESPACES) as Ns[])('as tempest-system/tempest-worker in %s', (ns) => {
  const app = NAMESPACES[ns];
  const env = (e: Record<string, string> = {}) => ({ TOTAL_CHAOS_DURATION: '30', ...e });

  test('every fault driver against the seed workload: preflight, prepare, inject, revert', async () => {
    problems.length = 0;
    await faultRoundTrip(ns, 'pod-delete', k8sEngine(`audit-pod-delete`, app, 'pod-delete', env({ FORCE: 'true' })));
    await faultRoundTrip(ns, 'container-kill (helper)', k8sEngine(`audit-ck-helper`, app, 'container-kill', env({ CHAOS_MODE: 'helper' })));
    await faultRoundTrip(ns, 'container-kill (exec)', k8sEngine(`audit-ck-exec`, app, 'container-kill', env({ CHAOS_MODE: 'exec' })), { inject: EXEC_REFUSED });
    await faultRoundTrip(ns, 'pod-cpu-hog', k8sEngine(`audit-cpu`, app, 'pod-cpu-hog', env({ CPU_CORES: '1' })));
    await faultRoundTrip(ns, 'pod-memory-hog', k8sEngine(`audit-mem`, app, 'pod-memory-hog', env({ MEMORY_CONSUMPTION: '100' })));
    // the seed pods have no nvidia.com/gpu limit: refused before any request that changes something (the GPU path
    // itself, with a pod that has its own GPU, is in fault-guards.test.ts)
    const noGpu = { type: 'FaultRefused', message: /has no nvidia\.com\/gpu limit/ };
    await faultRoundTrip(ns, 'gpu-memory-hog', k8sEngine(`audit-gpu`, app, 'gpu-memory-hog', env({ GPU_MEMORY_PERCENTAGE: '50' })), {
      preflight: noGpu,
      inject: noGpu,
    });
    await faultRoundTrip(ns, 'pod-network-latency', k8sEngine(`audit-latency`, app, 'pod-network-latency', env({ NETWORK_LATENCY: '200' })));
    await faultRoundTrip(ns, 'pod-network-loss', k8sEngine(`audit-loss`, app, 'pod-network-loss', env({ NETWORK_PACKET_LOSS_PERCENTAGE: '20' })));

    // model-corruption works by exec only: preflight and prepare stop at the read-only fingerprint; inject without
    // the workflow's record touches nothing; with a record (as the workflow would hand over) it writes the ledger
    // intent and stops at the fingerprint exec; revert with it stops at the backup check, without it clears the ledger.
    const mc = k8sEngine(`audit-model`, app, 'model-corruption', env({ FILE_PATH: '/models/model.pth', CORRUPTION_TYPE: 'zero' }));
    await faultRoundTrip(ns, 'model-corruption', mc, {
      preflight: EXEC_REFUSED,
      prepare: EXEC_REFUSED,
      inject: { type: 'FaultRefused', message: /no prepared record/ },
    });
    const [pod] = live((await a.core.listNamespacedPod({ namespace: ns, labelSelector: `${APP_LABEL}=${app}` })).items);
    const ref = {
      ...faultRef(mc),
      prepared: {
        mode: 'exec',
        pods: { [pod.metadata!.name!]: { uid: pod.metadata!.uid!, container: app, file: '/models/model.pth', sha256: 'a'.repeat(64), size: 1024 } },
      },
    };
    await step(`${ns} model-corruption inject (prepared)`, () => platforms[ns].inject(injectReq(ref, 0, 90_000), noCtx()), EXEC_REFUSED);
    await step(`${ns} model-corruption revert (prepared)`, () => platforms[ns].revert(ref, noCtx()), EXEC_REFUSED);
    await step(`${ns} model-corruption revert (no record: clears the ledger)`, () => platforms[ns].revert({ ...ref, prepared: undefined }, noCtx()));

    expect(problems).toEqual([]);
  }, 600_000);

  test.each(KINDS)(
    'appkind %s: pod-delete, restartUnhealthy and scale on a workload found through its pods',
    async (kind) => {
      problems.length = 0;
      const target = targetOf(ns, kind);
      const p = platforms[ns];
      await whole(ns, kind);
      const spec = { ...k8sEngine(`audit-${kind}`, app, 'pod-delete', env({ FORCE: 'true' })), target };
      await faultRoundTrip(ns, `${kind} pod-delete`, spec);
      await whole(ns, kind);

      // restartUnhealthy: play the kubelet and report one pod not ready; the action deletes it, the owner replaces it
      const [victim] = await whole(ns, kind);
      await patchPodStatus(a, ns, victim.metadata!.name!, { conditions: [{ type: 'Ready', status: 'False', lastTransitionTime: new Date() }] });
      const req = { target, experiment: `audit-${kind}`, workflowId: `rbac-audit-${RUN}`, reason: 'rbac audit' };
      const restart = await runRollbackActions({ ...req, actions: [{ type: 'restartUnhealthy', name: 'restart', restartThreshold: 0 }] }, p);
      if (restart[0]?.status !== 'done' || !restart[0].detail.includes(victim.metadata!.name!))
        problems.push(`${ns} ${kind} restartUnhealthy: ${JSON.stringify(restart)}`);
      await waitFor(`${victim.metadata!.name} replaced`, async () => !(await workloadPods(ns, kind)).some((x) => x.metadata?.uid === victim.metadata?.uid));
      await whole(ns, kind);

      // scale: up to 2 through the scale subresource, then back (a DaemonSet has no replicas: refused, no request)
      const scale = await runRollbackActions({ ...req, actions: [{ type: 'scale', name: 'scale', minReplicas: 2 }] }, p);
      if (kind === 'daemonset') {
        if (scale[0]?.status !== 'failed' || !/no replicas to scale/.test(scale[0].detail)) problems.push(`${ns} ${kind} scale: ${JSON.stringify(scale)}`);
      } else {
        if (scale[0]?.status !== 'done') problems.push(`${ns} ${kind} scale: ${JSON.stringify(scale)}`);
        await whole(ns, kind, 2);
        await step(`${ns} ${kind} scale back to 1`, () => p.scale(target, 1));
        await whole(ns, kind, 1);
      }
      expect(problems).toEqual([]);
    },
    300_000,
  );

  test('every probe that talks to the cluster: k8sProbe present / absent / create / delete, cmdProbe with a source pod', async () => {
    problems.length = 0;
    const k8sProbe = (
      name: string,
      k: Partial<Extract<ProbeSpec, { type: 'k8sProbe' }>['k8s']> & { operation: 'present' | 'absent' | 'create' | 'delete' },
    ): ProbeSpec => ({
      name,
      type: 'k8sProbe',
      mode: 'SOT',
      runProperties: rp(),
      k8s: { group: '', version: 'v1', resource: 'pods', namespace: ns, ...k },
    });
    const mine = `${AUDIT_LABEL}=probe-${RUN}`;
    await probeStep(ns, 'k8sProbe present pods', k8sProbe('present', { operation: 'present', labelSelector: `${APP_LABEL}=${app}` }), { status: 'Passed' });
    await probeStep(
      ns,
      'k8sProbe present deployments',
      k8sProbe('deployments', { operation: 'present', group: 'apps', resource: 'deployments', fieldSelector: `metadata.name=${app}` }),
      { status: 'Passed', reason: '1 deployments present' },
    );
    await probeStep(ns, 'k8sProbe absent pods', k8sProbe('absent', { operation: 'absent', labelSelector: mine }), { status: 'Passed' });
    const pod = `apiVersion: v1\nkind: Pod\nmetadata:\n  name: tempest-audit-probe-${RUN}\n  labels:\n    ${AUDIT_LABEL}: probe-${RUN}\nspec:\n  terminationGracePeriodSeconds: 0\n  containers:\n    - name: c\n      image: registry.example/probe:1.0\n`;
    await probeStep(ns, 'k8sProbe create pod', k8sProbe('create', { operation: 'create', data: pod }), {
      status: 'Passed',
      reason: `created Pod ${ns}/tempest-audit-probe-${RUN}`,
    });
    await probeStep(ns, 'k8sProbe present (created)', k8sProbe('present', { operation: 'present', labelSelector: mine }), { status: 'Passed' });
    await probeStep(ns, 'k8sProbe delete pod', k8sProbe('delete', { operation: 'delete', labelSelector: mine }), {
      status: 'Passed',
      reason: 'deleted 1 pods, none left',
    });
    await probeStep(ns, 'k8sProbe absent (deleted)', k8sProbe('absent', { operation: 'absent', labelSelector: mine }), { status: 'Passed' });

    const [target] = live((await a.core.listNamespacedPod({ namespace: ns, labelSelector: `${APP_LABEL}=${app}` })).items);
    const cmd = (name: string, source: NonNullable<Extract<ProbeSpec, { type: 'cmdProbe' }>['cmd']['source']>): ProbeSpec => ({
      name,
      type: 'cmdProbe',
      mode: 'SOT',
      runProperties: rp({ probeTimeoutMs: 10_000 }),
      cmd: { command: 'echo ok', source, comparator: { type: 'string', criteria: 'equal', value: 'ok' } },
    });
    // kwok cannot exec: authorized, then "unable to upgrade connection" — an error, not a verdict
    const refused = { status: 'Failed' as const, failureKind: 'error' as const, reasonMatches: /unable to upgrade connection/ };
    await probeStep(ns, 'cmdProbe source by labelSelector', cmd('by-label', { namespace: ns, labelSelector: `${APP_LABEL}=${app}` }), refused);
    await probeStep(ns, 'cmdProbe source by pod name', cmd('by-name', { namespace: ns, pod: target.metadata!.name! }), refused);
    expect(problems).toEqual([]);
  }, 300_000);
});

describe('the audit log against deploy/rbac.yaml', () => {
  test('every grant was used, no request was denied, every request is covered by a grant', async () => {
    const rbac = loadRbac();
    const identities = new Set([WORKER_USER]);
    for (const u of identities) expect(rbac.bindings.has(u)).toBe(true);
    // bound in every target namespace, and nowhere else; the account itself lives in none of them
    expect([...rbac.bindings.get(WORKER_USER)!.keys()].sort()).toEqual(Object.keys(NAMESPACES).sort());
    for (const ns of Object.keys(NAMESPACES)) expect(WORKER_USER.startsWith(`system:serviceaccount:${ns}:`)).toBe(false);
    await auditFence(a.kc);
    await new Promise((r) => setTimeout(r, 500)); // a request answered just before the fence may still be writing its event
    const events = readAudit({ afterAuditId: startFence, credentialIds: jtis });
    expect(events.length).toBeGreaterThan(100);
    for (const e of events) expect(identities.has(e.user)).toBe(true);

    const count = new Map<Grant, number>(rbac.grants.map((g) => [g, 0]));
    const deniedEvents: string[] = [];
    const uncovered: string[] = [];
    const nonResource = new Map<string, number>();
    for (const e of events) {
      if (denied(e)) {
        deniedEvents.push(describeEvent(e));
        continue;
      }
      if (e.nonResourceURL) {
        // discovery (k8sProbe): the built-in system:discovery ClusterRole, not deploy/rbac.yaml
        const k = `${e.verb} ${e.nonResourceURL}`;
        nonResource.set(k, (nonResource.get(k) ?? 0) + 1);
        if (!/ClusterRole "system:discovery"/.test(e.reason ?? '')) uncovered.push(`${describeEvent(e)}: allowed by ${e.reason}`);
        continue;
      }
      const used = grantsUsedBy(e, rbac);
      if (!used.length) {
        uncovered.push(`${describeEvent(e)}: allowed by ${e.reason || '?'}`);
        continue;
      }
      // the authorizer's own word on which Role allowed it must agree with the expansion
      const by = /of Role "([^"]+)"/.exec(e.reason ?? '')?.[1];
      if (by && !used.some((g) => g.role === by && g.verb === e.verb))
        uncovered.push(
          `${describeEvent(e)}: the authorizer says Role ${by} allowed it, the expansion of deploy/rbac.yaml says ${used.map(grantName).join(', ')}`,
        );
      for (const g of new Set(used)) count.set(g, count.get(g)! + 1);
    }

    const rows = [...count].map(([g, n]) => [g.namespace, g.role, g.apiGroup || '""', g.resource, g.verb, String(n)]);
    const head = ['namespace', 'Role', 'apiGroup', 'resource', 'verb', 'requests'];
    const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
    const line = (r: string[]) => r.map((c, i) => (i === r.length - 1 ? c.padStart(w[i]) : c.padEnd(w[i]))).join('  ');
    console.log(
      [
        `deploy/rbac.yaml grants -> audited requests of ${jtis.size} tempest-worker tokens (${events.length} requests):`,
        line(head),
        ...rows.map(line),
        ...[...nonResource].map(([k, n]) => `non-resource (ClusterRole system:discovery): ${k} x${n}`),
        '(get pods/exec = the WebSocket exec request; create pods/exec = the check inside the exec handler of the same request)',
      ].join('\n'),
    );

    const unused = [...count].filter(([, n]) => n === 0).map(([g]) => grantName(g));
    expect({ unused, denied: deniedEvents, uncovered }).toEqual({ unused: [], denied: [], uncovered: [] });
  }, 60_000);

  test("a WebSocket exec needs both verbs on pods/exec: with get alone the exec handler's create check refuses it (403)", async () => {
    // Its own namespace, service account, Role and pod: nothing of deploy/rbac.yaml is touched.
    await a.core.createNamespace({ body: { metadata: { name: CONTROL_NS, labels: { [AUDIT_LABEL]: RUN } } } });
    await a.core.createNamespacedServiceAccount({ namespace: CONTROL_NS, body: { metadata: { name: 'exec-control' } } });
    const role = (verbs: string[]): k8s.V1Role => ({
      metadata: { name: 'exec-control', namespace: CONTROL_NS },
      rules: [
        { apiGroups: [''], resources: ['pods'], verbs: ['get'] },
        { apiGroups: [''], resources: ['pods/exec'], verbs },
      ],
    });
    const rbacApi = a.kc.makeApiClient(k8s.RbacAuthorizationV1Api);
    await rbacApi.createNamespacedRole({ namespace: CONTROL_NS, body: role(['get']) });
    await rbacApi.createNamespacedRoleBinding({
      namespace: CONTROL_NS,
      body: {
        metadata: { name: 'exec-control' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'exec-control' },
        subjects: [{ kind: 'ServiceAccount', name: 'exec-control', namespace: CONTROL_NS }],
      },
    });
    await a.core.createNamespacedPod({
      namespace: CONTROL_NS,
      body: { metadata: { name: 'target' }, spec: { containers: [{ name: 'c', image: 'registry.example/x:1' }] } },
    });
    await waitFor(
      'control pod Running',
      async () => (await a.core.readNamespacedPod({ name: 'target', namespace: CONTROL_NS })).status?.phase === 'Running',
      60_000,
    );

    const file = await saKubeconfig(CONTROL_NS, a, { namespace: CONTROL_NS, name: 'exec-control' });
    const jti = tokenJti(file);
    const p = createKubernetesPlatform(k8sConfig(file, { blastRadius: { allow: [{ namespace: CONTROL_NS }] } }), { execTimeoutMs: 10_000 });
    const exec = () =>
      p.execInPod({
        source: { namespace: CONTROL_NS, pod: 'target', container: 'c' },
        command: 'true',
        signal: new AbortController().signal,
        timeoutMs: 10_000,
      });
    const fence = await auditFence(a.kc);

    const getOnly = await exec().then(
      () => undefined,
      (e: { type?: string; message: string }) => e,
    );
    expect(getOnly?.type).toBe('Forbidden');
    await rbacApi.replaceNamespacedRole({ name: 'exec-control', namespace: CONTROL_NS, body: role(['get', 'create']) });
    // RBAC changes reach the authorizer's cache within moments
    const both = await waitFor(
      'exec authorized with get + create',
      async () => {
        const r = await exec().then(
          () => ({ type: 'ok', message: '' }),
          (e: { type?: string; message: string }) => e,
        );
        return r.type === 'Forbidden' ? false : r;
      },
      20_000,
      500,
    );
    expect(both).toMatchObject({ type: 'PlatformUnavailable', message: expect.stringMatching(/unable to upgrade connection/) });

    await auditFence(a.kc);
    const execs = readAudit({ afterAuditId: fence, credentialIds: [jti] }).filter((e) => e.resource === 'pods' && e.subresource === 'exec');
    // every exec request is logged as verb get and allowed by the authorization filter; the first was then refused
    // inside the exec handler (403, its create check); the last got through (101: the apiserver took the WebSocket
    // upgrade, and kwok's missing kubelet answered inside the stream)
    expect(execs.length).toBeGreaterThanOrEqual(2);
    expect(execs.map((e) => `${e.verb} ${e.decision}`)).toEqual(execs.map(() => 'get allow'));
    expect(execs[0].code).toBe(403);
    expect(execs[execs.length - 1].code).not.toBe(403);
  }, 120_000);
});
