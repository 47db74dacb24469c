/**
 * How the CLI and the worker reach Temporal: address, TLS (a self-hosted cluster's CA, mTLS client certificate
 * and key) and an API key (Temporal Cloud), all from tempest.yaml's `temporal` section. Files and the API key are
 * read here, at connect time, by the process that connects; nothing of it is sent anywhere but to Temporal.
 */
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import tls from 'node:tls';
import type { TLSConfig } from '@temporalio/common/lib/internal-non-workflow/tls-config.js';
import type { TempestConfig } from '../config/tempest-config.js';
import { ConfigError } from '../config/errors.js';
import { readSecret } from '../activities/secrets.js';

export interface TemporalConnectionSettings {
  address: string;
  tls?: TLSConfig;
  apiKey?: string;
}

const PEM = {
  caFile: { re: /-----BEGIN CERTIFICATE-----/, what: 'a PEM certificate (-----BEGIN CERTIFICATE-----)' },
  certFile: { re: /-----BEGIN CERTIFICATE-----/, what: 'a PEM certificate (-----BEGIN CERTIFICATE-----)' },
  keyFile: { re: /-----BEGIN [A-Z ]*PRIVATE KEY-----/, what: 'a PEM private key (-----BEGIN ... PRIVATE KEY-----)' },
} as const;

/** A PEM file of `temporal.tls`. Checked here: both SDKs silently ignore a CA file that is not PEM. */
function file(path: string, field: keyof typeof PEM, cfg: TempestConfig): Buffer {
  const problem = (message: string) => new ConfigError([{ file: cfg.file ?? 'tempest.yaml', path: `temporal.tls.${field}`, message }]);
  let b: Buffer;
  try {
    b = readFileSync(path);
  } catch (e) {
    throw problem(`cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  if (!PEM[field].re.test(b.toString('latin1'))) throw problem(`${path} is not ${PEM[field].what}`);
  return b;
}

export function temporalConnection(cfg: TempestConfig): TemporalConnectionSettings {
  const t = cfg.temporal;
  const out: TemporalConnectionSettings = { address: t.address };
  if (t.tls) {
    const tls: TLSConfig = {};
    if (t.tls.serverName) tls.serverNameOverride = t.tls.serverName;
    if (t.tls.caFile) tls.serverRootCACertificate = file(t.tls.caFile, 'caFile', cfg);
    if (t.tls.certFile && t.tls.keyFile) tls.clientCertPair = { crt: file(t.tls.certFile, 'certFile', cfg), key: file(t.tls.keyFile, 'keyFile', cfg) };
    out.tls = tls;
  }
  if (t.apiKeyEnv || t.apiKeyFile) {
    // apiKeyEnv wins: when it is given, the file is never read (and an unset variable does not fall back to it).
    const ref = t.apiKeyEnv ? { env: t.apiKeyEnv } : { file: t.apiKeyFile! };
    try {
      out.apiKey = readSecret(ref);
    } catch (e) {
      const message = t.apiKeyEnv ? `environment variable ${t.apiKeyEnv} is not set (or empty) in this process's environment` : (e as Error).message;
      throw new ConfigError([{ file: cfg.file ?? 'tempest.yaml', path: t.apiKeyEnv ? 'temporal.apiKeyEnv' : 'temporal.apiKeyFile', message }]);
    }
    out.tls ??= {}; // an API key only travels over TLS
  }
  return out;
}

/**
 * Why a TLS connection to Temporal fails, in one line, or undefined if a TLS handshake succeeds. The gRPC client
 * (@temporalio/client) only says "Failed to connect before the deadline" on any TLS failure; this repeats the
 * handshake with Node's TLS (same CA, client certificate and server name) to name the cause.
 */
export function tlsDiagnosis(s: TemporalConnectionSettings, timeoutMs = 3000): Promise<string | undefined> {
  const m = /^(?:\[(.+)\]|([^:]+)):(\d+)$/.exec(s.address);
  if (!m || !s.tls) return Promise.resolve(undefined);
  const host = m[1] ?? m[2];
  const t = s.tls;
  const name = t.serverNameOverride;
  return new Promise((resolve) => {
    let timer: NodeJS.Timeout;
    const opts: tls.ConnectionOptions = { host, port: Number(m[3]), ALPNProtocols: ['h2'] };
    if (name ?? !isIP(host)) opts.servername = name ?? host;
    if (name) opts.checkServerIdentity = (_h, cert) => tls.checkServerIdentity(name, cert);
    if (t.serverRootCACertificate) opts.ca = Buffer.from(t.serverRootCACertificate);
    if (t.clientCertPair) [opts.cert, opts.key] = [Buffer.from(t.clientCertPair.crt), Buffer.from(t.clientCertPair.key)];
    const sock = tls.connect(opts);
    const done = (why: string | undefined) => {
      clearTimeout(timer);
      sock.destroy();
      resolve(why);
    };
    timer = setTimeout(() => done(`no TLS handshake within ${timeoutMs / 1000}s`), timeoutMs);
    // TLS 1.3: a server that refuses the client certificate says so (an alert) just after the handshake.
    sock.once('secureConnect', () => {
      clearTimeout(timer);
      timer = setTimeout(() => done(undefined), 500);
    });
    sock.once('error', (e: NodeJS.ErrnoException) => {
      const code = e.code ?? '';
      const alert = /ALERT_(\w+)$/.exec(code)?.[1]?.toLowerCase().replace(/_/g, ' ');
      const mtls = !t.clientCertPair
        ? 'it requires a client certificate (mTLS): set temporal.tls.certFile and keyFile'
        : 'it does not accept the client certificate of temporal.tls.certFile';
      if (alert) done(`the server ended the TLS handshake (alert: ${alert})${/certificate|unknown ca|handshake/.test(alert) ? `: ${mtls}` : ''}`);
      else if (/CERT|SIGNATURE|ISSUER|ALTNAME/.test(code))
        done(`this client does not trust the server's certificate (${e.message}): check temporal.tls.caFile and serverName`);
      else if (code === 'ERR_SSL_WRONG_VERSION_NUMBER') done('the server does not speak TLS (a plain-text server: drop temporal.tls and the API key)');
      else done(`${code ? `${code}: ` : ''}${e.message.split('\n')[0]}`);
    });
  });
}
