/**
 * What a probe may reach, by address: config/policy.ts classifies IP literals (IPv6 forms that carry an IPv4
 * address judged by that address) and names (metadata names, localhost), refuses link-local / metadata always
 * and loopback unless probes.allowLoopback; activities/probes/request.ts checks the addresses a NAME resolves to
 * at connect time, so a DNS name for 127.0.0.1 or 169.254.169.254 is refused too. Real requests to a real
 * local server (test/unit/policy.test.ts has the basic URL cases: 169.254.169.254, fe80::1, credentials).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { lookup } from 'node:dns/promises';
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { MockActivityEnvironment } from '@temporalio/testing';
import { addressClass, addressRefusal, defaultPolicy, hostRefusal, resolvedAddressRefusal, type Policy } from '../../config/policy.js';
import { createProbeActivities, type ProbeContext, type ProbeOutcome } from '../../activities/probes/index.js';
import { request } from '../../activities/probes/request.js';
import type { HttpProbeInputs, ProbeSpec, PromProbeInputs, RunProperties } from '../../config/spec.js';

const SOURCE = '/etc/tempest.yaml';
const base = defaultPolicy(SOURCE);
const withProbes = (probes: Partial<Policy['probes']>): Policy => ({ ...base, probes: { ...base.probes, ...probes } });
const loopbackOn = withProbes({ allowLoopback: true });

const METADATA = /is a link-local \/ metadata address \(list it in probes\.allowHosts of \/etc\/tempest\.yaml to allow it\)$/;
const LOOPBACK = /is the worker's own host \(loopback\): set probes\.allowLoopback in \/etc\/tempest\.yaml, or list it in probes\.allowHosts$/;

// ---------------------------------------------------------------- link-local and metadata, every spelling

describe('link-local and metadata addresses are refused in every spelling', () => {
  test.each<[string, string]>([
    // IPv4-mapped, dotted and hex, bracketed in a URL (the URL parser turns the dotted tail into hex)
    ['http://[::ffff:169.254.169.254]/latest/meta-data/', '::ffff:a9fe:a9fe'],
    ['http://[::ffff:a9fe:a9fe]/', '::ffff:a9fe:a9fe'],
    ['http://[0:0:0:0:0:ffff:a9fe:a9fe]/', '::ffff:a9fe:a9fe'],
    ['http://[::FFFF:A9FE:A9FE]/', '::ffff:a9fe:a9fe'],
    // IPv4-compatible (deprecated) and NAT64 well-known prefix
    ['http://[::169.254.169.254]/', '::a9fe:a9fe'],
    ['http://[64:ff9b::a9fe:a9fe]/', '64:ff9b::a9fe:a9fe'],
    ['http://[64:ff9b::169.254.169.254]/', '64:ff9b::a9fe:a9fe'],
    // fe80::/10, the whole prefix (not just fe80:)
    ['http://[febf:ffff::1]/', 'febf:ffff::1'],
    // metadata names: a trailing dot (the absolute form of the name) changes nothing; more clouds' names
    ['http://METADATA.google.internal./', 'metadata.google.internal'],
    ['http://metadata.google.internal./computeMetadata/v1/', 'metadata.google.internal'],
    ['http://metadata.goog/', 'metadata.goog'],
    ['http://instance-data.ec2.internal/', 'instance-data.ec2.internal'],
    ['http://metadata.azure.com/', 'metadata.azure.com'],
  ])('%s is refused as %s', (url, host) => {
    const why = hostRefusal(base, url);
    expect(why).toMatch(METADATA);
    expect(why).toContain(`host ${host} is`);
    // allowLoopback opens the worker's own host, never the metadata endpoint
    expect(hostRefusal(loopbackOn, url)).toMatch(METADATA);
  });

  test('decimal, hex, octal and short IPv4 forms: the URL parser normalizes them to 169.254.169.254, which is refused', () => {
    for (const url of [
      'http://2852039166/',
      'http://0xa9fea9fe/',
      'http://0251.0376.0251.0376/',
      'http://0xA9.0xFE.0xA9.0xFE/',
      'http://169.254.43518/',
      'http://169.16689662/',
    ]) {
      expect(new URL(url).hostname).toBe('169.254.169.254');
      expect(hostRefusal(base, url)).toBe(`host 169.254.169.254 is a link-local / metadata address (list it in probes.allowHosts of ${SOURCE} to allow it)`);
    }
    // ... and IPv6 forms carrying them (bracketed, as a URL has them)
    expect(hostRefusal(base, 'http://[::ffff:169.254.169.254]:80/')).toMatch(METADATA);
  });

  test('addressClass: IP literals only, IPv6 forms that carry an IPv4 address judged by that address', () => {
    const cases: Array<[string, ReturnType<typeof addressClass>]> = [
      ['169.254.169.254', 'link-local'],
      ['[::ffff:169.254.169.254]', 'link-local'],
      ['::ffff:169.254.169.254', 'link-local'],
      ['::ffff:a9fe:a9fe', 'link-local'],
      ['::169.254.169.254', 'link-local'],
      ['64:ff9b::a9fe:a9fe', 'link-local'],
      ['fe80::1', 'link-local'],
      ['fe80::1%eth0', 'link-local'], // a zone id (as a resolver may return one)
      ['fd00:ec2::254', 'metadata'],
      ['100.100.100.200', 'metadata'],
      ['127.0.0.1', 'loopback'],
      ['127.255.255.254', 'loopback'],
      ['::1', 'loopback'],
      ['::ffff:127.0.0.1', 'loopback'],
      ['::ffff:7f00:1', 'loopback'],
      ['64:ff9b::7f00:1', 'loopback'],
      ['0.0.0.0', 'unspecified'],
      ['::', 'unspecified'],
      ['8.8.8.8', 'other'],
      ['169.255.0.1', 'other'],
      ['126.255.255.255', 'other'],
      ['128.0.0.1', 'other'],
      ['::ffff:8.8.8.8', 'other'],
      ['2001:4860:4860::8888', 'other'],
      ['fec0::1', 'other'], // just past fe80::/10
      ['::ffff:0:169.254.169.254', 'link-local'], // IPv4-translated
      ['::ffff:0:7f00:1', 'loopback'],
      ['64:ff9b:1::a9fe:a9fe', 'link-local'], // local-use NAT64
      ['2002:a9fe:a9fe::', 'link-local'], // 6to4
      ['2002:7f00:1::1', 'loopback'],
      ['2002:808:808::1', 'other'],
      ['2001:0:4136:e378:8000:63bf:5601:5601', 'link-local'], // Teredo, client 169.254.169.254 obfuscated (xor ffff)
      ['2001:0:808:808::', 'other'],
      ['2852039166', 'link-local'], // bare numeric forms, as a resolver never returns them but a caller might pass
      ['0xa9fea9fe', 'link-local'],
      ['169.254.43518', 'link-local'],
      ['0x7f.1', 'loopback'],
      ['localhost', undefined],
      ['metadata.google.internal', undefined],
      ['256.1.1.1', undefined],
      ['1:2:3:4:5:6:7:8:9', undefined],
      ['1::2::3', undefined],
    ];
    for (const [h, want] of cases) expect([h, addressClass(h)]).toEqual([h, want]);
  });

  test('addressRefusal on a bare host (as the resolver hands it over): trailing dot, brackets and case do not matter', () => {
    for (const h of [
      '169.254.169.254',
      '[::ffff:169.254.169.254]',
      '::FFFF:A9FE:A9FE',
      'metadata.google.internal.',
      'metadata.google.internal..',
      'Metadata.Google.Internal',
      'instance-data',
      '2852039166',
    ]) {
      expect([h, addressRefusal(base, h)]).toEqual([h, expect.stringMatching(METADATA)]);
    }
  });
});

// ---------------------------------------------------------------- loopback

describe('loopback is refused unless probes.allowLoopback', () => {
  test.each<[string, string]>([
    ['http://127.0.0.1:9090/', '127.0.0.1'],
    ['http://127.1.2.3/', '127.1.2.3'],
    ['http://127.1/', '127.0.0.1'],
    ['http://2130706433/', '127.0.0.1'],
    ['http://0x7f000001/', '127.0.0.1'],
    ['http://[::1]:8080/', '::1'],
    ['http://[0:0:0:0:0:0:0:1]/', '::1'],
    ['http://[::ffff:127.0.0.1]/', '::ffff:7f00:1'],
    ['http://[::127.0.0.1]/', '::7f00:1'],
    ['http://localhost:4000/health', 'localhost'],
    ['http://localhost./', 'localhost'],
    ['http://LocalHost/', 'localhost'],
    ['http://api.localhost/', 'api.localhost'],
    ['http://0.0.0.0/', '0.0.0.0'],
    ['http://0/', '0.0.0.0'],
    ['http://[::]/', '::'],
  ])('%s', (url, host) => {
    const why = hostRefusal(base, url);
    expect(why).toMatch(LOOPBACK);
    expect(why).toContain(`host ${host} is`);
    expect(hostRefusal(loopbackOn, url)).toBeNull();
  });

  test('ordinary public (and private) addresses and names pass with the default policy: IP literals classed "other"', () => {
    for (const url of ['http://example.com/', 'https://api.example.com:8443/x', 'http://api-gateway.footanalytics.svc.cluster.local:4000/health']) {
      expect([url, hostRefusal(base, url), addressClass(new URL(url).hostname)]).toEqual([url, null, undefined]);
    }
    for (const url of [
      'http://8.8.8.8/',
      'http://[2001:4860:4860::8888]/',
      'http://[::ffff:8.8.8.8]/',
      'http://10.0.0.5:9090/',
      'http://169.255.0.1/',
      'http://128.0.0.1/',
      'http://126.255.255.255/',
    ]) {
      expect([url, hostRefusal(base, url), addressClass(new URL(url).hostname)]).toEqual([url, null, 'other']);
    }
  });

  test('probes.allowHosts still decides alone when given: listed hosts pass (loopback and IPv6 too), others are refused', () => {
    const p = withProbes({ allowHosts: ['localhost:4000', '[::1]:8080', '127.0.0.1', 'Prometheus.Monitoring:9090'] });
    expect(hostRefusal(p, 'http://localhost:4000/health')).toBeNull();
    expect(hostRefusal(p, 'http://localhost.:4000/health')).toBeNull();
    expect(hostRefusal(p, 'http://[::1]:8080/')).toBeNull();
    expect(hostRefusal(p, 'http://127.0.0.1:1234/')).toBeNull();
    expect(hostRefusal(p, 'http://prometheus.monitoring:9090/api/v1/query')).toBeNull();
    expect(hostRefusal(p, 'http://localhost:4001/')).toBe(`host localhost:4001 is not in probes.allowHosts of ${SOURCE}`);
    expect(hostRefusal(p, 'http://[::1]:8081/')).toContain(`is not in probes.allowHosts of ${SOURCE}`);
    expect(hostRefusal(p, 'http://example.com/')).toBe(`host example.com is not in probes.allowHosts of ${SOURCE}`);
    expect(hostRefusal(p, 'http://[::ffff:169.254.169.254]/')).toContain('is not in probes.allowHosts');
  });
});

// ---------------------------------------------------------------- at connect time

describe('resolvedAddressRefusal: a name is judged by the address it resolves to', () => {
  test('an unlisted name that resolves to a metadata, link-local or loopback address is refused, naming the address', () => {
    expect(resolvedAddressRefusal(base, 'innocent.example.com', '169.254.169.254')).toMatch(/^host 169\.254\.169\.254 is a link-local/);
    expect(resolvedAddressRefusal(base, 'innocent.example.com', '::ffff:169.254.169.254')).toMatch(METADATA);
    expect(resolvedAddressRefusal(base, 'innocent.example.com', 'fe80::1%eth0')).toMatch(METADATA);
    expect(resolvedAddressRefusal(base, 'innocent.example.com', '127.0.0.1')).toMatch(/^host 127\.0\.0\.1 is the worker's own host/);
    expect(resolvedAddressRefusal(base, 'innocent.example.com', '::1')).toMatch(LOOPBACK);
    expect(resolvedAddressRefusal(loopbackOn, 'innocent.example.com', '127.0.0.1')).toBeNull();
    expect(resolvedAddressRefusal(loopbackOn, 'innocent.example.com', '169.254.169.254')).toMatch(METADATA);
    expect(resolvedAddressRefusal(base, 'innocent.example.com', '93.184.215.14')).toBeNull();
  });

  test('a name the operator lists (as host or as host:port) is trusted wherever it resolves; an unlisted one is not', () => {
    const p = withProbes({ allowHosts: ['metadata-proxy', 'prometheus.monitoring:9090'] });
    expect(resolvedAddressRefusal(p, 'metadata-proxy', '169.254.169.254')).toBeNull();
    expect(resolvedAddressRefusal(p, 'prometheus.monitoring', '10.0.0.7')).toBeNull();
    expect(resolvedAddressRefusal(p, 'prometheus.monitoring', '127.0.0.1')).toBeNull();
    expect(resolvedAddressRefusal(p, 'other', '10.0.0.7')).toBe(`host 10.0.0.7 is not in probes.allowHosts of ${SOURCE}`);
  });
});

// ---------------------------------------------------------------- real requests

/** A name other than localhost (not refused by its spelling) that resolves, offline, to loopback only: /etc/hosts. */
async function loopbackName(): Promise<string | undefined> {
  const names = [hostname()];
  try {
    for (const line of readFileSync('/etc/hosts', 'utf8').split('\n')) {
      const [ip, ...rest] = line.replace(/#.*/, '').trim().split(/\s+/);
      if (ip && (/^127\./.test(ip) || ip === '::1')) names.push(...rest);
    }
  } catch {
    /* no /etc/hosts */
  }
  for (const n of names) {
    if (!n || !/^[A-Za-z0-9.-]+$/.test(n) || hostRefusal(base, `http://${n}/`) !== null) continue;
    const addrs = await lookup(n, { all: true }).catch(() => []);
    if (addrs.length && addrs.every((a) => addressClass(a.address) === 'loopback')) return n;
  }
  return undefined;
}
const LOOPBACK_NAME = await loopbackName();
// No such name is a failure, never a skip: these tests are what proves the connect-time check.
const withLoopbackName = (name: string, fn: () => Promise<void>) =>
  test(name, async () => {
    if (!LOOPBACK_NAME)
      throw new Error('no name in /etc/hosts (other than localhost) resolves to loopback only: the connect-time DNS check cannot be tested here');
    await fn();
  });

let hits = 0;
let server: http.Server;
let port: number;
beforeAll(async () => {
  server = http.createServer((req, res) => {
    hits++;
    if (req.url?.startsWith('/redirect')) return res.writeHead(302, { location: new URL(req.url, 'http://x').searchParams.get('to') ?? '/ok' }).end();
    if (req.url?.startsWith('/api/v1/query')) {
      return res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ status: 'success', data: { resultType: 'vector', result: [{ metric: {}, value: [1700000000, '0.1'] }] } }));
    }
    res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
  });
  // IPv4 loopback only: what the names here resolve to
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  port = (server.address() as AddressInfo).port;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

