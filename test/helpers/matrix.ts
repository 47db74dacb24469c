/**
 * The crash-and-outage matrix (test/integration/never-left-behind.test.ts, test/integration/k8s/never-left-behind.test.ts):
 * one row per case, appended to .tempest/never-left-behind.jsonl as each case ends (pass or fail, so the table shows
 * a failing case too); bench/never-left-behind.ts turns the rows into bench/results/never-left-behind.json and the
 * printed table. Plus what every case asserts the same way: the run's history replays against today's workflow code,
 * and the local fleet's own audit log counts the real actions taken on the target.
 */
import { appendFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Client } from '@temporalio/client';
import { Worker } from '@temporalio/worker';
import { workflowBundle } from '../../workers/worker.js';
import { ROOT } from './temporal.js';
import type { TestFleet } from './fleet.js';

export const MATRIX_FILE = join(ROOT, '.tempest/never-left-behind.jsonl');

export interface MatrixRow {
  case: string;
  platform: 'local' | 'kubernetes';
  runs: number;
  /** Faults (one per run and fault) of which anything was still on the target when the case ended: a replica's behaviour or a fault container, a ledger entry. */
  faultsLeft: number;
  /** Real injection actions on the target beyond the plan: the target's own audit log, per planned target (every target acted on exactly once). */
  duplicates: number;
  planned: number;
  actions: number;
  verdict: string;
  expectedVerdict: string;
  /** From the disruption (kill, terminate, outage) to the target being clean (its own audit log); null if it was clean already. */
  disruptionToCleanMs: number | null;
  /** From the first injection action to the fault being off every replica (the chaos window the target saw), vs the plan. */
  faultOnMs: number | null;
  plannedChaosMs: number;
  /** Every run's history replayed against the workflow code of this checkout. */
  replayed: boolean;
  /** What bounded the recovery (a timeout, an interval), and anything else measured. */
  note: string;
  /** The assertion that failed, if one did. */
  failure?: string;
}

export function recordRow(row: MatrixRow): void {
  mkdirSync(dirname(MATRIX_FILE), { recursive: true });
  appendFileSync(MATRIX_FILE, JSON.stringify(row) + '\n');
}

/** Replays a closed (or terminated) run's history against the workflow bundle; throws on any non-determinism. */
export async function replays(client: Client, workflowId: string): Promise<true> {
  const history = await client.workflow.getHandle(workflowId).fetchHistory();
  await Worker.runReplayHistory({ workflowBundle: await workflowBundle() }, history, workflowId);
  return true;
}

/** One change the fleet's control API made, or a behaviour PUT it forwarded (scripts/fleet/fleet.ts GET /audit). */
export interface FleetAuditEvent {
  at: string;
  verb: string;
  path: string;
  body?: unknown;
  /** A behaviour PUT's answer from the replica (502: unreachable; it may still have applied it). */
  status?: number;
}

export async function fleetAudit(fleet: TestFleet): Promise<FleetAuditEvent[]> {
  const res = await fetch(`${fleet.controlUrl}/audit`);
  if (!res.ok) throw new Error(`fleet audit answered ${res.status}`);
  return (await res.json()) as FleetAuditEvent[];
}

const podOf = (e: FleetAuditEvent) => decodeURIComponent(e.path.split('/')[2] ?? '');
const body = (e: FleetAuditEvent) => (e.body && typeof e.body === 'object' ? (e.body as Record<string, unknown>) : {});

export interface LatencyActions {
  /** Every behaviour PUT that set latency with this key's mark, answered or not (an attempt may have landed). */
  injects: FleetAuditEvent[];
  /** Injections per pod. */
  perPod: Map<string, number>;
  /** Resets of a pod one of them touched, after it. */
  reverts: FleetAuditEvent[];
  /** Writes of this key's ledger entry on the owner (non-null), and its removal. */
  ledgerWrites: FleetAuditEvent[];
  ledgerClearedAt?: number;
  /**
   * When the fault was off the target AND its ledger gone (a verified revert clears the ledger last): the later of
   * every pod's first reset after its last injection and the ledger's removal. Undefined while either is missing.
   */
  cleanAt?: number;
  /** When the fault itself was off every replica (every pod's first reset after its last injection). */
  offAt?: number;
}

/** The actions of ledger key `key` in the fleet's audit log since `since` (ISO). */
export function latencyActions(events: FleetAuditEvent[], key: string, since: string): LatencyActions {
  const mine = events.filter((e) => e.at >= since);
  const puts = mine.filter((e) => e.verb === 'PUT' && e.path.endsWith('/behaviour'));
  const injects = puts.filter((e) => body(e).setBy === key && Number(body(e).latencyMs) > 0);
  const perPod = new Map<string, number>();
  for (const e of injects) perPod.set(podOf(e), (perPod.get(podOf(e)) ?? 0) + 1);
  const first = injects[0]?.at ?? '~';
  const reverts = puts.filter((e) => e.at >= first && perPod.has(podOf(e)) && body(e).setBy === null && Number(body(e).latencyMs ?? 0) === 0);
  const owner = mine.filter((e) => e.verb === 'PATCH' && e.path === '/owner/annotations' && key in body(e));
  const ledgerWrites = owner.filter((e) => body(e)[key] !== null);
  const cleared = owner.filter((e) => body(e)[key] === null).pop();
  const out: LatencyActions = { injects, perPod, reverts, ledgerWrites, ledgerClearedAt: cleared ? Date.parse(cleared.at) : undefined };
  let offAt = 0;
  for (const pod of perPod.keys()) {
    const lastInject = injects.filter((e) => podOf(e) === pod).pop()!.at;
    const reset = reverts.find((e) => podOf(e) === pod && e.at >= lastInject);
    if (!reset) return out;
    offAt = Math.max(offAt, Date.parse(reset.at));
  }
  if (!perPod.size) return out;
  return { ...out, offAt, ...(out.ledgerClearedAt === undefined ? {} : { cleanAt: Math.max(offAt, out.ledgerClearedAt) }) };
}

/**
 * What of the run's fault is still on the local target: every Running pod whose behaviour carries the key's mark or
 * any latency, the ledger entry on the owner, and a replica that still answers slowly through the balancer
 * (real requests: the latency is measured, not read back).
 */
export async function localLeft(fleet: TestFleet, key: string, opts: { ledger?: boolean; slowMs?: number } = {}): Promise<string[]> {
  const slowMs = opts.slowMs ?? 250;
  const left: string[] = [];
  for (const p of (await fleet.client.pods()).filter((x) => x.phase === 'Running')) {
    const b = await fleet.client.behaviour(p.name);
    if (b && (b.setBy === key || b.latencyMs > 0)) left.push(`${p.name}: +${b.latencyMs} ms (${b.setBy ?? 'unmarked'})`);
  }
  if (opts.ledger !== false && (await fleet.client.owner()).annotations[key]) left.push(`ledger ${key} on the owner`);
  for (let i = 0; i < 6; i++) {
    const t0 = Date.now();
    const res = await fetch(`${fleet.balancerUrl}/health`);
    await res.text();
    const ms = Date.now() - t0;
    if (ms >= slowMs) left.push(`GET /health took ${ms} ms (served by ${res.headers.get('x-served-by') ?? '?'})`);
  }
  return left;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
