/** httpProbe: one request per attempt; responseCode, responseTime and responseBody criteria must all hold. */
import { constants } from 'node:fs';
import { open, readlink, realpath, type FileHandle } from 'node:fs/promises';
import { hostRefusal, pathWithin, resolvedAddressRefusal } from '../../config/policy.js';
import type { HttpProbeInputs, RunProperties } from '../../config/spec.js';
import { compareNumeric, type CheckResult } from './comparators.js';
import { compareStringBounded } from './match.js';
import { verdictOf } from './attempts.js';
import { request } from './request.js';
import { ProbeError, type AttemptResult, type ProbeDeps, type ProbeDriver } from './types.js';

/** The largest bodyPath file sent. */
const MAX_BODY = 1024 * 1024;

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
    // Only a regular file inside the operator's files.probeBodyRoots (symlinks resolved), at most 1 MiB. The real
    // path is opened ONCE (no final symlink followed, no blocking on a FIFO) and everything is checked and read
    // through that descriptor: a name swapped between the check and the read changes nothing.
    const real = await realpath(path);
    const roots = policy ? (await Promise.all(policy.files.probeBodyRoots.map((r) => realpath(r).catch(() => '')))).filter((r) => r) : undefined;
    if (policy && !roots!.some((r) => pathWithin(real, r))) throw new Error(`${real} is not inside files.probeBodyRoots of ${policy.source}`);
    let fh: FileHandle;
    try {
      fh = await open(real, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK | constants.O_NOCTTY);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ELOOP') throw new Error(`${real} was replaced by a symlink; refusing to follow it`, { cause: e });
      throw e;
    }
    try {
      const st = await fh.stat();
      if (!st.isFile() || st.size > MAX_BODY) throw new Error(`${real} is not a regular file of at most 1 MiB`);
      const now = await readlink(`/proc/self/fd/${fh.fd}`);
      if (policy && !roots!.some((r) => pathWithin(now, r))) throw new Error(`${now} is not inside files.probeBodyRoots of ${policy.source}`);
      if (now !== real) throw new Error(`${real} was moved or replaced while it was opened (it is now ${now})`);
      // At most MAX_BODY + 1 bytes are read, whatever the file grows to meanwhile.
      const buf = Buffer.alloc(MAX_BODY + 1);
      let n = 0;
      for (;;) {
        const { bytesRead } = await fh.read(buf, n, buf.length - n, n);
        if (!bytesRead) break;
        n += bytesRead;
        if (n === buf.length) throw new Error(`${real} is not a regular file of at most 1 MiB`);
      }
      return buf.subarray(0, n).toString('utf8');
    } finally {
      await fh.close();
    }
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
