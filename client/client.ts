/** A small typed client for programmatic starts (CI jobs, game-day runners) and for the CLI. */
import type { WorkflowHandle } from '@temporalio/client';
import { Client, Connection, ScheduleOverlapPolicy, ScheduleNotFoundError, DAYS_OF_WEEK, MONTHS } from '@temporalio/client';
import type { ExperimentInput, ExperimentSpec, GameDaySpec, ProgressiveSpec, RunOptions, ScheduleSpec } from '../config/spec.js';
import type { ProgressiveInput } from '../workflows/progressive.js';
import type { GameDayInput } from '../workflows/gameday.js';
import { schedulePlan, type SchedulePlan } from '../workflows/gate.js';
import type { ScheduleGateInput } from '../workflows/schedule-gate.js';
import type { ExperimentResult, ExperimentStatus } from '../activities/types.js';
import type { TempestConfig } from '../config/tempest-config.js';
import { temporalConnection } from './connection.js';
import { abortSignal, pauseSignal, resumeSignal, statusQuery, SEARCH_ATTRIBUTES } from '../workflows/experiment.js';

export interface StartOptions {
  workflowId?: string;
  dryRun?: boolean;
  /** Override the run options derived from the config (what a client may choose: dry run, search attributes). */
  options?: Partial<RunOptions>;
  /** Never start this workflow id again once a run of it exists, open or closed (the controller's one run per object). */
  rejectDuplicate?: boolean;
  /** More memo fields (shown in the Temporal UI): where the run came from. */
  memo?: Record<string, string>;
}

/** Workflow ids Tempest starts: letters, digits, `.`, `_`, `-`; starting with a letter or digit; at most 200. */
export const WORKFLOW_ID_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/;

export function checkWorkflowId(id: string): string {
  if (!WORKFLOW_ID_RE.test(id) || id.includes('..')) {
    throw new Error(
      `workflow id ${JSON.stringify(id.slice(0, 80))} is not allowed: use letters, digits, ".", "_" and "-" (starting with a letter or digit, no "..", at most 200)`,
    );
  }
  return id;
}

/** `<engine>-<yyyymmddThhmmss>-<4 random>`: readable, sortable, unique per run. */
export function runId(engine: string, now = new Date()): string {
  const ts = now.toISOString().replace(/[-:]/g, '').slice(0, 15);
  return `${engine}-${ts}-${Math.random().toString(36).slice(2, 6)}`;
}

/**
 * What the client puts in a run's input: only what a client may choose. Guards, rollback triggers and actions,
 * the blast radius, images, limits and secrets are the worker's policy: it applies its own, whatever this says.
 */
export function runOptionsFrom(config: TempestConfig, over: Partial<RunOptions> = {}): RunOptions {
  return { dryRun: over.dryRun ?? false, searchAttributes: over.searchAttributes ?? config.temporal.searchAttributes };
}

export class TempestClient {
  constructor(
    readonly client: Client,
    readonly config: TempestConfig,
  ) {}

  static async connect(config: TempestConfig): Promise<TempestClient> {
    const connection = await Connection.connect({ ...temporalConnection(config), connectTimeout: '5s' });
    return new TempestClient(new Client({ connection, namespace: config.temporal.namespace }), config);
  }

  async start(spec: ExperimentSpec, opts: StartOptions = {}): Promise<WorkflowHandle> {
    const options = runOptionsFrom(this.config, { dryRun: opts.dryRun ?? false, ...opts.options });
    const input: ExperimentInput = { spec, options };
    return this.client.workflow.start('experimentWorkflow', {
      taskQueue: this.config.temporal.taskQueue,
      workflowId: checkWorkflowId(opts.workflowId ?? runId(spec.name)),
      args: [input],
      ...(opts.rejectDuplicate ? { workflowIdReusePolicy: 'REJECT_DUPLICATE' as const } : {}),
      // experiment and targetNamespace: what the durable chaos totals count a run under when search attributes are off.
      memo: {
        hypothesis: spec.hypothesis ?? '',
        source: spec.source ?? '',
        faults: spec.faults.map((f) => f.name).join(','),
        experiment: spec.name,
        targetNamespace: spec.target.namespace,
        ...(options.dryRun ? { dryRun: 'true' } : {}),
        ...opts.memo,
      },
      searchAttributes: options.searchAttributes
        ? { [SEARCH_ATTRIBUTES.experiment]: [spec.name], [SEARCH_ATTRIBUTES.namespace]: [spec.target.namespace], [SEARCH_ATTRIBUTES.verdict]: ['Running'] }
        : undefined,
    });
  }

  /** Start the seed's progressive chaos: one child experiment per stage, gated by success thresholds. */
  async startProgressive(spec: ProgressiveSpec, opts: StartOptions = {}): Promise<WorkflowHandle> {
    const options = runOptionsFrom(this.config, { dryRun: opts.dryRun ?? false, ...opts.options });
    const input: ProgressiveInput = { spec, options };
    return this.client.workflow.start('progressiveWorkflow', {
      taskQueue: this.config.temporal.taskQueue,
      workflowId: checkWorkflowId(opts.workflowId ?? runId(spec.name)),
      args: [input],
      ...(opts.rejectDuplicate ? { workflowIdReusePolicy: 'REJECT_DUPLICATE' as const } : {}),
      memo: { stages: spec.stages.map((s) => `${s.id}:${s.chaosPercentage}%`).join(','), engine: spec.engine.name, ...opts.memo },
    });
  }

