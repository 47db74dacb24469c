/**
 * The constant scripts the Kubernetes model-corruption driver runs by exec in the target container, run here by
 * real shells (dash as /bin/sh, and bash) against real files, symlinks, FIFOs and devices. The test control plane
 * (kwok) cannot exec, so this is where what those scripts do to a file is proven: every phase re-resolves FILE_PATH
 * inside the roots, to the recorded path, to a regular file; opens it once and acts through that open file; makes
 * the backup without following a planted name; and without the run's backup, revert and verify touch nothing.
 */
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CONTAINER_SCRIPTS, scriptArgv, type ScriptArgs } from '../../activities/faults/model-corruption/kubernetes.js';

const SHELLS = ['/bin/sh', '/bin/bash'].filter((s) => existsSync(s));
const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

let base: string;
beforeAll(() => {
  base = realpathSync(mkdtempSync(join(tmpdir(), 'tempest-mc-scripts-')));
});
afterAll(() => rmSync(base, { recursive: true, force: true }));

let seq = 0;
/** A fresh root (inside base) with a model file, and a folder outside it holding a precious file. */
function layout(size = 200 * 1024) {
  const d = join(base, `t${++seq}`);
  const root = join(d, 'models');
  const outside = join(d, 'outside');
  mkdirSync(root, { recursive: true });
  mkdirSync(outside);
  const model = join(root, 'model.pth');
  const original = randomBytes(size);
  writeFileSync(model, original);
  const precious = join(outside, 'precious.bin');
  const preciousBytes = randomBytes(4096);
  writeFileSync(precious, preciousBytes);
  return { root, outside, model, original, sum: sha256(original), precious, preciousBytes, backup: `${model}.tempest-backup.abc-0` };
}

function run(shell: string, script: keyof typeof CONTAINER_SCRIPTS, a: ScriptArgs) {
  const [, ...rest] = scriptArgv(CONTAINER_SCRIPTS[script], a);
  const r = spawnSync(shell, rest, { encoding: 'utf8', timeout: 10_000 });
  if (r.error) throw r.error; // a timeout (a script blocked on a FIFO) fails the test here
  return { code: r.status, out: r.stdout.trim(), err: r.stderr.trim() };
}

