/**
 * The local fleet (scripts/fleet) with real processes, no mocks: a supervisor, three replica processes,
 * the balancer and the control API, all on free loopback ports and a temporary state dir.
 * Timing is only ever asserted as "within N seconds" (plus the lower bound an injected delay guarantees).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { request } from '../../scripts/fleet/common.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const FLEET = path.join(ROOT, 'scripts/fleet/fleet.ts');

interface PodView {
  name: string;
  slot: number;
  pid: number | null;
  port: number;
  ready: boolean;
  phase: string;
  restarts: number;
  annotations: Record<string, string>;
}
interface OwnerView {
  name: string;
  kind: string;
  desired: number;
  ready: number;
  annotations: Record<string, string>;
}

// ---------------------------------------------------------------- helpers
function canBind(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

/** `count` consecutive free ports (a replica slot i uses base + i). */
async function freePortRange(count: number): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const base = 20000 + Math.floor(Math.random() * 40000);
    let ok = true;
    for (let i = 0; i < count && ok; i++) ok = await canBind(base + i);
    if (ok) return base;
  }
  throw new Error('no free port range');
}

async function waitFor<T>(what: string, fn: () => Promise<T | undefined | false>, timeoutMs: number, everyMs = 200): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await fn();
      if (value !== undefined && value !== false) return value;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError ? ` (last error: ${String(lastError)})` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------- fixture
let stateDir: string;
let balancerPort: number;
let controlPort: number;
let basePort: number;
let fleet: ChildProcess | undefined;
const fleets: ChildProcess[] = [];
const replicaPids = new Set<number>();

function startFleet(): ChildProcess {
  const env = { ...process.env };
  delete env.NODE_OPTIONS; // jest's --experimental-vm-modules is not for the fleet
  const out = fs.openSync(path.join(stateDir, 'test-fleet.log'), 'a');
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      FLEET,
      '--name',
      'api-gateway',
      '--replicas',
      '3',
      '--port',
      String(balancerPort),
      '--control-port',
      String(controlPort),
      '--base-replica-port',
      String(basePort),
      '--state-dir',
      stateDir,
      '--restart-delay-ms',
      '300',
    ],
    { cwd: ROOT, env, stdio: ['ignore', out, out] },
  );
  fs.closeSync(out);
  fleets.push(child);
  return child;
}

/** Resolves true once the child has exited, false after timeoutMs (leaves no timer behind). */
function exitedWithin(child: ChildProcess, timeoutMs: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      child.off('exit', onExit);
      resolve(false);
    }, timeoutMs);
    const onExit = () => {
      clearTimeout(timer);
      resolve(true);
    };
    child.once('exit', onExit);
  });
}

async function control<T = unknown>(method: string, p: string, body?: unknown): Promise<{ status: number; json: T }> {
  const res = await request(controlPort, method, p, {
    body: body === undefined ? undefined : JSON.stringify(body),
    headers: { 'content-type': 'application/json' },
    timeoutMs: 10_000,
  });
  return { status: res.status, json: JSON.parse(res.body) as T };
}

async function pods(): Promise<PodView[]> {
  const list = (await control<PodView[]>('GET', '/pods')).json;
  for (const p of list) if (p.pid) replicaPids.add(p.pid);
  return list;
}

async function waitReady(n: number, timeoutMs = 60_000): Promise<PodView[]> {
  return waitFor(
    `${n} ready pods`,
    async () => {
      const owner = (await control<OwnerView>('GET', '/owner')).json;
      const list = await pods();
      return owner.ready === n && list.filter((p) => p.ready).length === n ? list : undefined;
    },
    timeoutMs,
  );
}

/** GET on one replica directly, with the elapsed time. */
async function timedGet(port: number, p: string): Promise<{ status: number; ms: number; body: string }> {
  const t0 = Date.now();
  const res = await request(port, 'GET', p, { timeoutMs: 20_000 });
  return { status: res.status, ms: Date.now() - t0, body: res.body };
}

beforeAll(async () => {
  stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tempest-fleet-'));
  basePort = await freePortRange(3);
  do
    balancerPort = await freePortRange(2); // balancer + control
  while (balancerPort + 1 >= basePort && balancerPort <= basePort + 2);
  controlPort = balancerPort + 1;
  fleet = startFleet();
  await waitReady(3);
}, 90_000);

