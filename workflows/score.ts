/**
 * Litmus scores. Probe success percentage (PSP) of one experiment = floor(passed × 100 / total);
 * resilience score of a set of experiments = Σ(weight × PSP) / Σ weight (Litmus weights run 0..10, default 10).
 */
export interface WeightedRun {
  name: string;
  weight: number;
  probeSuccessPercentage: number;
}

export function probeSuccessPercentage(passed: number, total: number): number {
  return total ? Math.floor((passed * 100) / total) : 100;
}

export function resilienceScore(runs: WeightedRun[]): number {
  for (const r of runs) {
    if (!(r.weight >= 0)) throw new Error(`weight of ${r.name} must be >= 0 (got ${r.weight})`);
    if (!(r.probeSuccessPercentage >= 0 && r.probeSuccessPercentage <= 100))
      throw new Error(`PSP of ${r.name} must be 0..100 (got ${r.probeSuccessPercentage})`);
  }
  const total = runs.reduce((a, r) => a + r.weight, 0);
  if (total === 0) return 0;
  return runs.reduce((a, r) => a + r.weight * r.probeSuccessPercentage, 0) / total;
}

/** Share of probe checks (individual probe runs) that passed; a run without probe checks counts 1 if it passed. */
export function probeCheckRatio(r: { verdict: string; probes: Array<{ runs: number; failures: number }> }): number {
  const runs = r.probes.reduce((a, p) => a + p.runs, 0);
  if (!runs) return r.verdict === 'Pass' ? 1 : 0;
  const failures = r.probes.reduce((a, p) => a + p.failures, 0);
  return (runs - failures) / runs;
}
