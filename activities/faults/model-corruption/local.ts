/**
 * model-corruption on the local platform.
 *
 *   FILE_PATH (an absolute, normal path: no "..", checked by the descriptor) is mapped through
 *   platform.local.pathRewrites, resolved with realpath (symlinks followed) and must then lie inside one of the
 *   operator's files.corruptionRoots (themselves realpath'd). The real path is then OPENED ONCE, without following
 *   a symlink in its last component (O_NOFOLLOW) and without blocking on a FIFO (O_NONBLOCK), and checked through
 *   the open file: it is a regular file (fstat), its real path (/proc/self/fd/N) is still inside a root and is the
 *   path just resolved, and — after prepare — it is the same file (device and inode) that was prepared. Everything
 *   that reads or writes the file (hash, backup copy, corruption, restore) goes through that descriptor, never
 *   through the name again: a symlink or folder swapped in meanwhile changes nothing outside the roots.
 *
 *   prepare   read-only: the real path, size, device, inode and sha256 (streamed) -> the workflow keeps this record;
 *   inject    the record must name the file FILE_PATH resolves to now, inside the roots, the same inode; a backup
 *             is copied from the descriptor into Tempest's OWN state directory (<state>/backups/<key>/, 0700,
 *             a plain directory owned by the worker; files created O_EXCL|O_NOFOLLOW) and must hash to the record;
 *             intent goes to the ledger; then, if the file is still where it was, the first min(size, 64 KiB) are
 *             overwritten (random_bytes | zero) or it is truncated to half — through the descriptor;
 *   revert    only with a backup Tempest itself took for this run (its state dir; a request's `prepared` alone
 *             never makes a revert open anything): the backup (checked against Tempest's record of it, which must
 *             agree with the workflow's) is written back INTO the same file (truncate + write through the
 *             descriptor: same inode, same owner and mode);
 *   verify    the file's sha256 equals the recorded checksum; then the backup is removed.
 *
 * Everything is streamed (files over 2 GiB work; runs of zeros stay holes). The ledger on the fleet only records
 * what happened, for anyone looking; no path or checksum is ever read back from it.
 */
