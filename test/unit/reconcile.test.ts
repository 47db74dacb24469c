/**
 * The reconciler's decisions (pure): what a ledger entry's run state means for it, and the cleanup table. The
 * reconciler itself, against a real Temporal server and fleet, is test/integration/reconciler.test.ts.
 */
import { classify, UNKNOWN_RUN_GRACE_MS } from '../../activities/reconcile/index.js';
import type { LedgerFinding } from '../../activities/platform/types.js';
import { cleanupTable } from '../../client/cli.js';

const finding = (over: Partial<LedgerFinding> = {}): LedgerFinding => ({
  key: 'tempest.io/fault.run-1.0',
  runId: 'run-1',
  faultIndex: 0,
  fault: 'pod-network-latency',
  target: { namespace: 'footanalytics', labelSelector: 'app=api', kind: 'deployment' },
  expiresAt: '2026-12-01T10:00:00.000Z',
  where: 'fleet api (footanalytics/app=api)',
  ...over,
});
const T = Date.parse('2026-12-01T10:00:00.000Z');

describe('classify: an open run is never an orphan; a closed one is; an unknown one only after its window', () => {
  test.each([
    ['RUNNING', 'open', 'leave', /run is open \(RUNNING\): its own workflow reverts it/],
    ['TERMINATED', 'closed', 'revert', /run is closed \(TERMINATED\)/],
    ['COMPLETED', 'closed', 'revert', /closed \(COMPLETED\)/],
    ['TIMED_OUT', 'closed', 'revert', /closed \(TIMED_OUT\)/],
    ['CANCELLED', 'closed', 'revert', /closed \(CANCELLED\)/],
  ] as const)('%s -> %s', (status, state, action, why) => {
    const c = classify(finding(), { state, status }, 'default', T + 10 * 3_600_000);
    expect(c).toMatchObject({ state, status, action });
    expect(c.why).toMatch(why);
  });

  test('unknown to this namespace: waits until its dead-man time plus the grace, then reverts; no dead-man time: a person decides', () => {
    const s = { state: 'unknown' as const, status: 'NOT_FOUND' };
    expect(classify(finding(), s, 'default', T).action).toBe('wait');
    expect(classify(finding(), s, 'default', T + UNKNOWN_RUN_GRACE_MS - 1).action).toBe('wait');
    expect(classify(finding(), s, 'default', T + UNKNOWN_RUN_GRACE_MS)).toMatchObject({
      action: 'revert',
      why: 'run unknown to Temporal namespace default, its chaos window ended 2026-12-01T10:00:00.000Z',
    });
    expect(classify(finding({ expiresAt: '' }), s, 'default', T + 86_400_000)).toMatchObject({
      action: 'wait',
      why: expect.stringMatching(/no dead-man time: left for a person/),
    });
  });

  test('an unreadable or mis-keyed entry is refused, whatever the run state', () => {
    expect(classify(finding({ problem: 'the entry is not a readable ledger entry' }), { state: 'closed', status: 'TERMINATED' }, 'default', T)).toMatchObject({
      action: 'refuse',
      why: 'not acted on: the entry is not a readable ledger entry',
    });
  });
});

describe('cleanupTable', () => {
  test('one line per entry, the summary last; control characters from the target never reach the terminal', () => {
    const t = cleanupTable({
      dryRun: false,
      reverted: 1,
      failed: 0,
      clean: false,
      rows: [
        {
          key: 'k1',
          runId: 'run-1',
          fault: 'pod-network-latency',
          where: 'fleet api',
          status: 'TERMINATED',
          action: 'revert',
          why: 'closed',
          outcome: 'reverted',
          verification: '3/3 replicas clean; ledger clean',
        },
        { key: 'k2', runId: '', fault: '', where: 'fleet \u001b[31mapi', status: '-', action: 'refuse', why: 'not acted on: unreadable', outcome: 'left' },
      ],
    });
    const lines = t.split('\n');
    expect(lines).toHaveLength(4);
    expect(lines[0]).toMatch(/^OUTCOME\s+FAULT\s+RUN\s+STATUS\s+WHERE\s+DETAIL$/);
    expect(lines[1]).toMatch(/^reverted\s+pod-network-latency\s+run-1\s+TERMINATED\s+fleet api\s+3\/3 replicas clean; ledger clean$/);
    expect(lines[2]).toContain('fleet \ufffd[31mapi');
    expect(lines[3]).toBe('2 entries: 1 reverted, 0 not verified, 0 to revert, 1 left alone');
    expect(cleanupTable({ dryRun: true, reverted: 0, failed: 0, clean: true, rows: [] })).toBe('no fault-ledger entries: nothing left behind');
  });
});
