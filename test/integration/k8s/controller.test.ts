/**
 * The Kubernetes front door (`tempest controller`, workers/controller/) against the real API server and the real
 * Temporal dev server, driven with kubectl as a Litmus user drives Litmus:
 *  - two controller PROCESSES as tempest-system/tempest-controller (deploy/controller-rbac.yaml, a TokenRequest
 *    token — never admin): one Lease holder acts; the leader SIGKILLed mid-run, the other takes over, no run twice;
 *  - a worker PROCESS as tempest-system/tempest-worker does the chaos (deploy/rbac.yaml);
 *  - the seed's api-gateway engine applied unchanged: its pods are really deleted and recreated, the ChaosResult
 *    says Pass with the probe percentage, `kubectl get chaosengine -A` says completed;
 *  - `kubectl delete` mid-chaos: the object stays (finalizer) until the run is closed and its faults verified;
 *  - `engineState: stop`: aborted and reverted, verdict Stopped;
 *  - an invalid engine, one outside the blast radius, one aimed at another namespace: a condition and an Event
 *    naming the field, nothing started;
 *  - the seed's ChaosSchedule: a Temporal Schedule exists while the object does.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { Client, Connection, ScheduleNotFoundError, WorkflowNotFoundError } from '@temporalio/client';
import type { ExperimentResult } from '../../../activities/types.js';
import { faultIds } from '../../../activities/faults/kubernetes-common.js';
import { ROOT } from '../../helpers/temporal.js';
import { engineYaml, healthProbe } from '../../helpers/engines.js';
import {
  ADMIN_KUBECONFIG,
  cleanupTestFiles,
  k8sConfig,
  ledgerKeys,
  live,
  pods,
  saKubeconfig,
  seededCluster,
  waitFor,
  waitReady,
  type Admin,
} from '../../helpers/k8s.js';
import { killWorkerProcesses, outputOf, sigkill, startControllerProcess, startWorkerProcess } from '../../helpers/worker-process.js';
import { readAudit } from '../../helpers/audit.js';

const CONTROLLER_SA = { namespace: 'tempest-system', name: 'tempest-controller' };
const CONTROLLER_USER = `system:serviceaccount:${CONTROLLER_SA.namespace}:${CONTROLLER_SA.name}`;
const OUTSIDE = 'tenant-outside';

let a: Admin;
let custom: k8s.CustomObjectsApi;
let coordination: k8s.CoordinationV1Api;
let connection: Connection;
let client: Client;
let gateway: http.Server;
let kubectlBin = '';
let cfgFile = '';
let controllerKubeconfig = '';
let leaseName = '';
const controllers = new Map<string, ChildProcess>();
const tmp = mkdtempSync(join(tmpdir(), 'tempest-controller-'));

const kubectl = (...args: string[]) => {
  const r = spawnSync(kubectlBin, ['--kubeconfig', ADMIN_KUBECONFIG, ...args], { encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
};
const applyText = (name: string, text: string) => {
  const f = join(tmp, `${name}.yaml`);
  writeFileSync(f, text);
  const r = kubectl('apply', '-f', f);
  expect(r).toMatchObject({ code: 0 });
  return f;
};

type Obj = {
  metadata: { name: string; namespace: string; uid: string; deletionTimestamp?: string; finalizers?: string[] };
  spec?: Record<string, unknown>;
  status?: Record<string, any>;
};
const get = async (plural: string, namespace: string, name: string): Promise<Obj | undefined> => {
  try {
    const group = ['chaoshypotheses', 'progressivechaoses', 'gamedays'].includes(plural) ? 'tempest.io' : 'litmuschaos.io';
    return (await custom.getNamespacedCustomObject({ group, version: 'v1alpha1', plural, namespace, name })) as Obj;
  } catch (e) {
    if ((e as { code?: number }).code === 404) return undefined;
    throw e;
  }
};
const engineStatus = async (ns: string, name: string) => (await get('chaosengines', ns, name))?.status ?? {};
/** The controller's Events on the object of that name that exists now (Events outlive their object: an earlier run's engine of the same name has its own uid). */
async function events(ns: string, name: string, uid?: string): Promise<k8s.CoreV1Event[]> {
  const u = uid ?? (await get('chaosengines', ns, name))?.metadata.uid ?? lastUid.get(`${ns}/${name}`);
  if (u) lastUid.set(`${ns}/${name}`, u);
  const l = await a.core.listNamespacedEvent({ namespace: ns, fieldSelector: `involvedObject.name=${name}` });
  return l.items.filter((e) => e.source?.component === 'tempest-controller' && e.involvedObject.uid === u);
}
const lastUid = new Map<string, string>();
const reasons = async (ns: string, name: string, uid?: string) => (await events(ns, name, uid)).map((e) => e.reason!);
async function runsOf(workflowId: string): Promise<number> {
  let n = 0;
  for await (const _ of client.workflow.list({ query: `WorkflowId = "${workflowId}"` })) n++;
  return n;
}
async function exists(workflowId: string): Promise<boolean> {
  try {
    await client.workflow.getHandle(workflowId).describe();
    return true;
  } catch (e) {
    if (e instanceof WorkflowNotFoundError) return false;
    throw e;
  }
}
const leaseHolder = async () => (await coordination.readNamespacedLease({ name: leaseName, namespace: 'tempest-system' })).spec?.holderIdentity;
async function startController(identity: string): Promise<ChildProcess> {
  const c = await startControllerProcess(cfgFile, controllerKubeconfig, identity);
  controllers.set(identity, c);
  return c;
}
/** Delete an engine and wait until it is really gone (the finalizer released). */
async function deleteEngine(ns: string, name: string): Promise<void> {
  kubectl('delete', 'chaosengine', name, '-n', ns, '--wait=false');
  await waitFor(`chaosengine ${ns}/${name} gone`, async () => !(await get('chaosengines', ns, name)), 120_000, 500);
}

