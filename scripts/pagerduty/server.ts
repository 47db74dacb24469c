/**
 * A local stand-in for the parts of PagerDuty that Tempest talks to (loopback only, state in memory):
 *
 * REST API v2 (https://developer.pagerduty.com/api-reference/), `Authorization: Token token=<t>` when the
 * server has a token (401 otherwise):
 *   GET  /incidents?statuses[]=triggered&service_ids[]=P1&limit=25&offset=0
 *                                     200 {incidents:[...], limit, offset, total:null, more}
 *   GET  /incidents/:id               200 {incident}
 *   POST /incidents                   201 {incident}   body {incident:{type:"incident", title, service:{id, type}, urgency?, incident_key?}}, `From` header
 *   PUT  /incidents/:id               200 {incident}   body {incident:{type:"incident", status:"acknowledged"|"resolved"}}, `From` header
 * Events API v2 (https://developer.pagerduty.com/docs/events-api-v2/trigger-events/), no token (the routing key is the credential):
 *   POST /v2/enqueue                  202 {status:"success", message:"Event processed", dedup_key}
 *                                     400 {status:"invalid event", message:"Event object is invalid", errors:[...]}
 *   A trigger opens an incident on the routing key's service, or is deduplicated into the open incident with the
 *   same dedup_key; acknowledge/resolve act on that open incident (and are dropped when there is none).
 * Test control (not PagerDuty):
 *   GET  /__state                     200 {incidents, services, events, requests}
 *   POST /__reset                     200 {reset:true}   forget incidents, events and auto-created services
 *   PATCH /__incidents/:id            200 {incident}     body {created_at}: move an incident in time
 * GET /incidents lists, like PagerDuty, only incidents created in the last 30 days unless `since`/`until` or
 * `date_range=all` say otherwise.
 *
 * Services: each Events API routing key (32 characters, as PagerDuty's integration keys) belongs to one service.
 * `--service <routing-key>=<service-id>` (repeatable) fixes the mapping; an unknown routing key gets a service
 * whose id is derived from the key (stable across restarts, shown by /__state and by `serviceIdFor()`).
 *
 * Usage: node --import tsx scripts/pagerduty/server.ts [--port 4300] [--token <t>] [--service <key>=<id>]...
 * (scripts/pagerduty/start runs it in the background; test/helpers/pagerduty.ts runs it in-process.)
 */
import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, InvalidArgumentError } from 'commander';
import { HttpError, LOOPBACK, intOption, log, readBody, sendJson } from '../fleet/common.js';

// ---------------------------------------------------------------- model
export type IncidentStatus = 'triggered' | 'acknowledged' | 'resolved';
export type Urgency = 'high' | 'low';
export type Severity = 'critical' | 'error' | 'warning' | 'info';

export const INCIDENT_STATUSES: readonly IncidentStatus[] = ['triggered', 'acknowledged', 'resolved'];
const SEVERITIES: readonly Severity[] = ['critical', 'error', 'warning', 'info'];
const EVENT_ACTIONS = ['trigger', 'acknowledge', 'resolve'] as const;
type EventAction = (typeof EVENT_ACTIONS)[number];

export interface Incident {
  id: string;
  type: 'incident';
  summary: string;
  incident_number: number;
  title: string;
  status: IncidentStatus;
  urgency: Urgency;
  incident_key: string;
  service: { id: string; type: 'service_reference'; summary: string };
  created_at: string;
  updated_at: string;
  last_status_change_at: string;
  resolved_at: string | null;
  /** How many events (alerts) were grouped into this incident (1 for a REST-created one). */
  alert_counts: { all: number; triggered: number; resolved: number };
  self: string;
  html_url: string;
}

export interface Service {
  id: string;
  name: string;
  routingKeys: string[];
  /** true when created on the fly for an unknown routing key or REST service id (forgotten by /__reset). */
  auto: boolean;
}

export interface ReceivedEvent {
  at: string;
  routing_key: string;
  event_action: EventAction;
  dedup_key: string;
  payload?: { summary?: string; source?: string; severity?: string };
  /** What the event did: created / deduplicated / acknowledged / resolved the incident, or nothing. */
  outcome: 'created' | 'deduplicated' | 'acknowledged' | 'resolved' | 'ignored';
  incident_id: string | null;
}

