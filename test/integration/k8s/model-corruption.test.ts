/**
 * model-corruption on the real control plane, as ai-processing's chaos-service-account, against the seed's
 * ml-pipeline. The driver works by exec in the target container, which kwok cannot run: the refusal must be
 * clean (typed, retryable, naming the pod, container and the API server's answer) at preflight and at
 * injection, and NOTHING may be recorded as injected (the read-only checksum comes before any ledger write).
 */
import { createKubernetesPlatform, type KubernetesPlatform } from '../../../activities/platform/kubernetes.js';
import { faultIds } from '../../../activities/faults/kubernetes-common.js';
import { failureOf, faultRef, injectReq, k8sConfig, k8sEngine, ledgerKeys, noCtx, pods, saKubeconfig, waitReady, type Admin, cleanupTestFiles, seededCluster } from '../../helpers/k8s.js';

let a: Admin;
let ai: KubernetesPlatform;

beforeAll(async () => {
  a = await seededCluster();
  ai = createKubernetesPlatform(k8sConfig(await saKubeconfig('ai-processing', a)), { verifyTimeoutMs: 10_000 });
}, 900_000);

afterAll(() => cleanupTestFiles());

const seedFault = () =>
  k8sEngine('ml-pipeline-model-chaos', 'ml-pipeline', 'model-corruption', { TOTAL_CHAOS_DURATION: '180', FILE_PATH: '/models/football_analysis_v2.pth', CORRUPTION_TYPE: 'random_bytes' });

test('preflight: FILE_PATH is checked by exec in the target container; kwok refuses exec -> typed, retryable, names pod/container and the reason', async () => {
  const [pod] = await waitReady(a, 'ml-pipeline');
  const f = await failureOf(ai.preflight(seedFault()));
  expect(f.type).toBe('PlatformUnavailable');
  expect(f.nonRetryable).toBe(false);
  expect(f.message).toContain(`exec in ai-processing/${pod.metadata!.name}/ml-pipeline could not run`);
  expect(f.message).toContain('sha256sum');
  expect(f.message).toMatch(/500 InternalError: .*unable to upgrade connection/);
  expect(f.details?.[0]).toMatchObject({ status: 500, verb: 'create', resource: 'pods/exec', namespace: 'ai-processing' });
});

test('inject: the read-only checksum fails first, so no ledger, no pod mark, nothing corrupted; revert is clean', async () => {
  const spec = seedFault();
  const ref = faultRef(spec);
  const { key } = faultIds(ref);
  const before = (await pods(a, 'ml-pipeline')).map((p) => p.metadata!.uid);
  const f = await failureOf(ai.inject(injectReq(ref), noCtx()));
  expect(f.type).toBe('PlatformUnavailable');
  expect(f.message).toMatch(/exec in ai-processing\/ml-pipeline-\S+\/ml-pipeline could not run/);
  expect(await ledgerKeys(a, 'ml-pipeline', key)).toEqual([]); // nothing recorded as injected, anywhere
  expect((await pods(a, 'ml-pipeline')).map((p) => p.metadata!.uid)).toEqual(before);
  const rv = await ai.revert(ref, noCtx());
  expect(rv.undone).toEqual([]);
  expect(rv.verification).toBe('nothing was corrupted (no backup was ever recorded); ledger clean');
});

test('a relative FILE_PATH is refused before any exec', async () => {
  const spec = k8sEngine('m', 'ml-pipeline', 'model-corruption', { TOTAL_CHAOS_DURATION: '60', FILE_PATH: 'models/x.pth' });
  const f = await failureOf(ai.preflight(spec));
  expect(f).toMatchObject({ type: 'FaultRefused', nonRetryable: true });
  expect(f.message).toContain('FILE_PATH must be an absolute path');
});
