/**
 * The seed's chaos totals from a durable source: Temporal's visibility store, where every experiment run of this
 * installation's task queue is listed with its experiment, namespace and verdict (search attributes, and the memo
 * the client writes at start). A worker restart does not reset them and two workers do not split them: every
 * worker exports the SAME numbers, so the seed's `chaos_experiment_success_total / chaos_experiment_total * 100` is
 * right on each of them (aggregate across workers with max, not sum). What visibility no longer retains (the
 * namespace's retention period) is no longer counted.
 *
 *   chaos_experiment_total{experiment_name, namespace}         runs closed (the seed's success rate divides by
 *                                                              it: both have the same labels, so its query matches)
 *   chaos_experiment_success_total{experiment_name, namespace} of which Pass
 *   chaos_experiment_verdict_total{experiment_name, namespace, verdict}   by verdict (Pass, Fail, Aborted, Error,
 *                                                              Terminated, TimedOut)
 *   chaos_experiment_verdict_last24h{...same}                  of those, closed in the last 24 hours
 *   chaos_experiment_status{experiment_name, namespace}        1 while a run is open, else the last: 2 Pass, 0 not
 *   chaos_hypothesis_total / _validated_total{experiment_name, namespace}   hypotheses tested / validated
 *   tempest_metrics_source_up                                  1 when the last read of visibility succeeded
 *
 * They are GAUGES, though named like the seed's counters: what visibility no longer retains drops out, so a total
 * can go down, and Prometheus must not read that as a counter reset (use the _last24h gauge for "per day").
 * Dry runs are not counted (they inject nothing). Labels are the run's own names, checked (DNS names, else
 * "invalid-name") and bounded: at most `maxSeries` (experiment, namespace) pairs, the rest as experiment "(other)".
 * Visibility is read in the background every `ttlMs` (and at most once per scrape, waiting at most 2 s): a scrape
 * never waits for a long listing; the newest `maxRuns` runs at most; at most 100 results fetched per read.
 */
import { Gauge, type Registry } from 'prom-client';
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
  /** When it closed (ms), for the last-24-hours view. */
  closedAt?: number;
}

export interface Totals {
  total: Map<string, number>; // `${experiment}\u0000${namespace}`
  verdicts: Map<string, number>; // `${experiment}\u0000${namespace}\u0000${verdict}`
  last24h: Map<string, number>; // same keys as verdicts
  success: Map<string, number>;
  status: Map<string, number>;
  hypotheses: Map<string, number>;
  validated: Map<string, number>;
}

const SEP = '\u0000';
const DAY_MS = 86_400_000;
const DNS = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;
/** A label value from a run's own name: a DNS name as it is, anything else "invalid-name". */
export const labelName = (v: string) => (DNS.test(v) ? v : 'invalid-name');

/** The totals of a set of runs (pure). `now` for the last-24-hours view; `maxSeries` bounds the label pairs. */
export function aggregate(runs: RunRecord[], now = Date.now(), maxSeries = 1000): Totals {
  const t: Totals = {
    total: new Map(),
    verdicts: new Map(),
    last24h: new Map(),
    success: new Map(),
    status: new Map(),
    hypotheses: new Map(),
    validated: new Map(),
  };
  const add = (m: Map<string, number>, k: string) => m.set(k, (m.get(k) ?? 0) + 1);
  // The most frequent (experiment, namespace) pairs keep their names; the rest are "(other)".
  const count = new Map<string, number>();
  for (const r of runs) add(count, `${labelName(r.experiment)}${SEP}${labelName(r.namespace || 'none')}`);
  const kept = new Set(
    [...count.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, maxSeries)
      .map(([k]) => k),
  );
  const last = new Map<string, RunRecord>();
  const open = new Set<string>();
  for (const r of runs) {
    let pair = `${labelName(r.experiment)}${SEP}${labelName(r.namespace || 'none')}`;
    if (!kept.has(pair)) pair = `(other)${SEP}(other)`;
    if (r.verdict === undefined) {
      open.add(pair);
      continue;
    }
    add(t.total, pair);
    add(t.verdicts, `${pair}${SEP}${r.verdict}`);
    if (r.closedAt !== undefined && now - r.closedAt <= DAY_MS) add(t.last24h, `${pair}${SEP}${r.verdict}`);
    if (r.verdict === 'Pass') add(t.success, pair);
    if (r.hypothesis) {
      add(t.hypotheses, pair);
      if (r.verdict === 'Pass') add(t.validated, pair);
    }
    const prev = last.get(pair);
    if (!prev || prev.startedAt < r.startedAt) last.set(pair, r);
  }
  for (const [k, r] of last) t.status.set(k, r.verdict === 'Pass' ? 2 : 0);
  for (const k of open) t.status.set(k, 1);
  return t;
}

const CLOSED_VERDICT: Record<string, string> = { TERMINATED: 'Terminated', TIMED_OUT: 'TimedOut', FAILED: 'Error', CANCELLED: 'Aborted' };
const VERDICTS = new Set(['Pass', 'Fail', 'Aborted', 'Error']);
const first = (v: unknown): string | undefined => (Array.isArray(v) && typeof v[0] === 'string' ? v[0] : typeof v === 'string' ? v : undefined);
const MAX_RESULT_FETCHES = 100;

export class DurableChaosMetrics {
  private cache: { at: number; totals: Totals } | undefined;
  private inflight: Promise<Totals> | undefined;
  /** Verdicts of completed runs read from their result (runs without a verdict search attribute); never change. */
  private verdicts = new Map<string, string>();
  private timer: NodeJS.Timeout | undefined;
  up = 0;

