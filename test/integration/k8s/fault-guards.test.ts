/**
 * What the Kubernetes fault drivers refuse, and what they believe, on the real control plane (kwok nodes), as
 * the worker's shipped identity. Each group is a fix with the behaviour the old code got wrong:
 *
 *   limits.maxTargetPods   every driver (pod-delete, container-kill, the ephemeral faults) refuses a selection, or
 *                          a retried round's ledger, naming more pods than the worker's limit: nothing is touched.
 *   host namespaces        a network fault on a hostNetwork pod is a fault on the node's network; a process fault
 *                          (stress, kill) in a hostPID pod reaches every process of the node; memory faults also
 *                          refuse hostIPC. Refused at preflight and again at inject (the pod may have been replaced).
 *   gpu-memory-hog         only the target container's own GPUs: a `nvidia.com/gpu` limit is required, the devices
 *                          are the ones the kubelet reports for the container, NVIDIA_VISIBLE_DEVICES is never `all`.
 *   the ledger is a hint   a ledger that is not JSON, or that lies (uids, undo lists, undo modes, kill records), can
 *                          neither stop a revert for ever nor make it skip a fault the live pod still carries.
 *
 * The workloads are this file's own Deployments (tempest-guard-*), so the seed's are left to the other suites.
 */
import type { V1Container, V1Deployment, V1EphemeralContainer, V1Pod, V1PodSpec } from '@kubernetes/client-node';
import * as k8s from '@kubernetes/client-node';
import { createKubernetesPlatform, type KubernetesPlatform } from '../../../activities/platform/kubernetes.js';
import { GPU_HOG_SCRIPT } from '../../../activities/faults/gpu-memory-hog/kubernetes.js';
import { faultIds, type EphemeralRecord, type LedgerEntry } from '../../../activities/faults/kubernetes-common.js';
import { loadText } from '../../../config/load.js';
import type { ExperimentSpec } from '../../../config/spec.js';
import type { FaultRef } from '../../../activities/types.js';
import { engineYaml } from '../../helpers/engines.js';
import {
  apply,
  cleanupTestFiles,
  failureOf,
  faultRef,
  injectReq,
  k8sConfig,
  k8sEngine,
  noCtx,
  patchPodStatus,
  saKubeconfig,
  seededCluster,
  waitFor,
  type Admin,
} from '../../helpers/k8s.js';

const FOOT = 'footanalytics';
const AI = 'ai-processing';
const PAIR = 'tempest-guard-pair';
const HOSTNET = 'tempest-guard-hostnet';
const HOSTPID = 'tempest-guard-hostpid';
const HOSTIPC = 'tempest-guard-hostipc';
const SWAP = 'tempest-guard-swap';
const GPU = 'tempest-guard-gpu';
const GPU_A = 'GPU-0a1b2c3d-0000-4000-8000-00000000000a';
const GPU_B = 'GPU-0a1b2c3d-0000-4000-8000-00000000000b';

let a: Admin;
let node: string;
let foot: KubernetesPlatform;
let footOne: KubernetesPlatform;
let ai: KubernetesPlatform;
const created: Array<{ ns: string; name: string }> = [];

// ---------------------------------------------------------------- workloads of this file

function deployment(ns: string, name: string, replicas: number, pod: Partial<V1PodSpec> = {}, container: Partial<V1Container> = {}): V1Deployment {
  const labels = { 'app.kubernetes.io/name': name };
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: ns, labels },
    spec: {
      replicas,
      selector: { matchLabels: labels },
      template: {
        metadata: { labels },
        spec: { terminationGracePeriodSeconds: 0, ...pod, containers: [{ name: 'app', image: 'registry.example/guard:1.0', ...container }] },
      },
    },
  };
}

async function podsOf(ns: string, name: string): Promise<V1Pod[]> {
  return (await a.core.listNamespacedPod({ namespace: ns, labelSelector: `app.kubernetes.io/name=${name}` })).items;
}

