/**
 * The blast radius's label selector and the worker's own namespace, on the Kubernetes platform, against the real
 * API server (scripts/k8s-up, kwok nodes):
 *
 * - cmdProbe `source` in a namespace the policy restricts to a selector: a pod by name is read from the API and
 *   its LIVE labels must fall inside the allowed selector (a relabelled pod is refused at the next exec); a
 *   source selector must be contained in the allowed one. Checked by execInPod itself, and by the probe activity
 *   for a crafted request that never went through the loader.
 * - the worker's namespace (injected here; POD_NAMESPACE or the service account file in a pod): no fault,
 *   rollback action or cmdProbe reaches it through `*`; listed by its exact name, it is reachable.
 *
 * kwok has no kubelet, so an exec the policy lets through ends in "unable to upgrade connection" (the API server
 * accepted it): that is how "allowed" looks here. Each run works in its own namespace, deleted at the end.
 */
import * as k8s from '@kubernetes/client-node';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createKubernetesPlatform, type KubernetesPlatform } from '../../../activities/platform/kubernetes.js';
import { createProbeActivities, type ProbeContext, type ProbeOutcome } from '../../../activities/probes/index.js';
import type { ExecInPod } from '../../../activities/probes/types.js';
import type { ExperimentSpec, ProbeSpec } from '../../../config/spec.js';
import { ADMIN_KUBECONFIG, admin, ensureCluster, failureOf, faultRef, injectReq, k8sConfig, k8sEngine, noCtx, waitFor, type Admin } from '../../helpers/k8s.js';

const RUN = Math.random().toString(36).slice(2, 8);
const NS = `tempest-radius-${RUN}`;
const LABEL = 'tempest-tests/radius-run';
const ctx: ProbeContext = { runId: `radius-${RUN}`, phase: 'SOT', iteration: 0 };
const UPGRADE = /unable to upgrade connection/; // the API server took the exec; kwok's missing kubelet answered

let a: Admin;

const pod = (name: string, labels: Record<string, string>): k8s.V1Pod => ({
  metadata: { name, labels: { [LABEL]: RUN, ...labels } },
  spec: { containers: [{ name: 'c', image: 'registry.example/x:1' }] },
});

function exec(p: KubernetesPlatform, source: Parameters<ExecInPod>[0]['source']) {
  return failureOf(p.execInPod({ source, command: 'cat /etc/secret/db-password', signal: new AbortController().signal, timeoutMs: 10_000 }));
}

function restrictedPlatform(workerNamespace: string | null = null): KubernetesPlatform {
  return createKubernetesPlatform(
    k8sConfig(ADMIN_KUBECONFIG, { blastRadius: { allow: [{ namespace: NS, selector: 'app=api' }] } }),
    { execTimeoutMs: 10_000 },
    { workerNamespace },
  );
}

beforeAll(async () => {
  ensureCluster();
  a = admin();
  await a.core.createNamespace({ body: { metadata: { name: NS, labels: { [LABEL]: RUN } } } });
  await a.apps.createNamespacedDeployment({
    namespace: NS,
    body: {
      metadata: { name: 'api', labels: { app: 'api' } },
      spec: {
        replicas: 1,
        selector: { matchLabels: { app: 'api' } },
        template: { metadata: { labels: { app: 'api' } }, spec: { containers: [{ name: 'api', image: 'registry.example/api:1.0' }] } },
      },
    },
  });
  // Bare pods: one the policy does not allow (it holds the secrets), one whose labels a test changes.
  await a.core.createNamespacedPod({ namespace: NS, body: pod('db-1', { app: 'db' }) });
  await a.core.createNamespacedPod({ namespace: NS, body: pod('chameleon', { app: 'api', role: 'chameleon' }) });
  await waitFor(
    'pods Running',
    async () => {
      const ps = (await a.core.listNamespacedPod({ namespace: NS })).items;
      return ps.length === 3 && ps.every((p) => p.status?.phase === 'Running');
    },
    90_000,
  );
}, 900_000);

afterAll(async () => {
  if (a) await a.core.deleteNamespace({ name: NS }).catch(() => undefined);
}, 60_000);

