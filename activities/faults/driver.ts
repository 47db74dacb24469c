/**
 * What every fault implements, per platform: inject (one idempotent round), revert (undo all of this
 * run's fault), verify (prove the target is clean; throw NotYetClean otherwise). The fault ledger records
 * intent before any action, so a retry — on this worker or another after a crash — finds what was done.
 */
import { createHash } from 'node:crypto';
import type { FaultSpec, TargetSpec } from '../../config/spec.js';
import type { LedgerFinding } from '../platform/types.js';
import type { FaultRef, InjectRequest, PreparedRecord } from '../types.js';
import type { Policy } from '../../config/policy.js';
import type { FleetClient, LocalPlatform, LocalPod } from '../platform/local.js';
import { tempestError } from '../errors.js';
import { selectTargets } from './select.js';
import { failpoint } from '../failpoints.js';

export interface LedgerEntry {
  fault: string;
  run: string;
  faultIndex: number;
  /** targets per round, written BEFORE the round acts */
  rounds: Record<string, string[]>;
  /** rounds whose action completed */
  done: number[];
  expiresAt: string;
  /** fault-specific record (pids of stressors, backup path and checksum, ...) */
  data?: Record<string, unknown>;
}

export interface LocalFaultContext {
  platform: LocalPlatform;
  fleet: FleetClient;
  /** The worker's policy (limits, roots, ...). */
  policy: Policy;
  /** Tempest's own state directory (backups), readable by the worker only. */
  stateDir: string;
  heartbeat: (details?: unknown) => void;
  /** Rejects/aborts when the activity is cancelled. */
  signal: AbortSignal;
}

export interface LocalFaultDriver {
  /** Throws UnsupportedFault / FaultRefused for specs this driver cannot honour. */
  check?(fault: FaultSpec, platform: LocalPlatform, policy: Policy): void | Promise<void>;
  /** Read-only: what the fault will touch and how it is now; the workflow keeps the record (FaultRef.prepared). */
  prepare?(ref: FaultRef, ctx: LocalFaultContext): Promise<PreparedRecord>;
  /** Do round `req.round`; must be idempotent given the ledger entry. Returns affected + detail. */
  inject(req: InjectRequest, ctx: LocalFaultContext, ledger: Ledger): Promise<{ affected: string[]; detail: string }>;
  /** Undo everything this run's fault did. Returns what was undone. */
  revert(ref: FaultRef, ctx: LocalFaultContext, ledger: Ledger): Promise<string[]>;
  /** Prove it is gone; throw tempestError('NotYetClean', ...) if not. Returns what was observed. */
  verify(ref: FaultRef, ctx: LocalFaultContext, ledger: Ledger): Promise<string>;
}

/**
 * A ledger entry as the target holds it (anyone who may write the owner may have rewritten it): a hint, never an
 * instruction. Invalid JSON, or JSON that is not an entry, is no entry at all (undefined: the drivers fall back
 * to what they can see live: marks, run-derived names), so a garbled annotation can neither throw forever nor
 * make a revert act on something it did not do. What is kept is rebuilt field by field in the shape the code
 * reads (`rounds` lists of strings, `done` integers, `data` a plain object); anything else is dropped.
 */
export function parseLedger(raw: string): LedgerEntry | undefined {
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch {
    return undefined;
  }
  if (!isPlainObject(v)) return undefined;
  const rounds: Record<string, string[]> = {};
  if (isPlainObject(v.rounds)) {
    for (const [k, r] of Object.entries(v.rounds)) {
      if (/^\d{1,6}$/.test(k) && Array.isArray(r)) rounds[k] = r.filter((x): x is string => typeof x === 'string');
    }
  }
  return {
    fault: typeof v.fault === 'string' ? v.fault : '',
    run: typeof v.run === 'string' ? v.run : '',
    faultIndex: Number.isInteger(v.faultIndex) ? (v.faultIndex as number) : -1,
    rounds,
    done: Array.isArray(v.done) ? v.done.filter((d): d is number => Number.isInteger(d)) : [],
    expiresAt: typeof v.expiresAt === 'string' ? v.expiresAt : '',
    data: isPlainObject(v.data) ? v.data : undefined,
  };
}

/** A JSON object (not an array, not null). */
export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * The ledger key of a run's fault. Run ids that are already plain keep their readable key; any other id (one with
 * characters a key cannot hold, which are replaced) gets a hash of the FULL id too, so two ids that differ only
 * there (`a:1` and `a_1`) never share a ledger, a stressor marker or a backup.
 */
export function ledgerKey(ref: Pick<FaultRef, 'runId' | 'faultIndex'>): string {
  const clean = ref.runId.replace(/[^A-Za-z0-9_.-]/g, '_');
  const name = clean === ref.runId ? clean : `${clean}-${createHash('sha256').update(ref.runId).digest('hex').slice(0, 12)}`;
  return `tempest.io/fault.${name}.${ref.faultIndex}`;
}