/** Applied and whole: status caught up, exactly `replicas` running pods and no others. */
async function workload(d: V1Deployment): Promise<V1Pod[]> {
  const ns = d.metadata!.namespace!;
  const name = d.metadata!.name!;
  if (!created.some((c) => c.ns === ns && c.name === name)) created.push({ ns, name });
  await apply(a, d as k8s.KubernetesObject);
  const want = d.spec!.replicas!;
  return waitFor(
    `${ns}/${name} whole`,
    async () => {
      const o = await a.apps.readNamespacedDeployment({ name, namespace: ns });
      const st = o.status ?? {};
      if ((st.observedGeneration ?? 0) < (o.metadata?.generation ?? 0) || st.updatedReplicas !== want || st.readyReplicas !== want || st.replicas !== want)
        return false;
      const ps = await podsOf(ns, name);
      return ps.length === want && ps.every((p) => p.status?.phase === 'Running' && !p.metadata?.deletionTimestamp) ? ps : false;
    },
    90_000,
  );
}

/** A rollout: brand-new pods (no ephemeral containers, marks or patched statuses from an earlier test). */
async function fresh(d: V1Deployment): Promise<V1Pod[]> {
  const copy = structuredClone(d);
  copy.spec!.template!.metadata!.annotations = { 'tempest-tests/restartedAt': `${Date.now()}-${Math.random()}` };
  return workload(copy);
}

function engine(ns: string, app: string, fault: string, env: Record<string, string>): ExperimentSpec {
  const [doc] = loadText(engineYaml(`${app}-${fault}`, ns, app, fault, { TOTAL_CHAOS_DURATION: '60', ...env }, '', '            []'), `${app}-${fault}.yaml`);
  return (doc as { experiment: ExperimentSpec }).experiment;
}

async function annotationsOf(ns: string, name: string): Promise<Record<string, string>> {
  return (await a.apps.readNamespacedDeployment({ name, namespace: ns })).metadata?.annotations ?? {};
}

async function setLedger(ns: string, name: string, key: string, value: string | null): Promise<void> {
  await a.apps.patchNamespacedDeployment(
    { name, namespace: ns, body: { metadata: { annotations: { [key]: value } } } },
    k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
  );
}

async function ledgerOf(ns: string, name: string, key: string): Promise<LedgerEntry | undefined> {
  const raw = (await annotationsOf(ns, name))[key];
  return raw ? (JSON.parse(raw) as LedgerEntry) : undefined;
}

/** Where the key is: on the Deployment and on its pods. */
async function keysOf(ns: string, name: string, key: string): Promise<string[]> {
  const out = key in (await annotationsOf(ns, name)) ? [`deployment/${name}`] : [];
  for (const p of await podsOf(ns, name)) if (p.metadata?.annotations?.[key]) out.push(`pod/${p.metadata.name}`);
  return out;
}

async function readPod(ns: string, name: string): Promise<V1Pod> {
  return a.core.readNamespacedPod({ name, namespace: ns });
}
const ephemeralNames = (p: V1Pod) => (p.spec?.ephemeralContainers ?? []).map((e) => e.name);
const ephemeral = (p: V1Pod, name: string): V1EphemeralContainer | undefined => p.spec?.ephemeralContainers?.find((e) => e.name === name);
const envOf = (c: V1EphemeralContainer) => Object.fromEntries((c.env ?? []).map((e) => [e.name, e.value]));

async function helperPods(ns: string, id: string): Promise<V1Pod[]> {
  return (await a.core.listNamespacedPod({ namespace: ns, labelSelector: `tempest.io/fault-id=${id}` })).items;
}

/** The pods as they are: same uids, nothing added, no mark, no helper, no ledger. */
async function untouched(ns: string, name: string, before: V1Pod[], ref: FaultRef): Promise<void> {
  const { key, id } = faultIds(ref);
  const now = await podsOf(ns, name);
  expect(now.map((p) => p.metadata!.uid).sort()).toEqual(before.map((p) => p.metadata!.uid).sort());
  for (const p of now)
    expect(ephemeralNames(p)).toEqual(before.find((b) => b.metadata!.uid === p.metadata!.uid)!.spec?.ephemeralContainers?.map((e) => e.name) ?? []);
  expect(await helperPods(ns, id)).toEqual([]);
  expect(await keysOf(ns, name, key)).toEqual([]);
}

