/**
 * Replay every recorded history in test/histories/ against the current workflow code. A failure here
 * means a change broke determinism for runs already in flight: put it behind patched().
 * Record a new one with: node --import tsx scripts/record-history.ts <workflowId> test/histories/<name>.json
 * (and add its workflow id to test/histories/workflow-ids.json if it starts child workflows).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from '@temporalio/worker';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils.js';
import { workflowBundle } from '../../workers/worker.js';
import { ROOT } from '../helpers/temporal.js';

const dir = join(ROOT, 'test/histories');
const files = readdirSync(dir).filter((f) => f.endsWith('.json') && f !== 'workflow-ids.json');
const ids = JSON.parse(readFileSync(join(dir, 'workflow-ids.json'), 'utf8')) as Record<string, string>;

test('there is at least one recorded history', () => {
  expect(files.length).toBeGreaterThan(0);
});

test.each(files)(
  'replays %s deterministically',
  async (file) => {
    const history = historyFromJSON(JSON.parse(readFileSync(join(dir, file), 'utf8')));
    await Worker.runReplayHistory({ workflowBundle: await workflowBundle() }, history, ids[file] ?? file.replace(/\.json$/, ''));
  },
  60_000,
);
