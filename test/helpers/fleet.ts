/**
 * A real local fleet (scripts/fleet/fleet.ts) on free loopback ports for a test, the waiting and port helpers
 * every integration test shares, and bounded background traffic through a fleet's balancer.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from './temporal.js';
import { FleetClient, type Behaviour } from '../../activities/platform/local.js';

export const TSX_LOADER = `file://${ROOT}node_modules/tsx/dist/loader.mjs`;

function canBind(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

/** `count` consecutive free loopback ports (random base in 20000..59999); answers the first. */
export async function freePorts(count: number): Promise<number> {
  for (let i = 0; i < 200; i++) {
    const base = 20000 + Math.floor(Math.random() * 40000);
    let ok = true;
    for (let j = 0; j < count && ok; j++) ok = await canBind(base + j);
    if (ok) return base;
  }
  throw new Error(`no ${count} consecutive free ports found`);
}

/** One free loopback port (e.g. for "nothing listens there"). */
export const freePort = (): Promise<number> => freePorts(1);

/** Polls fn until it answers something other than undefined/false; throws with the last error after timeoutMs. */
export async function waitFor<T>(
  what: string,
  fn: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs = 30_000,
  everyMs = 200,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined && v !== false) return v as T;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (last error: ${String(last)})` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Running = exists and is not a zombie (an orphan killed here may wait for a PID 1 that never reaps it). */
export function isAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return false;
  }
}

export interface TestFleet {
  name: string;
  balancerUrl: string;
  controlUrl: string;
  client: FleetClient;
  /**
   * host:port of each replica slot (its /metrics), for Prometheus scrape targets, as `GET /pods` reported them
   * once the fleet was ready. A slot keeps its port across pod replacements, so these stay valid.
   */
  targets: string[];
  stateDir: string;
  /** Sets the behaviour of every current pod (through the control API); it expires by itself after expiresInS. */
  setBehaviourAll(b: Partial<Pick<Behaviour, 'latencyMs' | 'errorRate' | 'down'>>, expiresInS?: number): Promise<void>;
  /** SIGTERM (SIGKILL after 10 s) and removal of the state dir. Idempotent. */
  stop(): Promise<void>;
}

export async function startFleet(opts: { name?: string; replicas?: number; restartDelayMs?: number } = {}): Promise<TestFleet> {
  const replicas = opts.replicas ?? 3;
  const base = await freePorts(replicas + 2); // balancer, control, then the replica slots
  const name = opts.name ?? 'api-gateway';
  const stateDir = mkdtempSync(join(tmpdir(), 'tempest-fleet-'));
  const args = [
    '--no-warnings',
    '--import',
    TSX_LOADER,
    join(ROOT, 'scripts/fleet/fleet.ts'),
    '--name',
    name,
    '--replicas',
    String(replicas),
    '--port',
    String(base),
    '--control-port',
    String(base + 1),
    '--base-replica-port',
    String(base + 2),
    '--state-dir',
    stateDir,
    '--restart-delay-ms',
    String(opts.restartDelayMs ?? 500),
  ];
  const child: ChildProcess = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] });
  const controlUrl = `http://127.0.0.1:${base + 1}`;
  const client = new FleetClient(controlUrl);
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
    rmSync(stateDir, { recursive: true, force: true });
  };
  let targets: string[];
  try {
    await waitFor(
      'fleet ready',
      async () => {
        const o = await client.owner();
        return o.ready === replicas && o.desired === replicas;
      },
      60_000,
      300,
    );
    targets = (await client.pods()).sort((a, b) => a.slot - b.slot).map((p) => `127.0.0.1:${p.port}`);
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    name,
    balancerUrl: `http://127.0.0.1:${base}`,
    controlUrl,
    client,
    targets,
    stateDir,
    async setBehaviourAll(b, expiresInS = 120) {
      const expiresAt = new Date(Date.now() + expiresInS * 1000).toISOString();
      for (const pod of await client.pods()) {
        if (!(await client.setBehaviour(pod.name, { ...b, expiresAt, setBy: 'tempest-integration-test' }))) throw new Error(`pod ${pod.name} is gone`);
      }
    },
    stop,
  };
}

// ---------------------------------------------------------------- bounded traffic
export interface TrafficStats {
  sent: number;
  /** Answers by status code, plus `error` (no answer), `aborted` (still in flight at stop()) and `skipped` (maxInFlight reached). */
  byStatus: Record<string, number>;
}

export interface Traffic {
  stats: TrafficStats;
  /** Stops sending, aborts what is in flight, and answers the final counts. Idempotent. */
  stop(): Promise<TrafficStats>;
}

/**
 * GET {url}/health at `rps` requests per second until stop() (or maxMs at the latest), never more than
 * maxInFlight at once. Requests are fired on a timer, not one after the other, so injected latency does not
 * lower the rate.
 */
export function startTraffic(url: string, rps: number, maxMs: number, maxInFlight = 200): Traffic {
  const stats: TrafficStats = { sent: 0, byStatus: {} };
  const inFlight = new Set<Promise<void>>();
  const controller = new AbortController();
  const count = (k: string): void => {
    stats.byStatus[k] = (stats.byStatus[k] ?? 0) + 1;
  };
  const timer = setInterval(() => {
    if (inFlight.size >= maxInFlight) return void count('skipped');
    stats.sent += 1;
    const p: Promise<void> = fetch(`${url}/health`, { signal: AbortSignal.any([controller.signal, AbortSignal.timeout(15_000)]) })
      .then(async (res) => {
        await res.arrayBuffer();
        count(String(res.status));
      })
      .catch(() => count(controller.signal.aborted ? 'aborted' : 'error'))
      .finally(() => inFlight.delete(p));
    inFlight.add(p);
  }, 1000 / rps);
  const guard = setTimeout(() => clearInterval(timer), maxMs);
  return {
    stats,
    async stop() {
      clearInterval(timer);
      clearTimeout(guard);
      controller.abort();
      await Promise.allSettled([...inFlight]);
      return stats;
    },
  };
}
