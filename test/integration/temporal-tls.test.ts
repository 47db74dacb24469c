/**
 * TLS and mTLS to Temporal, for real. The dev server has no TLS, so the test puts a TLS-terminating proxy in front
 * of it (Node's tls.createServer, client certificate required, ALPN h2, bytes piped to 127.0.0.1:7233), with a
 * throwaway CA, server and client certificates made by openssl. Through it: the client (@temporalio/client,
 * grpc-js) and a worker from createWorker (@temporalio/worker, the Rust core) connect with the CA, client
 * certificate and key named in tempest.yaml; without the client certificate the proxy refuses them; with a wrong
 * CA they refuse the proxy; bad files are one line naming the field, exit 2. The API key (apiKeyEnv) comes from
 * the named variable only, travels inside TLS, and appears in no output.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { stringify } from 'yaml';
import { TempestClient } from '../../client/client.js';
import { temporalConnection } from '../../client/connection.js';
import { ConfigError } from '../../config/errors.js';
import { loadTempestConfig, type TempestConfig } from '../../config/tempest-config.js';
import { createWorker } from '../../workers/worker.js';
import { seed } from '../helpers/workflow.js';
import { waitFor } from '../helpers/fleet.js';
import { ROOT } from '../helpers/temporal.js';

const UPSTREAM = { host: '127.0.0.1', port: 7233 };
const KEY_VAR = 'TEMPEST_TLS_TEST_API_KEY';
// '~' has a 13-bit HPACK Huffman code, so grpc-js sends this header value as a plain literal: the proxy can see it.
const API_KEY = `${'~'.repeat(24)}${Math.random().toString(16).slice(2, 10)}`;
/** How the worker's native connection reports a refused client certificate (see the mTLS test). */
const NATIVE_REFUSED = /CertificateRequired|connection closed|broken pipe/;
const DECOY_KEY = `file-key-${Math.random().toString(16).slice(2, 10)}`;

let dir: string;
let proxy: TlsProxy;

// ---- certificates ----

function openssl(...args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
}

function makeCa(name: string): void {
  openssl(
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-keyout',
    `${name}.key`,
    '-out',
    `${name}.pem`,
    '-days',
    '1',
    '-subj',
    `/CN=${name}`,
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  );
}

/** A leaf certificate signed by `ca`; rustls (the worker) wants v3 extensions, SANs and the right EKU. */
function makeLeaf(name: string, ca: string, ext: string[]): void {
  openssl(
    'req',
    '-new',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-keyout',
    `${name}.key`,
    '-out',
    `${name}.csr`,
    '-subj',
    `/CN=${name}`,
  );
  writeFileSync(join(dir, `${name}.ext`), ['basicConstraints=critical,CA:FALSE', 'keyUsage=critical,digitalSignature', ...ext, ''].join('\n'));
  openssl(
    'x509',
    '-req',
    '-in',
    `${name}.csr`,
    '-CA',
    `${ca}.pem`,
    '-CAkey',
    `${ca}.key`,
    '-CAcreateserial',
    '-days',
    '1',
    '-out',
    `${name}.pem`,
    '-extfile',
    `${name}.ext`,
  );
}

// ---- the TLS-terminating proxy ----

interface TlsProxy {
  address: string;
  /** Peer certificate CN of every accepted (mutually authenticated) connection. */
  accepted: string[];
  /** Every refused handshake, as the proxy saw it. */
  refused: string[];
  /** What the clients sent, decrypted (capped). */
  plaintext: () => Buffer;
  close: () => Promise<void>;
}

