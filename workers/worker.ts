/**
 * Worker bootstrap: bundles the workflows once per process, registers the activities built from the
 * config, and exposes the chaos metrics on /metrics.
 */
import http from 'node:http';
import { fileURLToPath } from 'node:url';
import { NativeConnection, Worker, bundleWorkflowCode, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import type { TempestConfig } from '../config/tempest-config.js';
import { createActivities } from '../activities/index.js';
import { temporalConnection } from '../client/connection.js';
import { ensureReconcilerFor } from './reconciler.js';
import { FAILPOINTS, armedFailpoints, useFailpointState } from '../activities/failpoints.js';
import { ChaosMetrics } from '../activities/metrics/index.js';
import { DurableChaosMetrics } from '../activities/metrics/durable.js';
import { Client, Connection } from '@temporalio/client';
import type { ProbeDeps } from '../activities/probes/types.js';

export const WORKFLOWS_PATH = fileURLToPath(new URL('../workflows/index.ts', import.meta.url));

let bundle: Promise<WorkflowBundleWithSourceMap> | undefined;
/** The workflow bundle, built once per process (webpack is the slow part of a worker start). */
export function workflowBundle(): Promise<WorkflowBundleWithSourceMap> {
  bundle ??= bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: quietLogger });
  return bundle;
}

const quietLogger = {
  log: () => undefined,
  trace: () => undefined,
  debug: () => undefined,
  info: () => undefined,
  warn: (m: string) => console.warn(m),
  error: (m: string) => console.error(m),
};

export interface WorkerOptions {
  config: TempestConfig;
  connection?: NativeConnection;
  taskQueue?: string;
  namespace?: string;
  metrics?: ChaosMetrics;
  probeDeps?: ProbeDeps;
  /** Sticky cache off: every workflow task replays from history (useful to prove determinism in tests). */
  maxCachedWorkflows?: number;
}

export async function createWorker(opts: WorkerOptions): Promise<Worker> {
  const { config } = opts;
  const connection = opts.connection ?? (await NativeConnection.connect(temporalConnection(config)));
  return Worker.create({
    connection,
    namespace: opts.namespace ?? config.temporal.namespace,
    taskQueue: opts.taskQueue ?? config.temporal.taskQueue,
    workflowBundle: await workflowBundle(),
    activities: createActivities({ config, metrics: opts.metrics, probeDeps: opts.probeDeps }),
    maxCachedWorkflows: opts.maxCachedWorkflows,
    // Short shutdown grace: reverts are retried by Temporal on the next worker anyway.
    shutdownGraceTime: '5s',
  });
}

/** Serve the metrics registry on host:port/metrics (0 = off; host from `metrics.host`, loopback by default). */
export function serveMetrics(metrics: ChaosMetrics, port: number, host = '127.0.0.1'): Promise<http.Server | undefined> {
  if (!port) return Promise.resolve(undefined);
  const server = http.createServer(async (req, res) => {
    // A cheap liveness/readiness answer (the chart's probe): /metrics may take a moment to gather.
    if (req.url === '/healthz') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
      return;
    }
    if (req.url !== '/metrics') {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': metrics.registry.contentType });
    res.end(await metrics.registry.metrics());
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve(server));
  });
}

/** `tempest worker`: run until SIGINT/SIGTERM. */
export async function runWorker(config: TempestConfig, log: (m: string) => void = console.log): Promise<void> {
  // The chaos totals come from Temporal visibility (the same on every worker, across restarts): a client for them.
  const metricsConnection = config.metrics.port ? await Connection.connect(temporalConnection(config)) : undefined;
  const durable = metricsConnection
    ? new DurableChaosMetrics(new Client({ connection: metricsConnection, namespace: config.temporal.namespace }), {
        taskQueue: config.temporal.taskQueue,
        log,
      }).start()
    : undefined;
  const metrics = new ChaosMetrics(true, durable);
  const server = await serveMetrics(metrics, config.metrics.port, config.metrics.host).catch((e) => {
    log(`metrics ${config.metrics.host}:${config.metrics.port} unavailable (${(e as Error).message}); continuing without /metrics`);
    return undefined;
  });
  const fp = armedFailpoints();
  useFailpointState(config.state.dir);
  if (fp.armed.length)
    log(
      `WARNING: TEMPEST_FAILPOINTS armed (${fp.armed.join(', ')}): this worker SIGKILLs itself when it first reaches each of them (once per state dir ${config.state.dir}; crash tests only)`,
    );
  if (fp.unknown.length) log(`WARNING: TEMPEST_FAILPOINTS names unknown failpoints (${fp.unknown.join(', ')}); known: ${FAILPOINTS.join(', ')}`);
  log(`bundling workflows...`);
  const worker = await createWorker({ config, metrics });
  log(
    `worker ready: task queue ${config.temporal.taskQueue} on ${config.temporal.address} (namespace ${config.temporal.namespace}), platform ${config.platform.driver}` +
      (server ? `, metrics http://${config.metrics.host.includes(':') ? `[${config.metrics.host}]` : config.metrics.host}:${config.metrics.port}/metrics` : ''),
  );
  // The reconciler's schedule, once the worker that serves it exists (a failure here is loud, not fatal: the
  // worker still runs and reverts its own runs; the schedule is retried at its next start).
  await ensureReconcilerFor(config, log).catch((e) => log(`orphan reconciler: could not create or trigger its schedule: ${(e as Error).message}`));
  try {
    await worker.run();
  } finally {
    server?.close();
    durable?.stop();
    await metricsConnection?.close();
  }
}
