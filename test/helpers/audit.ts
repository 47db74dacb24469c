/**
 * The kube-apiserver's audit log of the local control plane (scripts/k8s-up: --audit-log-path
 * .tempest/k8s/logs/audit.log, JSON lines, level Metadata for Tempest's service accounts and every non-system
 * user, rotated to audit-<time>.log beside it). readAudit() returns one event per request (deduplicated by
 * audit ID, the ResponseComplete stage preferred) in the order the apiserver wrote them; auditFence() makes one
 * request whose audit ID it knows and waits until that event is in the file, so everything answered before it is
 * there too.
 *
 * Isolation: service-account tokens carry a JTI, and the apiserver puts it into every event of that token
 * (user.extra["authentication.kubernetes.io/credential-id"] = ["JTI=<jti>"]). tokenJti() reads it from a
 * kubeconfig written by saKubeconfig(), so a suite can select exactly the requests made with its own tokens,
 * whatever other suites do as the same service account at the same time.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { request } from 'node:https';
import { basename, dirname, join } from 'node:path';
import type * as k8s from '@kubernetes/client-node';
import { parse } from 'yaml';
import { K8S_DIR } from './k8s.js';

export const AUDIT_LOG = join(K8S_DIR, 'logs/audit.log');

export interface AuditEvent {
  auditId: string;
  stage: string;
  /** user.username, e.g. system:serviceaccount:tempest-system:tempest-worker */
  user: string;
  /** the token's JTI for service-account tokens (credential-id "JTI=..."), else undefined */
  credentialId?: string;
  /** impersonatedUser.username: whom `user` acted as (Impersonate-User), else undefined */
  impersonatedUser?: string;
  verb: string;
  /** objectRef.resource ("" for a non-resource request) */
  resource: string;
  subresource?: string;
  /** objectRef.apiGroup ("" = core) */
  apiGroup: string;
  namespace?: string;
  name?: string;
  /** the path, for a non-resource request (no objectRef): /api/v1, /apis/apps/v1, /version... */
  nonResourceURL?: string;
  /** responseStatus.code */
  code?: number;
  /** authorization.k8s.io/decision: allow / forbid */
  decision?: string;
  /** authorization.k8s.io/reason, e.g. RBAC: allowed by RoleBinding "x/ns" of Role "x" to ServiceAccount ... */
  reason?: string;
  userAgent?: string;
  requestURI: string;
  /** requestReceivedTimestamp */
  at: Date;
}

interface RawEvent {
  auditID: string;
  stage: string;
  requestURI: string;
  verb: string;
  user?: { username?: string; extra?: Record<string, string[]> };
  impersonatedUser?: { username?: string };
  userAgent?: string;
  objectRef?: { resource?: string; subresource?: string; apiGroup?: string; namespace?: string; name?: string };
  responseStatus?: { code?: number };
  requestReceivedTimestamp?: string;
  annotations?: Record<string, string>;
}

function toEvent(r: RawEvent): AuditEvent {
  const cred = r.user?.extra?.['authentication.kubernetes.io/credential-id']?.[0];
  const o = r.objectRef;
  return {
    auditId: r.auditID,
    stage: r.stage,
    user: r.user?.username ?? '',
    credentialId: cred?.startsWith('JTI=') ? cred.slice(4) : undefined,
    impersonatedUser: r.impersonatedUser?.username || undefined,
    verb: r.verb,
    resource: o?.resource ?? '',
    subresource: o?.subresource || undefined,
    apiGroup: o?.apiGroup ?? '',
    namespace: o?.namespace || undefined,
    name: o?.name || undefined,
    nonResourceURL: o ? undefined : r.requestURI.split('?')[0],
    code: r.responseStatus?.code,
    decision: r.annotations?.['authorization.k8s.io/decision'],
    reason: r.annotations?.['authorization.k8s.io/reason'],
    userAgent: r.userAgent,
    requestURI: r.requestURI,
    at: new Date(r.requestReceivedTimestamp ?? 0),
  };
}

/** The log and its rotated backups (audit-<time>.log), oldest first. */
function logFiles(file: string): string[] {
  const dir = dirname(file);
  const base = basename(file).replace(/\.log$/, '');
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const backups = names.filter((n) => n.startsWith(`${base}-`) && n.endsWith('.log')).sort(); // lumberjack: <base>-<UTC time>.log
  return [...backups.map((n) => join(dir, n)), ...(names.includes(basename(file)) ? [file] : [])];
}