  /** Start a game day: scenarios of automated experiments and manual steps, each time-boxed. */
  async startGameDay(spec: GameDaySpec, opts: StartOptions = {}): Promise<WorkflowHandle> {
    const options = runOptionsFrom(this.config, { dryRun: opts.dryRun ?? false, ...opts.options });
    const input: GameDayInput = { spec, options };
    return this.client.workflow.start('gameDayWorkflow', {
      taskQueue: this.config.temporal.taskQueue,
      workflowId: checkWorkflowId(opts.workflowId ?? runId(spec.name)),
      args: [input],
      ...(opts.rejectDuplicate ? { workflowIdReusePolicy: 'REJECT_DUPLICATE' as const } : {}),
      memo: { participants: spec.participants.join(','), scenarios: spec.scenarios.map((s) => s.name).join(' | '), ...opts.memo },
    });
  }

  handle(workflowId: string): WorkflowHandle {
    return this.client.workflow.getHandle(workflowId);
  }

  status(workflowId: string): Promise<ExperimentStatus> {
    return this.handle(workflowId).query(statusQuery);
  }

  abort(workflowId: string, reason: string): Promise<void> {
    return this.handle(workflowId).signal(abortSignal, reason);
  }

  pause(workflowId: string): Promise<void> {
    return this.handle(workflowId).signal(pauseSignal);
  }

  resume(workflowId: string): Promise<void> {
    return this.handle(workflowId).signal(resumeSignal);
  }

  result(workflowId: string): Promise<ExperimentResult> {
    return this.handle(workflowId).result();
  }

  /** Schedule id of a ChaosSchedule. */
  static scheduleId(s: Pick<ScheduleSpec, 'namespace' | 'name'>): string {
    // `.` cannot appear in a namespace (a DNS label): namespace and name can never run into each other.
    return `tempest-schedule-${s.namespace}.${s.name}`;
  }

  /** The id schedules had before: `-` between namespace and name was ambiguous (`a-b` + `c` vs `a` + `b-c`). */
  static legacyScheduleId(s: Pick<ScheduleSpec, 'namespace' | 'name'>): string {
    return `tempest-schedule-${s.namespace}-${s.name}`;
  }

  /**
   * Create or update the Temporal Schedule for a ChaosSchedule: it fires at the window start on the included
   * days (UTC) and starts the schedule gate, which re-checks window and minChaosInterval before any chaos.
   * `now: true` also starts one gated run at once. `scheduleState: halt` pauses it.
   */
  async applySchedule(s: ScheduleSpec, opts: { scheduleId?: string; memo?: Record<string, string> } = {}): Promise<{ scheduleId: string; created: boolean }> {
    const scheduleId = opts.scheduleId ?? TempestClient.scheduleId(s);
    const plan = schedulePlan(s);
    const input: ScheduleGateInput = { schedule: s, options: runOptionsFrom(this.config) };
    const calendar = (c: SchedulePlan['calendars'][number]) => ({
      ...c,
      month: c.month?.map((m) => ({ start: MONTHS[m.start - 1], end: MONTHS[m.end - 1], step: m.step })),
      dayOfWeek: c.dayOfWeek?.map((d) => DAYS_OF_WEEK[d]) ?? ('*' as const),
      comment: `ChaosSchedule ${s.name}`,
    });
    const spec = {
      calendars: plan.calendars.map(calendar),
      intervals: plan.intervals?.map((i) => ({ every: i.everyMs })),
      skip: plan.skip?.map(calendar),
      startAt: plan.startAt ? new Date(plan.startAt) : undefined,
      endAt: plan.endAt ? new Date(plan.endAt) : undefined,
    };
    const action = {
      type: 'startWorkflow' as const,
      workflowType: 'scheduleGateWorkflow',
      args: [input],
      taskQueue: this.config.temporal.taskQueue,
      workflowId: `${scheduleId}-run`,
    };
    const paused = s.state !== 'active';
    const note = paused ? `scheduleState ${s.state}` : `from ${s.engine.source ?? 'a ChaosSchedule'}`;
    const limits = plan.remainingActions !== undefined ? { remainingActions: plan.remainingActions } : { remainingActions: undefined };
    let created = false;
    try {
      await this.client.schedule.getHandle(scheduleId).update((prev) => ({ ...prev, spec, action, state: { ...prev.state, paused, note, ...limits } }));
    } catch (e) {
      if (!(e instanceof ScheduleNotFoundError)) throw e;
      await this.client.schedule.create({
        scheduleId,
        spec,
        action,
        policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1h' },
        state: { paused, note, ...limits },
        ...(opts.memo ? { memo: opts.memo } : {}),
      });
      created = true;
    }
    if (opts.scheduleId) {
      if (s.now && !paused) await this.client.schedule.getHandle(scheduleId).trigger(ScheduleOverlapPolicy.SKIP);
      return { scheduleId, created };
    }
    // A schedule this ChaosSchedule created under the old, ambiguous id is replaced by this one — only if it is
    // really this ChaosSchedule's (same namespace and name in its action), never another team's.
    const legacy = this.client.schedule.getHandle(TempestClient.legacyScheduleId(s));
    try {
      const d = await legacy.describe();
      const args = d.action.type === 'startWorkflow' ? (d.action.args as Array<{ schedule?: { namespace?: string; name?: string } }>) : [];
      if (args[0]?.schedule?.namespace === s.namespace && args[0]?.schedule?.name === s.name) await legacy.delete();
    } catch (e) {
      if (!(e instanceof ScheduleNotFoundError)) throw e;
    }
    if (s.now && !paused) await this.client.schedule.getHandle(scheduleId).trigger(ScheduleOverlapPolicy.SKIP);
    return { scheduleId, created };
  }

  async close(): Promise<void> {
    await this.client.connection.close();
  }
}
