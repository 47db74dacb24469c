/**
 * The trust boundary end to end, on the real Temporal dev server, a real fleet and the local PagerDuty server:
 *
 *  - no secret reaches a history, a report, a log line or a metric: a worker PROCESS whose policy has a
 *    PagerDuty guard (token by env reference) and a PagerDuty rollback action (routing key by env reference)
 *    runs an experiment whose stopOnFailure probe fails, so the guard and the action really use both secrets;
 *    then the full history (`temporal workflow show --output json`), the reports, the worker's output and its
 *    /metrics are searched for them;
 *  - a client that starts the workflow itself cannot weaken the policy: its own (legacy) guard and action lists
 *    are ignored, the worker's freeze guard still blocks the run, the client's action endpoint is never called;
 *  - a crafted spec (outside the blast radius, a shell string in a parameter) is refused by the worker with
 *    nothing injected.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { createWorker } from '../../workers/worker.js';
import type { ExperimentInput } from '../../config/spec.js';
import type { ExperimentResult } from '../../activities/types.js';
import { freePort, startFleet, waitFor, type TestFleet } from '../helpers/fleet.js';
import { testConfig } from '../helpers/config.js';
import { engine, engineYaml } from '../helpers/engines.js';
import { startPagerDuty, type PagerDutyHandle } from '../helpers/pagerduty.js';
import { ROOT, TEMPORAL_CLI } from '../helpers/temporal.js';

const ADDRESS = process.env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233';
let fleet: TestFleet;
let pd: PagerDutyHandle;
let connection: Connection;
let client: Client;
const TOKEN = `pd-token-${randomBytes(12).toString('hex')}`;
let ROUTING_KEY: string;
const dirs: string[] = [];

beforeAll(async () => {
  fleet = await startFleet();
  pd = await startPagerDuty({ token: TOKEN });
  ROUTING_KEY = pd.routingKey('trust-boundary');
  connection = await Connection.connect({ address: ADDRESS });
  client = new Client({ connection, namespace: 'default' });
}, 90_000);

afterAll(async () => {
  await fleet?.stop();
  await pd?.stop();
  await connection?.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** A failing, stopOnFailure health probe: the run ends in an emergency rollback, so the rollback actions run. */
const failingProbe = `          - name: health-must-be-599
            type: httpProbe
            mode: Continuous
            runProperties: { probeTimeout: 2, interval: 1, attempt: 1, probePollingInterval: 1, stopOnFailure: true }
            httpProbe/inputs:
              url: http://api-gateway.footanalytics:4000/health
              method:
                get: { criteria: "==", responseCode: "599" }
`;

