/**
 * model-corruption on the real control plane, as the worker's service account (tempest-system/tempest-worker), against the seed's
 * ml-pipeline. The driver works by exec in the target container, which kwok cannot run: the refusal must be
 * clean (typed, retryable, naming the pod, container and the API server's answer) at preflight and at the
 * prepare step, and NOTHING may be recorded as injected (the read-only fingerprint comes before any ledger write;
 * an inject without the workflow's prepared record touches nothing).
 */
import { createKubernetesPlatform, type KubernetesPlatform } from '../../../activities/platform/kubernetes.js';
import { faultIds } from '../../../activities/faults/kubernetes-common.js';
import {
  failureOf,
  faultRef,
  injectReq,
  k8sConfig,
  k8sEngine,
  ledgerKeys,
  noCtx,
  pods,
  saKubeconfig,
  waitReady,
  type Admin,
  cleanupTestFiles,
  seededCluster,
} from '../../helpers/k8s.js';

let a: Admin;
let ai: KubernetesPlatform;

beforeAll(async () => {
  a = await seededCluster();
  ai = createKubernetesPlatform(k8sConfig(await saKubeconfig('ai-processing', a)), { verifyTimeoutMs: 10_000 });
}, 900_000);

afterAll(() => cleanupTestFiles());

const seedFault = () =>
  k8sEngine('ml-pipeline-model-chaos', 'ml-pipeline', 'model-corruption', {
    TOTAL_CHAOS_DURATION: '180',
    FILE_PATH: '/models/football_analysis_v2.pth',
    CORRUPTION_TYPE: 'random_bytes',
  });

test('preflight: FILE_PATH is checked by exec in the target container; kwok refuses exec -> typed, retryable, names pod/container and the reason', async () => {
  const [pod] = await waitReady(a, 'ml-pipeline');
  const f = await failureOf(ai.preflight(seedFault()));
  expect(f.type).toBe('PlatformUnavailable');
  expect(f.nonRetryable).toBe(false);
  expect(f.message).toContain(`exec in ai-processing/${pod.metadata!.name}/ml-pipeline could not run`);
  expect(f.message).toContain('readlink -f'); // the read-only fingerprint (realpath inside the roots, then sha256sum)
  expect(f.message).toMatch(/500 InternalError: .*unable to upgrade connection/);
  expect(f.details?.[0]).toMatchObject({ status: 500, verb: 'create', resource: 'pods/exec', namespace: 'ai-processing' });
});

test('prepare: the read-only fingerprint fails first, so no ledger, no pod mark, nothing corrupted; an inject without the prepared record touches nothing; revert is clean', async () => {
  const spec = seedFault();
  const ref = faultRef(spec);
  const { key } = faultIds(ref);
  const before = (await pods(a, 'ml-pipeline')).map((p) => p.metadata!.uid);
  const f = await failureOf(ai.prepare!(ref, noCtx()));
  expect(f.type).toBe('PlatformUnavailable');
  expect(f.message).toMatch(/exec in ai-processing\/ml-pipeline-\S+\/ml-pipeline could not run/);
  const g = await failureOf(ai.inject(injectReq(ref), noCtx()));
  expect(g).toMatchObject({ type: 'FaultRefused', nonRetryable: true });
  expect(g.message).toContain('no prepared record');
  expect(await ledgerKeys(a, 'ml-pipeline', key)).toEqual([]); // nothing recorded as injected, anywhere
  expect((await pods(a, 'ml-pipeline')).map((p) => p.metadata!.uid)).toEqual(before);
  const rv = await ai.revert(ref, noCtx());
  expect(rv.undone).toEqual([]);
  expect(rv.verification).toBe('nothing was corrupted (no prepared record); ledger clean');
});

test('a relative or ".." FILE_PATH never gets past the loader; a crafted one, or none inside the roots, is refused before any exec', async () => {
  expect(() => k8sEngine('m', 'ml-pipeline', 'model-corruption', { TOTAL_CHAOS_DURATION: '60', FILE_PATH: 'models/x.pth' })).toThrow(
    /FILE_PATH must be an absolute path/,
  );
  expect(() => k8sEngine('m', 'ml-pipeline', 'model-corruption', { TOTAL_CHAOS_DURATION: '60', FILE_PATH: '/models/../etc/shadow' })).toThrow(
    /FILE_PATH must be an absolute path without/,
  );
  const spec = k8sEngine('m', 'ml-pipeline', 'model-corruption', { TOTAL_CHAOS_DURATION: '60', FILE_PATH: '/models/x.pth' });
  spec.faults[0].params.filePath = 'models/x.pth';
  const f = await failureOf(ai.preflight(spec));
  expect(f).toMatchObject({ type: 'FaultRefused', nonRetryable: true });
  expect(f.message).toContain('FILE_PATH must be an absolute path');
  const noRoots = createKubernetesPlatform(k8sConfig(await saKubeconfig('ai-processing', a), { files: { corruptionRoots: [] } }), { verifyTimeoutMs: 10_000 });
  const g = await failureOf(noRoots.preflight(seedFault()));
  expect(g.message).toContain('declares no files.corruptionRoots');
});

