/** pod-memory-hog on the local platform: NUMBER_OF_WORKERS processes, each holding MEMORY_CONSUMPTION MB (touched, so resident). */
import { stressDriver } from '../stress.js';

export const podMemoryHogLocal = stressDriver('memory', (f) => {
  const workers = f.params.numberOfWorkers ?? 1;
  const mb = f.params.memoryConsumptionMb ?? 500;
  return { count: workers, amount: mb, describe: `${workers} worker(s) holding ${mb} MB each` };
});
