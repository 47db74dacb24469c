/**
 * Hardening of the worker's config and of what it writes: duplicate guard / trigger / rollback-action names in
 * tempest.yaml are refused; control characters never reach a report or the CLI's output (printable); a report's
 * file name carries the run id, so a workflow id used again never overwrites an earlier report, and stays
 * inside the reports dir whatever the workflow id and run id say.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { ConfigError } from '../../config/errors.js';
import { loadTempestConfig } from '../../config/tempest-config.js';
import { formatReport, printable } from '../../activities/report/format.js';
import { reportName, writeReport } from '../../activities/report/index.js';
import type { ExperimentResult } from '../../activities/types.js';
import { ROOT } from '../helpers/temporal.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'tempest-hardening-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const write = (name: string, text: string) => {
  const f = join(dir, name);
  mkdirSync(dirname(f), { recursive: true });
  writeFileSync(f, text);
  return f;
};

/** Any C0 control but tab and line feed, DEL, any C1 control. */
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/;

// ---------------------------------------------------------------- 3. duplicate names in tempest.yaml

describe('tempest.yaml: guards, triggers and rollback actions are looked up by name, so names must be unique', () => {
  const problemsOf = (text: string, name: string) => {
    const f = write(name, text);
    let err: unknown;
    try {
      loadTempestConfig(f);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const ce = err as ConfigError;
    return { f, ce, problems: ce.problems.map((p) => ({ file: p.file, path: p.path, message: p.message })) };
  };

  test('a second guard of the same name is one problem naming guards[i].name', () => {
    const { f, ce, problems } = problemsOf(
      `guards:
  - { type: http, name: gw, url: "http://gw.example/health", expectStatus: 200 }
  - { type: prometheus, name: budget, endpoint: "http://prom.example:9090", query: "slo:budget", criteria: ">=", value: 0.1 }
  - { type: freeze, name: gw, url: "http://freeze.example/status" }
`,
      'dup-guards.yaml',
    );
    expect(problems).toEqual([{ file: f, path: 'guards[2].name', message: 'a second guard named "gw": names must be unique' }]);
    expect(ce.message).toContain(`${f}: guards[2].name: a second guard named "gw"`);
    // names are unique per list: renamed, it loads, and a trigger may share a guard's name
    const ok = loadTempestConfig(
      write(
        'unique.yaml',
        `guards:
  - { type: http, name: gw, url: "http://gw.example/health", expectStatus: 200 }
  - { type: freeze, name: gw-2, url: "http://freeze.example/status" }
rollbackTriggers:
  triggers:
    - { name: gw, endpoint: "http://prom.example:9090", query: "rate(errors[1m])", criteria: ">", threshold: 0.05 }
rollbackActions:
  - { type: scale, minReplicas: 3 }
  - { type: restartUnhealthy }
`,
      ),
    );
    expect(ok.guards.map((g) => g.name)).toEqual(['gw', 'gw-2']);
    expect(ok.rollbackActions.map((a) => a.name)).toEqual(['Scale up replicas', 'Restart unhealthy pods']);
  });

  test('a second rollback trigger of the same name is one problem naming rollbackTriggers.triggers[i].name', () => {
    const { f, problems } = problemsOf(
      `rollbackTriggers:
  triggers:
    - { name: error-rate, endpoint: "http://prom.example:9090", query: "rate(errors[1m])", criteria: ">", threshold: 0.05 }
    - { name: error-rate, endpoint: "http://prom.example:9090", query: "rate(http_5xx[1m])", criteria: ">", threshold: 0.1 }
`,
      'dup-triggers.yaml',
    );
    expect(problems).toEqual([{ file: f, path: 'rollbackTriggers.triggers[1].name', message: 'a second trigger named "error-rate": names must be unique' }]);
  });

  test('a second rollback action of the same name is one problem naming rollbackActions[i].name, default names included', () => {
    const named = problemsOf(
      `rollbackActions:
  - { type: scale, name: recover, minReplicas: 3 }
  - { type: restartUnhealthy, name: recover }
`,
      'dup-actions.yaml',
    );
    expect(named.problems).toEqual([
      { file: named.f, path: 'rollbackActions[1].name', message: 'a second rollbackAction named "recover": names must be unique' },
    ]);
    // two actions of one type without names get the same default name: the second would never run either
    const defaults = problemsOf(
      `rollbackActions:
  - { type: scale, minReplicas: 3 }
  - { type: scale, minReplicas: 5 }
`,
      'dup-default-actions.yaml',
    );
    expect(defaults.problems).toEqual([
      { file: defaults.f, path: 'rollbackActions[1].name', message: 'a second rollbackAction named "Scale up replicas": names must be unique' },
    ]);
  });
});

// ---------------------------------------------------------------- URLs in tempest.yaml
describe('tempest.yaml URLs: http(s) only and never with credentials, judged on what the URL parser makes of them', () => {
  const problemOf = (url: string): string | undefined => {
    const f = write(
      `url-${Math.random().toString(36).slice(2)}.yaml`,
      `guards:\n  - { type: http, name: gw, url: ${JSON.stringify(url)}, expectStatus: 200 }\n`,
    );
    try {
      loadTempestConfig(f);
      return undefined;
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigError);
      return (e as ConfigError).problems.map((p) => `${p.path}: ${p.message}`).join('; ');
    }
  };
  test.each([
    ['https:///user:pw@gw.example/health'], // the parser skips the extra slashes: credentials all the same
    ['http://user:pw@gw.example/health'],
    ['http://user@gw.example/health'],
    ['http://:pw@gw.example/health'],
  ])('%s is refused: credentials', (url) => expect(problemOf(url)).toBe('guards[0].url: must not carry credentials (use a secret reference)'));
  test.each([['ftp://gw.example/x'], ['file:///etc/passwd'], ['javascript:alert(1)'], ['gopher://gw.example/']])('%s is refused: not http(s)', (url) =>
    expect(problemOf(url)).toContain('guards[0].url: must be an http:// or https:// URL'),
  );
  test.each([['http://gw.example/health'], ['HTTPS://gw.example:8443/health?x=@y'], ['http://[::1]:8080/']])('%s loads', (url) =>
    expect(problemOf(url)).toBeUndefined(),
  );
});

