/** pods/exec output is capped: past the cap nothing more is kept and the exec is closed (kubernetes-common.ts collector). */
import { collector, MAX_EXEC_OUTPUT } from '../../activities/faults/kubernetes-common.js';

const write = (s: NodeJS.WritableStream, b: Buffer) => new Promise<void>((r) => s.write(b, () => r()));

test('keeps at most the cap, closes once, and says so', async () => {
  let closed = 0;
  const c = collector(() => closed++, 1000);
  await write(c.stream, Buffer.alloc(600, 'a'));
  expect(c.overflowed()).toBe(false);
  await write(c.stream, Buffer.alloc(600, 'b'));
  await write(c.stream, Buffer.alloc(10_000, 'c'));
  expect(c.overflowed()).toBe(true);
  expect(closed).toBe(1);
  expect(c.text()).toBe('a'.repeat(600) + 'b'.repeat(400));
});

test('the default cap is 1 MiB per stream', () => {
  expect(MAX_EXEC_OUTPUT).toBe(1024 * 1024);
});
