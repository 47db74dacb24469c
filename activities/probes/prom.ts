/** promProbe: instant query `<endpoint>/api/v1/query`, first sample compared as float. */
import type { PromProbeInputs } from '../../config/spec.js';
import { hostRefusal, resolvedAddressRefusal } from '../../config/policy.js';
import { compareNumeric, parseNumber, quote } from './comparators.js';
import { verdictOf } from './attempts.js';
import { request } from './request.js';
import { ProbeError, type AttemptResult, type ProbeDeps, type ProbeDriver } from './types.js';

type Sample = [number, string];
interface PromAnswer {
  status?: string;
  errorType?: string;
  error?: string;
  data?: { resultType?: string; result?: unknown };
}

/** The value of an instant query answer: first sample of a vector, or the scalar/string value. */
export function sampleOf(answer: PromAnswer, query: string): { value: string; note: string } {
  const { resultType, result } = answer.data ?? {};
  switch (resultType) {
    case 'vector': {
      const series = Array.isArray(result) ? (result as Array<{ value?: Sample }>) : [];
      const first = series[0]?.value;
      if (!first) throw new ProbeError(`query returned no samples: ${query}`);
      return { value: String(first[1]), note: series.length > 1 ? ` (first of ${series.length} samples)` : '' };
    }
    case 'scalar':
    case 'string':
      if (!Array.isArray(result) || result.length < 2) throw new ProbeError(`query returned no samples: ${query}`);
      return { value: String((result as Sample)[1]), note: '' };
    case 'matrix':
      throw new ProbeError(`query returned a range vector (matrix); promProbe needs an instant vector or scalar: ${query}`);
    default:
      throw new ProbeError(`unexpected Prometheus answer (resultType ${String(resultType)}): ${query}`);
  }
}

export function promDriver(inputs: PromProbeInputs, deps: ProbeDeps): ProbeDriver {
  const endpoint = (deps.rewriteUrl ? deps.rewriteUrl(inputs.endpoint) : inputs.endpoint).replace(/\/+$/, '');
  const url = `${endpoint}/api/v1/query`;
  const target = `${url} query=${inputs.query}`;
  const refused = deps.policy ? hostRefusal(deps.policy, url) : null;
  if (refused) throw new ProbeError(`refused by the worker's policy: ${refused}`, target);
  return {
    target,
    sleepAfterEveryTry: false,
    async attempt({ signal, timeoutMs }): Promise<AttemptResult> {
      const policy = deps.policy;
      const allowAddress = policy ? (host: string, ip: string) => resolvedAddressRefusal(policy, host, ip) : undefined;
      const res = await request({ method: 'GET', url, params: { query: inputs.query }, timeoutMs, signal, allowAddress });
      let answer: PromAnswer;
      try {
        answer = JSON.parse(res.body) as PromAnswer;
      } catch {
        throw new ProbeError(`Prometheus answered HTTP ${res.status} with a body that is not JSON: ${quote(res.body)}`, target);
      }
      if (answer.status !== 'success') {
        throw new ProbeError(`Prometheus error (HTTP ${res.status}, ${answer.errorType ?? 'unknown'}): ${answer.error ?? 'no error text'}`, target);
      }
      const { value, note } = sampleOf(answer, inputs.query);
      const observed = `${value}${note} from ${target}`;
      const n = parseNumber(value);
      if (n === undefined) return { ok: false, failureKind: 'criteria', reason: `value ${value} is not a number (query: ${inputs.query})`, observed };
      return verdictOf([compareNumeric(n, inputs.comparator.criteria, inputs.comparator.value)], observed);
    },
  };
}