describe.each(SHELLS)('%s', (shell) => {
  test('FINGERPRINT: the real path, sha256 and size of a regular file inside the roots, through a symlink inside them too', () => {
    const l = layout();
    symlinkSync('model.pth', join(l.root, 'current.pth'));
    for (const p of [l.model, join(l.root, 'current.pth')]) {
      const r = run(shell, 'FINGERPRINT', { filePath: p, roots: [l.root] });
      expect(r).toEqual({ code: 0, out: `${l.model}\n${l.sum}\n${l.original.length}`, err: '' });
    }
  });

  test('a root given with a trailing slash, or the root "/" itself, contains what it should (and a sibling prefix does not)', () => {
    const l = layout();
    expect(run(shell, 'FINGERPRINT', { filePath: l.model, roots: ['/'] })).toMatchObject({ code: 0, out: `${l.model}\n${l.sum}\n${l.original.length}` });
    expect(run(shell, 'FINGERPRINT', { filePath: l.model, roots: [`${l.root}/`] })).toMatchObject({ code: 0 });
    expect(run(shell, 'FINGERPRINT', { filePath: l.model, roots: [`${l.root}-other`, l.root.slice(0, -1)] })).toMatchObject({ code: 5, out: '' });
  });

  test('FINGERPRINT refuses: outside the roots (symlink), a FIFO and a device inside them (without blocking), not the recorded path, missing', () => {
    const l = layout();
    symlinkSync(l.precious, join(l.root, 'link.pth'));
    expect(run(shell, 'FINGERPRINT', { filePath: join(l.root, 'link.pth'), roots: [l.root] })).toMatchObject({
      code: 5,
      out: '',
      err: `${l.precious} is outside the corruption roots`,
    });
    expect(spawnSync('mkfifo', [join(l.root, 'fifo.pth')]).status).toBe(0);
    expect(run(shell, 'FINGERPRINT', { filePath: join(l.root, 'fifo.pth'), roots: [l.root] })).toMatchObject({ code: 4, out: '' });
    symlinkSync('/dev/zero', join(l.root, 'zero.pth'));
    expect(run(shell, 'FINGERPRINT', { filePath: join(l.root, 'zero.pth'), roots: [l.root, '/dev'] })).toMatchObject({
      code: 4,
      out: '',
      err: 'not a regular file: /dev/zero',
    });
    writeFileSync(join(l.root, 'other.pth'), 'other');
    expect(run(shell, 'FINGERPRINT', { filePath: join(l.root, 'other.pth'), recorded: l.model, roots: [l.root] })).toMatchObject({ code: 6, out: '' });
    expect(run(shell, 'FINGERPRINT', { filePath: join(l.root, 'none.pth'), roots: [l.root] })).toMatchObject({ code: 3, out: '' });
  });

  test('INJECT: backup first (checked), then the corruption lands in the file; a retry reuses the backup', () => {
    const l = layout();
    const ino = statSync(l.model).ino;
    const args = { filePath: l.model, recorded: l.model, backup: l.backup, sha256: l.sum, bytes: 64 * 1024, type: 'zero', roots: [l.root] };
    expect(run(shell, 'INJECT', args)).toEqual({ code: 0, out: 'corrupted', err: '' });
    expect(readFileSync(l.backup).equals(l.original)).toBe(true);
    expect(statSync(l.backup).mode & 0o077).toBe(0); // umask 077
    const now = readFileSync(l.model);
    expect(now.length).toBe(l.original.length);
    expect(now.subarray(0, 64 * 1024).every((b) => b === 0)).toBe(true);
    expect(now.subarray(64 * 1024).equals(l.original.subarray(64 * 1024))).toBe(true);
    expect(statSync(l.model).ino).toBe(ino); // the same file, written in place
    expect(run(shell, 'INJECT', args)).toEqual({ code: 0, out: 'corrupted', err: '' }); // the backup is still the original
    expect(readFileSync(l.backup).equals(l.original)).toBe(true);
    expect(run(shell, 'INJECT', { ...args, type: 'truncate', bytes: 1000 })).toMatchObject({ code: 0 });
    expect(statSync(l.model).size).toBe(1000);
  });

  test('INJECT never writes through a symlink planted at the backup names, nor corrupts a file that changed', () => {
    const l = layout();
    const args = { filePath: l.model, recorded: l.model, backup: l.backup, sha256: l.sum, bytes: 64 * 1024, type: 'zero', roots: [l.root] };
    // a symlink at the temporary name: removed (the link, not its target), then the backup is created O_EXCL
    symlinkSync(l.precious, `${l.backup}.tmp`);
    expect(run(shell, 'INJECT', args)).toMatchObject({ code: 0, out: 'corrupted' });
    expect(readFileSync(l.precious).equals(l.preciousBytes)).toBe(true);
    expect(lstatSync(l.backup).isFile()).toBe(true);
    expect(readFileSync(l.backup).equals(l.original)).toBe(true);

    // a symlink at the backup's own name: refused before anything is written
    const m = layout();
    symlinkSync(m.precious, m.backup);
    const margs = { ...args, filePath: m.model, recorded: m.model, backup: m.backup, sha256: m.sum, roots: [m.root] };
    expect(run(shell, 'INJECT', margs)).toMatchObject({ code: 8, out: '' });
    expect(readFileSync(m.precious).equals(m.preciousBytes)).toBe(true);
    expect(readFileSync(m.model).equals(m.original)).toBe(true);

    // the file changed since prepare: no backup kept, nothing corrupted
    const c = layout();
    writeFileSync(c.model, 'a new model');
    expect(run(shell, 'INJECT', { ...args, filePath: c.model, recorded: c.model, backup: c.backup, sha256: c.sum, roots: [c.root] })).toMatchObject({
      code: 7,
      out: '',
    });
    expect(readFileSync(c.model, 'utf8')).toBe('a new model');
    expect(existsSync(c.backup) || existsSync(`${c.backup}.tmp`)).toBe(false);
  });

  test('INJECT refuses a record that is not the file FILE_PATH names now (another file in the root, or a symlink out of it)', () => {
    const l = layout();
    writeFileSync(join(l.root, 'other.pth'), 'other model');
    const args = { filePath: join(l.root, 'other.pth'), recorded: l.model, backup: l.backup, sha256: l.sum, bytes: 10, type: 'zero', roots: [l.root] };
    expect(run(shell, 'INJECT', args)).toMatchObject({ code: 6, out: '' });
    renameSync(l.model, join(l.root, 'aside.pth'));
    symlinkSync(l.precious, l.model);
    expect(run(shell, 'INJECT', { ...args, filePath: l.model })).toMatchObject({ code: 5, out: '' });
    expect(readFileSync(l.precious).equals(l.preciousBytes)).toBe(true);
    expect(readFileSync(join(l.root, 'other.pth'), 'utf8')).toBe('other model');
    expect(readFileSync(join(l.root, 'aside.pth')).equals(l.original)).toBe(true);
    expect(existsSync(l.backup)).toBe(false);
  });

  test("RESTORE: without the run's backup nothing is touched; with it, the bytes go back into the same file", () => {
    const l = layout();
    const args = { filePath: l.model, recorded: l.model, backup: l.backup, sha256: l.sum, roots: [l.root] };
    writeFileSync(l.model, Buffer.concat([Buffer.alloc(10), l.original.subarray(10)])); // "corrupted", same inode
    const corrupted = readFileSync(l.model);
    const before = statSync(l.model);
    expect(run(shell, 'RESTORE', args)).toEqual({ code: 0, out: 'none', err: '' });
    expect(readFileSync(l.model).equals(corrupted)).toBe(true);
    expect(statSync(l.model).mtimeMs).toBe(before.mtimeMs);
    writeFileSync(l.backup, l.original);
    expect(run(shell, 'RESTORE', args)).toEqual({ code: 0, out: 'restored', err: '' });
    expect(readFileSync(l.model).equals(l.original)).toBe(true);
    expect(statSync(l.model).ino).toBe(before.ino);
    expect(statSync(l.model).mode).toBe(before.mode);
  });

  test('RESTORE refuses a backup that does not match (without printing its checksum), one that is a symlink, and a file that is not the recorded one', () => {
    const l = layout();
    const args = { filePath: l.model, recorded: l.model, backup: l.backup, sha256: l.sum, roots: [l.root] };
    writeFileSync(l.backup, 'tampered');
    const r = run(shell, 'RESTORE', args);
    expect(r).toMatchObject({ code: 9, out: '' });
    expect(r.err).not.toContain(sha256('tampered').slice(0, 8));
    expect(readFileSync(l.model).equals(l.original)).toBe(true);
    rmSync(l.backup);
    symlinkSync('/dev/zero', l.backup);
    expect(run(shell, 'RESTORE', args)).toMatchObject({ code: 8, out: '' });
    rmSync(l.backup);
    writeFileSync(l.backup, l.original);
    // the record names the model, FILE_PATH now resolves elsewhere (a symlink out of the roots; another file)
    renameSync(l.model, join(l.root, 'aside.pth'));
    symlinkSync(l.precious, l.model);
    expect(run(shell, 'RESTORE', args)).toMatchObject({ code: 5, out: '' });
    expect(readFileSync(l.precious).equals(l.preciousBytes)).toBe(true);
    rmSync(l.model);
    writeFileSync(join(l.root, 'other.pth'), 'other');
    expect(run(shell, 'RESTORE', { ...args, filePath: join(l.root, 'other.pth') })).toMatchObject({ code: 6, out: '' });
    expect(readFileSync(join(l.root, 'other.pth'), 'utf8')).toBe('other');
  });

  test("VERIFY: none without the run's backup (the file is not read); else the sha256 of the recorded file", () => {
    const l = layout();
    const args = { filePath: l.model, recorded: l.model, backup: l.backup, roots: [l.root] };
    expect(run(shell, 'VERIFY', args)).toEqual({ code: 0, out: 'none', err: '' });
    writeFileSync(l.backup, l.original);
    expect(run(shell, 'VERIFY', args)).toEqual({ code: 0, out: l.sum, err: '' });
    expect(spawnSync('mkfifo', [join(l.root, 'fifo.pth')]).status).toBe(0);
    writeFileSync(`${join(l.root, 'fifo.pth')}.tempest-backup.abc-0`, 'x');
    expect(
      run(shell, 'VERIFY', {
        ...args,
        filePath: join(l.root, 'fifo.pth'),
        recorded: join(l.root, 'fifo.pth'),
        backup: `${join(l.root, 'fifo.pth')}.tempest-backup.abc-0`,
      }),
    ).toMatchObject({ code: 4, out: '' });
  });
});