afterAll(async () => {
  for (const child of fleets) {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      if (!(await exitedWithin(child, 10_000))) child.kill('SIGKILL');
    }
  }
  // Replicas exit with their fleet (or on their own within ~1 s if it was killed); make sure of it.
  await waitFor('replicas to exit', async () => [...replicaPids].every((pid) => !isAlive(pid)), 10_000).catch(() => {
    for (const pid of replicaPids) if (isAlive(pid)) process.kill(pid, 'SIGKILL');
  });
  if (process.env.KEEP_FLEET_STATE) console.log(`fleet state kept in ${stateDir}`);
  else fs.rmSync(stateDir, { recursive: true, force: true });
}, 60_000);

// ---------------------------------------------------------------- tests
describe('local fleet (real processes)', () => {
  test('runs 3 ready pods with k8s-like names, slots and ports', async () => {
    const owner = (await control<OwnerView>('GET', '/owner')).json;
    expect(owner).toMatchObject({ name: 'api-gateway', kind: 'deployment', desired: 3, ready: 3 });
    const list = await pods();
    expect(list).toHaveLength(3);
    for (const p of list) {
      expect(p.name).toMatch(/^api-gateway-[a-z]{5}$/);
      expect(p.phase).toBe('Running');
      expect(p.port).toBe(basePort + p.slot);
      expect(isAlive(p.pid!)).toBe(true);
    }
    expect(new Set(list.map((p) => p.name)).size).toBe(3);
    const file = JSON.parse(fs.readFileSync(path.join(stateDir, 'fleet.json'), 'utf8'));
    expect(file).toMatchObject({ pid: fleet!.pid, port: balancerPort, controlPort });
  });

  test('balancer round-robins over the 3 pods', async () => {
    const servedBy = new Set<string>();
    for (let i = 0; i < 6; i++) {
      const res = await request(balancerPort, 'GET', '/health');
      expect(res.status).toBe(200);
      const pod = res.headers['x-served-by'] as string;
      expect(JSON.parse(res.body)).toEqual({ status: 'ok', pod });
      servedBy.add(pod);
    }
    expect(servedBy.size).toBe(3);
    const gql = await request(balancerPort, 'POST', '/graphql', { body: '{"query":"{ health }"}', headers: { 'content-type': 'application/json' } });
    expect(gql.status).toBe(200);
    expect(JSON.parse(gql.body)).toEqual({ data: { health: 'ok' } });
    expect((await request(balancerPort, 'GET', '/model/health')).status).toBe(200);
  });

  test('DELETE with grace 0 really kills the process, and a new pod replaces it', async () => {
    const [victim] = await pods();
    const del = await control<{ name: string; pid: number }>('DELETE', `/pods/${victim.name}?gracePeriodSeconds=0`);
    expect(del.status).toBe(202);
    expect(del.json).toEqual({ name: victim.name, pid: victim.pid });
    await waitFor('victim pid to be gone', async () => !isAlive(victim.pid!), 10_000, 50);
    expect(() => process.kill(victim.pid!, 0)).toThrow();

    const replacement = await waitFor(
      'a ready replacement pod in the same slot',
      async () => (await pods()).find((p) => p.slot === victim.slot && p.name !== victim.name && p.ready),
      30_000,
    );
    expect(replacement.port).toBe(victim.port);
    expect(replacement.pid).not.toBe(victim.pid);
    expect(replacement.restarts).toBe(1);
    await waitReady(3);
    expect((await control('DELETE', '/pods/api-gateway-nope')).status).toBe(404);
  });

  test('annotations ledger: merge, null deletes, persisted to annotations.json', async () => {
    let res = await control<OwnerView>('PATCH', '/owner/annotations', { 'tempest.io/fault.run-1': '{"kind":"pod-delete"}', scratch: 'x' });
    expect(res.status).toBe(200);
    expect(res.json.annotations).toEqual({ 'tempest.io/fault.run-1': '{"kind":"pod-delete"}', scratch: 'x' });
    res = await control<OwnerView>('PATCH', '/owner/annotations', { scratch: null });
    expect(res.json.annotations).toEqual({ 'tempest.io/fault.run-1': '{"kind":"pod-delete"}' });
    expect((await control<OwnerView>('GET', '/owner')).json.annotations).toEqual({ 'tempest.io/fault.run-1': '{"kind":"pod-delete"}' });
    expect(JSON.parse(fs.readFileSync(path.join(stateDir, 'annotations.json'), 'utf8'))).toEqual({ 'tempest.io/fault.run-1': '{"kind":"pod-delete"}' });
    expect((await control('PATCH', '/owner/annotations', { bad: 42 })).status).toBe(400);

    const [pod] = await pods();
    const patched = await control<PodView>('PATCH', `/pods/${pod.name}/annotations`, { 'tempest.io/latency': 'run-1', gone: 'y' });
    expect(patched.json.annotations).toEqual({ 'tempest.io/latency': 'run-1', gone: 'y' });
    await control('PATCH', `/pods/${pod.name}/annotations`, { gone: null });
    expect((await pods()).find((p) => p.name === pod.name)!.annotations).toEqual({ 'tempest.io/latency': 'run-1' });
  });

  test('behaviour: latency slows /health, and expiresAt resets it by itself', async () => {
    const [pod] = await pods();
    const latencyMs = 1500;
    const expiresAt = new Date(Date.now() + 6000).toISOString();
    const put = await control<Record<string, unknown>>('PUT', `/pods/${pod.name}/behaviour`, { latencyMs, expiresAt, setBy: 'jest' });
    expect(put.status).toBe(200);
    expect(put.json).toEqual({ latencyMs, errorRate: 0, down: false, expiresAt, setBy: 'jest' });

    const slow = await timedGet(pod.port, '/health');
    expect(slow.status).toBe(200);
    expect(slow.ms).toBeGreaterThanOrEqual(latencyMs - 20); // the injected sleep is a guaranteed lower bound

    await waitFor(
      'behaviour to expire',
      async () => ((await control<{ latencyMs: number }>('GET', `/pods/${pod.name}/behaviour`)).json.latencyMs === 0 ? true : undefined),
      20_000,
      250,
    );
    expect((await control('GET', `/pods/${pod.name}/behaviour`)).json).toEqual({ latencyMs: 0, errorRate: 0, down: false, expiresAt: null, setBy: null });
    const fast = await timedGet(pod.port, '/health');
    expect(fast.status).toBe(200);
    expect(fast.ms).toBeLessThan(latencyMs); // "within" bound: no more injected delay

    // down: 503 everywhere but the control endpoint; errorRate 1: every app request is a 500.
    await control('PUT', `/pods/${pod.name}/behaviour`, { down: true, setBy: 'jest' });
    expect((await timedGet(pod.port, '/health')).status).toBe(503);
    await control('PUT', `/pods/${pod.name}/behaviour`, { errorRate: 1, setBy: 'jest' });
    expect((await timedGet(pod.port, '/health')).status).toBe(500);
    expect((await control('PUT', `/pods/${pod.name}/behaviour`, { errorRate: 2 })).status).toBe(400);
    await control('PUT', `/pods/${pod.name}/behaviour`, {});
    expect((await timedGet(pod.port, '/health')).status).toBe(200);
  });

  test('/metrics exposes the request histogram, counter and process metrics', async () => {
    const [pod] = await pods();
    const res = await timedGet(pod.port, '/metrics');
    expect(res.status).toBe(200);
    expect(res.body).toContain('# TYPE http_request_duration_seconds histogram');
    expect(res.body).toMatch(/http_request_duration_seconds_bucket\{le="0.05",method="GET",route="\/health",code="200"\} \d+/);
    expect(res.body).toMatch(/http_request_duration_seconds_bucket\{le="5",/);
    expect(res.body).toMatch(/http_requests_total\{method="GET",route="\/health",code="200"\} \d+/);
    expect(res.body).toContain('process_cpu_user_seconds_total');
  });

  test('scale to 0 makes the balancer answer 503, scale back to 3 recovers', async () => {
    expect((await control<OwnerView>('POST', '/scale', { replicas: 0 })).json.desired).toBe(0);
    await waitFor('no pods', async () => (await pods()).length === 0, 20_000);
    const res = await request(balancerPort, 'GET', '/health');
    expect(res.status).toBe(503);
    expect(JSON.parse(res.body)).toEqual({ error: 'no ready replicas' });
    expect((await control('POST', '/scale', { replicas: -1 })).status).toBe(400);
    await control('POST', '/scale', { replicas: 3 });
    await waitReady(3);
  });

  test('owner annotations survive a fleet restart; stopping the fleet stops its replicas', async () => {
    const before = await pods();
    fleet!.kill('SIGTERM');
    expect(await exitedWithin(fleet!, 15_000)).toBe(true);
    expect(fleet!.exitCode).toBe(0);
    await waitFor('its replicas to exit', async () => before.every((p) => !isAlive(p.pid!)), 10_000);
    expect(fs.existsSync(path.join(stateDir, 'fleet.json'))).toBe(false);

    fleet = startFleet();
    await waitFor('control API', async () => (await control('GET', '/healthz')).status === 200, 30_000);
    expect((await control<OwnerView>('GET', '/owner')).json.annotations).toEqual({ 'tempest.io/fault.run-1': '{"kind":"pod-delete"}' });
    const after = await waitReady(3);
    expect(after.every((p) => p.restarts === 0 && !before.some((b) => b.name === p.name))).toBe(true);
  });
});
