/**
 * A local stand-in for a Kubernetes Deployment + Service, with real processes (loopback only).
 *
 * One process plays three parts:
 *  - supervisor ("ReplicaSet"): keeps `desired` replica processes (scripts/fleet/replica.ts) alive, one per
 *    slot; slot i listens on base-replica-port + i. Whenever a replica exits, for any reason, a NEW pod
 *    (new name, same slot and port) is started after --restart-delay-ms. Readiness = GET /health answers
 *    200, polled every 300 ms for as long as the pod lives (3 consecutive failures make it unready again).
 *  - balancer ("Service"): round-robin HTTP proxy over ready pods on --port; adds `x-served-by: <pod>`.
 *  - control API ("API server") on --control-port: pods, owner, annotations (the fault ledger), scale,
 *    pod deletion with a grace period, and a proxy to each replica's behaviour endpoint. Every change it made
 *    (and every behaviour PUT it forwarded, with the replica's answer) is in its audit log (GET /audit, the last
 *    5000, in order), as a real API server keeps one: the crash matrix counts real actions against the plan with it.
 *
 * State: <state-dir>/annotations.json (owner annotations, reloaded at start) and <state-dir>/fleet.json
 * (our pid, ports and pods; rewritten on every change, removed on a clean stop).
 *
 * Usage: node --import tsx scripts/fleet/fleet.ts [--name api-gateway] [--replicas 3] [--port 4000]
 *          [--control-port 4100] [--state-dir .tempest/fleet/<name>] [--restart-delay-ms 1000]
 *          [--base-replica-port 4010] [--readiness-timeout-ms 5000]
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomInt } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { z } from 'zod';
import { HttpError, LOOPBACK, intOption, log, readBody, readJson, request, sendJson } from './common.js';

// ---------------------------------------------------------------- configuration
const program = new Command()
  .name('fleet')
  .description('Local Deployment + Service stand-in: supervises replica processes, balances and exposes a control API.')
  .option('--name <name>', 'deployment name (pods are <name>-<5 chars>)', 'api-gateway')
  .option('--replicas <n>', 'desired replicas', intOption('--replicas', 0, 100), 3)
  .option('--port <port>', 'balancer port', intOption('--port', 1, 65535), 4000)
  .option('--control-port <port>', 'control API port', intOption('--control-port', 1, 65535), 4100)
  .option('--state-dir <dir>', 'state directory (default .tempest/fleet/<name>)')
  .option('--restart-delay-ms <ms>', 'delay before replacing an exited pod', intOption('--restart-delay-ms', 0, 3_600_000), 1000)
  .option('--base-replica-port <port>', 'replica in slot i listens on this + i', intOption('--base-replica-port', 1, 65535), 4010)
  .option('--readiness-timeout-ms <ms>', 'timeout of one readiness probe', intOption('--readiness-timeout-ms', 100, 600_000), 5000)
  .parse();

const cfg = program.opts<{
  name: string;
  replicas: number;
  port: number;
  controlPort: number;
  stateDir?: string;
  restartDelayMs: number;
  baseReplicaPort: number;
  readinessTimeoutMs: number;
}>();

if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(cfg.name)) fail(`--name must be a DNS-1123 label, got "${cfg.name}"`);
const NAME = cfg.name;
const STATE_DIR = path.resolve(cfg.stateDir ?? path.join('.tempest', 'fleet', NAME));
const ANNOTATIONS_FILE = path.join(STATE_DIR, 'annotations.json');
const FLEET_FILE = path.join(STATE_DIR, 'fleet.json');
const REPLICA_PATH = fileURLToPath(new URL('./replica.ts', import.meta.url));
/** Absolute URL of tsx's loader, so replicas start whatever our cwd is. */
const TSX_LOADER = resolveTsx();
const READINESS_PERIOD_MS = 300;
const READINESS_FAILURE_THRESHOLD = 3;
const DEFAULT_GRACE_SECONDS = 30;
const SHUTDOWN_GRACE_SECONDS = 5;

const say = (message: string) => log(`fleet/${NAME}`, message);

function fail(message: string): never {
  process.stderr.write(`fleet: ${message}\n`);
  process.exit(1);
}