  constructor(
    private client: Client,
    private opts: { taskQueue: string; ttlMs?: number; maxRuns?: number; maxSeries?: number; log?: (m: string) => void },
  ) {}

  /** Read visibility now and then every ttlMs in the background (unref'd: it never keeps a process alive). */
  start(): this {
    const tick = () => void this.refresh().finally(() => (this.timer = setTimeout(tick, this.opts.ttlMs ?? 10_000).unref()));
    tick();
    return this;
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
  }

  /** The runs visibility lists for this task queue, newest first, with what each says about itself (dry runs left out). */
  async runs(): Promise<RunRecord[]> {
    const out: RunRecord[] = [];
    const max = this.opts.maxRuns ?? 10_000;
    const tq = this.opts.taskQueue.replace(/["\\]/g, '');
    let fetches = 0;
    for await (const w of this.client.workflow.list({ query: `WorkflowType = "experimentWorkflow" AND TaskQueue = "${tq}"` })) {
      const memo = (w.memo ?? {}) as Record<string, unknown>;
      if (memo.dryRun === 'true') continue;
      const r = await this.record(w, () => fetches++ < MAX_RESULT_FETCHES);
      if (r) out.push(r);
      if (out.length >= max) break;
    }
    return out;
  }

  private async record(w: WorkflowExecutionInfo, mayFetch: () => boolean): Promise<RunRecord | undefined> {
    const sa = (w.searchAttributes ?? {}) as Record<string, unknown>;
    const memo = (w.memo ?? {}) as Record<string, unknown>;
    const experiment = first(sa.TempestExperiment) ?? first(memo.experiment) ?? 'unknown';
    const namespace = first(sa.TempestNamespace) ?? first(memo.targetNamespace) ?? '';
    const hypothesis = typeof memo.hypothesis === 'string' && memo.hypothesis !== '';
    const startedAt = w.startTime.getTime();
    const closedAt = w.closeTime?.getTime();
    const status = w.status.name;
    if (status === 'RUNNING') return { workflowId: w.workflowId, experiment, namespace, hypothesis, startedAt };
    let verdict = CLOSED_VERDICT[status];
    if (status === 'COMPLETED') {
      const attr = first(sa.TempestVerdict);
      if (attr && VERDICTS.has(attr)) verdict = attr;
      else verdict = this.verdicts.get(w.runId) ?? (mayFetch() ? await this.verdictOf(w) : undefined)!;
      if (!verdict) return undefined; // not read yet: counted on a later read
    }
    return { workflowId: w.workflowId, experiment, namespace, verdict: verdict ?? status, hypothesis, startedAt, closedAt };
  }

  private async verdictOf(w: WorkflowExecutionInfo): Promise<string | undefined> {
    try {
      const r = (await this.client.workflow.getHandle(w.workflowId, w.runId).result()) as ExperimentResult;
      const v = VERDICTS.has(r?.verdict) ? r.verdict : 'Error';
      this.verdicts.set(w.runId, v);
      return v;
    } catch {
      return undefined; // not counted this time; tried again on the next read
    }
  }

  /** One read of visibility (shared by concurrent callers); the last good read when Temporal does not answer. */
  refresh(): Promise<Totals> {
    this.inflight ??= this.runs()
      .then((r) => {
        const totals = aggregate(r, Date.now(), this.opts.maxSeries ?? 1000);
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

  /** For a scrape: the cached totals; a read first when they are older than ttlMs, waiting for it at most 2 s. */
  async totals(): Promise<Totals> {
    const ttl = this.opts.ttlMs ?? 10_000;
    if (this.cache && Date.now() - this.cache.at < ttl) return this.cache.totals;
    const fresh = this.refresh();
    const waited = await Promise.race([fresh, new Promise<undefined>((r) => setTimeout(() => r(undefined), 2000).unref())]);
    return waited ?? this.cache?.totals ?? aggregate([]);
  }

  /** Register the durable series on `registry` (their values are read at scrape time, from the cache). */
  register(registry: Registry): void {
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- prom-client calls collect() with the metric as `this`
    const self = this;
    const split = (k: string) => k.split(SEP);
    const help = ' (durable: counted from Temporal visibility, the same on every worker; a gauge: aggregate with max, not sum)';
    const gauge = (name: string, what: string, pick: (t: Totals) => Map<string, number>, withVerdict = false) =>
      new Gauge({
        name,
        help: `${what}${help}`,
        labelNames: withVerdict ? ['experiment_name', 'namespace', 'verdict'] : ['experiment_name', 'namespace'],
        registers: [registry],
        async collect() {
          const t = await self.totals();
          this.reset();
          for (const [k, n] of pick(t)) {
            const [experiment_name, namespace, verdict] = split(k);
            this.set(withVerdict ? { experiment_name, namespace, verdict } : { experiment_name, namespace }, n);
          }
        },
      });
    gauge('chaos_experiment_total', 'Chaos experiments finished', (t) => t.total);
    gauge('chaos_experiment_success_total', 'Chaos experiments with verdict Pass', (t) => t.success);
    gauge('chaos_experiment_verdict_total', 'Chaos experiments finished, by verdict', (t) => t.verdicts, true);
    gauge('chaos_experiment_verdict_last24h', 'Chaos experiments finished in the last 24 hours, by verdict', (t) => t.last24h, true);
    gauge('chaos_experiment_status', 'Per experiment: 1 while a run is open, else its last run: 2 Pass, 0 not', (t) => t.status);
    gauge('chaos_hypothesis_total', 'Hypotheses tested', (t) => t.hypotheses);
    gauge('chaos_hypothesis_validated_total', 'Hypotheses validated (verdict Pass)', (t) => t.validated);
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
