/**
 * The SLO recording rules Tempest ships (deploy/prometheus/slo-rules.yaml), with Prometheus' own tools and a real
 * Prometheus (Debian's package) scraping a real fleet under traffic:
 *  - `promtool check rules` accepts the file, `promtool test rules` evaluates it over hand-computed series;
 *  - every test Prometheus loads the same file (test/helpers/prometheus.ts), and the seed's error-budget guard,
 *    `slo:platform_availability:error_budget_remaining >= 0.1`, queries the recorded rule: it passes while the fleet
 *    answers 200, and blocks chaos once 5xx answers have spent the budget.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { runGuard } from '../../activities/guards/index.js';
import { promInstant } from '../../activities/prometheus.js';
import { ROOT } from '../helpers/temporal.js';
import { startFleet, startTraffic, waitFor, type TestFleet, type Traffic } from '../helpers/fleet.js';
import { SLO_RULES, describeWithPrometheus, ensurePrometheus, startPrometheus, type PrometheusHandle } from '../helpers/prometheus.js';

const availability = await ensurePrometheus();
const promtool = availability.ok ? join(availability.bin, '..', 'promtool') : 'promtool';

describeWithPrometheus(availability)('SLO recording rules (promtool, and a real Prometheus over a real fleet)', () => {
  let fleet: TestFleet | undefined;
  let prom: PrometheusHandle | undefined;
  let load: Traffic | undefined;

  beforeAll(async () => {
    fleet = await startFleet({ name: 'api-gateway', replicas: 3 });
    prom = await startPrometheus({ bin: availability.ok ? availability.bin : '', targets: fleet.targets, job: 'api-gateway' });
    await prom.waitForTargetsUp(30_000);
  }, 90_000);
  afterAll(async () => {
    await load?.stop();
    await prom?.stop();
    await fleet?.stop();
  }, 60_000);

  test('promtool check rules and promtool test rules (hand-computed series) pass', () => {
    const check = spawnSync(promtool, ['check', 'rules', SLO_RULES], { encoding: 'utf8' });
    expect(`${check.stdout}${check.stderr}`).toMatch(/SUCCESS: 6 rules found/);
    expect(check.status).toBe(0);
    const t = spawnSync(promtool, ['test', 'rules', 'slo-rules.test.yaml'], { cwd: join(ROOT, 'deploy/prometheus'), encoding: 'utf8' });
    expect(`${t.stdout}${t.stderr}`).toMatch(/SUCCESS/);
    expect(t.status).toBe(0);
  });

  test("the seed's error-budget guard on the recorded rule: passes while healthy (budget 1), blocks once 5xx answers spent it", async () => {
    const guard = {
      type: 'prometheus',
      name: 'error-budget',
      endpoint: prom!.url,
      query: 'slo:platform_availability:error_budget_remaining',
      criteria: '>=',
      value: '0.1',
    } as const;
    load = startTraffic(fleet!.balancerUrl, 20, 60_000);
    // The rule has a value once Prometheus has two scrapes of traffic; the whole budget is left.
    await waitFor('the error budget recorded', async () => (await promInstant(prom!.url, guard.query)) === 1, 30_000, 500);
    const healthy = await runGuard(guard);
    expect(healthy).toMatchObject({ name: 'error-budget', passed: true, observed: '1' });
    // The other rules have real values too: the P95 of the fleet's answers, no error ratio.
    const p95 = await promInstant(prom!.url, 'slo:http_request_duration_seconds:p95_5m{job="api-gateway"}');
    expect(p95).not.toBeNull();
    expect(p95!).toBeLessThan(0.5);
    expect(await promInstant(prom!.url, 'slo:http_requests:error_ratio_rate5m{job="api-gateway"}')).toBe(0);

    await fleet!.setBehaviourAll({ errorRate: 0.5 }, 120);
    await waitFor(
      'the budget spent',
      async () => {
        const v = await promInstant(prom!.url, guard.query);
        return v !== null && v < 0.1;
      },
      30_000,
      500,
    );
    const spent = await runGuard(guard);
    expect(spent.passed).toBe(false);
    expect(Number(spent.observed)).toBeLessThan(0.1);
    expect(spent.reason).toMatch(/^slo:platform_availability:error_budget_remaining -?[\d.e-]+ is not >= 0\.1$/);
    // The 5-minute error ratio shows the 5xx answers too. It rises as its window fills with them (the budget, over
    // the whole 30 days, is spent by far fewer), so it is waited for, not read once at the moment the budget ran out.
    const errorRatio = 'slo:http_requests:error_ratio_rate5m{job="api-gateway"}';
    await waitFor(
      'the 5 m error ratio above 5 %',
      async () => {
        const v = await promInstant(prom!.url, errorRatio);
        return v !== null && v > 0.05;
      },
      30_000,
      500,
    );
    await fleet!.setBehaviourAll({ errorRate: 0 }, 120);
  }, 90_000);
});