function resolveTsx(): string {
  try {
    return import.meta.resolve('tsx');
  } catch {
    return 'tsx'; // resolved by node against the cwd; fine when started from the repo root
  }
}

// ---------------------------------------------------------------- model
type Phase = 'Pending' | 'Running' | 'Terminating';
type Annotations = Record<string, string>;

interface Pod {
  name: string;
  slot: number;
  port: number;
  pid: number | undefined;
  child: ChildProcess;
  ready: boolean;
  phase: Phase;
  startedAt: string;
  annotations: Annotations;
  /** Readiness bookkeeping. */
  probing: boolean;
  failures: number;
  /** Pending SIGKILL of a terminating pod, and when it is due. */
  killTimer?: NodeJS.Timeout;
  killAt?: number;
  exited: boolean;
  exitedPromise: Promise<void>;
}

interface Slot {
  index: number;
  port: number;
  /** How many times this slot got a replacement pod. */
  restarts: number;
  pod: Pod | null;
  restartTimer: NodeJS.Timeout | null;
}

export interface PodView {
  name: string;
  slot: number;
  pid: number | null;
  port: number;
  ready: boolean;
  phase: Phase;
  startedAt: string;
  restarts: number;
  annotations: Annotations;
}

export interface OwnerView {
  name: string;
  kind: 'deployment';
  desired: number;
  ready: number;
  annotations: Annotations;
}

let desired = 0;
let shuttingDown = false;
const slots = new Map<number, Slot>();
let ownerAnnotations: Annotations = loadOwnerAnnotations();

const pods = (): Pod[] => [...slots.values()].sort((a, b) => a.index - b.index).flatMap((s) => (s.pod ? [s.pod] : []));
const findPod = (name: string): Pod | undefined => pods().find((p) => p.name === name);
const isServing = (p: Pod): boolean => p.ready && p.phase !== 'Terminating';
/** A slot is wanted while it is inside the desired count and we are not stopping. */
const wanted = (slot: Slot): boolean => !shuttingDown && slot.index < desired;

function podView(p: Pod): PodView {
  return {
    name: p.name,
    slot: p.slot,
    pid: p.pid ?? null,
    port: p.port,
    ready: p.ready,
    phase: p.phase,
    startedAt: p.startedAt,
    restarts: slots.get(p.slot)?.restarts ?? 0,
    annotations: { ...p.annotations },
  };
}

function ownerView(): OwnerView {
  return { name: NAME, kind: 'deployment', desired, ready: pods().filter(isServing).length, annotations: { ...ownerAnnotations } };
}

// ---------------------------------------------------------------- state files
/** Write-then-rename, so readers never see a half-written file. */
function writeJsonAtomic(file: string, value: unknown): void {
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify(value, null, 2) + '\n');
  fs.renameSync(tmp, file);
}

function loadOwnerAnnotations(): Annotations {
  let text: string;
  try {
    text = fs.readFileSync(ANNOTATIONS_FILE, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw err;
  }
  // The annotations are the fault ledger: starting with an empty one would forget injected faults, so refuse.
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    fail(`${ANNOTATIONS_FILE} is not valid JSON; fix or remove it`);
  }
  const parsed = z.record(z.string()).safeParse(json);
  if (!parsed.success) fail(`${ANNOTATIONS_FILE} is not a JSON object of strings; fix or remove it`);
  return parsed.data;
}

let fleetFileDirty = false;
/** Coalesces the many small changes of one tick into one write of fleet.json. */
function persistFleet(): void {
  if (fleetFileDirty || shuttingDown) return;
  fleetFileDirty = true;
  setImmediate(() => {
    fleetFileDirty = false;
    if (shuttingDown) return;
    writeJsonAtomic(FLEET_FILE, {
      name: NAME,
      pid: process.pid,
      port: cfg.port,
      controlPort: cfg.controlPort,
      baseReplicaPort: cfg.baseReplicaPort,
      stateDir: STATE_DIR,
      balancerUrl: `http://${LOOPBACK}:${cfg.port}`,
      controlUrl: `http://${LOOPBACK}:${cfg.controlPort}`,
      updatedAt: new Date().toISOString(),
      desired,
      ready: pods().filter(isServing).length,
      pods: pods().map(podView),
    });
  });
}

