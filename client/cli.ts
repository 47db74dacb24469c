/**
 * The `tempest` CLI. Exit codes (usable from CI): 0 Pass (or command succeeded), 1 Fail,
 * 2 error / aborted / bad input (nothing is started on bad input).
 */
import { existsSync } from 'node:fs';
import { resolve as resolvePath } from 'node:path';
import { Command } from 'commander';
import { WorkflowNotFoundError, WorkflowFailedError } from '@temporalio/client';
import { ConfigError } from '../config/errors.js';
import { loadFile, runnableEngine } from '../config/load.js';
import { loadTempestConfig, type TempestConfig } from '../config/tempest-config.js';
import { formatMs } from '../config/duration.js';
import { TempestClient, checkWorkflowId } from './client.js';
import { temporalConnection, tlsDiagnosis } from './connection.js';
import type { LoadOptions } from '../config/load.js';
import { formatReport, printable } from '../activities/report/format.js';
import { isDnsLabel } from '../config/selector.js';
import type { GameDaySpec, ProgressiveSpec } from '../config/spec.js';
import { completeStepSignal, gameDayStatusQuery, type GameDayResult } from '../workflows/gameday.js';
import { progressiveStatusQuery, type ProgressiveResult } from '../workflows/progressive.js';
import { resilienceScore, type WeightedRun } from '../workflows/score.js';
import type { ExperimentResult, ExperimentStatus, Verdict } from '../activities/types.js';

export const EXIT = { ok: 0, fail: 1, error: 2 } as const;

export function exitCodeFor(v: Verdict): number {
  return v === 'Pass' ? EXIT.ok : v === 'Fail' ? EXIT.fail : EXIT.error;
}

class UsageError extends Error {}

interface GlobalOpts {
  config?: string;
  address?: string;
  namespace?: string;
  taskQueue?: string;
  kubeconfig?: string;
}

function resolveConfig(g: GlobalOpts): TempestConfig {
  const file = g.config ?? process.env.TEMPEST_CONFIG ?? (existsSync('tempest.yaml') ? 'tempest.yaml' : undefined);
  const cfg = loadTempestConfig(file);
  if (g.address) cfg.temporal.address = g.address;
  if (g.namespace) cfg.temporal.namespace = g.namespace;
  if (g.taskQueue) cfg.temporal.taskQueue = g.taskQueue;
  if (g.kubeconfig) cfg.platform.kubernetes.kubeconfig = resolvePath(g.kubeconfig); // relative to the working directory
  return cfg;
}

/** What a load of the user's YAML is bounded by: this client's copy of the limits (and, to run, of the policy). */
function loadOpts(cfg: TempestConfig, withPolicy: boolean): LoadOptions {
  return { limits: cfg.policy.limits, documentLimits: cfg.documentLimits, policy: withPolicy ? cfg.policy : undefined };
}

/** One line, whatever the SDK says. */
const oneLine = (s: string) => s.replace(/\s*\n\s*/g, ' ').trim();

async function connect(cfg: TempestConfig): Promise<TempestClient> {
  try {
    return await TempestClient.connect(cfg);
  } catch (e) {
    if (e instanceof ConfigError) throw e; // a bad temporal.tls file or API key reference: name the field
    const settings = temporalConnection(cfg);
    if (!settings.tls)
      throw new UsageError(
        `cannot reach Temporal at ${cfg.temporal.address}: ${oneLine((e as Error).message)} (start a local server with scripts/temporal-dev, or pass --address)`,
      );
    const why = await tlsDiagnosis(settings);
    throw new UsageError(`cannot reach Temporal at ${cfg.temporal.address} over TLS: ${oneLine((e as Error).message)}${why ? `; ${why}` : ''}`);
  }
}

function uiLink(cfg: TempestConfig, workflowId: string): string {
  return `${cfg.temporal.uiUrl.replace(/\/+$/, '')}/namespaces/${cfg.temporal.namespace}/workflows/${encodeURIComponent(workflowId)}`;
}

async function hasWorker(c: TempestClient): Promise<boolean> {
  try {
    const r = await c.client.workflowService.describeTaskQueue({
      namespace: c.config.temporal.namespace,
      taskQueue: { name: c.config.temporal.taskQueue },
      taskQueueType: 1, // WORKFLOW
    });
    return (r.pollers ?? []).length > 0;
  } catch {
    return true; // cannot tell: do not cry wolf
  }
}

