/**
 * The seed's chaos totals from a durable source: Temporal's visibility store, where every experiment run of this
 * installation's task queue is listed with its experiment, namespace and verdict (search attributes, and the memo
 * the client writes at start). A worker restart does not reset them and two workers do not split them: every
 * worker exports the SAME numbers, so the seed's `chaos_experiment_success_total / chaos_experiment_total * 100` is
 * right on each of them (aggregate across workers with max, not sum). What visibility no longer retains (the
 * namespace's retention period) is no longer counted.
 *
 *   chaos_experiment_total{experiment_name}              runs closed (the seed's success rate divides by it:
 *                                                        both have the same labels, so its query matches)
 *   chaos_experiment_success_total{experiment_name}      of which Pass
 *   chaos_experiment_verdict_total{experiment_name, verdict}  by verdict (Pass, Fail, Aborted, Error, Terminated,
 *                                                        TimedOut)
 *   chaos_experiment_status{experiment_name, namespace}  1 while a run is open, else the last one: 2 Pass, 0 not
 *   chaos_hypothesis_total / _validated_total            runs that tested a hypothesis / with verdict Pass
 *   tempest_metrics_source_up                            1 when the last read of visibility succeeded
 *
 * Read at most every `ttlMs` (scrapes in between get the last read), newest `maxRuns` runs at most.
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import type { Client, WorkflowExecutionInfo } from '@temporalio/client';
import type { ExperimentResult } from '../types.js';

export interface RunRecord {
  workflowId: string;
  experiment: string;
  namespace: string;
  /** The verdict of a closed run; undefined while it is open. */
  verdict?: string;
  hypothesis: boolean;
  /** For ordering "the last run" (start time, ms). */
  startedAt: number;
}

export interface Totals {
  total: Map<string, number>; // experiment
  verdicts: Map<string, number>; // `${experiment}\u0000${verdict}`
  success: Map<string, number>;
  status: Map<string, number>; // `${experiment}\u0000${namespace}`
  hypotheses: Map<string, number>;
  validated: Map<string, number>;
}

const SEP = '\u0000';

/** The totals of a set of runs (pure). */
export function aggregate(runs: RunRecord[]): Totals {
  const t: Totals = { total: new Map(), verdicts: new Map(), success: new Map(), status: new Map(), hypotheses: new Map(), validated: new Map() };
  const add = (m: Map<string, number>, k: string) => m.set(k, (m.get(k) ?? 0) + 1);
  const last = new Map<string, RunRecord>();
  const open = new Set<string>();
  for (const r of runs) {
    const sk = `${r.experiment}${SEP}${r.namespace}`;
    if (r.verdict === undefined) {
      open.add(sk);
      continue;
    }
    add(t.total, r.experiment);
    add(t.verdicts, `${r.experiment}${SEP}${r.verdict}`);
    if (r.verdict === 'Pass') add(t.success, r.experiment);
    if (r.hypothesis) {
      add(t.hypotheses, r.experiment);
      if (r.verdict === 'Pass') add(t.validated, r.experiment);
    }
    const prev = last.get(sk);
    if (!prev || prev.startedAt < r.startedAt) last.set(sk, r);
  }
  for (const [k, r] of last) t.status.set(k, r.verdict === 'Pass' ? 2 : 0);
  for (const k of open) t.status.set(k, 1);
  return t;
}

const CLOSED_VERDICT: Record<string, string> = { TERMINATED: 'Terminated', TIMED_OUT: 'TimedOut', FAILED: 'Error', CANCELLED: 'Aborted' };
const first = (v: unknown): string | undefined => (Array.isArray(v) && typeof v[0] === 'string' ? v[0] : typeof v === 'string' ? v : undefined);

export class DurableChaosMetrics {
  private cache: { at: number; totals: Totals } | undefined;
  private inflight: Promise<Totals> | undefined;
  /** Verdicts of completed runs read from their result (runs without a verdict search attribute); never change. */
  private verdicts = new Map<string, string>();
  up = 0;

  constructor(
    private client: Client,
    private opts: { taskQueue: string; ttlMs?: number; maxRuns?: number; log?: (m: string) => void },
  ) {}

