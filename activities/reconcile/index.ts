/**
 * The orphan-fault reconciler's activities: find every fault-ledger entry the platform holds, ask Temporal whether
 * the run that wrote it is still open, and revert (with that fault's own revert and verify) the ones whose run is
 * closed — completed, failed, terminated, timed out, cancelled — or unknown to this Temporal namespace once its
 * chaos window is over. A run that is open is never touched: its own workflow reverts it, however slow its worker.
 *
 * The fault to revert comes from the closed run's own history (its input and, for faults with a prepare step, the
 * prepare result), never from the ledger alone: the ledger sits on the target, where a tenant may write it. A run
 * with no history left (retention) is reverted from the ledger's fault name with that fault's default parameters,
 * on the target it was found on, ledger-only. Every request is re-checked against the worker's policy like any
 * other revert.
 */
import { Context } from '@temporalio/activity';
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import type { ExperimentInput, ExperimentSpec, FaultSpec } from '../../config/spec.js';
import { normalizeFault, Problems } from '../../config/litmus.js';
import { blastRadiusRefusal, type Policy } from '../../config/policy.js';
import { isFaultName } from '../faults/registry.js';
import { tempestError } from '../errors.js';
import type { ChaosMetrics } from '../metrics/index.js';
import type { ActivityCtx, LedgerFinding, Platform } from '../platform/types.js';
import type { FaultRef, OrphanCandidate, OrphanOutcome, PreparedRecord } from '../types.js';

/** How long after an entry's dead-man time an entry of a run this namespace does not know is reverted. */
export const UNKNOWN_RUN_GRACE_MS = 5 * 60_000;
/** Entries looked at per reconcile. */
const LIST_MAX = 1000;

export interface ReconcileDeps {
  platform: () => Promise<Platform>;
  temporal: () => Promise<{ client: Client; namespace: string }>;
  policy: Policy;
  metrics?: ChaosMetrics;
  /** Checks a rebuilt revert request like any other (activities/index.ts checkFaultRequest). */
  checkRef: (ref: FaultRef) => void;
  activityCtx: () => ActivityCtx;
}

type RunState = { state: 'open' | 'closed' | 'unknown'; status: string };

async function runState(client: Client, runId: string): Promise<RunState> {
  try {
    const d = await client.workflow.getHandle(runId).describe();
    return { state: d.status.name === 'RUNNING' ? 'open' : 'closed', status: d.status.name };
  } catch (e) {
    if (e instanceof WorkflowNotFoundError) return { state: 'unknown', status: 'NOT_FOUND' };
    throw e;
  }
}

/** What the reconciler will do with a finding, and why (pure, for the table and the workflow). */
export function classify(
  f: LedgerFinding,
  s: RunState | undefined,
  namespace: string,
  now: number,
): Pick<OrphanCandidate, 'state' | 'status' | 'action' | 'why'> {
  if (f.problem) return { state: 'unknown', status: '-', action: 'refuse', why: `not acted on: ${f.problem}` };
  if (!s) return { state: 'unknown', status: '-', action: 'wait', why: 'run state unknown' };
  if (s.state === 'open') return { ...s, action: 'leave', why: `run is open (${s.status}): its own workflow reverts it` };
  if (s.state === 'closed') return { ...s, action: 'revert', why: `run is closed (${s.status})` };
  const exp = Date.parse(f.expiresAt);
  if (!Number.isFinite(exp))
    return {
      ...s,
      action: 'wait',
      why: `run unknown to Temporal namespace ${namespace} and the entry has no dead-man time: left for a person (tempest cleanup lists it)`,
    };
  if (now < exp + UNKNOWN_RUN_GRACE_MS)
    return {
      ...s,
      action: 'wait',
      why: `run unknown to Temporal namespace ${namespace}; its chaos window ends ${new Date(exp).toISOString()}: reverted ${UNKNOWN_RUN_GRACE_MS / 60_000} min after that`,
    };
  return { ...s, action: 'revert', why: `run unknown to Temporal namespace ${namespace}, its chaos window ended ${new Date(exp).toISOString()}` };
}

const fromPayload = <T>(p: Payload | null | undefined): T | undefined => (p ? (defaultPayloadConverter.fromPayload(p) as T) : undefined);

