/** One HTTP request for httpProbe and promProbe: raw text body, elapsed time, readable errors. */
import http from 'node:http';
import https from 'node:https';
import { lookup as dnsLookup } from 'node:dns/promises';
import axios from 'axios';
import { ProbeError } from './types.js';

export interface RequestOptions {
  method: 'GET' | 'POST';
  url: string;
  headers?: Record<string, string>;
  params?: Record<string, string>;
  data?: string;
  timeoutMs: number;
  signal: AbortSignal;
  insecureSkipTLS?: boolean;
  /** Follow redirects (default: no). Each hop's URL must pass `allowUrl`. */
  followRedirects?: boolean;
  /** null when a URL may be reached, else why not (checked for every redirect hop). */
  allowUrl?: (url: string) => string | null;
  /** null when a name may be reached at the address it resolved to, else why not (checked at every connect). */
  allowAddress?: (hostname: string, address: string) => string | null;
}

export interface RequestResult {
  status: number;
  body: string;
  elapsedMs: number;
}

const MAX_BODY_BYTES = 16 * 1024 * 1024;

/**
 * Send one request. Any HTTP status is a result (criteria decide); network failures, timeouts and TLS errors throw a
 * ProbeError. A fresh connection per request (no keep-alive, no proxy — like Litmus' Go client with its own
 * Transport): each attempt really reaches the service instead of reusing a socket to a pod that may be gone.
 */
export async function request(opts: RequestOptions): Promise<RequestResult> {
  const started = performance.now();
  try {
    const res = await axios.request<string>({
      method: opts.method,
      url: opts.url,
      headers: opts.headers,
      params: opts.params,
      data: opts.data,
      timeout: opts.timeoutMs,
      signal: opts.signal,
      responseType: 'text',
      transformResponse: [(d: unknown) => d],
      validateStatus: () => true,
      proxy: false,
      maxContentLength: MAX_BODY_BYTES,
      maxBodyLength: MAX_BODY_BYTES,
      // A redirect is a result (3xx) unless the operator allows following them; each hop is re-checked.
      maxRedirects: opts.followRedirects ? 5 : 0,
      // Names are judged by what they resolve to, at connect time (a DNS name for 169.254.169.254 is refused too).
      lookup: opts.allowAddress
        ? async (hostname: string, o: { family?: number }) => {
            const addrs = await dnsLookup(hostname, { all: true, family: o?.family ?? 0 });
            for (const a of addrs) {
              const why = opts.allowAddress!(hostname, a.address);
              if (why) throw new ProbeError(`${hostname} resolves to ${a.address}: ${why}`);
            }
            return addrs.map((a) => ({ address: a.address, family: a.family }));
          }
        : undefined,
      beforeRedirect: (o: { href?: string; protocol?: string; hostname?: string; port?: string | number; path?: string }) => {
        const href = o.href ?? `${o.protocol}//${o.hostname}${o.port ? `:${o.port}` : ''}${o.path ?? ''}`;
        const why = opts.allowUrl?.(href);
        if (why) throw new ProbeError(`redirect to ${href.slice(0, 200)} refused: ${why}`);
      },
      httpAgent: new http.Agent({ keepAlive: false }),
      httpsAgent: new https.Agent({ keepAlive: false, rejectUnauthorized: !opts.insecureSkipTLS }),
    });
    return { status: res.status, body: typeof res.data === 'string' ? res.data : String(res.data ?? ''), elapsedMs: Math.round(performance.now() - started) };
  } catch (err) {
    if (opts.signal.aborted) throw opts.signal.reason;
    throw new ProbeError(describeRequestError(err, opts.timeoutMs));
  }
}

function describeRequestError(err: unknown, timeoutMs: number): string {
  if (axios.isAxiosError(err)) {
    const code = err.code ?? '';
    if (code === 'ECONNABORTED' || code === 'ETIMEDOUT') return `request timed out after ${timeoutMs}ms`;
    // Node 20 may report a refused `localhost` as an AggregateError with an empty message.
    const cause = err.cause as { message?: string; errors?: Array<{ message?: string }> } | undefined;
    const detail = err.message || cause?.message || cause?.errors?.map((e) => e.message).join('; ') || 'request failed';
    return code && !detail.includes(code) ? `${code}: ${detail}` : detail;
  }
  return err instanceof Error ? err.message : String(err);
}