// ---------------------------------------------------------------- 4. printable reports and CLI output

const ESCAPES = '\u001b]0;owned\u0007\u001b[2J\u009b31m\u0000\r\u007f\u0085';

function result(over: Partial<ExperimentResult> = {}): ExperimentResult {
  return {
    workflowId: 'api-gateway-chaos-20261126T101500-ab12',
    runId: '0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b',
    experiment: `api-gateway-chaos${ESCAPES}`,
    target: { namespace: 'footanalytics', labelSelector: `app=api${ESCAPES}`, kind: 'deployment' },
    verdict: 'Aborted',
    reason: `aborted: pager went off${ESCAPES}\nsecond line\tTAB`,
    probeSuccessPercentage: 50,
    hypothesis: `the gateway survives${ESCAPES}`,
    hypothesisValidated: false,
    hypothesisPlan: {
      steadyState: [{ description: `health green${ESCAPES}`, probe: 'gw-health' }],
      experiment: [`kill half the pods${ESCAPES}`],
      successCriteria: [{ description: `p95 < 500ms${ESCAPES}` }],
      rollbackPlan: [`scale up${ESCAPES}`],
    },
    dryRun: false,
    startedAt: '2026-11-26T10:15:00.000Z',
    endedAt: '2026-11-26T10:16:00.000Z',
    guards: [{ name: 'freeze', type: 'freeze', passed: true, reason: `no freeze${ESCAPES}` }],
    faults: [
      {
        name: 'pod-delete',
        index: 0,
        state: 'reverted',
        rounds: 2,
        affected: [`pod-a${ESCAPES}`],
        revert: { undone: [`pod-a${ESCAPES}`], verification: `3/3 ready${ESCAPES}`, at: '2026-11-26T10:16:00.000Z' },
      },
    ],
    probes: [
      {
        name: 'gw-health',
        type: 'httpProbe',
        mode: 'Continuous',
        fault: 'pod-delete',
        status: 'Failed',
        runs: 2,
        failures: 1,
        lastReason: `GET http://gw -> 503${ESCAPES}`,
      },
    ],
    breach: { name: 'error-rate', query: 'rate(errors[1m])', value: 0.2, criteria: '>', threshold: `0.05${ESCAPES}`, at: '2026-11-26T10:15:30.000Z' },
    rollbackActions: [{ name: 'page', type: 'pagerduty', status: 'failed', detail: `HTTP 500: ${ESCAPES}` }],
    timeline: [{ at: '2026-11-26T10:15:01.000Z', message: `note from the team: ${ESCAPES}` }],
    ...over,
  };
}

