/**
 * pod-network-loss on Kubernetes: `tc qdisc replace dev <NETWORK_INTERFACE> root netem loss
 * NETWORK_PACKET_LOSS_PERCENTAGE %` from an ephemeral container with NET_ADMIN, held in a self-expiring shell
 * until the dead-man time. Revert and verify: see ephemeralNetemFault in kubernetes-common.ts.
 */
import { ephemeralNetemFault } from '../kubernetes-common.js';

export const podNetworkLossKubernetes = ephemeralNetemFault({
  abbrev: 'netem',
  what: (f) => `packet loss ${f.params.packetLossPercentage ?? 100}%`,
  netem: (f) => ['loss', `${f.params.packetLossPercentage ?? 100}%`],
});
