/**
 * The Kubernetes API for the kubernetes platform: which cluster (KubeConfig), the API clients, and the one
 * place where API errors become Tempest's typed failures (activities/errors.ts):
 *
 *   404            -> TargetNotFound, or "gone" (undefined) where the caller says a missing object is fine
 *   409            -> Conflict (retryable)
 *   403            -> Forbidden, naming the verb, resource and namespace that RBAC (or admission) refused
 *   401            -> Forbidden (the credentials are not accepted)
 *   422, 400       -> FaultRefused (the API refused what we asked for: invalid object)
 *   429, 5xx, network, timeouts -> PlatformUnavailable (retryable)
 *
 * Loaded only by activities/platform/kubernetes.ts, so a local-platform worker never loads the client.
 */
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, dirname, isAbsolute, join, resolve } from 'node:path';
import { AppsV1Api, CoreV1Api, Exec, KubeConfig, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { ApplicationFailure } from '@temporalio/common';
import type { TempestConfig } from '../../../config/tempest-config.js';
import { tempestError } from '../../errors.js';
import { describeOp, parseForbidden, statusOf, type K8sOp, type K8sStatus } from './status.js';

export { describeOp, parseForbidden, type K8sOp, type K8sStatus } from './status.js';

/** Where the mounted service-account token of a pod lives (in-cluster configuration). */
export const IN_CLUSTER_TOKEN = '/var/run/secrets/kubernetes.io/serviceaccount/token';

export interface K8sClients {
  kc: KubeConfig;
  core: CoreV1Api;
  apps: AppsV1Api;
  exec: Exec;
  /** Where the configuration came from, for messages ("kubeconfig /x/y (context z)", "in-cluster"). */
  source: string;
}

/**
 * The cluster to talk to, in this order: platform.kubernetes.kubeconfig (relative to tempest.yaml's folder),
 * KUBECONFIG, ~/.kube/config, the in-cluster service account. Never the client's silent fallback to
 * http://localhost:8080. No network I/O here.
 */
export function loadKubeConfig(config: TempestConfig, env: NodeJS.ProcessEnv = process.env): { kc: KubeConfig; source: string } {
  const k = config.platform.kubernetes;
  const kc = new KubeConfig();
  let source: string;
  try {
    if (k.kubeconfig) {
      const file = isAbsolute(k.kubeconfig) || !config.file ? resolve(k.kubeconfig) : resolve(dirname(resolve(config.file)), k.kubeconfig);
      if (!existsSync(file)) throw new Error(`platform.kubernetes.kubeconfig ${file} does not exist`);
      kc.loadFromFile(file);
      source = `kubeconfig ${file}`;
    } else if (env.KUBECONFIG) {
      // a list, merged as kubectl does: the first file's current context wins
      const [first, ...rest] = env.KUBECONFIG.split(delimiter).filter(Boolean);
      kc.loadFromFile(first);
      for (const f of rest) {
        const more = new KubeConfig();
        more.loadFromFile(f);
        kc.mergeConfig(more, true);
      }
      source = `KUBECONFIG=${env.KUBECONFIG}`;
    } else if (existsSync(join(env.HOME || homedir(), '.kube', 'config'))) {
      const file = join(env.HOME || homedir(), '.kube', 'config');
      kc.loadFromFile(file);
      source = `kubeconfig ${file}`;
    } else if (existsSync(IN_CLUSTER_TOKEN) && env.KUBERNETES_SERVICE_HOST) {
      kc.loadFromCluster();
      source = 'in-cluster service account';
    } else {
      throw new Error(
        'no cluster configured: set platform.kubernetes.kubeconfig, --kubeconfig or KUBECONFIG, create ~/.kube/config, or run in a pod with a service account',
      );
    }
    if (k.context) {
      if (!kc.getContextObject(k.context))
        throw new Error(
          `context "${k.context}" is not in ${source} (has: ${
            kc
              .getContexts()
              .map((c) => c.name)
              .join(', ') || 'none'
          })`,
        );
      kc.setCurrentContext(k.context);
    }
    if (!kc.getCurrentCluster()) throw new Error(`${source} names no current cluster`);
  } catch (e) {
    throw tempestError('FaultRefused', `kubernetes platform: ${(e as Error).message}`);
  }
  return { kc, source: `${source}${kc.currentContext ? ` (context ${kc.currentContext})` : ''}` };
}

export function makeClients(kc: KubeConfig, source: string): K8sClients {
  return { kc, core: kc.makeApiClient(CoreV1Api), apps: kc.makeApiClient(AppsV1Api), exec: new Exec(kc), source };
}

/** Header options for patch calls (client-node 1.x sends application/json-patch+json unless told otherwise). */
export const MERGE_PATCH = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
export const STRATEGIC_MERGE_PATCH = setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch);