/** The ephemeral-container faults, with the env each needs here. */
const EPHEMERAL: Array<[string, Record<string, string>]> = [
  ['pod-cpu-hog', { CPU_CORES: '1' }],
  ['pod-memory-hog', { MEMORY_CONSUMPTION: '64' }],
  ['pod-network-latency', { NETWORK_LATENCY: '100' }],
  ['pod-network-loss', { NETWORK_PACKET_LOSS_PERCENTAGE: '10' }],
];

// ---------------------------------------------------------------- suite

beforeAll(async () => {
  a = await seededCluster();
  node = (await a.core.listNode()).items[0].metadata!.name!;
  const footCfg = await saKubeconfig(FOOT, a);
  foot = createKubernetesPlatform(k8sConfig(footCfg), { verifyTimeoutMs: 15_000, execTimeoutMs: 10_000 });
  footOne = createKubernetesPlatform(k8sConfig(footCfg, { limits: { maxTargetPods: 1 } }), { verifyTimeoutMs: 15_000, execTimeoutMs: 10_000 });
  ai = createKubernetesPlatform(k8sConfig(await saKubeconfig(AI, a)), { verifyTimeoutMs: 15_000, execTimeoutMs: 10_000 });
}, 900_000);

afterAll(async () => {
  cleanupTestFiles();
  for (const { ns, name } of created)
    await a.apps.deleteNamespacedDeployment({ name, namespace: ns, gracePeriodSeconds: 0, propagationPolicy: 'Background' }).catch(() => undefined);
}, 120_000);

describe('limits.maxTargetPods: refused by every Kubernetes fault, nothing touched', () => {
  test('a policy with maxTargetPods 1 and two matching pods: preflight and inject refuse each fault with FaultRefused; pods, containers, helpers, ledger untouched', async () => {
    const before = await fresh(deployment(FOOT, PAIR, 2));
    const faults: Array<[string, Record<string, string>]> = [
      ['pod-delete', { FORCE: 'true' }],
      ['container-kill', {}],
      ['container-kill', { CHAOS_MODE: 'exec' }],
      ...EPHEMERAL,
    ];
    for (const [fault, env] of faults) {
      for (const sel of [{ PODS_AFFECTED_PERC: '100' }, { TARGET_PODS: before.map((p) => p.metadata!.name!).join(',') }] as Record<string, string>[]) {
        const spec = engine(FOOT, PAIR, fault, { ...env, ...sel });
        const ref = faultRef(spec);
        const pf = await failureOf(footOne.preflight(spec));
        expect(pf).toMatchObject({ type: 'FaultRefused', nonRetryable: true });
        expect(pf.message).toContain('would affect 2 pods, more than limits.maxTargetPods (1)');
        const inj = await failureOf(footOne.inject(injectReq(ref), noCtx()));
        expect(inj).toMatchObject({ type: 'FaultRefused', nonRetryable: true });
        expect(inj.message).toContain('more than limits.maxTargetPods (1)');
        await untouched(FOOT, PAIR, before, ref);
      }
    }
    // one pod is within the limit
    const one = engine(FOOT, PAIR, 'pod-cpu-hog', { CPU_CORES: '1', PODS_AFFECTED_PERC: '50' });
    await footOne.preflight(one);
  });

  test('a retried round whose ledger was rewritten to name both pods: refused, nothing deleted or added', async () => {
    const before = await fresh(deployment(FOOT, PAIR, 2));
    const names = before.map((p) => p.metadata!.name!);
    for (const [fault, data] of [
      ['pod-delete', { uids: Object.fromEntries(before.map((p) => [p.metadata!.name!, p.metadata!.uid!])) }],
      ['pod-cpu-hog', { mode: 'ephemeral', pods: {} }],
      [
        'container-kill',
        {
          kills: {
            '0': before.map((p) => ({ pod: p.metadata!.name!, uid: p.metadata!.uid!, container: 'app', restartsBefore: 0, mode: 'helper', command: [] })),
          },
        },
      ],
    ] as const) {
      const ref = faultRef(engine(FOOT, PAIR, fault, { TARGET_PODS: names[0] }));
      const { key } = faultIds(ref);
      const forged = { fault, run: ref.runId, faultIndex: 0, rounds: { '0': names }, done: [], expiresAt: new Date(Date.now() + 60_000).toISOString(), data };
      await setLedger(FOOT, PAIR, key, JSON.stringify(forged));
      const f = await failureOf(footOne.inject(injectReq(ref), noCtx()));
      expect(f).toMatchObject({ type: 'FaultRefused' });
      expect(f.message).toContain('names 2 pods, more than limits.maxTargetPods (1)');
      await setLedger(FOOT, PAIR, key, null);
      await untouched(FOOT, PAIR, before, ref);
    }
  });
});

