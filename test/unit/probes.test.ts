/**
 * runProbe against real local servers and real /bin/sh commands (no mocks of axios/http), inside
 * MockActivityEnvironment so heartbeats and cancellation go through the real activity Context.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync, existsSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CancelledFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { KubeConfig } from '@kubernetes/client-node';
import { createProbeActivities, type ProbeContext, type ProbeDeps, type ProbeOutcome } from '../../activities/probes/index.js';
import type { CmdProbeInputs, HttpProbeInputs, K8sProbeInputs, PromProbeInputs, ProbeSpec, RunProperties } from '../../config/spec.js';

// ---------------------------------------------------------------- helpers

const ctx: ProbeContext = { runId: 'run-1', phase: 'Continuous', iteration: 7 };

function rp(over: Partial<RunProperties> = {}): RunProperties {
  return { probeTimeoutMs: 2000, intervalMs: 10, attempts: 1, pollingIntervalMs: 1000, initialDelayMs: 0, stopOnFailure: false, ...over };
}

function httpProbe(inputs: Partial<HttpProbeInputs> & { url: string }, run: Partial<RunProperties> = {}): ProbeSpec {
  return {
    name: 'http-check',
    type: 'httpProbe',
    mode: 'Continuous',
    runProperties: rp(run),
    http: { method: 'GET', headers: {}, insecureSkipTLS: false, responseCode: { criteria: '==', value: '200' }, ...inputs },
  };
}

function promProbe(inputs: Partial<PromProbeInputs> & { query: string }, run: Partial<RunProperties> = {}): ProbeSpec {
  return {
    name: 'prom-check',
    type: 'promProbe',
    mode: 'Continuous',
    runProperties: rp(run),
    prom: { endpoint: promBase, comparator: { criteria: '<', value: '0.5' }, ...inputs },
  };
}

function cmdProbe(inputs: Partial<CmdProbeInputs> & { command: string }, run: Partial<RunProperties> = {}): ProbeSpec {
  return {
    name: 'cmd-check',
    type: 'cmdProbe',
    mode: 'SOT',
    runProperties: rp(run),
    cmd: { comparator: { type: 'string', criteria: 'contains', value: 'hello' }, ...inputs },
  };
}

function k8sProbe(inputs: Partial<K8sProbeInputs>, run: Partial<RunProperties> = {}): ProbeSpec {
  return {
    name: 'k8s-check',
    type: 'k8sProbe',
    mode: 'EOT',
    runProperties: rp(run),
    k8s: { group: 'apps', version: 'v1', resource: 'deployments', namespace: 'shop', operation: 'present', ...inputs },
  };
}

async function run(probe: ProbeSpec, deps: ProbeDeps = {}, env = new MockActivityEnvironment()): Promise<ProbeOutcome> {
  return env.run(createProbeActivities(deps).runProbe, probe, ctx);
}

function listen(server: http.Server | https.Server): Promise<number> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));
}

function close(server: http.Server | https.Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}

// ---------------------------------------------------------------- the HTTP test server

interface Seen {
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}
const seen: Seen[] = [];
const hitCount = new Map<string, number>();
const hits = (key: string) => hitCount.get(key) ?? 0;

function app(req: http.IncomingMessage, res: http.ServerResponse) {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const u = new URL(req.url ?? '/', 'http://x');
    const key = `${u.pathname}${u.searchParams.get('key') ? `?key=${u.searchParams.get('key')}` : ''}`;
    hitCount.set(key, hits(key) + 1);
    seen.push({ method: req.method ?? '', path: u.pathname + u.search, headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
    switch (u.pathname) {
      case '/ok':
        return res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
      case '/status':
        return res.writeHead(Number(u.searchParams.get('code') ?? 500)).end('status');
      case '/flaky': // 503 twice, then 200
        return res.writeHead(hits(key) < 3 ? 503 : 200).end(`hit ${hits(key)}`);
      case '/slow': {
        const timer = setTimeout(() => res.writeHead(200).end('slow ok'), Number(u.searchParams.get('ms') ?? 1000));
        res.on('close', () => clearTimeout(timer));
        return;
      }
      case '/body':
        return res.writeHead(200).end('status: healthy version=2.3.1');
      case '/echo':
        return res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ method: req.method }));
      case '/redirect': // to wherever ?to= says
        return res.writeHead(302, { location: u.searchParams.get('to') ?? '/ok' }).end();
      default:
        return res.writeHead(404).end('not found');
    }
  });
}

// ---------------------------------------------------------------- Prometheus-shaped server

let promAnswers: Record<string, { status?: number; body: unknown }> = {};
const promQueries: string[] = [];
let promHits = 0;

function promApp(req: http.IncomingMessage, res: http.ServerResponse) {
  const u = new URL(req.url ?? '/', 'http://x');
  if (!/^(\/prefix)?\/api\/v1\/query$/.test(u.pathname)) return res.writeHead(404).end('404 page not found');
  promHits += 1;
  const query = u.searchParams.get('query') ?? '';
  promQueries.push(query);
  const answer = promAnswers[query] ?? { status: 400, body: { status: 'error', errorType: 'bad_data', error: `unknown test query ${query}` } };
  res.writeHead(answer.status ?? 200, { 'content-type': 'application/json' }).end(JSON.stringify(answer.body));
}
const vector = (...values: string[]) => ({
  status: 'success',
  data: { resultType: 'vector', result: values.map((v, i) => ({ metric: { pod: `p${i}` }, value: [1700000000.1, v] })) },
});

// ---------------------------------------------------------------- fake kube-apiserver (just the list endpoints used)

const k8sRequests: string[] = [];
let k8sItems: unknown[] = [];
function kubeApp(req: http.IncomingMessage, res: http.ServerResponse) {
  const u = new URL(req.url ?? '/', 'http://x');
  k8sRequests.push(u.pathname + u.search);
  const json = (body: unknown) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  if (u.pathname === '/api/v1') {
    return json({
      kind: 'APIResourceList',
      groupVersion: 'v1',
      resources: [{ name: 'pods', singularName: 'pod', namespaced: true, kind: 'Pod', verbs: ['list'] }],
    });
  }
  if (u.pathname === '/apis/apps/v1') {
    return json({
      kind: 'APIResourceList',
      groupVersion: 'apps/v1',
      resources: [{ name: 'deployments', singularName: 'deployment', namespaced: true, kind: 'Deployment', verbs: ['list'] }],
    });
  }
  if (u.pathname === '/apis/apps/v1/namespaces/shop/deployments') return json({ kind: 'DeploymentList', apiVersion: 'apps/v1', metadata: {}, items: k8sItems });
  if (u.pathname === '/api/v1/namespaces/shop/pods') return json({ kind: 'PodList', apiVersion: 'v1', metadata: {}, items: k8sItems });
  res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ kind: 'Status', status: 'Failure', reason: 'NotFound', code: 404 }));
}

// ---------------------------------------------------------------- lifecycle

const hasOpenssl = spawnSync('openssl', ['version']).status === 0;
let server: http.Server;
let promServer: http.Server;
let kubeServer: http.Server;
let tlsServer: https.Server | undefined;
let base: string;
let promBase: string;
let kubeBase: string;
let tlsBase: string;
let tmp: string;

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'tempest-probes-'));
  server = http.createServer(app);
  base = `http://127.0.0.1:${await listen(server)}`;
  promServer = http.createServer(promApp);
  promBase = `http://127.0.0.1:${await listen(promServer)}`;
  kubeServer = http.createServer(kubeApp);
  kubeBase = `http://127.0.0.1:${await listen(kubeServer)}`;
  if (hasOpenssl) {
    const key = join(tmp, 'key.pem');
    const cert = join(tmp, 'cert.pem');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=localhost'], {
      stdio: 'ignore',
    });
    tlsServer = https.createServer({ key: readFileSync(key), cert: readFileSync(cert) }, app);
    tlsBase = `https://127.0.0.1:${await listen(tlsServer)}`;
  }
});

afterAll(async () => {
  await Promise.all([close(server), close(promServer), close(kubeServer), tlsServer ? close(tlsServer) : undefined]);
  rmSync(tmp, { recursive: true, force: true });
});

// ---------------------------------------------------------------- httpProbe

describe('httpProbe', () => {
  test('passes on 200 ==', async () => {
    const out = await run(httpProbe({ url: `${base}/ok` }));
    expect(out).toMatchObject({ name: 'http-check', type: 'httpProbe', mode: 'Continuous', phase: 'Continuous', iteration: 7, status: 'Passed', attempts: 1 });
    expect(out.failureKind).toBeUndefined();
    expect(out.reason).toBe('response code 200 is == 200');
    expect(out.observed).toMatch(new RegExp(`^GET ${base}/ok -> 200 in \\d+ms$`));
    expect(new Date(out.at).toISOString()).toBe(out.at);
  });

  test('code mismatch fails with criteria', async () => {
    const out = await run(httpProbe({ url: `${base}/status?code=503` }));
    expect(out).toMatchObject({ status: 'Failed', failureKind: 'criteria', reason: 'response code 503 is not == 200', attempts: 1 });
  });

  test('oneOf and != on the response code', async () => {
    expect((await run(httpProbe({ url: `${base}/status?code=204`, responseCode: { criteria: 'oneOf', value: '[200,204]' } }))).status).toBe('Passed');
    expect((await run(httpProbe({ url: `${base}/status?code=500`, responseCode: { criteria: '!=', value: '500' } }))).status).toBe('Failed');
  });

  test('retries and succeeds on the 3rd attempt', async () => {
    const out = await run(httpProbe({ url: `${base}/flaky?key=retry3` }, { attempts: 5, intervalMs: 50 }));
    expect(out).toMatchObject({ status: 'Passed', attempts: 3 });
    expect(hits('/flaky?key=retry3')).toBe(3);
  });

  test('all attempts fail: the last attempt decides, all were made', async () => {
    const out = await run(httpProbe({ url: `${base}/status?code=502&key=allfail` }, { attempts: 3, intervalMs: 20 }));
    expect(out).toMatchObject({ status: 'Failed', failureKind: 'criteria', attempts: 3 });
    expect(hits('/status?key=allfail')).toBe(3);
  });

  test('probeTimeout ends a slow attempt: Failed with failureKind error', async () => {
    const t0 = Date.now();
    const out = await run(httpProbe({ url: `${base}/slow?ms=5000` }, { probeTimeoutMs: 300 }));
    expect(out).toMatchObject({ status: 'Failed', failureKind: 'error', attempts: 1 });
    expect(out.reason).toMatch(/timed out after 300ms/);
    expect(out.observed).toBe(`GET ${base}/slow?ms=5000`);
    expect(Date.now() - t0).toBeLessThan(2000);
  });

  test('responseTimeout bounds the request below probeTimeout', async () => {
    const out = await run(httpProbe({ url: `${base}/slow?ms=5000`, responseTimeoutMs: 200 }, { probeTimeoutMs: 3000 }));
    expect(out).toMatchObject({ status: 'Failed', failureKind: 'error', reason: 'request timed out after 200ms' });
  });

  test('responseTime criterion (seed: criteria "<" + responseTimeout)', async () => {
    const slow = await run(httpProbe({ url: `${base}/slow?ms=300`, responseCode: undefined, responseTime: { criteria: '<', valueMs: 100 } }));
    expect(slow).toMatchObject({ status: 'Failed', failureKind: 'criteria' });
    expect(slow.reason).toMatch(/^response time \(ms\) \d+ is not < 100$/);
    const fast = await run(httpProbe({ url: `${base}/ok`, responseCode: undefined, responseTime: { criteria: '<', valueMs: 5000 }, responseTimeoutMs: 5000 }));
    expect(fast.status).toBe('Passed');
  });

  test('responseBody criterion, and all criteria must hold', async () => {
    const ok = await run(httpProbe({ url: `${base}/body`, responseBody: { criteria: 'contains', value: 'healthy' } }));
    expect(ok.status).toBe('Passed');
    expect(ok.reason).toBe('response code 200 is == 200; response body "status: healthy version=2.3.1" contains "healthy"');
    const bad = await run(httpProbe({ url: `${base}/body`, responseBody: { criteria: 'matches', value: 'version=3' } }));
    expect(bad).toMatchObject({
      status: 'Failed',
      failureKind: 'criteria',
      reason: 'response body "status: healthy version=2.3.1" does not match /version=3/',
    });
  });

  test('POST body, content type and headers arrive', async () => {
    const out = await run(
      httpProbe({
        url: `${base}/echo?key=post`,
        method: 'POST',
        body: '{"query": "{ health }"}',
        contentType: 'application/json',
        headers: { 'X-Tempest-Run': 'run-1', Authorization: 'Bearer abc' },
      }),
    );
    expect(out.status).toBe('Passed');
    const req = seen.filter((s) => s.path === '/echo?key=post').at(-1)!;
    expect(req.method).toBe('POST');
    expect(req.body).toBe('{"query": "{ health }"}');
    expect(req.headers['content-type']).toBe('application/json');
    expect(req.headers['x-tempest-run']).toBe('run-1');
    expect(req.headers.authorization).toBe('Bearer abc');
  });

  test("the worker's policy: bodyPath only inside probeBodyRoots (a symlink out of the root is refused)", async () => {
    const { defaultPolicy } = await import('../../config/policy.js');
    const root = join(tmp, 'bodies');
    mkdirSync(root, { recursive: true });
    writeFileSync(join(root, 'query.json'), '{"query":"{ health }"}');
    const secret = join(tmp, 'secret.txt');
    writeFileSync(secret, 'worker secret');
    symlinkSync(secret, join(root, 'innocent.json'));
    const p = defaultPolicy('/etc/tempest.yaml');
    const policy = { ...p, files: { ...p.files, probeBodyRoots: [root] }, probes: { ...p.probes, allowLoopback: true } };
    const ok = await run(httpProbe({ url: `${base}/echo?key=bodyroot`, method: 'POST', bodyPath: join(root, 'query.json') }), { policy });
    expect(ok.status).toBe('Passed');
    const before = seen.length;
    const out = await run(httpProbe({ url: `${base}/echo?key=bodyroot2`, method: 'POST', bodyPath: join(root, 'innocent.json') }), { policy });
    expect(out).toMatchObject({ status: 'Failed', failureKind: 'error' });
    expect(out.reason).toContain(`${secret} is not inside files.probeBodyRoots of /etc/tempest.yaml`);
    expect(seen.slice(before).some((r) => r.body.includes('worker secret'))).toBe(false); // never sent
  });

  test('bodyPath: a real race — the body swapped for a symlink out of the root between the check and the read never sends the outside file', async () => {
    const { defaultPolicy } = await import('../../config/policy.js');
    const root = join(tmp, 'race-bodies');
    mkdirSync(root, { recursive: true });
    const body = join(root, 'body.json');
    writeFileSync(body, '{"query":"{ health }"}');
    const secret = join(tmp, 'race-secret.txt');
    writeFileSync(secret, 'worker secret');
    const p = defaultPolicy('/etc/tempest.yaml');
    const policy = { ...p, files: { ...p.files, probeBodyRoots: [root] }, probes: { ...p.probes, allowLoopback: true } };
    // Another process flips body.json, atomically (rename), between a regular file in the root and a symlink to the secret.
    const flipper = spawn(
      process.execPath,
      [
        '-e',
        // each state held for a random 0-2 ms, so checks and reads land on both sides of a swap
        `const fs = require('fs'); const [body, secret] = process.argv.slice(1);
         const nap = () => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, Math.random() * 2);
         for (;;) { try { fs.symlinkSync(secret, body + '.l'); fs.renameSync(body + '.l', body); nap(); fs.writeFileSync(body + '.r', '{"query":"{ health }"}'); fs.renameSync(body + '.r', body); nap(); } catch {} }`,
        body,
        secret,
      ],
      { stdio: 'ignore', env: { PATH: process.env.PATH ?? '' } },
    );
    const before = seen.length;
    let passed = 0;
    let refused = 0;
    try {
      for (let i = 0; i < 1500 && (passed < 50 || refused < 50); i++) {
        const out = await run(httpProbe({ url: `${base}/echo?key=bodyrace`, method: 'POST', bodyPath: body }), { policy });
        if (out.status === 'Passed') passed++;
        else {
          expect(out.reason).toMatch(/^cannot read bodyPath .*(is not inside files\.probeBodyRoots|was replaced by a symlink|was moved or replaced)/);
          refused++;
        }
      }
    } finally {
      flipper.kill('SIGKILL');
    }
    // The race was really run: both states were met, many times.
    expect({ passed: passed >= 50, refused: refused >= 50 }).toEqual({ passed: true, refused: true });
    const sent = seen.slice(before).filter((r) => r.path === '/echo?key=bodyrace');
    expect(sent.length).toBe(passed);
    expect(sent.filter((r) => r.body.includes('worker secret'))).toEqual([]); // the pre-change reader sent it
    expect(sent.every((r) => r.body === '{"query":"{ health }"}')).toBe(true);
  }, 120_000);

  test('bodyPath: a FIFO or a device in the root is refused at once (never opened for a blocking read); more than 1 MiB is refused', async () => {
    const { defaultPolicy } = await import('../../config/policy.js');
    const root = join(tmp, 'odd-bodies');
    mkdirSync(root, { recursive: true });
    expect(spawnSync('mkfifo', [join(root, 'fifo.json')]).status).toBe(0);
    symlinkSync('/dev/zero', join(root, 'zero.json'));
    writeFileSync(join(root, 'big.json'), Buffer.alloc(1024 * 1024 + 1, 0x20));
    const p = defaultPolicy('/etc/tempest.yaml');
    const policy = { ...p, files: { ...p.files, probeBodyRoots: [root, '/dev'] }, probes: { ...p.probes, allowLoopback: true } };
    const before = seen.length;
    for (const [name, message] of [
      ['fifo.json', `${join(root, 'fifo.json')} is not a regular file of at most 1 MiB`],
      ['zero.json', '/dev/zero is not a regular file of at most 1 MiB'],
      ['big.json', `${join(root, 'big.json')} is not a regular file of at most 1 MiB`],
    ] as const) {
      const out = await run(httpProbe({ url: `${base}/echo?key=oddbody`, method: 'POST', bodyPath: join(root, name) }, { probeTimeoutMs: 2000 }), { policy });
      expect({ name, status: out.status, reason: out.reason }).toEqual({ name, status: 'Failed', reason: expect.stringContaining(message) });
    }
    expect(seen.slice(before).filter((r) => r.path === '/echo?key=oddbody')).toEqual([]);
  });

  test('redirects are a result unless the policy follows them; a followed hop is re-checked against the host rules', async () => {
    const { defaultPolicy } = await import('../../config/policy.js');
    const to = encodeURIComponent(`${base}/ok`);
    const plain = await run(httpProbe({ url: `${base}/redirect?to=${to}` }));
    expect(plain).toMatchObject({ status: 'Failed', failureKind: 'criteria', reason: 'response code 302 is not == 200' });
    const p = defaultPolicy();
    const follow = { ...p, probes: { ...p.probes, followRedirects: true, allowLoopback: true } };
    expect((await run(httpProbe({ url: `${base}/redirect?to=${to}` }), { policy: follow })).status).toBe('Passed');
    const toMeta = encodeURIComponent('http://169.254.169.254/latest/meta-data/');
    const meta = await run(httpProbe({ url: `${base}/redirect?to=${toMeta}` }), { policy: follow });
    expect(meta).toMatchObject({ status: 'Failed', failureKind: 'error' });
    expect(meta.reason).toContain('redirect to http://169.254.169.254/latest/meta-data/ refused: host 169.254.169.254 is a link-local / metadata address');
    // loopback is refused by default (a probe is not a way to reach the worker's own admin ports)
    const noLoop = await run(httpProbe({ url: `${base}/redirect?to=${to}` }), { policy: { ...p, probes: { ...p.probes, followRedirects: true } } });
    expect(noLoop).toMatchObject({ status: 'Failed', failureKind: 'error' });
    expect(noLoop.reason).toMatch(/127\.0\.0\.1.*loopback/);
    const hostOnly = { ...follow, probes: { ...follow.probes, allowHosts: [new URL(base).host] } };
    const elsewhere = await run(httpProbe({ url: `${base}/redirect?to=${encodeURIComponent('http://localhost:1/')}` }), { policy: hostOnly });
    expect(elsewhere.reason).toContain('redirect to http://localhost:1/ refused: host localhost:1 is not in probes.allowHosts');
  });

  test('POST bodyPath reads the file; a missing file is an error', async () => {
    const file = join(tmp, 'body.json');
    writeFileSync(file, '{"from":"file"}');
    const out = await run(httpProbe({ url: `${base}/echo?key=bodypath`, method: 'POST', bodyPath: file, contentType: 'application/json' }));
    expect(out.status).toBe('Passed');
    expect(seen.filter((s) => s.path === '/echo?key=bodypath').at(-1)!.body).toBe('{"from":"file"}');
    const missing = await run(httpProbe({ url: `${base}/echo`, method: 'POST', bodyPath: join(tmp, 'nope.json') }));
    expect(missing).toMatchObject({ status: 'Failed', failureKind: 'error' });
    expect(missing.reason).toMatch(/^cannot read bodyPath .*nope\.json/);
  });

  test('GET sends no body', async () => {
    await run(httpProbe({ url: `${base}/echo?key=getbody`, body: 'ignored' }));
    expect(seen.filter((s) => s.path === '/echo?key=getbody').at(-1)!.body).toBe('');
  });

  test('rewriteUrl maps cluster URLs; observed shows the effective URL', async () => {
    const rewriteUrl = (u: string) => u.replace('http://api-gateway.footanalytics.svc.cluster.local:4000/health', `${base}/ok`);
    const out = await run(httpProbe({ url: 'http://api-gateway.footanalytics.svc.cluster.local:4000/health' }), { rewriteUrl });
    expect(out.status).toBe('Passed');
    expect(out.observed).toContain(`GET ${base}/ok -> 200`);
  });

  test('refused connection: Failed error with the reason', async () => {
    const probeServer = http.createServer();
    const port = await listen(probeServer);
    await close(probeServer);
    const out = await run(httpProbe({ url: `http://127.0.0.1:${port}/health` }, { attempts: 2, intervalMs: 10 }));
    expect(out).toMatchObject({ status: 'Failed', failureKind: 'error', attempts: 2 });
    expect(out.reason).toMatch(/ECONNREFUSED/);
    expect(out.observed).toBe(`GET http://127.0.0.1:${port}/health`);
  });

  test('https with a self-signed certificate needs insecureSkipTLS (needs openssl: fails, never skips, without it)', async () => {
    if (!hasOpenssl) throw new Error('openssl is not on PATH (scripts/k8s-up needs it too: apt-get install openssl)');
    const insecure = await run(httpProbe({ url: `${tlsBase}/ok`, insecureSkipTLS: true }));
    expect(insecure.status).toBe('Passed');
    const strict = await run(httpProbe({ url: `${tlsBase}/ok`, insecureSkipTLS: false }));
    expect(strict).toMatchObject({ status: 'Failed', failureKind: 'error' });
    expect(strict.reason).toMatch(/self[- ]signed|certificate/i);
  });

  test('httpProbe sleeps interval after every try, even a successful one (Litmus)', async () => {
    const out = await run(httpProbe({ url: `${base}/ok` }, { intervalMs: 300 }));
    expect(out.status).toBe('Passed');
    expect(out.durationMs).toBeGreaterThanOrEqual(290);
  });

  test('evaluationTimeout bounds the whole evaluation', async () => {
    // try at 0 ms, sleep 200, try at ~200 ms; a 3rd try would start after the 300 ms deadline, so stop there.
    const out = await run(httpProbe({ url: `${base}/status?code=503&key=evalto` }, { attempts: 50, intervalMs: 200, evaluationTimeoutMs: 300 }));
    expect(out).toMatchObject({ status: 'Failed', failureKind: 'criteria', attempts: 2 });
    expect(hits('/status?key=evalto')).toBe(2);
    expect(out.reason).toBe('response code 503 is not == 200 (evaluationTimeout 300ms reached after 2 of 50 attempts)');
    expect(out.durationMs).toBeLessThan(300);
  });

  test('evaluationTimeout cuts a running attempt', async () => {
    const out = await run(httpProbe({ url: `${base}/slow?ms=5000` }, { probeTimeoutMs: 3000, evaluationTimeoutMs: 250 }));
    expect(out).toMatchObject({ status: 'Failed', failureKind: 'error' });
    expect(out.reason).toMatch(/^evaluation timed out after 250ms/);
  });

  test('heartbeats between attempts', async () => {
    const env = new MockActivityEnvironment();
    const beats: unknown[] = [];
    env.on('heartbeat', (d: unknown) => beats.push(d));
    const out = await run(httpProbe({ url: `${base}/flaky?key=beats` }, { attempts: 3, intervalMs: 10 }), {}, env);
    expect(out.attempts).toBe(3);
    expect(beats.length).toBeGreaterThanOrEqual(6);
    expect(beats).toContainEqual(expect.objectContaining({ probe: 'http-check', phase: 'Continuous', iteration: 7, attempt: 3 }));
  });

  test('cancellation during a request stops promptly (CancelledFailure, not a verdict)', async () => {
    const env = new MockActivityEnvironment();
    const t0 = Date.now();
    setTimeout(() => env.cancel(), 200);
    await expect(run(httpProbe({ url: `${base}/slow?ms=10000` }, { probeTimeoutMs: 20000 }), {}, env)).rejects.toBeInstanceOf(CancelledFailure);
    expect(Date.now() - t0).toBeLessThan(1500);
  });

  test('cancellation during the interval sleep stops promptly', async () => {
    const env = new MockActivityEnvironment();
    const t0 = Date.now();
    setTimeout(() => env.cancel(), 300);
    await expect(run(httpProbe({ url: `${base}/status?code=503&key=cancelsleep` }, { attempts: 5, intervalMs: 10000 }), {}, env)).rejects.toBeInstanceOf(
      CancelledFailure,
    );
    expect(Date.now() - t0).toBeLessThan(1500);
    expect(hits('/status?key=cancelsleep')).toBe(1);
  });

  test('bad configuration is a Failed error, never a throw', async () => {
    const noCriteria = await run(httpProbe({ url: `${base}/ok`, responseCode: undefined }));
    expect(noCriteria).toMatchObject({ status: 'Failed', failureKind: 'error', attempts: 0 });
    expect(noCriteria.reason).toMatch(/no criteria/);
    const badRp = await run(httpProbe({ url: `${base}/ok` }, { attempts: 0 }));
    expect(badRp).toMatchObject({ status: 'Failed', failureKind: 'error', attempts: 0 });
    expect(badRp.reason).toMatch(/attempts must be an integer >= 1/);
    const badCmp = await run(httpProbe({ url: `${base}/ok`, responseCode: { criteria: 'oneOf', value: '[200' } }));
    expect(badCmp).toMatchObject({ status: 'Failed', failureKind: 'error' }); // a broken comparator is not a verdict on the system
    expect(badCmp.reason).toMatch(/unbalanced/);
  });
});

// ---------------------------------------------------------------- promProbe

describe('promProbe', () => {
  const p95 = "histogram_quantile(0.95, rate(http_request_duration_seconds_bucket{job='api-gateway'}[5m]))";

  beforeEach(() => {
    promAnswers = {};
    promHits = 0;
  });

  test('vector: first sample compared as float (seed query passes through encoding intact)', async () => {
    promAnswers[p95] = { body: vector('0.25') };
    const out = await run(promProbe({ query: p95 }));
    expect(out).toMatchObject({ type: 'promProbe', status: 'Passed', reason: 'value 0.25 is < 0.5', attempts: 1 });
    expect(promQueries.at(-1)).toBe(p95);
    expect(out.observed).toContain(`0.25 from ${promBase}/api/v1/query`);
  });

  test('vector above threshold fails with criteria', async () => {
    promAnswers['mem'] = { body: vector('0.73', '0.1') };
    const out = await run(promProbe({ query: 'mem' }));
    expect(out).toMatchObject({ status: 'Failed', failureKind: 'criteria', reason: 'value 0.73 is not < 0.5' });
    expect(out.observed).toContain('first of 2 samples');
  });

  test('scalar', async () => {
    promAnswers['scalar(3)'] = { body: { status: 'success', data: { resultType: 'scalar', result: [1700000000, '3'] } } };
    const out = await run(promProbe({ query: 'scalar(3)', comparator: { criteria: 'between', value: '[2.5,3]' } }));
    expect(out).toMatchObject({ status: 'Passed', reason: 'value 3 is between [2.5, 3]' });
  });

  test('empty result is an error; other probes stop retrying only on success', async () => {
    promAnswers['up{job="gone"}'] = { body: vector() };
    const out = await run(promProbe({ query: 'up{job="gone"}' }, { attempts: 3, intervalMs: 10 }));
    expect(out).toMatchObject({ status: 'Failed', failureKind: 'error', reason: 'query returned no samples: up{job="gone"}', attempts: 3 });
    expect(promHits).toBe(3);
  });

  test('error status from Prometheus', async () => {
    promAnswers['rate(x['] = { status: 400, body: { status: 'error', errorType: 'bad_data', error: '1:8: parse error: unclosed left bracket' } };
    const out = await run(promProbe({ query: 'rate(x[' }));
    expect(out).toMatchObject({ status: 'Failed', failureKind: 'error' });
    expect(out.reason).toBe('Prometheus error (HTTP 400, bad_data): 1:8: parse error: unclosed left bracket');
  });

  test('NaN is a failure with reason', async () => {
    promAnswers['nan'] = { body: vector('NaN') };
    const out = await run(promProbe({ query: 'nan', comparator: { criteria: '!=', value: '1' } }));
    expect(out).toMatchObject({ status: 'Failed', failureKind: 'criteria', reason: 'value NaN is not a number (query: nan)' });
  });

  test('no retry after success; rewriteUrl applies to the endpoint (with a path prefix)', async () => {
    promAnswers['up'] = { body: vector('1') };
    const rewriteUrl = (u: string) => u.replace('http://prometheus-server.monitoring:80', `${promBase}/prefix/`);
    const out = await run(
      promProbe(
        { endpoint: 'http://prometheus-server.monitoring:80', query: 'up', comparator: { criteria: '==', value: '1' } },
        { attempts: 3, intervalMs: 500 },
      ),
      {
        rewriteUrl,
      },
    );
    expect(out).toMatchObject({ status: 'Passed', attempts: 1 });
    expect(out.observed).toContain(`${promBase}/prefix/api/v1/query`);
    expect(out.durationMs).toBeLessThan(400); // no interval sleep after a success (unlike httpProbe)
    expect(promHits).toBe(1);
  });

  test('an endpoint that is not Prometheus is an error', async () => {
    const out = await run(promProbe({ endpoint: `${base}/not-prometheus`, query: 'up' }));
    expect(out).toMatchObject({ status: 'Failed', failureKind: 'error' });
    expect(out.reason).toMatch(/HTTP 404 with a body that is not JSON/);
  });

  test('a refused endpoint is an error', async () => {
    const s = http.createServer();
    const port = await listen(s);
    await close(s);
    const out = await run(promProbe({ endpoint: `http://127.0.0.1:${port}`, query: 'up' }));
    expect(out).toMatchObject({ status: 'Failed', failureKind: 'error' });
    expect(out.reason).toMatch(/ECONNREFUSED/);
  });

  test('an invalid comparator is an error, not a verdict', async () => {
    promAnswers['up'] = { body: vector('1') };
    const out = await run(promProbe({ query: 'up', comparator: { criteria: 'between', value: '[1]' } }));
    expect(out).toMatchObject({ status: 'Failed', failureKind: 'error' });
    expect(out.reason).toMatch(/between needs exactly 2 values/);
  });
});

// ---------------------------------------------------------------- cmdProbe

describe('cmdProbe', () => {
  test('local echo, trimmed stdout compared', async () => {
    const out = await run(cmdProbe({ command: 'echo "  hello world  "' }));
    expect(out).toMatchObject({
      type: 'cmdProbe',
      status: 'Passed',
      reason: 'output "hello world" contains "hello"',
      observed: 'stdout "hello world" (local)',
    });
  });

  test('int comparator and a failing comparison', async () => {
    expect((await run(cmdProbe({ command: 'echo 42', comparator: { type: 'int', criteria: '>=', value: '40' } }))).status).toBe('Passed');
    const out = await run(cmdProbe({ command: 'echo 7', comparator: { type: 'int', criteria: '>=', value: '40' } }));
    expect(out).toMatchObject({ status: 'Failed', failureKind: 'criteria', reason: 'output 7 is not >= 40' });
    const nan = await run(cmdProbe({ command: 'echo n/a', comparator: { type: 'float', criteria: '<', value: '1' } }));
    expect(nan).toMatchObject({ status: 'Failed', failureKind: 'criteria', reason: 'output "n/a" is not a float' });
  });

  test('non-zero exit is still judged on stdout; the exit code is observed', async () => {
    const ok = await run(cmdProbe({ command: 'echo hello; echo oops >&2; exit 3' }));
    expect(ok.status).toBe('Passed');
    expect(ok.observed).toBe('stdout "hello", exit code 3, stderr "oops" (local)');
    const bad = await run(
      cmdProbe({ command: 'echo "no response"; exit 2', comparator: { type: 'string', criteria: 'contains', value: 'accepting connections' } }),
    );
    expect(bad).toMatchObject({ status: 'Failed', failureKind: 'criteria', reason: 'output "no response" does not contain "accepting connections"' });
    expect(bad.observed).toContain('exit code 2');
  });

  test('retries until the 3rd attempt succeeds', async () => {
    const counter = join(tmp, 'count');
    const command = `n=$(cat ${counter} 2>/dev/null || echo 0); n=$((n+1)); echo $n > ${counter}; echo $n`;
    const out = await run(cmdProbe({ command, comparator: { type: 'int', criteria: '>=', value: '3' } }, { attempts: 5, intervalMs: 20 }));
    expect(out).toMatchObject({ status: 'Passed', attempts: 3 });
    expect(readFileSync(counter, 'utf8').trim()).toBe('3');
  });

  test('sleep past probeTimeout: Failed error, process group killed', async () => {
    const pidFile = join(tmp, 'bg.pid');
    const t0 = Date.now();
    const out = await run(cmdProbe({ command: `sleep 30 & echo $! > ${pidFile}; wait; echo hello` }, { probeTimeoutMs: 400 }));
    expect(out).toMatchObject({ status: 'Failed', failureKind: 'error', reason: 'attempt timed out after 400ms (probeTimeout)' });
    expect(Date.now() - t0).toBeLessThan(2000);
    const pid = readFileSync(pidFile, 'utf8').trim();
    await new Promise((r) => setTimeout(r, 200));
    const stat = existsSync(`/proc/${pid}/stat`) ? readFileSync(`/proc/${pid}/stat`, 'utf8') : '';
    expect(stat === '' || / Z /.test(stat)).toBe(true); // gone, or a zombie waiting to be reaped
  });

  test('a setsid child (its own session, outside the process group) does not outlive the probe timeout', async () => {
    const pidFile = join(tmp, 'setsid.pid');
    const out = await run(cmdProbe({ command: `setsid sh -c 'echo $$ > ${pidFile}; exec sleep 300' & sleep 30` }, { probeTimeoutMs: 600 }));
    expect(out).toMatchObject({ status: 'Failed', failureKind: 'error', reason: 'attempt timed out after 600ms (probeTimeout)' });
    const pid = readFileSync(pidFile, 'utf8').trim();
    const stat = existsSync(`/proc/${pid}/stat`) ? readFileSync(`/proc/${pid}/stat`, 'utf8') : '';
    expect(stat === '' || / Z /.test(stat)).toBe(true);
  });

  test("the worker's policy: no local commands unless allowed; when allowed, none of the worker's environment", async () => {
    const { defaultPolicy } = await import('../../config/policy.js');
    const off = await run(cmdProbe({ command: 'echo hi' }), { policy: defaultPolicy('/etc/tempest.yaml') });
    expect(off).toMatchObject({ status: 'Failed', failureKind: 'error', attempts: 0 });
    expect(off.reason).toContain('a cmdProbe without source would run /bin/sh on the worker host (probes.allowLocalCommands is off in /etc/tempest.yaml)');
    process.env.TEMPEST_TEST_WORKER_SECRET = 'hunter2';
    const p = defaultPolicy();
    const on = await run(cmdProbe({ command: 'env', comparator: { type: 'string', criteria: 'notMatches', value: 'hunter2' } }), {
      policy: { ...p, probes: { ...p.probes, allowLocalCommands: true } },
    });
    expect(on.status).toBe('Passed');
    delete process.env.TEMPEST_TEST_WORKER_SECRET;
  });

  test('a pathological pattern from YAML, (a+)+$, is matched in linear time (RE2, as Litmus/Go)', async () => {
    const out = await run(cmdProbe({ command: `printf 'a%.0s' $(seq 1 5000); echo b`, comparator: { type: 'string', criteria: 'matches', value: '(a+)+$' } }));
    expect(out).toMatchObject({ status: 'Failed', failureKind: 'criteria' }); // no match, and it returned (a backtracking engine would not)
  });

  test('cancellation kills the command promptly', async () => {
    const env = new MockActivityEnvironment();
    const t0 = Date.now();
    setTimeout(() => env.cancel(), 200);
    await expect(run(cmdProbe({ command: 'sleep 20' }, { probeTimeoutMs: 30000 }), {}, env)).rejects.toBeInstanceOf(CancelledFailure);
    expect(Date.now() - t0).toBeLessThan(1500);
  });

  test('source without the kubernetes platform is an error', async () => {
    const out = await run(cmdProbe({ command: 'pg_isready', source: { namespace: 'db', pod: 'postgres-0' } }));
    expect(out).toMatchObject({ status: 'Failed', failureKind: 'error', reason: 'cmdProbe source needs the kubernetes platform', attempts: 0 });
  });

  test('source goes through deps.execInPod', async () => {
    const calls: unknown[] = [];
    const execInPod: ProbeDeps['execInPod'] = async (req) => {
      calls.push({ source: req.source, command: req.command, timeoutMs: req.timeoutMs });
      return { stdout: '/var/run/postgresql:5432 - accepting connections\n', exitCode: 0 };
    };
    const out = await run(
      cmdProbe({
        command: 'pg_isready -h postgres -p 5432',
        source: { namespace: 'db', pod: 'postgres-0' },
        comparator: { type: 'string', criteria: 'contains', value: 'accepting connections' },
      }),
      { execInPod },
    );
    expect(out).toMatchObject({ status: 'Passed', attempts: 1 });
    expect(out.observed).toContain('pod db/postgres-0');
    expect(calls).toEqual([{ source: { namespace: 'db', pod: 'postgres-0' }, command: 'pg_isready -h postgres -p 5432', timeoutMs: 2000 }]);
  });
});

// ---------------------------------------------------------------- k8sProbe (minimal)

describe('k8sProbe (present/absent against a small API stand-in)', () => {
  const kubeConfig = () => {
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'test', server: kubeBase, skipTLSVerify: true }],
      users: [{ name: 'test', token: 'test-token' }],
      contexts: [{ name: 'test', cluster: 'test', user: 'test', namespace: 'shop' }],
      currentContext: 'test',
    });
    return kc;
  };

  test('without a KubeConfig: Failed error with a clear reason', async () => {
    const out = await run(k8sProbe({}));
    expect(out).toMatchObject({ status: 'Failed', failureKind: 'error', attempts: 0 });
    expect(out.reason).toMatch(/needs the kubernetes platform/);
  });

  test('create without data is a configuration error (create/delete run against the real API in test/integration/k8s/probes.test.ts)', async () => {
    const out = await run(k8sProbe({ operation: 'create' }), { k8s: kubeConfig() });
    expect(out).toMatchObject({ status: 'Failed', failureKind: 'error' });
    expect(out.reason).toMatch(/create needs `?data`?/);
  });

  test('present/absent with selectors against an API server', async () => {
    k8sItems = [{ metadata: { name: 'web' } }];
    const present = await run(k8sProbe({ labelSelector: 'app=web', fieldSelector: 'metadata.name=web' }), { k8s: kubeConfig() });
    expect(present).toMatchObject({ status: 'Passed', reason: '1 deployments present' });
    const req = k8sRequests.at(-1)!;
    expect(req).toContain('/apis/apps/v1/namespaces/shop/deployments');
    expect(decodeURIComponent(req)).toContain('labelSelector=app=web');
    expect(decodeURIComponent(req)).toContain('fieldSelector=metadata.name=web');
    const absent = await run(k8sProbe({ operation: 'absent' }), { k8s: kubeConfig() });
    expect(absent).toMatchObject({ status: 'Failed', failureKind: 'criteria', reason: '1 deployments present, expected absent' });
    k8sItems = [];
    expect((await run(k8sProbe({ operation: 'absent' }), { k8s: kubeConfig() })).status).toBe('Passed');
  });

  test('core group resources', async () => {
    k8sItems = [{ metadata: { name: 'web-1' } }, { metadata: { name: 'web-2' } }];
    const out = await run(k8sProbe({ group: '', version: 'v1', resource: 'pods', labelSelector: 'app=web' }), { k8s: kubeConfig() });
    expect(out).toMatchObject({ status: 'Passed', reason: '2 pods present' });
  });
});
