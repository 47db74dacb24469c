/**
 * The `tempest` CLI as a user runs it (bin/tempest in a child process) against the real dev server,
 * a real fleet and an in-process worker: exit codes, progress, report, status/abort/results/list,
 * and bad input refused with exit 2 before anything starts.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Connection, Client } from '@temporalio/client';
import { createWorker } from '../../workers/worker.js';
import { startFleet, waitFor, type TestFleet } from '../helpers/fleet.js';
import { testConfig } from '../helpers/config.js';
import { ROOT } from '../helpers/temporal.js';

let fleet: TestFleet;
let dir: string;

beforeAll(async () => {
  fleet = await startFleet();
  dir = mkdtempSync(join(tmpdir(), 'tempest-cli-'));
}, 90_000);
afterAll(async () => {
  await fleet?.stop();
});

function tempest(args: string[], timeoutMs = 120_000): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn(`${ROOT}bin/tempest`, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (err += d));
    const t = setTimeout(() => {
      p.kill('SIGKILL');
      reject(new Error(`tempest ${args.join(' ')} timed out:\n${out}\n${err}`));
    }, timeoutMs);
    p.on('exit', (code) => {
      clearTimeout(t);
      resolve({ code: code ?? -1, out, err });
    });
  });
}

const seedEngine = () => readFileSync(join(ROOT, 'examples/engines/api-gateway-chaos.yaml'), 'utf8');

function writeEngine(name: string, text: string): string {
  const f = join(dir, name);
  writeFileSync(f, text);
  return f;
}

test('validate: the seed parses; bad input exits 2 naming file, field path and value', async () => {
  const ok = await tempest(['validate', 'examples/engines/api-gateway-chaos.yaml']);
  expect(ok.code).toBe(0);
  expect(ok.out).toContain('pod-delete: 1m every 10s');
  const bad = writeEngine('bad-duration.yaml', seedEngine().replace('value: "60"', 'value: "abc"'));
  const r = await tempest(['validate', bad]);
  expect(r.code).toBe(2);
  expect(r.err).toContain(`${bad}: spec.experiments[0].spec.components.env[0].value: TOTAL_CHAOS_DURATION must be a duration`);
  expect(r.err).toContain('"abc"');
});

test("hostile input: one line per problem, exit 2, no stack trace, refused within a second of the CLI's own start-up", async () => {
  const bomb = [
    'a: &a [x, x, x, x, x, x, x, x, x]',
    ...'bcdefghi'.split('').map((c, i) => `${c}: &${c} [${Array(9).fill(`*${'abcdefghi'[i]}`).join(', ')}]`),
  ].join('\n');
  const cases: Array<[string, string, RegExp]> = [
    ['alias-bomb.yaml', bomb, /expands more than 100 aliases \(limits\.document\.maxAliases\): an alias bomb\?/],
    ['cross-doc-alias.yaml', 'a: &x 1\n---\nb: *x\n', /document 2: Unresolved alias.*an alias can only refer to an anchor earlier in the same document/],
    ['many-docs.yaml', 'a: 1\n---\n'.repeat(20_000), /holds more than 100 YAML documents \(limits\.document\.maxDocuments\)/],
    ['huge.yaml', `a: "${'x'.repeat(20 * 1024 * 1024)}"\n`, /is \d+ bytes, more than the 1048576 a document may have/],
    [
      'proto.yaml',
      seedEngine().replace('  name: api-gateway-chaos', '  name: api-gateway-chaos\n  __proto__: { polluted: true }'),
      /metadata\.__proto__: the key __proto__ is not allowed/,
    ],
    [
      'long-value.yaml',
      seedEngine().replace('value: "60"', `value: "${'9'.repeat(900 * 1024)}"`),
      /TOTAL_CHAOS_DURATION must be a duration.* \(got "9{70,90}…" \(921600 characters\)\)$/m,
    ],
  ];
  /** The faster of two runs: the machine is shared, so one slow run says little. */
  const timed = async (args: string[]) => {
    let best = Infinity;
    let r!: Awaited<ReturnType<typeof tempest>>;
    for (let i = 0; i < 2; i++) {
      const t = Date.now();
      r = await tempest(args);
      best = Math.min(best, Date.now() - t);
    }
    return { r, took: best };
  };
  const startup = (await timed(['--help'])).took; // the CLI's own start-up (node, tsx, modules)
  for (const [name, text, want] of cases) {
    const f = writeEngine(name, text);
    const { r, took } = await timed(['validate', f]);
    expect([name, r.code]).toEqual([name, 2]);
    expect(r.err).toMatch(want);
    expect(r.err).not.toMatch(/\n\s+at /); // no stack trace
    for (const line of r.err.trim().split('\n')) expect(line.length).toBeLessThan(600);
    expect([name, took - startup < 1000]).toEqual([name, true]);
  }
});

