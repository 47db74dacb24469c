/**
 * The experiment workflow: the seed's mermaid diagram as durable code.
 *
 *   safety checks -> steady-state probes -> for each fault:
 *       record its revert -> inject (idempotent, per round) -> monitor (probes, rollback triggers) -> revert + verify
 *   -> end-of-test probes -> verdict -> result record
 *
 * Invariant: a fault's revert is recorded (in `pendingReverts`, i.e. in workflow state rebuilt from history)
 * BEFORE its first inject activity is scheduled, and every recorded revert is run in a non-cancellable scope,
 * retried until the activity verifies the target is clean — on success, failure, abort, cancellation and
 * across worker crashes.
 *
 * Policy: guards, rollback triggers and rollback actions are the WORKER's (preflight answers which apply to this
 * run, by name; the activities evaluate the worker's own definitions). The input only says what to run.
 *
 * Deterministic code only: no I/O, no Node built-ins; activities are imported as types.
 */
import {
  ActivityCancellationType,
  CancellationScope,
  condition,
  defineQuery,
  defineSignal,
  isCancellation,
  log,
  patched,
  proxyActivities,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { ExperimentInput, FaultSpec, ProbeSpec, RunOptions, RunPolicyView } from '../config/spec.js';
import { faultDescriptor } from '../activities/faults/registry.js';
import { probeSuccessPercentage } from './score.js';
import { experimentInputProblem } from './input.js';
import { printable } from './text.js';
import type {
  ExperimentResult,
  ExperimentStatus,
  FaultRef,
  FaultSummary,
  GuardOutcome,
  ProbeOutcome,
  ProbeSummary,
  TempestActivities,
  TimelineEvent,
  TriggerBreach,
  Verdict,
  RollbackActionOutcome,
} from '../activities/types.js';

// ---- signals, queries (module level, so clients can import the definitions) ----
export const abortSignal = defineSignal<[string?]>('abort');
export const pauseSignal = defineSignal('pause');
export const resumeSignal = defineSignal('resume');
export const statusQuery = defineQuery<ExperimentStatus>('status');

export const SEARCH_ATTRIBUTES = {
  experiment: 'TempestExperiment',
  namespace: 'TempestNamespace',
  verdict: 'TempestVerdict',
} as const;

// ---- activity stubs, one per failure policy ----
const quick = proxyActivities<TempestActivities>({
  startToCloseTimeout: '30s',
  retry: { maximumAttempts: 3, initialInterval: '1s' },
});

const injecting = proxyActivities<TempestActivities>({
  startToCloseTimeout: '2m',
  heartbeatTimeout: '20s',
  // An abort must wait for an in-flight injection to finish or stop, so we know what was done.
  cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
  retry: {
    maximumAttempts: 5,
    initialInterval: '1s',
    backoffCoefficient: 2,
    nonRetryableErrorTypes: ['FaultRefused', 'TargetNotFound', 'Forbidden', 'UnsupportedFault'],
  },
});

// Reverts are retried until verified: no attempt limit, capped backoff.
const reverting = proxyActivities<TempestActivities>({
  startToCloseTimeout: '2m',
  heartbeatTimeout: '20s',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s' }, // no maximumAttempts: unlimited
});

function probeActivities(probe: ProbeSpec) {
  const rp = probe.runProperties;
  const perTry = rp.probeTimeoutMs + rp.intervalMs;
  const budget = rp.evaluationTimeoutMs ?? perTry * rp.attempts;
  return proxyActivities<TempestActivities>({
    startToCloseTimeout: budget + 30_000,
    // runProbe heartbeats at least every second, so a probe lost with a crashed worker is retried quickly.
    heartbeatTimeout: '10s',
    retry: { maximumAttempts: 3, initialInterval: '1s' },
  });
}

export async function experimentWorkflow(input: ExperimentInput): Promise<ExperimentResult> {
  const info = workflowInfo();
  const malformed = experimentInputProblem(input);
  if (malformed) {
    // Nothing of it is read, nothing is touched: the run ends with the reason.
    const now = new Date().toISOString();
    return {
      workflowId: info.workflowId,
      runId: info.runId,
      experiment: 'invalid-input',
      target: { namespace: '', labelSelector: '', kind: 'deployment' },
      verdict: 'Error',
      reason: `the run's input is malformed: ${malformed}`,
      probeSuccessPercentage: 0,
      dryRun: false,
      startedAt: now,
      endedAt: now,
      guards: [],
      faults: [],
      probes: [],
      timeline: [],
    };
  }
  const { spec, options } = input;
  const startedAt = new Date().toISOString();
  const timeline: TimelineEvent[] = [];
  const note = (text: string) => {
    // Probe reasons, guard texts and names end up here and in the worker's log: no terminal escapes.
    const message = printable(text);
    timeline.push({ at: new Date().toISOString(), message });
    log.info(message);
  };

  const faults: FaultSummary[] = spec.faults.map((f, index) => ({ name: f.name, index, state: 'pending', rounds: 0, affected: [] }));
  const probeStates = new Map<string, ProbeSummary>();
  for (const f of spec.faults) {
    for (const p of f.probes) {
      probeStates.set(probeKey(f, p), { name: p.name, type: p.type, mode: p.mode, fault: f.name, status: 'Awaited', runs: 0, failures: 0, lastReason: '' });
    }
  }

  let phase: ExperimentStatus['phase'] = 'preflight';
  let paused = false;
  let abortReason: string | undefined;
  let stopReason: string | undefined; // why chaos of the current fault ends early (abort, breach, stopOnFailure)
  let verdict: Verdict | undefined;
  let reason = '';
  let breach: TriggerBreach | undefined;
  let chaosDeadline: number | undefined;
  let currentFault: string | undefined;
  const guards: GuardOutcome[] = [];
  /** Monitors (probe / trigger loops) of a finished chaos window, still completing their last evaluation. */
  const winding: Promise<void>[] = [];
  /** Recorded reverts not yet verified, in injection order. Pushed BEFORE the first inject. */
  const pendingReverts: FaultRef[] = [];
  /** Set when chaos was stopped by the system breaking (breach, stopOnFailure probe): the seed's emergency rollback. */
  let emergency: string | undefined;
  /** What stopped the current fault's chaos first, when it was the system breaking (not an abort). */
  let emergencyCause: string | undefined;
  /** Runs from 'emergency-before-abort-v1' on: an abort that arrives after the breach no longer cancels the emergency. */
  let emergencySticky = false;
  let actionOutcomes: RollbackActionOutcome[] | undefined;
  /** When chaos of the latest fault ended (deadline, abort, breach); recovery is measured from here. */
  let chaosEndedAt: number | undefined;
  let recoveryMs: number | undefined;
  /** The worker's policy for this run (set by preflight). */
  let policy: RunPolicyView = legacyPolicy(options);

  setHandler(abortSignal, (why?: string) => {
    if (abortReason) return;
    abortReason = signalText(why) || 'abort requested';
    stopReason ??= `aborted: ${abortReason}`;
    note(`abort requested: ${abortReason}`);
  });
  setHandler(pauseSignal, () => {
    if (!paused) note('chaos paused');
    paused = true;
  });
  setHandler(resumeSignal, () => {
    if (paused) note('chaos resumed');
    paused = false;
  });
  setHandler(statusQuery, (): ExperimentStatus => ({
    phase,
    paused,
    abortRequested: abortReason,
    currentFault,
    faults,
    probes: [...probeStates.values()],
    chaosRemainingMs: chaosDeadline !== undefined && phase === 'chaos' ? Math.max(0, chaosDeadline - Date.now()) : undefined,
    verdict,
    reason: reason || undefined,
    timeline: timeline.slice(-50),
  }));

  const recordProbe = (fault: FaultSpec, probe: ProbeSpec, o: ProbeOutcome) => {
    const s = probeStates.get(probeKey(fault, probe))!;
    s.runs += 1;
    if (o.status === 'Failed') {
      s.failures += 1;
      s.status = 'Failed';
      s.lastReason = o.reason;
      note(`probe ${probe.name} (${o.phase}) failed: ${o.reason}`);
      if (probe.runProperties.stopOnFailure && !stopReason) stopReason = emergencyCause = `probe ${probe.name} failed with stopOnFailure: ${o.reason}`;
    } else {
      if (s.status !== 'Failed') s.status = 'Passed';
      if (!s.lastReason || s.status !== 'Failed') s.lastReason = o.reason;
    }
  };

  const evalProbe = async (fault: FaultSpec, probe: ProbeSpec, phaseName: ProbeOutcome['phase'], iteration: number) => {
    let o: ProbeOutcome;
    try {
      o = await probeActivities(probe).runProbe(probe, { runId: info.workflowId, phase: phaseName, iteration });
    } catch (err) {
      if (isCancellation(err)) throw err;
      // The probe activity itself kept failing: that is a probe error, not a crash of the experiment.
      o = {
        name: probe.name,
        type: probe.type,
        mode: probe.mode,
        phase: phaseName,
        iteration,
        status: 'Failed',
        failureKind: 'error',
        reason: `probe could not run: ${errorMessage(err)}`,
        attempts: 0,
        durationMs: 0,
        at: new Date().toISOString(),
      };
    }
    recordProbe(fault, probe, o);
    return o;
  };

  /** Revert one recorded fault; non-cancellable; retried until the activity has verified the target is clean. */
  const revert = async (ref: FaultRef) => {
    const summary = faults[ref.faultIndex];
    summary.state = 'reverting';
    note(`reverting ${ref.fault.name}`);
    const r = await CancellationScope.nonCancellable(() => reverting.revertFault(ref));
    if (chaosEndedAt !== undefined) recoveryMs = Math.max(recoveryMs ?? 0, Date.now() - chaosEndedAt);
    summary.state = 'reverted';
    summary.revert = r;
    summary.revertedAt = r.at;
    const i = pendingReverts.indexOf(ref);
    if (i >= 0) pendingReverts.splice(i, 1);
    note(`reverted ${ref.fault.name}: ${r.verification}`);
  };

  const revertAllPending = async () => {
    // Reverse order of injection; each one on its own so one slow revert never hides another.
    for (const ref of [...pendingReverts].reverse()) await revert(ref);
  };

  try {
    if (options.searchAttributes) {
      upsertSearchAttributes({ [SEARCH_ATTRIBUTES.verdict]: ['Running'] });
    }
    note(`experiment ${spec.name} on ${spec.target.namespace}/${spec.target.labelSelector}${options.dryRun ? ' (dry run)' : ''}`);
    await quick.markRunning({ experiment: spec.name, namespace: spec.target.namespace });

    // ---- Safety checks ----
    phase = 'preflight';
    const pf = await quick.preflight(spec);
    note(`preflight on ${pf.platform}: ${pf.targets.length} target(s): ${pf.targets.join(', ') || 'none'}`);
    // The worker's policy for this run; runs recorded before it existed carried client-side copies instead.
    policy = pf.policy ?? legacyPolicy(options);
    phase = 'guards';
    if (policy.guards.length) {
      guards.push(...(await Promise.all(policy.guards.map((g) => quick.runGuard({ name: g.name })))));
      for (const g of guards) note(`guard ${g.name}: ${g.passed ? 'ok' : 'FAILED'} - ${g.reason}`);
    }
    const failedGuards = guards.filter((g) => !g.passed);
    if (failedGuards.length) {
      verdict = 'Aborted';
      reason = `safety checks failed: ${failedGuards.map((g) => `${g.name} (${g.reason})`).join('; ')}`;
    } else if (spec.engineState === 'stop') {
      verdict = 'Aborted';
      reason = 'engineState is stop';
    }

    // ---- Steady state (SOT, Edge before chaos) ----
    if (!verdict) {
      phase = 'steady-state';
      const sot = spec.faults.flatMap((f) => f.probes.filter((p) => p.mode === 'SOT' || p.mode === 'Edge').map((p) => ({ f, p })));
      const outs = await Promise.all(sot.map(({ f, p }) => evalProbe(f, p, 'SOT', 0)));
      const bad = outs.filter((o) => o.status === 'Failed');
      if (bad.length) {
        verdict = 'Fail';
        reason = `steady state not met before chaos: ${bad.map((o) => `${o.name}: ${o.reason}`).join('; ')}`;
      }
    }

    // ---- Chaos, one fault after the other (as a Litmus engine runs its experiments) ----
    for (let i = 0; i < spec.faults.length && !verdict; i++) {
      if (abortReason) break;
      const fault = spec.faults[i];
      const ref: FaultRef = { runId: info.workflowId, experiment: spec.name, target: spec.target, fault, faultIndex: i };
      currentFault = fault.name;
      stopReason = abortReason ? `aborted: ${abortReason}` : undefined;
      emergencyCause = undefined;
      await runFault(ref);
      // A breach (or stopOnFailure) that came before any abort is an emergency, even if an abort arrives while the
      // fault is being reverted: the operator's rollback actions still run. (Older runs: only without an abort.)
      emergencySticky = patched('emergency-before-abort-v1');
      const cause = emergencySticky ? emergencyCause : stopReason && !abortReason ? stopReason : undefined;
      if (cause && !verdict) {
        verdict = 'Fail';
        reason = cause;
        emergency = cause;
      }
    }

    // ---- End of test probes ----
    if (!verdict && !abortReason) {
      phase = 'post-chaos';
      const eot = spec.faults.flatMap((f) => f.probes.filter((p) => p.mode === 'EOT' || p.mode === 'Edge').map((p) => ({ f, p })));
      await Promise.all(eot.map(({ f, p }) => evalProbe(f, p, 'EOT', 0)));
    }
  } catch (err) {
    if (isCancellation(err)) {
      abortReason ??= 'workflow cancelled';
      note('workflow cancelled: rolling back');
    } else {
      verdict = 'Error';
      reason = errorMessage(err);
      note(`error: ${reason}`);
    }
  } finally {
    // ---- Rollback: whatever is still recorded gets reverted and verified, whatever happened above ----
    if (pendingReverts.length) {
      phase = 'rollback';
      chaosEndedAt ??= Date.now();
      await CancellationScope.nonCancellable(revertAllPending);
    }
    await Promise.all(winding.splice(0));
  }

  // ---- Rollback actions (scale up, restart unhealthy, incident) after an emergency rollback ----
  // Added after the first recorded histories: patched() keeps those replaying.
  const actions = policy.rollbackActions;
  if (emergency && actions.length && patched('rollback-actions-v1')) {
    note(`emergency rollback: running ${actions.length} rollback action(s)`);
    actionOutcomes = await CancellationScope.nonCancellable(() =>
      quick.runRollbackActions({ target: spec.target, experiment: spec.name, workflowId: info.workflowId, reason: emergency!, recoveryMs, actions }),
    );
    for (const a of actionOutcomes) note(`rollback action ${a.name}: ${a.status} - ${a.detail}`);
  }

  // ---- Verdict ----
  const probeList = [...probeStates.values()];
  for (const p of probeList) if (p.status === 'Awaited') p.status = 'N/A';
  const passed = probeList.filter((p) => p.status === 'Passed').length;
  const psp = probeSuccessPercentage(passed, probeList.length);
  if (abortReason && verdict !== 'Error' && !(emergencySticky && emergency)) {
    verdict = 'Aborted';
    reason = abortReason;
  } else if (!verdict) {
    const failed = probeList.filter((p) => p.status === 'Failed');
    if (options.dryRun) {
      verdict = failed.length ? 'Fail' : 'Pass';
      reason = failed.length ? `dry run: probes failed: ${failed.map((p) => p.name).join(', ')}` : 'dry run: guards and probes passed, nothing injected';
    } else if (failed.length) {
      verdict = 'Fail';
      reason = `probes failed: ${failed.map((p) => `${p.name} (${p.lastReason})`).join('; ')}`;
    } else {
      verdict = 'Pass';
      reason = probeList.length ? `all ${probeList.length} probe(s) passed` : 'faults injected and reverted; no probes defined';
    }
  }
  phase = 'done';
  currentFault = undefined;
  note(`verdict ${verdict}: ${reason}`);

  const result: ExperimentResult = {
    workflowId: info.workflowId,
    runId: info.runId,
    experiment: spec.name,
    target: spec.target,
    verdict: verdict!,
    reason,
    probeSuccessPercentage: psp,
    hypothesis: spec.hypothesis,
    hypothesisValidated: spec.hypothesis ? verdict === 'Pass' : undefined,
    hypothesisPlan: spec.hypothesisPlan,
    dryRun: options.dryRun,
    startedAt,
    endedAt: new Date().toISOString(),
    guards,
    faults,
    probes: probeList,
    breach,
    rollbackActions: actionOutcomes,
    recoveryMs,
    timeline,
  };
  if (options.searchAttributes) upsertSearchAttributes({ [SEARCH_ATTRIBUTES.verdict]: [verdict!] });
  await CancellationScope.nonCancellable(() => quick.publishResult(result));
  return result;

  // ------------------------------------------------------------------------------------------
  /** One fault: record revert, ramp, inject (rounds), monitor, stop, revert + verify. */
  async function runFault(ref: FaultRef): Promise<void> {
    const { fault } = ref;
    const summary = faults[ref.faultIndex];
    if (options.dryRun) {
      summary.state = 'skipped';
      note(`dry run: ${fault.name} not injected`);
      // Probes still run once so a dry run checks they can reach their targets.
      await Promise.all(
        fault.probes
          .filter((p) => p.mode === 'Continuous' || p.mode === 'OnChaos')
          .map((p) => evalProbe(fault, p, p.mode === 'OnChaos' ? 'OnChaos' : 'Continuous', 0)),
      );
      return;
    }
    phase = 'chaos';
    if (fault.rampTimeMs > 0) {
      note(`ramp time ${fault.rampTimeMs} ms before ${fault.name}`);
      await condition(() => !!stopReason, fault.rampTimeMs);
    }
    // The safety checks again, right before this fault acts: a freeze declared (or an incident opened) during the
    // ramp time, the steady-state probes or an earlier fault stops the run before anything more is injected.
    if (policy.guards.length && patched('guards-before-inject-v1')) {
      const again = await Promise.all(policy.guards.map((g) => quick.runGuard({ name: g.name })));
      const bad = again.filter((g) => !g.passed);
      if (bad.length) {
        for (const g of bad) note(`guard ${g.name} before ${fault.name}: FAILED - ${g.reason}`);
        verdict = 'Aborted';
        reason = `safety checks failed before ${fault.name}: ${bad.map((g) => `${g.name} (${g.reason})`).join('; ')}`;
        summary.state = 'skipped';
        return;
      }
    }
    // A fault with a read-only prepare step (model-corruption: files and checksums) records what it will touch
    // and how it is now; inject, revert and verify get that record from here, never from the target.
    if (faultDescriptor(fault.name)?.prepares && patched('fault-prepare-v1')) {
      ref.prepared = await injecting.prepareFault(ref);
      note(`${fault.name}: prepared (${Object.keys(ref.prepared).length} field(s) recorded)`);
    }
    let chaosOver = false;
    chaosDeadline = Date.now() + fault.durationMs;
    // The worker's margin (policy), bounded; runs recorded before it was policy used the constant.
    const margin =
      typeof policy.deadManMarginMs === 'number' && policy.deadManMarginMs >= 1000 && policy.deadManMarginMs <= 300_000
        ? policy.deadManMarginMs
        : DEAD_MAN_MARGIN_MS;
    const expiresAt = new Date(chaosDeadline + margin).toISOString();
    summary.deadManAt = expiresAt;
    summary.deadManMarginMs = margin;

    // Monitors run beside the injection loop; they end when chaosOver is set.
    const monitors: Promise<void>[] = [];
    for (const p of fault.probes) {
      if (p.mode === 'Continuous' || p.mode === 'OnChaos') monitors.push(probeLoop(fault, p, () => chaosOver));
    }
    if (policy.triggers.length) monitors.push(triggerLoop(() => chaosOver));
    // A monitor must never take the workflow down; its failures are recorded and it stops.
    const settled = monitors.map((m) =>
      m.catch((err) => {
        if (!isCancellation(err)) note(`monitor stopped: ${errorMessage(err)}`);
      }),
    );

    // Record the revert BEFORE the first injection: from here on, the finally-block will revert it.
    pendingReverts.push(ref);
    summary.state = 'injecting';
    try {
      if (faultDescriptor(fault.name)?.style === 'periodic') {
        for (let round = 0; !stopReason && Date.now() < chaosDeadline; round++) {
          if (paused) {
            await condition(() => !paused || !!stopReason || Date.now() >= chaosDeadline!, Math.max(1, chaosDeadline - Date.now()));
            if (stopReason || Date.now() >= chaosDeadline) break;
          }
          await injectRound(ref, round, expiresAt);
          // Wait one interval (or less at the end of the duration), waking at once on abort/breach.
          await condition(() => !!stopReason, Math.max(1, Math.min(fault.intervalMs, chaosDeadline - Date.now())));
        }
      } else {
        await injectRound(ref, 0, expiresAt);
        await condition(() => !!stopReason, Math.max(1, chaosDeadline - Date.now()));
      }
    } finally {
      chaosOver = true;
      chaosEndedAt = Date.now();
      if (stopReason) note(`stopping chaos early: ${stopReason}`);
      // Monitors see chaosOver and finish their current evaluation; the revert does not wait for them.
      winding.push(...settled);
    }
    await revert(ref);
    await Promise.all(winding.splice(0));
    chaosDeadline = undefined;
    if (!stopReason && fault.rampTimeMs > 0) await condition(() => !!stopReason, fault.rampTimeMs);
  }

  async function injectRound(ref: FaultRef, round: number, expiresAt: string) {
    const summary = faults[ref.faultIndex];
    const r = await injecting.injectFault({ ...ref, round, expiresAt });
    summary.rounds = Math.max(summary.rounds, round + 1);
    summary.state = 'injected';
    summary.injectedAt ??= r.at;
    for (const a of r.affected) if (!summary.affected.includes(a)) summary.affected.push(a);
    note(`${ref.fault.name} round ${round + 1}: ${r.detail}${r.alreadyDone ? ' (already done)' : ''}`);
  }

  async function probeLoop(fault: FaultSpec, probe: ProbeSpec, over: () => boolean) {
    const rp = probe.runProperties;
    if (rp.initialDelayMs > 0) await condition(over, rp.initialDelayMs);
    for (let iteration = 0; !over(); iteration++) {
      await evalProbe(fault, probe, probe.mode === 'OnChaos' ? 'OnChaos' : 'Continuous', iteration);
      if (over()) break;
      await condition(over, rp.pollingIntervalMs);
    }
  }

  async function triggerLoop(over: () => boolean) {
    // Flying blind (triggers that cannot be evaluated, poll after poll) is a breach after the worker's
    // triggerBlindAfter polls in a row. Older runs' results never say "blind", so their histories replay as before.
    const blindAfter = typeof policy.triggerBlindAfter === 'number' && policy.triggerBlindAfter > 0 ? policy.triggerBlindAfter : 0;
    let blindInARow = 0;
    while (!over() && !breach) {
      const got = await quick.evaluateTriggers(policy.triggers.map((t) => t.name));
      if (got && 'blind' in got) {
        blindInARow++;
        note(`rollback triggers ${got.names.join(', ')} could not be evaluated (${blindInARow}${blindAfter ? `/${blindAfter}` : ''} in a row): ${got.reason}`);
        if (blindAfter && blindInARow >= blindAfter && !stopReason) {
          stopReason =
            emergencyCause = `rollback triggers could not be evaluated ${blindInARow} times in a row (flying blind is treated as a breach: rollbackTriggers.blindAfter): ${got.reason}`;
          break;
        }
        await condition(over, policy.triggerPollMs);
        continue;
      }
      blindInARow = 0;
      const b = got;
      if (b) {
        breach = b;
        note(`rollback trigger ${b.name} fired: ${b.value} ${b.criteria} ${b.threshold}`);
        if (!stopReason) stopReason = emergencyCause = `rollback trigger ${b.name} fired: value ${b.value} ${b.criteria} ${b.threshold}`;
        break;
      }
      await condition(over, policy.triggerPollMs);
    }
  }
}

/** Text a signal carries (an abort reason, game-day notes): a string, trimmed, cut to `max` characters. */
export function signalText(v: unknown, max = 1000): string | undefined {
  if (typeof v !== 'string') return undefined;
  const t = printable(v).trim();
  return t.length > max ? `${t.slice(0, max - 1)}…` : t || undefined;
}

/** The policy a run recorded before the worker-side policy carried in its own input (replay of such runs only). */
function legacyPolicy(o: RunOptions): RunPolicyView {
  return {
    source: 'run input (recorded before the worker-side policy)',
    guards: (o.guards ?? []).map((g) => ({ name: g.name, type: g.type as RunPolicyView['guards'][number]['type'] })),
    triggers: (o.rollbackTriggers ?? []).map((t) => ({ name: t.name, query: '', criteria: '>=' as const, threshold: '' })),
    triggerPollMs: o.triggerPollMs ?? 5000,
    rollbackActions: (o.rollbackActions ?? []).map((a) => ({ name: a.name, type: a.type as RunPolicyView['rollbackActions'][number]['type'] })),
  };
}

/** How long past the chaos deadline a fault may live on by itself if Tempest is gone. */
const DEAD_MAN_MARGIN_MS = 60_000;

function probeKey(f: FaultSpec, p: ProbeSpec) {
  return `${f.name}/${p.name}`;
}

/** The innermost message: an ActivityFailure's own text is only "Activity task failed". */
function errorMessage(err: unknown): string {
  let e = err as { message?: string; cause?: unknown } | undefined;
  while (e && typeof e === 'object' && e.cause && typeof e.cause === 'object' && (e.cause as { message?: string }).message) {
    e = e.cause as { message?: string; cause?: unknown };
  }
  return e?.message ?? String(err);
}
