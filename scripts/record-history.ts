/**
 * Record a finished workflow's history for the replay tests:
 *   node --import tsx scripts/record-history.ts <workflowId> test/histories/<name>.json
 * Replaying recorded histories (test/unit/replay.test.ts) proves workflow changes stay deterministic;
 * a change that alters history must go behind patched().
 */
import { writeFileSync } from 'node:fs';
import { Connection, Client } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';

const [workflowId, out] = process.argv.slice(2);
if (!workflowId || !out) {
  console.error('usage: record-history <workflowId> <out.json>');
  process.exit(2);
}
const connection = await Connection.connect({ address: process.env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233' });
const client = new Client({ connection, namespace: process.env.TEMPORAL_NAMESPACE ?? 'default' });
const history = await client.workflow.getHandle(workflowId).fetchHistory();
writeFileSync(out, historyToJSON(history) + '\n');
console.log(`wrote ${history.events?.length ?? 0} events of ${workflowId} to ${out}`);
await connection.close();
