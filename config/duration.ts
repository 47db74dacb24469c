/**
 * Durations as Litmus and the seed write them. A bare number (or numeric string) is in `bareUnit`
 * (seconds for TOTAL_CHAOS_DURATION and runProperties, ms for responseTimeout); Litmus 3 also writes
 * Go-style strings such as "5s", "500ms", "1m30s", "8h".
 * Pure: imported by config code only, but kept free of I/O.
 */
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

export function parseDurationMs(input: unknown, bareUnit: 'ms' | 's'): number | undefined {
  if (typeof input === 'number') return Number.isFinite(input) ? Math.round(input * UNIT_MS[bareUnit]) : undefined;
  if (typeof input !== 'string') return undefined;
  const s = input.trim();
  if (s === '') return undefined;
  if (/^-?\d+(\.\d+)?$/.test(s)) {
    const ms = Math.round(Number(s) * UNIT_MS[bareUnit]);
    return Number.isFinite(ms) ? ms : undefined;
  }
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h)/gy;
  let total = 0;
  let consumed = 0;
  let m: RegExpExecArray | null;
  while ((m = re.exec(s)) !== null) {
    total += Number(m[1]) * UNIT_MS[m[2]];
    consumed = re.lastIndex;
  }
  if (consumed !== s.length || consumed === 0) return undefined;
  return Math.round(total);
}

export function formatMs(ms: number): string {
  if (ms % 3_600_000 === 0 && ms >= 3_600_000) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0 && ms >= 60_000) return `${ms / 60_000}m`;
  if (ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}
