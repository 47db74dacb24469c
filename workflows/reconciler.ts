/**
 * The orphan-fault reconciler: a fault left behind by a run that can no longer revert it — terminated from the
 * Temporal UI, timed out, or unknown to this namespace once its chaos window is over — is reverted with that fault's
 * own revert and verify. Started by a Temporal Schedule (every 30 s by default, `reconciler.interval` in the worker's
 * policy), once when a worker starts, and on demand by `tempest cleanup`.
 *
 *   list the fault ledger -> for each entry: run open? leave it | run closed (or unknown, window over)? revert it
 *
 * Each decision and each revert is in this workflow's history (the activities' inputs and results): who (the
 * reconciler), what (the entry, its run, the fault), when, and verified how. A run that is open is never touched,
 * however slow its worker: the activity looks the run up again right before it reverts.
 *
 * Deterministic code only: no I/O, no Node built-ins; activities are imported as types.
 */
import { log, proxyActivities } from '@temporalio/workflow';
import type { OrphanCandidate, OrphanOutcome, TempestActivities } from '../activities/types.js';
import { printable } from './text.js';
import { isDnsLabel } from '../config/selector.js';

export interface ReconcileInput {
  /** List and decide, revert nothing. */
  dryRun?: boolean;
  /** Only the ledger in this (Kubernetes / fleet) namespace. */
  namespace?: string;
}

export interface ReconcileRow {
  key: string;
  runId: string;
  fault: string;
  where: string;
  status: string;
  action: OrphanCandidate['action'];
  why: string;
  /** reverted: done and verified; would-revert: dry run; left: not an orphan; failed: could not be verified. */
  outcome: 'reverted' | 'would-revert' | 'left' | 'failed';
  verification?: string;
}

export interface ReconcileResult {
  dryRun: boolean;
  rows: ReconcileRow[];
  reverted: number;
  failed: number;
  /** Nothing left that this reconciler should have reverted. */
  clean: boolean;
}

const { listOrphans } = proxyActivities<TempestActivities>({ startToCloseTimeout: '2m', retry: { maximumAttempts: 3 } });
// One revert per orphan, bounded: the next reconcile (30 s later) tries again, so a revert that cannot be verified
// now (a target that is down) is reported as failed here rather than held for hours.
const { revertOrphan } = proxyActivities<TempestActivities>({
  startToCloseTimeout: '5m',
  heartbeatTimeout: '60s',
  retry: { maximumAttempts: 3, initialInterval: '2s' },
});

/** At most this many entries per reconcile in the result, and this many reverts (a ledger can hold anything). */
const MAX_ROWS = 1000;
const MAX_REVERTS = 50;

export async function reconcileWorkflow(input: ReconcileInput = {}): Promise<ReconcileResult> {
  const dryRun = input?.dryRun === true;
  const namespace = typeof input?.namespace === 'string' && isDnsLabel(input.namespace) ? input.namespace : undefined;
  const found = await listOrphans(namespace ? { namespace } : {});
  const rows: ReconcileRow[] = [];
  let attempts = 0;
  for (const c of found.slice(0, MAX_ROWS)) {
    const row: ReconcileRow = { key: c.key, runId: c.runId, fault: c.fault, where: c.where, status: c.status, action: c.action, why: c.why, outcome: 'left' };
    if (c.action === 'revert') {
      if (dryRun) row.outcome = 'would-revert';
      else if (++attempts > MAX_REVERTS) {
        // Bounded per run (the history stays small whatever the ledger holds): the next reconcile goes on.
        row.outcome = 'would-revert';
        row.verification = `deferred to the next reconcile (at most ${MAX_REVERTS} reverts per run)`;
      } else {
        try {
          const r: OrphanOutcome = await revertOrphan(c);
          row.outcome = r.reverted ? 'reverted' : 'left';
          row.verification = r.verification;
        } catch (e) {
          row.outcome = 'failed';
          row.verification = String((e as Error)?.cause ? ((e as Error).cause as Error).message : (e as Error).message).slice(0, 500);
        }
      }
    }
    if (row.outcome !== 'left') log.info(printable(`reconciler: ${row.outcome} ${c.fault} of run ${c.runId} on ${c.where}: ${row.verification ?? c.why}`));
    rows.push(row);
  }
  if (found.length > MAX_ROWS) log.warn(`reconciler: ${found.length} ledger entries; only the first ${MAX_ROWS} were looked at this time`);
  const reverted = rows.filter((r) => r.outcome === 'reverted').length;
  const failed = rows.filter((r) => r.outcome === 'failed').length;
  return {
    dryRun,
    rows,
    reverted,
    failed,
    clean: failed === 0 && found.length <= MAX_ROWS && rows.every((r) => r.outcome !== 'would-revert' && r.action !== 'refuse'),
  };
}