const rp: RunProperties = { probeTimeoutMs: 3000, intervalMs: 10, attempts: 1, pollingIntervalMs: 1000, initialDelayMs: 0, stopOnFailure: false };
const httpProbe = (url: string, over: Partial<HttpProbeInputs> = {}): ProbeSpec => ({
  name: 'addr-check',
  type: 'httpProbe',
  mode: 'SOT',
  runProperties: rp,
  http: { method: 'GET', url, headers: {}, insecureSkipTLS: false, responseCode: { criteria: '==', value: '200' }, ...over },
});
const promProbe = (endpoint: string, over: Partial<PromProbeInputs> = {}): ProbeSpec => ({
  name: 'addr-prom',
  type: 'promProbe',
  mode: 'SOT',
  runProperties: rp,
  prom: { endpoint, query: 'up', comparator: { criteria: '<', value: '0.5' }, ...over },
});
const CTX: ProbeContext = { runId: 'run-addr', phase: 'SOT', iteration: 0 };
const run = (probe: ProbeSpec, policy: Policy): Promise<ProbeOutcome> =>
  new MockActivityEnvironment().run(createProbeActivities({ policy }).runProbe, probe, CTX);

describe('the http probe checks what a name resolves to, at connect time', () => {
  withLoopbackName('a name that resolves to 127.0.0.1 is refused with allowLoopback off (the reason names the address); passes with it on', async () => {
    const name = LOOPBACK_NAME!;
    const url = `http://${name}:${port}/ok`;
    expect(hostRefusal(base, url)).toBeNull(); // nothing in the name's spelling gives it away
    const before = hits;
    const off = await run(httpProbe(url), base);
    expect(off).toMatchObject({ status: 'Failed', failureKind: 'error' });
    expect(off.reason).toContain(`${name} resolves to 127.0.0.1: host 127.0.0.1 is the worker's own host (loopback)`);
    expect(hits).toBe(before); // refused before connecting: the server never saw it
    const on = await run(httpProbe(url), loopbackOn);
    expect(on).toMatchObject({ status: 'Passed' });
    expect(hits).toBe(before + 1);
  });

  withLoopbackName('the prom probe too', async () => {
    const name = LOOPBACK_NAME!;
    const before = hits;
    const off = await run(promProbe(`http://${name}:${port}`), base);
    expect(off).toMatchObject({ status: 'Failed', failureKind: 'error' });
    expect(off.reason).toContain(`${name} resolves to 127.0.0.1: host 127.0.0.1 is the worker's own host (loopback)`);
    expect(hits).toBe(before);
    expect(await run(promProbe(`http://${name}:${port}`), loopbackOn)).toMatchObject({ status: 'Passed' });
  });

  withLoopbackName('a name listed in probes.allowHosts is reached wherever it resolves, listed as host or as host:port', async () => {
    const name = LOOPBACK_NAME!;
    for (const allowHosts of [[name], [`${name}:${port}`], ['elsewhere:1', `${name.toUpperCase()}:${port}`]]) {
      const r = await run(httpProbe(`http://${name}:${port}/ok`), withProbes({ allowHosts }));
      expect([allowHosts, r.status, r.reason]).toEqual([allowHosts, 'Passed', expect.any(String)]);
    }
  });

  withLoopbackName("request(): a followed redirect to a name is checked at that hop's connect too", async () => {
    const name = LOOPBACK_NAME!;
    const before = hits;
    const err = await request({
      method: 'GET',
      // a literal IP first (nothing to resolve), then a hop to the name
      url: `http://127.0.0.1:${port}/redirect?to=${encodeURIComponent(`http://${name}:${port}/ok`)}`,
      timeoutMs: 3000,
      signal: new AbortController().signal,
      followRedirects: true,
      allowUrl: () => null, // only the connect-time check
      allowAddress: (h, ip) => resolvedAddressRefusal(base, h, ip),
    }).then(
      () => undefined,
      (e: Error) => e,
    );
    expect(err?.message).toContain(`${name} resolves to 127.0.0.1: host 127.0.0.1 is the worker's own host (loopback)`);
    expect(hits).toBe(before + 1); // the redirect was answered, the hop never connected
  });

  test('request(): with allowAddress, localhost is refused at connect time naming the address it resolved to', async () => {
    const before = hits;
    const err = await request({
      method: 'GET',
      url: `http://localhost:${port}/ok`,
      timeoutMs: 3000,
      signal: new AbortController().signal,
      // no URL check here: only the connect-time one
      allowAddress: (h, ip) => resolvedAddressRefusal(base, h, ip),
    }).then(
      () => undefined,
      (e: Error) => e,
    );
    expect(err?.message).toMatch(/^localhost resolves to (127\.0\.0\.1|::1): host (127\.0\.0\.1|::1) is the worker's own host \(loopback\)/);
    expect(hits).toBe(before);
    const ok = await request({
      method: 'GET',
      url: `http://localhost:${port}/ok`,
      timeoutMs: 3000,
      signal: new AbortController().signal,
      allowAddress: (h, ip) => resolvedAddressRefusal(loopbackOn, h, ip),
    });
    expect(ok).toMatchObject({ status: 200, body: 'ok' });
  });

  test('a literal IP URL is checked too (no name to resolve): 127.0.0.1 and its IPv4-mapped form', async () => {
    const before = hits;
    for (const host of ['127.0.0.1', '[::ffff:127.0.0.1]', '2130706433']) {
      const off = await run(httpProbe(`http://${host}:${port}/ok`), base);
      expect(off).toMatchObject({ status: 'Failed', failureKind: 'error' });
      expect(off.reason).toMatch(/refused by the worker's policy: host (127\.0\.0\.1|::ffff:7f00:1) is the worker's own host \(loopback\)/);
    }
    expect(hits).toBe(before);
    // with allowLoopback, each of them really reaches the server on 127.0.0.1
    for (const host of ['127.0.0.1', '[::ffff:127.0.0.1]', '2130706433']) {
      expect([host, (await run(httpProbe(`http://${host}:${port}/ok`), loopbackOn)).status]).toEqual([host, 'Passed']);
    }
    expect(hits).toBe(before + 3);
  });
});
