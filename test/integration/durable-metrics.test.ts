/**
 * The seed's chaos totals are true across worker restarts and several workers (activities/metrics/durable.ts):
 * two worker PROCESSES on one task queue, a real Temporal dev server, a real Prometheus scraping both workers.
 * Two runs (one Pass, one Fail; a dry run besides, not counted), whichever worker ran them: both workers export the same totals; a worker
 * SIGKILLed and restarted still does; the seed's own success-rate query answers 50 on every worker; every query of
 * the Grafana dashboard is valid PromQL that Prometheus answers.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify, parse } from 'yaml';
import { Client, Connection } from '@temporalio/client';
import { TempestClient } from '../../client/client.js';
import type { ExperimentResult } from '../../activities/types.js';
import { engine } from '../helpers/engines.js';
import { testConfig } from '../helpers/config.js';
import { freePort, startFleet, waitFor, type TestFleet } from '../helpers/fleet.js';
import { ROOT } from '../helpers/temporal.js';
import { describeWithPrometheus, ensurePrometheus, startPrometheus, type PrometheusHandle } from '../helpers/prometheus.js';
import { killWorkerProcesses, sigkill, startWorkerProcess } from '../helpers/worker-process.js';
import { promInstant } from '../../activities/prometheus.js';

const availability = await ensurePrometheus();

describeWithPrometheus(availability)('durable chaos totals (two workers, a restart, the seed query)', () => {
  let fleet: TestFleet;
  let prom: PrometheusHandle | undefined;
  let connection: Connection;
  const name = `dm-${Math.random().toString(36).slice(2, 8)}`;

  beforeAll(async () => {
    fleet = await startFleet({ name: 'api-gateway', replicas: 3 });
    connection = await Connection.connect({ address: process.env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233' });
  }, 90_000);
  afterAll(async () => {
    killWorkerProcesses();
    await prom?.stop();
    await fleet?.stop();
    await connection?.close();
  }, 60_000);

  test('two workers export the same totals, a restarted one too, and the seed success rate is 50 on each', async () => {
    const [pa, pb] = [await freePort(), await freePort()];
    const a = testConfig(fleet, { metrics: { port: pa }, reconciler: { enabled: false } });
    // The second worker: the same task queue and policy, its own metrics port.
    const bDoc = { ...(parse(readFileSync(a.file, 'utf8')) as Record<string, unknown>), metrics: { port: pb } };
    const bFile = a.file.replace(/tempest\.yaml$/, 'tempest-b.yaml');
    writeFileSync(bFile, stringify(bDoc));
    let wa = await startWorkerProcess(a.file);
    await startWorkerProcess(bFile);

    const c = new TempestClient(new Client({ connection, namespace: 'default' }), a);
    // A Pass (no probe) and a Fail (a probe that wants 599 from a healthy fleet), real runs (dry runs are not counted).
    const pass = engine(name, 'pod-delete', { TOTAL_CHAOS_DURATION: '2', CHAOS_INTERVAL: '1' });
    const fail = engine(
      name,
      'pod-delete',
      { TOTAL_CHAOS_DURATION: '2', CHAOS_INTERVAL: '1' },
      `          - name: "wants-599"
            type: "httpProbe"
            mode: "SOT"
            runProperties: { probeTimeout: 2, retry: 1, interval: 1 }
            httpProbe/inputs:
              url: "http://api-gateway.footanalytics.svc.cluster.local:4000/health"
              method:
                get: { criteria: ==, responseCode: "599" }`,
    );
    const verdicts: string[] = [];
    for (const spec of [pass, fail]) {
      const h = await c.start(spec);
      verdicts.push(((await h.result()) as ExperimentResult).verdict);
    }
    expect(verdicts).toEqual(['Pass', 'Fail']);
    // A dry run is not an experiment result: not counted.
    await (await c.start(pass, { dryRun: true })).result();

    const metricsOf = async (port: number) => (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    const L = `experiment_name="${name}",namespace="footanalytics"`;
    const want = [
      `chaos_experiment_total{${L}} 2`,
      `chaos_experiment_success_total{${L}} 1`,
      `chaos_experiment_verdict_total{${L},verdict="Fail"} 1`,
      `chaos_experiment_verdict_last24h{${L},verdict="Pass"} 1`,
      `chaos_experiment_status{${L}} 0`,
      'tempest_metrics_source_up 1',
    ];
    for (const port of [pa, pb]) {
      const text = await waitFor(
        `worker :${port} counts both runs`,
        async () => {
          const t = await metricsOf(port);
          return t.includes(want[0]) && t;
        },
        30_000,
        1000,
      );
      for (const line of want) expect([port, text.includes(line)]).toEqual([port, true]);
    }

    // A worker restart does not reset them.
    await sigkill(wa);
    wa = await startWorkerProcess(a.file);
    const again = await metricsOf(pa);
    for (const line of want) expect(['restarted', again.includes(line)]).toEqual(['restarted', true]);

    // Prometheus scrapes both workers; the seed's own query is right on each.
    prom = await startPrometheus({ bin: availability.ok ? availability.bin : '', targets: [`127.0.0.1:${pa}`, `127.0.0.1:${pb}`], job: 'tempest-worker' });
    await prom.waitForTargetsUp(30_000);
    const rate = await waitFor(
      'the seed success rate',
      async () => {
        const r = await prom!.query(`chaos_experiment_success_total{experiment_name="${name}"} / chaos_experiment_total{experiment_name="${name}"} * 100`);
        return r.length === 2 && r;
      },
      30_000,
      1000,
    );
    expect(rate.map((s) => Number(s.value[1]))).toEqual([50, 50]);
    // The dashboard's queries are valid PromQL and answer; its success rate is 50 too, not doubled by two workers.
    const dash = JSON.parse(readFileSync(join(ROOT, 'deploy/grafana/chaos-dashboard.json'), 'utf8')) as {
      panels: Array<{ title?: string; targets?: Array<{ expr: string }> }>;
    };
    const exprs = dash.panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr));
    expect(exprs.length).toBeGreaterThanOrEqual(5);
    for (const e of exprs) await prom.query(e); // throws on a query Prometheus refuses
    const successPanel = exprs.find((e) => e.includes('chaos_experiment_success_total'))!;
    // (this task queue's workers count this test's runs only: the totals are per installation, by task queue)
    expect(await promInstant(prom.url, successPanel)).toBe(50);
  }, 180_000);
});
