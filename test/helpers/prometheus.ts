/**
 * Real Prometheus for integration tests, scraping a real local fleet (test/helpers/fleet.ts).
 *
 *   const prom = await ensurePrometheus();            // installs it (scripts/prometheus/install) if missing
 *   describeWithPrometheus(prom)('...', () => { ... })   // when it could not be installed: ONE failing test, never a skip
 *   const fleet = await startFleet({ name: 'api-gateway', replicas: 3 });
 *   const p = await startPrometheus({ bin: prom.bin, targets: fleet.targets, job: fleet.name });
 *   await p.waitForTargetsUp();
 *   ... p.url is the Prometheus endpoint; seedTriggers(p.url, fleet.name) the seed's rollback triggers ...
 *   await p.stop(); await fleet.stop();
 *
 * Prometheus runs on a free loopback port with its own temporary directory; stop() removes it.
 */
import { type ChildProcess, execFile, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { RollbackTriggerSpec } from '../../config/spec.js';
import type { ExperimentResult } from '../../activities/types.js';
import { compareNumeric } from '../../activities/probes/comparators.js';
import { promInstant } from '../../activities/prometheus.js';
import { freePort, waitFor } from './fleet.js';
import { ROOT } from './temporal.js';

/** The environment for child processes: jest's NODE_OPTIONS (--experimental-vm-modules) is not for them. */
export function childEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.NODE_OPTIONS;
  return env;
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
        execFile(
          path.join(ROOT, 'scripts/prometheus/install'),
          { cwd: ROOT, env: childEnv(), timeout: 300_000, maxBuffer: 16 * 1024 * 1024 },
          (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, text: `${stdout}${stderr}` }),
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
  /** Rule files Prometheus loads; default the SLO recording rules Tempest ships (deploy/prometheus/slo-rules.yaml). */
  ruleFiles?: string[];
}

/** The SLO recording rules Tempest ships: every test Prometheus evaluates them, as a real installation would. */
export const SLO_RULES = path.join(ROOT, 'deploy/prometheus/slo-rules.yaml');

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
    'rule_files:',
    ...(opts.ruleFiles ?? [SLO_RULES]).map((f) => `  - ${JSON.stringify(f)}`),
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
    [`--config.file=${configFile}`, `--storage.tsdb.path=${path.join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--web.enable-lifecycle'],
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

  /** Waits until every target of the job reports up == want. */
  const waitForUp = (want: 0 | 1, timeoutMs: number) =>
    waitFor(
      `up{job="${opts.job}"} == ${want} for all ${opts.targets.length} targets`,
      async () => {
        const ups = (await query(`up{job=${JSON.stringify(opts.job)}}`)).map((r) => Number(r.value[1]));
        return ups.length === opts.targets.length && ups.every((v) => v === want);
      },
      timeoutMs,
    );

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
      await waitForUp(1, timeoutMs);
    },
    async waitForTargetsDown(timeoutMs = 30_000) {
      await waitForUp(0, timeoutMs);
    },
  };
}

// ---------------------------------------------------------------- the seed's rollback triggers
/**
 * The seed's three rollback triggers as Prometheus expressions over the fleet's replica metrics, with a rate
 * window short enough (default 10 s) for a test to see them move within seconds:
 *   error-rate    share of 5xx answers                    >= 0.05
 *   p95-latency   P95 of http_request_duration_seconds     >= 2 (s)
 *   availability  share of non-5xx answers                 <= 0.95
 */
export function seedTriggers(endpoint: string, job: string, window = '10s'): RollbackTriggerSpec[] {
  const j = JSON.stringify(job);
  const all = `sum(rate(http_requests_total{job=${j}}[${window}]))`;
  return [
    { name: 'error-rate', endpoint, criteria: '>=', threshold: '0.05', query: `sum(rate(http_requests_total{job=${j},code=~"5.."}[${window}])) / ${all}` },
    {
      name: 'p95-latency',
      endpoint,
      criteria: '>=',
      threshold: '2',
      query: `histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket{job=${j}}[${window}])))`,
    },
    { name: 'availability', endpoint, criteria: '<=', threshold: '0.95', query: `sum(rate(http_requests_total{job=${j},code!~"5.."}[${window}])) / ${all}` },
  ];
}

/**
 * Waits until Prometheus has values for the triggers (traffic reaches it) and none of them would fire: a healthy
 * baseline before an experiment, and after one, a rate window that no longer holds the last fault's samples.
 * Answers the values by trigger name (null: no sample).
 */
export function waitForQuietTriggers(triggers: RollbackTriggerSpec[], timeoutMs = 45_000): Promise<Record<string, number | null>> {
  return waitFor(
    `no rollback trigger to fire (${triggers.map((t) => t.name).join(', ')})`,
    async () => {
      const values: Record<string, number | null> = {};
      for (const t of triggers) {
        const v = await promInstant(t.endpoint, t.query);
        if (v !== null && !Number.isNaN(v) && compareNumeric(v, t.criteria, t.threshold).ok) throw new Error(`${t.name} is ${v}`);
        values[t.name] = v;
      }
      return Object.values(values).some((v) => v !== null) && values;
    },
    timeoutMs,
    1000,
  );
}

/** The moments a breach run is measured by, from an experiment result (one fault, one breach). */
export interface BreachTimings {
  /** Fault injected (every target set) -> the trigger evaluation that saw the breach. */
  injectionToBreachMs: number;
  /** That breach -> the revert verified on the target (every replica read back clean, ledger clean). */
  breachToRevertMs: number;
  /** Injection -> verified revert. */
  injectionToRevertMs: number;
  /** The workflow's own recoveryMs: end of chaos -> every revert verified. */
  recoveryMs: number | undefined;
}

export function breachTimings(r: ExperimentResult): BreachTimings {
  const fault = r.faults[0];
  if (!r.breach || !fault?.injectedAt || !fault.revertedAt) {
    throw new Error(`not a breach run with an injected and reverted fault: breach ${JSON.stringify(r.breach)}, fault ${JSON.stringify(fault)}`);
  }
  const [injected, breached, reverted] = [fault.injectedAt, r.breach.at, fault.revertedAt].map((t) => Date.parse(t)) as [number, number, number];
  return {
    injectionToBreachMs: breached - injected,
    breachToRevertMs: reverted - breached,
    injectionToRevertMs: reverted - injected,
    recoveryMs: r.recoveryMs,
  };
}

/**
 * `describe` when Prometheus is available; otherwise a describe block with one test that FAILS with the reason
 * (a test that needs a server the set-up could not start must fail, never skip).
 */
export function describeWithPrometheus(a: PrometheusAvailability): (name: string, fn: () => void) => void {
  if (a.ok) return describe;
  return (name: string) =>
    describe(name, () => {
      test('Prometheus is available', () => {
        throw new Error(`Prometheus could not be installed or found: ${a.reason}`);
      });
    });
}
