/**
 * A workflow's input comes from a client: before the workflow code reads it, a structural check of the fields it
 * reads (types, not policy: the worker's full check is the preflight activity). A malformed input ends the run at
 * once with a reason, instead of failing workflow tasks forever. Pure and deterministic.
 */
const isObj = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
const isStr = (v: unknown, max = 4096) => typeof v === 'string' && v.length <= max;
const isNum = (v: unknown) => typeof v === 'number' && Number.isFinite(v) && v >= 0;

function probeProblem(p: unknown, at: string): string | undefined {
  if (!isObj(p)) return `${at} is not an object`;
  if (!isStr(p.name, 256) || !isStr(p.mode, 32) || !isStr(p.type, 32)) return `${at} needs name, mode and type`;
  const rp = p.runProperties;
  if (!isObj(rp)) return `${at}.runProperties is not an object`;
  for (const k of ['probeTimeoutMs', 'intervalMs', 'attempts', 'pollingIntervalMs', 'initialDelayMs']) if (!isNum(rp[k])) return `${at}.runProperties.${k} is not a number`;
  if (rp.evaluationTimeoutMs !== undefined && !isNum(rp.evaluationTimeoutMs)) return `${at}.runProperties.evaluationTimeoutMs is not a number`;
  return undefined;
}

/** What is wrong with an experiment spec's shape, or undefined. */
export function specProblem(spec: unknown, at = 'spec'): string | undefined {
  if (!isObj(spec)) return `${at} is not an object`;
  if (!isStr(spec.name, 253)) return `${at}.name is not a name`;
  if (!isObj(spec.target) || !isStr(spec.target.namespace, 253) || !isStr(spec.target.labelSelector, 1024)) return `${at}.target needs namespace and labelSelector`;
  if (!Array.isArray(spec.faults) || spec.faults.length === 0 || spec.faults.length > 100) return `${at}.faults must be a list of 1 to 100 faults`;
  for (const [i, f] of spec.faults.entries()) {
    const fa = `${at}.faults[${i}]`;
    if (!isObj(f) || !isStr(f.name, 64)) return `${fa} needs a name`;
    for (const k of ['durationMs', 'intervalMs', 'rampTimeMs']) if (!isNum(f[k])) return `${fa}.${k} is not a number`;
    if (!Array.isArray(f.probes) || f.probes.length > 100) return `${fa}.probes must be a list`;
    for (const [j, p] of f.probes.entries()) {
      const why = probeProblem(p, `${fa}.probes[${j}]`);
      if (why) return why;
    }
  }
  return undefined;
}

/** `{ spec, options }` of an experiment run. */
export function experimentInputProblem(input: unknown): string | undefined {
  if (!isObj(input)) return 'the input is not an object';
  if (!isObj(input.options)) return 'options is not an object';
  return specProblem(input.spec);
}

/** `{ spec: { engine, stages }, options }` of a progressive run. */
export function progressiveInputProblem(input: unknown): string | undefined {
  if (!isObj(input) || !isObj(input.options) || !isObj(input.spec)) return 'the input needs spec and options';
  const s = input.spec;
  if (!isStr(s.name, 253)) return 'spec.name is not a name';
  if (!Array.isArray(s.stages) || s.stages.length === 0 || s.stages.length > 20) return 'spec.stages must be a list of 1 to 20 stages';
  for (const [i, st] of s.stages.entries()) {
    if (!isObj(st) || !isStr(st.id, 63) || !isStr(st.name, 256) || !isNum(st.chaosPercentage) || !isNum(st.durationMs) || !isNum(st.successThreshold)) return `spec.stages[${i}] needs id, name, chaosPercentage, durationMs, successThreshold`;
  }
  return specProblem(s.engine, 'spec.engine');
}

/** `{ spec: { scenarios }, options }` of a game day. */
export function gameDayInputProblem(input: unknown): string | undefined {
  if (!isObj(input) || !isObj(input.options) || !isObj(input.spec)) return 'the input needs spec and options';
  const s = input.spec;
  if (!isStr(s.name, 253)) return 'spec.name is not a name';
  if (!Array.isArray(s.scenarios) || s.scenarios.length === 0 || s.scenarios.length > 50) return 'spec.scenarios must be a list of 1 to 50 scenarios';
  for (const [i, sc] of s.scenarios.entries()) {
    if (!isObj(sc) || !isStr(sc.name, 256) || !isNum(sc.durationMs) || !Array.isArray(sc.steps) || sc.steps.length > 50) return `spec.scenarios[${i}] needs name, durationMs and steps`;
    for (const [j, st] of sc.steps.entries()) {
      if (!isObj(st) || !isStr(st.experiment, 63) || (st.kind !== 'engine' && st.kind !== 'manual')) return `spec.scenarios[${i}].steps[${j}] needs experiment and kind`;
      if (st.kind === 'engine') {
        const why = specProblem(st.engine, `spec.scenarios[${i}].steps[${j}].engine`);
        if (why) return why;
      } else if (!isStr(st.instructions)) return `spec.scenarios[${i}].steps[${j}].instructions is not text`;
    }
  }
  return undefined;
}
