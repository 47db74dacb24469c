/** Instant Prometheus queries for guards and rollback triggers (the promProbe has its own attempt loop). */
import { parseNumber } from './probes/comparators.js';
import { sampleOf } from './probes/prom.js';

/** The query's first sample as a number, or null when the answer holds no sample. Throws when Prometheus cannot answer. */
export async function promInstant(endpoint: string, query: string, timeoutMs = 5000): Promise<number | null> {
  const url = `${endpoint.replace(/\/+$/, '')}/api/v1/query?query=${encodeURIComponent(query)}`;
  const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  const body = (await res.json().catch(() => ({}))) as { status?: string; error?: string; data?: { resultType?: string; result?: unknown } };
  if (!res.ok || body.status !== 'success') throw new Error(`Prometheus at ${endpoint} answered ${res.status}: ${body.error ?? 'no data'}`);
  try {
    // Prometheus writes infinities as "+Inf"/"-Inf" (e.g. histogram_quantile past the largest bucket), which Number() reads as NaN.
    return parseNumber(sampleOf(body, query).value) ?? Number.NaN;
  } catch {
    return null;
  }
}
