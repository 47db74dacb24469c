/**
 * The crash matrix's failpoints (activities/failpoints.ts) in a real child process: armed by TEMPEST_FAILPOINTS, a
 * point SIGKILLs the process exactly there — after an injection's intent is written, before an acted round's "done"
 * is written — and nowhere else (not in a revert's writes), once per state directory; unarmed, nothing happens. The
 * child's own writes (to a file) show where it died.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { armedFailpoints, FAILPOINTS } from '../../activities/failpoints.js';
import { ROOT } from '../helpers/temporal.js';
import { TSX_LOADER } from '../helpers/fleet.js';

/** Runs two ledger writes (intent of round 0, then round 0 done) in a child; answers how it ended and what it wrote. */
function child(
  failpoints: string | undefined,
  opts: { injecting?: boolean; stateDir?: string } = {},
): { signal: string | null; status: number | null; writes: string[]; stderr: string } {
  const dir = mkdtempSync(join(tmpdir(), 'tempest-fp-'));
  const out = join(dir, 'writes');
  const injecting = opts.injecting ?? true;
  const script = `
    import { appendFileSync } from 'node:fs';
    import { writeLedger } from ${JSON.stringify(join(ROOT, 'activities/faults/driver.ts'))};
    import { useFailpointState } from ${JSON.stringify(join(ROOT, 'activities/failpoints.ts'))};
    useFailpointState(${JSON.stringify(opts.stateDir ?? join(dir, 'state'))});
    const e = { fault: 'pod-network-latency', run: 'r', faultIndex: 0, rounds: { '0': ['a'] }, done: [], expiresAt: '' };
    await writeLedger(e, async () => appendFileSync(${JSON.stringify(out)}, 'intent\\n'), ${injecting});
    appendFileSync(${JSON.stringify(out)}, 'acted\\n');
    e.done.push(0);
    await writeLedger(e, async () => appendFileSync(${JSON.stringify(out)}, 'done\\n'), ${injecting});
  `;
  const env = { ...process.env, TEMPEST_FAILPOINTS: failpoints ?? '' };
  const r = spawnSync(process.execPath, ['--no-warnings', '--import', TSX_LOADER, '--input-type=module', '-e', script], {
    cwd: ROOT,
    env,
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { signal: r.signal, status: r.status, writes: existsSync(out) ? readFileSync(out, 'utf8').trim().split('\n') : [], stderr: r.stderr };
}

test('unarmed: both writes happen and the process exits normally', () => {
  expect(child(undefined)).toMatchObject({ signal: null, status: 0, writes: ['intent', 'acted', 'done'] });
}, 60_000);

test('fault.intent-recorded: SIGKILL right after the intent is written, before anything acts', () => {
  const r = child('fault.intent-recorded');
  expect(r).toMatchObject({ signal: 'SIGKILL', writes: ['intent'] });
  expect(r.stderr).toContain('failpoint fault.intent-recorded reached: SIGKILL');
}, 60_000);

test('fault.acted: SIGKILL after the act, before "done" is written', () => {
  expect(child('fault.acted')).toMatchObject({ signal: 'SIGKILL', writes: ['intent', 'acted'] });
}, 60_000);

test("a revert's ledger writes never fire the injection's points", () => {
  expect(child('fault.intent-recorded,fault.acted', { injecting: false })).toMatchObject({ signal: null, status: 0, writes: ['intent', 'acted', 'done'] });
}, 60_000);

test('a point fires once per state directory: the next worker on the same state goes on (no crash loop)', () => {
  const state = mkdtempSync(join(tmpdir(), 'tempest-fp-state-'));
  expect(child('fault.acted', { stateDir: state })).toMatchObject({ signal: 'SIGKILL', writes: ['intent', 'acted'] });
  expect(readFileSync(join(state, 'failpoints-fired'), 'utf8')).toBe('fault.acted\n');
  expect(child('fault.acted', { stateDir: state })).toMatchObject({ signal: null, status: 0, writes: ['intent', 'acted', 'done'] });
}, 60_000);

test('a point the code does not pass here (publish) changes nothing; unknown names are reported, not armed', () => {
  expect(child('publish,no-such-point')).toMatchObject({ signal: null, status: 0, writes: ['intent', 'acted', 'done'] });
  expect(armedFailpoints({ TEMPEST_FAILPOINTS: ' publish , no-such-point,guard' })).toEqual({ armed: ['publish', 'guard'], unknown: ['no-such-point'] });
  expect(FAILPOINTS).toContain('revert.acted');
});