export interface PagerDutyServerOptions {
  /** REST API token; when set, REST calls need `Authorization: Token token=<token>`. */
  token?: string;
  /** routing key -> service id. */
  services?: Record<string, string>;
  /** Log one line per request (the CLI does; tests don't). */
  log?: (message: string) => void;
}

export interface PagerDutyState {
  incidents: Incident[];
  services: Service[];
  events: ReceivedEvent[];
  requests: number;
}

export interface PagerDutyServer {
  server: http.Server;
  /** Binds 127.0.0.1:port (0 = ephemeral) and resolves with the base URL, e.g. http://127.0.0.1:41234. */
  listen(port?: number): Promise<{ port: number; url: string }>;
  close(): Promise<void>;
  /** A deep copy of the current state. */
  state(): PagerDutyState;
  reset(): void;
  /** The service id events with this routing key land on. */
  serviceIdFor(routingKey: string): string;
}

/** Stable PagerDuty-looking service id for a routing key: "P" + 6 characters of its hash. */
export function derivedServiceId(routingKey: string): string {
  return `P${createHash('sha256').update(routingKey).digest('hex').slice(0, 6).toUpperCase()}`;
}

const ID_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
function newId(prefix: string, taken: (id: string) => boolean): string {
  for (;;) {
    const bytes = randomBytes(13);
    const id = prefix + Array.from(bytes, (b) => ID_ALPHABET[b % ID_ALPHABET.length]).join('');
    if (!taken(id)) return id;
  }
}

/** PagerDuty's REST error body: {error:{message, code, errors?}}. */
class RestError extends HttpError {
  constructor(
    status: number,
    message: string,
    readonly code: number,
    readonly errors?: string[],
  ) {
    super(status, message);
  }
}

/** GET /incidents lists the last 30 days unless told otherwise (since/until, or date_range=all); at most 6 months. */
const DEFAULT_RANGE_MS = 30 * 24 * 3600 * 1000;
const MAX_RANGE_MS = 183 * 24 * 3600 * 1000;

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isBlank = (v: unknown): boolean => typeof v !== 'string' || v.trim() === '';