import { createHash, randomBytes } from 'node:crypto';
import { constants, type BigIntStats } from 'node:fs';
import { mkdir, open, readlink, realpath, rename, rm, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { FaultSpec } from '../../../config/spec.js';
import { normalAbsolutePath, pathWithin, type Policy } from '../../../config/policy.js';
import type { FaultRef } from '../../types.js';
import type { LocalPlatform } from '../../platform/local.js';
import type { LocalFaultContext, LocalFaultDriver } from '../driver.js';
import { ledgerKey, waitClean } from '../driver.js';
import { tempestError } from '../../errors.js';

const { O_RDONLY, O_RDWR, O_WRONLY, O_CREAT, O_EXCL, O_NOFOLLOW, O_NONBLOCK, O_NOCTTY, O_DIRECTORY } = constants;
/** The target, read-only / read-write: never through a final symlink, never blocking on a FIFO, never a tty. */
const OPEN_READ = O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY;
const OPEN_WRITE = O_RDWR | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY;
/** A new file in Tempest's own folder: it must not exist yet (a planted symlink is not followed: EEXIST). */
const CREATE = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_NOCTTY;
const CHUNK = 1 << 20;
const ZEROS = Buffer.alloc(CHUNK);
const BEAT_EVERY = 256 * CHUNK;

/** What prepare records (and the workflow keeps). */
export interface FileRecord {
  /** The real path (after rewrites and symlinks), inside a corruption root. */
  path: string;
  size: number;
  sha256: string;
  /** st_dev and st_ino of the file prepared (decimal): later phases act only on that same file. */
  dev: string;
  ino: string;
}

function isFileRecord(r: unknown): r is FileRecord {
  const x = r as FileRecord;
  return (
    !!x &&
    typeof x === 'object' &&
    typeof x.path === 'string' &&
    normalAbsolutePath(x.path) === x.path &&
    Number.isSafeInteger(x.size) &&
    x.size > 0 &&
    typeof x.sha256 === 'string' &&
    /^[0-9a-f]{64}$/.test(x.sha256) &&
    typeof x.dev === 'string' &&
    /^\d{1,20}$/.test(x.dev) &&
    typeof x.ino === 'string' &&
    /^\d{1,20}$/.test(x.ino)
  );
}

/** A record without device and inode: what an earlier Tempest recorded (a run prepared, or a backup taken, before the upgrade). */
type RecordLike = Omit<FileRecord, 'dev' | 'ino'> & Partial<Pick<FileRecord, 'dev' | 'ino'>>;

function isLegacyRecord(r: unknown): r is RecordLike {
  const x = r as RecordLike;
  return !!x && typeof x === 'object' && x.dev === undefined && x.ino === undefined && isFileRecord({ ...x, dev: '0', ino: '0' });
}

/** The same file and content (device and inode compared where both records have them). */
const sameRecord = (a: RecordLike, b: RecordLike) =>
  a.path === b.path && a.size === b.size && a.sha256 === b.sha256 && (a.dev === undefined || b.dev === undefined || (a.dev === b.dev && a.ino === b.ino));

// ------------------------------------------------------------------------------------------ the target file

async function realRoots(policy: Policy): Promise<string[]> {
  return (await Promise.all(policy.files.corruptionRoots.map((r) => realpath(r).catch(() => undefined)))).filter((r): r is string => !!r);
}

const insideRoots = (path: string, roots: string[]) => roots.some((r) => pathWithin(path, r));

interface Resolved {
  given: string;
  mapped: string;
  /** realpath of the mapped FILE_PATH, inside a root */
  real: string;
  roots: string[];
}

/** FILE_PATH -> the real path it names now (names only: nothing is opened), refused unless inside a corruption root. */
async function resolveModelPath(fault: FaultSpec, platform: LocalPlatform, policy: Policy): Promise<Resolved> {
  const given = fault.params.filePath ?? '';
  if (normalAbsolutePath(given) !== given)
    throw tempestError(
      'FaultRefused',
      `model-corruption: FILE_PATH ${JSON.stringify(given.slice(0, 120))} must be an absolute path without "..", "." or empty segments`,
    );
  const mapped = platform.rewritePath(given);
  if (!policy.files.corruptionRoots.length) {
    throw tempestError(
      'FaultRefused',
      `model-corruption: ${policy.source} declares no files.corruptionRoots, so no file may be corrupted (FILE_PATH ${given})`,
    );
  }
  // Lexically inside a root (as configured or as resolved) before anything is resolved: a path elsewhere is refused
  // without a word about whether it exists or where it leads (FILE_PATH=/etc/shadow or /proc/self/exe must not
  // tell the author anything about the worker host).
  const roots = await realRoots(policy);
  if (!insideRoots(mapped, [...policy.files.corruptionRoots, ...roots])) {
    throw tempestError(
      'FaultRefused',
      `model-corruption: FILE_PATH ${given} (local path ${mapped}) is not inside files.corruptionRoots of ${policy.source} (${policy.files.corruptionRoots.join(', ')})`,
    );
  }
  let real: string;
  try {
    real = await realpath(mapped);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw tempestError('TargetNotFound', `model-corruption: FILE_PATH ${given} (local path ${mapped}) does not exist`);
    throw tempestError('FaultRefused', `model-corruption: FILE_PATH ${given} (local path ${mapped}) cannot be resolved (${code})`);
  }
  if (!insideRoots(real, roots)) {
    throw tempestError(
      'FaultRefused',
      `model-corruption: FILE_PATH ${given} resolves to ${real}, which is not inside files.corruptionRoots of ${policy.source} (${policy.files.corruptionRoots.join(', ')})`,
    );
  }
  return { given, mapped, real, roots };
}

/** A record (the workflow's, or Tempest's own) must name a file inside the roots, and the one FILE_PATH names now. */
function recordRefusal(rec: RecordLike, r: Resolved, policy: Policy, as: string): string | undefined {
  if (!insideRoots(rec.path, r.roots)) return `the record names ${rec.path}, which is not inside files.corruptionRoots of ${policy.source}`;
  if (rec.path !== r.real) return `FILE_PATH now resolves to ${r.real}, not to ${rec.path} as ${as}`;
  return undefined;
}

interface Opened {
  fh: FileHandle;
  path: string;
  st: BigIntStats;
}

/** Where the open file really is now (its name may have changed since it was opened; " (deleted)" if unlinked). */
const fdPath = (fh: FileHandle) => readlink(`/proc/self/fd/${fh.fd}`);

/**
 * Opens `real` ONCE and checks it through the descriptor: a regular file, whose real path is still `real`, inside
 * the roots. The caller acts through `fh` only, and closes it.
 */
async function openChecked(real: string, roots: string[], write: boolean, policy: Policy): Promise<Opened> {
  let fh: FileHandle;
  try {
    fh = await open(real, write ? OPEN_WRITE : OPEN_READ);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ELOOP') throw tempestError('FaultRefused', `model-corruption: ${real} was replaced by a symlink; refusing to follow it`);
    if (code === 'ENOENT') throw tempestError('TargetNotFound', `model-corruption: ${real} does not exist (any more)`);
    throw tempestError('FaultRefused', `model-corruption: ${real} cannot be opened${write ? ' for writing' : ''} (${code})`);
  }
  try {
    const st = await fh.stat({ bigint: true });
    if (!st.isFile()) throw tempestError('FaultRefused', `model-corruption: ${real} is not a regular file`);
    const now = await fdPath(fh);
    if (!insideRoots(now, roots))
      throw tempestError('FaultRefused', `model-corruption: ${real} opened as ${now}, which is not inside files.corruptionRoots of ${policy.source}`);
    if (now !== real) throw tempestError('FaultRefused', `model-corruption: ${real} moved while it was opened (it is now ${now})`);
    return { fh, path: now, st };
  } catch (e) {
    await fh.close();
    throw e;
  }
}

/** The open file is the one prepared (same device and inode)? */
function inodeRefusal(o: Opened, rec: RecordLike, as: string): string | undefined {
  if (rec.dev === undefined || rec.ino === undefined) return undefined; // a backup an earlier Tempest took: it did not record them
  const dev = String(o.st.dev);
  const ino = String(o.st.ino);
  if (dev === rec.dev && ino === rec.ino) return undefined;
  return `${o.path} is another file (device ${dev}, inode ${ino}) than the one ${as} (device ${rec.dev}, inode ${rec.ino})`;
}

/** Right before a write: the open file is still at `path`, inside the roots (a name swapped meanwhile is refused). */
async function stillAt(o: Opened, path: string, roots: string[]): Promise<string | undefined> {
  const now = await fdPath(o.fh);
  if (now !== path || !insideRoots(now, roots)) return `${path} was moved or replaced while Tempest held it open (the file it opened is now ${now})`;
  return undefined;
}

// ------------------------------------------------------------------------------------------ streaming through fds

type Beat = (bytes: number) => void;

async function hashFd(fh: FileHandle, beat?: Beat): Promise<string> {
  const h = createHash('sha256');
  const buf = Buffer.allocUnsafe(CHUNK);
  let pos = 0;
  for (;;) {
    const { bytesRead } = await fh.read(buf, 0, CHUNK, pos);
    if (!bytesRead) break;
    h.update(buf.subarray(0, bytesRead));
    pos += bytesRead;
    if (beat && pos % BEAT_EVERY === 0) beat(pos);
  }
  return h.digest('hex');
}

async function writeAll(fh: FileHandle, buf: Buffer, n: number, at: number): Promise<void> {
  let off = 0;
  while (off < n) {
    const { bytesWritten } = await fh.write(buf, off, n - off, at + off);
    if (!bytesWritten) throw new Error('write returned 0');
    off += bytesWritten;
  }
}

/**
 * Copies `src` (from offset 0 to its end) into `dst` at the same offsets, hashing what it copies. Chunks of zeros
 * are not written (they stay holes: `dst` is new or truncated to 0); `dst` is then cut to the copied size.
 */
async function copyFd(src: FileHandle, dst: FileHandle, beat?: Beat): Promise<{ sha256: string; size: number }> {
  const h = createHash('sha256');
  const buf = Buffer.allocUnsafe(CHUNK);
  let pos = 0;
  for (;;) {
    const { bytesRead } = await src.read(buf, 0, CHUNK, pos);
    if (!bytesRead) break;
    const chunk = buf.subarray(0, bytesRead);
    h.update(chunk);
    if (!chunk.equals(ZEROS.subarray(0, bytesRead))) await writeAll(dst, buf, bytesRead, pos);
    pos += bytesRead;
    if (beat && pos % BEAT_EVERY === 0) beat(pos);
  }
  await dst.truncate(pos);
  await dst.datasync();
  return { sha256: h.digest('hex'), size: pos };
}

async function corrupt(fh: FileHandle, type: NonNullable<FaultSpec['params']['corruptionType']>, size: number): Promise<void> {
  if (type === 'truncate') {
    await fh.truncate(Math.floor(size / 2));
  } else {
    const n = Math.min(size, 64 * 1024);
    await writeAll(fh, type === 'zero' ? Buffer.alloc(n) : randomBytes(n), n, 0);
  }
  await fh.datasync();
}

// ------------------------------------------------------------------------------------------ Tempest's own backups

/** Tempest's own place for this fault's backup: derived from the run, never from anything on the target. */
function backupDirOf(ctx: LocalFaultContext, ref: Pick<FaultRef, 'runId' | 'faultIndex'>): string {
  const id = createHash('sha256').update(ledgerKey(ref)).digest('hex').slice(0, 32);
  return join(ctx.stateDir, 'backups', id);
}

/**
 * `dir` is a plain directory (not a symlink) owned by the worker's user, mode 0700 (checked and fixed through a
 * descriptor opened O_NOFOLLOW). With `create`, it is made first. Without: false when it does not exist.
 */
async function ownDir(dir: string, create: boolean): Promise<boolean> {
  if (create) {
    await mkdir(dir, { mode: 0o700 }).catch((e: NodeJS.ErrnoException) => {
      if (e.code !== 'EEXIST') throw e;
    });
  }
  let fh: FileHandle;
  try {
    fh = await open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' && !create) return false;
    throw tempestError('FaultRefused', `model-corruption: Tempest's backup folder ${dir} is not a plain directory (${code}); refusing to use it`);
  }
  try {
    const st = await fh.stat();
    if (!st.isDirectory()) throw tempestError('FaultRefused', `model-corruption: Tempest's backup folder ${dir} is not a directory`);
    const uid = process.getuid?.();
    if (uid !== undefined && st.uid !== uid)
      throw tempestError(
        'FaultRefused',
        `model-corruption: Tempest's backup folder ${dir} belongs to uid ${st.uid}, not to the worker (${uid}); refusing to use it`,
      );
    if ((st.mode & 0o777) !== 0o700) await fh.chmod(0o700);
    return true;
  } finally {
    await fh.close();
  }
}

/** The backup folders of this run's fault, checked (and with `create`, made): `<state>/backups` and `<state>/backups/<id>`. */
async function backupDir(ctx: LocalFaultContext, ref: Pick<FaultRef, 'runId' | 'faultIndex'>, create: boolean): Promise<string | undefined> {
  const dir = backupDirOf(ctx, ref);
  if (create) await mkdir(ctx.stateDir, { recursive: true, mode: 0o700 });
  if (!(await ownDir(join(ctx.stateDir, 'backups'), create))) return undefined;
  return (await ownDir(dir, create)) ? dir : undefined;
}

/** A fresh file in Tempest's folder: whatever is at `path` (a stale temp, a planted symlink) is removed, then O_EXCL. */
async function createFresh(path: string): Promise<FileHandle> {
  await unlink(path).catch((e: NodeJS.ErrnoException) => {
    if (e.code !== 'ENOENT') throw e;
  });
  return open(path, CREATE, 0o600);
}

/** An existing regular file of Tempest's (never through a symlink), or undefined. */
async function openOwn(path: string): Promise<FileHandle | undefined> {
  let fh: FileHandle;
  try {
    fh = await open(path, OPEN_READ);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw tempestError('NotYetClean', `model-corruption: Tempest's backup file ${path} cannot be opened (${(e as NodeJS.ErrnoException).code})`);
  }
  if (!(await fh.stat()).isFile()) {
    await fh.close();
    throw tempestError('NotYetClean', `model-corruption: Tempest's backup file ${path} is not a regular file`);
  }
  return fh;
}

type BackupMeta = RecordLike & {
  key: string;
  takenAt: string;
};

async function readMeta(dir: string): Promise<BackupMeta | undefined> {
  const fh = await openOwn(join(dir, 'meta.json')).catch(() => undefined);
  if (!fh) return undefined;
  try {
    const buf = Buffer.alloc(64 * 1024);
    const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
    const m = JSON.parse(buf.subarray(0, bytesRead).toString('utf8')) as BackupMeta;
    return isFileRecord(m) || isLegacyRecord(m) ? m : undefined;
  } catch {
    return undefined;
  } finally {
    await fh.close();
  }
}

async function writeMeta(dir: string, m: BackupMeta): Promise<void> {
  const tmp = join(dir, 'meta.json.tmp');
  const fh = await createFresh(tmp);
  try {
    const b = Buffer.from(JSON.stringify(m));
    await writeAll(fh, b, b.length, 0);
    await fh.datasync();
  } finally {
    await fh.close();
  }
  await rename(tmp, join(dir, 'meta.json'));
}

async function hashOwn(path: string): Promise<string> {
  const fh = await openOwn(path).catch(() => undefined);
  if (!fh) return '';
  try {
    return await hashFd(fh);
  } finally {
    await fh.close();
  }
}

/**
 * Tempest's own record of this run's backup, or undefined when it never took one (then revert and verify touch
 * nothing, whatever the request's `prepared` says). When the run has a record too, both must agree.
 */
async function heldBackup(ref: FaultRef, ctx: LocalFaultContext): Promise<{ dir: string; meta: BackupMeta } | undefined> {
  let dir: string | undefined;
  try {
    dir = await backupDir(ctx, ref, false);
  } catch (e) {
    throw tempestError('NotYetClean', (e as Error).message);
  }
  const meta = dir ? await readMeta(dir) : undefined;
  if (!dir || !meta) return undefined;
  const wf = isFileRecord(ref.prepared) || isLegacyRecord(ref.prepared) ? (ref.prepared as RecordLike) : undefined;
  if (wf && !sameRecord(wf, meta)) {
    throw tempestError(
      'NotYetClean',
      `model-corruption: the run's record (${wf.path}) does not match Tempest's backup record (${meta.path}); refusing to restore`,
    );
  }
  return { dir, meta };
}

/** For revert and verify: FILE_PATH must still resolve, inside the roots, to the file Tempest backed up. */
async function resolveForRestore(ref: FaultRef, ctx: LocalFaultContext, meta: BackupMeta): Promise<Resolved> {
  let r: Resolved;
  try {
    r = await resolveModelPath(ref.fault, ctx.platform, ctx.policy);
  } catch (e) {
    throw tempestError(
      'NotYetClean',
      `model-corruption: FILE_PATH no longer resolves inside the corruption roots (${(e as Error).message}); refusing to restore ${meta.path}`,
    );
  }
  const refused = recordRefusal(meta, r, ctx.policy, 'backed up');
  if (refused) throw tempestError('NotYetClean', `model-corruption: ${refused}; refusing to restore`);
  return r;
}

async function openForRestore(r: Resolved, ctx: LocalFaultContext, meta: BackupMeta, write: boolean): Promise<Opened> {
  try {
    return await openChecked(r.real, r.roots, write, ctx.policy);
  } catch (e) {
    throw tempestError('NotYetClean', `${(e as Error).message}; refusing to restore ${meta.path}`);
  }
}

// ------------------------------------------------------------------------------------------ the driver

export const modelCorruptionLocal: LocalFaultDriver = {
  async check(fault, platform, policy) {
    const r = await resolveModelPath(fault, platform, policy);
    await (await openChecked(r.real, r.roots, false, policy)).fh.close();
  },

  async prepare(ref, ctx) {
    const r = await resolveModelPath(ref.fault, ctx.platform, ctx.policy);
    const o = await openChecked(r.real, r.roots, false, ctx.policy);
    try {
      const size = Number(o.st.size);
      if (size === 0) throw tempestError('FaultRefused', `model-corruption: ${o.path} is empty; nothing to corrupt`);
      ctx.heartbeat({ hashing: o.path, size });
      const sha256 = await hashFd(o.fh, (bytes) => ctx.heartbeat({ hashing: o.path, size, bytes }));
      const record: FileRecord = { path: o.path, size, sha256, dev: String(o.st.dev), ino: String(o.st.ino) };
      return record as unknown as Record<string, unknown>;
    } finally {
      await o.fh.close();
    }
  },

  async inject(req, ctx, ledger) {
    const entry = await ledger.open(req);
    const rec = req.prepared;
    if (!isFileRecord(rec))
      throw tempestError(
        'FaultRefused',
        'model-corruption: no prepared record (path, size, sha256, device, inode) from the workflow; refusing to touch the file',
      );
    const r = await resolveModelPath(req.fault, ctx.platform, ctx.policy);
    const refused = recordRefusal(rec, r, ctx.policy, 'prepared');
    if (refused) throw tempestError('FaultRefused', `model-corruption: ${refused}; refusing`);
    const o = await openChecked(r.real, r.roots, true, ctx.policy);
    try {
      const other = inodeRefusal(o, rec, 'prepared');
      if (other) throw tempestError('FaultRefused', `model-corruption: ${other}; refusing`);
      if (entry.done.includes(0)) return { affected: [rec.path], detail: 'already corrupted' };
      // The record's size must be the file's own (a crafted size would turn "truncate to half" into growing the
      // file to terabytes); checked before any backup or ledger write.
      if (Number(o.st.size) !== rec.size)
        throw tempestError(
          'FaultRefused',
          `model-corruption: ${o.path} changed since it was prepared (it is ${o.st.size} bytes, the prepared record says ${rec.size}); refusing to corrupt`,
        );

      const dir = (await backupDir(ctx, req, true))!;
      const backup = join(dir, 'data');
      const meta = await readMeta(dir);
      if (meta && !sameRecord(meta, rec)) {
        // Never replace a backup Tempest holds with a copy of something else (the file may be corrupted by now).
        throw tempestError(
          'FaultRefused',
          `model-corruption: Tempest already holds a backup of ${meta.path} for this run's fault, taken for another record; refusing`,
        );
      }
      if (!meta || (await hashOwn(backup)) !== rec.sha256) {
        // Fresh backup, copied from the open file: it must still be what prepare saw.
        ctx.heartbeat({ backingUp: o.path });
        const tmp = `${backup}.tmp`;
        const b = await createFresh(tmp);
        let sum: string;
        try {
          ({ sha256: sum } = await copyFd(o.fh, b, (bytes) => ctx.heartbeat({ backingUp: o.path, bytes })));
        } finally {
          await b.close();
        }
        if (sum !== rec.sha256) {
          await rm(tmp, { force: true });
          throw tempestError(
            'FaultRefused',
            `model-corruption: ${o.path} changed since it was prepared (sha256 ${sum.slice(0, 12)}… != ${rec.sha256.slice(0, 12)}…); refusing to corrupt`,
          );
        }
        await rename(tmp, backup);
        await writeMeta(dir, { ...rec, key: ledger.key, takenAt: new Date().toISOString() });
      }
      const moved = await stillAt(o, rec.path, r.roots);
      if (moved) throw tempestError('FaultRefused', `model-corruption: ${moved}; refusing to corrupt`);
      if (!entry.rounds['0']) {
        entry.rounds['0'] = [rec.path];
        entry.data = { file: rec.path, sha256: rec.sha256, backup: 'tempest state' };
        await ledger.write(entry); // intent (for the record) before the file is touched
      }
      const movedNow = await stillAt(o, rec.path, r.roots);
      if (movedNow) throw tempestError('FaultRefused', `model-corruption: ${movedNow}; refusing to corrupt`);
      const type = req.fault.params.corruptionType ?? 'random_bytes';
      // The byte count is the file's own, now (fstat of the open fd), never the record's.
      await corrupt(o.fh, type, Number((await o.fh.stat({ bigint: true })).size));
      entry.done.push(0);
      await ledger.write(entry);
      return { affected: [rec.path], detail: `${type} on ${rec.path} (backup in Tempest's state, sha256 ${rec.sha256.slice(0, 12)}…)` };
    } finally {
      await o.fh.close();
    }
  },

  async revert(ref, ctx, ledger) {
    const held = await heldBackup(ref, ctx);
    if (!held) return []; // Tempest took no backup for this run: it corrupted nothing, and touches nothing (verify says so)
    const { dir, meta } = held;
    const r = await resolveForRestore(ref, ctx, meta);
    const b = await openOwn(join(dir, 'data'));
    if (!b) {
      // The backup is taken before the file is touched and removed only after a verified restore: without it,
      // nothing was corrupted — unless the round is recorded as done, and then Tempest's state was lost: say so.
      if ((await ledger.read())?.done.includes(0)) {
        const o = await openForRestore(r, ctx, meta, false);
        try {
          if ((await hashFd(o.fh)) !== meta.sha256) {
            throw tempestError(
              'NotYetClean',
              `model-corruption: ${meta.path} was corrupted and its backup in Tempest's state (${dir}) is gone; restore it by hand (sha256 ${meta.sha256})`,
            );
          }
        } finally {
          await o.fh.close();
        }
      }
      return [];
    }
    try {
      const o = await openForRestore(r, ctx, meta, true);
      try {
        const other = inodeRefusal(o, meta, 'backed up');
        if (other) throw tempestError('NotYetClean', `model-corruption: ${other}; refusing to restore over it (Tempest's backup is ${join(dir, 'data')})`);
        ctx.heartbeat({ checking: join(dir, 'data') });
        const sum = await hashFd(b, (bytes) => ctx.heartbeat({ checking: join(dir, 'data'), bytes }));
        if (sum !== meta.sha256)
          throw tempestError(
            'NotYetClean',
            `model-corruption: the backup of ${meta.path} does not match the recorded checksum (${sum.slice(0, 12)}… != ${meta.sha256.slice(0, 12)}…); refusing to restore it`,
          );
        const moved = await stillAt(o, meta.path, r.roots);
        if (moved) throw tempestError('NotYetClean', `model-corruption: ${moved}; refusing to restore`);
        // Into the same file: truncate, then write the backup through the descriptor.
        ctx.heartbeat({ restoring: meta.path });
        await o.fh.truncate(0);
        const back = await copyFd(b, o.fh, (bytes) => ctx.heartbeat({ restoring: meta.path, bytes }));
        if (back.sha256 !== meta.sha256)
          throw tempestError('NotYetClean', `model-corruption: the backup of ${meta.path} changed while it was restored; restoring again on retry`);
      } finally {
        await o.fh.close();
      }
    } finally {
      await b.close();
    }
    return [meta.path];
  },

  async verify(ref, ctx) {
    const held = await heldBackup(ref, ctx);
    if (!held) return 'nothing was corrupted (Tempest holds no backup of this run: nothing touched)';
    const { dir, meta } = held;
    if (!(await openOwn(join(dir, 'data')).then((fh) => (fh ? fh.close().then(() => true) : false)))) return 'nothing was corrupted (no backup was ever taken)';
    const observed = await waitClean(
      'model file restored',
      async () => {
        const r = await resolveForRestore(ref, ctx, meta);
        const o = await openForRestore(r, ctx, meta, false);
        let sum: string;
        try {
          sum = await hashFd(o.fh);
        } finally {
          await o.fh.close();
        }
        return {
          clean: sum === meta.sha256,
          observed: `sha256 ${sum.slice(0, 12)}… ${sum === meta.sha256 ? '==' : '!='} recorded ${meta.sha256.slice(0, 12)}…`,
        };
      },
      ctx,
      Math.max(5_000, Math.ceil(meta.size / (50 * 1024 * 1024)) * 1000),
    );
    await rm(dir, { recursive: true, force: true });
    return observed;
  },
};
