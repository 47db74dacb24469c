/**
 * model-corruption on the local platform.
 *
 *   FILE_PATH (an absolute, normal path: no "..", checked by the descriptor) is mapped through
 *   platform.local.pathRewrites, resolved with realpath (symlinks followed) and must then lie inside one of the
 *   operator's files.corruptionRoots (themselves realpath'd): nothing else can ever be touched.
 *
 *   prepare   read-only: the real path, size and sha256 (streamed) -> the workflow keeps this record;
 *   inject    the file must still match the record; a backup is copied into Tempest's OWN state directory
 *             (<state>/backups/<key>/, mode 0700; never beside the target) and checked against the record;
 *             intent goes to the ledger; then the first min(size, 64 KiB) are overwritten (random_bytes | zero)
 *             or the file is truncated to half;
 *   revert    the backup (checked against the workflow's checksum, else the checksum Tempest stored with the
 *             backup — never the target-side ledger) replaces the file atomically;
 *   verify    the file's sha256 equals the workflow's checksum; then the backup is removed.
 *
 * Everything is streamed (files over 2 GiB work). The ledger on the fleet only records what happened, for
 * anyone looking; no path or checksum is ever read back from it.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { chmod, copyFile, mkdir, open, readFile, realpath, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { FaultSpec } from '../../../config/spec.js';
import { normalAbsolutePath, pathWithin, type Policy } from '../../../config/policy.js';
import type { FaultRef } from '../../types.js';
import type { LocalPlatform } from '../../platform/local.js';
import type { LocalFaultContext, LocalFaultDriver } from '../driver.js';
import { ledgerKey, waitClean } from '../driver.js';
import { tempestError } from '../../errors.js';

export async function sha256File(file: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 })) h.update(chunk as Buffer);
  return h.digest('hex');
}

/** What prepare records (and the workflow keeps). */
export interface FileRecord {
  /** The real path (after rewrites and symlinks), inside a corruption root. */
  path: string;
  size: number;
  sha256: string;
}

function isFileRecord(r: unknown): r is FileRecord {
  const x = r as FileRecord;
  return !!x && typeof x.path === 'string' && typeof x.size === 'number' && typeof x.sha256 === 'string' && /^[0-9a-f]{64}$/.test(x.sha256);
}

/** FILE_PATH -> the real file it names, refused unless it is a regular file inside a corruption root. */
export async function resolveModelFile(fault: FaultSpec, platform: LocalPlatform, policy: Policy): Promise<string> {
  const given = fault.params.filePath ?? '';
  if (normalAbsolutePath(given) !== given) throw tempestError('FaultRefused', `model-corruption: FILE_PATH ${JSON.stringify(given.slice(0, 120))} must be an absolute path without "..", "." or empty segments`);
  const mapped = platform.rewritePath(given);
  if (!policy.files.corruptionRoots.length) {
    throw tempestError('FaultRefused', `model-corruption: ${policy.source} declares no files.corruptionRoots, so no file may be corrupted (FILE_PATH ${given})`);
  }
  let real: string;
  try {
    real = await realpath(mapped);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw tempestError('TargetNotFound', `model-corruption: FILE_PATH ${given} (local path ${mapped}) does not exist`);
    throw tempestError('FaultRefused', `model-corruption: FILE_PATH ${given} (local path ${mapped}) cannot be resolved (${code})`);
  }
  const roots = (await Promise.all(policy.files.corruptionRoots.map((r) => realpath(r).catch(() => undefined)))).filter((r): r is string => !!r);
  if (!roots.some((r) => pathWithin(real, r))) {
    throw tempestError(
      'FaultRefused',
      `model-corruption: FILE_PATH ${given} resolves to ${real}, which is not inside files.corruptionRoots of ${policy.source} (${policy.files.corruptionRoots.join(', ')})`,
    );
  }
  const st = await stat(real);
  if (!st.isFile()) throw tempestError('FaultRefused', `model-corruption: ${real} is not a regular file`);
  return real;
}

/** Tempest's own place for this fault's backup: derived from the run, never from anything on the target. */
function backupDir(ctx: LocalFaultContext, ref: Pick<FaultRef, 'runId' | 'faultIndex'>): string {
  const id = createHash('sha256').update(ledgerKey(ref)).digest('hex').slice(0, 32);
  return join(ctx.stateDir, 'backups', id);
}