  /** The runs visibility lists for this task queue, newest first, with what each says about itself. */
  async runs(): Promise<RunRecord[]> {
    const out: RunRecord[] = [];
    const max = this.opts.maxRuns ?? 10_000;
    const tq = this.opts.taskQueue.replace(/["\\]/g, '');
    for await (const w of this.client.workflow.list({ query: `WorkflowType = "experimentWorkflow" AND TaskQueue = "${tq}"` })) {
      out.push(await this.record(w));
      if (out.length >= max) break;
    }
    return out;
  }

  private async record(w: WorkflowExecutionInfo): Promise<RunRecord> {
    const sa = (w.searchAttributes ?? {}) as Record<string, unknown>;
    const memo = (w.memo ?? {}) as Record<string, unknown>;
    const experiment = first(sa.TempestExperiment) ?? first(memo.experiment) ?? 'unknown';
    const namespace = first(sa.TempestNamespace) ?? first(memo.targetNamespace) ?? '';
    const hypothesis = typeof memo.hypothesis === 'string' && memo.hypothesis !== '';
    const startedAt = w.startTime.getTime();
    const status = w.status.name;
    if (status === 'RUNNING') return { workflowId: w.workflowId, experiment, namespace, hypothesis, startedAt };
    let verdict = CLOSED_VERDICT[status];
    if (status === 'COMPLETED') {
      const attr = first(sa.TempestVerdict);
      verdict = attr && attr !== 'Running' ? attr : this.verdicts.get(w.runId) ?? (await this.verdictOf(w));
    }
    return { workflowId: w.workflowId, experiment, namespace, verdict: verdict ?? status, hypothesis, startedAt };
  }

  private async verdictOf(w: WorkflowExecutionInfo): Promise<string> {
    try {
      const r = (await this.client.workflow.getHandle(w.workflowId, w.runId).result()) as ExperimentResult;
      this.verdicts.set(w.runId, r.verdict);
      return r.verdict;
    } catch {
      return 'Error';
    }
  }

  /** The totals, read from visibility at most every ttlMs; the last good read when Temporal does not answer. */
  async totals(): Promise<Totals> {
    const ttl = this.opts.ttlMs ?? 10_000;
    if (this.cache && Date.now() - this.cache.at < ttl) return this.cache.totals;
    this.inflight ??= this.runs()
      .then((r) => {
        const totals = aggregate(r);
        this.cache = { at: Date.now(), totals };
        this.up = 1;
        return totals;
      })
      .catch((e) => {
        this.up = 0;
        this.opts.log?.(`chaos metrics: cannot read Temporal visibility: ${(e as Error).message}`);
        return this.cache?.totals ?? aggregate([]);
      })
      .finally(() => (this.inflight = undefined));
    return this.inflight;
  }

  /** Register the durable series on `registry` (their values are read at scrape time). */
  register(registry: Registry): void {
    const self = this;
    const split = (k: string) => k.split(SEP);
    const help = ' (durable: counted from Temporal visibility, the same on every worker; aggregate with max, not sum)';
    new Counter({
      name: 'chaos_experiment_total',
      help: `Chaos experiments finished${help}`,
      labelNames: ['experiment_name'],
      registers: [registry],
      async collect() {
        const t = await self.totals();
        this.reset();
        for (const [experiment_name, n] of t.total) this.inc({ experiment_name }, n);
      },
    });
    new Counter({
      name: 'chaos_experiment_verdict_total',
      help: `Chaos experiments finished, by verdict${help}`,
      labelNames: ['experiment_name', 'verdict'],
      registers: [registry],
      async collect() {
        const t = await self.totals();
        this.reset();
        for (const [k, n] of t.verdicts) {
          const [experiment_name, verdict] = split(k);
          this.inc({ experiment_name, verdict }, n);
        }
      },
    });
    new Counter({
      name: 'chaos_experiment_success_total',
      help: `Chaos experiments with verdict Pass${help}`,
      labelNames: ['experiment_name'],
      registers: [registry],
      async collect() {
        const t = await self.totals();
        this.reset();
        for (const [experiment_name, n] of t.success) this.inc({ experiment_name }, n);
      },
    });
    new Gauge({
      name: 'chaos_experiment_status',
      help: `1 while a run of the experiment is open, else its last run: 2 Pass, 0 not${help}`,
      labelNames: ['experiment_name', 'namespace'],
      registers: [registry],
      async collect() {
        const t = await self.totals();
        this.reset();
        for (const [k, v] of t.status) {
          const [experiment_name, namespace] = split(k);
          this.set({ experiment_name, namespace }, v);
        }
      },
    });
    new Counter({
      name: 'chaos_hypothesis_total',
      help: `Hypotheses tested${help}`,
      labelNames: ['experiment_name'],
      registers: [registry],
      async collect() {
        const t = await self.totals();
        this.reset();
        for (const [experiment_name, n] of t.hypotheses) this.inc({ experiment_name }, n);
      },
    });
    new Counter({
      name: 'chaos_hypothesis_validated_total',
      help: `Hypotheses validated (verdict Pass)${help}`,
      labelNames: ['experiment_name'],
      registers: [registry],
      async collect() {
        const t = await self.totals();
        this.reset();
        for (const [experiment_name, n] of t.validated) this.inc({ experiment_name }, n);
      },
    });
    new Gauge({
      name: 'tempest_metrics_source_up',
      help: "1 when the chaos totals' last read of Temporal visibility succeeded",
      registers: [registry],
      async collect() {
        await self.totals();
        this.set(self.up);
      },
    });
  }
}