describe("pods in the node's namespaces", () => {
  test('network faults on a hostNetwork pod: refused at preflight and at inject, naming the pod and spec.hostNetwork; nothing added', async () => {
    const [pod] = await fresh(deployment(FOOT, HOSTNET, 1, { hostNetwork: true }));
    const name = pod.metadata!.name!;
    for (const fault of ['pod-network-latency', 'pod-network-loss']) {
      const spec = engine(FOOT, HOSTNET, fault, {});
      const ref = faultRef(spec);
      const pf = await failureOf(foot.preflight(spec));
      expect(pf).toMatchObject({ type: 'FaultRefused', nonRetryable: true });
      expect(pf.message).toContain(`${fault}: pod ${FOOT}/${name} has spec.hostNetwork: true`);
      expect(pf.message).toContain("changes the NODE's network");
      const inj = await failureOf(foot.inject(injectReq(ref), noCtx()));
      expect(inj.type).toBe('FaultRefused');
      expect(inj.message).toContain(`pod ${FOOT}/${name} has spec.hostNetwork: true`);
      await untouched(FOOT, HOSTNET, [pod], ref);
    }
    // a CPU hog there stays inside the pod's own processes: allowed
    await foot.preflight(engine(FOOT, HOSTNET, 'pod-cpu-hog', { CPU_CORES: '1' }));
  });

  test('stress and kill faults in a hostPID pod: refused at preflight and inject (container-kill in both modes), naming spec.hostPID; nothing added, no helper pod', async () => {
    const [pod] = await fresh(deployment(FOOT, HOSTPID, 1, { hostPID: true }));
    const name = pod.metadata!.name!;
    for (const [fault, env] of [
      ['pod-cpu-hog', { CPU_CORES: '1' }],
      ['pod-memory-hog', { MEMORY_CONSUMPTION: '64' }],
      ['container-kill', {}],
      ['container-kill', { CHAOS_MODE: 'exec' }],
    ] as const) {
      const spec = engine(FOOT, HOSTPID, fault, env);
      const ref = faultRef(spec);
      const pf = await failureOf(foot.preflight(spec));
      expect(pf).toMatchObject({ type: 'FaultRefused', nonRetryable: true });
      expect(pf.message).toContain(`${fault}: pod ${FOOT}/${name} has spec.hostPID: true`);
      expect(pf.message).toContain('reaches every process on the node');
      const inj = await failureOf(foot.inject(injectReq(ref), noCtx()));
      expect(inj.type).toBe('FaultRefused');
      expect(inj.message).toContain('spec.hostPID: true');
      await untouched(FOOT, HOSTPID, [pod], ref);
    }
    // the pod's network is its own: a network fault is allowed
    await foot.preflight(engine(FOOT, HOSTPID, 'pod-network-latency', {}));
  });

  test('a memory hog in a hostIPC pod: refused (spec.hostIPC); a CPU hog is not', async () => {
    const [pod] = await fresh(deployment(FOOT, HOSTIPC, 1, { hostIPC: true }));
    const spec = engine(FOOT, HOSTIPC, 'pod-memory-hog', { MEMORY_CONSUMPTION: '64' });
    const ref = faultRef(spec);
    const pf = await failureOf(foot.preflight(spec));
    expect(pf.type).toBe('FaultRefused');
    expect(pf.message).toContain(`pod ${FOOT}/${pod.metadata!.name} has spec.hostIPC: true`);
    expect((await failureOf(foot.inject(injectReq(ref), noCtx()))).message).toContain('spec.hostIPC: true');
    await untouched(FOOT, HOSTIPC, [pod], ref);
    await foot.preflight(engine(FOOT, HOSTIPC, 'pod-cpu-hog', { CPU_CORES: '1' }));
  });

  test('the pod replaced between preflight and inject by one with hostNetwork: inject refuses on its own; so does a retried round naming it', async () => {
    const plain = deployment(FOOT, SWAP, 1);
    await fresh(plain);
    const spec = engine(FOOT, SWAP, 'pod-network-latency', {});
    await foot.preflight(spec); // fine: an ordinary pod
    const [pod] = await fresh(deployment(FOOT, SWAP, 1, { hostNetwork: true }));
    const name = pod.metadata!.name!;
    const ref = faultRef(spec);
    const f = await failureOf(foot.inject(injectReq(ref), noCtx()));
    expect(f.type).toBe('FaultRefused');
    expect(f.message).toContain(`pod ${FOOT}/${name} has spec.hostNetwork: true`);
    await untouched(FOOT, SWAP, [pod], ref);
    // a round whose intent was recorded (by an earlier attempt) for this pod name
    const retry = faultRef(spec);
    const { key } = faultIds(retry);
    await setLedger(
      FOOT,
      SWAP,
      key,
      JSON.stringify({
        fault: 'pod-network-latency',
        run: retry.runId,
        faultIndex: 0,
        rounds: { '0': [name] },
        done: [],
        expiresAt: new Date(Date.now() + 60_000).toISOString(),
      }),
    );
    const g = await failureOf(foot.inject(injectReq(retry), noCtx()));
    expect(g.type).toBe('FaultRefused');
    expect(g.message).toContain('spec.hostNetwork: true');
    expect(ephemeralNames(await readPod(FOOT, name))).toEqual([]);
    await setLedger(FOOT, SWAP, key, null);
  });
});

