/** pod-memory-hog: NUMBER_OF_WORKERS workers each holding MEMORY_CONSUMPTION MB inside the target pod. */
import { defineFault } from '../descriptor.js';
import { dnsLabelParam, imageParam, intParam } from '../params.js';

export const podMemoryHog = defineFault({
  name: 'pod-memory-hog',
  style: 'sustained',
  summary: 'memory stress in the target pod (stress-ng in an ephemeral container; local: stressor processes)',
  defaultDurationS: 60,
  params: [
    intParam('MEMORY_CONSUMPTION', 'memoryConsumptionMb', { min: 1, max: (l) => l.maxMemoryMb, maxName: 'maxMemoryMb', dflt: 500, unit: 'MB' }),
    intParam('NUMBER_OF_WORKERS', 'numberOfWorkers', { min: 1, max: (l) => l.maxStressWorkers, maxName: 'maxStressWorkers', dflt: 1 }),
    dnsLabelParam('TARGET_CONTAINER', 'targetContainer'),
    imageParam('STRESS_IMAGE', 'stress'),
    imageParam('TOOLS_IMAGE', 'tools'),
  ],
  refine(p, l) {
    const total = (p.memoryConsumptionMb ?? 500) * (p.numberOfWorkers ?? 1);
    return total > l.maxMemoryMb
      ? [{ env: 'MEMORY_CONSUMPTION', message: `MEMORY_CONSUMPTION x NUMBER_OF_WORKERS is ${total} MB, more than limits.maxMemoryMb (${l.maxMemoryMb} MB)` }]
      : [];
  },
  images: ['stress', 'tools'],
  platforms: { local: true, kubernetes: true },
  rbac: [{ apiGroup: '', resources: ['pods/ephemeralcontainers'], verbs: ['patch'], why: 'add the stressor and, on revert, the undo container' }],
});
