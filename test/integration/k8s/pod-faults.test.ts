/**
 * pod-delete and container-kill on the real control plane, as tempest-worker: inject -> the API shows
 * it (pods deleted and recreated by the ReplicaSet; helper pods with the exact command; the ledger on the
 * Deployment and marks on touched pods) -> revert -> verified clean (ledger gone).
 * kwok runs no containers, so for container-kill's "restartCount went up" the test plays the kubelet by
 * patching pod statuses (which kwok leaves alone) and checks that verification waits for exactly that.
 */
import type { V1Pod } from '@kubernetes/client-node';
import { createKubernetesPlatform, type KubernetesPlatform } from '../../../activities/platform/kubernetes.js';
import { faultIds, type LedgerEntry } from '../../../activities/faults/kubernetes-common.js';
import {
  cleanupTestFiles,
  failureOf,
  faultRef,
  freshPods,
  injectReq,
  k8sConfig,
  k8sEngine,
  ledgerKeys,
  live,
  noCtx,
  ownerAnnotations,
  patchPodStatus,
  pods,
  saKubeconfig,
  seededCluster,
  waitFor,
  waitReady,
  type Admin,
} from '../../helpers/k8s.js';

let a: Admin;
let platform: KubernetesPlatform;

beforeAll(async () => {
  a = await seededCluster();
  platform = createKubernetesPlatform(k8sConfig(await saKubeconfig('footanalytics', a)), { verifyTimeoutMs: 30_000 });
}, 900_000);

afterAll(() => cleanupTestFiles());

const uids = (ps: V1Pod[]) => new Set(ps.map((p) => p.metadata!.uid!));
const ledgerOn = async (key: string): Promise<LedgerEntry | undefined> => {
  const raw = (await ownerAnnotations(a, 'api-gateway'))[key];
  return raw ? (JSON.parse(raw) as LedgerEntry) : undefined;
};

describe('pod-delete', () => {
  test('FORCE=true, PODS_AFFECTED_PERC=100: every pod deleted and recreated; a retried round is a no-op; revert verifies 3/3 and clears the ledger', async () => {
    const before = await freshPods(a, 'api-gateway');
    const spec = k8sEngine('api-gateway-chaos', 'api-gateway', 'pod-delete', {
      TOTAL_CHAOS_DURATION: '20',
      CHAOS_INTERVAL: '10',
      FORCE: 'true',
      PODS_AFFECTED_PERC: '100',
    });
    const ref = faultRef(spec);
    const { key } = faultIds(ref);

    const r0 = await platform.inject(injectReq(ref, 0), noCtx());
    expect(r0.alreadyDone).toBe(false);
    expect([...r0.affected].sort()).toEqual(before.map((p) => p.metadata!.name!).sort());
    expect(r0.detail).toContain('FORCE=true: grace 0 s');
    // the ledger, on the Deployment, in the local Ledger's shape
    const entry = await ledgerOn(key);
    expect(entry).toMatchObject({ fault: 'pod-delete', run: ref.runId, faultIndex: 0, rounds: { '0': r0.affected }, done: [0] });
    // the ReplicaSet replaced all three
    const after = await waitReady(a, 'api-gateway');
    for (const u of uids(after)) expect(uids(before).has(u)).toBe(false);

    // the same round again (an activity retry): nothing more is deleted
    const again = await platform.inject(injectReq(ref, 0), noCtx());
    expect(again).toMatchObject({ alreadyDone: true, detail: 'round already done' });
    expect(uids(live(await pods(a, 'api-gateway')))).toEqual(uids(after));

    const rv = await platform.revert(ref, noCtx());
    expect(rv.undone).toEqual([]);
    expect(rv.verification).toMatch(/deployment\/api-gateway 3\/3 ready; 3 ready pod\(s\) listed; ledger clean/);
    expect(await ledgerKeys(a, 'api-gateway', faultIds(ref).key)).toEqual([]);
  });

  test('FORCE=false, SEQUENCE=serial, two rounds of two pods: each round deletes live pods one after another with its own grace period', async () => {
    await freshPods(a, 'api-gateway');
    const spec = k8sEngine('api-gateway-chaos', 'api-gateway', 'pod-delete', {
      TOTAL_CHAOS_DURATION: '20',
      CHAOS_INTERVAL: '10',
      FORCE: 'false',
      SEQUENCE: 'serial',
      PODS_AFFECTED_PERC: '67',
    });
    const ref = faultRef(spec);
    const r0 = await platform.inject(injectReq(ref, 0), noCtx());
    expect(r0.affected).toHaveLength(2);
    expect(r0.detail).toContain("the pod's own grace period");
    await waitReady(a, 'api-gateway');
    const r1 = await platform.inject(injectReq(ref, 1), noCtx());
    expect(r1.affected).toHaveLength(2);
    for (const n of r1.affected) expect(r0.affected).not.toContain(n); // round 1 chose among the replacements
    const entry = await ledgerOn(faultIds(ref).key);
    expect(Object.keys(entry!.rounds)).toEqual(['0', '1']);
    expect(entry!.done).toEqual([0, 1]);
    const rv = await platform.revert(ref, noCtx());
    expect(rv.verification).toContain('3/3 ready');
    expect(await ledgerKeys(a, 'api-gateway', faultIds(ref).key)).toEqual([]);
  });

  test('TARGET_PODS that are not running: refused before anything is deleted', async () => {
    const before = await waitReady(a, 'api-gateway');
    const spec = k8sEngine('api-gateway-chaos', 'api-gateway', 'pod-delete', { TOTAL_CHAOS_DURATION: '20', TARGET_PODS: 'api-gateway-nope' });
    const ref = faultRef(spec);
    const f = await failureOf(platform.inject(injectReq(ref), noCtx()));
    expect(f).toMatchObject({ type: 'TargetNotFound' });
    expect(f.message).toContain('none of TARGET_PODS (api-gateway-nope) is running');
    expect(uids(live(await pods(a, 'api-gateway')))).toEqual(uids(before));
    await platform.revert(ref, noCtx());
    expect(await ledgerKeys(a, 'api-gateway', faultIds(ref).key)).toEqual([]);
  });
});