describe("gpu-memory-hog: the target container's own GPUs, never all of the node's", () => {
  test('a target container without a nvidia.com/gpu limit: refused at preflight and inject, nothing added', async () => {
    const spec = k8sEngine('ml-gpu', 'ml-pipeline', 'gpu-memory-hog', { TOTAL_CHAOS_DURATION: '60', GPU_MEMORY_PERCENTAGE: '50' });
    const pf = await failureOf(ai.preflight(spec));
    expect(pf).toMatchObject({ type: 'FaultRefused', nonRetryable: true });
    expect(pf.message).toMatch(/gpu-memory-hog: container ml-pipeline of pod ai-processing\/ml-pipeline-\S+ has no nvidia\.com\/gpu limit/);
    const before = await podsOf(AI, 'ml-pipeline');
    const ref = faultRef(spec);
    expect((await failureOf(ai.inject(injectReq(ref), noCtx()))).message).toContain('has no nvidia.com/gpu limit');
    const { id } = faultIds(ref);
    for (const p of await podsOf(AI, 'ml-pipeline')) expect(ephemeralNames(p).filter((n) => n.includes(id))).toEqual([]);
    expect((await podsOf(AI, 'ml-pipeline')).map((p) => p.metadata!.uid)).toEqual(before.map((p) => p.metadata!.uid));
  });

  test('a GPU limit but no device the kubelet reports for the container: refused (which GPUs are its own cannot be told)', async () => {
    const [pod] = await fresh(deployment(AI, GPU, 1, { nodeName: node }, { resources: { limits: { 'nvidia.com/gpu': '1' } } }));
    const spec = engine(AI, GPU, 'gpu-memory-hog', {});
    const pf = await failureOf(ai.preflight(spec));
    expect(pf.type).toBe('FaultRefused');
    expect(pf.message).toContain(`the kubelet reports no nvidia.com/gpu device for container app of pod ${AI}/${pod.metadata!.name}`);
    const ref = faultRef(spec);
    expect((await failureOf(ai.inject(injectReq(ref), noCtx()))).type).toBe('FaultRefused');
    await untouched(AI, GPU, [pod], ref);
  });

  test("the kubelet reports the container's GPU: NVIDIA_VISIBLE_DEVICES is exactly it (default and `all`); a GPU that is not its own, or an index, is refused", async () => {
    const [pod] = await fresh(deployment(AI, GPU, 1, { nodeName: node }, { resources: { limits: { 'nvidia.com/gpu': '1' } } }));
    const name = pod.metadata!.name!;
    // the kubelet's report (a time-slicing replica of GPU A)
    await patchPodStatus(a, AI, name, {
      containerStatuses: [
        {
          name: 'app',
          restartCount: 0,
          ready: true,
          image: 'registry.example/guard:1.0',
          imageID: '',
          state: { running: { startedAt: new Date() } },
          allocatedResourcesStatus: [{ name: 'nvidia.com/gpu', resources: [{ resourceID: `${GPU_A}::3`, health: 'Healthy' }] }],
        },
      ],
    });
    for (const bad of [GPU_B, `${GPU_A},${GPU_B}`, '0']) {
      const f = await failureOf(ai.preflight(engine(AI, GPU, 'gpu-memory-hog', { GPU_VISIBLE_DEVICES: bad })));
      expect(f.type).toBe('FaultRefused');
      expect(f.message).toContain(`not among the GPUs allocated to container app of pod ${AI}/${name} (${GPU_A})`);
    }
    for (const env of [{}, { GPU_VISIBLE_DEVICES: 'all' }, { GPU_VISIBLE_DEVICES: GPU_A }] as Record<string, string>[]) {
      const spec = engine(AI, GPU, 'gpu-memory-hog', { GPU_MEMORY_PERCENTAGE: '80', ...env });
      await ai.preflight(spec);
      const ref = faultRef(spec);
      const { id, key } = faultIds(ref);
      await ai.inject(injectReq(ref, 0, 90_000), noCtx());
      const c = ephemeral(await readPod(AI, name), `tempest-gpu-${id}`)!;
      expect(c.targetContainerName).toBe('app');
      expect(c.image).toBe('docker.io/pytorch/pytorch:2.4.0-cuda12.1-cudnn9-runtime');
      expect(c.command).toEqual(['python3', '-c', GPU_HOG_SCRIPT]);
      expect(Number(envOf(c).TEMPEST_SECONDS)).toBeGreaterThanOrEqual(87);
      expect(envOf(c)).toMatchObject({ NVIDIA_VISIBLE_DEVICES: GPU_A, GPU_MEMORY_PERCENTAGE: '80', TEMPEST_FAULT: id });
      const rv = await ai.revert(ref, noCtx());
      expect(rv.verification).toContain('ledger clean');
      expect(await keysOf(AI, GPU, key)).toEqual([]);
    }
  });
});