async function startProxy(): Promise<TlsProxy> {
  const f = (n: string) => readFileSync(join(dir, n));
  const accepted: string[] = [];
  const refused: string[] = [];
  const sockets = new Set<net.Socket>();
  let seen: Buffer[] = [];
  let seenBytes = 0;
  const server = tls.createServer(
    { key: f('server.key'), cert: f('server.pem'), ca: f('ca.pem'), requestCert: true, rejectUnauthorized: true, ALPNProtocols: ['h2'] },
    (s) => {
      accepted.push(String(s.getPeerCertificate().subject?.CN));
      const up = net.connect(UPSTREAM.port, UPSTREAM.host);
      sockets.add(s).add(up);
      s.on('data', (d: Buffer) => {
        if (seenBytes < 8 << 20) {
          seen.push(d);
          seenBytes += d.length;
        }
      });
      s.pipe(up).pipe(s);
      s.on('error', () => up.destroy());
      up.on('error', () => s.destroy());
      s.on('close', () => (up.destroy(), sockets.delete(s)));
      up.on('close', () => (s.destroy(), sockets.delete(up)));
    },
  );
  server.on('tlsClientError', (e, s) => {
    refused.push(e.message);
    s.destroy();
  });
  server.on('connection', (s: net.Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  return {
    address: `127.0.0.1:${(server.address() as net.AddressInfo).port}`,
    accepted,
    refused,
    plaintext: () => {
      seen = [Buffer.concat(seen)];
      return seen[0];
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

// ---- tempest.yaml files and the CLI ----

const taskQueue = `tls-${Math.random().toString(36).slice(2, 10)}`;

/** A tempest.yaml in the temp dir whose temporal section points at the proxy (relative paths: next to the file). */
function config(name: string, temporal: Record<string, unknown>): TempestConfig & { file: string } {
  const file = join(dir, `${name}.yaml`);
  const doc = {
    temporal: { address: proxy.address, namespace: 'default', taskQueue, searchAttributes: false, ...temporal },
    state: { dir: join(dir, 'state') },
    reports: { dir: join(dir, 'reports') },
    metrics: { port: 0 },
  };
  writeFileSync(file, stringify(doc));
  return loadTempestConfig(file) as TempestConfig & { file: string };
}

const MTLS = { caFile: 'ca.pem', certFile: 'client.pem', keyFile: 'client.key' };

interface Run {
  code: number;
  out: string;
  err: string;
}

/** bin/tempest in a child process, as a user runs it. */
function tempest(args: string[], timeoutMs = 90_000): Promise<Run> {
  return new Promise((resolve, reject) => {
    const p = spawn(`${ROOT}bin/tempest`, args, { cwd: ROOT, env: { ...process.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (err += d));
    const t = setTimeout(() => {
      p.kill('SIGKILL');
      reject(new Error(`tempest ${args.join(' ')} timed out:\n${out}\n${err}`));
    }, timeoutMs);
    p.on('exit', (code, signal) => {
      clearTimeout(t);
      resolve({ code: code ?? (signal ? -1 : -2), out, err });
    });
  });
}

/** A long-running bin/tempest (a worker): its output so far, and stop() = SIGTERM and wait for the exit. */
function start(args: string[]): { pid: number; output: () => string; stop: () => Promise<Run> } {
  const p = spawn(`${ROOT}bin/tempest`, args, { cwd: ROOT, env: { ...process.env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  p.stdout.on('data', (d) => (out += d));
  p.stderr.on('data', (d) => (err += d));
  const exited = new Promise<Run>((resolve) => p.on('exit', (code, signal) => resolve({ code: code ?? (signal ? -1 : -2), out, err })));
  return {
    pid: p.pid!,
    output: () => out + err,
    stop: () => {
      if (p.exitCode === null && p.signalCode === null) p.kill('SIGTERM');
      const t = setTimeout(() => p.kill('SIGKILL'), 15_000);
      return exited.finally(() => clearTimeout(t));
    },
  };
}

/** The CLI's error: exactly one line on stderr. */
function oneErrorLine(r: Run): string {
  const lines = r.err.split('\n').filter((l) => l.trim());
  expect(lines).toHaveLength(1);
  return lines[0];
}

async function pollers(c: TempestClient, queue: string, type: 1 | 2): Promise<string[]> {
  const r = await c.client.workflowService.describeTaskQueue({ namespace: 'default', taskQueue: { name: queue }, taskQueueType: type });
  return (r.pollers ?? []).map((p) => p.identity ?? '');
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tempest-tls-'));
  makeCa('ca');
  makeCa('other-ca');
  makeLeaf('server', 'ca', ['extendedKeyUsage=serverAuth', 'subjectAltName=IP:127.0.0.1,DNS:localhost']);
  makeLeaf('tempest-client', 'ca', ['extendedKeyUsage=clientAuth']);
  for (const ext of ['pem', 'key']) writeFileSync(join(dir, `client.${ext}`), readFileSync(join(dir, `tempest-client.${ext}`)));
  writeFileSync(join(dir, 'junk.pem'), 'this is not a certificate\n');
  writeFileSync(join(dir, 'decoy-key'), `${DECOY_KEY}\n`);
  proxy = await startProxy();
}, 60_000);

afterAll(async () => {
  delete process.env[KEY_VAR];
  await proxy?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('the client connects through the mTLS proxy: describe the namespace, list workflows', async () => {
  const cfg = config('mtls', { tls: MTLS });
  const settings = temporalConnection(cfg);
  expect(settings.address).toBe(proxy.address);
  expect(Buffer.from(settings.tls!.serverRootCACertificate!).toString()).toContain('BEGIN CERTIFICATE');
  expect(Buffer.from(settings.tls!.clientCertPair!.crt).toString()).toContain('BEGIN CERTIFICATE');
  expect(settings.apiKey).toBeUndefined();

  const before = proxy.accepted.length;
  const c = await TempestClient.connect(cfg);
  try {
    const ns = await c.client.workflowService.describeNamespace({ namespace: 'default' });
    expect(ns.namespaceInfo?.name).toBe('default');
    const page = await c.client.workflowService.listWorkflowExecutions({ namespace: 'default', pageSize: 5 });
    expect(page.executions).toBeInstanceOf(Array);
  } finally {
    await c.close();
  }
  // It went through the TLS proxy, authenticated by the client certificate.
  expect(proxy.accepted.slice(before)).toContain('tempest-client');

  // The CLI too (exit 0).
  const r = await tempest(['--config', cfg.file, 'list', '-n', '3']);
  expect(r.err).toBe('');
  expect(r.code).toBe(0);
});

test('serverName: the name the server certificate is checked against', async () => {
  const c = await TempestClient.connect(config('server-name', { tls: { ...MTLS, serverName: 'localhost' } }));
  await c.close();
  // A name the certificate does not carry: refused (the worker's native connection says so at once).
  const wrong = config('wrong-name', { tls: { ...MTLS, serverName: 'temporal.elsewhere.example' } });
  await expect(createWorker({ config: wrong })).rejects.toThrow(/NotValidForName/);
});

test('a worker from createWorker polls through the TLS proxy and runs a workflow and an activity task', async () => {
  const cfg = config('worker', { tls: MTLS });
  const before = proxy.accepted.length;
  const worker = await createWorker({ config: cfg });
  try {
    expect(proxy.accepted.length).toBeGreaterThan(before); // the native connection is a TLS client of the proxy
    const c = await TempestClient.connect(cfg);
    try {
      const result = await worker.runUntil(async () => {
        await waitFor(
          'the worker polls the task queue',
          async () => (await pollers(c, taskQueue, 1)).includes(worker.options.identity) && (await pollers(c, taskQueue, 2)).includes(worker.options.identity),
        );
        // The default policy allows no namespace: preflight (an activity on this worker) refuses the run.
        const h = await c.start(seed(), { workflowId: `tls-${taskQueue}`, dryRun: true });
        return c.result(h.workflowId);
      });
      expect(result.verdict).not.toBe('Pass');
      expect(JSON.stringify(result)).toMatch(/blast radius|blastRadius/);
      const history = await c.handle(`tls-${taskQueue}`).fetchHistory();
      const identities = (history.events ?? [])
        .map((e) => e.workflowTaskStartedEventAttributes?.identity ?? e.activityTaskStartedEventAttributes?.identity)
        .filter(Boolean);
      expect(identities).toContain(worker.options.identity);
    } finally {
      await c.close();
    }
  } finally {
    await worker.connection?.close();
  }
});

test('mTLS is enforced: with the CA but no client certificate the proxy refuses; the CLI says so in one line, exit 2', async () => {
  const cfg = config('ca-only', { tls: { caFile: 'ca.pem' } });
  const before = proxy.accepted.length;
  const refusedBefore = proxy.refused.length;
  // TLS 1.3: the refusal comes after the client's handshake is done; the worker SDK (rustls + hyper) reports the
  // alert ("CertificateRequired") most times, a closed connection or a broken pipe otherwise (it is already writing).
  // The proxy's side is the proof: it refused a peer without a certificate.
  await expect(createWorker({ config: cfg })).rejects.toThrow(NATIVE_REFUSED);
  expect(proxy.refused.slice(refusedBefore).join('\n')).toMatch(/peer did not return a certificate/);

  const list = await tempest(['--config', cfg.file, 'list']);
  expect(list.code).toBe(2);
  expect(list.out).toBe('');
  expect(oneErrorLine(list)).toBe(
    `tempest: cannot reach Temporal at ${proxy.address} over TLS: Failed to connect before the deadline; the server ended the TLS handshake (alert: certificate required): it requires a client certificate (mTLS): set temporal.tls.certFile and keyFile`,
  );

  const worker = await tempest(['--config', cfg.file, 'worker']);
  expect(worker.code).toBe(2);
  expect(oneErrorLine(worker)).toMatch(new RegExp(`^tempest: cannot reach Temporal at ${proxy.address} over TLS: .*(${NATIVE_REFUSED.source})`));
  expect(proxy.accepted.length).toBe(before);
});

test('a wrong CA: the client refuses the server', async () => {
  const cfg = config('wrong-ca', { tls: { ...MTLS, caFile: 'other-ca.pem' } });
  const before = proxy.accepted.length;
  const refusedBefore = proxy.refused.length;
  await expect(createWorker({ config: cfg })).rejects.toThrow(/UnknownIssuer/);
  // The refusal is the client's: it sent the proxy an "unknown CA" alert.
  expect(proxy.refused.slice(refusedBefore).join('\n')).toMatch(/alert unknown ca/);

  const list = await tempest(['--config', cfg.file, 'list']);
  expect(list.code).toBe(2);
  expect(oneErrorLine(list)).toMatch(
    new RegExp(
      `^tempest: cannot reach Temporal at ${proxy.address} over TLS: Failed to connect before the deadline; this client does not trust the server's certificate \\(.+\\): check temporal\\.tls\\.caFile and serverName$`,
    ),
  );
  expect(proxy.accepted.length).toBe(before);
});

test('bad caFile / certFile / keyFile: one line naming the field, exit 2, nothing sent', async () => {
  const missing = config('missing-ca', { tls: { ...MTLS, caFile: 'missing.pem' } });
  expect(() => temporalConnection(missing)).toThrow(ConfigError);
  await expect(createWorker({ config: missing })).rejects.toThrow(`${missing.file}: temporal.tls.caFile: cannot read ${join(dir, 'missing.pem')}: ENOENT`);
  const list = await tempest(['--config', missing.file, 'list']);
  expect(list.code).toBe(2);
  expect(oneErrorLine(list)).toBe(`tempest: ${missing.file}: temporal.tls.caFile: cannot read ${join(dir, 'missing.pem')}: ENOENT`);
  const worker = await tempest(['--config', missing.file, 'worker']);
  expect(worker.code).toBe(2);
  expect(oneErrorLine(worker)).toBe(`tempest: ${missing.file}: temporal.tls.caFile: cannot read ${join(dir, 'missing.pem')}: ENOENT`);

  // Both SDKs silently ignore a CA file that is not PEM (and then fail on an "unknown issuer"): refused up front.
  const junkCa = config('junk-ca', { tls: { ...MTLS, caFile: 'junk.pem' } });
  const r1 = await tempest(['--config', junkCa.file, 'list']);
  expect(r1.code).toBe(2);
  expect(oneErrorLine(r1)).toBe(
    `tempest: ${junkCa.file}: temporal.tls.caFile: ${join(dir, 'junk.pem')} is not a PEM certificate (-----BEGIN CERTIFICATE-----)`,
  );
  const junkCert = config('junk-cert', { tls: { ...MTLS, certFile: 'junk.pem' } });
  const r2 = await tempest(['--config', junkCert.file, 'list']);
  expect(r2.code).toBe(2);
  expect(oneErrorLine(r2)).toBe(
    `tempest: ${junkCert.file}: temporal.tls.certFile: ${join(dir, 'junk.pem')} is not a PEM certificate (-----BEGIN CERTIFICATE-----)`,
  );
  const noKey = config('missing-key', { tls: { ...MTLS, keyFile: 'nope/client.key' } });
  expect(() => temporalConnection(noKey)).toThrow(`${noKey.file}: temporal.tls.keyFile: cannot read ${join(dir, 'nope/client.key')}: ENOENT`);
  // A certificate without its key is refused when the file is loaded.
  expect(() => config('half', { tls: { caFile: 'ca.pem', certFile: 'client.pem' } })).toThrow(/temporal\.tls: certFile and keyFile go together/);
});

test('apiKeyEnv: the key comes from the variable named, never from a file; it implies TLS; unset is a ConfigError naming temporal.apiKeyEnv', () => {
  process.env[KEY_VAR] = API_KEY;
  // apiKeyFile given too (a decoy): apiKeyEnv wins, the file is not read.
  const both = config('key-both', { apiKeyEnv: KEY_VAR, apiKeyFile: 'decoy-key' });
  const s = temporalConnection(both);
  expect(s.apiKey).toBe(API_KEY);
  expect(s.tls).toEqual({}); // TLS with the system roots, as Temporal Cloud needs
  expect(JSON.stringify(s)).not.toContain(DECOY_KEY);
  // With a tls section, the key goes with the CA and client certificate.
  const withTls = temporalConnection(config('key-mtls', { tls: MTLS, apiKeyEnv: KEY_VAR }));
  expect(withTls.apiKey).toBe(API_KEY);
  expect(withTls.tls?.clientCertPair).toBeDefined();

  delete process.env[KEY_VAR];
  let err: unknown;
  try {
    temporalConnection(both);
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(ConfigError);
  expect((err as ConfigError).problems.map((p) => p.path)).toEqual(['temporal.apiKeyEnv']);
  expect((err as ConfigError).message).toBe(
    `${both.file}: temporal.apiKeyEnv: environment variable ${KEY_VAR} is not set (or empty) in this process's environment`,
  );
  expect((err as ConfigError).message).not.toContain(DECOY_KEY);

  // apiKeyFile alone is read (trimmed).
  expect(temporalConnection(config('key-file', { apiKeyFile: 'decoy-key' })).apiKey).toBe(DECOY_KEY);
  // The key itself in tempest.yaml is refused, and the error does not repeat it.
  writeFileSync(join(dir, 'literal.yaml'), stringify({ temporal: { apiKey: API_KEY } }));
  expect(() => loadTempestConfig(join(dir, 'literal.yaml'))).toThrow(/temporal\.apiKey: secrets are never written in tempest\.yaml/);
  try {
    loadTempestConfig(join(dir, 'literal.yaml'));
  } catch (e) {
    expect((e as Error).message).not.toContain(API_KEY);
  }
});

test('the API key travels inside TLS (Authorization: Bearer) and appears in no output of the CLI or the worker', async () => {
  process.env[KEY_VAR] = API_KEY; // passed to the child processes (Jest's process.env is not the real one)
  try {
    const queue = `${taskQueue}-key`;
    const cfg = config('api-key', { tls: MTLS, apiKeyEnv: KEY_VAR, taskQueue: queue });

    const list = await tempest(['--config', cfg.file, 'list', '-n', '1']);
    expect(list.err).toBe('');
    expect(list.code).toBe(0);
    // The proxy saw it only after decrypting: it was sent, over TLS, as the bearer token.
    expect(proxy.plaintext().includes(`Bearer ${API_KEY}`)).toBe(true);

    // A worker process with the key: ready and polling through the proxy (its native connection carries the key too).
    const c = await TempestClient.connect(config('observer', { tls: MTLS }));
    try {
      const worker = start(['--config', cfg.file, 'worker']);
      await waitFor('the worker process is ready', async () => worker.output().includes('worker ready'), 90_000);
      await waitFor('the worker process polls', async () => (await pollers(c, queue, 1)).some((id) => id.startsWith(`${worker.pid}@`)));
      const r = await worker.stop();
      expect(r.out).toContain(`worker ready: task queue ${queue} on ${proxy.address}`);
      for (const out of [r.out, r.err, list.out, list.err]) expect(out).not.toContain(API_KEY.slice(-8));
    } finally {
      await c.close();
    }

    // Refused with the key set (no client certificate): the output does not carry it either.
    const refused = config('api-key-ca-only', { tls: { caFile: 'ca.pem' }, apiKeyEnv: KEY_VAR, taskQueue: queue });
    const w = await tempest(['--config', refused.file, 'worker']);
    expect(w.code).toBe(2);
    expect(oneErrorLine(w)).toMatch(NATIVE_REFUSED);
    expect(w.out + w.err).not.toContain(API_KEY.slice(-8));
  } finally {
    delete process.env[KEY_VAR];
  }
}, 180_000);
