/** pod-network-loss: NETWORK_PACKET_LOSS_PERCENTAGE % packet loss on the target pods' NETWORK_INTERFACE. */
import { defineFault } from '../descriptor.js';
import { NETWORK_INTERFACE, decimalParam, dnsLabelParam, imageParam } from '../params.js';

export const podNetworkLoss = defineFault({
  name: 'pod-network-loss',
  style: 'sustained',
  summary: 'packet loss on the target pods (tc netem in an ephemeral container)',
  defaultDurationS: 60,
  params: [
    decimalParam('NETWORK_PACKET_LOSS_PERCENTAGE', 'packetLossPercentage', { min: 0, max: 100, dflt: 100 }),
    NETWORK_INTERFACE,
    dnsLabelParam('TARGET_CONTAINER', 'targetContainer'),
    imageParam('NETEM_IMAGE', 'netem'),
  ],
  images: ['netem'],
  platforms: { local: 'packet loss needs tc netem in a network namespace: use the kubernetes platform', kubernetes: true },
  rbac: [
    {
      apiGroup: '',
      resources: ['pods/ephemeralcontainers'],
      verbs: ['patch'],
      why: 'add the netem container and, if exec is refused on revert, the undo container',
    },
    { apiGroup: '', resources: ['pods/exec'], verbs: ['create'], why: 'revert: tc qdisc del in the running netem container' },
  ],
});
