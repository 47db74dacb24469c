/**
 * Real Prometheus for integration tests, scraping a real local fleet (scripts/fleet).
 *
 *   const prom = await ensurePrometheus();            // installs it (scripts/prometheus/install) if missing
 *   if (!prom.ok) -> skip, with prom.reason
 *   const fleet = await startFleet({ name: 'api-gateway', replicas: 3 });
 *   const p = await startPrometheus({ bin: prom.bin, targets: fleet.targets, job: 'api-gateway' });
 *   await p.waitForTargetsUp();
 *   ... p.url is the Prometheus endpoint ...
 *   await p.stop(); await fleet.stop();
 *
 * Every process runs on free loopback ports with its own temporary directory; stop() removes it.
 */
import { type ChildProcess, execFile, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** The environment for child processes: jest's NODE_OPTIONS (--experimental-vm-modules) is not for them. */
export function childEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.NODE_OPTIONS;
  return env;
}

// ---------------------------------------------------------------- ports and waiting
function canBind(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

/** `count` consecutive free loopback ports (random base in 20000..59999). */
export async function freePortRange(count: number): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const base = 20000 + Math.floor(Math.random() * 40000);
    let ok = true;
    for (let i = 0; i < count && ok; i++) ok = await canBind(base + i);
    if (ok) return base;
  }
  throw new Error(`no ${count} consecutive free ports found`);
}

export const freePort = (): Promise<number> => freePortRange(1);

/** Polls fn until it answers something other than undefined/false; throws with the last error after timeoutMs. */
export async function waitFor<T>(what: string, fn: () => Promise<T | undefined | false>, timeoutMs: number, everyMs = 250): Promise<T> {
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

// ---------------------------------------------------------------- the binary
export type PrometheusAvailability = { ok: true; bin: string; version: string } | { ok: false; reason: string };

function findBinary(): string | undefined {
  const fromEnv = process.env.PROMETHEUS_BIN;
  if (fromEnv && fs.existsSync(fromEnv)) return fromEnv;
  const which = spawnSync('bash', ['-c', 'command -v prometheus'], { encoding: 'utf8' });
  const found = which.stdout.trim();
  return which.status === 0 && found ? found : undefined;
}

let availability: Promise<PrometheusAvailability> | undefined;

/**
 * The Prometheus binary, installed with scripts/prometheus/install (apt-get) when missing. Answers
 * `{ok: false, reason}` only when it cannot be installed; the caller skips its tests with that reason.
 */
export function ensurePrometheus(): Promise<PrometheusAvailability> {
  availability ??= (async (): Promise<PrometheusAvailability> => {
    let bin = findBinary();
    let installLog = '';
    if (!bin) {
      const out = await new Promise<{ code: number | null; text: string }>((resolve) => {
        execFile(path.join(ROOT, 'scripts/prometheus/install'), { cwd: ROOT, env: childEnv(), timeout: 300_000, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) =>
          resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, text: `${stdout}${stderr}` }),
        );
      });
      installLog = out.text.trim().split('\n').slice(-5).join('\n');
      bin = findBinary();
    }
    if (!bin) return { ok: false, reason: `prometheus is not installed and scripts/prometheus/install could not install it:\n${installLog}` };
    const v = spawnSync(bin, ['--version'], { encoding: 'utf8' });
    return { ok: true, bin, version: `${v.stdout}${v.stderr}`.split('\n')[0]!.trim() };
  })();
  return availability;
}

// ---------------------------------------------------------------- Prometheus
export interface PrometheusOptions {
  bin: string;
  /** host:port scrape targets. */
  targets: string[];
  job: string;
  /** Scrape (and evaluation) interval in seconds; also the scrape timeout. Default 1. */
  scrapeIntervalS?: number;
}

export interface PrometheusHandle {
  /** The endpoint guards and triggers talk to, e.g. http://127.0.0.1:41234. */
  url: string;
  port: number;
  dir: string;
  pid: number;
  /** Instant query: the raw `data.result` vector. */
  query(q: string): Promise<Array<{ metric: Record<string, string>; value: [number, string] }>>;
  /** Waits until every target of the job reports up == 1. */
  waitForTargetsUp(timeoutMs?: number): Promise<void>;
  /** Waits until every target of the job reports up == 0 (e.g. after the fleet was stopped). */
  waitForTargetsDown(timeoutMs?: number): Promise<void>;
  /** The last lines of Prometheus' log (for failure messages). */
  logTail(lines?: number): string;
  stop(): Promise<void>;
}

