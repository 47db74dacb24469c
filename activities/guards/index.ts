/**
 * Pre-experiment safety checks (the seed's ChaosGuards): system health, error budget (Prometheus queries),
 * ongoing incidents (PagerDuty REST API v2), deployment freeze (a flag file or URL). A guard that cannot
 * be evaluated fails closed: no chaos on a system we cannot see.
 */
import { existsSync, readFileSync } from 'node:fs';
import type { GuardSpec } from '../../config/spec.js';
import type { GuardOutcome } from '../types.js';
import { compareNumeric } from '../probes/comparators.js';
import { promInstant } from '../prometheus.js';
import { readSecret } from '../secrets.js';

async function httpGuard(g: Extract<GuardSpec, { type: 'http' }>): Promise<Omit<GuardOutcome, 'name' | 'type'>> {
  const expect = g.expectStatus ?? 200;
  const res = await fetch(g.url, { signal: AbortSignal.timeout(g.timeoutMs ?? 5000) });
  await res.arrayBuffer();
  return { passed: res.status === expect, reason: `${g.url} answered ${res.status} (expected ${expect})`, observed: String(res.status) };
}

async function prometheusGuard(g: Extract<GuardSpec, { type: 'prometheus' }>): Promise<Omit<GuardOutcome, 'name' | 'type'>> {
  const v = await promInstant(g.endpoint, g.query);
  if (v === null) {
    const passed = g.onEmpty === 'pass';
    return { passed, reason: `query returned no samples: ${g.query}${passed ? ' (onEmpty: pass)' : ''}` };
  }
  const c = compareNumeric(v, g.criteria, g.value, { subject: g.query });
  return { passed: c.ok, reason: c.reason, observed: String(v) };
}

async function pagerdutyGuard(g: Extract<GuardSpec, { type: 'pagerduty' }>): Promise<Omit<GuardOutcome, 'name' | 'type'>> {
  const u = new URL(`${g.apiUrl.replace(/\/+$/, '')}/incidents`);
  // Without date_range=all PagerDuty lists only incidents created in the last 30 days: one opened earlier and still open would be missed.
  u.searchParams.set('date_range', 'all');
  for (const s of g.statuses ?? ['triggered', 'acknowledged']) u.searchParams.append('statuses[]', s);
  for (const id of g.serviceIds ?? []) u.searchParams.append('service_ids[]', id);
  const headers: Record<string, string> = { Accept: 'application/vnd.pagerduty+json;version=2' };
  // Resolved here, at the moment of use, from the worker's env or a mounted file; never returned or logged.
  if (g.tokenRef) headers.Authorization = `Token token=${readSecret(g.tokenRef)}`;
  const res = await fetch(u, { headers, signal: AbortSignal.timeout(5000) });
  if (!res.ok) throw new Error(`PagerDuty ${u.origin} answered ${res.status}`);
  const body = (await res.json()) as { incidents?: Array<{ id?: string; title?: string; status?: string }> };
  const incidents = body.incidents ?? [];
  return {
    passed: incidents.length === 0,
    reason: incidents.length
      ? `${incidents.length} active incident(s): ${incidents
          .slice(0, 3)
          .map((i) => `${i.id} ${i.title ?? ''} [${i.status}]`)
          .join('; ')}`
      : 'no active incidents',
    observed: String(incidents.length),
  };
}

async function freezeGuard(g: Extract<GuardSpec, { type: 'freeze' }>): Promise<Omit<GuardOutcome, 'name' | 'type'>> {
  if (g.file && existsSync(g.file)) {
    const why = readFileSync(g.file, 'utf8').trim();
    return { passed: false, reason: `deployment freeze flag ${g.file} is present${why ? `: ${why}` : ''}` };
  }
  if (g.url) {
    const res = await fetch(g.url, { signal: AbortSignal.timeout(5000) });
    if (!res.ok) throw new Error(`freeze status ${g.url} answered ${res.status}`);
    const body = (await res.json()) as { frozen?: boolean; reason?: string };
    if (typeof body.frozen !== 'boolean') throw new Error(`freeze status ${g.url} has no boolean "frozen"`);
    if (body.frozen) return { passed: false, reason: `deployment freeze active${body.reason ? `: ${body.reason}` : ''}` };
  }
  return { passed: true, reason: 'no deployment freeze' };
}

export async function runGuard(g: GuardSpec): Promise<GuardOutcome> {
  try {
    const r =
      g.type === 'http'
        ? await httpGuard(g)
        : g.type === 'prometheus'
          ? await prometheusGuard(g)
          : g.type === 'pagerduty'
            ? await pagerdutyGuard(g)
            : await freezeGuard(g);
    return { name: g.name, type: g.type, ...r };
  } catch (e) {
    // Fail closed: a guard we cannot evaluate blocks the run.
    return { name: g.name, type: g.type, passed: false, reason: `could not evaluate: ${(e as Error).message}` };
  }
}
