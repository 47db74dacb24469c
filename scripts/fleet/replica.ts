/**
 * One replica ("pod") of the local fleet: a tiny HTTP app standing in for the seed's api-gateway.
 *
 *   GET  /health              200 {"status":"ok","pod":NAME}
 *   POST /graphql             200 {"data":{"health":"ok"}}          (JSON body, optional)
 *   GET  /model/health        200 {"status":"ok","pod":NAME}
 *   GET  /metrics             Prometheus text (own registry)
 *   GET|PUT /__tempest/behaviour   fault-injection control (never delayed, never failed)
 *
 * Behaviour is what chaos faults flip: latencyMs delays the app routes, errorRate turns a share of them
 * into 500s, down answers 503 on everything but the control endpoint. expiresAt is a dead-man switch:
 * past it the replica goes back to normal on its own, even if whoever injected the fault is gone.
 *
 * Usage: node --import tsx scripts/fleet/replica.ts --port 4010 --name api-gateway-abcde [--fleet api-gateway] [--parent-pid N]
 */
import http from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { Command } from 'commander';
import client from 'prom-client';
import { z } from 'zod';
import { HttpError, LOOPBACK, intOption, log, readJson, sendJson } from './common.js';

export interface Behaviour {
  latencyMs: number;
  /** Share of app requests answered 500, 0..1. */
  errorRate: number;
  /** 503 on everything except the control endpoint. */
  down: boolean;
  /** ISO time after which the behaviour resets to normal by itself; null = no expiry. */
  expiresAt: string | null;
  /** Who set it (free text, e.g. an experiment/run id). */
  setBy: string | null;
}

export const NORMAL_BEHAVIOUR: Readonly<Behaviour> = Object.freeze({ latencyMs: 0, errorRate: 0, down: false, expiresAt: null, setBy: null });

/** PUT body: a full replacement; omitted fields take their normal value. */
const BehaviourInput = z
  .object({
    latencyMs: z.number().int().min(0).max(600_000).default(0),
    errorRate: z.number().min(0).max(1).default(0),
    down: z.boolean().default(false),
    expiresAt: z.string().datetime({ offset: true }).nullable().default(null),
    setBy: z.string().max(512).nullable().default(null),
  })
  .strict();

const program = new Command()
  .name('replica')
  .description('One replica of the local Tempest fleet (loopback only).')
  .requiredOption('--port <port>', 'port to listen on (127.0.0.1)', intOption('--port', 1, 65535))
  .requiredOption('--name <pod>', 'pod name, reported in /health and logs')
  .option('--fleet <name>', 'name of the fleet (deployment) this pod belongs to', 'api-gateway')
  .option('--parent-pid <pid>', 'exit when this process is no longer our parent (set by fleet.ts)', intOption('--parent-pid', 1, 2 ** 22))
  .parse();

const opts = program.opts<{ port: number; name: string; fleet: string; parentPid?: number }>();
const POD = opts.name;
const say = (message: string) => log(POD, message);

// ---------------------------------------------------------------- metrics
const registry = new client.Registry();
client.collectDefaultMetrics({ register: registry });
const duration = new client.Histogram({
  name: 'http_request_duration_seconds',
  help: 'HTTP request duration in seconds, including injected latency.',
  labelNames: ['method', 'route', 'code'] as const,
  buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  registers: [registry],
});
const requests = new client.Counter({
  name: 'http_requests_total',
  help: 'HTTP requests served.',
  labelNames: ['method', 'route', 'code'] as const,
  registers: [registry],
});
new client.Gauge({ name: 'tempest_replica_info', help: 'Identity of this replica (always 1).', labelNames: ['pod', 'fleet'] as const, registers: [registry] })
  .labels(POD, opts.fleet)
  .set(1);

const CONTROL_PATH = '/__tempest/behaviour';
const KNOWN_ROUTES = new Set(['/health', '/graphql', '/model/health', '/metrics', CONTROL_PATH]);

// ---------------------------------------------------------------- behaviour
let behaviour: Behaviour = { ...NORMAL_BEHAVIOUR };
let expiryTimer: NodeJS.Timeout | undefined;

/** The behaviour in force now: expiry is applied on every read, so no request ever sees a stale fault. */
function currentBehaviour(): Behaviour {
  if (behaviour.expiresAt !== null && Date.now() >= Date.parse(behaviour.expiresAt)) {
    say(`behaviour expired at ${behaviour.expiresAt} (set by ${behaviour.setBy ?? '?'}): back to normal`);
    behaviour = { ...NORMAL_BEHAVIOUR };
  }
  return behaviour;
}