// ---------------------------------------------------------------- server
export function createPagerDutyServer(options: PagerDutyServerOptions = {}): PagerDutyServer {
  const token = options.token;
  const say = options.log ?? (() => {});
  const configured = new Map(Object.entries(options.services ?? {}));

  let incidents: Incident[] = [];
  let services = new Map<string, Service>();
  let events: ReceivedEvent[] = [];
  let requests = 0;
  let nextNumber = 1;
  let baseUrl = 'http://127.0.0.1';

  function reset(): void {
    incidents = [];
    events = [];
    requests = 0;
    nextNumber = 1;
    services = new Map();
    for (const [key, id] of configured) ensureService(id, key, false);
  }

  function ensureService(id: string, routingKey: string | undefined, auto: boolean): Service {
    let s = services.get(id);
    if (!s) {
      s = { id, name: `Service ${id}`, routingKeys: [], auto };
      services.set(id, s);
    }
    if (routingKey && !s.routingKeys.includes(routingKey)) s.routingKeys.push(routingKey);
    return s;
  }

  const serviceIdFor = (routingKey: string): string => configured.get(routingKey) ?? derivedServiceId(routingKey);

  reset();

  function createIncident(fields: { title: string; serviceId: string; urgency: Urgency; incidentKey?: string }): Incident {
    const now = new Date().toISOString();
    const id = newId('Q', (x) => incidents.some((i) => i.id === x));
    const number = nextNumber++;
    const service = services.get(fields.serviceId) ?? ensureService(fields.serviceId, undefined, true);
    const incident: Incident = {
      id,
      type: 'incident',
      summary: `[#${number}] ${fields.title}`,
      incident_number: number,
      title: fields.title,
      status: 'triggered',
      urgency: fields.urgency,
      incident_key: fields.incidentKey ?? randomBytes(16).toString('hex'),
      service: { id: service.id, type: 'service_reference', summary: service.name },
      created_at: now,
      updated_at: now,
      last_status_change_at: now,
      resolved_at: null,
      alert_counts: { all: 1, triggered: 1, resolved: 0 },
      self: `${baseUrl}/incidents/${id}`,
      html_url: `${baseUrl}/incidents/${id}`,
    };
    incidents.push(incident);
    say(`incident ${id} #${number} triggered on ${service.id}: ${fields.title}`);
    return incident;
  }

  function setStatus(incident: Incident, status: IncidentStatus): void {
    if (incident.status === status) return;
    // A resolved incident stays resolved (PagerDuty does not reopen it; a new trigger opens a new one).
    if (incident.status === 'resolved') throw new RestError(400, 'Invalid Input Provided', 2001, ['Incident is already resolved.']);
    const now = new Date().toISOString();
    incident.status = status;
    incident.updated_at = now;
    incident.last_status_change_at = now;
    if (status === 'resolved') {
      incident.resolved_at = now;
      incident.alert_counts = { all: incident.alert_counts.all, triggered: 0, resolved: incident.alert_counts.all };
    }
    say(`incident ${incident.id} #${incident.incident_number} ${status}`);
  }

  const openByKey = (serviceId: string, key: string): Incident | undefined =>
    incidents.find((i) => i.service.id === serviceId && i.incident_key === key && i.status !== 'resolved');

  // ---------------------------------------------------------------- REST API v2
  function authorize(req: http.IncomingMessage): void {
    if (token === undefined) return;
    const auth = req.headers.authorization ?? '';
    const m = /^Token token=(.+)$/.exec(auth.trim());
    if (!m || m[1] !== token) throw new RestError(401, 'Unauthorized', 2006);
  }

  function requireFrom(req: http.IncomingMessage): void {
    const from = req.headers.from;
    if (typeof from !== 'string' || !/^[^@\s]+@[^@\s]+$/.test(from.trim())) {
      throw new RestError(400, 'Invalid Input Provided', 2001, ['A valid `From` header (the email of a user) is required.']);
    }
  }

  async function readRestBody(req: http.IncomingMessage): Promise<Record<string, unknown>> {
    const text = await readBody(req);
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new RestError(400, 'Invalid Input Provided', 2001, ['Request body is not valid JSON.']);
    }
    if (!isRecord(json) || !isRecord(json.incident)) throw new RestError(400, 'Invalid Input Provided', 2001, ['incident is required.']);
    if (json.incident.type !== 'incident' && json.incident.type !== 'incident_reference') {
      throw new RestError(400, 'Invalid Input Provided', 2001, ['incident.type must be "incident".']);
    }
    return json.incident;
  }

  function listIncidents(url: URL): unknown {
    const all = (name: string) => [...url.searchParams.getAll(`${name}[]`), ...url.searchParams.getAll(name)];
    const statuses = all('statuses');
    const bad = statuses.filter((s) => !INCIDENT_STATUSES.includes(s as IncidentStatus));
    if (bad.length) throw new RestError(400, 'Invalid Input Provided', 2001, [`Statuses has invalid values: ${bad.join(', ')}.`]);
    const serviceIds = all('service_ids');
    const urgencies = all('urgencies');
    const incidentKey = url.searchParams.get('incident_key');
    // Like PagerDuty: without date_range=all, only incidents created in [since, until] are listed, and that
    // range defaults to the last 30 days (an incident opened 31 days ago and still open is NOT listed).
    let since = -Infinity;
    let until = Infinity;
    if (url.searchParams.get('date_range') !== 'all') {
      since = dateParam(url, 'since') ?? Date.now() - DEFAULT_RANGE_MS;
      until = dateParam(url, 'until') ?? Infinity;
      if (Number.isFinite(until) && until - since > MAX_RANGE_MS)
        throw new RestError(400, 'Invalid Input Provided', 2001, ['Date range must be at most 6 months.']);
    }
    const limit = intParam(url, 'limit', 25, 1, 100);
    const offset = intParam(url, 'offset', 0, 0, Number.MAX_SAFE_INTEGER);
    const matching = incidents.filter(
      (i) =>
        (statuses.length === 0 || statuses.includes(i.status)) &&
        (serviceIds.length === 0 || serviceIds.includes(i.service.id)) &&
        (urgencies.length === 0 || urgencies.includes(i.urgency)) &&
        (incidentKey === null || i.incident_key === incidentKey) &&
        Date.parse(i.created_at) >= since &&
        Date.parse(i.created_at) < until,
    );
    const total = url.searchParams.get('total') === 'true' ? matching.length : null;
    return { incidents: matching.slice(offset, offset + limit), limit, offset, total, more: offset + limit < matching.length };
  }

  function dateParam(url: URL, name: string): number | undefined {
    const raw = url.searchParams.get(name);
    if (raw === null || raw === '') return undefined;
    const t = Date.parse(raw);
    if (Number.isNaN(t)) throw new RestError(400, 'Invalid Input Provided', 2001, [`${name} is not a valid date.`]);
    return t;
  }

  function intParam(url: URL, name: string, dflt: number, min: number, max: number): number {
    const raw = url.searchParams.get(name);
    if (raw === null || raw === '') return dflt;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min) throw new RestError(400, 'Invalid Input Provided', 2001, [`${name} must be an integer >= ${min}.`]);
    return Math.min(n, max);
  }

  function findIncident(id: string): Incident {
    const i = incidents.find((x) => x.id === id || String(x.incident_number) === id);
    if (!i) throw new RestError(404, 'Not Found', 2100);
    return i;
  }

  async function postIncident(req: http.IncomingMessage): Promise<Incident> {
    requireFrom(req);
    const body = await readRestBody(req);
    const errors: string[] = [];
    if (isBlank(body.title)) errors.push('Title cannot be empty.');
    const service = body.service;
    if (!isRecord(service) || isBlank(service.id)) errors.push('Service is required (incident.service.id).');
    const urgency = body.urgency ?? 'high';
    if (urgency !== 'high' && urgency !== 'low') errors.push('Urgency must be "high" or "low".');
    const key = body.incident_key;
    if (key !== undefined && isBlank(key)) errors.push('incident_key must be a non-empty string.');
    if (errors.length) throw new RestError(400, 'Invalid Input Provided', 2001, errors);
    const serviceId = String((service as Record<string, unknown>).id);
    if (typeof key === 'string' && openByKey(serviceId, key)) {
      throw new RestError(400, 'Invalid Input Provided', 2001, ['Open incident with matching dedup key already exists on this service']);
    }
    return createIncident({ title: String(body.title), serviceId, urgency: urgency as Urgency, incidentKey: key as string | undefined });
  }

  async function putIncident(req: http.IncomingMessage, id: string): Promise<Incident> {
    requireFrom(req);
    const incident = findIncident(id);
    const body = await readRestBody(req);
    if (body.status !== undefined) {
      if (body.status !== 'acknowledged' && body.status !== 'resolved') {
        throw new RestError(400, 'Invalid Input Provided', 2001, ['Status must be "acknowledged" or "resolved".']);
      }
      setStatus(incident, body.status);
    }
    if (body.title !== undefined) {
      if (isBlank(body.title)) throw new RestError(400, 'Invalid Input Provided', 2001, ['Title cannot be empty.']);
      incident.title = String(body.title);
      incident.summary = `[#${incident.incident_number}] ${incident.title}`;
      incident.updated_at = new Date().toISOString();
    }
    if (body.urgency !== undefined) {
      if (body.urgency !== 'high' && body.urgency !== 'low') throw new RestError(400, 'Invalid Input Provided', 2001, ['Urgency must be "high" or "low".']);
      incident.urgency = body.urgency;
      incident.updated_at = new Date().toISOString();
    }
    return incident;
  }

  // ---------------------------------------------------------------- Events API v2
  /** Validates like PagerDuty does: every problem is listed, none is fixed up silently. */
  function validateEvent(e: Record<string, unknown>): string[] {
    const errors: string[] = [];
    if (isBlank(e.routing_key)) errors.push("'routing_key' is missing or blank");
    else if ((e.routing_key as string).length !== 32) errors.push("Length of 'routing_key' is incorrect (should be 32 characters)");
    if (isBlank(e.event_action)) errors.push("'event_action' is missing or blank");
    else if (!EVENT_ACTIONS.includes(e.event_action as EventAction))
      errors.push("'event_action' is invalid (must be one of the following: 'trigger', 'acknowledge' or 'resolve')");
    if (e.dedup_key !== undefined && e.dedup_key !== null) {
      if (typeof e.dedup_key !== 'string') errors.push("'dedup_key' must be a string");
      else if (e.dedup_key.length > 255) errors.push("'dedup_key' is too long (must be at most 255 characters)");
    }
    const action = e.event_action;
    if (action === 'acknowledge' || action === 'resolve') {
      if (isBlank(e.dedup_key)) errors.push("'dedup_key' is missing or blank");
    }
    if (action === 'trigger') {
      if (!isRecord(e.payload)) errors.push("'payload' is missing or blank");
      else {
        const p = e.payload;
        if (isBlank(p.summary)) errors.push("'payload.summary' is missing or blank");
        else if ((p.summary as string).length > 1024) errors.push("'payload.summary' is too long (must be at most 1024 characters)");
        if (isBlank(p.source)) errors.push("'payload.source' is missing or blank");
        if (isBlank(p.severity)) errors.push("'payload.severity' is missing or blank");
        else if (!SEVERITIES.includes(p.severity as Severity))
          errors.push("'payload.severity' is invalid (must be one of the following: 'critical', 'warning', 'error' or 'info')");
        if (p.timestamp !== undefined && (typeof p.timestamp !== 'string' || Number.isNaN(Date.parse(p.timestamp)))) {
          errors.push("'payload.timestamp' is invalid (must be an ISO 8601 timestamp)");
        }
      }
    }
    return errors;
  }

  async function enqueue(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const text = await readBody(req);
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      return sendJson(res, 400, { status: 'invalid event', message: 'Event object is invalid', errors: ['Request body is not valid JSON'] });
    }
    if (!isRecord(json)) return sendJson(res, 400, { status: 'invalid event', message: 'Event object is invalid', errors: ['Event must be a JSON object'] });
    const errors = validateEvent(json);
    if (errors.length) return sendJson(res, 400, { status: 'invalid event', message: 'Event object is invalid', errors });

    const routingKey = json.routing_key as string;
    const action = json.event_action as EventAction;
    const dedupKey = isBlank(json.dedup_key) ? randomBytes(16).toString('hex') : (json.dedup_key as string);
    const serviceId = serviceIdFor(routingKey);
    ensureService(serviceId, routingKey, !configured.has(routingKey));
    const payload = isRecord(json.payload) ? (json.payload as ReceivedEvent['payload']) : undefined;

    let outcome: ReceivedEvent['outcome'] = 'ignored';
    let incident = openByKey(serviceId, dedupKey);
    if (action === 'trigger') {
      if (incident) {
        incident.alert_counts.all += 1;
        incident.alert_counts.triggered += 1;
        incident.updated_at = new Date().toISOString();
        outcome = 'deduplicated';
      } else {
        const severity = payload?.severity as Severity;
        // A service with "dynamic notifications based on alert severity": critical/error are high urgency.
        const urgency: Urgency = severity === 'critical' || severity === 'error' ? 'high' : 'low';
        incident = createIncident({ title: String(payload?.summary), serviceId, urgency, incidentKey: dedupKey });
        outcome = 'created';
      }
    } else if (incident) {
      setStatus(incident, action === 'resolve' ? 'resolved' : 'acknowledged');
      outcome = action === 'resolve' ? 'resolved' : 'acknowledged';
    }
    events.push({
      at: new Date().toISOString(),
      routing_key: routingKey,
      event_action: action,
      dedup_key: dedupKey,
      payload,
      outcome,
      incident_id: incident?.id ?? null,
    });
    sendJson(res, 202, { status: 'success', message: 'Event processed', dedup_key: dedupKey });
  }

  // ---------------------------------------------------------------- routing
  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://pagerduty');
    const method = req.method ?? 'GET';
    const parts = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
    requests += 1;

    if (url.pathname === '/__state') {
      if (method !== 'GET') throw new HttpError(405, `method ${method} not allowed`);
      return sendJson(res, 200, stateCopy());
    }
    if (url.pathname === '/__reset') {
      if (method !== 'POST') throw new HttpError(405, `method ${method} not allowed`);
      reset();
      return sendJson(res, 200, { reset: true });
    }
    if (parts[0] === '__incidents' && parts.length === 2) {
      // Test control: move an incident in time, e.g. to have one that opened 40 days ago and is still open.
      if (method !== 'PATCH') throw new HttpError(405, `method ${method} not allowed`);
      const incident = findIncident(parts[1]!);
      const text = await readBody(req);
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch {
        throw new HttpError(400, 'body is not valid JSON');
      }
      const createdAt = isRecord(body) ? body.created_at : undefined;
      if (typeof createdAt !== 'string' || Number.isNaN(Date.parse(createdAt))) throw new HttpError(400, 'body must be {"created_at": "<ISO time>"}');
      incident.created_at = new Date(createdAt).toISOString();
      return sendJson(res, 200, { incident });
    }
    if (url.pathname === '/v2/enqueue') {
      if (method !== 'POST') throw new HttpError(405, `method ${method} not allowed`);
      return enqueue(req, res);
    }
    if (parts[0] === 'incidents' && parts.length <= 2) {
      authorize(req);
      if (parts.length === 1) {
        if (method === 'GET') return sendJson(res, 200, listIncidents(url));
        if (method === 'POST') return sendJson(res, 201, { incident: await postIncident(req) });
      } else {
        if (method === 'GET') return sendJson(res, 200, { incident: findIncident(parts[1]!) });
        if (method === 'PUT') return sendJson(res, 200, { incident: await putIncident(req, parts[1]!) });
      }
      throw new RestError(405, `Method ${method} not allowed`, 2000);
    }
    throw new RestError(404, 'Not Found', 2100);
  }

  function stateCopy(): PagerDutyState {
    return structuredClone({ incidents, services: [...services.values()], events, requests });
  }

  const server = http.createServer((req, res) => {
    const started = Date.now();
    res.once('finish', () => say(`${req.method} ${req.url} -> ${res.statusCode} (${Date.now() - started} ms)`));
    handle(req, res).catch((err: unknown) => {
      if (res.headersSent) return void res.destroy();
      if (err instanceof RestError) {
        return sendJson(res, err.status, { error: { message: err.message, code: err.code, ...(err.errors ? { errors: err.errors } : {}) } });
      }
      if (err instanceof HttpError) return sendJson(res, err.status, { error: { message: err.message } });
      say(`error on ${req.method} ${req.url}: ${String(err)}`);
      sendJson(res, 500, { error: { message: 'Internal Server Error' } });
    });
  });
  server.keepAliveTimeout = 1000;

  return {
    server,
    listen(port = 0) {
      return new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, LOOPBACK, () => {
          server.off('error', reject);
          const bound = (server.address() as AddressInfo).port;
          baseUrl = `http://${LOOPBACK}:${bound}`;
          resolve({ port: bound, url: baseUrl });
        });
      });
    },
    close() {
      return new Promise((resolve, reject) => {
        if (!server.listening) return resolve();
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      });
    },
    state: stateCopy,
    reset,
    serviceIdFor,
  };
}