describe('printable: control characters become U+FFFD, line breaks and tabs stay', () => {
  test.each<[string, string]>([
    ['\u001b[2J\u001b[H', '\ufffd[2J\ufffd[H'], // ESC (CSI sequences)
    ['\u001b]0;title\u0007', '\ufffd]0;title\ufffd'], // OSC, BEL
    ['nul\u0000byte', 'nul\ufffdbyte'],
    ['c1 \u009b31m csi, \u0085 nel, \u009d osc', 'c1 \ufffd31m csi, \ufffd nel, \ufffd osc'],
    ['del\u007f', 'del\ufffd'],
    ['carriage\rreturn \b\u000b\u000c', 'carriage\ufffdreturn \ufffd\ufffd\ufffd'],
    ['line\nbreak\ttab', 'line\nbreak\ttab'],
    ['bidi \u202eevil\u202c and \u2066isolate\u2069', 'bidi \ufffdevil\ufffd and \ufffdisolate\ufffd'], // Trojan-source reordering
    ['é ü ✓ 🌩 \u00a0nbsp', 'é ü ✓ 🌩 \u00a0nbsp'],
  ])('%j -> %j', (input, want) => expect(printable(input)).toBe(want));

  test('formatReport: nothing from a run (name, reasons, probe reasons, notes, plan, actions) carries a control character', () => {
    const text = formatReport(result(), { uiUrl: 'http://127.0.0.1:8233', namespace: 'default' });
    expect(text).not.toMatch(CONTROL);
    expect(text).toContain(`# Tempest experiment report: api-gateway-chaos\ufffd]0;owned\ufffd\ufffd[2J\ufffd31m\ufffd\ufffd\ufffd\ufffd`);
    for (const want of [
      'aborted: pager went off\ufffd',
      'no freeze\ufffd',
      'last: GET http://gw -> 503\ufffd',
      'note from the team: \ufffd',
      'HTTP 500: \ufffd',
      '- scale up\ufffd',
      'health green\ufffd',
      '3/3 ready\ufffd',
    ]) {
      expect(text).toContain(want);
    }
    // the reason's own line break and tab are kept, and the report is still one line per entry
    expect(text).toContain('pager went off\ufffd]0;owned\ufffd\ufffd[2J\ufffd31m\ufffd\ufffd\ufffd\ufffd\nsecond line\tTAB');
    expect(text.split('\n').filter((l) => l.startsWith('## '))).toEqual([
      '## Hypothesis plan',
      '## Safety checks',
      '## Faults',
      '## Rollback actions',
      '## Probes',
      '## Timeline',
    ]);
  });

  test('writeReport: the Markdown file is printable too', () => {
    const reports = join(dir, 'printable-reports');
    const md = writeReport(reports, result());
    expect(readFileSync(md, 'utf8')).not.toMatch(CONTROL);
    expect(readFileSync(md, 'utf8')).toContain('note from the team: \ufffd');
  });

  test('the CLI prints nothing unprintable: `tempest validate` of a game day whose participant carries terminal escapes', async () => {
    const f = write(
      'escapes-gameday.yaml',
      `apiVersion: tempest.io/v1alpha1
kind: GameDay
metadata:
  name: escapes
spec:
  catalog:
    step_one: { manual: "do the thing" }
  game_days:
    duration: "1 hour"
    participants:
      - "alice\\e]0;owned\\a\\e[2J\\x9b31m\\0and\\tbob"
    scenarios:
      - name: "S"
        duration: "1 hour"
        experiments: [step_one]
`,
    );
    const r = await new Promise<{ code: number | null; out: string; err: string }>((done) => {
      const p = spawn(`${ROOT}bin/tempest`, ['validate', f], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      p.stdout.on('data', (d) => (out += d));
      p.stderr.on('data', (d) => (err += d));
      p.on('exit', (code) => done({ code, out, err }));
    });
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toContain(`${f}: GameDay escapes (on demand, 1h; alice\ufffd]0;owned\ufffd\ufffd[2J\ufffd31m\ufffdand\tbob)`);
    expect(r.out).not.toMatch(CONTROL);
  }, 60_000);
});

// ---------------------------------------------------------------- 5. report file names

describe('reportName / writeReport: one report per run, always inside the reports dir', () => {
  test('the name is the workflow id plus the start of the run id', () => {
    expect(reportName('api-gateway-chaos-20261126T101500-ab12', '0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b')).toBe(
      'api-gateway-chaos-20261126T101500-ab12.0193a1b2',
    );
    expect(reportName('wf', 'another-run-id')).toBe('wf.anotherr');
    expect(reportName('wf', '0193a1b2-c3d4')).not.toBe(reportName('wf', '7e5f8a9b-0c1d'));
  });

  test('two runs of the same workflow id keep two reports', () => {
    const reports = join(dir, 'reports-reuse');
    const a = writeReport(reports, result({ workflowId: 'nightly', runId: '11111111-aaaa-4aaa-8aaa-aaaaaaaaaaaa', verdict: 'Pass', reason: 'first run' }));
    const b = writeReport(reports, result({ workflowId: 'nightly', runId: '22222222-bbbb-4bbb-8bbb-bbbbbbbbbbbb', verdict: 'Fail', reason: 'second run' }));
    expect(a).not.toBe(b);
    expect(readdirSync(reports).sort()).toEqual(['nightly.11111111.json', 'nightly.11111111.md', 'nightly.22222222.json', 'nightly.22222222.md']);
    expect(readFileSync(a, 'utf8')).toContain('Reason:    first run');
    expect(readFileSync(b, 'utf8')).toContain('Reason:    second run');
    expect(JSON.parse(readFileSync(join(reports, 'nightly.11111111.json'), 'utf8')).reason).toBe('first run');
  });

  test('a workflow id or run id with odd characters never names a path: hashed / stripped, the files stay inside the dir', () => {
    const odd = ['../../etc/passwd', 'a/b', '/abs', '.hidden', 'a..b', '-flag', 'x'.repeat(201), 'ünïcode', 'sp ace', 'nul\u0000', ''];
    const names = odd.map((w) => reportName(w, '33333333-cccc'));
    for (const n of names) expect(n).toMatch(/^run-[0-9a-f]{16}\.33333333$/);
    expect(new Set(names).size).toBe(odd.length); // each its own hash
    // a run id is cut to its first 8 letters and digits: no separator, no dot, no slash from it
    expect(reportName('wf', '../../../x/y')).toBe('wf.xy');
    expect(reportName('wf', '../..')).toBe('wf');
    const reports = join(dir, 'reports-odd');
    const outside = join(dir, 'evil');
    const md = writeReport(reports, result({ workflowId: '../evil', runId: '../../evil/x' }));
    expect(dirname(md)).toBe(resolve(reports));
    expect(md).toMatch(/\/run-[0-9a-f]{16}\.evilx\.md$/);
    expect(existsSync(`${outside}.md`)).toBe(false);
    expect(readdirSync(reports)).toHaveLength(2);
  });
});