function setBehaviour(next: Behaviour): void {
  behaviour = next;
  clearTimeout(expiryTimer);
  if (next.expiresAt !== null) {
    // Only for a timely log line; correctness comes from currentBehaviour(). Capped to setTimeout's max.
    const delay = Math.min(Math.max(0, Date.parse(next.expiresAt) - Date.now()), 2 ** 31 - 1);
    expiryTimer = setTimeout(currentBehaviour, delay).unref();
  }
  say(`behaviour set: ${JSON.stringify(next)}`);
}

// ---------------------------------------------------------------- server
let shuttingDown = false;

/** Sends JSON; while shutting down, also closes the keep-alive connection so the balancer stops reusing it. */
function reply(res: http.ServerResponse, status: number, body: unknown): void {
  sendJson(res, status, body, shuttingDown ? { connection: 'close' } : {});
}

async function handle(req: http.IncomingMessage, res: http.ServerResponse, path: string): Promise<void> {
  const method = req.method ?? 'GET';

  if (path === CONTROL_PATH) {
    if (method === 'GET') return reply(res, 200, currentBehaviour());
    if (method === 'PUT') {
      const parsed = BehaviourInput.safeParse(await readJson(req));
      if (!parsed.success) return reply(res, 400, { error: 'invalid behaviour', issues: parsed.error.issues });
      const b = parsed.data;
      setBehaviour({ ...b, expiresAt: b.expiresAt === null ? null : new Date(b.expiresAt).toISOString() });
      return reply(res, 200, currentBehaviour());
    }
    return reply(res, 405, { error: `method ${method} not allowed` });
  }

  const b = currentBehaviour();
  if (b.down) return reply(res, 503, { error: 'down', pod: POD });

  if (path === '/metrics') {
    if (method !== 'GET') return reply(res, 405, { error: `method ${method} not allowed` });
    const text = await registry.metrics();
    res.writeHead(200, { 'content-type': registry.contentType, ...(shuttingDown ? { connection: 'close' } : {}) });
    return void res.end(text);
  }

  const app: Record<string, string> = { '/health': 'GET', '/graphql': 'POST', '/model/health': 'GET' };
  if (!(path in app)) return reply(res, 404, { error: 'not found', path });
  if (method !== app[path]) return reply(res, 405, { error: `method ${method} not allowed` });

  const body = path === '/graphql' ? await readJson(req) : undefined; // validates JSON before any delay
  if (b.latencyMs > 0) await sleep(b.latencyMs);
  if (b.errorRate > 0 && Math.random() < b.errorRate) return reply(res, 500, { error: 'injected error', pod: POD });

  if (path === '/graphql') {
    void body; // any query is answered the same way: this is a liveness stand-in, not a GraphQL server
    return reply(res, 200, { data: { health: 'ok' } });
  }
  return reply(res, 200, { status: 'ok', pod: POD });
}

const server = http.createServer((req, res) => {
  const path = new URL(req.url ?? '/', 'http://replica').pathname;
  const route = KNOWN_ROUTES.has(path) ? path : 'unmatched';
  const endTimer = duration.startTimer();
  // 'close' fires for finished and aborted responses alike; an aborted one is recorded as 499 (client gone).
  res.once('close', () => {
    const labels = { method: req.method ?? 'GET', route, code: String(res.writableFinished ? res.statusCode : 499) };
    endTimer(labels);
    requests.inc(labels);
  });
  handle(req, res, path).catch((err: unknown) => {
    if (res.headersSent) return void res.destroy();
    if (err instanceof HttpError) return reply(res, err.status, { error: err.message });
    say(`error on ${req.method} ${path}: ${String(err)}`);
    reply(res, 500, { error: 'internal error' });
  });
});

server.on('error', (err) => {
  say(`server error: ${err.message}`);
  process.exit(1);
});

server.listen(opts.port, LOOPBACK, () => say(`listening on http://${LOOPBACK}:${opts.port} (fleet ${opts.fleet}, pid ${process.pid})`));

/** Graceful stop: no new connections, in-flight requests finish, hard exit(0) after 1.5 s at the latest. */
function shutdown(reason: string): void {
  if (shuttingDown) return;
  shuttingDown = true;
  say(`${reason}: shutting down`);
  server.close(() => process.exit(0));
  server.closeIdleConnections();
  setTimeout(() => {
    server.closeAllConnections();
    process.exit(0);
  }, 1500).unref();
}

process.on('SIGTERM', () => shutdown('SIGTERM'));
process.on('SIGINT', () => shutdown('SIGINT'));

// Dead-parent watchdog: if the fleet dies (even by SIGKILL) we get re-parented, so ppid changes.
if (opts.parentPid !== undefined) {
  const parentPid = opts.parentPid;
  setInterval(() => {
    if (process.ppid !== parentPid) shutdown(`parent ${parentPid} is gone`);
  }, 1000).unref();
}