interface BackupMeta extends FileRecord {
  key: string;
  takenAt: string;
}

async function readMeta(dir: string): Promise<BackupMeta | undefined> {
  try {
    const m = JSON.parse(await readFile(join(dir, 'meta.json'), 'utf8')) as BackupMeta;
    return isFileRecord(m) ? m : undefined;
  } catch {
    return undefined;
  }
}

/**
 * What a revert restores and verifies against: Tempest's own record of the backup (its state dir, never the
 * target), which must agree with the workflow's record when the run has one, and with FILE_PATH resolved again
 * inside the roots now. A request whose record names another file (a crafted activity call, or the roots moved)
 * is refused: nothing is written outside the roots, ever.
 */
async function expected(ref: FaultRef, dir: string, ctx: LocalFaultContext): Promise<FileRecord | undefined> {
  const meta = await readMeta(dir);
  const wf = isFileRecord(ref.prepared) ? ref.prepared : undefined;
  if (!meta) return wf; // no backup was ever taken here (revert and verify then touch nothing)
  if (wf && (wf.path !== meta.path || wf.sha256 !== meta.sha256)) {
    throw tempestError('NotYetClean', `model-corruption: the run's record (${wf.path}) does not match Tempest's backup record (${meta.path}); refusing to restore`);
  }
  let now: string;
  try {
    now = await resolveModelFile(ref.fault, ctx.platform, ctx.policy);
  } catch (e) {
    throw tempestError('NotYetClean', `model-corruption: FILE_PATH no longer resolves inside the corruption roots (${(e as Error).message}); refusing to restore ${meta.path}`);
  }
  if (now !== meta.path) throw tempestError('NotYetClean', `model-corruption: FILE_PATH now resolves to ${now}, not to ${meta.path} as backed up; refusing to restore`);
  return meta;
}

/** Copy `backup` over `path` atomically, writing only inside the real parent directory, re-checked inside the roots. */
async function restoreInside(backup: string, path: string, policy: Policy): Promise<void> {
  const parent = await realpath(dirname(path));
  const roots = (await Promise.all(policy.files.corruptionRoots.map((r) => realpath(r).catch(() => undefined)))).filter((r): r is string => !!r);
  const target = join(parent, basename(path));
  if (target !== path || !roots.some((r) => pathWithin(target, r))) throw tempestError('NotYetClean', `model-corruption: ${path} is no longer inside the corruption roots (its folder resolves to ${parent}); refusing to restore`);
  const tmp = join(parent, `.${basename(path)}.tempest-restore`);
  await copyFile(backup, tmp);
  await rename(tmp, target); // atomic replace, in the directory just checked
}

async function corrupt(file: string, type: NonNullable<FaultSpec['params']['corruptionType']>, size: number): Promise<void> {
  if (type === 'truncate') {
    const fh = await open(file, 'r+');
    try {
      await fh.truncate(Math.floor(size / 2));
    } finally {
      await fh.close();
    }
    return;
  }
  const n = Math.min(size, 64 * 1024);
  const fh = await open(file, 'r+');
  try {
    await fh.write(type === 'zero' ? Buffer.alloc(n) : randomBytes(n), 0, n, 0);
  } finally {
    await fh.close();
  }
}

