/** httpProbe: one request per attempt; responseCode, responseTime and responseBody criteria must all hold. */
import { readFile, realpath, stat } from 'node:fs/promises';
import { hostRefusal, pathWithin, resolvedAddressRefusal } from '../../config/policy.js';
import type { HttpProbeInputs, RunProperties } from '../../config/spec.js';
import { compareNumeric, type CheckResult } from './comparators.js';
import { compareStringBounded } from './match.js';
import { verdictOf } from './attempts.js';
import { request } from './request.js';
import { ProbeError, type AttemptResult, type ProbeDeps, type ProbeDriver } from './types.js';

export function httpDriver(inputs: HttpProbeInputs, rp: RunProperties, deps: ProbeDeps): ProbeDriver {
  if (!inputs.responseCode && !inputs.responseTime && !inputs.responseBody) {
    throw new ProbeError('httpProbe has no criteria: give responseCode, responseTime (criteria + responseTimeout) or responseBody');
  }
  const url = deps.rewriteUrl ? deps.rewriteUrl(inputs.url) : inputs.url;
  const target = `${inputs.method} ${url}`;
  const policy = deps.policy;
  // The URL as this worker reaches it (after rewrites) must pass the operator's host rules too.
  const allowUrl = (u: string) => (policy ? hostRefusal(policy, u) : null);
  const refusedHere = allowUrl(url);
  if (refusedHere) throw new ProbeError(`refused by the worker's policy: ${refusedHere}`, target);
  let body: Promise<string | undefined> | undefined;
  const readBody = async (path: string): Promise<string> => {
    // Only a regular file inside the operator's files.probeBodyRoots (symlinks resolved), at most 1 MiB.
    const real = await realpath(path);
    if (policy && !(await Promise.all(policy.files.probeBodyRoots.map((r) => realpath(r).catch(() => '')))).some((r) => r && pathWithin(real, r))) {
      throw new Error(`${real} is not inside files.probeBodyRoots of ${policy.source}`);
    }
    const st = await stat(real);
    if (!st.isFile() || st.size > 1024 * 1024) throw new Error(`${real} is not a regular file of at most 1 MiB`);
    return readFile(real, 'utf8');
  };
  const loadBody = () =>
    (body ??=
      inputs.method !== 'POST'
        ? Promise.resolve(undefined)
        : inputs.bodyPath
          ? readBody(inputs.bodyPath).catch((err: Error) => {
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
        followRedirects: policy?.probes.followRedirects ?? false,
        allowUrl,
        allowAddress: policy ? (host, ip) => resolvedAddressRefusal(policy, host, ip) : undefined,
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
        checks.push(await compareStringBounded(res.body, inputs.responseBody.criteria, inputs.responseBody.value, { subject: 'response body', signal }));
      }
      return verdictOf(checks, `${target} -> ${res.status} in ${res.elapsedMs}ms`);
    },
  };
}
