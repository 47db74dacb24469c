/** pod-cpu-hog on the local platform: CPU_CORES stressor processes (0 = all cores), each busy CPU_LOAD % of the time. */
import { cpus } from 'node:os';
import { stressDriver } from '../stress.js';

export const podCpuHogLocal = stressDriver('cpu', (f, limits) => {
  // 0 = all cores (Litmus), and never more than the operator's limit.
  const cores = f.params.cpuCores || Math.min(cpus().length, limits.maxCpuCores);
  const load = f.params.cpuLoad ?? 100;
  return { count: cores, amount: load, describe: `${cores} core(s) at ${load}% load` };
});
