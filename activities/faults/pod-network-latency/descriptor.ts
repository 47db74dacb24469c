/** pod-network-latency: NETWORK_LATENCY ms (+ JITTER) on the target pods' NETWORK_INTERFACE. */
import { defineFault } from '../descriptor.js';
import { NETWORK_INTERFACE, dnsLabelParam, imageParam, intParam } from '../params.js';

export const podNetworkLatency = defineFault({
  name: 'pod-network-latency',
  style: 'sustained',
  summary: 'network latency on the target pods (tc netem in an ephemeral container; local: replicas delay their answers)',
  defaultDurationS: 60,
  params: [
    intParam('NETWORK_LATENCY', 'networkLatencyMs', { min: 0, max: (l) => l.maxNetworkLatencyMs, maxName: 'maxNetworkLatencyMs', dflt: 2000, unit: 'ms' }),
    intParam('JITTER', 'jitterMs', { min: 0, max: (l) => l.maxNetworkLatencyMs, maxName: 'maxNetworkLatencyMs', dflt: 0, unit: 'ms' }),
    NETWORK_INTERFACE,
    dnsLabelParam('TARGET_CONTAINER', 'targetContainer'),
    imageParam('NETEM_IMAGE', 'netem'),
  ],
  images: ['netem'],
  platforms: { local: true, kubernetes: true },
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