/** Is another live fleet already using this state dir? (pid alive and, where /proc exists, really a fleet) */
function otherFleetPid(): number | undefined {
  try {
    const { pid } = JSON.parse(fs.readFileSync(FLEET_FILE, 'utf8')) as { pid?: number };
    if (typeof pid !== 'number' || pid === process.pid) return undefined;
    process.kill(pid, 0);
    const cmdline = fs.existsSync(`/proc/${pid}/cmdline`) ? fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8') : 'fleet';
    return cmdline.includes('fleet') ? pid : undefined;
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------- supervisor
function newPodName(): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz';
  for (;;) {
    const name = `${NAME}-${Array.from({ length: 5 }, () => alphabet[randomInt(alphabet.length)]).join('')}`;
    if (!findPod(name)) return name;
  }
}

function startPod(slot: Slot): void {
  const name = newPodName();
  const child = spawn(
    process.execPath,
    ['--import', TSX_LOADER, REPLICA_PATH, '--port', String(slot.port), '--name', name, '--fleet', NAME, '--parent-pid', String(process.pid)],
    { stdio: ['ignore', 'inherit', 'inherit'] },
  );
  let markExited!: () => void;
  const pod: Pod = {
    name,
    slot: slot.index,
    port: slot.port,
    pid: child.pid,
    child,
    ready: false,
    phase: 'Pending',
    startedAt: new Date().toISOString(),
    annotations: {},
    probing: false,
    failures: 0,
    exited: false,
    exitedPromise: new Promise<void>((resolve) => (markExited = resolve)),
  };
  slot.pod = pod;
  say(`pod ${name} started in slot ${slot.index} (pid ${child.pid}, port ${slot.port})`);
  const onGone = (why: string) => {
    if (pod.exited) return;
    pod.exited = true;
    markExited();
    onPodExit(pod, why);
  };
  child.once('exit', (code, signal) => onGone(signal ? `signal ${signal}` : `code ${code}`));
  child.once('error', (err) => onGone(`spawn error: ${err.message}`));
  persistFleet();
}

function onPodExit(pod: Pod, why: string): void {
  clearTimeout(pod.killTimer);
  const slot = slots.get(pod.slot);
  say(`pod ${pod.name} (pid ${pod.pid}) exited: ${why}`);
  if (slot && slot.pod === pod) {
    slot.pod = null;
    if (wanted(slot)) {
      // Like a ReplicaSet: replace it, with a new name, after the restart delay.
      slot.restarts += 1;
      slot.restartTimer = setTimeout(() => {
        slot.restartTimer = null;
        if (wanted(slot) && !slot.pod) startPod(slot);
      }, cfg.restartDelayMs);
    } else if (slot.index >= desired) {
      slots.delete(slot.index);
    }
  }
  persistFleet();
}

/** Like a pod deletion: unready at once, SIGTERM, SIGKILL after the grace period (0 = SIGKILL now). */
function terminatePod(pod: Pod, graceSeconds: number): void {
  if (pod.exited) return;
  const firstRequest = pod.phase !== 'Terminating';
  pod.ready = false;
  pod.phase = 'Terminating';
  const killAt = Date.now() + graceSeconds * 1000;
  if (graceSeconds === 0) {
    say(`pod ${pod.name}: SIGKILL (grace 0)`);
    pod.child.kill('SIGKILL');
  } else {
    if (firstRequest) {
      say(`pod ${pod.name}: SIGTERM (grace ${graceSeconds}s)`);
      pod.child.kill('SIGTERM');
    }
    // A second deletion may only shorten the grace period, as in Kubernetes.
    if (pod.killAt === undefined || killAt < pod.killAt) {
      clearTimeout(pod.killTimer);
      pod.killAt = killAt;
      pod.killTimer = setTimeout(() => {
        if (pod.exited) return;
        say(`pod ${pod.name}: grace period over, SIGKILL`);
        pod.child.kill('SIGKILL');
      }, graceSeconds * 1000);
    }
  }
  persistFleet();
}

function checkPorts(replicas: number): string | undefined {
  const last = cfg.baseReplicaPort + replicas - 1;
  if (replicas > 0 && last > 65535) return `replica ports ${cfg.baseReplicaPort}..${last} exceed 65535`;
  for (const p of [cfg.port, cfg.controlPort]) {
    if (replicas > 0 && p >= cfg.baseReplicaPort && p <= last) return `replica ports ${cfg.baseReplicaPort}..${last} overlap port ${p}`;
  }
  return undefined;
}

function scale(replicas: number): void {
  const previous = desired;
  desired = replicas;
  for (let i = 0; i < desired; i++) {
    let slot = slots.get(i);
    if (!slot) {
      slot = { index: i, port: cfg.baseReplicaPort + i, restarts: 0, pod: null, restartTimer: null };
      slots.set(i, slot);
    }
    // A slot whose pod is still terminating gets its replacement from onPodExit.
    if (!slot.pod && !slot.restartTimer) startPod(slot);
  }
  for (const slot of [...slots.values()].filter((s) => s.index >= desired)) {
    if (slot.restartTimer) clearTimeout(slot.restartTimer);
    slot.restartTimer = null;
    if (slot.pod) terminatePod(slot.pod, DEFAULT_GRACE_SECONDS);
    else slots.delete(slot.index);
  }
  if (previous !== desired) say(`scaled ${previous} -> ${desired}`);
  persistFleet();
}

/** Readiness: one probe in flight per pod, every READINESS_PERIOD_MS. */
async function probe(pod: Pod): Promise<void> {
  pod.probing = true;
  let ok = false;
  try {
    // kubelet-like user agent, so probe traffic is recognisable in replica logs
    const res = await request(pod.port, 'GET', '/health', { timeoutMs: cfg.readinessTimeoutMs, headers: { 'user-agent': 'kube-probe/tempest-fleet' } });
    ok = res.status === 200;
  } catch {
    ok = false;
  } finally {
    pod.probing = false;
  }
  if (pod.exited || pod.phase === 'Terminating') return;
  if (ok) {
    pod.failures = 0;
    if (!pod.ready) {
      pod.ready = true;
      pod.phase = 'Running';
      say(`pod ${pod.name} is ready`);
      persistFleet();
    }
  } else if (pod.ready && ++pod.failures >= READINESS_FAILURE_THRESHOLD) {
    pod.ready = false;
    say(`pod ${pod.name} is not ready (${pod.failures} failed readiness probes)`);
    persistFleet();
  }
}

const readinessLoop = setInterval(() => {
  for (const pod of pods()) if (!pod.probing && !pod.exited && pod.phase !== 'Terminating') void probe(pod);
}, READINESS_PERIOD_MS);

// ---------------------------------------------------------------- balancer
/** No upstream keep-alive: avoids reusing a socket the replica is closing (spurious 502s), and loopback is cheap. */
const upstreamAgent = new http.Agent({ keepAlive: false });
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade']);

function endToEnd<T extends http.IncomingHttpHeaders>(headers: T): http.OutgoingHttpHeaders {
  const out: http.OutgoingHttpHeaders = {};
  for (const [k, v] of Object.entries(headers)) if (v !== undefined && !HOP_BY_HOP.has(k)) out[k] = v;
  return out;
}

let rr = 0;
function pickPod(): Pod | undefined {
  const ready = pods().filter(isServing);
  if (ready.length === 0) return undefined;
  rr = (rr + 1) % Number.MAX_SAFE_INTEGER;
  return ready[rr % ready.length];
}

const balancer = http.createServer((req, res) => {
  const pod = pickPod();
  if (!pod) return sendJson(res, 503, { error: 'no ready replicas' });
  const headers = endToEnd(req.headers);
  headers['x-forwarded-for'] = req.socket.remoteAddress ?? LOOPBACK;
  const upstream = http.request({ host: LOOPBACK, port: pod.port, method: req.method, path: req.url, headers, agent: upstreamAgent }, (up) => {
    res.writeHead(up.statusCode ?? 502, { ...endToEnd(up.headers), 'x-served-by': pod.name });
    up.pipe(res);
    up.on('error', () => res.destroy());
  });
  upstream.on('error', (err) => {
    if (!res.headersSent) sendJson(res, 502, { error: 'upstream error', pod: pod.name, message: err.message }, { 'x-served-by': pod.name });
    else res.destroy(err);
  });
  req.pipe(upstream);
  // The client went away before the answer was complete: drop the upstream request too.
  res.on('close', () => {
    if (!res.writableFinished) upstream.destroy();
  });
});

// ---------------------------------------------------------------- control API
const AnnotationsPatch = z.record(z.string().min(1).max(317), z.string().nullable());
const ScaleBody = z.object({ replicas: z.number().int().min(0).max(100) });

function mergeAnnotations(target: Annotations, patch: unknown): Annotations {
  const parsed = AnnotationsPatch.safeParse(patch);
  if (!parsed.success) throw new HttpError(400, 'body must be a JSON object of string (or null, to delete) values');
  const next = { ...target };
  for (const [k, v] of Object.entries(parsed.data)) {
    if (v === null) delete next[k];
    else next[k] = v;
  }
  return next;
}

function parseGrace(raw: string | null): number {
  if (raw === null || raw === '') return DEFAULT_GRACE_SECONDS;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) throw new HttpError(400, 'gracePeriodSeconds must be a non-negative integer');
  return n;
}

