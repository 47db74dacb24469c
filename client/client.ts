/** A small typed client for programmatic starts (CI jobs, game-day runners) and for the CLI. */
import { Client, Connection, WorkflowHandle } from '@temporalio/client';
import type { ExperimentInput, ExperimentSpec, RunOptions } from '../config/spec.js';
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

  async close(): Promise<void> {
    await this.client.connection.close();
  }
}