test('run --id with a path in it is refused before anything is started', async () => {
  for (const id of ['..', '../../etc/cron.d/x', 'a/b', '.hidden', 'x'.repeat(201)]) {
    const r = await tempest(['run', 'examples/engines/api-gateway-chaos.yaml', '--id', id]);
    expect([id, r.code]).toEqual([id, 2]);
    expect(r.err).toMatch(/^tempest: --id: workflow id ".*" is not allowed/);
  }
});

test('run refuses bad input and a blast-radius violation with exit 2, starting nothing', async () => {
  const cfg = testConfig(fleet, { blastRadius: { allow: [{ namespace: 'payments' }] } });
  const before = (await fleet.client.pods()).map((p) => p.name).sort();
  const refused = await tempest(['--config', cfg.file, 'run', 'examples/engines/api-gateway-chaos.yaml', '--wait']);
  expect(refused.code).toBe(2);
  expect(refused.err).toContain('blast radius: target footanalytics/app.kubernetes.io/name=api-gateway is not in blastRadius.allow');
  expect(refused.out).not.toContain('started');
  const unknown = writeEngine('unknown.yaml', seedEngine().replace('- name: pod-delete', '- name: pod-explode'));
  const r = await tempest(['--config', cfg.file, 'run', unknown]);
  expect(r.code).toBe(2);
  expect(r.err).toContain('spec.experiments[0].name: unknown fault');
  expect((await fleet.client.pods()).map((p) => p.name).sort()).toEqual(before);
});

test('run --wait prints progress and the report, exit 0 on Pass; list/status/results find the run', async () => {
  const cfg = testConfig(fleet);
  const engineFile = writeEngine('short.yaml', seedEngine().replace('value: "60"', 'value: "6"').replace('value: "10"', 'value: "2"'));
  const connection = await Connection.connect({ address: cfg.temporal.address });
  const worker = await createWorker({ config: cfg });
  await worker.runUntil(async () => {
    const r = await tempest(['--config', cfg.file, 'run', engineFile, '--wait', '--id', `cli-pass-${Date.now()}`]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/started cli-pass-\d+/);
    expect(r.out).toContain('Temporal UI: http://127.0.0.1:8233/namespaces/default/workflows/cli-pass-');
    expect(r.out).toMatch(/pod-delete round 1: deleted api-gateway-\w+/);
    expect(r.out).toContain('Verdict:   Pass');
    expect(r.out).toContain('revert verified: 3/3 replicas ready; ledger clean');
    const id = /started (\S+)/.exec(r.out)![1];

    const res = await tempest(['--config', cfg.file, 'results', id, '--json']);
    expect(res.code).toBe(0);
    expect(JSON.parse(res.out)).toMatchObject({ workflowId: id, verdict: 'Pass', probeSuccessPercentage: 100 });
    const st = await tempest(['--config', cfg.file, 'status', id]);
    expect(st.out).toContain('phase done');
    const score = await tempest(['--config', cfg.file, 'score', id, '--weight', `${id}=7`]);
    expect(score.code).toBe(0);
    expect(score.out).toContain(`${id}: Pass, probe success 100%, weight 7`);
    expect(score.out).toContain('resilience score: 100.0');
    const badWeight = await tempest(['--config', cfg.file, 'score', id, '--weight', `${id}=eleven`]);
    expect(badWeight.code).toBe(2);
    expect(badWeight.err).toContain(`--weight ${id}=eleven: expected <workflowId>=<0..10>`);
    // search attributes: the run is listed with its verdict (visibility is eventually consistent)
    await waitFor(
      'run listed',
      async () => {
        const l = await tempest(['--config', cfg.file, 'list', '--experiment', 'api-gateway-chaos', '-n', '50']);
        return l.out.includes(`${id}  COMPLETED  Pass`);
      },
      30_000,
      1000,
    );
    // memo carries the source and faults for the UI
    const desc = await new Client({ connection }).workflow.getHandle(id).describe();
    expect(desc.memo).toMatchObject({ faults: 'pod-delete' });
  });
  await connection.close();
}, 180_000);

