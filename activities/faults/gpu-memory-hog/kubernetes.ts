/**
 * gpu-memory-hog on Kubernetes: an ephemeral container (the worker's images.gpu, CUDA + PyTorch) in the target pod
 * allocates GPU_MEMORY_PERCENTAGE % of every visible GPU's memory (capped by what is free) and holds it until
 * the dead-man time. Which GPUs it sees is the NVIDIA container runtime's business: ephemeral containers
 * cannot request `nvidia.com/gpu`, so NVIDIA_VISIBLE_DEVICES is set from GPU_VISIBLE_DEVICES (default "all"),
 * which the NVIDIA runtime honours unless it is configured to accept device requests from mounts only.
 * Revert: an undo ephemeral container kills the allocating process (see kubernetes-common.ts).
 * Cannot be exercised without a GPU node: the tests assert the API content only.
 */
import { tempestError } from '../../errors.js';
import { PROCESS_FAULT_RBAC, ephemeralProcessFault } from '../kubernetes-common.js';

/** Holds pct % of each visible GPU until `seconds` have passed; exits 1 if no GPU is visible. */
export const GPU_HOG_SCRIPT = [
  'import os, sys, time',
  'import torch',
  "pct = float(os.environ['GPU_MEMORY_PERCENTAGE']); until = time.time() + float(os.environ['TEMPEST_SECONDS'])",
  'n = torch.cuda.device_count() if torch.cuda.is_available() else 0',
  "if n == 0: print('no CUDA device visible to this container', flush=True); sys.exit(1)",
  'held = []',
  'for i in range(n):',
  '    free, total = torch.cuda.mem_get_info(i)',
  '    want = max(0, min(int(total * pct / 100), free - (64 << 20)))',
  "    held.append(torch.empty(want, dtype=torch.uint8, device=f'cuda:{i}'))",
  "    print(f'cuda:{i}: holding {want >> 20} MiB of {total >> 20} MiB ({pct}% asked)', flush=True)",
  'while time.time() < until: time.sleep(1)',
].join('\n');

export const gpuMemoryHogKubernetes = ephemeralProcessFault({
  abbrev: 'gpu',
  what: (f) => `GPU memory hog, ${f.params.gpuMemoryPercentage ?? 50}% of each visible GPU`,
  role: 'gpu',
  command: () => ['python3', '-c', GPU_HOG_SCRIPT],
  env: (f, seconds) => ({
    GPU_MEMORY_PERCENTAGE: String(f.params.gpuMemoryPercentage ?? 50),
    TEMPEST_SECONDS: String(seconds),
    NVIDIA_VISIBLE_DEVICES: f.params.gpuVisibleDevices ?? 'all',
  }),
  check: (f) => {
    const p = f.params.gpuMemoryPercentage ?? 50;
    if (!(p > 0 && p <= 100)) throw tempestError('FaultRefused', `GPU_MEMORY_PERCENTAGE must be in (0, 100] (got ${p})`);
  },
  rbac: PROCESS_FAULT_RBAC,
});
