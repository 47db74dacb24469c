/**
 * A pattern from YAML cannot hold the worker's event loop: RE2 is linear, but linear in program size x text,
 * so a costly pattern against a big body or output is matched in a thread with a deadline (probes/match.ts).
 * Real RE2 (re2js), a real worker thread, a real local HTTP server and a real /bin/sh: no mocks.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { MockActivityEnvironment } from '@temporalio/testing';
import { INLINE_MATCH_BUDGET, compareString, toRegExp } from '../../activities/probes/comparators.js';
import { matchPattern } from '../../activities/probes/match.js';
import { createProbeActivities, type ProbeContext, type ProbeOutcome } from '../../activities/probes/index.js';
import type { ProbeSpec } from '../../config/spec.js';

// 600 instructions: against 1 MiB that is ~6e8 NFA steps, tens of seconds on the event loop
const COSTLY = '(a?){120}a{120}$';
const BIG = 'a'.repeat(1 << 20);

/** Count event-loop turns while `p` runs: a blocked loop gets none. */
async function loopTurnsDuring<T>(p: () => Promise<T>): Promise<{ value: T; turns: number }> {
  let turns = 0;
  const tick = setInterval(() => turns++, 20);
  try {
    const value = await p();
    return { value, turns };
  } finally {
    clearInterval(tick);
  }
}

describe('matchPattern', () => {
  test('a cheap match runs inline and answers like Go MatchString (unanchored, RE2 syntax)', async () => {
    expect(Object.hasOwn(toRegExp('(?i)ready'), 'error')).toBe(false);
    await expect(matchPattern('(?i)READY', 'service is ready')).resolves.toEqual({ matched: true });
    await expect(matchPattern('^ready$', 'not ready')).resolves.toEqual({ matched: false });
    await expect(matchPattern('(', 'x')).resolves.toMatchObject({ error: expect.stringContaining('bad regular expression') });
  });

  test('a costly pattern over a big text is matched in a thread: the right answer, and the event loop keeps turning', async () => {
    const re = toRegExp('(a*){40}$');
    if ('error' in re) throw new Error(re.error);
    const text = 'a'.repeat(1 << 18);
    expect(re.cost(text.length)).toBeGreaterThan(INLINE_MATCH_BUDGET);
    const { value, turns } = await loopTurnsDuring(() => matchPattern('(a*){40}$', text, { deadlineMs: 60_000 }));
    expect(value).toEqual({ matched: true });
    expect(turns).toBeGreaterThan(0);
    const miss = await matchPattern('(a*){40}b', text, { deadlineMs: 60_000 });
    expect(miss).toEqual({ matched: false });
  }, 90_000);

  test('past its deadline the thread is stopped: an error naming the pattern and the size, not a hung worker', async () => {
    const { value, turns } = await loopTurnsDuring(() => matchPattern(COSTLY, BIG, { deadlineMs: 300 }));
    expect(value).toMatchObject({
      error: expect.stringMatching(/matching \/\(a\?\)\{120\}a\{120\}\$\/ against 1048576 characters took longer than 300 ms and was stopped/),
    });
    expect(turns).toBeGreaterThan(3);
  });

  test('an aborted attempt stops the thread too', async () => {
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 100);
    await expect(matchPattern(COSTLY, BIG, { deadlineMs: 60_000, signal: ac.signal })).resolves.toMatchObject({ error: expect.stringContaining('cancelled') });
  });

  test('compareString refuses to do a costly match inline (a caller that forgets the thread gets a probe error, not a stall)', () => {
    const r = compareString(BIG, 'matches', COSTLY);
    expect(r).toMatchObject({ ok: false, invalid: true });
    expect(r.reason).toContain('too costly to do inline');
  });
});

describe('probes use it', () => {
  let server: http.Server;
  let base: string;
  beforeAll(async () => {
    server = http.createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/plain' }).end(BIG));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  const eot: ProbeContext = { runId: 'r', phase: 'EOT', iteration: 0 };
  const runProps = { probeTimeoutMs: 20_000, intervalMs: 10, attempts: 1, pollingIntervalMs: 1000, initialDelayMs: 0, stopOnFailure: false };

  test('httpProbe: a costly responseBody pattern over a 1 MiB body is a probe error within the deadline, and heartbeats keep flowing', async () => {
    const probe: ProbeSpec = {
      name: 'body',
      type: 'httpProbe',
      mode: 'EOT',
      runProperties: runProps,
      http: { url: `${base}/`, method: 'GET', headers: {}, insecureSkipTLS: false, responseBody: { criteria: 'matches', value: COSTLY } },
    };
    const env = new MockActivityEnvironment();
    const { value: out, turns } = await loopTurnsDuring((): Promise<ProbeOutcome> => env.run(createProbeActivities({}).runProbe, probe, eot));
    expect(out).toMatchObject({ status: 'Failed', failureKind: 'error' });
    expect(out.reason).toMatch(/took longer than 5000 ms and was stopped/);
    expect(turns).toBeGreaterThan(10);
  }, 60_000);

  test('cmdProbe: a cheap pattern over half a MiB of output still passes (inline, no thread needed)', async () => {
    const probe: ProbeSpec = {
      name: 'out',
      type: 'cmdProbe',
      mode: 'EOT',
      runProperties: runProps,
      cmd: { command: `head -c 524288 /dev/zero | tr '\\0' a; echo; echo done`, comparator: { type: 'string', criteria: 'matches', value: 'a+\\ndone$' } },
    };
    const env = new MockActivityEnvironment();
    const out = await env.run(createProbeActivities({}).runProbe, probe, eot);
    expect(out).toMatchObject({ status: 'Passed' });
  }, 60_000);
});
