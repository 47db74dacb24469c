/**
 * The seed's chaos metrics on the worker's /metrics (scraped by Prometheus; the Grafana dashboard in deploy/ reads
 * them). Two kinds:
 *  - durable totals, the same on every worker and across restarts (durable.ts, from Temporal visibility):
 *    chaos_experiment_total, chaos_experiment_success_total, chaos_experiment_status, chaos_hypothesis_total,
 *    chaos_hypothesis_validated_total — registered by `tempest worker` (runWorker), which has a Temporal client;
 *  - observations of the runs this worker closed (sum them across workers, as any histogram):
 *    chaos_recovery_duration_seconds, chaos_affected_services_count (the services — workloads — the last run of
 *    the experiment hit, not its pods), tempest_orphans_reverted_total.
 */
import { Gauge, Histogram, Counter, Registry, collectDefaultMetrics } from 'prom-client';
import type { ExperimentResult } from '../types.js';
import type { DurableChaosMetrics } from './durable.js';

export class ChaosMetrics {
  readonly registry = new Registry();
  readonly recovery = new Histogram({
    name: 'chaos_recovery_duration_seconds',
    help: 'Time from the end of chaos until every revert was verified',
    labelNames: ['experiment_name'],
    buckets: [1, 5, 15, 30, 60, 120, 300, 600],
    registers: [this.registry],
  });
  readonly affected = new Gauge({
    name: 'chaos_affected_services_count',
    help: 'Services (target workloads) the last run of the experiment hit',
    labelNames: ['experiment_name'],
    registers: [this.registry],
  });
  readonly orphansReverted = new Counter({
    name: 'tempest_orphans_reverted_total',
    help: 'Faults left behind by a closed or unknown run and reverted by the reconciler',
    labelNames: ['fault'],
    registers: [this.registry],
  });

  constructor(withDefaults = true, durable?: DurableChaosMetrics) {
    if (withDefaults) collectDefaultMetrics({ register: this.registry, prefix: 'tempest_worker_' });
    durable?.register(this.registry);
  }

  /** A run started (its status is the durable gauge's: nothing kept here). */
  running(_experiment: string, _namespace: string) {}

  finished(r: ExperimentResult) {
    const e = r.experiment;
    if (r.recoveryMs !== undefined) this.recovery.observe({ experiment_name: e }, r.recoveryMs / 1000);
    this.affected.set({ experiment_name: e }, affectedServices(r));
  }
}

/** The services a run hit: its target workload(s) — one per target selector a fault affected — not its pods. */
export function affectedServices(r: Pick<ExperimentResult, 'target' | 'faults'>): number {
  return r.faults.some((f) => f.affected.length > 0) ? 1 : 0;
}
