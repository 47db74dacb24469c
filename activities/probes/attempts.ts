/**
 * The Litmus attempt loop, shared by every probe type:
 * up to `attempts` tries, each bounded by probeTimeout; `interval` between tries; the whole evaluation bounded by
 * evaluationTimeout when given. Heartbeats between attempts (and on a ticker during long attempts, so a cancel
 * request reaches the worker); cancellation aborts the running attempt and any sleep at once and is re-thrown.
 */
import type { RunProperties } from '../../config/spec.js';
import type { CheckResult } from './comparators.js';
import { ProbeError, type AttemptResult, type ProbeDriver } from './types.js';

export interface LoopHooks {
  /** Aborted when the activity is cancelled (Context.cancellationSignal). */
  signal: AbortSignal;
  heartbeat(details?: unknown): void;
}

export interface LoopResult {
  result: AttemptResult;
  attempts: number;
}

/** How often the loop heartbeats while an attempt or a sleep is in progress (the SDK throttles further). */
const HEARTBEAT_TICK_MS = 1000;

export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message || err.name;
  return String(err);
}

/**
 * Turn comparator checks into an attempt result: passed when all hold; a failed check is failureKind 'criteria',
 * unless a comparator was itself invalid (bad list, regex, criteria), which is a configuration 'error'.
 */
export function verdictOf(checks: CheckResult[], observed?: string): AttemptResult {
  const failed = checks.filter((c) => !c.ok);
  if (failed.length === 0) return { ok: true, reason: checks.map((c) => c.reason).join('; '), observed };
  const failureKind = failed.some((c) => c.invalid) ? 'error' : 'criteria';
  return { ok: false, failureKind, reason: failed.map((c) => c.reason).join('; '), observed };
}

/** Validate runProperties; answers a reason when they cannot be used. */
export function checkRunProperties(rp: RunProperties): string | undefined {
  const positive = (n: unknown) => typeof n === 'number' && Number.isFinite(n) && n > 0;
  if (!positive(rp.probeTimeoutMs)) return `invalid runProperties: probeTimeoutMs must be > 0, got ${rp.probeTimeoutMs}`;
  if (!(Number.isFinite(rp.intervalMs) && rp.intervalMs >= 0)) return `invalid runProperties: intervalMs must be >= 0, got ${rp.intervalMs}`;
  if (!(Number.isInteger(rp.attempts) && rp.attempts >= 1)) return `invalid runProperties: attempts must be an integer >= 1, got ${rp.attempts}`;
  if (rp.evaluationTimeoutMs !== undefined && !positive(rp.evaluationTimeoutMs)) {
    return `invalid runProperties: evaluationTimeoutMs must be > 0, got ${rp.evaluationTimeoutMs}`;
  }
  return undefined;
}

/** Sleep that rejects with the signal's reason (a CancelledFailure for activities) as soon as it is aborted. */
export function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

class AttemptTimeout extends Error {}

/** Run one attempt bounded by `limitMs`; cancellation of `parent` is re-thrown, everything else becomes a result. */
async function runOne(driver: ProbeDriver, attempt: number, limitMs: number, timeoutReason: string, parent: LoopHooks['signal']): Promise<AttemptResult> {
  const ac = new AbortController();
  const onParentAbort = () => ac.abort(parent.reason);
  parent.addEventListener('abort', onParentAbort, { once: true });
  const timer = setTimeout(() => ac.abort(new AttemptTimeout(timeoutReason)), limitMs);
  // Settles as soon as the attempt is aborted, even if the driver ignores its signal.
  const aborted = new Promise<never>((_, reject) => ac.signal.addEventListener('abort', () => reject(ac.signal.reason), { once: true }));
  aborted.catch(() => undefined);
  let pending: Promise<AttemptResult> | undefined;
  try {
    if (parent.aborted) throw parent.reason;
    pending = driver.attempt({ attempt, signal: ac.signal, timeoutMs: limitMs });
    pending.catch(() => undefined);
    return await Promise.race([pending, aborted]);
  } catch (err) {
    if (parent.aborted) throw parent.reason;
    const observed = err instanceof ProbeError && err.observed ? err.observed : driver.target;
    if (ac.signal.aborted && ac.signal.reason instanceof AttemptTimeout) {
      return { ok: false, failureKind: 'error', reason: ac.signal.reason.message, observed };
    }
    return { ok: false, failureKind: 'error', reason: errorMessage(err), observed };
  } finally {
    clearTimeout(timer);
    parent.removeEventListener('abort', onParentAbort);
    // Release whatever the attempt still holds (sockets, child processes), and give the driver a bounded moment
    // to finish releasing it: a timed-out cmdProbe's process tree is dead before the outcome is reported.
    if (!ac.signal.aborted) ac.abort(new Error('attempt finished'));
    if (pending)
      await Promise.race([
        pending.then(
          () => undefined,
          () => undefined,
        ),
        new Promise((r) => setTimeout(r, CLEANUP_WAIT_MS).unref?.()),
      ]);
  }
}

/** How long an aborted attempt may take to release what it holds before the loop goes on without it. */
const CLEANUP_WAIT_MS = 3000;

export async function runAttempts(rp: RunProperties, driver: ProbeDriver, hooks: LoopHooks, beat: Record<string, unknown> = {}): Promise<LoopResult> {
  const started = Date.now();
  const deadline = rp.evaluationTimeoutMs !== undefined ? started + rp.evaluationTimeoutMs : Infinity;
  const remaining = () => deadline - Date.now();
  let attempts = 0;
  const ticker = setInterval(() => hooks.heartbeat({ ...beat, attempt: attempts }), HEARTBEAT_TICK_MS);
  ticker.unref?.();
  try {
    for (;;) {
      if (hooks.signal.aborted) throw hooks.signal.reason;
      attempts += 1;
      hooks.heartbeat({ ...beat, attempt: attempts, of: rp.attempts });
      const left = remaining(); // > 0: the first attempt always starts, later ones only if they start before the deadline
      const byEvaluation = left < rp.probeTimeoutMs;
      const timeoutReason = byEvaluation
        ? `evaluation timed out after ${rp.evaluationTimeoutMs}ms (evaluationTimeout, during attempt ${attempts} of ${rp.attempts})`
        : `attempt timed out after ${rp.probeTimeoutMs}ms (probeTimeout)`;
      const result = await runOne(driver, attempts, byEvaluation ? left : rp.probeTimeoutMs, timeoutReason, hooks.signal);
      hooks.heartbeat({ ...beat, attempt: attempts, of: rp.attempts, ok: result.ok });

      if (result.ok || attempts >= rp.attempts) {
        // Litmus httpProbe also sleeps after the last / successful try; the evaluation bound still holds.
        const wait = driver.sleepAfterEveryTry ? Math.min(rp.intervalMs, Math.max(0, remaining())) : 0;
        if (wait > 0) await abortableSleep(wait, hooks.signal);
        return { result, attempts };
      }
      if (remaining() <= rp.intervalMs) {
        // The next try would start at or after the deadline: stop now with the last failure.
        if (result.reason === timeoutReason && byEvaluation) return { result, attempts };
        const note = `(evaluationTimeout ${rp.evaluationTimeoutMs}ms reached after ${attempts} of ${rp.attempts} attempts)`;
        return { result: { ...result, reason: `${result.reason} ${note}` }, attempts };
      }
      if (rp.intervalMs > 0) await abortableSleep(rp.intervalMs, hooks.signal);
    }
  } finally {
    clearInterval(ticker);
  }
}
