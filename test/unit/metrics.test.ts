/** The chaos totals' arithmetic (activities/metrics/durable.ts aggregate) and the services count. */
import { aggregate, type RunRecord } from '../../activities/metrics/durable.js';
import { ChaosMetrics, affectedServices } from '../../activities/metrics/index.js';

const run = (experiment: string, verdict: string | undefined, startedAt: number, over: Partial<RunRecord> = {}): RunRecord => ({ workflowId: `${experiment}-${startedAt}`, experiment, namespace: 'footanalytics', verdict, hypothesis: false, startedAt, ...over });

test('totals by experiment and verdict; successes; the status of the last run, or 1 while one is open', () => {
  const t = aggregate([run('a', 'Pass', 1), run('a', 'Fail', 2), run('a', 'Pass', 3), run('b', 'Terminated', 1), run('b', undefined, 2), run('c', 'Fail', 5), run('c', 'Pass', 4)]);
  expect(Object.fromEntries(t.total)).toEqual({ a: 3, b: 1, c: 2 });
  expect(Object.fromEntries(t.verdicts)).toEqual({ 'a\u0000Pass': 2, 'a\u0000Fail': 1, 'b\u0000Terminated': 1, 'c\u0000Fail': 1, 'c\u0000Pass': 1 });
  expect(Object.fromEntries(t.success)).toEqual({ a: 2, c: 1 });
  // a: last (3) passed; b: one is open; c: the last by start time (5) failed, whatever the listing order
  expect(Object.fromEntries(t.status)).toEqual({ 'a\u0000footanalytics': 2, 'b\u0000footanalytics': 1, 'c\u0000footanalytics': 0 });
  expect(aggregate([]).total.size).toBe(0);
});

test('chaos_affected_services_count counts the target workload, not its pods: one 3-replica Deployment is 1', async () => {
  const r = { experiment: 'api-gateway-chaos', target: { namespace: 'footanalytics', labelSelector: 'app=api-gateway', kind: 'deployment' as const }, faults: [{ name: 'pod-delete', index: 0, state: 'reverted' as const, rounds: 6, affected: ['api-gateway-1', 'api-gateway-2', 'api-gateway-3', 'api-gateway-4', 'api-gateway-5', 'api-gateway-6'] }] };
  expect(affectedServices(r)).toBe(1);
  expect(affectedServices({ ...r, faults: [{ ...r.faults[0], affected: [] }] })).toBe(0);
  const m = new ChaosMetrics(false);
  m.finished({ ...r, recoveryMs: 2000 } as never);
  expect(await m.registry.metrics()).toMatch(/chaos_affected_services_count\{experiment_name="api-gateway-chaos"\} 1/);
});
