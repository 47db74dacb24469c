/**
 * Rollback triggers (activities/rollback/triggers) against a real Prometheus scraping a real fleet every second.
 * The seed's triggers (seedTriggers in test/helpers/prometheus.ts), with a 15 s rate window so a test sees them move
 * within seconds:
 *   error rate  sum(rate(http_requests_total{job="api-gateway",code=~"5.."}[15s])) / sum(rate(http_requests_total{job="api-gateway"}[15s]))  >= 0.05
 *   P95         histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket{job="api-gateway"}[15s])))          >= 2
 * The test drives bounded traffic (20 req/s) through the fleet's balancer and flips the replicas' behaviour
 * through the fleet's control API, exactly as a chaos fault would. No mocks. Skipped, with the reason, only when
 * Prometheus cannot be installed.
 */
import { MockActivityEnvironment } from '@temporalio/testing';
import { promInstant } from '../../activities/prometheus.js';
import { evaluateTriggers } from '../../activities/rollback/triggers.js';
import type { RollbackTriggerSpec } from '../../config/spec.js';
import type { TriggerBreach, TriggersBlind } from '../../activities/types.js';
import { freePort, startFleet, startTraffic, waitFor, type TestFleet, type Traffic } from '../helpers/fleet.js';
import { ensurePrometheus, describeWithPrometheus, seedTriggers, startPrometheus, type PrometheusHandle } from '../helpers/prometheus.js';

const JOB = 'api-gateway';

/** evaluateTriggers inside a real activity Context (it logs through the activity logger). */
function evaluateIn(env: MockActivityEnvironment, triggers: RollbackTriggerSpec[]): Promise<TriggerBreach | TriggersBlind | null> {
  return env.run(evaluateTriggers, triggers);
}