export async function startPrometheus(opts: PrometheusOptions): Promise<PrometheusHandle> {
  const port = await freePort();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tempest-prometheus-'));
  const interval = `${opts.scrapeIntervalS ?? 1}s`;
  const config = [
    'global:',
    `  scrape_interval: ${interval}`,
    `  scrape_timeout: ${interval}`,
    `  evaluation_interval: ${interval}`,
    'scrape_configs:',
    `  - job_name: ${JSON.stringify(opts.job)}`,
    '    static_configs:',
    `      - targets: ${JSON.stringify(opts.targets)}`,
    '',
  ].join('\n');
  const configFile = path.join(dir, 'prometheus.yml');
  fs.writeFileSync(configFile, config);
  const logFile = path.join(dir, 'prometheus.log');
  const out = fs.openSync(logFile, 'a');
  const child: ChildProcess = spawn(
    opts.bin,
    [
      `--config.file=${configFile}`,
      `--storage.tsdb.path=${path.join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--web.enable-lifecycle',
    ],
    { cwd: dir, env: childEnv(), stdio: ['ignore', out, out] },
  );
  fs.closeSync(out);
  let exited = false;
  const exitedPromise = new Promise<void>((resolve) => child.once('exit', () => ((exited = true), resolve())));
  const url = `http://127.0.0.1:${port}`;

  const logTail = (lines = 15) => {
    try {
      return fs.readFileSync(logFile, 'utf8').trim().split('\n').slice(-lines).join('\n');
    } catch {
      return '(no log)';
    }
  };

  const stop = async () => {
    if (!exited) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exitedPromise;
      clearTimeout(timer);
    }
    fs.rmSync(dir, { recursive: true, force: true });
  };

  const query = async (q: string) => {
    const res = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(q)}`, { signal: AbortSignal.timeout(5000) });
    const body = (await res.json()) as { status: string; error?: string; data: { result: Array<{ metric: Record<string, string>; value: [number, string] }> } };
    if (body.status !== 'success') throw new Error(`query ${q} failed: ${body.error}`);
    return body.data.result;
  };

  const upValues = async (): Promise<number[]> => (await query(`up{job=${JSON.stringify(opts.job)}}`)).map((r) => Number(r.value[1]));

  try {
    await waitFor(
      `Prometheus at ${url} to be ready`,
      async () => {
        if (exited) throw new Error(`prometheus exited: ${logTail(5)}`);
        return (await fetch(`${url}/-/ready`, { signal: AbortSignal.timeout(2000) })).ok;
      },
      30_000,
    );
  } catch (err) {
    await stop();
    throw err;
  }

  return {
    url,
    port,
    dir,
    pid: child.pid!,
    query,
    logTail,
    stop,
    async waitForTargetsUp(timeoutMs = 30_000) {
      await waitFor(
        `up{job="${opts.job}"} == 1 for all ${opts.targets.length} targets`,
        async () => {
          const ups = await upValues();
          return ups.length === opts.targets.length && ups.every((v) => v === 1);
        },
        timeoutMs,
      );
    },
    async waitForTargetsDown(timeoutMs = 30_000) {
      await waitFor(
        `up{job="${opts.job}"} == 0 for all ${opts.targets.length} targets`,
        async () => {
          const ups = await upValues();
          return ups.length === opts.targets.length && ups.every((v) => v === 0);
        },
        timeoutMs,
      );
    },
  };
}

// ---------------------------------------------------------------- the fleet to scrape
export interface FleetHandle {
  name: string;
  balancerUrl: string;
  controlUrl: string;
  /** host:port of each replica's /metrics, for Prometheus. */
  targets: string[];
  stateDir: string;
  /** Sets the behaviour of every current pod (PUT /pods/:name/behaviour); expires by itself after expiresInS. */
  setBehaviourAll(b: { latencyMs?: number; errorRate?: number; down?: boolean }, expiresInS?: number): Promise<void>;
  /** scripts/fleet/stop with the same flags. */
  stop(): Promise<void>;
}

function runScript(script: string, args: string[], timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(path.join(ROOT, script), args, { cwd: ROOT, env: childEnv(), timeout: timeoutMs }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${script} ${args.join(' ')} failed: ${err.message}\n${stdout}${stderr}`));
      else resolve(`${stdout}${stderr}`);
    });
  });
}

/** Starts a real fleet (scripts/fleet/start) on free ports with its own temporary state dir. */
export async function startFleet(opts: { name?: string; replicas?: number } = {}): Promise<FleetHandle> {
  const name = opts.name ?? 'api-gateway';
  const replicas = opts.replicas ?? 3;
  const base = await freePortRange(replicas + 2); // balancer, control, then the replicas
  const [port, controlPort, baseReplicaPort] = [base, base + 1, base + 2];
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tempest-fleet-'));
  const flags = [
    '--name', name,
    '--replicas', String(replicas),
    '--port', String(port),
    '--control-port', String(controlPort),
    '--state-dir', stateDir,
    '--base-replica-port', String(baseReplicaPort),
  ];
  const controlUrl = `http://127.0.0.1:${controlPort}`;
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await runScript('scripts/fleet/stop', flags, 30_000);
    fs.rmSync(stateDir, { recursive: true, force: true });
  };
  try {
    await runScript('scripts/fleet/start', flags, 90_000);
  } catch (err) {
    await stop().catch(() => {});
    throw err;
  }
  return {
    name,
    balancerUrl: `http://127.0.0.1:${port}`,
    controlUrl,
    targets: Array.from({ length: replicas }, (_, i) => `127.0.0.1:${baseReplicaPort + i}`),
    stateDir,
    async setBehaviourAll(b, expiresInS = 120) {
      const pods = (await (await fetch(`${controlUrl}/pods`)).json()) as Array<{ name: string }>;
      const expiresAt = new Date(Date.now() + expiresInS * 1000).toISOString();
      for (const pod of pods) {
        const res = await fetch(`${controlUrl}/pods/${pod.name}/behaviour`, {
          method: 'PUT',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ ...b, expiresAt, setBy: 'tempest-integration-test' }),
        });
        if (!res.ok) throw new Error(`PUT behaviour of ${pod.name} answered ${res.status}: ${await res.text()}`);
      }
    },
    stop,
  };
}