// ---------------------------------------------------------------- CLI
function serviceOption(value: string, previous: Record<string, string>): Record<string, string> {
  const m = /^([^=]+)=(.+)$/.exec(value);
  if (!m) throw new InvalidArgumentError(`--service needs <routing-key>=<service-id>, got "${value}"`);
  return { ...previous, [m[1]!]: m[2]! };
}

async function main(): Promise<void> {
  const program = new Command()
    .name('pagerduty')
    .description('Local PagerDuty stand-in: REST API v2 incidents and Events API v2 (loopback only, in memory).')
    .option('--port <port>', 'port to listen on (127.0.0.1)', intOption('--port', 0, 65535), 4300)
    .option('--token <token>', 'REST API token to require (Authorization: Token token=<token>); default: none required', process.env.PAGERDUTY_TOKEN)
    .option('--service <key=id>', 'map an Events API routing key to a service id (repeatable)', serviceOption, {} as Record<string, string>)
    .parse();
  const opts = program.opts<{ port: number; token?: string; service: Record<string, string> }>();
  const say = (message: string) => log('pagerduty', message);
  const pd = createPagerDutyServer({ token: opts.token || undefined, services: opts.service, log: say });
  try {
    const { url } = await pd.listen(opts.port);
    say(`listening on ${url} (pid ${process.pid}; REST token ${opts.token ? 'required' : 'not required'})`);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    process.stderr.write(`pagerduty: ${e.code === 'EADDRINUSE' ? `port ${opts.port} is in use` : e.message}\n`);
    process.exit(1);
  }
  const stop = (signal: string) => {
    say(`${signal}: stopping`);
    void pd.close().finally(() => process.exit(0));
    setTimeout(() => process.exit(0), 2000).unref();
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

const isMain = process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (isMain) void main();
