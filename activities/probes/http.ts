/** httpProbe: one request per attempt; responseCode, responseTime and responseBody criteria must all hold. */
import { readFile } from 'node:fs/promises';
import type { HttpProbeInputs, RunProperties } from '../../config/spec.js';
import { compareNumeric, compareString, type CheckResult } from './comparators.js';
import { verdictOf } from './attempts.js';
import { request } from './request.js';
import { ProbeError, type AttemptResult, type ProbeDeps, type ProbeDriver } from './types.js';

export function httpDriver(inputs: HttpProbeInputs, rp: RunProperties, deps: ProbeDeps): ProbeDriver {
  if (!inputs.responseCode && !inputs.responseTime && !inputs.responseBody) {
    throw new ProbeError('httpProbe has no criteria: give responseCode, responseTime (criteria + responseTimeout) or responseBody');
  }
  const url = deps.rewriteUrl ? deps.rewriteUrl(inputs.url) : inputs.url;
  const target = `${inputs.method} ${url}`;
  let body: Promise<string | undefined> | undefined;
  const loadBody = () =>
    (body ??=
      inputs.method !== 'POST'
        ? Promise.resolve(undefined)
        : inputs.bodyPath
          ? readFile(inputs.bodyPath, 'utf8').catch((err: Error) => {
              body = undefined; // a later attempt may find the file
              throw new ProbeError(`cannot read bodyPath ${inputs.bodyPath}: ${err.message}`, target);
            })
          : Promise.resolve(inputs.body));

  return {
    target,
    sleepAfterEveryTry: true,
    async attempt({ signal, timeoutMs }): Promise<AttemptResult> {
      const data = await loadBody();
      const headers: Record<string, string> = { ...inputs.headers };
      if (inputs.contentType && !Object.keys(headers).some((h) => h.toLowerCase() === 'content-type')) headers['Content-Type'] = inputs.contentType;
      const res = await request({
        method: inputs.method,
        url,
        headers,
        data,
        timeoutMs: Math.min(inputs.responseTimeoutMs ?? rp.probeTimeoutMs, timeoutMs),
        signal,
        insecureSkipTLS: inputs.insecureSkipTLS,
      }).catch((err: unknown) => {
        throw err instanceof ProbeError ? new ProbeError(err.message, target) : err;
      });
      const checks: CheckResult[] = [];
      if (inputs.responseCode) {
        checks.push(compareNumeric(res.status, inputs.responseCode.criteria, inputs.responseCode.value, { subject: 'response code', integer: true }));
      }
      if (inputs.responseTime) {
        checks.push(compareNumeric(res.elapsedMs, inputs.responseTime.criteria, String(inputs.responseTime.valueMs), { subject: 'response time (ms)' }));
      }
      if (inputs.responseBody) {
        checks.push(compareString(res.body, inputs.responseBody.criteria, inputs.responseBody.value, { subject: 'response body' }));
      }
      return verdictOf(checks, `${target} -> ${res.status} in ${res.elapsedMs}ms`);
    },
  };
}
