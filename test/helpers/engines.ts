/** Seed-shaped ChaosEngines for tests, written as Litmus YAML and parsed by the real config code. */
import { loadText } from '../../config/load.js';
import type { ExperimentSpec } from '../../config/spec.js';

/**
 * The Litmus YAML of a seed-shaped ChaosEngine on a Deployment `app` in `ns`: one experiment `fault` with `env`
 * (`emptyEnv` stands for an empty env list) and, when given, `probes` (YAML list items at probe indentation).
 */
export function engineYaml(name: string, ns: string, app: string, fault: string, env: Record<string, string>, probes = '', emptyEnv = ''): string {
  const envYaml = Object.entries(env)
    .map(([k, v]) => `            - name: ${k}\n              value: ${JSON.stringify(v)}`)
    .join('\n');
  return `apiVersion: litmuschaos.io/v1alpha1
kind: ChaosEngine
metadata:
  name: ${name}
  namespace: ${ns}
spec:
  appinfo:
    appns: ${ns}
    applabel: "app.kubernetes.io/name=${app}"
    appkind: deployment
  chaosServiceAccount: chaos-service-account
  experiments:
    - name: ${fault}
      spec:
        components:
          env:
${envYaml || emptyEnv}
${probes ? `        probe:\n${probes}` : ''}`;
}

export function engine(name: string, fault: string, env: Record<string, string>, probes = ''): ExperimentSpec {
  const text = engineYaml(name, 'footanalytics', 'api-gateway', fault, env, probes);
  const [doc] = loadText(text, `${name}.yaml`);
  if (doc.kind !== 'ChaosEngine') throw new Error('not an engine');
  return doc.experiment;
}

/** The seed's health probe (Continuous, retry 3, interval 2, timeout 5), optionally with other criteria. */
export const healthProbe = (extra = '') => `          - name: "api-gateway-health-check"
            type: "httpProbe"
            mode: "Continuous"
            runProperties:
              probeTimeout: 5
              retry: 3
              interval: 1
              probePollingInterval: 1
            httpProbe/inputs:
              url: "http://api-gateway.footanalytics.svc.cluster.local:4000/health"
              insecureSkipTLS: true
              method:
                get:
                  criteria: ==
                  responseCode: "200"${extra}`;

/** The seed's latency probe shape: POST /graphql, criteria "<" responseTimeout (ms). */
export const latencyProbe = (ms: number) => `          - name: "api-latency-check"
            type: "httpProbe"
            mode: "Continuous"
            runProperties:
              probeTimeout: 5
              attempt: 1
              interval: 1
              probePollingInterval: 1
            httpProbe/inputs:
              url: "http://api-gateway.footanalytics:4000/graphql"
              method:
                post:
                  body: '{"query": "{ health }"}'
                  criteria: "<"
                  responseTimeout: ${ms}`;