/** One change the control API made (or, for a behaviour PUT, tried: `status` says how it ended), as the audit log keeps it. */
interface AuditEvent {
  at: string;
  verb: string;
  path: string;
  /** The request's JSON body (behaviour, annotations, scale), if it had one. */
  body?: unknown;
  status?: number;
}
const AUDIT_MAX = 5000;
const auditLog: AuditEvent[] = [];
function audited(verb: string, path: string, body?: unknown, status?: number): void {
  auditLog.push({ at: new Date().toISOString(), verb, path, ...(body === undefined ? {} : { body }), ...(status === undefined ? {} : { status }) });
  if (auditLog.length > AUDIT_MAX) auditLog.splice(0, auditLog.length - AUDIT_MAX);
}
function jsonOrText(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    return raw;
  }
}

async function handleControl(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://control');
  const parts = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
  const method = req.method ?? 'GET';
  const template = `/${parts.map((p, i) => (parts[0] === 'pods' && i === 1 ? ':name' : p)).join('/')}`;
  const route = `${method} ${template}`;

  switch (route) {
    case 'GET /healthz':
      return sendJson(res, 200, { status: 'ok', name: NAME, pid: process.pid, port: cfg.port, controlPort: cfg.controlPort, stateDir: STATE_DIR });
    case 'GET /owner':
      return sendJson(res, 200, ownerView());
    case 'GET /audit':
      return sendJson(res, 200, auditLog);
    case 'PATCH /owner/annotations': {
      const patch = await readJson(req);
      ownerAnnotations = mergeAnnotations(ownerAnnotations, patch);
      audited(method, url.pathname, patch);
      writeJsonAtomic(ANNOTATIONS_FILE, ownerAnnotations); // durable before we answer
      persistFleet();
      return sendJson(res, 200, ownerView());
    }
    case 'POST /scale': {
      const parsed = ScaleBody.safeParse(await readJson(req));
      if (!parsed.success) throw new HttpError(400, 'body must be {"replicas": <integer 0..100>}');
      const problem = checkPorts(parsed.data.replicas);
      if (problem) throw new HttpError(400, problem);
      scale(parsed.data.replicas);
      audited(method, url.pathname, parsed.data);
      return sendJson(res, 200, ownerView());
    }
    case 'GET /pods':
      return sendJson(res, 200, pods().map(podView));
  }

  if (parts[0] === 'pods' && parts.length >= 2) {
    const pod = findPod(parts[1]);
    if (!pod) throw new HttpError(404, `pod ${parts[1]} not found`);
    switch (route) {
      case 'GET /pods/:name':
        return sendJson(res, 200, podView(pod));
      case 'DELETE /pods/:name': {
        terminatePod(pod, parseGrace(url.searchParams.get('gracePeriodSeconds')));
        audited(method, `${url.pathname}${url.search}`);
        return sendJson(res, 202, { name: pod.name, pid: pod.pid ?? null });
      }
      case 'PATCH /pods/:name/annotations': {
        const patch = await readJson(req);
        pod.annotations = mergeAnnotations(pod.annotations, patch);
        audited(method, url.pathname, patch);
        persistFleet();
        return sendJson(res, 200, podView(pod));
      }
      case 'GET /pods/:name/behaviour':
      case 'PUT /pods/:name/behaviour': {
        const body = method === 'PUT' ? await readBody(req) : undefined;
        let answer;
        try {
          answer = await request(pod.port, method, '/__tempest/behaviour', { body, headers: { 'content-type': 'application/json' } });
        } catch (err) {
          // Audited too: the replica may have applied a request whose answer was lost.
          if (method === 'PUT') audited(method, url.pathname, jsonOrText(body ?? ''), 502);
          return sendJson(res, 502, { error: 'pod unreachable', pod: pod.name, message: (err as Error).message });
        }
        if (method === 'PUT') audited(method, url.pathname, jsonOrText(body ?? ''), answer.status);
        res.writeHead(answer.status, { 'content-type': 'application/json; charset=utf-8' });
        return void res.end(answer.body);
      }
    }
  }
  const templates = [
    '/healthz',
    '/audit',
    '/owner',
    '/owner/annotations',
    '/scale',
    '/pods',
    '/pods/:name',
    '/pods/:name/annotations',
    '/pods/:name/behaviour',
  ];
  if (templates.includes(template)) throw new HttpError(405, `${method} not allowed on ${url.pathname}`);
  throw new HttpError(404, `no route ${url.pathname}`);
}

