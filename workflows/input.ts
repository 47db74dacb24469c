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
  for (const k of ['probeTimeoutMs', 'intervalMs', 'attempts', 'pollingIntervalMs', 'initialDelayMs'])
    if (!isNum(rp[k])) return `${at}.runProperties.${k} is not a number`;
  if (rp.evaluationTimeoutMs !== undefined && !isNum(rp.evaluationTimeoutMs)) return `${at}.runProperties.evaluationTimeoutMs is not a number`;
  return undefined;
}

/** What is wrong with an experiment spec's shape, or undefined. */
export function specProblem(spec: unknown, at = 'spec'): string | undefined {
  if (!isObj(spec)) return `${at} is not an object`;
  if (!isStr(spec.name, 253)) return `${at}.name is not a name`;
  if (!isObj(spec.target) || !isStr(spec.target.namespace, 253) || !isStr(spec.target.labelSelector, 1024))
    return `${at}.target needs namespace and labelSelector`;
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

/** Run options: dry run and search attributes; the legacy client-side copies only as lists of names. */
export function optionsProblem(o: unknown, at = 'options'): string | undefined {
  if (!isObj(o)) return `${at} is not an object`;
  if (o.dryRun !== undefined && typeof o.dryRun !== 'boolean') return `${at}.dryRun is not true or false`;
  if (o.searchAttributes !== undefined && typeof o.searchAttributes !== 'boolean') return `${at}.searchAttributes is not true or false`;
  for (const k of ['guards', 'rollbackTriggers', 'rollbackActions']) {
    const v = o[k];
    if (v === undefined) continue;
    if (!Array.isArray(v) || v.length > 100 || !v.every((x) => isObj(x) && isStr(x.name, 256))) return `${at}.${k} is not a list of named entries`;
  }
  if (o.triggerPollMs !== undefined && !isNum(o.triggerPollMs)) return `${at}.triggerPollMs is not a number`;
  return undefined;
}

/** `{ spec, options }` of an experiment run. */
export function experimentInputProblem(input: unknown): string | undefined {
  if (!isObj(input)) return 'the input is not an object';
  return optionsProblem(input.options) ?? specProblem(input.spec);
}

const isInt = (v: unknown, min: number, max: number) => typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max;
const isIntList = (v: unknown, min: number, max: number) => Array.isArray(v) && v.length <= 100 && v.every((x) => isInt(x, min, max));
const isTime = (v: unknown) => isStr(v, 64) && !Number.isNaN(Date.parse(v as string));

/** `{ schedule, options }` of a schedule gate: every field the gate reads. */
export function scheduleGateInputProblem(input: unknown): string | undefined {
  if (!isObj(input) || !isObj(input.schedule)) return 'the input needs a schedule';
  const s = input.schedule;
  if (!isStr(s.name, 253) || !isStr(s.namespace, 63)) return 'schedule needs name and namespace';
  if (s.state !== 'active' && s.state !== 'halt' && s.state !== 'complete') return 'schedule.state is not active, halt or complete';
  if (!isIntList(s.days, 0, 6)) return 'schedule.days is not a list of days 0-6';
  if (s.hours !== undefined && !isIntList(s.hours, 0, 23)) return 'schedule.hours is not a list of hours 0-23';
  if (s.window !== undefined && (!isObj(s.window) || !isInt(s.window.startMin, 0, 1439) || !isInt(s.window.endMin, 0, 1440)))
    return 'schedule.window needs startMin and endMin';
  if (s.every !== undefined && (!isObj(s.every) || (s.every.unit !== 'minute' && s.every.unit !== 'hour') || !isInt(s.every.n, 1, 1_000_000)))
    return 'schedule.every needs unit and n';
  if (!isNum(s.minChaosIntervalMs)) return 'schedule.minChaosIntervalMs is not a number';
  for (const k of ['once', 'activeFrom', 'activeUntil']) if (s[k] !== undefined && !isTime(s[k])) return `schedule.${k} is not a time`;
  return optionsProblem(input.options) ?? specProblem(s.engine, 'schedule.engine');
}

/** `{ spec: { engine, stages }, options }` of a progressive run. */
export function progressiveInputProblem(input: unknown): string | undefined {
  if (!isObj(input) || !isObj(input.options) || !isObj(input.spec)) return 'the input needs spec and options';
  const o = optionsProblem(input.options);
  if (o) return o;
  const s = input.spec;
  if (!isStr(s.name, 253)) return 'spec.name is not a name';
  if (!Array.isArray(s.stages) || s.stages.length === 0 || s.stages.length > 20) return 'spec.stages must be a list of 1 to 20 stages';
  for (const [i, st] of s.stages.entries()) {
    if (!isObj(st) || !isStr(st.id, 63) || !isStr(st.name, 256) || !isNum(st.chaosPercentage) || !isNum(st.durationMs) || !isNum(st.successThreshold))
      return `spec.stages[${i}] needs id, name, chaosPercentage, durationMs, successThreshold`;
  }
  return specProblem(s.engine, 'spec.engine');
}

/** `{ spec: { scenarios }, options }` of a game day. */
export function gameDayInputProblem(input: unknown): string | undefined {
  if (!isObj(input) || !isObj(input.options) || !isObj(input.spec)) return 'the input needs spec and options';
  const o = optionsProblem(input.options);
  if (o) return o;
  const s = input.spec;
  if (!isStr(s.name, 253)) return 'spec.name is not a name';
  if (!Array.isArray(s.scenarios) || s.scenarios.length === 0 || s.scenarios.length > 50) return 'spec.scenarios must be a list of 1 to 50 scenarios';
  for (const [i, sc] of s.scenarios.entries()) {
    if (!isObj(sc) || !isStr(sc.name, 256) || !isNum(sc.durationMs) || !Array.isArray(sc.steps) || sc.steps.length > 50)
      return `spec.scenarios[${i}] needs name, durationMs and steps`;
    for (const [j, st] of sc.steps.entries()) {
      if (!isObj(st) || !isStr(st.experiment, 63) || (st.kind !== 'engine' && st.kind !== 'manual'))
        return `spec.scenarios[${i}].steps[${j}] needs experiment and kind`;
      if (st.kind === 'engine') {
        const why = specProblem(st.engine, `spec.scenarios[${i}].steps[${j}].engine`);
        if (why) return why;
      } else if (!isStr(st.instructions)) return `spec.scenarios[${i}].steps[${j}].instructions is not text`;
    }
  }
  return undefined;
}