describe('cmdProbe source in a namespace restricted to app=api', () => {
  test('a pod named directly: its labels are read from the API; app=db is refused, app=api reaches the exec', async () => {
    const p = restrictedPlatform();
    const db = await exec(p, { namespace: NS, pod: 'db-1', container: 'c' });
    expect(db.type).toBe('FaultRefused');
    expect(db.message).toBe(
      `cmdProbe source: pod ${NS}/db-1 (labels: app=db,${LABEL}=${RUN}) is outside the blast radius (blastRadius.allow of ${k8sConfigSource(p)} allows in ${NS} only app=api)`,
    );
    const api = (await a.core.listNamespacedPod({ namespace: NS, labelSelector: 'app=api,!role' })).items[0].metadata!.name!;
    expect(await exec(p, { namespace: NS, pod: api })).toMatchObject({ type: 'PlatformUnavailable', message: expect.stringMatching(UPGRADE) });
  });

  test('the LIVE labels at exec time: a pod relabelled out of the selector is refused at its next exec', async () => {
    const p = restrictedPlatform();
    expect(await exec(p, { namespace: NS, pod: 'chameleon', container: 'c' })).toMatchObject({
      type: 'PlatformUnavailable',
      message: expect.stringMatching(UPGRADE),
    });
    await a.core.patchNamespacedPod(
      { name: 'chameleon', namespace: NS, body: { metadata: { labels: { app: 'db' } } } },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
    );
    const after = await exec(p, { namespace: NS, pod: 'chameleon', container: 'c' });
    expect(after).toMatchObject({ type: 'FaultRefused', message: expect.stringContaining(`pod ${NS}/chameleon (labels: `) });
    expect(after.message).toContain('app=db');
  });

  test("only the pod's own containers: an ephemeral container (like Tempest's NET_ADMIN netem container) or a made-up name is refused before any exec", async () => {
    const p = restrictedPlatform();
    const api = (await a.core.listNamespacedPod({ namespace: NS, labelSelector: 'app=api,!role' })).items[0].metadata!.name!;
    const eph = `debug-${RUN}`;
    await a.core.patchNamespacedPodEphemeralcontainers(
      {
        name: api,
        namespace: NS,
        body: { spec: { ephemeralContainers: [{ name: eph, image: 'registry.example/x:1', securityContext: { capabilities: { add: ['NET_ADMIN'] } } }] } },
      },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.StrategicMergePatch),
    );
    for (const container of [eph, 'nonexistent']) {
      const f = await exec(p, { namespace: NS, pod: api, container });
      expect([container, f.type]).toEqual([container, 'FaultRefused']);
      expect(f.message).toBe(
        `cmdProbe source: container ${container} is not one of pod ${NS}/${api}'s own containers (api): a cmdProbe runs only in the pod's spec.containers, never in an ephemeral or init container`,
      );
    }
    expect(await exec(p, { namespace: NS, pod: api, container: 'api' })).toMatchObject({
      type: 'PlatformUnavailable',
      message: expect.stringMatching(UPGRADE),
    });
  });

  test('a source selector must be contained in the allowed one', async () => {
    const p = restrictedPlatform();
    for (const sel of ['app=db', 'app in (api,db)', `${LABEL}=${RUN}`]) {
      const f = await exec(p, { namespace: NS, labelSelector: sel });
      expect([sel, f.type]).toEqual([sel, 'FaultRefused']);
      expect(f.message).toMatch(
        /^cmdProbe source: labelSelector .* selects pods outside the blast radius \(blastRadius\.allow of .* allows in tempest-radius-\w+ only app=api\)$/,
      );
    }
    expect(await exec(p, { namespace: NS, labelSelector: 'app=api,!role' })).toMatchObject({
      type: 'PlatformUnavailable',
      message: expect.stringMatching(UPGRADE),
    });
  });

  test('through the probe activity, with a crafted probe the loader never saw: refused, with the reason', async () => {
    const cfg = k8sConfig(ADMIN_KUBECONFIG, { blastRadius: { allow: [{ namespace: NS, selector: 'app=api' }] } });
    const p = createKubernetesPlatform(cfg, { execTimeoutMs: 10_000 }, { workerNamespace: null });
    const run = (source: NonNullable<Extract<ProbeSpec, { type: 'cmdProbe' }>['cmd']['source']>) =>
      new MockActivityEnvironment().run(
        createProbeActivities({ k8s: p.clients.kc, execInPod: p.execInPod, policy: cfg.policy, workerNamespace: null }).runProbe,
        {
          name: 'steal',
          type: 'cmdProbe',
          mode: 'SOT',
          runProperties: { probeTimeoutMs: 15_000, intervalMs: 100, attempts: 1, pollingIntervalMs: 1000, initialDelayMs: 0, stopOnFailure: false },
          cmd: { command: 'cat /etc/secret/db-password', source, comparator: { type: 'string', criteria: 'contains', value: 'x' } },
        } satisfies ProbeSpec,
        ctx,
      ) as Promise<ProbeOutcome>;
    const byName = await run({ namespace: NS, pod: 'db-1' });
    expect(byName).toMatchObject({ status: 'Failed', failureKind: 'error' });
    expect(byName.reason).toContain(`pod ${NS}/db-1 (labels: app=db,${LABEL}=${RUN}) is outside the blast radius`);
    const bySelector = await run({ namespace: NS, labelSelector: 'app=db' });
    expect(bySelector).toMatchObject({ status: 'Failed', failureKind: 'error', attempts: 0 }); // refused before any API call
    expect(bySelector.reason).toBe(
      `refused by the worker's policy: source.labelSelector "app=db" selects pods outside the blast radius: blastRadius.allow of ${cfg.policy.source} allows in ${NS} only app=api`,
    );
  });
});

