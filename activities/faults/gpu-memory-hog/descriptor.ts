/**
 * gpu-memory-hog: hold GPU_MEMORY_PERCENTAGE % of the memory of the target container's own GPUs (its
 * `nvidia.com/gpu` allocation; GPU_VISIBLE_DEVICES `all` means all of those, a list must lie within them).
 */
import { defineFault } from '../descriptor.js';
import { decimalParam, dnsLabelParam, imageParam, shapedParam } from '../params.js';

export const gpuMemoryHog = defineFault({
  name: 'gpu-memory-hog',
  style: 'sustained',
  summary: 'GPU memory hog in the target pod (CUDA allocator in an ephemeral container)',
  defaultDurationS: 60,
  params: [
    decimalParam('GPU_MEMORY_PERCENTAGE', 'gpuMemoryPercentage', { min: 0, max: 100, exclusiveMin: true, dflt: 50 }),
    shapedParam('GPU_VISIBLE_DEVICES', 'gpuVisibleDevices', {
      describe: '"all" (every GPU allocated to the target container), a comma list of GPU indexes (0,1) or of GPU UUIDs (GPU-…) among them',
      max: 1024,
      test: (s) => /^(all|\d{1,3}(,\d{1,3}){0,63}|GPU-[0-9a-f-]{36}(,GPU-[0-9a-f-]{36}){0,63})$/.test(s),
      dflt: 'all',
    }),
    dnsLabelParam('TARGET_CONTAINER', 'targetContainer'),
    imageParam('GPU_STRESS_IMAGE', 'gpu'),
    imageParam('TOOLS_IMAGE', 'tools'),
  ],
  images: ['gpu', 'tools'],
  platforms: { local: 'needs a GPU node on the kubernetes platform', kubernetes: true },
  rbac: [{ apiGroup: '', resources: ['pods/ephemeralcontainers'], verbs: ['patch'], why: 'add the allocator and, on revert, the undo container' }],
});