export interface ReadAuditOptions {
  /** Only requests received at or after this time (files last written before it are skipped). */
  since?: Date;
  /** Only events written after the event with this audit ID (e.g. one from auditFence()). */
  afterAuditId?: string;
  /** Only events of tokens with these JTIs (tokenJti()). */
  credentialIds?: Iterable<string>;
  /** Only these users (user.username). */
  users?: Iterable<string>;
  file?: string;
}

/** One event per request (ResponseComplete preferred over ResponseStarted/Panic), in the order they were written. */
export function readAudit(opts: ReadAuditOptions = {}): AuditEvent[] {
  const file = opts.file ?? AUDIT_LOG;
  const byId = new Map<string, AuditEvent>();
  let seenAfter = opts.afterAuditId === undefined;
  for (const f of logFiles(file)) {
    if (opts.since && statSync(f).mtimeMs < opts.since.getTime() - 1000) continue;
    for (const line of readFileSync(f, 'utf8').split('\n')) {
      if (!line.trim()) continue;
      let raw: RawEvent;
      try {
        raw = JSON.parse(line) as RawEvent;
      } catch {
        continue; // a line being written right now
      }
      if (!seenAfter) {
        if (raw.auditID === opts.afterAuditId) seenAfter = true;
        continue;
      }
      if (raw.auditID === opts.afterAuditId) continue; // its other stage
      const prev = byId.get(raw.auditID);
      if (prev?.stage === 'ResponseComplete') continue;
      byId.set(raw.auditID, toEvent(raw)); // Map keeps the first insertion's position
    }
  }
  if (!seenAfter) throw new Error(`audit ID ${opts.afterAuditId} is not in ${file} (or its backups)`);
  const creds = opts.credentialIds ? new Set(opts.credentialIds) : undefined;
  const users = opts.users ? new Set(opts.users) : undefined;
  return [...byId.values()].filter(
    (e) =>
      (!opts.since || e.at.getTime() >= opts.since.getTime()) &&
      (!creds || (e.credentialId !== undefined && creds.has(e.credentialId))) &&
      (!users || users.has(e.user)),
  );
}

/** The JTI of the bearer token in a kubeconfig file (a service-account token from a TokenRequest). */
export function tokenJti(kubeconfigFile: string): string {
  const doc = parse(readFileSync(kubeconfigFile, 'utf8')) as { users?: { user?: { token?: string } }[] };
  const token = doc.users?.[0]?.user?.token;
  if (!token) throw new Error(`${kubeconfigFile} has no token`);
  const payload = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as { jti?: string };
  if (!payload.jti) throw new Error(`the token in ${kubeconfigFile} has no jti`);
  return payload.jti;
}

/**
 * One GET with `kc`'s identity (the admin's) of a ConfigMap that does not exist (404), answered with its
 * Audit-Id header; then wait until that event is in the log. Every request answered before the fence was
 * sent is in the log by then (the log backend writes in blocking mode).
 */
export async function auditFence(kc: k8s.KubeConfig, timeoutMs = 15_000, file = AUDIT_LOG): Promise<string> {
  const cluster = kc.getCurrentCluster();
  const user = kc.getCurrentUser();
  if (!cluster || !user?.token) throw new Error('auditFence: needs a kubeconfig with a token');
  const url = new URL(
    `/api/v1/namespaces/default/configmaps/tempest-audit-fence-${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`,
    cluster.server,
  );
  const ca = cluster.caData ? Buffer.from(cluster.caData, 'base64') : cluster.caFile ? readFileSync(cluster.caFile) : undefined;
  const id = await new Promise<string>((resolve, reject) => {
    const req = request(url, { method: 'GET', ca, headers: { Authorization: `Bearer ${user.token}`, Accept: 'application/json' } }, (res) => {
      res.resume();
      const h = res.headers['audit-id'];
      if (typeof h === 'string' && h) resolve(h);
      else reject(new Error(`auditFence: no Audit-Id header (HTTP ${res.statusCode})`));
    });
    req.on('error', reject);
    req.end();
  });
  const t0 = Date.now();
  for (;;) {
    // the newest event is in the current file (or, right after a rotation, in the newest backup)
    const found = logFiles(file)
      .slice(-2)
      .some((f) => readFileSync(f, 'utf8').includes(`"auditID":"${id}"`));
    if (found) return id;
    if (Date.now() - t0 > timeoutMs) {
      throw new Error(
        `auditFence: event ${id} did not appear in ${file} within ${timeoutMs} ms: is kube-apiserver running with --audit-log-path (scripts/k8s-up)?`,
      );
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}
