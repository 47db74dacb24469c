/**
 * model-corruption on the local platform: FILE_PATH (mapped through platform.local.pathRewrites) is backed
 * up with its sha256 in the ledger BEFORE it is touched, then corrupted in place (random_bytes | truncate |
 * zero). Revert restores the backup; verify recomputes the checksum and insists it matches.
 */
import { createHash, randomBytes } from 'node:crypto';
import { copyFileSync, existsSync, openSync, readFileSync, closeSync, writeSync, statSync, truncateSync, unlinkSync, renameSync } from 'node:fs';
import type { LocalFaultDriver } from '../driver.js';
import { waitClean } from '../driver.js';
import { tempestError } from '../../errors.js';

function sha256(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}

interface Backup {
  file: string;
  backup: string;
  sha256: string;
  size: number;
}

export const modelCorruptionLocal: LocalFaultDriver = {
  check(fault, platform) {
    const file = platform.rewritePath(fault.params.filePath ?? '');
    if (!existsSync(file)) throw tempestError('TargetNotFound', `model-corruption: FILE_PATH ${fault.params.filePath} (local path ${file}) does not exist`);
  },
  async inject(req, ctx, ledger) {
    const entry = await ledger.open(req);
    const file = ctx.platform.rewritePath(req.fault.params.filePath!);
    if (entry.done.includes(0)) return { affected: [file], detail: 'already corrupted' };
    let b = entry.data as Backup | undefined;
    if (!b) {
      const backup = `${file}.tempest-backup.${ledger.key.replace(/[^\w.-]/g, '_')}`;
      b = { file, backup, sha256: sha256(file), size: statSync(file).size };
      copyFileSync(file, backup);
      entry.data = b as unknown as Record<string, unknown>;
      entry.rounds['0'] = [file];
      await ledger.write(entry); // backup + checksum recorded before the file is touched
    } else if (sha256(b.backup) !== b.sha256) {
      throw tempestError('FaultRefused', `model-corruption: backup ${b.backup} does not match the recorded checksum; refusing to go on`);
    }
    const type = req.fault.params.corruptionType ?? 'random_bytes';
    if (type === 'truncate') truncateSync(file, Math.floor(b.size / 2));
    else {
      const fd = openSync(file, 'r+');
      try {
        const n = Math.min(b.size, 64 * 1024);
        writeSync(fd, type === 'zero' ? Buffer.alloc(n) : randomBytes(n), 0, n, 0);
      } finally {
        closeSync(fd);
      }
    }
    entry.done.push(0);
    await ledger.write(entry);
    return { affected: [file], detail: `${type} on ${file} (backup ${b.backup})` };
  },
  async revert(_ref, _ctx, ledger) {
    const entry = await ledger.read();
    const b = entry?.data as Backup | undefined;
    if (!b) return [];
    if (!existsSync(b.backup)) {
      if (existsSync(b.file) && sha256(b.file) === b.sha256) return []; // restored earlier
      throw tempestError('NotYetClean', `model-corruption: backup ${b.backup} is missing and ${b.file} does not match its checksum`);
    }
    const tmp = `${b.file}.tempest-restore`;
    copyFileSync(b.backup, tmp);
    renameSync(tmp, b.file); // atomic replace
    return [b.file];
  },
  async verify(_ref, ctx, ledger) {
    const entry = await ledger.read();
    const b = entry?.data as Backup | undefined;
    if (!b) return 'nothing was corrupted';
    const observed = await waitClean(
      'model file restored',
      async () => {
        const sum = existsSync(b.file) ? sha256(b.file) : 'missing';
        return { clean: sum === b.sha256, observed: `sha256 ${sum.slice(0, 12)}… ${sum === b.sha256 ? '==' : '!='} recorded ${b.sha256.slice(0, 12)}…` };
      },
      ctx,
      5_000,
    );
    if (existsSync(b.backup)) unlinkSync(b.backup);
    return observed;
  },
};
