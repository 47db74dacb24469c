/**
 * Quiet the SDK in tests: worker and native core logs at ERROR. Expected activity failures would log at WARN
 * with full stacks, and the time-skipping server makes core warn about a capability it lacks.
 * TEMPEST_TEST_LOG_LEVEL=INFO (or WARN, DEBUG) brings them back when debugging.
 */
import { DefaultLogger, Runtime } from '@temporalio/worker';

const level = (process.env.TEMPEST_TEST_LOG_LEVEL ?? 'ERROR') as 'ERROR';
try {
  Runtime.install({
    logger: new DefaultLogger(level),
    telemetryOptions: { logging: { filter: { core: level, other: 'ERROR' }, console: {} } },
  });
} catch {
  /* already installed in this process */
}
