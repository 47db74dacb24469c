/**
 * Breach-to-revert benchmark: how fast does a rollback trigger stop the chaos once the system breaks?
 *
 *   node --import tsx bench/breach-to-revert.ts [--runs 3] [--out bench/results/breach-to-revert.json]
 *
 * Starts its own local fleet (3 replicas), a real Prometheus scraping the replicas every second, and an in-process
 * worker against the Temporal dev server (TEMPORAL_ADDRESS, default 127.0.0.1:7233; scripts/temporal-dev starts
 * it). Then, N times, under 20 req/s of traffic through the balancer: waits for a healthy baseline (no trigger
 * would fire), runs the experiment workflow with pod-network-latency 2500 ms on 100 % of the pods for 120 s and
 * the seed's three rollback triggers polled every second, and records from the result:
 *   injection -> breach           (fault set on every target -> the trigger evaluation that saw the breach)
 *   breach -> verified revert     (-> every replica read back clean and the fault ledger empty)
 *   injection -> verified revert  (the total)
 * Writes them per run with min/median/max and the machine it ran on. Measures Tempest only: no other chaos tool
 * is installed here, so there is no comparison in the output.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { Command } from 'commander';
import { createWorker } from '../workers/worker.js';
import { TempestClient } from '../client/client.js';
import { startFleet, startTraffic, type TestFleet } from '../test/helpers/fleet.js';
import {
  breachTimings,
  ensurePrometheus,
  seedTriggers,
  startPrometheus,
  waitForQuietTriggers,
  type BreachTimings,
  type PrometheusHandle,
} from '../test/helpers/prometheus.js';
import { testConfig } from '../test/helpers/config.js';
import { engine } from '../test/helpers/engines.js';
import { TEMPORAL_CLI } from '../test/helpers/temporal.js';

const JOB = 'api-gateway';
const RPS = 20;
const SCRAPE_INTERVAL_S = 1;
const TRIGGER_POLL_S = 1;
const RATE_WINDOW = '10s';
const FAULT_ENV = { NETWORK_LATENCY: '2500', PODS_AFFECTED_PERC: '100', TOTAL_CHAOS_DURATION: '120' };

const opts = new Command()
  .option(
    '--runs <n>',
    'breach experiments to run',
    (v) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 1 || n > 100) throw new Error('--runs takes a whole number from 1 to 100');
      return n;
    },
    3,
  )
  .option('--out <file>', 'where the JSON goes', 'bench/results/breach-to-revert.json')
  .parse()
  .opts<{ runs: number; out: string }>();

Runtime.install({ logger: new DefaultLogger('WARN') });

const say = (m: string) => console.log(`[bench] ${m}`);
const METRICS: Array<keyof BreachTimings> = ['injectionToBreachMs', 'breachToRevertMs', 'injectionToRevertMs', 'recoveryMs'];

function stats(xs: number[]): { n: number; min: number; median: number; max: number } | null {
  if (!xs.length) return null;
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return { n: s.length, min: s[0]!, median: s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2, max: s[s.length - 1]! };
}

function versionOf(cmd: string, args: string[]): string | null {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
      .split('\n')[0]!
      .trim();
  } catch {
    return null;
  }
}

async function main(): Promise<void> {
  const prometheus = await ensurePrometheus();
  if (!prometheus.ok) throw new Error(prometheus.reason);
  const address = process.env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233';
  let connection: Connection | undefined;
  let fleet: TestFleet | undefined;
  let prom: PrometheusHandle | undefined;
  const runs: Array<Record<string, unknown>> = [];
  const started = new Date();
  try {
    connection = await Connection.connect({ address, connectTimeout: '5s' });
    fleet = await startFleet({ name: JOB, replicas: 3 });
    prom = await startPrometheus({ bin: prometheus.bin, targets: fleet.targets, job: JOB, scrapeIntervalS: SCRAPE_INTERVAL_S });
    await prom.waitForTargetsUp(30_000);
    say(`fleet ${fleet.balancerUrl} (${fleet.targets.join(', ')}), Prometheus ${prom.url}, Temporal ${address}`);
    const triggers = seedTriggers(prom.url, JOB, RATE_WINDOW);
    const cfg = testConfig(fleet, { rollbackTriggers: { pollInterval: TRIGGER_POLL_S, triggers } });
    const worker = await createWorker({ config: cfg });
    const tc = new TempestClient(new Client({ connection, namespace: 'default' }), cfg);

    await worker.runUntil(async () => {
      for (let i = 1; i <= opts.runs; i++) {
        const load = startTraffic(fleet!.balancerUrl, RPS, 180_000);
        try {
          await waitForQuietTriggers(triggers, 60_000);
          const t0 = Date.now();
          const r = await tc.result((await tc.start(engine(`api-gateway-breach-bench-${i}`, 'pod-network-latency', FAULT_ENV))).workflowId);
          const wallMs = Date.now() - t0;
          if (r.verdict !== 'Fail' || r.breach?.name !== 'p95-latency')
            throw new Error(`run ${i}: expected a p95-latency breach, got ${r.verdict}: ${r.reason}`);
          const t = breachTimings(r);
          // Tempest's verify already read every replica back; read them once more from outside, to be sure.
          const slow: string[] = [];
          for (const p of await fleet!.client.pods()) if ((await fleet!.client.behaviour(p.name))?.latencyMs !== 0) slow.push(p.name);
          if (slow.length) throw new Error(`run ${i}: still slow after the revert: ${slow.join(', ')}`);
          runs.push({
            run: i,
            workflowId: r.workflowId,
            verdict: r.verdict,
            breach: r.breach,
            ...t,
            workflowMs: wallMs,
            injectedAt: r.faults[0].injectedAt,
            revertedAt: r.faults[0].revertedAt,
            replicasReadBackClean: true,
          });
          say(
            `run ${i}/${opts.runs}: ${r.breach.name}=${r.breach.value.toFixed(3)}; injection->breach ${t.injectionToBreachMs} ms, breach->verified revert ${t.breachToRevertMs} ms, total ${t.injectionToRevertMs} ms`,
          );
        } finally {
          await load.stop();
        }
      }
    });
  } finally {
    await prom?.stop();
    await fleet?.stop();
    await connection?.close();
  }

  const summary = Object.fromEntries(METRICS.map((m) => [m, stats(runs.map((r) => r[m]).filter((v): v is number => typeof v === 'number'))]));
  const out = {
    benchmark: 'breach-to-revert',
    tool: 'tempest',
    comparison:
      'none: this measures Tempest only. No other chaos tool (e.g. Litmus, Chaos Mesh) is installed on this machine, so no peer numbers were measured or are given.',
    startedAt: started.toISOString(),
    endedAt: new Date().toISOString(),
    command: `node --import tsx bench/breach-to-revert.ts --runs ${opts.runs} --out ${opts.out}`,
    scenario: {
      engine: 'pod-network-latency (local driver: every replica delays each answer, self-expiring)',
      env: FAULT_ENV,
      replicas: 3,
      traffic: `${RPS} req/s GET /health through the fleet's balancer`,
      triggers: seedTriggers('<prometheus>', JOB, RATE_WINDOW).map(({ name, query, criteria, threshold }) => ({ name, query, criteria, threshold })),
      definitions: {
        injectionToBreachMs: "result.breach.at - result.faults[0].injectedAt (injectedAt: the inject activity's end, every target set)",
        breachToRevertMs: 'result.faults[0].revertedAt - result.breach.at (revertedAt: revert verified on every replica, ledger clean)',
        injectionToRevertMs: 'result.faults[0].revertedAt - result.faults[0].injectedAt',
        recoveryMs: "the workflow's own: end of chaos -> every revert verified",
      },
    },
    machine: {
      nproc: os.availableParallelism(),
      cpu: os.cpus()[0]?.model ?? null,
      memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
      os: `${os.type()} ${os.release()} ${os.arch()}`,
      node: process.version,
      prometheus: prometheus.version,
      prometheusScrapeIntervalS: SCRAPE_INTERVAL_S,
      triggerPollIntervalS: TRIGGER_POLL_S,
      triggerRateWindow: RATE_WINDOW,
      temporal: { address, cli: fs.existsSync(TEMPORAL_CLI) ? versionOf(TEMPORAL_CLI, ['--version']) : null },
    },
    runs,
    summary,
  };
  const file = path.resolve(opts.out);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, `${JSON.stringify(out, null, 2)}\n`);
  for (const [m, s] of Object.entries(summary)) say(`${m}: ${s ? `min ${s.min} / median ${s.median} / max ${s.max} ms (n=${s.n})` : 'no values'}`);
  say(`wrote ${path.relative(process.cwd(), file)}`);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(`[bench] failed: ${err instanceof Error ? err.stack : String(err)}`);
    process.exit(1);
  },
);
