/**
 * The tenant rules of the controller: whoever may create a ChaosEngine in a namespace is an experiment author for
 * that namespace only. On top of the operator's policy (blast radius, probe allowlists, limits — the loader and the
 * worker check those), an engine that arrives through the API reaches nothing outside its own namespace:
 *  - its target (`appinfo.appns`);
 *  - a cmdProbe's `source` pod (it would exec there and bring the output back into the tenant's ChaosResult);
 *  - a k8sProbe's namespace (it would read, create or delete objects there);
 *  - an httpProbe's in-cluster service URL `<svc>.<ns>.svc[.cluster.local]` (the worker's network identity is not
 *    the tenant's: NetworkPolicies would not apply).
 * promProbe endpoints are left to the policy's probe allowlists (Prometheus is usually another namespace's, and a
 * query reads metrics, it changes nothing). A namespace the operator lists in `controller.crossNamespaceFrom` (a
 * platform team's own) is exempt — and still bounded by the blast radius.
 */
import type { ConfigProblem } from '../../config/errors.js';
import type { ExperimentSpec } from '../../config/spec.js';
import type { TempestConfig } from '../../config/tempest-config.js';

/** The namespace an in-cluster service URL names (`http://svc.ns.svc:80/x`, `svc.ns.svc.cluster.local`), if any. */
export function serviceNamespace(url: string): string | undefined {
  let host: string;
  try {
    host = new URL(url).hostname.toLowerCase().replace(/\.$/, '');
  } catch {
    return undefined;
  }
  const m = /^[a-z0-9-]+\.([a-z0-9-]+)\.svc(\.cluster\.local)?$/.exec(host) ?? /^[a-z0-9-]+\.[a-z0-9-]+\.([a-z0-9-]+)\.svc(\.cluster\.local)?$/.exec(host);
  return m?.[1];
}

export function tenantProblems(
  spec: ExperimentSpec,
  namespace: string,
  file: string,
  prefix: string,
  config: Pick<TempestConfig, 'controller' | 'policy'>,
): ConfigProblem[] {
  if (config.controller.crossNamespaceFrom.includes(namespace)) return [];
  const why = `(controller.crossNamespaceFrom of ${config.policy.source} does not list ${namespace})`;
  const out: ConfigProblem[] = [];
  if (spec.target.namespace !== namespace)
    out.push({
      file,
      path: `${prefix}.appinfo.appns`,
      message: `an engine in namespace ${namespace} may only target its own namespace ${why}`,
      value: spec.target.namespace,
    });
  spec.faults.forEach((f, i) =>
    f.probes.forEach((p, j) => {
      const at = `${prefix}.experiments[${i}].spec.probe[${j}]`;
      if (p.type === 'cmdProbe' && p.cmd.source && (p.cmd.source.namespace ?? spec.target.namespace) !== namespace) {
        out.push({
          file,
          path: `${at}.cmdProbe/inputs.source`,
          message: `probe ${p.name} would run in namespace ${p.cmd.source.namespace}: an engine in namespace ${namespace} may only probe its own ${why}`,
          value: p.cmd.source.namespace,
        });
      }
      if (p.type === 'k8sProbe' && p.k8s.namespace !== undefined && p.k8s.namespace !== namespace) {
        out.push({
          file,
          path: `${at}.k8sProbe/inputs.namespace`,
          message: `probe ${p.name} would reach namespace ${p.k8s.namespace}: an engine in namespace ${namespace} may only probe its own ${why}`,
          value: p.k8s.namespace,
        });
      }
      if (p.type === 'httpProbe') {
        const ns = serviceNamespace(p.http.url);
        if (ns !== undefined && ns !== namespace)
          out.push({
            file,
            path: `${at}.httpProbe/inputs.url`,
            message: `probe ${p.name} would call a service in namespace ${ns}: an engine in namespace ${namespace} may only probe its own ${why}`,
            value: p.http.url,
          });
      }
    }),
  );
  return out;
}
