/**
 * How the CLI and the worker reach Temporal: address, TLS (a self-hosted cluster's CA, mTLS client certificate
 * and key) and an API key (Temporal Cloud), all from tempest.yaml's `temporal` section. Files and the API key are
 * read here, at connect time, by the process that connects; nothing of it is sent anywhere but to Temporal.
 */
import { readFileSync } from 'node:fs';
import type { TLSConfig } from '@temporalio/common/lib/internal-non-workflow/tls-config.js';
import type { TempestConfig } from '../config/tempest-config.js';
import { ConfigError } from '../config/errors.js';
import { readSecret } from '../activities/secrets.js';

export interface TemporalConnectionSettings {
  address: string;
  tls?: TLSConfig;
  apiKey?: string;
}

function file(path: string, field: string, cfg: TempestConfig): Buffer {
  try {
    return readFileSync(path);
  } catch (e) {
    throw new ConfigError([{ file: cfg.file ?? 'tempest.yaml', path: `temporal.tls.${field}`, message: `cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}` }]);
  }
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
    const ref = t.apiKeyEnv ? { env: t.apiKeyEnv } : { file: t.apiKeyFile! };
    try {
      out.apiKey = readSecret(ref);
    } catch (e) {
      throw new ConfigError([{ file: cfg.file ?? 'tempest.yaml', path: t.apiKeyEnv ? 'temporal.apiKeyEnv' : 'temporal.apiKeyFile', message: (e as Error).message }]);
    }
    out.tls ??= {}; // an API key only travels over TLS
  }
  return out;
}
