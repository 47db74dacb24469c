/**
 * The local PagerDuty stand-in (scripts/pagerduty/server.ts), run in-process on an ephemeral loopback port.
 *
 *   const pd = await startPagerDuty({ token: 'test-token' });
 *   await pd.event({ routing_key: pd.routingKey('checkout'), event_action: 'trigger', dedup_key: 'k', payload: {...} });
 *   ... pd.url is the REST API base URL (GET {url}/incidents) ...
 *   await pd.stop();
 */
import { createHash } from 'node:crypto';
import { createPagerDutyServer, type PagerDutyServer, type PagerDutyServerOptions, type PagerDutyState } from '../../scripts/pagerduty/server.js';

export interface PagerDutyHandle {
  /** Base URL of both APIs, e.g. http://127.0.0.1:41234 (REST: {url}/incidents, Events: {url}/v2/enqueue). */
  url: string;
  port: number;
  server: PagerDutyServer;
  /** A 32-character routing key (as PagerDuty's integration keys), stable for a name. */
  routingKey(name: string): string;
  /** The service id that events with this routing key land on. */
  serviceIdFor(routingKey: string): string;
  /** POST {url}/v2/enqueue; resolves with the HTTP status and the parsed answer. */
  event(body: unknown): Promise<{ status: number; body: EventAnswer }>;
  /** A REST call with this server's token (if any) and a From header. */
  rest(method: string, path: string, body?: unknown, opts?: { token?: string | null }): Promise<{ status: number; body: any }>;
  state(): PagerDutyState;
  reset(): void;
  stop(): Promise<void>;
}

export interface EventAnswer {
  status: string;
  message: string;
  dedup_key?: string;
  errors?: string[];
}

export function routingKeyFor(name: string): string {
  return createHash('md5').update(`tempest-test:${name}`).digest('hex'); // 32 hex characters
}

/** Starts the server object in this process on 127.0.0.1:<ephemeral port>. */
export async function startPagerDuty(options: PagerDutyServerOptions = {}): Promise<PagerDutyHandle> {
  const server = createPagerDutyServer(options);
  const { url, port } = await server.listen(0);

  async function call(method: string, path: string, body: unknown, headers: Record<string, string>): Promise<{ status: number; body: any }> {
    const res = await fetch(`${url}${path}`, {
      method,
      headers: { 'content-type': 'application/json', ...headers },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
      signal: AbortSignal.timeout(5000),
    });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      /* not JSON: keep the text */
    }
    return { status: res.status, body: parsed };
  }

  return {
    url,
    port,
    server,
    routingKey: routingKeyFor,
    serviceIdFor: (key) => server.serviceIdFor(key),
    event: (body) => call('POST', '/v2/enqueue', body, {}) as Promise<{ status: number; body: EventAnswer }>,
    rest(method, path, body, opts = {}) {
      const token = opts.token === undefined ? options.token : opts.token;
      const headers: Record<string, string> = { Accept: 'application/vnd.pagerduty+json;version=2', From: 'chaos-bot@example.com' };
      if (token) headers.Authorization = `Token token=${token}`;
      return call(method, path, body, headers);
    },
    state: () => server.state(),
    reset: () => server.reset(),
    stop: () => server.close(),
  };
}