/** Calls evaluateTriggers every second (inside a real activity Context) until done() says so or timeoutMs passes. */
async function pollTriggers(
  triggers: RollbackTriggerSpec[],
  done: (b: TriggerBreach | null) => boolean,
  timeoutMs: number,
  seen: Array<TriggerBreach | TriggersBlind | null> = [],
): Promise<TriggerBreach | null> {
  const env = new MockActivityEnvironment();
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const got = await evaluateIn(env, triggers);
    seen.push(got);
    // Prometheus is up in these tests: a "blind" poll says nothing about the triggers (it is never "done").
    const b = got && 'blind' in got ? undefined : got;
    if (b !== undefined && done(b)) return b;
    if (Date.now() > deadline) {
      throw new Error(`triggers did not reach the expected state in ${timeoutMs} ms; last: ${JSON.stringify(b)}; seen: ${JSON.stringify(seen.slice(-5))}`);
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
}

const availability = await ensurePrometheus();
const describePrometheus = describeWithPrometheus(availability);

describePrometheus('rollback triggers (real Prometheus scraping a real fleet under traffic)', () => {
  let fleet: TestFleet | undefined;
  let prom: PrometheusHandle | undefined;
  let load: Traffic | undefined;
  let ERROR_RATE: string;
  let P95: string;
  let triggers: RollbackTriggerSpec[];
  let errorRate: RollbackTriggerSpec;
  let p95: RollbackTriggerSpec;

  beforeAll(async () => {
    if (!availability.ok) return;
    fleet = await startFleet({ name: JOB, replicas: 3 });
    prom = await startPrometheus({ bin: availability.bin, targets: fleet.targets, job: JOB });
    await prom.waitForTargetsUp(30_000);
    [errorRate, p95] = seedTriggers(prom.url, JOB, '15s') as [RollbackTriggerSpec, RollbackTriggerSpec];
    triggers = [errorRate, p95];
    [ERROR_RATE, P95] = [errorRate.query, p95.query];
  }, 90_000);

  afterEach(async () => {
    await load?.stop();
    load = undefined;
  });

  afterAll(async () => {
    await load?.stop();
    await prom?.stop();
    await fleet?.stop();
  }, 60_000);

  test('healthy fleet under 20 req/s: neither trigger fires, and both queries have real values', async () => {
    load = startTraffic(fleet!.balancerUrl, 20, 30_000);
    // Wait until the P95 query has a value that includes our traffic (the 15 s window holds >= 2 scrapes with it).
    await new Promise((r) => setTimeout(r, 4000));
    const seen: Array<TriggerBreach | TriggersBlind | null> = [];
    const values: Array<{ err: number | null; p95: number | null; total: number | null }> = [];
    const until = Date.now() + 12_000;
    while (Date.now() < until) {
      seen.push(await evaluateIn(new MockActivityEnvironment(), triggers));
      values.push({
        err: await promInstant(prom!.url, ERROR_RATE),
        p95: await promInstant(prom!.url, P95),
        total: await promInstant(prom!.url, `sum(rate(http_requests_total{job="${JOB}"}[15s]))`),
      });
      await new Promise((r) => setTimeout(r, 1000));
    }
    const stats = await load.stop();
    expect(seen.length).toBeGreaterThanOrEqual(8);
    expect(seen.every((b) => b === null)).toBe(true);
    // Not vacuous: Prometheus sees our traffic (20 req/s, plus readiness probes and scrapes) with a sub-second P95.
    // The error-rate query itself is empty (or 0) while no replica ever answered a 5xx: PromQL's sum() over no
    // series is no sample, and an empty result is not a breach.
    const last = values[values.length - 1]!;
    expect(last.total!).toBeGreaterThanOrEqual(15);
    expect(values.every((v) => v.err === null || v.err === 0)).toBe(true);
    expect(last.p95).not.toBeNull();
    expect(Number.isFinite(last.p95)).toBe(true);
    expect(last.p95!).toBeLessThan(0.5);
    expect(stats.sent).toBeGreaterThanOrEqual(250); // ~16 s at 20 req/s
    // Every request answered 200, except the few still in flight when stop() aborted them (at 20 req/s with a
    // sub-second P95 that is at most a handful): no 5xx, no connection error.
    const { '200': ok = 0, aborted = 0, ...others } = stats.byStatus;
    expect(others).toEqual({});
    expect(aborted).toBeLessThanOrEqual(5);
    expect(ok + aborted).toBe(stats.sent);
  }, 60_000);

  test('errorRate 0.5 on every replica: the error-rate trigger fires with its value', async () => {
    load = startTraffic(fleet!.balancerUrl, 20, 60_000);
    await fleet!.setBehaviourAll({ errorRate: 0.5 }, 120);
    const started = Date.now();
    const breach = await pollTriggers(triggers, (b) => b !== null, 45_000);
    expect(breach).toMatchObject({ name: 'error-rate', query: ERROR_RATE, criteria: '>=', threshold: '0.05' });
    expect(breach!.value).toBeGreaterThanOrEqual(0.05);
    expect(breach!.value).toBeLessThanOrEqual(1);
    expect(Number.isNaN(Date.parse(breach!.at))).toBe(false);
    expect(Date.now() - started).toBeLessThan(45_000);
    // The same value Prometheus answers right now is of the same order (errors keep coming at ~50 %).
    const now = await promInstant(prom!.url, ERROR_RATE);
    expect(now!).toBeGreaterThanOrEqual(0.05);
  }, 75_000);

  test('after recovery the triggers stop firing; latencyMs 2500 on every replica then fires the P95 trigger', async () => {
    load = startTraffic(fleet!.balancerUrl, 20, 80_000);
    await fleet!.setBehaviourAll({ errorRate: 0 }, 120);
    // The 15 s window forgets the 500s: nothing fires any more...
    await pollTriggers(triggers, (b) => b === null, 35_000);
    // ...and once no 500 is left in the window at all, slower answers (fewer completed requests per second)
    // cannot push the error ratio back over 5 %.
    await waitFor('the error rate to be back to 0', async () => (await promInstant(prom!.url, ERROR_RATE)) === 0, 35_000, 1000);

    await fleet!.setBehaviourAll({ latencyMs: 2500 }, 120);
    const breach = await pollTriggers(triggers, (b) => b !== null, 40_000);
    expect(breach).toMatchObject({ name: 'p95-latency', query: P95, criteria: '>=', threshold: '2' });
    // 2.5 s observations land in the (2.5, 5] bucket: the interpolated P95 is in that range.
    expect(breach!.value).toBeGreaterThanOrEqual(2);
    expect(breach!.value).toBeLessThanOrEqual(5);
    await fleet!.setBehaviourAll({}, 120); // back to normal
  }, 85_000);

  test('a ratio that becomes +Inf (errors per success, with every request failing) still fires', async () => {
    // Prometheus answers "+Inf" here; a trigger must treat it as the worst value, not as "no value".
    const perSuccess: RollbackTriggerSpec = {
      name: 'errors-per-success',
      endpoint: prom!.url,
      query:
        `sum(rate(http_requests_total{job="${JOB}",route="/health",code=~"5.."}[5s]))` +
        ` / sum(rate(http_requests_total{job="${JOB}",route="/health",code!~"5.."}[5s]))`,
      criteria: '>=',
      threshold: '1',
    };
    load = startTraffic(fleet!.balancerUrl, 20, 60_000);
    await fleet!.setBehaviourAll({ errorRate: 1 }, 60);
    const breach = await pollTriggers([perSuccess], (b) => b !== null && b.value === Infinity, 40_000);
    expect(breach).toMatchObject({ name: 'errors-per-success', value: Infinity, threshold: '1' });
    await fleet!.setBehaviourAll({}, 60);
  }, 70_000);

  test('an unreachable Prometheus is not a breach by itself but "blind", naming the trigger and why; an empty result is neither', async () => {
    const port = await freePort();
    const env = new MockActivityEnvironment();
    expect(await evaluateIn(env, [{ ...errorRate, endpoint: `http://127.0.0.1:${port}` }])).toMatchObject({
      blind: true,
      names: [errorRate.name],
      reason: expect.stringMatching(/fetch failed|ECONNREFUSED/),
    });
    expect(await evaluateIn(env, [{ ...errorRate, query: 'up{job="no-such-job"}', criteria: '<=', threshold: '1' }])).toBeNull();
  });
});
