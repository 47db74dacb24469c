/**
 * pod-network-latency on Kubernetes: `tc qdisc replace dev <NETWORK_INTERFACE> root netem delay
 * NETWORK_LATENCY ms JITTER ms` from an ephemeral container with NET_ADMIN (ephemeral containers share the
 * pod's network namespace), held in a self-expiring shell until the dead-man time. Revert and verify: see
 * ephemeralNetemFault in kubernetes-common.ts.
 */
import { ephemeralNetemFault } from '../kubernetes-common.js';

export const podNetworkLatencyKubernetes = ephemeralNetemFault({
  abbrev: 'netem',
  what: (f) => `network latency +${f.params.networkLatencyMs ?? 2000} ms (jitter ${f.params.jitterMs ?? 0} ms)`,
  netem: (f) => ['delay', `${f.params.networkLatencyMs ?? 2000}ms`, `${f.params.jitterMs ?? 0}ms`],
});
