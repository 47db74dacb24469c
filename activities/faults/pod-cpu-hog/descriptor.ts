/** pod-cpu-hog: CPU_CORES busy at CPU_LOAD % inside the target pod for the chaos duration. */
import { defineFault } from '../descriptor.js';
import { dnsLabelParam, imageParam, intParam } from '../params.js';

export const podCpuHog = defineFault({
  name: 'pod-cpu-hog',
  style: 'sustained',
  summary: 'CPU stress in the target pod (stress-ng in an ephemeral container; local: stressor processes)',
  defaultDurationS: 60,
  params: [
    intParam('CPU_CORES', 'cpuCores', { min: 0, max: (l) => l.maxCpuCores, maxName: 'maxCpuCores', dflt: 1 }),
    intParam('CPU_LOAD', 'cpuLoad', { min: 0, max: 100, dflt: 100, unit: '%' }),
    dnsLabelParam('TARGET_CONTAINER', 'targetContainer'),
    imageParam('STRESS_IMAGE', 'stress'),
    imageParam('TOOLS_IMAGE', 'tools'),
  ],
  images: ['stress', 'tools'],
  platforms: { local: true, kubernetes: true },
  rbac: [{ apiGroup: '', resources: ['pods/ephemeralcontainers'], verbs: ['patch'], why: 'add the stressor and, on revert, the undo container' }],
});