describe('container-kill', () => {
  const helpersOf = async (id: string) => (await a.core.listNamespacedPod({ namespace: 'footanalytics', labelSelector: `tempest.io/fault-id=${id}` })).items;

  test('helper mode (default): a helper pod per target on its node, socket mounted, the exact crictl command, dead-man deadline; revert deletes them, ledger clean', async () => {
    const before = await freshPods(a, 'api-gateway');
    const spec = k8sEngine('api-gateway-chaos', 'api-gateway', 'container-kill', {
      TOTAL_CHAOS_DURATION: '20',
      CHAOS_INTERVAL: '10',
      CONTAINER_RUNTIME: 'containerd',
      SOCKET_PATH: '/run/containerd/containerd.sock',
      PODS_AFFECTED_PERC: '100',
    });
    const ref = faultRef(spec);
    const { id, key } = faultIds(ref);
    const r0 = await platform.inject(injectReq(ref, 0, 90_000), noCtx());
    expect([...r0.affected].sort()).toEqual(before.map((p) => p.metadata!.name!).sort());
    const helpers = await helpersOf(id);
    expect(helpers).toHaveLength(3);
    for (const h of helpers) {
      const target = before.find((p) => p.metadata!.uid === h.metadata!.ownerReferences![0].uid)!;
      expect(target).toBeDefined();
      expect(h.metadata!.name).toMatch(new RegExp(`^tempest-ck-${id}-r0-\\d$`));
      expect(h.metadata!.labels).toMatchObject({ 'app.kubernetes.io/managed-by': 'tempest', 'tempest.io/fault': 'container-kill', 'tempest.io/round': '0' });
      expect(JSON.parse(h.metadata!.annotations![key])).toMatchObject({ run: ref.runId, faultIndex: 0 });
      expect(h.spec!.nodeName).toBe(target.spec!.nodeName);
      expect(h.spec!.restartPolicy).toBe('Never');
      expect(h.spec!.activeDeadlineSeconds).toBeGreaterThanOrEqual(85);
      expect(h.spec!.activeDeadlineSeconds).toBeLessThanOrEqual(91);
      expect(h.spec!.volumes).toEqual([{ name: 'cri-socket', hostPath: { path: '/run/containerd/containerd.sock', type: 'Socket' } }]);
      const c = h.spec!.containers[0];
      expect(c.image).toBe('docker.io/litmuschaos/go-runner:3.16.0');
      expect(c.volumeMounts).toEqual([{ name: 'cri-socket', mountPath: '/run/containerd/containerd.sock' }]);
      // kwok reports no container ids, so the helper finds the container by its CRI labels: a constant script,
      // every value in its env (nothing from YAML spliced into shell text)
      expect(c.command!.slice(0, 2)).toEqual(['sh', '-c']);
      expect(c.command![2]).toContain(
        'crictl -r "$TEMPEST_SOCK" ps -q --state running --label "io.kubernetes.pod.uid=$TEMPEST_POD_UID" --name "^$TEMPEST_CONTAINER$"',
      );
      expect(Object.fromEntries((c.env ?? []).map((e) => [e.name, e.value]))).toEqual({
        TEMPEST_SOCK: 'unix:///run/containerd/containerd.sock',
        TEMPEST_POD_UID: target.metadata!.uid,
        TEMPEST_CONTAINER: 'api-gateway',
        TEMPEST_POD: `footanalytics/${target.metadata!.name}`,
        TEMPEST_SIGNAL: 'SIGKILL',
      });
      // the touched pod carries the mark
      const p = await a.core.readNamespacedPod({ name: target.metadata!.name!, namespace: 'footanalytics' });
      expect(JSON.parse(p.metadata!.annotations![key])).toMatchObject({ run: ref.runId, fault: 'container-kill' });
    }
    // round 1, and round 1 again: one more set of helpers, not two
    await platform.inject(injectReq(ref, 1, 80_000), noCtx());
    expect((await platform.inject(injectReq(ref, 1, 80_000), noCtx())).alreadyDone).toBe(true);
    expect(await helpersOf(id)).toHaveLength(6);

    const rv = await platform.revert(ref, noCtx());
    expect(rv.undone).toHaveLength(6);
    for (const u of rv.undone) expect(u).toMatch(/^deleted helper pod tempest-ck-.* \(helper (Running|Pending)\)$/);
    expect(rv.verification).toContain('6 helper pod(s) created, 0 ran to completion, all deleted');
    expect(rv.verification).toContain('3/3 ready');
    expect(await helpersOf(id)).toEqual([]);
    expect(await ledgerKeys(a, 'api-gateway', faultIds(ref).key)).toEqual([]);
  });

  test('helper mode with a container id in the status: exactly `crictl -r unix://<socket> stop <id>`; verify waits until restartCount went up and the container is ready (the test plays the kubelet)', async () => {
    const [target] = live(await freshPods(a, 'api-gateway'));
    const name = target.metadata!.name!;
    await patchPodStatus(a, 'footanalytics', name, {
      containerStatuses: [
        {
          name: 'api-gateway',
          containerID: 'containerd://0123abcd',
          restartCount: 0,
          ready: true,
          image: 'registry.example/api-gateway:1.0',
          imageID: '',
          state: { running: { startedAt: new Date() } },
        },
      ],
    });
    const spec = k8sEngine('api-gateway-chaos', 'api-gateway', 'container-kill', {
      TOTAL_CHAOS_DURATION: '20',
      CHAOS_INTERVAL: '10',
      TARGET_PODS: name,
      SOCKET_PATH: '/run/k3s/containerd/containerd.sock',
    });
    const ref = faultRef(spec);
    const { id } = faultIds(ref);
    // a socket the operator has not listed is refused; this worker lists k3s's
    const f = await failureOf(platform.inject(injectReq(ref, 0), noCtx()));
    expect(f.message).toContain('SOCKET_PATH /run/k3s/containerd/containerd.sock is not one of the runtime sockets');
    const k3s = createKubernetesPlatform(
      k8sConfig(await saKubeconfig('footanalytics', a), {
        platform: {
          driver: 'kubernetes',
          kubernetes: { kubeconfig: await saKubeconfig('footanalytics', a), runtimeSockets: ['/run/k3s/containerd/containerd.sock'] },
        },
      }),
      { verifyTimeoutMs: 30_000 },
    );
    await k3s.inject(injectReq(ref, 0), noCtx());
    const [helper] = await helpersOf(id);
    expect(helper.spec!.containers[0].command).toEqual(['crictl', '-r', 'unix:///run/k3s/containerd/containerd.sock', 'stop', '0123abcd']);

    // the kubelet ran the helper: it succeeded...
    await patchPodStatus(a, 'footanalytics', helper.metadata!.name!, {
      phase: 'Succeeded',
      containerStatuses: [
        { name: 'container-kill', restartCount: 0, ready: false, image: 'x', imageID: '', state: { terminated: { exitCode: 0, reason: 'Completed' } } },
      ],
    });
    await waitFor(
      'helper Succeeded',
      async () => (await a.core.readNamespacedPod({ name: helper.metadata!.name!, namespace: 'footanalytics' })).status?.phase === 'Succeeded',
    );
    // ...but the target has not restarted yet: not clean
    const quick = createKubernetesPlatform(k8sConfig(await saKubeconfig('footanalytics', a)), { verifyTimeoutMs: 2000 });
    const notYet = await failureOf(quick.revert(ref, noCtx()));
    expect(notYet.type).toBe('NotYetClean');
    expect(notYet.message).toContain(`${name}/api-gateway: restarts 0 -> 0`);
    // the ledger kept the helper's outcome although the helper pod is deleted now
    expect(await helpersOf(id)).toEqual([]);
    expect(await ledgerKeys(a, 'api-gateway', faultIds(ref).key)).toContain(`deployment:${faultIds(ref).key}`);

    // the container restarted and is ready again: clean
    await patchPodStatus(a, 'footanalytics', name, {
      containerStatuses: [
        {
          name: 'api-gateway',
          containerID: 'containerd://4567ef01',
          restartCount: 1,
          ready: true,
          image: 'registry.example/api-gateway:1.0',
          imageID: '',
          state: { running: { startedAt: new Date() } },
          lastState: { terminated: { exitCode: 137, reason: 'Error' } },
        },
      ],
    });
    const rv = await platform.revert(ref, noCtx());
    expect(rv.verification).toContain('1 helper pod(s) created, 1 ran to completion, all deleted');
    expect(rv.verification).toContain(`${name}/api-gateway: restarts 0 -> 1, ready`);
    expect(await ledgerKeys(a, 'api-gateway', faultIds(ref).key)).toEqual([]);
  });

  test('exec mode (CHAOS_MODE=exec): kwok cannot exec, so the round fails typed and retryable, nothing is recorded as done, revert is clean', async () => {
    const before = await freshPods(a, 'api-gateway');
    const spec = k8sEngine('api-gateway-chaos', 'api-gateway', 'container-kill', { TOTAL_CHAOS_DURATION: '20', CHAOS_INTERVAL: '10', CHAOS_MODE: 'exec' });
    const ref = faultRef(spec);
    const { id, key } = faultIds(ref);
    const f = await failureOf(platform.inject(injectReq(ref, 0), noCtx()));
    expect(f.type).toBe('PlatformUnavailable');
    expect(f.nonRetryable).toBe(false);
    expect(f.message).toMatch(
      /exec in footanalytics\/api-gateway-\S+\/api-gateway could not run \(kill 1\): 500 InternalError: .*unable to upgrade connection/,
    );
    // intent was written before acting, but no round is done and no kill has an outcome
    const entry = await ledgerOn(key);
    expect(entry!.done).toEqual([]);
    const kills = (entry!.data as { kills: Record<string, { command: string[]; mode: string; outcome?: string }[]> }).kills['0'];
    expect(kills).toHaveLength(1);
    expect(kills[0]).toMatchObject({ mode: 'exec', command: ['kill', '1'] });
    expect(kills[0].outcome).toBeUndefined();
    expect(await helpersOf(id)).toEqual([]);
    // nothing was killed
    expect(uids(live(await pods(a, 'api-gateway')))).toEqual(uids(before));

    const rv = await platform.revert(ref, noCtx());
    expect(rv.undone).toEqual([]);
    expect(rv.verification).toContain('3/3 ready');
    expect(await ledgerKeys(a, 'api-gateway', faultIds(ref).key)).toEqual([]);
  });

  test('an unknown CHAOS_MODE never gets past the loader; a crafted one is refused at preflight', async () => {
    expect(() => k8sEngine('api-gateway-chaos', 'api-gateway', 'container-kill', { TOTAL_CHAOS_DURATION: '20', CHAOS_MODE: 'ssh' })).toThrow(
      /CHAOS_MODE must be one of helper, exec/,
    );
    const spec = k8sEngine('api-gateway-chaos', 'api-gateway', 'container-kill', { TOTAL_CHAOS_DURATION: '20' });
    (spec.faults[0].params as Record<string, unknown>).chaosMode = 'ssh';
    const f = await failureOf(platform.preflight(spec));
    expect(f).toMatchObject({ type: 'FaultRefused', nonRetryable: true });
    expect(f.message).toContain('CHAOS_MODE must be helper or exec');
  });

  test("SIGNAL 'KILL; touch x #' (the reported escape) and every shell metacharacter are refused at validate time; a crafted spec at preflight", async () => {
    for (const bad of ['KILL; touch x #', 'KILL && id', '$(id)', '`id`', 'KILL|sh', "KILL'", 'KILL\nid']) {
      expect(() => k8sEngine('api-gateway-chaos', 'api-gateway', 'container-kill', { TOTAL_CHAOS_DURATION: '20', SIGNAL: bad })).toThrow(
        /SIGNAL must be one of SIGKILL, SIGTERM/,
      );
    }
    for (const bad of ['/run/containerd.sock; id', '/run/../etc/shadow', 'relative.sock']) {
      expect(() => k8sEngine('api-gateway-chaos', 'api-gateway', 'container-kill', { TOTAL_CHAOS_DURATION: '20', SOCKET_PATH: bad })).toThrow(
        /SOCKET_PATH must be an absolute socket path/,
      );
    }
    const spec = k8sEngine('api-gateway-chaos', 'api-gateway', 'container-kill', { TOTAL_CHAOS_DURATION: '20' });
    (spec.faults[0].params as Record<string, unknown>).signal = 'KILL; touch x #';
    const f = await failureOf(platform.preflight(spec));
    expect(f).toMatchObject({ type: 'FaultRefused', nonRetryable: true });
    expect(f.message).toContain('SIGNAL');
  });
});