test('no secret in the history, the reports, the worker output or /metrics, although the guard and the rollback action used both', async () => {
  const metricsPort = await freePort();
  const cfg = testConfig(fleet, {
    guards: [{ type: 'pagerduty', name: 'no-open-incidents', apiUrl: pd.url, tokenEnv: 'TEMPEST_TRUST_PD_TOKEN' }],
    rollbackActions: [{ type: 'pagerduty', name: 'Trigger incident', eventsUrl: `${pd.url}/v2/enqueue`, routingKeyEnv: 'TEMPEST_TRUST_PD_ROUTING_KEY' }],
    metrics: { port: metricsPort },
  });
  const dir = mkdtempSync(join(tmpdir(), 'tempest-trust-'));
  dirs.push(dir);
  const file = join(dir, 'engine.yaml');
  writeFileSync(
    file,
    engineYaml('trust-boundary-run', 'footanalytics', 'api-gateway', 'pod-delete', { TOTAL_CHAOS_DURATION: '20', CHAOS_INTERVAL: '5' }, failingProbe),
  );

  // The worker process holds the secrets in ITS environment; the CLI (the client) never sees them.
  let workerOut = '';
  const worker: ChildProcess = spawn(`${ROOT}bin/tempest`, ['--config', cfg.file, 'worker'], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, TEMPEST_TRUST_PD_TOKEN: TOKEN, TEMPEST_TRUST_PD_ROUTING_KEY: ROUTING_KEY },
  });
  worker.stdout!.on('data', (d: Buffer) => (workerOut += d.toString()));
  worker.stderr!.on('data', (d: Buffer) => (workerOut += d.toString()));
  try {
    await waitFor('worker ready', async () => workerOut.includes('worker ready'), 90_000, 200);
    const id = `trust-boundary-run-${Date.now().toString(36)}`;
    // (async: the PagerDuty server lives in this process and must keep answering)
    const run = await cli(['--config', cfg.file, 'run', file, '--wait', '--id', id]);
    const cliOut = run.out;
    if (run.status !== 1) console.log(cliOut);
    expect(run.status).toBe(1); // Fail: the stopOnFailure probe
    expect(cliOut).toContain('guard no-open-incidents: ok - no active incidents'); // the token worked (a wrong one fails closed)
    expect(cliOut).toContain('rollback action Trigger incident: done'); // the routing key worked
    const incidents = (await pd.rest('GET', '/incidents?statuses[]=triggered')).body.incidents as Array<{ title: string }>;
    expect(incidents.map((i) => i.title)).toContain(
      'Chaos experiment trust-boundary-run rolled back: probe health-must-be-599 failed with stopOnFailure: response code 200 is not == 599',
    );

    const history = spawnSync(TEMPORAL_CLI, ['workflow', 'show', '--workflow-id', id, '--output', 'json', '--address', ADDRESS], {
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
    });
    expect(history.status).toBe(0);
    expect(history.stdout.length).toBeGreaterThan(10_000); // the whole history, payloads included (JSON-encoded, base64)
    const decoded = decodePayloads(history.stdout);
    const reports = readdirSync(cfg.reports.dir)
      .map((f) => readFileSync(join(cfg.reports.dir, f), 'utf8'))
      .join('\n');
    expect(reports).toContain('trust-boundary-run');
    // The durable totals are read from visibility in the background: the run shows within a read or two.
    const line = 'chaos_experiment_verdict_total{experiment_name="trust-boundary-run",namespace="footanalytics",verdict="Fail"} 1';
    const metrics = await waitFor(
      'the run in the chaos totals',
      async () => {
        const m = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
        return m.includes(line) && m;
      },
      30_000,
      1000,
    );
    expect(metrics).toContain(line);
    for (const [where, text] of Object.entries({
      history: history.stdout,
      'history payloads': decoded,
      reports,
      'worker output': workerOut,
      'CLI output': cliOut,
      metrics,
    })) {
      expect([where, text.includes(TOKEN)]).toEqual([where, false]);
      expect([where, text.includes(ROUTING_KEY)]).toEqual([where, false]);
    }
    // what the history does carry: the policy by name, not its secrets
    expect(decoded).toContain('health-must-be-599'); // the payloads were decoded: the run's input is there
    expect(decoded).toContain('no-open-incidents');
    expect(decoded).toContain('Trigger incident');
  } finally {
    worker.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 500));
    if (worker.exitCode === null) worker.kill('SIGKILL');
  }
}, 240_000);

/** The CLI as a child process (without the worker's secrets in its environment). */
function cli(args: string[]): Promise<{ status: number | null; out: string }> {
  return new Promise((resolve) => {
    const p = spawn(`${ROOT}bin/tempest`, args, {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, TEMPEST_TRUST_PD_TOKEN: '', TEMPEST_TRUST_PD_ROUTING_KEY: '' },
    });
    let out = '';
    p.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    p.on('exit', (status) => resolve({ status, out }));
  });
}

/** The JSON payloads of a `temporal workflow show --output json` dump, base64-decoded, concatenated. */
function decodePayloads(json: string): string {
  const out: string[] = [];
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) return v.forEach(walk);
    if (v && typeof v === 'object') {
      const o = v as Record<string, unknown>;
      if (typeof o.data === 'string' && o.metadata) out.push(Buffer.from(o.data, 'base64').toString('utf8'));
      Object.values(o).forEach(walk);
    }
  };
  walk(JSON.parse(json));
  return out.join('\n');
}