export const modelCorruptionLocal: LocalFaultDriver = {
  async check(fault, platform, policy) {
    await resolveModelFile(fault, platform, policy);
  },

  async prepare(ref, ctx) {
    const path = await resolveModelFile(ref.fault, ctx.platform, ctx.policy);
    const { size } = await stat(path);
    if (size === 0) throw tempestError('FaultRefused', `model-corruption: ${path} is empty; nothing to corrupt`);
    ctx.heartbeat({ hashing: path, size });
    const record: FileRecord = { path, size, sha256: await sha256File(path) };
    return record as unknown as Record<string, unknown>;
  },

  async inject(req, ctx, ledger) {
    const entry = await ledger.open(req);
    const rec = req.prepared;
    if (!isFileRecord(rec)) throw tempestError('FaultRefused', 'model-corruption: no prepared record (path, size, sha256) from the workflow; refusing to touch the file');
    if (entry.done.includes(0)) return { affected: [rec.path], detail: 'already corrupted' };
    const path = await resolveModelFile(req.fault, ctx.platform, ctx.policy);
    if (path !== rec.path) throw tempestError('FaultRefused', `model-corruption: FILE_PATH now resolves to ${path}, not to ${rec.path} as prepared; refusing`);
    const dir = backupDir(ctx, req);
    const backup = join(dir, 'data');
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await chmod(dir, 0o700);
    const meta = await readMeta(dir);
    if (!meta || meta.sha256 !== rec.sha256 || (await sha256File(backup).catch(() => '')) !== rec.sha256) {
      // Fresh backup: the file must still be what prepare saw.
      ctx.heartbeat({ backingUp: path });
      await copyFile(path, `${backup}.tmp`);
      await chmod(`${backup}.tmp`, 0o600);
      const sum = await sha256File(`${backup}.tmp`);
      if (sum !== rec.sha256) {
        await rm(`${backup}.tmp`, { force: true });
        throw tempestError('FaultRefused', `model-corruption: ${path} changed since it was prepared (sha256 ${sum.slice(0, 12)}… != ${rec.sha256.slice(0, 12)}…); refusing to corrupt`);
      }
      await rename(`${backup}.tmp`, backup);
      const m: BackupMeta = { ...rec, key: ledger.key, takenAt: new Date().toISOString() };
      await writeFile(join(dir, 'meta.json'), JSON.stringify(m), { mode: 0o600 });
    }
    if (!entry.rounds['0']) {
      entry.rounds['0'] = [rec.path];
      entry.data = { file: rec.path, sha256: rec.sha256, backup: 'tempest state' };
      await ledger.write(entry); // intent (for the record) before the file is touched
    }
    const type = req.fault.params.corruptionType ?? 'random_bytes';
    await corrupt(path, type, rec.size);
    entry.done.push(0);
    await ledger.write(entry);
    return { affected: [path], detail: `${type} on ${path} (backup in Tempest's state, sha256 ${rec.sha256.slice(0, 12)}…)` };
  },

  async revert(ref, ctx, ledger) {
    const dir = backupDir(ctx, ref);
    const backup = join(dir, 'data');
    const want = await expected(ref, dir, ctx);
    if (!want) return []; // nothing was ever backed up: nothing was corrupted
    const exists = await stat(backup).then(() => true, () => false);
    if (!exists) {
      // The backup is taken before the file is touched and removed only after a verified restore: without it,
      // nothing was corrupted — unless the round is recorded as done, and then Tempest's state was lost: say so.
      if ((await ledger.read())?.done.includes(0) && (await sha256File(want.path).catch(() => '')) !== want.sha256) {
        throw tempestError('NotYetClean', `model-corruption: ${want.path} was corrupted and its backup in Tempest's state (${dir}) is gone; restore it by hand (sha256 ${want.sha256})`);
      }
      return [];
    }
    const sum = await sha256File(backup);
    if (sum !== want.sha256) throw tempestError('NotYetClean', `model-corruption: the backup of ${want.path} does not match the recorded checksum (${sum.slice(0, 12)}… != ${want.sha256.slice(0, 12)}…); refusing to restore it`);
    await restoreInside(backup, want.path, ctx.policy);
    return [want.path];
  },

  async verify(ref, ctx) {
    const dir = backupDir(ctx, ref);
    const want = await expected(ref, dir, ctx);
    if (!want) return 'nothing was corrupted';
    if (!(await stat(join(dir, 'data')).then(() => true, () => false))) return 'nothing was corrupted (no backup was ever taken)';
    const observed = await waitClean(
      'model file restored',
      async () => {
        const sum = await sha256File(want.path).catch(() => 'missing');
        return { clean: sum === want.sha256, observed: `sha256 ${sum.slice(0, 12)}… ${sum === want.sha256 ? '==' : '!='} recorded ${want.sha256.slice(0, 12)}…` };
      },
      ctx,
      Math.max(5_000, Math.ceil(want.size / (50 * 1024 * 1024)) * 1000),
    );
    await rm(dir, { recursive: true, force: true });
    return observed;
  },
};