// ---------------------------------------------------------------- the operator's limit, and a record that is not trusted

test('prepare chooses at most limits.maxTargetPods pods: more is refused (typed, non-retryable) before any exec, never cut', async () => {
  const gw = await waitReady(a, 'api-gateway');
  expect(gw.length).toBe(3);
  const foot = await saKubeconfig('footanalytics', a);
  const spec = k8sEngine('api-gateway-model-chaos', 'api-gateway', 'model-corruption', {
    TOTAL_CHAOS_DURATION: '60',
    FILE_PATH: '/models/football_analysis_v2.pth',
    PODS_AFFECTED_PERC: '100',
  });
  const ref = faultRef(spec);
  const limited = createKubernetesPlatform(k8sConfig(foot, { limits: { maxTargetPods: 2 } }), { verifyTimeoutMs: 10_000 });
  const f = await failureOf(limited.prepare!(ref, noCtx()));
  expect(f).toMatchObject({ type: 'FaultRefused', nonRetryable: true });
  expect(f.message).toContain('would affect 3 pods, more than limits.maxTargetPods (2)');
  // the same request under a limit that allows three goes on to the read-only fingerprint (which kwok cannot exec)
  const roomy = createKubernetesPlatform(k8sConfig(foot, { limits: { maxTargetPods: 3 } }), { verifyTimeoutMs: 10_000 });
  const g = await failureOf(roomy.prepare!(ref, noCtx()));
  expect(g.type).toBe('PlatformUnavailable');
  expect(await ledgerKeys(a, 'api-gateway', faultIds(ref).key)).toEqual([]);
});

describe('a prepared record from history or a crafted request is re-checked on every call, before any exec', () => {
  const record = (pod: { metadata?: { name?: string; uid?: string } }, over: Record<string, unknown>) => ({
    mode: 'exec',
    pods: {
      [pod.metadata!.name!]: {
        uid: pod.metadata!.uid!,
        container: 'ml-pipeline',
        file: '/models/football_analysis_v2.pth',
        sha256: 'a'.repeat(64),
        size: 1024,
        ...over,
      },
    },
  });

  test.each<[string, Record<string, unknown>, RegExp]>([
    [
      'a file outside files.corruptionRoots',
      { file: '/etc/shadow' },
      /the prepared record names \/etc\/shadow in ml-pipeline-\S+, not inside files\.corruptionRoots of .* \(\/models\); refusing to touch any file/,
    ],
    ['a device outside the roots', { file: '/dev/zero' }, /the prepared record names \/dev\/zero in ml-pipeline-\S+, not inside files\.corruptionRoots/],
    [
      'a root-prefixed sibling folder',
      { file: '/models-private/key.pem' },
      /the prepared record names \/models-private\/key\.pem in ml-pipeline-\S+, not inside files\.corruptionRoots/,
    ],
    [
      "another container than the fault's target container",
      { container: 'istio-proxy' },
      /names container istio-proxy in ml-pipeline-\S+, not the fault's target container ml-pipeline; refusing to touch any file/,
    ],
  ])('%s: inject is refused without writing a ledger; revert refuses (NotYetClean) and clears nothing', async (_what, over, message) => {
    const [pod] = await waitReady(a, 'ml-pipeline');
    const spec = seedFault();
    const ref = { ...faultRef(spec), prepared: record(pod, over) };
    const { key } = faultIds(ref);
    const f = await failureOf(ai.inject(injectReq(ref), noCtx()));
    expect(f).toMatchObject({ type: 'FaultRefused', nonRetryable: true });
    expect(f.message).toMatch(message);
    expect(await ledgerKeys(a, 'ml-pipeline', key)).toEqual([]); // refused before the ledger intent (the pre-change inject wrote it, then exec'd)
    const g = await failureOf(ai.revert(ref, noCtx()));
    expect(g.type).toBe('NotYetClean'); // not PlatformUnavailable: no exec was attempted with that record
    expect(g.message).toMatch(message);
  });

  test("a record inside the roots, for the fault's own container, still reaches the in-container checks (kwok cannot exec them)", async () => {
    const [pod] = await waitReady(a, 'ml-pipeline');
    const ref = { ...faultRef(seedFault()), prepared: record(pod, {}) };
    const g = await failureOf(ai.revert(ref, noCtx()));
    expect(g.type).toBe('PlatformUnavailable');
    expect(g.message).toContain(`exec in ai-processing/${pod.metadata!.name}/ml-pipeline could not run`);
  });
});
