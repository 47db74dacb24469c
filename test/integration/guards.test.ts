/**
 * The seed's ChaosGuards (activities/guards) against real servers, no mocks:
 *  - http: a real HTTP server; a closed port; a server that never answers.
 *  - pagerduty: the local PagerDuty stand-in (scripts/pagerduty/server.ts), incidents opened through the
 *    Events API v2 and the REST API, exactly as PagerDuty's would be.
 *  - freeze: a real flag file, and a real HTTP status endpoint.
 *  - prometheus: a real Prometheus (installed by scripts/prometheus/install if missing) scraping a real fleet
 *    (scripts/fleet) every second. Skipped, with the reason, only when Prometheus cannot be installed.
 */
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { runGuard } from '../../activities/guards/index.js';
import type { GuardSpec } from '../../config/spec.js';
import { startPagerDuty, type PagerDutyHandle } from '../helpers/pagerduty.js';
import { freePort, startFleet, type TestFleet } from '../helpers/fleet.js';
import { ensurePrometheus, describeWithPrometheus, startPrometheus, type PrometheusHandle } from '../helpers/prometheus.js';

type Handler = (req: http.IncomingMessage, res: http.ServerResponse) => void;

/** A real loopback HTTP server whose handler a test can swap. */
async function startHttp(initial: Handler): Promise<{ url: string; set(h: Handler): void; close(): Promise<void> }> {
  let handler = initial;
  const server = http.createServer((req, res) => handler(req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    set: (h) => (handler = h),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

const json =
  (status: number, body: unknown): Handler =>
  (_req, res) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };

// ---------------------------------------------------------------- http
describe('http guard', () => {
  let srv: Awaited<ReturnType<typeof startHttp>>;
  const hanging = new Set<http.ServerResponse>();
  beforeAll(async () => {
    srv = await startHttp(json(200, { status: 'ok' }));
  });
  afterAll(async () => {
    for (const res of hanging) res.destroy();
    await srv.close();
  });

  const guard = (url: string, extra: Partial<Extract<GuardSpec, { type: 'http' }>> = {}): GuardSpec => ({ type: 'http', name: 'system-health', url, ...extra });

  test('passes on the expected status', async () => {
    srv.set(json(200, { status: 'ok' }));
    const out = await runGuard(guard(`${srv.url}/health`));
    expect(out).toMatchObject({ name: 'system-health', type: 'http', passed: true, observed: '200' });
    expect(out.reason).toContain('answered 200 (expected 200)');
  });

  test('fails on another status, and honours expectStatus', async () => {
    srv.set(json(503, { status: 'down' }));
    const down = await runGuard(guard(`${srv.url}/health`));
    expect(down).toMatchObject({ passed: false, observed: '503' });
    expect(down.reason).toContain('answered 503 (expected 200)');

    srv.set((_req, res) => res.writeHead(204).end());
    expect(await runGuard(guard(`${srv.url}/health`, { expectStatus: 204 }))).toMatchObject({ passed: true, observed: '204' });
  });

  test('fails closed on a refused connection', async () => {
    const port = await freePort(); // nothing listens there
    const out = await runGuard(guard(`http://127.0.0.1:${port}/health`));
    expect(out.passed).toBe(false);
    expect(out.reason).toMatch(/^could not evaluate: /);
  });

  test('fails closed when the server does not answer within timeoutMs', async () => {
    srv.set((_req, res) => void hanging.add(res)); // never answers
    const started = Date.now();
    const out = await runGuard(guard(`${srv.url}/health`, { timeoutMs: 300 }));
    expect(out.passed).toBe(false);
    expect(out.reason).toMatch(/^could not evaluate: .*(timeout|aborted)/i);
    expect(Date.now() - started).toBeLessThan(5000);
  });
});

// ---------------------------------------------------------------- pagerduty
describe('pagerduty guard (local PagerDuty: REST API v2 + Events API v2)', () => {
  const TOKEN = 'u+test-token-123';
  let pd: PagerDutyHandle;
  beforeAll(async () => {
    pd = await startPagerDuty({ token: TOKEN });
  });
  afterAll(async () => {
    await pd.stop();
  });
  beforeEach(() => pd.reset());

  // The token by reference (the worker's env), as tempest.yaml's tokenEnv gives it.
  process.env.TEMPEST_TEST_PD_TOKEN = TOKEN;
  const guard = (extra: Partial<Extract<GuardSpec, { type: 'pagerduty' }>> = {}): GuardSpec => ({
    type: 'pagerduty',
    name: 'ongoing-incidents',
    apiUrl: pd.url,
    tokenRef: { env: 'TEMPEST_TEST_PD_TOKEN' },
    ...extra,
  });
  const trigger = (service: string, dedupKey: string, summary: string) =>
    pd.event({
      routing_key: pd.routingKey(service),
      event_action: 'trigger',
      dedup_key: dedupKey,
      payload: { summary, source: 'api-gateway.footanalytics', severity: 'critical' },
    });

  test('no incidents: passes', async () => {
    const out = await runGuard(guard());
    expect(out).toMatchObject({ name: 'ongoing-incidents', type: 'pagerduty', passed: true, reason: 'no active incidents', observed: '0' });
  });

  test('a triggered incident (Events API v2) fails the guard, naming it; acknowledged still fails; resolved passes', async () => {
    const sent = await trigger('api-gateway', 'api-gateway-5xx', 'api-gateway 5xx rate above 5%');
    expect(sent).toEqual({ status: 202, body: { status: 'success', message: 'Event processed', dedup_key: 'api-gateway-5xx' } });
    const [incident] = pd.state().incidents;
    expect(incident).toMatchObject({ type: 'incident', status: 'triggered', urgency: 'high', title: 'api-gateway 5xx rate above 5%' });

    const triggered = await runGuard(guard());
    expect(triggered).toMatchObject({ passed: false, observed: '1' });
    expect(triggered.reason).toBe(`1 active incident(s): ${incident!.id} api-gateway 5xx rate above 5% [triggered]`);

    // The same dedup_key again is grouped into the open incident, not a second one.
    expect((await trigger('api-gateway', 'api-gateway-5xx', 'api-gateway 5xx rate above 5%')).status).toBe(202);
    expect(pd.state().incidents).toHaveLength(1);
    expect(pd.state().incidents[0]!.alert_counts.all).toBe(2);

    const ack = await pd.event({ routing_key: pd.routingKey('api-gateway'), event_action: 'acknowledge', dedup_key: 'api-gateway-5xx' });
    expect(ack.status).toBe(202);
    const acknowledged = await runGuard(guard());
    expect(acknowledged.passed).toBe(false);
    expect(acknowledged.reason).toContain(`${incident!.id} api-gateway 5xx rate above 5% [acknowledged]`);

    const res = await pd.event({ routing_key: pd.routingKey('api-gateway'), event_action: 'resolve', dedup_key: 'api-gateway-5xx' });
    expect(res).toEqual({ status: 202, body: { status: 'success', message: 'Event processed', dedup_key: 'api-gateway-5xx' } });
    expect(pd.state().incidents[0]!.status).toBe('resolved');
    expect(await runGuard(guard())).toMatchObject({ passed: true, reason: 'no active incidents' });

    // A new trigger after the resolve opens a new incident (PagerDuty does not reopen a resolved one).
    await trigger('api-gateway', 'api-gateway-5xx', 'api-gateway 5xx rate above 5% (again)');
    const again = pd.state().incidents;
    expect(again).toHaveLength(2);
    expect(again[1]!.id).not.toBe(incident!.id);
    expect((await runGuard(guard())).reason).toContain(`${again[1]!.id} api-gateway 5xx rate above 5% (again) [triggered]`);
  });

  test('incidents opened and resolved through the REST API', async () => {
    const serviceId = pd.serviceIdFor(pd.routingKey('api-gateway'));
    const created = await pd.rest('POST', '/incidents', {
      incident: { type: 'incident', title: 'Chaos recovery took > 300 s', service: { id: serviceId, type: 'service_reference' }, urgency: 'high' },
    });
    expect(created.status).toBe(201);
    expect(created.body.incident).toMatchObject({
      type: 'incident',
      status: 'triggered',
      title: 'Chaos recovery took > 300 s',
      service: { id: serviceId, type: 'service_reference' },
    });
    const id = created.body.incident.id as string;

    const blocked = await runGuard(guard({ serviceIds: [serviceId] }));
    expect(blocked.passed).toBe(false);
    expect(blocked.reason).toContain(`${id} Chaos recovery took > 300 s [triggered]`);

    const resolved = await pd.rest('PUT', `/incidents/${id}`, { incident: { type: 'incident', status: 'resolved' } });
    expect(resolved.status).toBe(200);
    expect(resolved.body.incident).toMatchObject({ id, status: 'resolved' });
    expect((await runGuard(guard({ serviceIds: [serviceId] }))).passed).toBe(true);

    // A custom statuses list is honoured: asking for resolved incidents finds this one.
    const resolvedOnly = await runGuard(guard({ statuses: ['resolved'] }));
    expect(resolvedOnly.passed).toBe(false);
    expect(resolvedOnly.reason).toContain(`${id} Chaos recovery took > 300 s [resolved]`);

    // The REST API requires a From header for writes, like PagerDuty's.
    const noFrom = await fetch(`${pd.url}/incidents`, {
      method: 'POST',
      headers: { Authorization: `Token token=${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ incident: { type: 'incident', title: 'x', service: { id: serviceId, type: 'service_reference' } } }),
    });
    expect(noFrom.status).toBe(400);
  });

  test('a wrong or missing token fails closed with a clear reason', async () => {
    await trigger('api-gateway', 'k1', 'something is on fire');
    process.env.TEMPEST_TEST_PD_WRONG = 'not-the-token';
    for (const tokenRef of [{ env: 'TEMPEST_TEST_PD_WRONG' }, undefined]) {
      const out = await runGuard(guard({ tokenRef }));
      expect(out.passed).toBe(false);
      expect(out.reason).toBe(`could not evaluate: PagerDuty ${pd.url} answered 401`);
    }
    const raw = await pd.rest('GET', '/incidents', undefined, { token: 'not-the-token' });
    expect(raw).toEqual({ status: 401, body: { error: { message: 'Unauthorized', code: 2006 } } });
  });

  test('an unreachable PagerDuty fails closed', async () => {
    const port = await freePort();
    const out = await runGuard(guard({ apiUrl: `http://127.0.0.1:${port}` }));
    expect(out.passed).toBe(false);
    expect(out.reason).toMatch(/^could not evaluate: /);
  });

  test('serviceIds filters: an incident on another service does not block', async () => {
    const gateway = pd.serviceIdFor(pd.routingKey('api-gateway'));
    const ml = pd.serviceIdFor(pd.routingKey('ml-pipeline'));
    expect(gateway).not.toBe(ml);
    await trigger('ml-pipeline', 'gpu-oom', 'ml-pipeline GPU OOM');

    expect(await runGuard(guard({ serviceIds: [gateway] }))).toMatchObject({ passed: true, reason: 'no active incidents' });
    const mlOut = await runGuard(guard({ serviceIds: [ml] }));
    expect(mlOut.passed).toBe(false);
    expect(mlOut.reason).toContain('ml-pipeline GPU OOM [triggered]');
    expect((await runGuard(guard({ serviceIds: [gateway, ml] }))).passed).toBe(false);
    expect((await runGuard(guard())).passed).toBe(false); // no filter: every service
  });

  test('an incident opened 40 days ago and still open blocks the guard (PagerDuty lists 30 days by default)', async () => {
    await trigger('api-gateway', 'old', 'long-running degradation');
    const [old] = pd.state().incidents;
    const backdated = await fetch(`${pd.url}/__incidents/${old!.id}`, {
      method: 'PATCH',
      body: JSON.stringify({ created_at: new Date(Date.now() - 40 * 86_400_000).toISOString() }),
    });
    expect(backdated.status).toBe(200);
    // Like PagerDuty, the default listing (last 30 days) does not show it...
    expect((await pd.rest('GET', '/incidents?statuses[]=triggered')).body.incidents).toEqual([]);
    // ...but the guard asks for date_range=all and sees it.
    const out = await runGuard(guard());
    expect(out.passed).toBe(false);
    expect(out.reason).toContain(`${old!.id} long-running degradation [triggered]`);
  });

  test('invalid Events API v2 events get 400 with the errors, and open nothing', async () => {
    const bad = await pd.event({ routing_key: 'too-short', event_action: 'trigger', payload: { summary: 'x', source: 'y', severity: 'fatal' } });
    expect(bad.status).toBe(400);
    expect(bad.body.status).toBe('invalid event');
    expect(bad.body.message).toBe('Event object is invalid');
    expect(bad.body.errors).toEqual([
      "Length of 'routing_key' is incorrect (should be 32 characters)",
      "'payload.severity' is invalid (must be one of the following: 'critical', 'warning', 'error' or 'info')",
    ]);
    const noPayload = await pd.event({ routing_key: pd.routingKey('api-gateway'), event_action: 'trigger' });
    expect(noPayload.status).toBe(400);
    expect(noPayload.body.errors).toEqual(["'payload' is missing or blank"]);
    const resolveWithoutKey = await pd.event({ routing_key: pd.routingKey('api-gateway'), event_action: 'resolve' });
    expect(resolveWithoutKey.status).toBe(400);
    expect(resolveWithoutKey.body.errors).toEqual(["'dedup_key' is missing or blank"]);
    const notJson = await pd.event('{"routing_key": ');
    expect(notJson.status).toBe(400);

    expect(pd.state().incidents).toEqual([]);
    expect((await runGuard(guard())).passed).toBe(true);

    // A trigger without dedup_key gets one generated and answered.
    const generated = await pd.event({
      routing_key: pd.routingKey('api-gateway'),
      event_action: 'trigger',
      payload: { summary: 's', source: 'src', severity: 'warning' },
    });
    expect(generated.status).toBe(202);
    expect(generated.body.dedup_key).toMatch(/^[0-9a-f]{32}$/);
    expect(pd.state().incidents[0]).toMatchObject({ incident_key: generated.body.dedup_key, urgency: 'low' });
  });
});

// ---------------------------------------------------------------- freeze
describe('freeze guard', () => {
  let dir: string;
  let srv: Awaited<ReturnType<typeof startHttp>>;
  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tempest-freeze-'));
    srv = await startHttp(json(200, { frozen: false }));
  });
  afterAll(async () => {
    await srv.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('by file: absent passes, present fails with the reason written in it', async () => {
    const file = path.join(dir, 'deployment-freeze');
    const g: GuardSpec = { type: 'freeze', name: 'deployment-freeze', file };
    expect(await runGuard(g)).toMatchObject({ passed: true, reason: 'no deployment freeze' });

    fs.writeFileSync(file, 'release 2.4 code freeze until Monday\n');
    expect(await runGuard(g)).toMatchObject({ passed: false, reason: `deployment freeze flag ${file} is present: release 2.4 code freeze until Monday` });

    fs.writeFileSync(file, '');
    expect(await runGuard(g)).toMatchObject({ passed: false, reason: `deployment freeze flag ${file} is present` });

    fs.rmSync(file);
    expect((await runGuard(g)).passed).toBe(true);
  });

  test('by URL: {frozen:false} passes, {frozen:true, reason} fails with the reason', async () => {
    const g: GuardSpec = { type: 'freeze', name: 'deployment-freeze', url: `${srv.url}/freeze` };
    srv.set(json(200, { frozen: false }));
    expect(await runGuard(g)).toMatchObject({ passed: true, reason: 'no deployment freeze' });

    srv.set(json(200, { frozen: true, reason: 'Black Friday' }));
    expect(await runGuard(g)).toMatchObject({ passed: false, reason: 'deployment freeze active: Black Friday' });

    srv.set(json(200, { frozen: true }));
    expect(await runGuard(g)).toMatchObject({ passed: false, reason: 'deployment freeze active' });
  });

  test('by URL: an error status, an answer without a boolean "frozen" and a refused connection fail closed', async () => {
    const g: GuardSpec = { type: 'freeze', name: 'deployment-freeze', url: `${srv.url}/freeze` };
    srv.set(json(500, { error: 'boom' }));
    expect(await runGuard(g)).toMatchObject({ passed: false, reason: `could not evaluate: freeze status ${srv.url}/freeze answered 500` });

    srv.set(json(200, { frozen: 'no' }));
    expect(await runGuard(g)).toMatchObject({ passed: false, reason: `could not evaluate: freeze status ${srv.url}/freeze has no boolean "frozen"` });

    const port = await freePort();
    const refused = await runGuard({ type: 'freeze', name: 'deployment-freeze', url: `http://127.0.0.1:${port}/freeze` });
    expect(refused.passed).toBe(false);
    expect(refused.reason).toMatch(/^could not evaluate: /);
  });

  test('file and URL together: the file wins, else the URL decides', async () => {
    const file = path.join(dir, 'both');
    const g: GuardSpec = { type: 'freeze', name: 'deployment-freeze', file, url: `${srv.url}/freeze` };
    srv.set(json(200, { frozen: true, reason: 'from url' }));
    expect(await runGuard(g)).toMatchObject({ passed: false, reason: 'deployment freeze active: from url' });
    fs.writeFileSync(file, 'from file');
    expect((await runGuard(g)).reason).toBe(`deployment freeze flag ${file} is present: from file`);
  });
});

// ---------------------------------------------------------------- prometheus
const availability = await ensurePrometheus();
const describePrometheus = describeWithPrometheus(availability);

describePrometheus('prometheus guard (real Prometheus scraping a real fleet)', () => {
  const JOB = 'api-gateway';
  let fleet: TestFleet | undefined;
  let prom: PrometheusHandle | undefined;

  beforeAll(async () => {
    if (!availability.ok) return;
    fleet = await startFleet({ name: JOB, replicas: 3 });
    prom = await startPrometheus({ bin: availability.bin, targets: fleet.targets, job: JOB });
    await prom.waitForTargetsUp(30_000);
  }, 90_000);

  afterAll(async () => {
    await prom?.stop();
    await fleet?.stop();
  }, 60_000);

  // The seed's _check_system_health: up{job='api-gateway'}, fails when below 1.
  const health = (): GuardSpec => ({
    type: 'prometheus',
    name: 'system-health',
    endpoint: prom!.url,
    query: "up{job='api-gateway'}",
    criteria: '>=',
    value: '1',
  });

  test('empty results fail by default and pass with onEmpty: pass', async () => {
    const query = "up{job='no-such-job'}";
    const base = { type: 'prometheus', name: 'error-budget', endpoint: prom!.url, query, criteria: '>=', value: '0.1' } as const;
    expect(await runGuard(base)).toMatchObject({ passed: false, reason: `query returned no samples: ${query}` });
    expect(await runGuard({ ...base, onEmpty: 'fail' })).toMatchObject({ passed: false });
    expect(await runGuard({ ...base, onEmpty: 'pass' })).toMatchObject({ passed: true, reason: `query returned no samples: ${query} (onEmpty: pass)` });
  });

  test('a query Prometheus rejects, and an unreachable Prometheus, fail closed', async () => {
    const bad = await runGuard({ ...health(), query: 'up{job=' } as GuardSpec);
    expect(bad.passed).toBe(false);
    expect(bad.reason).toMatch(/^could not evaluate: Prometheus at .* answered 400: .*parse error/);

    const port = await freePort();
    const unreachable = await runGuard({ ...health(), endpoint: `http://127.0.0.1:${port}` } as GuardSpec);
    expect(unreachable.passed).toBe(false);
    expect(unreachable.reason).toMatch(/^could not evaluate: /);
  });

  test("the seed's up{job='api-gateway'} >= 1 passes while the fleet is up, and fails once Prometheus sees it stopped", async () => {
    const up = await runGuard(health());
    expect(up).toMatchObject({ name: 'system-health', type: 'prometheus', passed: true, observed: '1' });
    expect(up.reason).toBe("up{job='api-gateway'} 1 is >= 1");

    // The whole fleet goes away; within a few 1 s scrapes every target reports up == 0.
    await fleet!.stop();
    await prom!.waitForTargetsDown(30_000);
    const down = await runGuard(health());
    expect(down).toMatchObject({ passed: false, observed: '0' });
    expect(down.reason).toBe("up{job='api-gateway'} 0 is not >= 1");
  }, 60_000);
});
