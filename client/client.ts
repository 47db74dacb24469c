/** A small typed client for programmatic starts (CI jobs, game-day runners) and for the CLI. */
import { Client, Connection, WorkflowHandle, ScheduleOverlapPolicy, ScheduleNotFoundError, DAYS_OF_WEEK } from '@temporalio/client';
import type { ExperimentInput, ExperimentSpec, GameDaySpec, ProgressiveSpec, RunOptions, ScheduleSpec } from '../config/spec.js';
import type { ProgressiveInput } from '../workflows/progressive.js';
import type { GameDayInput } from '../workflows/gameday.js';
import { calendarFor } from '../workflows/gate.js';
import type { ScheduleGateInput } from '../workflows/schedule-gate.js';
import type { ExperimentResult, ExperimentStatus } from '../activities/types.js';
import type { TempestConfig } from '../config/tempest-config.js';
import { guardsFromConfig, rollbackActionsFromConfig, triggersFromConfig } from '../config/tempest-config.js';
import { abortSignal, pauseSignal, resumeSignal, statusQuery, SEARCH_ATTRIBUTES } from '../workflows/experiment.js';

export interface StartOptions {
  workflowId?: string;
  dryRun?: boolean;
  /** Override the run options derived from the config. */
  options?: Partial<RunOptions>;
}

/** `<engine>-<yyyymmddThhmmss>-<4 random>`: readable, sortable, unique per run. */
export function runId(engine: string, now = new Date()): string {
  const ts = now.toISOString().replace(/[-:]/g, '').slice(0, 15);
  return `${engine}-${ts}-${Math.random().toString(36).slice(2, 6)}`;
}

export function runOptionsFrom(config: TempestConfig, over: Partial<RunOptions> = {}): RunOptions {
  return {
    guards: guardsFromConfig(config),
    rollbackTriggers: triggersFromConfig(config),
    triggerPollMs: config.rollbackTriggers.pollInterval,
    dryRun: false,
    searchAttributes: config.temporal.searchAttributes,
    rollbackActions: rollbackActionsFromConfig(config),
    ...over,
  };
}

export class TempestClient {
  constructor(
    readonly client: Client,
    readonly config: TempestConfig,
  ) {}

  static async connect(config: TempestConfig): Promise<TempestClient> {
    const connection = await Connection.connect({ address: config.temporal.address, connectTimeout: '5s' });
    return new TempestClient(new Client({ connection, namespace: config.temporal.namespace }), config);
  }

  async start(spec: ExperimentSpec, opts: StartOptions = {}): Promise<WorkflowHandle> {
    const options = runOptionsFrom(this.config, { dryRun: opts.dryRun ?? false, ...opts.options });
    const input: ExperimentInput = { spec, options };
    return this.client.workflow.start('experimentWorkflow', {
      taskQueue: this.config.temporal.taskQueue,
      workflowId: opts.workflowId ?? runId(spec.name),
      args: [input],
      memo: { hypothesis: spec.hypothesis ?? '', source: spec.source ?? '', faults: spec.faults.map((f) => f.name).join(',') },
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
      workflowId: opts.workflowId ?? runId(spec.name),
      args: [input],
      memo: { stages: spec.stages.map((s) => `${s.id}:${s.chaosPercentage}%`).join(','), engine: spec.engine.name },
    });
  }

  /** Start a game day: scenarios of automated experiments and manual steps, each time-boxed. */
  async startGameDay(spec: GameDaySpec, opts: StartOptions = {}): Promise<WorkflowHandle> {
    const options = runOptionsFrom(this.config, { dryRun: opts.dryRun ?? false, ...opts.options });
    const input: GameDayInput = { spec, options };
    return this.client.workflow.start('gameDayWorkflow', {
      taskQueue: this.config.temporal.taskQueue,
      workflowId: opts.workflowId ?? runId(spec.name),
      args: [input],
      memo: { participants: spec.participants.join(','), scenarios: spec.scenarios.map((s) => s.name).join(' | ') },
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
  static scheduleId(s: ScheduleSpec): string {
    return `tempest-schedule-${s.namespace}-${s.name}`;
  }

  /**
   * Create or update the Temporal Schedule for a ChaosSchedule: it fires at the window start on the included
   * days (UTC) and starts the schedule gate, which re-checks window and minChaosInterval before any chaos.
   * `now: true` also starts one gated run at once. `scheduleState: halt` pauses it.
   */
  async applySchedule(s: ScheduleSpec): Promise<{ scheduleId: string; created: boolean }> {
    const scheduleId = TempestClient.scheduleId(s);
    const cal = calendarFor(s);
    const input: ScheduleGateInput = { schedule: s, options: runOptionsFrom(this.config) };
    const spec = {
      calendars: [{ hour: cal.hour, minute: cal.minute, dayOfWeek: cal.dayOfWeek?.map((d) => DAYS_OF_WEEK[d]) ?? '*' as const, comment: `ChaosSchedule ${s.name}` }],
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
    let created = false;
    try {
      await this.client.schedule.getHandle(scheduleId).update((prev) => ({ ...prev, spec, action, state: { ...prev.state, paused, note } }));
    } catch (e) {
      if (!(e instanceof ScheduleNotFoundError)) throw e;
      await this.client.schedule.create({ scheduleId, spec, action, policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1h' }, state: { paused, note } });
      created = true;
    }
    if (s.now && !paused) await this.client.schedule.getHandle(scheduleId).trigger(ScheduleOverlapPolicy.SKIP);
    return { scheduleId, created };
  }

  async close(): Promise<void> {
    await this.client.connection.close();
  }
}