function summarizeStatus(s: ExperimentStatus): string {
  const injected = s.faults.filter((f) => f.state === 'injected' || f.state === 'injecting').length;
  const reverted = s.faults.filter((f) => f.state === 'reverted').length;
  const runs = s.probes.reduce((a, p) => a + p.runs, 0);
  const fails = s.probes.reduce((a, p) => a + p.failures, 0);
  const left = s.chaosRemainingMs !== undefined ? `, ${Math.ceil(s.chaosRemainingMs / 1000)}s of chaos left` : '';
  return `phase ${s.phase}${s.currentFault ? ` (${s.currentFault})` : ''}${s.paused ? ' PAUSED' : ''}${left}; faults injected ${injected}, reverted ${reverted}/${s.faults.length}; probe runs ${runs - fails}/${runs} passed`;
}

/** Follow a run: print each new timeline event and a status line every 10 s until it completes. */
async function follow(c: TempestClient, workflowId: string, out: (s: string) => void): Promise<ExperimentResult> {
  const seen = new Set<string>();
  let lastLine = 0;
  const resultP = c.result(workflowId);
  let done = false;
  resultP.then(
    () => (done = true),
    () => (done = true),
  );
  let warned = false;
  const started = Date.now();
  while (!done) {
    try {
      const s = await c.status(workflowId);
      for (const e of s.timeline) {
        const k = e.at + e.message;
        if (!seen.has(k)) {
          seen.add(k);
          out(`  ${e.at.slice(11, 19)}  ${e.message}`);
        }
      }
      if (Date.now() - lastLine > 10_000 && s.phase !== 'done') {
        out(`  ...      ${summarizeStatus(s)}`);
        lastLine = Date.now();
      }
    } catch (e) {
      if (!warned && Date.now() - started > 5000 && !(await hasWorker(c))) {
        out(`  (no worker is polling task queue ${c.config.temporal.taskQueue}: start one with \`tempest worker\`)`);
        warned = true;
      }
      void e;
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
  return resultP;
}

export function buildCli(print: (s: string) => void = (s) => console.log(s)): Command {
  // Everything the CLI prints may carry a run's content (abort reasons, notes, probe output): no terminal escapes.
  const out = (s: string) => print(printable(s));
  const program = new Command();
  program
    .name('tempest')
    .description('Chaos experiments as durable Temporal workflows. Litmus ChaosEngine YAML in; no fault left behind.')
    .option('-c, --config <file>', 'tempest.yaml operator settings (env TEMPEST_CONFIG; default ./tempest.yaml if present)')
    .option('--address <host:port>', 'Temporal frontend (default from config, 127.0.0.1:7233)')
    .option('--namespace <ns>', 'Temporal namespace (default from config, "default")')
    .option('--task-queue <name>', 'task queue of the Tempest workers (default "tempest")')
    .option('--kubeconfig <file>', 'kubeconfig for the kubernetes platform (default: config, KUBECONFIG, ~/.kube/config, in-cluster)')
    .showHelpAfterError()
    .addHelpText(
      'after',
      '\nExit codes: 0 Pass / success, 1 Fail, 2 error, aborted or bad input (nothing started).\n' +
        'Examples:\n  tempest validate examples/engines/api-gateway-chaos.yaml\n  tempest run examples/engines/api-gateway-chaos.yaml --wait\n  tempest abort api-gateway-chaos-20261126T101500-ab12 --reason "pager went off"',
    );
  const g = () => program.opts<GlobalOpts>();

  program
    .command('validate')
    .description(
      'parse ChaosEngine / ChaosExperiment / ChaosSchedule / ChaosHypothesis / ProgressiveChaos / GameDay / experiment-list YAML files and print what Tempest would run',
    )
    .argument('<files...>')
    .action((files: string[]) => {
      const cfg = resolveConfig(g());
      for (const f of files) {
        for (const d of loadFile(f, loadOpts(cfg, false))) {
          if (d.kind === 'ChaosEngine' || d.kind === 'ChaosHypothesis') {
            const e = d.experiment;
            out(`${f}: ${d.kind} ${e.name} -> ${e.target.kind} ${e.target.namespace}/${e.target.labelSelector}`);
            if (e.hypothesis) out(`  hypothesis: ${e.hypothesis}`);
            for (const x of e.faults)
              out(
                `  ${x.name}: ${formatMs(x.durationMs)} every ${formatMs(x.intervalMs)}, ${x.probes.length} probe(s) ${x.probes.map((p) => `${p.name}[${p.type} ${p.mode}]`).join(', ')}`,
              );
          } else if (d.kind === 'ChaosSchedule') {
            out(`${f}: ChaosSchedule ${d.schedule.name}: ${describeSchedule(d.schedule)}; engine ${d.schedule.engine.faults.map((x) => x.name).join(', ')}`);
          } else if (d.kind === 'ProgressiveChaos') {
            const pg = d.progressive;
            out(`${f}: ProgressiveChaos ${pg.name} on ${pg.engine.name} (${pg.engine.faults.map((x) => x.name).join(', ')})`);
            for (const s of pg.stages)
              out(
                `  ${s.id} "${s.name}": ${s.chaosPercentage}% for ${formatMs(s.durationMs)}, pass at >= ${s.successThreshold * 100}% probe checks${s.dependsOn ? `, after ${s.dependsOn}` : ''}`,
              );
          } else if (d.kind === 'ChaosExperiment') {
            out(
              `${f}: ChaosExperiment ${d.defaults.name}: ${d.defaults.env.length} default env value(s) for the engines in this file (the engine's own env wins)`,
            );
          } else if (d.kind === 'GameDay') {
            const gd = d.gameDay;
            out(`${f}: GameDay ${gd.name} (${gd.frequency ?? 'on demand'}, ${formatMs(gd.durationMs)}; ${gd.participants.join(', ')})`);
            for (const sc of gd.scenarios)
              out(
                `  "${sc.name}" ${formatMs(sc.durationMs)}: ${sc.steps.map((st) => `${st.experiment} [${st.kind === 'engine' ? st.engine.name : 'manual'}]`).join(', ')}`,
              );
          } else {
            out(`${f}: experiment list: ${d.faults.map((x) => `${x.name} (${formatMs(x.durationMs)}, ${x.probes.length} probe(s))`).join(', ')}`);
          }
        }
      }
      out('valid');
    });

  program
    .command('run')
    .description('start a ChaosEngine, ChaosHypothesis, ProgressiveChaos or GameDay as a durable workflow')
    .argument('<file>', 'a file with one ChaosEngine, ChaosHypothesis, ProgressiveChaos or GameDay')
    .option('-w, --wait', 'follow the run, print progress and the report; exit code from the verdict')
    .option('--dry-run', 'run guards and probes only; inject nothing')
    .option('--id <workflowId>', 'workflow id (default <engine>-<timestamp>-<random>)')
    .option('--json', 'with --wait: print the result record as JSON instead of the report')
    .action(async (file: string, o: { wait?: boolean; dryRun?: boolean; id?: string; json?: boolean }) => {
      if (o.id !== undefined) {
        try {
          checkWorkflowId(o.id);
        } catch (e) {
          throw new UsageError(`--id: ${(e as Error).message}`);
        }
      }
      const cfg = resolveConfig(g());
      // This client's copy of the policy refuses early what the worker would refuse anyway (the worker re-checks).
      const docs = loadFile(file, loadOpts(cfg, true));
      const progressive = docs.find((d) => d.kind === 'ProgressiveChaos');
      if (progressive?.kind === 'ProgressiveChaos') return runProgressive(cfg, progressive.progressive, o);
      const gameDay = docs.find((d) => d.kind === 'GameDay');
      if (gameDay?.kind === 'GameDay') return runGameDay(cfg, gameDay.gameDay, o);
      const spec = runnableEngine(docs, file);
      const c = await connect(cfg);
      try {
        const h = await c.start(spec, { dryRun: o.dryRun, workflowId: o.id });
        out(`started ${h.workflowId}${o.dryRun ? ' (dry run)' : ''}`);
        out(`Temporal UI: ${uiLink(cfg, h.workflowId)}`);
        if (!(await hasWorker(c))) out(`warning: no worker is polling task queue ${cfg.temporal.taskQueue}; start one with \`tempest worker\``);
        if (!o.wait) return;
        const r = await follow(c, h.workflowId, out);
        out('');
        out(o.json ? JSON.stringify(r, null, 2) : formatReport(r, { uiUrl: cfg.temporal.uiUrl, namespace: cfg.temporal.namespace }));
        process.exitCode = exitCodeFor(r.verdict);
      } finally {
        await c.close();
      }
    });

  function printProgressive(r: ProgressiveResult) {
    out(`Progressive ${r.name}: ${r.verdict}: ${r.reason}`);
    for (const s of r.stages) out(`- ${s.id.padEnd(8)} ${s.state.padEnd(8)} ${String(s.chaosPercentage).padStart(3)}%  ${s.reason}`);
    out(`Resilience score: ${r.resilienceScore.toFixed(1)}`);
  }

  function printGameDay(r: GameDayResult) {
    out(`Game day ${r.name}: ${r.verdict}: ${r.reason}`);
    for (const s of r.steps) out(`- ${s.state.padEnd(8)} ${s.scenario} / ${s.experiment}${s.by ? ` (by ${s.by})` : ''}${s.notes ? `: ${s.notes}` : ''}`);
    out(`Resilience score (automated steps): ${r.resilienceScore.toFixed(1)}`);
  }

  async function runProgressive(cfg: TempestConfig, spec: ProgressiveSpec, o: { wait?: boolean; dryRun?: boolean; id?: string; json?: boolean }) {
    const c = await connect(cfg);
    try {
      const h = await c.startProgressive(spec, { dryRun: o.dryRun, workflowId: o.id });
      out(`started ${h.workflowId} (progressive: ${spec.stages.map((s) => `${s.id} ${s.chaosPercentage}%`).join(' -> ')})`);
      out(`Temporal UI: ${uiLink(cfg, h.workflowId)}`);
      if (!o.wait) return;
      const resultP = h.result() as Promise<ProgressiveResult>;
      let done = false;
      resultP.then(
        () => (done = true),
        () => (done = true),
      );
      const seen = new Map<string, string>();
      while (!done) {
        try {
          for (const s of await h.query(progressiveStatusQuery)) {
            const line = `${s.state}${s.workflowId ? ` (${s.workflowId})` : ''}${s.reason ? `: ${s.reason}` : ''}`;
            if (seen.get(s.id) !== line) {
              seen.set(s.id, line);
              out(`  ${s.id} "${s.name}" ${s.chaosPercentage}%: ${line}`);
            }
          }
        } catch {
          /* not started yet */
        }
        await new Promise((r) => setTimeout(r, 2000));
      }
      const r = await resultP;
      out('');
      if (o.json) out(JSON.stringify(r, null, 2));
      else printProgressive(r);
      process.exitCode = exitCodeFor(r.verdict);
    } finally {
      await c.close();
    }
  }

  async function runGameDay(cfg: TempestConfig, spec: GameDaySpec, o: { wait?: boolean; dryRun?: boolean; id?: string; json?: boolean }) {
    const c = await connect(cfg);
    try {
      const h = await c.startGameDay(spec, { dryRun: o.dryRun, workflowId: o.id });
      out(`started game day ${h.workflowId} (${spec.scenarios.map((s) => s.name).join(' -> ')})`);
      out(`Temporal UI: ${uiLink(cfg, h.workflowId)}`);
      if (!o.wait) return;
      const resultP = h.result() as Promise<GameDayResult>;
      let done = false;
      resultP.then(
        () => (done = true),
        () => (done = true),
      );
      const seen = new Map<string, string>();
      while (!done) {
        try {
          for (const s of await h.query(gameDayStatusQuery)) {
            const key = `${s.scenario}/${s.experiment}`;
            if (seen.get(key) === s.state) continue;
            seen.set(key, s.state);
            if (s.state === 'awaiting') {
              out(`  ${key}: waiting for the team: ${s.instructions}`);
              out(`      report it: tempest gameday complete ${h.workflowId} "${s.scenario}" ${s.experiment} --outcome pass|fail --notes "..."`);
            } else if (s.state !== 'pending')
              out(`  ${key}: ${s.state}${s.workflowId && s.state === 'running' ? ` (${s.workflowId})` : ''}${s.notes ? ` - ${s.notes}` : ''}`);
          }
        } catch {
          /* not started yet */
        }
        await new Promise((r) => setTimeout(r, 2000));
      }
      const r = await resultP;
      out('');
      if (o.json) out(JSON.stringify(r, null, 2));
      else printGameDay(r);
      process.exitCode = exitCodeFor(r.verdict);
    } finally {
      await c.close();
    }
  }

  program
    .command('gameday')
    .description('game-day steps done by people')
    .command('complete')
    .description('report a manual game-day step as done (pass or fail), with notes')
    .argument('<workflowId>')
    .argument('<scenario>', 'scenario name, as in the game-day file')
    .argument('<experiment>', 'experiment name, as in the scenario')
    .requiredOption('--outcome <pass|fail>', 'what happened')
    .option('--notes <text>', 'what the team saw')
    .option('--by <who>', 'who reports it', process.env.USER)
    .action(async (id: string, scenario: string, experiment: string, o: { outcome: string; notes?: string; by?: string }) => {
      if (o.outcome !== 'pass' && o.outcome !== 'fail') throw new UsageError(`--outcome must be pass or fail (got "${o.outcome}")`);
      const c = await connect(resolveConfig(g()));
      try {
        const steps = await c.handle(id).query(gameDayStatusQuery);
        const step = steps.find((s) => s.scenario === scenario && s.experiment === experiment);
        if (!step)
          throw new UsageError(`${id} has no step ${scenario}/${experiment} (steps: ${steps.map((s) => `"${s.scenario}"/${s.experiment}`).join(', ')})`);
        if (step.kind !== 'manual') throw new UsageError(`${scenario}/${experiment} is automated; Tempest reports it`);
        await c.handle(id).signal(completeStepSignal, { scenario, experiment, outcome: o.outcome, notes: o.notes, by: o.by });
        out(`reported ${scenario}/${experiment}: ${o.outcome}`);
      } finally {
        await c.close();
      }
    });

  program
    .command('status')
    .description('phase, faults injected/reverted, probe results so far, time left')
    .argument('<workflowId>')
    .option('--json', 'print the raw status')
    .action(async (id: string, o: { json?: boolean }) => {
      const c = await connect(resolveConfig(g()));
      try {
        const s = await c.status(id);
        if (o.json) return out(JSON.stringify(s, null, 2));
        out(summarizeStatus(s));
        if (s.verdict) out(`verdict ${s.verdict}: ${s.reason ?? ''}`);
        for (const f of s.faults) out(`  fault ${f.name}: ${f.state}, rounds ${f.rounds}${f.affected.length ? `, hit ${f.affected.join(', ')}` : ''}`);
        for (const p of s.probes) out(`  probe ${p.name}: ${p.status} (${p.runs - p.failures}/${p.runs})${p.lastReason ? ` ${p.lastReason}` : ''}`);
        for (const e of s.timeline.slice(-5)) out(`  ${e.at.slice(11, 19)} ${e.message}`);
      } finally {
        await c.close();
      }
    });

  program
    .command('abort')
    .description('stop the chaos now and revert every injected fault (waits until the run has ended)')
    .argument('<workflowId>')
    .requiredOption('-r, --reason <text>', 'why (recorded in the result)')
    .option('--no-wait', 'return once the abort is delivered')
    .action(async (id: string, o: { reason: string; wait: boolean }) => {
      const c = await connect(resolveConfig(g()));
      try {
        await c.abort(id, o.reason);
        out(`abort sent to ${id}`);
        if (!o.wait) return;
        const r = (await c.result(id)) as ExperimentResult | ProgressiveResult | GameDayResult;
        out(`${r.verdict}: ${r.reason}`);
        if (!('faults' in r)) return; // progressive / game day: each stage's experiment reports its own reverts
        for (const f of r.faults) out(`  ${f.name}: ${f.state}${f.revert ? ` (${f.revert.verification})` : ''}`);
        process.exitCode = r.faults.every((f) => f.state !== 'injected' && f.state !== 'injecting' && f.state !== 'reverting') ? EXIT.ok : EXIT.error;
      } finally {
        await c.close();
      }
    });

  for (const [name, desc] of [
    ['pause', 'pause further chaos rounds'],
    ['resume', 'resume chaos rounds'],
  ] as const) {
    program
      .command(name)
      .description(desc)
      .argument('<workflowId>')
      .action(async (id: string) => {
        const c = await connect(resolveConfig(g()));
        try {
          await (name === 'pause' ? c.pause(id) : c.resume(id));
          out(`${name} sent to ${id}`);
        } finally {
          await c.close();
        }
      });
  }

  program
    .command('results')
    .description('the result record of a run (waits for a running one)')
    .argument('<workflowId>')
    .option('--json', 'print the JSON record')
    .action(async (id: string, o: { json?: boolean }) => {
      const cfg = resolveConfig(g());
      const c = await connect(cfg);
      try {
        const r = (await c.result(id)) as ExperimentResult | ProgressiveResult | GameDayResult;
        if (o.json) out(JSON.stringify(r, null, 2));
        else if ('steps' in r) printGameDay(r);
        else if ('stages' in r) printProgressive(r);
        else out(formatReport(r, { uiUrl: cfg.temporal.uiUrl, namespace: cfg.temporal.namespace }));
        process.exitCode = exitCodeFor(r.verdict);
      } finally {
        await c.close();
      }
    });

  program
    .command('score')
    .description('resilience score of finished runs: Σ(weight × probe success %) / Σ weight (Litmus)')
    .argument('<workflowIds...>')
    .option('-w, --weight <id=weight...>', 'weight per run, 0..10 (default 10)')
    .action(async (ids: string[], o: { weight?: string[] }) => {
      const weights = new Map<string, number>();
      for (const w of o.weight ?? []) {
        const m = /^(.+)=(\d+(\.\d+)?)$/.exec(w);
        if (!m || Number(m[2]) > 10) throw new UsageError(`--weight ${w}: expected <workflowId>=<0..10>`);
        weights.set(m[1], Number(m[2]));
      }
      for (const id of weights.keys()) if (!ids.includes(id)) throw new UsageError(`--weight names ${id}, which is not one of the runs given`);
      const c = await connect(resolveConfig(g()));
      try {
        const runs: WeightedRun[] = [];
        for (const id of ids) {
          const r = await c.result(id);
          runs.push({ name: id, weight: weights.get(id) ?? 10, probeSuccessPercentage: r.probeSuccessPercentage });
          out(`${id}: ${r.verdict}, probe success ${r.probeSuccessPercentage}%, weight ${weights.get(id) ?? 10}`);
        }
        out(`resilience score: ${resilienceScore(runs).toFixed(1)}`);
      } finally {
        await c.close();
      }
    });

  program
    .command('list')
    .description('recent experiment runs (needs the dev server or a cluster with visibility)')
    .option('-n, --limit <n>', 'how many', '20')
    .option('--experiment <name>', 'only this engine')
    .action(async (o: { limit: string; experiment?: string }) => {
      const c = await connect(resolveConfig(g()));
      try {
        const q = `WorkflowType = 'experimentWorkflow'` + (o.experiment ? ` AND TempestExperiment = '${o.experiment.replace(/'/g, '')}'` : '');
        let n = 0;
        for await (const w of c.client.workflow.list({ query: q })) {
          const verdict = (w.searchAttributes?.TempestVerdict as string[] | undefined)?.[0] ?? '';
          out(`${w.workflowId}  ${w.status.name}  ${verdict}  ${w.startTime.toISOString()}`);
          if (++n >= Number(o.limit)) break;
        }
        if (!n) out('no runs');
      } finally {
        await c.close();
      }
    });

  const sched = program.command('schedule').description('Litmus ChaosSchedules as Temporal Schedules (gated by window and minChaosInterval)');
  sched
    .command('apply')
    .description('create or update the Temporal Schedule of each ChaosSchedule in the file')
    .argument('<file>')
    .action(async (file: string) => {
      const cfg = resolveConfig(g());
      const schedules = loadFile(file, loadOpts(cfg, true)).flatMap((d) => (d.kind === 'ChaosSchedule' ? [d.schedule] : []));
      if (!schedules.length) throw new UsageError(`${file}: no ChaosSchedule document in the file`);
      for (const s of schedules) {
        if (s.minChaosIntervalMs > 0 && !s.every && !cfg.temporal.searchAttributes) {
          throw new UsageError(
            `${file}: ${s.name}: minChaosInterval needs search attributes to find the last run by (temporal.searchAttributes is false in ${cfg.file ?? 'the config'}); refusing a schedule that would not be enforced`,
          );
        }
        if (s.once && Date.parse(s.once) <= Date.now()) throw new UsageError(`${file}: ${s.name}: once.executionTime ${s.once} is in the past`);
        if (s.activeUntil && Date.parse(s.activeUntil) <= Date.now())
          throw new UsageError(`${file}: ${s.name}: timeRange.endTime ${s.activeUntil} is in the past`);
      }
      const c = await connect(cfg);
      try {
        for (const s of schedules) {
          const r = await c.applySchedule(s);
          out(
            `${r.created ? 'created' : 'updated'} ${r.scheduleId}: ${describeSchedule(s)}${s.state !== 'active' ? `, paused (${s.state})` : ''}${s.now ? ', triggered now' : ''}`,
          );
        }
      } finally {
        await c.close();
      }
    });
  sched
    .command('list')
    .description('Tempest schedules and their next runs')
    .action(async () => {
      const c = await connect(resolveConfig(g()));
      try {
        let n = 0;
        for await (const s of c.client.schedule.list()) {
          if (!s.scheduleId.startsWith('tempest-schedule-')) continue;
          n++;
          out(`${s.scheduleId}  ${s.state.paused ? 'paused' : 'active'}  next ${s.info.nextActionTimes[0]?.toISOString() ?? '-'}  ${s.state.note ?? ''}`);
        }
        if (!n) out('no schedules');
      } finally {
        await c.close();
      }
    });
  for (const [name, desc] of [
    ['trigger', 'start one gated run now'],
    ['delete', 'delete the schedule (runs in flight go on)'],
  ] as const) {
    sched
      .command(name)
      .description(desc)
      .argument('<scheduleId>')
      .action(async (id: string) => {
        const c = await connect(resolveConfig(g()));
        try {
          const h = c.client.schedule.getHandle(id);
          await (name === 'trigger' ? h.trigger() : h.delete());
          out(`${name === 'trigger' ? 'triggered' : 'deleted'} ${id}`);
        } finally {
          await c.close();
        }
      });
  }

  program
    .command('cleanup')
    .description(
      "find faults left behind by runs that are closed (terminated, timed out, ...) or unknown, and revert them with each fault's own revert and verify (done by a worker, under its policy); exit 0 when clean, 1 when something is left",
    )
    .option('--dry-run', 'list what would be reverted, revert nothing')
    .option('--target-namespace <ns>', 'only the fault ledger in this Kubernetes (or fleet) namespace (--namespace is the Temporal namespace, as everywhere)')
    .option('--json', 'print the raw result')
    .action(async (o: { dryRun?: boolean; targetNamespace?: string; json?: boolean }) => {
      const cfg = resolveConfig(g());
      const ns = o.targetNamespace;
      if (ns !== undefined && !isDnsLabel(ns)) throw new UsageError(`--target-namespace: ${JSON.stringify(ns.slice(0, 80))} is not a namespace name`);
      const c = await connect(cfg);
      try {
        if (!(await hasWorker(c)))
          out(`warning: no worker is polling task queue ${cfg.temporal.taskQueue}; cleanup runs on a worker (start one with \`tempest worker\`)`);
        const workflowId = `tempest-cleanup-${new Date().toISOString().replace(/[-:.]/g, '').slice(0, 15)}-${Math.random().toString(36).slice(2, 6)}`;
        out(`cleanup ${workflowId}${o.dryRun ? ' (dry run)' : ''}: listing the fault ledger...`);
        const r = (await c.client.workflow.execute('reconcileWorkflow', {
          taskQueue: cfg.temporal.taskQueue,
          workflowId,
          args: [{ dryRun: !!o.dryRun, ...(ns ? { namespace: ns } : {}) }],
        })) as import('../workflows/reconciler.js').ReconcileResult;
        if (o.json) out(JSON.stringify(r, null, 2));
        else out(cleanupTable(r));
        process.exitCode = r.clean ? EXIT.ok : EXIT.fail;
      } finally {
        await c.close();
      }
    });

  program
    .command('worker')
    .description('run a Tempest worker (activities + workflows) until interrupted')
    .action(async () => {
      const cfg = resolveConfig(g());
      const { runWorker } = await import('../workers/worker.js');
      try {
        await runWorker(cfg, out);
      } catch (e) {
        // The native connection's errors (TLS refused, unreachable) are one line; their stacks say nothing more.
        const overTls = cfg.temporal.tls || cfg.temporal.apiKeyEnv || cfg.temporal.apiKeyFile ? ' over TLS' : '';
        if ((e as Error).name === 'TransportError')
          throw new UsageError(`cannot reach Temporal at ${cfg.temporal.address}${overTls}: ${oneLine((e as Error).message)}`);
        throw e;
      }
    });

  program
    .command('controller')
    .description(
      'run the Kubernetes controller until interrupted: ChaosEngines become runs (status and ChaosResults written back, engineState: stop aborts, delete waits until every fault is reverted and verified), ChaosSchedules become Temporal Schedules; one replica acts (Lease)',
    )
    .option('--identity <name>', "this replica's name in the Lease (default <hostname>_<pid>)")
    .action(async (o: { identity?: string }) => {
      const cfg = resolveConfig(g());
      const { runController } = await import('../workers/controller/index.js');
      const until = new Promise<void>((resolveStop) => {
        process.once('SIGTERM', () => resolveStop());
        process.once('SIGINT', () => resolveStop());
      });
      try {
        await runController({ config: cfg, log: out, identity: o.identity, until });
      } catch (e) {
        if ((e as Error).name === 'TransportError') throw new UsageError(`cannot reach Temporal at ${cfg.temporal.address}: ${oneLine((e as Error).message)}`);
        if ((e as Error).name === 'ApplicationFailure') throw new UsageError((e as Error).message); // no cluster configured, a bad kubeconfig
        if (/^leadership of lease/.test((e as Error).message)) {
          out(`tempest controller: ${(e as Error).message}`);
          process.exitCode = EXIT.fail;
          return;
        }
        throw e;
      }
    });

  return program;
}

/** The cleanup table: one line per ledger entry found, what was done and why. */
export function cleanupTable(r: import('../workflows/reconciler.js').ReconcileResult): string {
  if (!r.rows.length) return 'no fault-ledger entries: nothing left behind';
  const head = ['OUTCOME', 'FAULT', 'RUN', 'STATUS', 'WHERE', 'DETAIL'];
  const rows = r.rows.map((x) => [x.outcome, x.fault || '-', x.runId || '-', x.status, x.where, x.verification ?? x.why].map((c) => printable(String(c))));
  const w = head.map((h, i) => Math.min(48, Math.max(h.length, ...rows.slice(0, 200).map((row) => row[i].length))));
  const line = (row: string[]) => row.map((c, i) => (i === row.length - 1 ? c : c.slice(0, w[i]).padEnd(w[i]))).join('  ');
  const sum = `${r.rows.length} entries: ${r.reverted} reverted, ${r.failed} not verified, ${r.rows.filter((x) => x.outcome === 'would-revert').length} to revert, ${r.rows.filter((x) => x.outcome === 'left').length} left alone${r.clean ? '; clean' : ''}`;
  return [line(head), ...rows.map(line), sum].join('\n');
}

function hm(min: number): string {
  return `${String(Math.floor(min / 60)).padStart(2, '0')}:${String(min % 60).padStart(2, '0')}`;
}

const DAY_NAMES = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];

/** What a schedule means, in one line (the same words `schedule apply` and `validate` print). */
export function describeSchedule(s: import('../config/spec.js').ScheduleSpec): string {
  const days = s.days.length ? s.days.map((d) => DAY_NAMES[d]).join(',') : 'every day';
  if (s.now) return 'one run now';
  if (s.once) return `one run at ${s.once}`;
  const range = `${s.activeFrom ? ` from ${s.activeFrom}` : ''}${s.activeUntil ? ` until ${s.activeUntil}` : ''}`;
  const hours = s.hours?.length ? `, hours ${s.hours.join(',')} UTC` : '';
  if (s.every) return `every ${s.every.n} ${s.every.unit}(s)${hours}, ${days}${range}`;
  const w = s.window ? `${hm(s.window.startMin)}-${hm(s.window.endMin)} UTC` : 'any time';
  return `${w}, ${days}, at least ${formatMs(s.minChaosIntervalMs)} apart${range}`;
}

export async function main(argv: string[]): Promise<number> {
  const program = buildCli();
  program.exitOverride();
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (e) {
    if (e instanceof ConfigError || e instanceof UsageError) {
      console.error(`tempest: ${e.message}`);
      return EXIT.error;
    }
    const ce = e as { code?: string; exitCode?: number };
    if (typeof ce.code === 'string' && ce.code.startsWith('commander.')) {
      return ce.code === 'commander.helpDisplayed' || ce.code === 'commander.version' ? 0 : EXIT.error;
    }
    if (e instanceof WorkflowNotFoundError) {
      console.error(`tempest: no such run: ${(e as Error).message}`);
      return EXIT.error;
    }
    if (e instanceof WorkflowFailedError) {
      console.error(`tempest: run failed: ${(e.cause as Error | undefined)?.message ?? e.message}`);
      return EXIT.error;
    }
    console.error(`tempest: ${(e as Error).stack ?? e}`);
    return EXIT.error;
  }
}

// Run when executed directly (bin/tempest), not when imported by tests.
if (process.argv[1] && /client[/\\]cli\.ts$/.test(process.argv[1])) {
  void main(process.argv).then((code) => process.exit(code));
}