test('abort from the CLI: the run ends Aborted with everything reverted; exit code 2 from results', async () => {
  const cfg = testConfig(fleet);
  const cpu = writeEngine(
    'cpu.yaml',
    seedEngine()
      .replace('- name: pod-delete', '- name: pod-cpu-hog')
      .replace(
        /            - name: CHAOS_INTERVAL\n\s+value: "10"\n\s+- name: FORCE\n\s+value: "false"\n/,
        '            - name: CPU_LOAD\n              value: "10"\n',
      ),
  );
  const worker = await createWorker({ config: cfg });
  await worker.runUntil(async () => {
    const started = await tempest(['--config', cfg.file, 'run', cpu, '--id', `cli-abort-${Date.now()}`]);
    expect(started.code).toBe(0);
    const id = /started (\S+)/.exec(started.out)![1];
    await waitFor('injected', async () => (await tempest(['--config', cfg.file, 'status', id])).out.includes('faults injected 1'), 60_000, 500);
    const ab = await tempest(['--config', cfg.file, 'abort', id, '--reason', 'game day over']);
    expect(ab.code).toBe(0);
    expect(ab.out).toContain('Aborted: game day over');
    expect(ab.out).toContain('pod-cpu-hog: reverted (no cpu stressor left; ledger clean)');
    const res = await tempest(['--config', cfg.file, 'results', id]);
    expect(res.code).toBe(2);
  });
}, 180_000);