beforeAll(async () => {
  a = await seededCluster();
  custom = a.kc.makeApiClient(k8s.CustomObjectsApi);
  coordination = a.kc.makeApiClient(k8s.CoordinationV1Api);
  const dirs = spawnSync('bash', [join(ROOT, 'scripts/k8s-build'), '--print-bin-dirs'], { encoding: 'utf8' })
    .stdout.trim()
    .split('\n');
  kubectlBin = join(
    dirs.find((d) => d.includes('/kubectl-'))!,
    'kubectl',
  );
  expect(
    kubectl(
      'apply',
      '-f',
      join(ROOT, 'deploy/crds/litmuschaos.io.yaml'),
      '-f',
      join(ROOT, 'deploy/crds/tempest.io.yaml'),
      '-f',
      join(ROOT, 'deploy/controller-rbac.yaml'),
    ),
  ).toMatchObject({ code: 0 });
  expect(
    kubectl(
      'wait',
      '--for',
      'condition=Established',
      '--timeout',
      '60s',
      ...['chaosengines', 'chaosexperiments', 'chaosschedules', 'chaosresults'].map((p) => `crd/${p}.litmuschaos.io`),
      ...['chaoshypotheses', 'progressivechaoses', 'gamedays'].map((p) => `crd/${p}.tempest.io`),
    ),
  ).toMatchObject({ code: 0 });
  for (const ns of ['chaos-engineering', OUTSIDE]) kubectl('create', 'namespace', ns);
  // Leftovers of an earlier run of this suite (results keep their history across engines of the same name).
  for (const ns of ['footanalytics', 'ai-processing', 'chaos-engineering', OUTSIDE]) kubectl('delete', 'chaosresult', '--all', '-n', ns);

  gateway = http.createServer((req, res) => res.writeHead(req.url === '/health' ? 200 : 404, { 'content-type': 'application/json' }).end('{"status":"ok"}'));
  await new Promise<void>((r) => gateway.listen(0, '127.0.0.1', () => r()));
  const url = `http://127.0.0.1:${(gateway.address() as AddressInfo).port}`;

  leaseName = `tempest-controller-${Math.random().toString(36).slice(2, 8)}`;
  const workerKubeconfig = await saKubeconfig('footanalytics', a);
  controllerKubeconfig = await saKubeconfig('default', a, CONTROLLER_SA);
  const cfg = k8sConfig(workerKubeconfig, {
    platform: {
      driver: 'kubernetes',
      kubernetes: { kubeconfig: workerKubeconfig },
      local: { urlRewrites: [{ from: 'http://api-gateway.footanalytics.svc.cluster.local:4000', to: url }] },
    },
    controller: { engines: 'all', leaseName, leaseDuration: 4, resync: 1, crossNamespaceFrom: ['chaos-engineering'] },
  });
  cfgFile = cfg.file;
  connection = await Connection.connect({ address: process.env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233' });
  client = new Client({ connection, namespace: 'default' });
  await startWorkerProcess(cfgFile);
  await startController('ctl-a');
  await waitFor('ctl-a leads', async () => (await leaseHolder().catch(() => undefined)) === 'ctl-a', 30_000, 250);
  await startController('ctl-b');
}, 900_000);

afterAll(async () => {
  if (process.env.TEMPEST_DEBUG_CONTROLLER) for (const [id, c] of controllers) console.log(`--- ${id}\n${outputOf(c)}`);
  for (const kind of ['chaoshypothesis', 'progressivechaos', 'gameday'])
    kubectl('delete', kind, '--all', '-n', 'footanalytics', '--wait=true', '--timeout=120s');
  for (const ns of ['footanalytics', 'ai-processing', OUTSIDE]) kubectl('delete', 'chaosengine', '--all', '-n', ns, '--wait=true', '--timeout=120s');
  kubectl('delete', 'chaosschedule', '--all', '-n', 'chaos-engineering', '--wait=true', '--timeout=60s');
  killWorkerProcesses();
  cleanupTestFiles();
  await connection?.close();
  await new Promise((r) => gateway?.close(r));
}, 300_000);

test("the seed's api-gateway engine, kubectl apply unchanged: pods deleted and recreated, ChaosResult Pass 100%, engine completed; the leader SIGKILLed mid-run, the other controller takes over, one run", async () => {
  const before = (await waitReady(a, 'api-gateway')).map((p) => p.metadata!.name!);
  const since = new Date(Date.now() - 1000);
  expect(await leaseHolder()).toBe('ctl-a');
  expect(outputOf(controllers.get('ctl-b')!)).not.toContain('leading');
  kubectl('apply', '-f', join(ROOT, 'examples/engines/api-gateway-chaos.yaml'));
  const uid = (await waitFor('engine created', () => get('chaosengines', 'footanalytics', 'api-gateway-chaos'), 10_000))!.metadata.uid;
  const wfId = `chaosengine-${uid}`;
  await waitFor('run in chaos', async () => (await engineStatus('footanalytics', 'api-gateway-chaos')).phase === 'chaos', 60_000, 250);
  const mid = await engineStatus('footanalytics', 'api-gateway-chaos');
  expect(mid).toMatchObject({
    engineStatus: 'initialized',
    workflowId: wfId,
    experiments: [{ name: 'pod-delete', runner: wfId, status: 'Running', verdict: 'Awaited' }],
  });
  expect((await get('chaosengines', 'footanalytics', 'api-gateway-chaos'))!.metadata.finalizers).toContain('tempest.io/revert-verified');
  const running = await get('chaosresults', 'footanalytics', 'api-gateway-chaos-pod-delete');
  expect(running?.status?.experimentStatus).toMatchObject({ phase: 'Running', verdict: 'Awaited' });

  // The leader dies mid-run; the other replica takes the Lease once it expires (4 s) and carries on.
  await sigkill(controllers.get('ctl-a')!);
  await waitFor('ctl-b took over', async () => (await leaseHolder()) === 'ctl-b', 30_000, 250);
  expect(outputOf(controllers.get('ctl-b')!)).toMatch(/acquired \(taken over from ctl-a, expired\) by ctl-b/);
  await startController('ctl-a'); // back, and waits: ctl-b holds the Lease

  await waitFor('engine completed', async () => (await engineStatus('footanalytics', 'api-gateway-chaos')).engineStatus === 'completed', 150_000, 500);
  const st = await engineStatus('footanalytics', 'api-gateway-chaos');
  expect(st).toMatchObject({
    engineStatus: 'completed',
    workflowId: wfId,
    verdict: 'Pass',
    experiments: [{ name: 'pod-delete', status: 'Completed', verdict: 'Pass' }],
  });
  const r = (await client.workflow.getHandle(wfId).result()) as ExperimentResult;
  expect(r.verdict).toBe('Pass');
  expect(r.faults[0]).toMatchObject({ name: 'pod-delete', state: 'reverted', rounds: 6 });
  // Pods really deleted (the first round's pod is gone) and recreated (3 ready again).
  const after = (await waitReady(a, 'api-gateway')).map((p) => p.metadata!.name!);
  expect(before).toContain(r.faults[0].affected[0]);
  expect(after).not.toContain(r.faults[0].affected[0]);
  expect(after).toHaveLength(3);
  expect(await ledgerKeys(a, 'api-gateway', faultIds({ runId: wfId, faultIndex: 0 }).key)).toEqual([]);

  const res = await get('chaosresults', 'footanalytics', 'api-gateway-chaos-pod-delete');
  expect(res?.spec).toMatchObject({ engine: 'api-gateway-chaos', experiment: 'pod-delete' });
  expect(res?.status).toMatchObject({
    experimentStatus: { phase: 'Completed', verdict: 'Pass', probeSuccessPercentage: '100' },
    probeStatuses: [{ name: 'api-gateway-health-check', type: 'httpProbe', mode: 'Continuous', status: { verdict: 'Passed' } }],
    history: {
      passedRuns: 1,
      failedRuns: 0,
      stoppedRuns: 0,
      targets: [{ name: 'app.kubernetes.io/name=api-gateway', kind: 'deployment', chaosStatus: 'reverted' }],
    },
  });
  // Written when something changed, not on every 1 s resync of a 60 s run (the API server's audit log counts).
  const writes = readAudit({ since, users: [CONTROLLER_USER] }).filter(
    (e) => e.verb === 'patch' && e.name === 'api-gateway-chaos-pod-delete' && e.subresource === 'status',
  );
  expect(writes.length).toBeGreaterThanOrEqual(2);
  expect(writes.length).toBeLessThanOrEqual(12);
  // One run, started once, whatever two controllers and a SIGKILL did.
  expect(await runsOf(wfId)).toBe(1);
  const rs = await reasons('footanalytics', 'api-gateway-chaos');
  expect(rs.filter((x) => x === 'ChaosEngineInitialized')).toHaveLength(1);
  expect(rs.filter((x) => x === 'ChaosEngineCompleted')).toHaveLength(1);
  expect(rs).toContain('ChaosInjected');
  // The seed's troubleshooting commands, as written.
  const engines = kubectl('get', 'chaosengine', '-A');
  expect(engines.out).toMatch(/footanalytics\s+api-gateway-chaos\s+.*completed/);
  const results = kubectl('get', 'chaosresult', '-A', '-o', 'yaml');
  expect(results.out).toMatch(/verdict: Pass/);
  expect(results.out).toMatch(/probeSuccessPercentage: "100"/);

  // The seed's first rollback action: delete the engine. Its run is closed: the finalizer goes once the
  // worker's reconciler has found nothing of the run left, and the result stays (Litmus keeps results).
  await deleteEngine('footanalytics', 'api-gateway-chaos');
  expect(await reasons('footanalytics', 'api-gateway-chaos')).toContain('Reverted');
  expect((await get('chaosresults', 'footanalytics', 'api-gateway-chaos-pod-delete'))?.status?.history?.passedRuns).toBe(1);
}, 300_000);

const podDelete = (name: string, ns = 'footanalytics', chaosS = 60) =>
  engineYaml(name, ns, 'api-gateway', 'pod-delete', { TOTAL_CHAOS_DURATION: String(chaosS), CHAOS_INTERVAL: '5', FORCE: 'false' }, healthProbe());

test('kubectl delete mid-chaos: the engine stays (finalizer) while its run reverts, and goes only once the run is closed and nothing of it is left', async () => {
  await waitReady(a, 'api-gateway');
  applyText('delete-mid', podDelete('delete-mid'));
  await waitFor('run in chaos', async () => (await engineStatus('footanalytics', 'delete-mid')).phase === 'chaos', 60_000, 250);
  const o = (await get('chaosengines', 'footanalytics', 'delete-mid'))!;
  const wfId = `chaosengine-${o.metadata.uid}`;
  const key = faultIds({ runId: wfId, faultIndex: 0 }).key;
  await waitFor('the ledger on the Deployment', async () => (await ledgerKeys(a, 'api-gateway', key)).length > 0, 30_000, 250);
  expect(kubectl('delete', 'chaosengine', 'delete-mid', '-n', 'footanalytics', '--wait=false')).toMatchObject({ code: 0 });
  // Held: the object is there, being deleted, while its run is still open (reverting).
  const held = (await get('chaosengines', 'footanalytics', 'delete-mid'))!;
  expect(held.metadata.deletionTimestamp).toBeDefined();
  expect(held.metadata.finalizers).toContain('tempest.io/revert-verified');
  let sawHeldWhileOpen = false;
  let closedBeforeGone = false;
  await waitFor(
    'engine gone',
    async () => {
      const still = await get('chaosengines', 'footanalytics', 'delete-mid');
      const state = (await client.workflow.getHandle(wfId).describe()).status.name;
      if (still && state === 'RUNNING') sawHeldWhileOpen = true;
      if (!still) closedBeforeGone = state !== 'RUNNING';
      return !still;
    },
    120_000,
    200,
  );
  expect(sawHeldWhileOpen).toBe(true);
  expect(closedBeforeGone).toBe(true);
  const r = (await client.workflow.getHandle(wfId).result()) as ExperimentResult;
  expect(r.verdict).toBe('Aborted');
  expect(r.reason).toMatch(/ChaosEngine deleted/);
  expect(r.faults[0].state).toBe('reverted');
  expect(await ledgerKeys(a, 'api-gateway', key)).toEqual([]);
  expect(live(await pods(a, 'api-gateway')).every((p) => !p.metadata?.annotations?.[key])).toBe(true);
  const rs = await reasons('footanalytics', 'delete-mid', o.metadata.uid);
  expect(rs).toEqual(expect.arrayContaining(['ChaosEngineInitialized', 'Deleting', 'Reverted']));
  expect(await runsOf(wfId)).toBe(1);
}, 240_000);

test('a tenant removes the finalizer and deletes the engine mid-chaos: the controller still aborts its run, which reverts', async () => {
  await waitReady(a, 'api-gateway');
  applyText('no-finalizer', podDelete('no-finalizer'));
  await waitFor('run in chaos', async () => (await engineStatus('footanalytics', 'no-finalizer')).phase === 'chaos', 60_000, 250);
  const wfId = `chaosengine-${(await get('chaosengines', 'footanalytics', 'no-finalizer'))!.metadata.uid}`;
  expect(kubectl('patch', 'chaosengine', 'no-finalizer', '-n', 'footanalytics', '--type', 'merge', '-p', '{"metadata":{"finalizers":null}}')).toMatchObject({
    code: 0,
  });
  expect(kubectl('delete', 'chaosengine', 'no-finalizer', '-n', 'footanalytics', '--wait=true', '--timeout=20s')).toMatchObject({ code: 0 });
  const r = (await client.workflow.getHandle(wfId).result()) as ExperimentResult;
  expect(r.verdict).toBe('Aborted');
  expect(r.reason).toMatch(/deleted without the revert-verified finalizer|ChaosEngine is gone/);
  expect(r.faults[0].state).toBe('reverted');
  expect(await ledgerKeys(a, 'api-gateway', faultIds({ runId: wfId, faultIndex: 0 }).key)).toEqual([]);
}, 180_000);

test('engineState: stop on a live engine aborts its run: reverted and verified, engine stopped, ChaosResult Stopped', async () => {
  await waitReady(a, 'api-gateway');
  applyText('stop-me', podDelete('stop-me'));
  await waitFor('run in chaos', async () => (await engineStatus('footanalytics', 'stop-me')).phase === 'chaos', 60_000, 250);
  const wfId = `chaosengine-${(await get('chaosengines', 'footanalytics', 'stop-me'))!.metadata.uid}`;
  expect(kubectl('patch', 'chaosengine', 'stop-me', '-n', 'footanalytics', '--type', 'merge', '-p', '{"spec":{"engineState":"stop"}}')).toMatchObject({
    code: 0,
  });
  await waitFor('engine stopped', async () => (await engineStatus('footanalytics', 'stop-me')).engineStatus === 'stopped', 90_000, 250);
  const r = (await client.workflow.getHandle(wfId).result()) as ExperimentResult;
  expect(r.verdict).toBe('Aborted');
  expect(r.reason).toMatch(/engineState: stop/);
  expect(r.faults[0].state).toBe('reverted');
  expect(await ledgerKeys(a, 'api-gateway', faultIds({ runId: wfId, faultIndex: 0 }).key)).toEqual([]);
  expect(await engineStatus('footanalytics', 'stop-me')).toMatchObject({
    engineStatus: 'stopped',
    verdict: 'Aborted',
    experiments: [{ name: 'pod-delete', status: 'Aborted', verdict: 'Stopped' }],
  });
  const res = await get('chaosresults', 'footanalytics', 'stop-me-pod-delete');
  expect(res?.status).toMatchObject({ experimentStatus: { phase: 'Stopped', verdict: 'Stopped' }, history: { passedRuns: 0, failedRuns: 0, stoppedRuns: 1 } });
  expect(await reasons('footanalytics', 'stop-me')).toContain('ChaosEngineStopped');
  await deleteEngine('footanalytics', 'stop-me');
}, 240_000);

test('refused engines: a bad value, a namespace outside the blast radius, another namespace as target or probed: a condition and a Warning Event naming the field, nothing started, no finalizer', async () => {
  const bad = engineYaml('bad-value', 'footanalytics', 'api-gateway', 'pod-delete', { TOTAL_CHAOS_DURATION: '30', PODS_AFFECTED_PERC: '500' });
  const outside = engineYaml('outside', OUTSIDE, 'api-gateway', 'pod-delete', { TOTAL_CHAOS_DURATION: '30' });
  const aimed = engineYaml('aimed', 'ai-processing', 'api-gateway', 'pod-delete', { TOTAL_CHAOS_DURATION: '30' }).replace(
    'appns: ai-processing',
    'appns: footanalytics',
  );
  // A probe of a service in another namespace (inside the blast radius: the policy alone would let it through).
  const probing = engineYaml(
    'probing',
    'footanalytics',
    'api-gateway',
    'pod-delete',
    { TOTAL_CHAOS_DURATION: '30' },
    healthProbe().replace('api-gateway.footanalytics.svc.cluster.local:4000', 'model-server.ai-processing.svc.cluster.local:8080'),
  );
  const cases: Array<[string, string, string, RegExp]> = [
    [
      'probing',
      'footanalytics',
      probing,
      /chaosengine\/footanalytics\/probing: spec\.experiments\[0\]\.spec\.probe\[0\]\.httpProbe\/inputs\.url: probe api-gateway-health-check would call a service in namespace ai-processing: an engine in namespace footanalytics may only probe its own/,
    ],
    [
      'bad-value',
      'footanalytics',
      bad,
      /chaosengine\/footanalytics\/bad-value: spec\.experiments\[0\]\.spec\.components\.env\[1\]\.value: PODS_AFFECTED_PERC must be <= 100 \(got "500"\)/,
    ],
    [
      'outside',
      OUTSIDE,
      outside,
      /chaosengine\/tenant-outside\/outside: spec\.appinfo\.appns: blast radius: target tenant-outside\/app\.kubernetes\.io\/name=api-gateway is not in blastRadius\.allow/,
    ],
    [
      'aimed',
      'ai-processing',
      aimed,
      /chaosengine\/ai-processing\/aimed: spec\.appinfo\.appns: an engine in namespace ai-processing may only target its own namespace.*"footanalytics"/,
    ],
  ];
  for (const [name, , text] of cases) applyText(name, text);
  for (const [name, ns, , message] of cases) {
    const st = await waitFor(
      `${name} refused`,
      async () => {
        const s = await engineStatus(ns, name);
        return s.conditions?.some((c: { type: string; status: string }) => c.type === 'Accepted' && c.status === 'False') ? s : undefined;
      },
      30_000,
      250,
    );
    const cond = st.conditions.find((c: { type: string }) => c.type === 'Accepted');
    expect(cond).toMatchObject({ status: 'False', reason: 'Invalid' });
    expect(cond.message).toMatch(message);
    expect(st.engineStatus).toBe('stopped');
    const ev = (await events(ns, name)).filter((e) => e.reason === 'Invalid');
    expect(ev).toHaveLength(1);
    expect(ev[0]).toMatchObject({ type: 'Warning' });
    expect(ev[0].message).toMatch(message);
    const o = (await get('chaosengines', ns, name))!;
    expect(o.metadata.finalizers ?? []).not.toContain('tempest.io/revert-verified');
    expect(await exists(`chaosengine-${o.metadata.uid}`)).toBe(false);
    // A refusal is written once, not on every resync.
    await new Promise((r) => setTimeout(r, 2500));
    expect((await events(ns, name)).filter((e) => e.reason === 'Invalid')).toHaveLength(1);
  }
  // No finalizer: a refused engine deletes at once.
  for (const [name, ns] of cases) expect(kubectl('delete', 'chaosengine', name, '-n', ns, '--wait=true', '--timeout=20s')).toMatchObject({ code: 0 });
}, 120_000);

test("the seed's ChaosSchedule, kubectl apply unchanged: a Temporal Schedule exists while the object does, and goes with it", async () => {
  kubectl('apply', '-f', join(ROOT, 'examples/schedules/footanalytics-chaos-schedule.yaml'));
  const uid = (await waitFor('schedule created', () => get('chaosschedules', 'chaos-engineering', 'footanalytics-chaos-schedule'), 10_000))!.metadata.uid;
  // Its own id per object: never the id an operator's `tempest schedule apply` of the same file would use.
  const id = `chaosschedule-${uid}`;
  await waitFor(
    'schedule accepted',
    async () => (await get('chaosschedules', 'chaos-engineering', 'footanalytics-chaos-schedule'))?.status?.scheduleId === id,
    30_000,
    250,
  );
  const d = await client.schedule.getHandle(id).describe();
  expect(d.action.type).toBe('startWorkflow');
  expect(d.memo).toMatchObject({ chaosSchedule: 'chaos-engineering/footanalytics-chaos-schedule', uid });
  await expect(client.schedule.getHandle('tempest-schedule-chaos-engineering.footanalytics-chaos-schedule').describe()).rejects.toBeInstanceOf(
    ScheduleNotFoundError,
  );
  expect(d.spec.calendars?.length).toBeGreaterThan(0);
  const st = (await get('chaosschedules', 'chaos-engineering', 'footanalytics-chaos-schedule'))!;
  expect(st.status).toMatchObject({ schedule: { status: 'running' }, conditions: [{ type: 'Accepted', status: 'True' }] });
  expect(st.metadata.finalizers).toContain('tempest.io/revert-verified');
  expect(kubectl('delete', 'chaosschedule', 'footanalytics-chaos-schedule', '-n', 'chaos-engineering', '--wait=true', '--timeout=30s')).toMatchObject({
    code: 0,
  });
  await expect(client.schedule.getHandle(id).describe()).rejects.toBeInstanceOf(ScheduleNotFoundError);
}, 90_000);

test("Tempest's own kinds with kubectl: a ProgressiveChaos, a ChaosHypothesis and a GameDay run a template ChaosEngine of their namespace (which never runs by itself), to Completed; they go once nothing of theirs is left", async () => {
  await waitReady(a, 'api-gateway');
  const template = readFileSync(join(ROOT, 'test/fixtures/controller/gw-template.yaml'), 'utf8');
  applyText('gw-template', template);
  const t = await waitFor(
    'the template marked',
    async () => {
      const st = await engineStatus('footanalytics', 'gw-template');
      return st.conditions?.find((c: { reason: string }) => c.reason === 'Template') ?? undefined;
    },
    20_000,
    250,
  );
  expect(t).toMatchObject({ type: 'Accepted', status: 'False' });
  const tuid = (await get('chaosengines', 'footanalytics', 'gw-template'))!.metadata.uid;
  expect(await exists(`chaosengine-${tuid}`)).toBe(false);

  // One that names an engine which is not a template is refused, naming the field.
  applyText('not-a-template', podDelete('plain-engine'));
  applyText(
    'names-plain',
    `apiVersion: tempest.io/v1alpha1
kind: ProgressiveChaos
metadata: { name: names-plain, namespace: footanalytics }
spec:
  engine: plain-engine
  progressive_chaos:
    stage_1: { name: "One pod", chaos_percentage: 30, duration: "4 seconds", success_threshold: 0.9 }
`,
  );
  const refused = await waitFor(
    'names-plain refused',
    async () => {
      const o = await get('progressivechaoses', 'footanalytics', 'names-plain');
      return o?.status?.phase === 'Refused' ? o.status : undefined;
    },
    20_000,
    250,
  );
  expect(refused.conditions[0].message).toMatch(
    /progressivechaos\/footanalytics\/names-plain: spec\.engine: ChaosEngine footanalytics\/plain-engine is not a template: annotate it tempest\.io\/template: "true"/,
  );
  await deleteEngine('footanalytics', 'plain-engine');

  applyText('kinds', readFileSync(join(ROOT, 'test/fixtures/controller/kinds.yaml'), 'utf8'));
  const kinds = [
    ['progressivechaoses', 'gw-progressive', 'progressivechaos'],
    ['chaoshypotheses', 'gw-hypothesis', 'chaoshypothesis'],
    ['gamedays', 'gw-gameday', 'gameday'],
  ] as const;
  for (const [plural, name, prefix] of kinds) {
    const st = await waitFor(
      `${name} completed`,
      async () => {
        const o = await get(plural, 'footanalytics', name);
        return o?.status?.phase === 'Completed' ? o : undefined;
      },
      150_000,
      500,
    );
    expect(st.status).toMatchObject({ verdict: 'Pass', workflowId: `${prefix}-${st.metadata.uid}` });
    expect(st.metadata.finalizers).toContain('tempest.io/revert-verified');
    expect(await runsOf(`${prefix}-${st.metadata.uid}`)).toBe(1);
  }
  const prog = (await client.workflow
    .getHandle(`progressivechaos-${(await get('progressivechaoses', 'footanalytics', 'gw-progressive'))!.metadata.uid}`)
    .result()) as { stages: Array<{ state: string }> };
  expect(prog.stages.map((x) => x.state)).toEqual(['passed', 'passed']);
  expect(kubectl('get', 'progressivechaos,chaoshypothesis,gameday', '-n', 'footanalytics').out).toMatch(/gw-progressive\s+Completed\s+Pass/);
  for (const [plural, name] of kinds) {
    kubectl('delete', plural, name, '-n', 'footanalytics', '--wait=false');
    await waitFor(`${name} gone`, async () => !(await get(plural, 'footanalytics', name)), 60_000, 500);
  }
  await deleteEngine('footanalytics', 'gw-template');
}, 300_000);

test('the controller acts as its own ServiceAccount only: it may not touch pods (RBAC as shipped)', () => {
  const can = (verb: string, what: string, ns: string) =>
    kubectl('auth', 'can-i', verb, what, '-n', ns, `--as=system:serviceaccount:${CONTROLLER_SA.namespace}:${CONTROLLER_SA.name}`).out.trim();
  expect(can('patch', 'chaosengines/status', 'footanalytics')).toBe('yes');
  expect(can('delete', 'pods', 'footanalytics')).toBe('no');
  expect(can('patch', 'deployments', 'footanalytics')).toBe('no');
  expect(can('update', 'leases', 'kube-system')).toBe('no');
  // The file itself: read by kubectl, nothing in it names pods or workloads.
  expect(readFileSync(join(ROOT, 'deploy/controller-rbac.yaml'), 'utf8')).not.toMatch(/resources: \[[^\]]*"pods"/);
});