describe("the worker's own namespace (injected): nothing reaches it through *", () => {
  const spec = (): ExperimentSpec => {
    const s = k8sEngine('radius-chaos', 'api-gateway', 'pod-delete', { TOTAL_CHAOS_DURATION: '10' });
    return { ...s, engineNamespace: NS, target: { namespace: NS, labelSelector: 'app=api', kind: 'deployment' } };
  };
  const star = (workerNamespace: string | null, allow: Array<{ namespace: string }> = [{ namespace: '*' }]) =>
    createKubernetesPlatform(k8sConfig(ADMIN_KUBECONFIG, { blastRadius: { allow } }), { execTimeoutMs: 10_000 }, { workerNamespace });
  const OWN = `namespace ${NS} is the worker's own namespace: nothing may target it unless blastRadius.allow of`;

  test('faults (preflight, prepare, inject), rollback actions and cmdProbe source are refused; the pods are untouched', async () => {
    const p = star(NS);
    const s = spec();
    const before = (await a.core.listNamespacedPod({ namespace: NS, labelSelector: 'app=api' })).items.map((x) => x.metadata!.uid).sort();
    for (const [what, call] of [
      ['preflight', () => p.preflight(s)],
      ['inject', () => p.inject(injectReq(faultRef(s)), noCtx())],
      ['prepare', () => p.prepare!(faultRef(s), noCtx())],
      ['scale', () => p.scale(s.target, 0)],
      ['restartPod', () => p.restartPod(s.target, 'chameleon')],
      ['workload', () => p.workload(s.target)],
      [
        'execInPod',
        () => p.execInPod({ source: { namespace: NS, labelSelector: 'app=api' }, command: 'id', signal: new AbortController().signal, timeoutMs: 5000 }),
      ],
    ] as const) {
      const f = await failureOf((call as () => Promise<unknown>)());
      expect([what, f.type, f.message]).toEqual([what, 'FaultRefused', expect.stringContaining(OWN)]);
    }
    expect((await a.core.listNamespacedPod({ namespace: NS, labelSelector: 'app=api' })).items.map((x) => x.metadata!.uid).sort()).toEqual(before);
    expect((await a.apps.readNamespacedDeployment({ name: 'api', namespace: NS })).spec?.replicas).toBe(1);
  });

  test('another worker namespace, or this one listed by its exact name: the same calls reach the cluster', async () => {
    expect(await star('tempest-system').preflight(spec())).toMatchObject({
      platform: 'kubernetes',
      targets: expect.arrayContaining([expect.stringMatching(/^api-/)]),
    });
    const warned: string[] = [];
    const warn = console.warn;
    console.warn = (m: string) => void warned.push(m);
    try {
      const listed = star(NS, [{ namespace: '*' }, { namespace: NS }]);
      expect(warned).toEqual([expect.stringContaining(`lists ${NS}, the namespace this worker runs in`)]);
      expect(await listed.preflight(spec())).toMatchObject({ platform: 'kubernetes' });
      expect(await exec(listed, { namespace: NS, pod: 'db-1', container: 'c' })).toMatchObject({
        type: 'PlatformUnavailable',
        message: expect.stringMatching(UPGRADE),
      });
    } finally {
      console.warn = warn;
    }
  });
});

function k8sConfigSource(p: KubernetesPlatform): string {
  return p.policy.source;
}
