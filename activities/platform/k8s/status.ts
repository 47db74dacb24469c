/**
 * Reading a failed Kubernetes API call: its Status object, what the call was trying to do, and the parts of an RBAC
 * refusal. Pure functions with no runtime dependency on @kubernetes/client-node, so both the kubernetes platform
 * (platform/k8s/client.ts, typed failures) and the k8sProbe (probes/k8s.ts, which loads the client lazily) share them.
 */

/** What a call was trying to do: the words of the RBAC rule it needs. */
export interface K8sOp {
  verb: string;
  /** plural resource, with subresource: "pods", "pods/exec", "deployments" */
  resource: string;
  namespace?: string;
  name?: string;
}

export function describeOp(op: K8sOp): string {
  return `${op.verb} ${op.resource}${op.name ? ` ${op.name}` : ''}${op.namespace ? ` in namespace ${op.namespace}` : ''}`;
}

/** The Status object of a failed API call, whatever shape the client handed it over in. */
export interface K8sStatus {
  code?: number;
  reason?: string;
  message?: string;
}

/** The Status of an API error (`code` + `body`, the body a Status object or its JSON text); undefined for anything else. */
export function statusOf(err: unknown): K8sStatus | undefined {
  const e = err as { code?: unknown; body?: unknown };
  if (typeof e?.code !== 'number') return undefined;
  let body: unknown = e.body;
  if (typeof body === 'string') {
    try {
      body = JSON.parse(body);
    } catch {
      body = { message: body };
    }
  }
  const b = (body ?? {}) as K8sStatus;
  return { code: e.code, reason: b.reason, message: b.message };
}

/** `User "u" cannot list resource "pods" in API group "" in the namespace "ns"` -> its parts. */
export function parseForbidden(message: string): { user?: string; verb?: string; resource?: string; group?: string; namespace?: string } {
  const m = /User "([^"]*)" cannot (\S+) resource "([^"]+)"(?: in API group "([^"]*)")?(?: in the namespace "([^"]+)")?/.exec(message);
  if (!m) return {};
  return { user: m[1], verb: m[2], resource: m[3], group: m[4], namespace: m[5] };
}
