/** The chaos totals' arithmetic (activities/metrics/durable.ts aggregate) and the services count. */
import { aggregate, labelName, type RunRecord } from '../../activities/metrics/durable.js';
import { ChaosMetrics, affectedServices } from '../../activities/metrics/index.js';

const run = (experiment: string, verdict: string | undefined, startedAt: number, over: Partial<RunRecord> = {}): RunRecord => ({
  workflowId: `${experiment}-${startedAt}`,
  experiment,
  namespace: 'footanalytics',
  verdict,
  hypothesis: false,
  startedAt,
  ...over,
});

test('totals by experiment, namespace and verdict; successes; the last 24 hours; the status of the last run, or 1 while one is open', () => {
  const now = 10 * 86_400_000;
  const t = aggregate(
    [
      run('a', 'Pass', 1, { closedAt: now - 1000 }),
      run('a', 'Fail', 2, { closedAt: now - 2 * 86_400_000 }),
      run('a', 'Pass', 3),
      run('b', 'Terminated', 1),
      run('b', undefined, 2),
      run('c', 'Fail', 5),
      run('c', 'Pass', 4),
    ],
    now,
  );
  const f = 'footanalytics';
  const S = '\u0000';
  expect(Object.fromEntries(t.total)).toEqual({ [`a${S}${f}`]: 3, [`b${S}${f}`]: 1, [`c${S}${f}`]: 2 });
  expect(Object.fromEntries(t.verdicts)).toEqual({
    [`a${S}${f}${S}Pass`]: 2,
    [`a${S}${f}${S}Fail`]: 1,
    [`b${S}${f}${S}Terminated`]: 1,
    [`c${S}${f}${S}Fail`]: 1,
    [`c${S}${f}${S}Pass`]: 1,
  });
  expect(Object.fromEntries(t.last24h)).toEqual({ [`a${S}${f}${S}Pass`]: 1 });
  expect(Object.fromEntries(t.success)).toEqual({ [`a${S}${f}`]: 2, [`c${S}${f}`]: 1 });
  // a: last (3) passed; b: one is open; c: the last by start time (5) failed, whatever the listing order
  expect(Object.fromEntries(t.status)).toEqual({ [`a${S}${f}`]: 2, [`b${S}${f}`]: 1, [`c${S}${f}`]: 0 });
  expect(aggregate([]).total.size).toBe(0);
});

test('labels are bounded: names that are not DNS names become invalid-name, and past maxSeries pairs the rarest are "(other)"', () => {
  const t = aggregate([run('ok', 'Pass', 1), run('ok', 'Pass', 2), run('Bad Name!', 'Pass', 3), run('rare', 'Fail', 4)], Date.now(), 2);
  const S = '\u0000';
  expect(Object.fromEntries(t.total)).toEqual({ [`ok${S}footanalytics`]: 2, [`invalid-name${S}footanalytics`]: 1, [`(other)${S}(other)`]: 1 });
  expect(labelName('x'.repeat(300))).toBe('invalid-name');
});

test('chaos_affected_services_count counts the target workload, not its pods: one 3-replica Deployment is 1', async () => {
  const r = {
    experiment: 'api-gateway-chaos',
    target: { namespace: 'footanalytics', labelSelector: 'app=api-gateway', kind: 'deployment' as const },
    faults: [
      {
        name: 'pod-delete',
        index: 0,
        state: 'reverted' as const,
        rounds: 6,
        affected: ['api-gateway-1', 'api-gateway-2', 'api-gateway-3', 'api-gateway-4', 'api-gateway-5', 'api-gateway-6'],
      },
    ],
  };
  expect(affectedServices(r)).toBe(1);
  expect(affectedServices({ ...r, faults: [{ ...r.faults[0], affected: [] }] })).toBe(0);
  const m = new ChaosMetrics(false);
  m.finished({ ...r, recoveryMs: 2000 } as never);
  expect(await m.registry.metrics()).toMatch(/chaos_affected_services_count\{experiment_name="api-gateway-chaos"\} 1/);
});
