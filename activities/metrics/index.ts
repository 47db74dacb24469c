/**
 * The seed's chaos metrics, exported by the worker on /metrics (scraped by Prometheus; the Grafana
 * dashboard in deploy/ reads them): chaos_experiment_total, chaos_experiment_success_total,
 * chaos_experiment_status (0 Failed, 1 Running, 2 Completed), chaos_recovery_duration_seconds,
 * chaos_affected_services_count, chaos_hypothesis_total / chaos_hypothesis_validated_total.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { ExperimentResult } from '../types.js';

export class ChaosMetrics {
  readonly registry = new Registry();
  readonly experiments = new Counter({ name: 'chaos_experiment_total', help: 'Chaos experiments finished', labelNames: ['experiment_name', 'verdict'], registers: [this.registry] });
  readonly successes = new Counter({ name: 'chaos_experiment_success_total', help: 'Chaos experiments with verdict Pass', labelNames: ['experiment_name'], registers: [this.registry] });
  readonly status = new Gauge({ name: 'chaos_experiment_status', help: 'Last status per experiment: 0 Failed, 1 Running, 2 Completed', labelNames: ['experiment_name', 'namespace'], registers: [this.registry] });
  readonly recovery = new Histogram({
    name: 'chaos_recovery_duration_seconds',
    help: 'Time from the end of chaos until every revert was verified',
    labelNames: ['experiment_name'],
    buckets: [1, 5, 15, 30, 60, 120, 300, 600],
    registers: [this.registry],
  });
  readonly affected = new Gauge({ name: 'chaos_affected_services_count', help: 'Distinct targets hit by the last run', labelNames: ['experiment_name'], registers: [this.registry] });
  readonly hypotheses = new Counter({ name: 'chaos_hypothesis_total', help: 'Hypotheses tested', labelNames: ['experiment_name'], registers: [this.registry] });
  readonly validated = new Counter({ name: 'chaos_hypothesis_validated_total', help: 'Hypotheses validated', labelNames: ['experiment_name'], registers: [this.registry] });
  readonly orphansReverted = new Counter({ name: 'tempest_orphans_reverted_total', help: 'Faults left behind by a closed or unknown run and reverted by the reconciler', labelNames: ['fault'], registers: [this.registry] });

  constructor(withDefaults = true) {
    if (withDefaults) collectDefaultMetrics({ register: this.registry, prefix: 'tempest_worker_' });
  }

  running(experiment: string, namespace: string) {
    this.status.set({ experiment_name: experiment, namespace }, 1);
  }

  finished(r: ExperimentResult) {
    const e = r.experiment;
    this.experiments.inc({ experiment_name: e, verdict: r.verdict });
    if (r.verdict === 'Pass') this.successes.inc({ experiment_name: e });
    this.status.set({ experiment_name: e, namespace: r.target.namespace }, r.verdict === 'Pass' ? 2 : 0);
    if (r.recoveryMs !== undefined) this.recovery.observe({ experiment_name: e }, r.recoveryMs / 1000);
    this.affected.set({ experiment_name: e }, new Set(r.faults.flatMap((f) => f.affected)).size);
    if (r.hypothesis) {
      this.hypotheses.inc({ experiment_name: e });
      if (r.hypothesisValidated) this.validated.inc({ experiment_name: e });
    }
  }
}