test("cleanup from the CLI: a terminated run's stressor is listed by --dry-run (exit 1), reverted by cleanup (table, exit 0), then nothing is left", async () => {
  const cfg = testConfig(fleet);
  const cpu = writeEngine(
    'cpu-orphan.yaml',
    seedEngine()
      .replace('- name: pod-delete', '- name: pod-cpu-hog')
      .replace(
        /            - name: CHAOS_INTERVAL\n\s+value: "10"\n\s+- name: FORCE\n\s+value: "false"\n/,
        '            - name: CPU_LOAD\n              value: "10"\n',
      ),
  );
  const worker = await createWorker({ config: cfg });
  const connection = await Connection.connect({ address: process.env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233' });
  try {
    await worker.runUntil(async () => {
      const id = `cli-orphan-${Date.now()}`;
      expect((await tempest(['--config', cfg.file, 'run', cpu, '--id', id])).code).toBe(0);
      await waitFor('injected', async () => (await tempest(['--config', cfg.file, 'status', id])).out.includes('faults injected 1'), 60_000, 500);
      await new Client({ connection, namespace: 'default' }).workflow.getHandle(id).terminate('clicked Terminate');
      const dry = await tempest(['--config', cfg.file, 'cleanup', '--dry-run']);
      expect(dry.code).toBe(1);
      expect(dry.out).toMatch(new RegExp(`would-revert\\s+pod-cpu-hog\\s+${id}\\s+TERMINATED`));
      const done = await tempest(['--config', cfg.file, 'cleanup', '--target-namespace', 'footanalytics']);
      expect(done.code).toBe(0);
      expect(done.out).toMatch(
        new RegExp(`reverted\\s+pod-cpu-hog\\s+${id}\\s+TERMINATED\\s+fleet \\S+ \\(footanalytics/.*\\s+no cpu stressor left; ledger clean`),
      );
      expect(done.out).toMatch(/1 entries: 1 reverted, 0 not verified, 0 to revert, 0 left alone; clean/);
      const again = await tempest(['--config', cfg.file, 'cleanup']);
      expect(again).toMatchObject({ code: 0 });
      expect(again.out).toContain('no fault-ledger entries: nothing left behind');
      const bad = await tempest(['--config', cfg.file, 'cleanup', '--target-namespace', '../kube-system']);
      expect(bad.code).toBe(2);
      expect(bad.err).toContain('--target-namespace: "../kube-system" is not a namespace name');
    });
  } finally {
    await connection.close();
  }
}, 180_000);

test('progressive chaos from the CLI: stages run in order against the fleet, exit 0 on Pass', async () => {
  const cfg = testConfig(fleet);
  writeEngine('engine.yaml', seedEngine().replace('value: "10"', 'value: "2"'));
  const prog = writeEngine(
    'progressive.yaml',
    `apiVersion: tempest.io/v1alpha1
kind: ProgressiveChaos
metadata:
  name: cli-progressive
spec:
  engine: engine.yaml
  progressive_chaos:
    stage_1: {name: "Single Pod Failure", chaos_percentage: 10, duration: "4 seconds", success_threshold: 0.5}
    stage_2: {name: "Multiple Pod Failures", chaos_percentage: 67, duration: "4 seconds", success_threshold: 0.5, depends_on: stage_1}
`,
  );
  const worker = await createWorker({ config: cfg });
  await worker.runUntil(async () => {
    const r = await tempest(['--config', cfg.file, 'run', prog, '--wait']);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/started cli-progressive-\S+ \(progressive: stage_1 10% -> stage_2 67%\)/);
    expect(r.out).toMatch(/stage_1 "Single Pod Failure" 10%: running/);
    expect(r.out).toContain('Progressive cli-progressive: Pass: all 2 stage(s) passed');
    expect(r.out).toMatch(/- stage_2\s+passed\s+67%/);
  });
  expect((await fleet.client.owner()).ready).toBe(3);
}, 180_000);

test('game day from the CLI: a manual step reported with `tempest gameday complete`, result printed', async () => {
  const cfg = testConfig(fleet);
  writeEngine('engine.yaml', seedEngine().replace('value: "60"', 'value: "4"').replace('value: "10"', 'value: "2"'));
  const gd = writeEngine(
    'gameday.yaml',
    `apiVersion: tempest.io/v1alpha1
kind: GameDay
metadata: {name: cli-gameday}
spec:
  catalog:
    zone_failure: {engine: engine.yaml}
    database_failover: {manual: "switch the primary over"}
  game_days:
    duration: "10 minutes"
    scenarios:
      - {name: "Complete Region Failure", duration: "5 minutes", experiments: [zone_failure, database_failover]}
`,
  );
  const worker = await createWorker({ config: cfg });
  await worker.runUntil(async () => {
    const started = await tempest(['--config', cfg.file, 'run', gd, '--id', `cli-gd-${Date.now()}`]);
    expect(started.code).toBe(0);
    const id = /started game day (\S+)/.exec(started.out)![1];
    const notManual = await tempest(['--config', cfg.file, 'gameday', 'complete', id, 'Complete Region Failure', 'zone_failure', '--outcome', 'pass']);
    expect(notManual.code).toBe(2);
    expect(notManual.err).toContain('is automated; Tempest reports it');
    const rep = await tempest([
      '--config',
      cfg.file,
      'gameday',
      'complete',
      id,
      'Complete Region Failure',
      'database_failover',
      '--outcome',
      'pass',
      '--notes',
      'failover took 14 s',
      '--by',
      'alice',
    ]);
    expect(rep.out).toContain('reported Complete Region Failure/database_failover: pass');
    const res = await tempest(['--config', cfg.file, 'results', id]);
    expect(res.code).toBe(0);
    expect(res.out).toContain('Game day cli-gameday: Pass: all 2 step(s) passed');
    expect(res.out).toContain('passed   Complete Region Failure / database_failover (by alice): failover took 14 s');
  });
}, 180_000);