/** The run's own spec and, if a prepare step completed for this fault, its record: from the run's history. */
async function fromHistory(client: Client, runId: string, faultIndex: number): Promise<{ spec: ExperimentSpec; prepared?: PreparedRecord } | undefined> {
  let events;
  try {
    events = (await client.workflow.getHandle(runId).fetchHistory()).events ?? [];
  } catch (e) {
    if (e instanceof WorkflowNotFoundError) return undefined;
    throw e;
  }
  const start = events[0]?.workflowExecutionStartedEventAttributes;
  if (start?.workflowType?.name !== 'experimentWorkflow') return undefined;
  const input = fromPayload<ExperimentInput>(start.input?.payloads?.[0]);
  if (!input?.spec) return undefined;
  const prepares = new Map<string, number>();
  let prepared: PreparedRecord | undefined;
  for (const e of events) {
    const sched = e.activityTaskScheduledEventAttributes;
    if (sched?.activityType?.name === 'prepareFault') {
      const ref = fromPayload<FaultRef>(sched.input?.payloads?.[0]);
      if (ref?.faultIndex === faultIndex) prepares.set(String(e.eventId), faultIndex);
    }
    const done = e.activityTaskCompletedEventAttributes;
    if (done && prepares.has(String(done.scheduledEventId))) prepared = fromPayload<PreparedRecord>(done.result?.payloads?.[0]);
  }
  return { spec: input.spec, prepared };
}

/** A fault of `name` with its descriptor's defaults (for a run whose history is gone). */
function defaultFault(name: string): FaultSpec | undefined {
  if (!isFaultName(name)) return undefined;
  return normalizeFault({ name, spec: { components: { env: [] } } }, 'ledger', new Problems('ledger'));
}

export function createReconcileActivities(deps: ReconcileDeps) {
  return {
    /** Every ledger entry with what its run's state means for it. Read-only. */
    async listOrphans(input: { namespace?: string } = {}): Promise<OrphanCandidate[]> {
      const platform = await deps.platform();
      if (!platform.listLedger) throw tempestError('UnsupportedFault', `the ${platform.name} platform cannot list its fault ledger`);
      const { client, namespace } = await deps.temporal();
      // Bounded (the ledger sits on targets a tenant may write): the first LIST_MAX entries this time, the rest next time.
      const all = await platform.listLedger({ namespace: input.namespace });
      const found = all.slice(0, LIST_MAX);
      if (all.length > LIST_MAX)
        Context.current().log.warn(`reconciler: ${all.length} ledger entries on the ${platform.name} platform; looking at the first ${LIST_MAX}`);
      const states = new Map<string, RunState>();
      for (const f of found) if (f.runId && !f.problem && !states.has(f.runId)) states.set(f.runId, await runState(client, f.runId));
      const now = Date.now();
      return found.map((f) => ({ ...f, ...classify(f, states.get(f.runId), namespace, now) }));
    },

    /**
     * Revert one orphan: its run is looked up again first (never a run that is open now), the fault comes from the
     * run's history (else the ledger's fault name with defaults, ledger-only), and the platform's own revert and
     * verify run as for any revert.
     */
    async revertOrphan(c: OrphanCandidate): Promise<OrphanOutcome> {
      const { client, namespace } = await deps.temporal();
      const s = await runState(client, c.runId);
      const now = classify(c, s, namespace, Date.now());
      if (now.action !== 'revert')
        return {
          key: c.key,
          runId: c.runId,
          fault: c.fault,
          where: c.where,
          reverted: false,
          from: 'none',
          undone: [],
          verification: `not reverted: ${now.why}`,
        };
      const h = s.state === 'closed' ? await fromHistory(client, c.runId, c.faultIndex) : undefined;
      const fault = h ? h.spec.faults[c.faultIndex] : defaultFault(c.fault);
      if (!fault || (h && fault.name !== c.fault)) {
        return {
          key: c.key,
          runId: c.runId,
          fault: c.fault,
          where: c.where,
          reverted: false,
          from: h ? 'history' : 'ledger',
          undone: [],
          verification: `not reverted: ${h ? `the run's fault ${c.faultIndex} is not ${c.fault}` : `${c.fault} is not a fault Tempest knows`}`,
        };
      }
      const ref: FaultRef = h
        ? {
            runId: c.runId,
            experiment: h.spec.name,
            target: h.spec.target,
            fault,
            faultIndex: c.faultIndex,
            ...(h.prepared !== undefined ? { prepared: h.prepared } : {}),
          }
        : { runId: c.runId, experiment: 'orphan', target: c.target, fault, faultIndex: c.faultIndex };
      deps.checkRef(ref);
      // Outside the blast radius now (or no history to say what the run did): undo only what the ledger records.
      const ledgerOnly = !h || !!blastRadiusRefusal(deps.policy, ref.target);
      Context.current().heartbeat({ reverting: c.key });
      const platform = await deps.platform();
      const r = await platform.revert(ref, deps.activityCtx(), { ledgerOnly });
      deps.metrics?.orphansReverted.inc({ fault: fault.name });
      return {
        key: c.key,
        runId: c.runId,
        fault: c.fault,
        where: c.where,
        reverted: true,
        from: h ? 'history' : 'ledger',
        undone: r.undone,
        verification: r.verification,
      };
    },
  };
}