/** A Status (from an API error, or from an exec stream) as a typed failure. */
export function failureFromStatus(s: K8sStatus, op: K8sOp, via = 'API'): ApplicationFailure {
  const what = describeOp(op);
  const msg = s.message ?? s.reason ?? `HTTP ${s.code}`;
  const details = { status: s.code, reason: s.reason, verb: op.verb, resource: op.resource, namespace: op.namespace, name: op.name };
  switch (s.code) {
    case 404:
      return tempestError('TargetNotFound', `kubernetes: ${what}: not found (${msg})`, details);
    case 409:
      return tempestError('Conflict', `kubernetes: ${what}: conflict, someone else changed it (${msg})`, details);
    case 401:
      return tempestError('Forbidden', `kubernetes: ${what}: the credentials were not accepted (401 ${msg})`, details);
    case 403: {
      const f = parseForbidden(msg);
      const verb = f.verb ?? op.verb;
      const resource = f.resource ?? op.resource;
      const ns = f.namespace ?? op.namespace;
      const who = f.user ? `${f.user} may not` : 'not allowed to';
      const rbac = f.verb
        ? `RBAC: grant verb "${verb}" on resource "${resource}"${f.group ? ` (API group "${f.group}")` : ''}${ns ? ` in namespace ${ns}` : ''}`
        : 'refused by RBAC or admission';
      return tempestError('Forbidden', `kubernetes: ${who} ${verb} ${resource}${ns ? ` in namespace ${ns}` : ''} (${rbac}): ${msg}`, {
        ...details,
        verb,
        resource,
        namespace: ns,
      });
    }
    case 400:
    case 422:
      return tempestError('FaultRefused', `kubernetes: ${what}: refused by the ${via} (${s.code} ${s.reason ?? ''}): ${msg}`, details);
    default:
      return tempestError('PlatformUnavailable', `kubernetes: ${what}: ${via} answered ${s.code ?? '?'} ${s.reason ?? ''}: ${msg}`, details);
  }
}

/** Any error of a Kubernetes call as a typed failure. Typed failures pass through unchanged. */
export function k8sFailure(err: unknown, op: K8sOp): ApplicationFailure {
  if (err instanceof ApplicationFailure) return err;
  const s = statusOf(err);
  if (s) return failureFromStatus(s, op);
  const e = err as { message?: string; code?: string; type?: string; error?: { message?: string } };
  const text = e?.message ?? e?.error?.message ?? String(err);
  // WebSocket upgrades (exec) only tell the HTTP status in the text.
  const ws = /Unexpected server response: (\d{3})/.exec(text);
  if (ws) return failureFromStatus({ code: Number(ws[1]), message: text }, op, 'API (WebSocket upgrade)');
  return tempestError('PlatformUnavailable', `kubernetes: ${describeOp(op)}: the API server is not answering (${e?.code ? `${e.code}: ` : ''}${text})`, {
    verb: op.verb,
    resource: op.resource,
    namespace: op.namespace,
  });
}

/** Run one API call; errors become typed failures. */
export async function kcall<T>(op: K8sOp, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    throw k8sFailure(e, op);
  }
}

/** Run one API call where a missing object is an answer, not an error (idempotent deletes, reads in revert). */
export async function kcallGone<T>(op: K8sOp, fn: () => Promise<T>): Promise<T | undefined> {
  try {
    return await fn();
  } catch (e) {
    if (statusOf(e)?.code === 404) return undefined;
    throw k8sFailure(e, op);
  }
}

/** true when the error is a 409 (e.g. AlreadyExists on create: idempotent success for deterministic names). */
export function isAlreadyExists(err: unknown): boolean {
  return statusOf(err)?.code === 409;
}
