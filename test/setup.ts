/** Quiet the SDK's worker logs in tests (warnings and errors still show). */
import { DefaultLogger, Runtime } from '@temporalio/worker';

try {
  Runtime.install({ logger: new DefaultLogger((process.env.TEMPEST_TEST_LOG_LEVEL as 'WARN') ?? 'WARN') });
} catch {
  /* already installed in this process */
}