describe('the ledger is a hint: the live pods decide what a revert does', () => {
  /** pod-cpu-hog (or another ephemeral fault) injected into one pod of the pair. */
  async function injected(fault: string, env: Record<string, string>) {
    const [target] = await fresh(deployment(FOOT, PAIR, 2));
    const name = target.metadata!.name!;
    const ref = faultRef(engine(FOOT, PAIR, fault, { TARGET_PODS: name, ...env }));
    const { id, key } = faultIds(ref);
    await foot.inject(injectReq(ref, 0, 90_000), noCtx());
    return { ref, id, key, name, uid: target.metadata!.uid! };
  }

  test('a ledger that is not JSON: the revert still finds the fault container by its run-derived name, undoes it and clears the key (it used to refuse for ever)', async () => {
    const { ref, id, key, name } = await injected('pod-cpu-hog', { CPU_CORES: '1' });
    await setLedger(FOOT, PAIR, key, '{"fault": "pod-cpu-hog", "data": {"mode": "ephem');
    const rv = await foot.revert(ref, noCtx());
    expect(rv.undone).toEqual([`${name}: tempest-undo-${id}-1 kills TEMPEST_FAULT=${id}`]);
    expect(rv.verification).toContain(`the ledger on deployment/${PAIR} was not a readable entry (ignored: the live pods decided)`);
    expect(rv.verification).toContain('ledger clean');
    expect(ephemeralNames(await readPod(FOOT, name)).sort()).toEqual([`tempest-cpu-${id}`, `tempest-undo-${id}-1`]);
    expect(await keysOf(FOOT, PAIR, key)).toEqual([]);
  });

  test('a ledger that lies about the pod (another uid, an undo container that was never added): the undo goes onto the live pod that carries the fault', async () => {
    const { ref, id, key, name, uid } = await injected('pod-memory-hog', { MEMORY_CONSUMPTION: '64' });
    const other = (await podsOf(FOOT, PAIR)).find((p) => p.metadata!.name !== name)!;
    const entry = (await ledgerOf(FOOT, PAIR, key))!;
    const rec = entry.data as unknown as EphemeralRecord;
    expect(rec.pods[name].uid).toBe(uid);
    rec.pods[name].uid = '00000000-0000-4000-8000-000000000000'; // "pod replaced": the old code skipped it
    rec.pods[name].undo = [`tempest-undo-${id}-1`]; // "an undo is on it": the old code added none
    rec.pods[name].undoMode = 'ephemeral';
    // and a pod the run never touched, named with its real uid: nothing may be added to it
    rec.pods[other.metadata!.name!] = { uid: other.metadata!.uid!, container: `tempest-mem-${id}`, target: 'app', image: 'x', command: [], undo: [] };
    entry.rounds['0'] = [name, other.metadata!.name!];
    await setLedger(FOOT, PAIR, key, JSON.stringify(entry));
    const rv = await foot.revert(ref, noCtx());
    expect(rv.undone).toEqual([`${name}: tempest-undo-${id}-1 kills TEMPEST_FAULT=${id}`]);
    expect(ephemeral(await readPod(FOOT, name), `tempest-undo-${id}-1`)?.targetContainerName).toBe('app');
    expect(ephemeralNames(await readPod(FOOT, other.metadata!.name!))).toEqual([]);
    expect(rv.verification).toContain(`${other.metadata!.name}: fault container was never added`);
    expect(await keysOf(FOOT, PAIR, key)).toEqual([]);
  });

  test('netem: a ledger claiming the exec revert already removed netem is not believed: the revert tries for itself (exec refused on kwok) and adds the undo container', async () => {
    const { ref, id, key, name } = await injected('pod-network-latency', { NETWORK_LATENCY: '200' });
    const entry = (await ledgerOf(FOOT, PAIR, key))!;
    const rec = entry.data as unknown as EphemeralRecord;
    Object.assign(rec.pods[name], { undoMode: 'exec', execObserved: 'qdisc noqueue 0: root refcnt 2' });
    await setLedger(FOOT, PAIR, key, JSON.stringify(entry));
    const rv = await foot.revert(ref, noCtx());
    expect(rv.undone).toEqual([`${name}: tempest-undo-${id}-1 (tc qdisc del dev eth0 root)`]);
    expect(rv.verification).not.toContain('tc qdisc show ->');
    expect(rv.verification).toContain(`undo tempest-undo-${id}-1 added after exec was refused`);
    expect(ephemeral(await readPod(FOOT, name), `tempest-undo-${id}-1`)).toBeDefined();
    expect(await keysOf(FOOT, PAIR, key)).toEqual([]);
  });

  test('pod-delete and container-kill: a ledger that is JSON but not an entry (no uids, no kills, rounds a string) never throws the revert for ever', async () => {
    await fresh(deployment(FOOT, PAIR, 2));
    for (const [fault, env, forged] of [
      ['pod-delete', { FORCE: 'true' }, { fault: 'pod-delete', rounds: 'x', done: 7, data: { uids: null } }],
      ['container-kill', {}, { fault: 'container-kill', data: {} }],
      ['container-kill', {}, { data: { kills: { '0': [null, 5, { pod: 1 }] } } }],
      ['pod-cpu-hog', { CPU_CORES: '1' }, [1, 2, 3]],
    ] as const) {
      const ref = faultRef(engine(FOOT, PAIR, fault, { ...env, PODS_AFFECTED_PERC: '50' }));
      const { key, id } = faultIds(ref);
      await foot.inject(injectReq(ref, 0, 90_000), noCtx());
      await waitFor(
        `${PAIR} whole again`,
        async () => (await podsOf(FOOT, PAIR)).filter((p) => p.status?.phase === 'Running' && !p.metadata?.deletionTimestamp).length === 2,
      );
      await setLedger(FOOT, PAIR, key, JSON.stringify(forged));
      const rv = await foot.revert(ref, noCtx());
      expect(rv.verification).toContain('ledger clean');
      expect(await keysOf(FOOT, PAIR, key)).toEqual([]);
      expect(await helperPods(FOOT, id)).toEqual([]);
    }
  });
});