const control = http.createServer((req, res) => {
  handleControl(req, res).catch((err: unknown) => {
    if (res.headersSent) return void res.destroy();
    if (err instanceof HttpError) return sendJson(res, err.status, { error: err.message });
    say(`control error on ${req.method} ${req.url}: ${String(err)}`);
    sendJson(res, 500, { error: 'internal error' });
  });
});

// ---------------------------------------------------------------- lifecycle
function listen(server: http.Server, port: number, what: string): Promise<void> {
  return new Promise((resolve) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      fail(err.code === 'EADDRINUSE' ? `${what} port ${port} is in use (is a fleet already running?)` : `${what}: ${err.message}`),
    );
    server.listen(port, LOOPBACK, () => resolve());
  });
}

async function shutdown(reason: string): Promise<void> {
  if (shuttingDown) return;
  say(`${reason}: stopping ${pods().length} pod(s)`);
  shuttingDown = true;
  clearInterval(readinessLoop);
  for (const slot of slots.values()) if (slot.restartTimer) clearTimeout(slot.restartTimer);
  balancer.close();
  control.close();
  balancer.closeIdleConnections();
  control.closeIdleConnections();
  const all = pods();
  for (const pod of all) terminatePod(pod, SHUTDOWN_GRACE_SECONDS);
  await Promise.race([Promise.all(all.map((p) => p.exitedPromise)), new Promise((r) => setTimeout(r, (SHUTDOWN_GRACE_SECONDS + 1) * 1000))]);
  try {
    fs.rmSync(FLEET_FILE, { force: true });
  } catch {
    /* best effort */
  }
  say('stopped');
  process.exit(0);
}

async function main(): Promise<void> {
  const problem = checkPorts(cfg.replicas);
  if (problem) fail(problem);
  fs.mkdirSync(STATE_DIR, { recursive: true });
  const other = otherFleetPid();
  if (other !== undefined) fail(`another fleet (pid ${other}) is using ${STATE_DIR}`);

  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('uncaughtException', (err) => {
    say(`fatal: ${err.stack ?? err.message}`);
    for (const pod of pods()) pod.child.kill('SIGKILL'); // replicas would also notice our death on their own
    process.exit(1);
  });

  // Bind first: a second fleet on the same ports fails here, before it spawns anything.
  await listen(control, cfg.controlPort, 'control');
  await listen(balancer, cfg.port, 'balancer');
  say(`balancer http://${LOOPBACK}:${cfg.port}, control http://${LOOPBACK}:${cfg.controlPort}, state ${STATE_DIR}, pid ${process.pid}`);
  if (Object.keys(ownerAnnotations).length > 0) say(`reloaded ${Object.keys(ownerAnnotations).length} owner annotation(s) from ${ANNOTATIONS_FILE}`);
  scale(cfg.replicas);
}

void main();