/** Every ledger key starts so (ledgerKey). */
export const LEDGER_PREFIX = 'tempest.io/fault.';

/**
 * A ledger annotation as the reconciler sees it: the run and fault it names, or a problem (unreadable, or a key that
 * is not the one its own run and index give: a copied or forged entry is never acted on).
 */
export function ledgerFinding(
  key: string,
  raw: string,
  target: TargetSpec,
  where: string,
  keyOf: (r: Pick<FaultRef, 'runId' | 'faultIndex'>) => string = ledgerKey,
): LedgerFinding {
  const e = parseLedger(raw);
  const base = { key, target, where };
  if (!e || !e.run || e.faultIndex < 0)
    return { ...base, runId: '', faultIndex: -1, fault: '', expiresAt: '', problem: 'the entry is not a readable ledger entry' };
  const found = { ...base, runId: e.run, faultIndex: e.faultIndex, fault: e.fault, expiresAt: e.expiresAt };
  if (keyOf({ runId: e.run, faultIndex: e.faultIndex }) !== key)
    return { ...found, problem: `its key is not the one of run ${e.run.slice(0, 80)} fault ${e.faultIndex}` };
  return found;
}

/**
 * Every ledger write goes through here. For the ledger an INJECTION writes (the platforms open it with `injecting`),
 * the crash matrix's failpoints sit at the two places that matter whatever the fault: right after a round's intent
 * is recorded (nothing acted yet), and right before a round that has acted is recorded as done; the latest round
 * decides which write this is. A revert's writes never fire them.
 */
export async function writeLedger(e: LedgerEntry, write: () => Promise<void>, injecting = false): Promise<void> {
  if (!injecting) return write();
  const rounds = Object.keys(e.rounds).map(Number);
  const latest = rounds.length ? Math.max(...rounds) : undefined;
  const acted = latest !== undefined && e.done.includes(latest);
  if (acted) failpoint('fault.acted');
  await write();
  if (latest !== undefined && !acted) failpoint('fault.intent-recorded');
}

/** The fault ledger of one run's fault, kept as an annotation on the target's owner. */
export class Ledger {
  /** `injecting`: the ledger of an injection (see writeLedger). */
  constructor(
    private readonly fleet: FleetClient,
    readonly key: string,
    private readonly injecting = false,
  ) {}

  /** The entry, or undefined if there is none or it is not a readable entry (see parseLedger). */
  async read(): Promise<LedgerEntry | undefined> {
    const owner = await this.fleet.owner();
    const raw = owner.annotations?.[this.key];
    return raw ? parseLedger(raw) : undefined;
  }
  async write(e: LedgerEntry): Promise<void> {
    await writeLedger(e, () => this.fleet.annotateOwner({ [this.key]: JSON.stringify(e) }), this.injecting);
  }
  async clear(): Promise<void> {
    await this.fleet.annotateOwner({ [this.key]: null });
  }
  /** Read-or-create, for the inject path. */
  async open(req: InjectRequest): Promise<LedgerEntry> {
    return (await this.read()) ?? { fault: req.fault.name, run: req.runId, faultIndex: req.faultIndex, rounds: {}, done: [], expiresAt: req.expiresAt };
  }
}

/** Litmus target selection: TARGET_PODS if given, else PODS_AFFECTED_PERC of the running pods (0 = one pod). */
export function selectPods(pods: LocalPod[], fault: FaultSpec, maxPods?: number): LocalPod[] {
  return selectTargets(
    pods,
    fault,
    (p) => p.name,
    (p) => p.phase === 'Running',
    maxPods,
  );
}

/** Poll until `check` returns a string (clean), heartbeating; throw NotYetClean with the last reason. */
export async function waitClean(
  what: string,
  check: () => Promise<{ clean: boolean; observed: string }>,
  ctx: Pick<LocalFaultContext, 'heartbeat' | 'signal'>,
  timeoutMs = 60_000,
  pollMs = 500,
): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    const r = await check();
    last = r.observed;
    if (r.clean) return r.observed;
    ctx.heartbeat({ waiting: what, observed: last });
    if (Date.now() > deadline || ctx.signal.aborted) break;
    await new Promise((res) => setTimeout(res, pollMs));
  }
  throw tempestError('NotYetClean', `${what}: not clean after ${Math.round(timeoutMs / 1000)}s: ${last}`);
}

/** Verify a Deployment-like owner is back to its desired ready replicas. */
export async function ownerRecovered(ctx: LocalFaultContext, timeoutMs = 60_000): Promise<string> {
  return waitClean(
    'replicas ready',
    async () => {
      const o = await ctx.fleet.owner();
      return { clean: o.ready >= o.desired, observed: `${o.ready}/${o.desired} replicas ready` };
    },
    ctx,
    timeoutMs,
  );
}
