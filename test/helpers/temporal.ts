/** Real Temporal servers for tests: the time-skipping test server and the dev server, from the project venv. */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { TestWorkflowEnvironment } from '@temporalio/testing';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const TEST_SERVER = `${ROOT}.venv/bin/temporal-test-server`;
export const TEMPORAL_CLI = `${ROOT}.venv/bin/temporal`;

function need(path: string): string {
  if (!existsSync(path)) throw new Error(`${path} is missing: run scripts/setup first`);
  return path;
}

export async function timeSkippingEnv(): Promise<TestWorkflowEnvironment> {
  return TestWorkflowEnvironment.createTimeSkipping({ server: { executable: { type: 'existing-path', path: need(TEST_SERVER) } } });
}

/** The dev server that scripts/temporal-dev started (scripts/test starts it), or TEMPORAL_ADDRESS. */
export async function devServerEnv(): Promise<TestWorkflowEnvironment> {
  return TestWorkflowEnvironment.createFromExistingServer({ address: process.env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233', namespace: 'default' });
}

/**
 * One time-skipping server for the enclosing describe block (or file): started in beforeAll, torn down in
 * afterAll. Use the returned getter inside tests.
 */
export function useTimeSkippingEnv(): () => TestWorkflowEnvironment {
  let env: TestWorkflowEnvironment | undefined;
  beforeAll(async () => {
    env = await timeSkippingEnv();
  }, 120_000);
  afterAll(async () => {
    await env?.teardown();
  });
  return () => {
    if (!env) throw new Error('time-skipping server not started');
    return env;
  };
}