test("a client starting the workflow itself cannot drop the worker's guards nor bring its own actions", async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tempest-freeze-'));
  dirs.push(dir);
  const freeze = join(dir, 'freeze');
  writeFileSync(freeze, 'release train in progress');
  const cfg = testConfig(fleet, { guards: [{ type: 'freeze', name: 'deployment-freeze', file: freeze }] });
  let attackerHits = 0;
  const attacker = http.createServer((_req, res) => {
    attackerHits++;
    res.writeHead(202).end('{}');
  });
  const attackerPort = await freePort();
  await new Promise<void>((r) => attacker.listen(attackerPort, '127.0.0.1', r));
  const before = (await fleet.client.pods()).map((p) => p.name).sort();
  const spec = engine('client-weakens-policy', 'pod-delete', { TOTAL_CHAOS_DURATION: '6', CHAOS_INTERVAL: '2', FORCE: 'true' });
  // The pre-policy input shape: the client's own guard list (empty) and its own rollback action.
  const input = {
    spec,
    options: {
      dryRun: false,
      searchAttributes: false,
      guards: [],
      rollbackTriggers: [],
      triggerPollMs: 1000,
      rollbackActions: [
        {
          type: 'pagerduty',
          name: 'attacker',
          eventsUrl: `http://127.0.0.1:${attackerPort}/`,
          routingKey: 'x'.repeat(32),
          afterRecoveryMs: 0,
          severity: 'info',
        },
      ],
    },
  } as unknown as ExperimentInput;
  const worker = await createWorker({ config: cfg });
  try {
    const r = (await worker.runUntil(
      client.workflow.execute('experimentWorkflow', { taskQueue: cfg.temporal.taskQueue, workflowId: `weaken-${Date.now().toString(36)}`, args: [input] }),
    )) as ExperimentResult;
    expect(r.verdict).toBe('Aborted');
    expect(r.reason).toBe('safety checks failed: deployment-freeze (deployment freeze flag ' + freeze + ' is present: release train in progress)');
    expect(r.faults[0].state).toBe('pending'); // nothing injected
    expect(attackerHits).toBe(0);
    expect((await fleet.client.pods()).map((p) => p.name).sort()).toEqual(before);
  } finally {
    await new Promise((r) => attacker.close(r));
  }
}, 120_000);

test('a crafted spec (outside the blast radius; a shell string where a signal goes) is refused by the worker, nothing injected', async () => {
  const cfg = testConfig(fleet);
  const before = (await fleet.client.pods()).map((p) => p.name).sort();
  const base = engine('crafted', 'container-kill', { TOTAL_CHAOS_DURATION: '6', CHAOS_INTERVAL: '2' });
  const outside = structuredClone(base);
  outside.target = { namespace: 'kube-system', labelSelector: 'k8s-app=kube-dns', kind: 'deployment' };
  const shell = structuredClone(base);
  (shell.faults[0].params as Record<string, unknown>).signal = 'KILL; touch /tmp/pwned #';
  const worker = await createWorker({ config: cfg });
  await worker.runUntil(async () => {
    for (const [spec, why] of [
      [outside, 'blast radius: target kube-system/k8s-app=kube-dns'],
      [shell, 'faults[0].params.signal: SIGNAL must be one of SIGKILL'],
    ] as const) {
      const r = (await client.workflow.execute('experimentWorkflow', {
        taskQueue: cfg.temporal.taskQueue,
        workflowId: `crafted-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 6)}`,
        args: [{ spec, options: { dryRun: false, searchAttributes: false } }],
      })) as ExperimentResult;
      expect(r.verdict).toBe('Error');
      expect(r.reason).toContain("refused by the worker's policy");
      expect(r.reason).toContain(why);
      expect(r.faults[0].state).toBe('pending');
    }
  });
  expect((await fleet.client.pods()).map((p) => p.name).sort()).toEqual(before);
}, 120_000);
