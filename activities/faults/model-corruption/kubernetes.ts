/**
 * model-corruption on Kubernetes, by exec in TARGET_CONTAINER (the file lives in the container's filesystem
 * or one of its volumes, which only the container sees):
 *
 *   prepare  read-only, per chosen pod: `readlink -f` of FILE_PATH, which must lie inside one of the worker's
 *            files.corruptionRoots (container paths), must be a regular file; its size and sha256 (streamed by
 *            sha256sum) -> the workflow keeps this record (pods, real paths, checksums);
 *   inject   per recorded pod (still a target pod, same uid): the file must still resolve to the recorded path
 *            and match the recorded checksum; a backup `<real path>.tempest-backup.<id>` (a name derived from the
 *            run, never read from the target) is made and checked against the record; then the first
 *            min(size, 64 KiB) are overwritten (random_bytes | zero) or the file is truncated to half;
 *   revert   the backup is checked against the WORKFLOW's checksum before it replaces the file (cp + mv);
 *   verify   the file's sha256 equals the workflow's checksum; then the backup is removed.
 *
 * Every script is constant text; paths and roots are its positional arguments ("$1", ...), never spliced in.
 * A pod that is gone or replaced took its own copy of the file with it (a file on a shared PersistentVolume is
 * the exception: see docs/kubernetes.md). The container needs sh, readlink, sha256sum, cp, mv, dd, wc.
 */
import type { V1Pod } from '@kubernetes/client-node';
import type { FaultSpec } from '../../../config/spec.js';
import { normalAbsolutePath } from '../../../config/policy.js';
import { tempestError } from '../../errors.js';
import type { FaultRef } from '../../types.js';
import { execIn, faultIds, forEachTarget, selectPods, targetContainerOf, waitClean, type ExecResult, type K8sFaultContext, type K8sFaultDriver } from '../kubernetes-common.js';

interface CorruptionPod {
  uid: string;
  container: string;
  /** real path, inside a corruption root */
  file: string;
  sha256: string;
  size: number;
}

/** The prepared record the workflow keeps. */
interface CorruptionRecord {
  mode: 'exec';
  pods: Record<string, CorruptionPod>;
}

function isRecord(r: unknown): r is CorruptionRecord {
  const x = r as CorruptionRecord;
  if (!x || x.mode !== 'exec' || !x.pods || typeof x.pods !== 'object') return false;
  return Object.values(x.pods).every(
    (p) => p && typeof p.uid === 'string' && typeof p.container === 'string' && typeof p.file === 'string' && normalAbsolutePath(p.file) === p.file && /^[0-9a-f]{64}$/.test(p.sha256) && Number.isSafeInteger(p.size),
  );
}

function filePath(f: FaultSpec): string {
  const p = f.params.filePath;
  if (!p || normalAbsolutePath(p) !== p) throw tempestError('FaultRefused', `model-corruption: FILE_PATH must be an absolute path in the container without "..", "." or empty segments (got ${JSON.stringify(String(p).slice(0, 120))})`);
  return p;
}

function roots(ctx: K8sFaultContext, f: FaultSpec): string[] {
  const r = ctx.policy.files.corruptionRoots.filter((x) => normalAbsolutePath(x) === x);
  if (!r.length) throw tempestError('FaultRefused', `model-corruption: ${ctx.policy.source} declares no files.corruptionRoots (container paths), so no file may be corrupted (FILE_PATH ${filePath(f)})`);
  return r;
}

const backupOf = (file: string, id: string) => `${file}.tempest-backup.${id}`;

function failed(what: string, pod: string, x: ExecResult): Error {
  return tempestError('FaultRefused', `model-corruption: ${what} in ${pod} failed (exit ${x.exitCode}): ${(x.stderr || x.stdout).trim().slice(0, 300)}`);
}

/**
 * $1 = FILE_PATH, $2... = roots. Prints the real path, its sha256 and size; exit 3 missing, 4 not a regular file,
 * 5 outside every root.
 */
const FINGERPRINT = [
  'f=$(readlink -f -- "$1") || { echo "cannot resolve $1" >&2; exit 3; }',
  '[ -e "$f" ] || { echo "no such file: $1" >&2; exit 3; }',
  '[ -f "$f" ] || { echo "not a regular file: $f" >&2; exit 4; }',
  'shift; ok=""; for r in "$@"; do case "$f" in "$r"|"$r"/*) ok=1;; esac; done',
  '[ -n "$ok" ] || { echo "$f is outside the corruption roots" >&2; exit 5; }',
  'echo "$f"; sha256sum -- "$f" | cut -d" " -f1; wc -c < "$f"',
].join('\n');

/** $1 = file, $2 = backup. Makes the backup once (cp + mv), prints its sha256. */
const BACKUP = 'set -e; if [ ! -f "$2" ]; then cp -p -- "$1" "$2.tmp"; mv -- "$2.tmp" "$2"; fi; sha256sum -- "$2" | cut -d" " -f1';
/** $1 = file, $2 = backup, $3 = bytes. */
const CORRUPT = {
  random_bytes: 'dd if=/dev/urandom of="$1" bs="$3" count=1 conv=notrunc 2>/dev/null',
  zero: 'dd if=/dev/zero of="$1" bs="$3" count=1 conv=notrunc 2>/dev/null',
  truncate: 'truncate -s "$3" -- "$1" 2>/dev/null || dd if=/dev/null of="$1" bs=1 seek="$3" 2>/dev/null',
};
/** $1 = file, $2 = backup. Prints the backup's sha256 (the caller checks it before asking for the restore). */
const BACKUP_SUM = '[ -f "$2" ] || { echo none; exit 0; }; sha256sum -- "$2" | cut -d" " -f1';
/** $1 = file, $2 = backup. */
const RESTORE = 'set -e; cp -p -- "$2" "$1.tempest-restore"; mv -- "$1.tempest-restore" "$1"; echo restored';

async function fingerprint(ctx: K8sFaultContext, pod: string, container: string, file: string, rootList: string[]): Promise<{ file: string; sha256: string; size: number }> {
  const x = await execIn(ctx, pod, container, ['sh', '-c', FINGERPRINT, 'sh', file, ...rootList]);
  if (x.exitCode === 3) throw tempestError('TargetNotFound', `model-corruption: FILE_PATH ${file} does not exist in ${ctx.target.namespace}/${pod}/${container}`);
  if (x.exitCode === 4 || x.exitCode === 5) throw tempestError('FaultRefused', `model-corruption: ${x.stderr.trim().slice(0, 300)} (${ctx.policy.source}: files.corruptionRoots ${rootList.join(', ')})`);
  if (x.exitCode !== 0) throw failed(`sha256sum ${file}`, pod, x);
  const [real, sha, size] = x.stdout.trim().split(/\s+/);
  if (normalAbsolutePath(real ?? '') !== real || !/^[0-9a-f]{64}$/.test(sha ?? '') || !/^\d+$/.test(size ?? '')) throw failed(`sha256sum ${file} (unexpected output)`, pod, x);
  return { file: real, sha256: sha, size: Number(size) };
}

/** The recorded pods that are still the same target pods (a replaced pod took its copy of the file with it). */
async function sameTargetPods(ctx: K8sFaultContext, rec: CorruptionRecord): Promise<Map<string, V1Pod>> {
  const live = new Map((await ctx.target.pods()).map((p) => [p.metadata!.name!, p]));
  const out = new Map<string, V1Pod>();
  for (const [name, c] of Object.entries(rec.pods)) {
    const p = live.get(name);
    if (p && p.metadata?.uid === c.uid) out.set(name, p);
  }
  return out;
}

function recordOf(ref: FaultRef): CorruptionRecord {
  if (!isRecord(ref.prepared)) throw tempestError('FaultRefused', 'model-corruption: no prepared record (pods, paths, checksums) from the workflow; refusing to touch any file');
  return ref.prepared;
}

export const modelCorruptionKubernetes: K8sFaultDriver = {
  rbac: ['get/list pods', 'patch pods (ledger mark)', 'create pods/exec', 'get/list/patch the owner (ledger)'],

  /** FILE_PATH resolves inside a root in one running target pod (this needs exec, so it fails where exec cannot run). */
  async check(fault, ctx) {
    const file = filePath(fault);
    const [pod] = await ctx.target.runningPods();
    if (!pod) throw tempestError('TargetNotFound', 'no running pod matches the target');
    await fingerprint(ctx, pod.metadata!.name!, targetContainerOf(pod, fault), file, roots(ctx, fault));
  },

  async prepare(ref, ctx) {
    const file = filePath(ref.fault);
    const rootList = roots(ctx, ref.fault);
    const chosen = selectPods(await ctx.target.runningPods(), ref.fault);
    const rec: CorruptionRecord = { mode: 'exec', pods: {} };
    for (const p of chosen) {
      const name = p.metadata!.name!;
      const container = targetContainerOf(p, ref.fault);
      const fp = await fingerprint(ctx, name, container, file, rootList);
      if (fp.size === 0) throw tempestError('FaultRefused', `model-corruption: ${fp.file} in ${name} is empty; nothing to corrupt`);
      rec.pods[name] = { uid: p.metadata!.uid!, container, ...fp };
      ctx.heartbeat({ prepared: name });
    }
    return rec as unknown as Record<string, unknown>;
  },

  async inject(req, ctx, ledger) {
    const { id } = faultIds(req);
    const rec = recordOf(req);
    const entry = await ledger.open(req);
    if (entry.done.includes(0)) return { affected: entry.rounds['0'] ?? [], detail: 'already corrupted', alreadyDone: true };
    const rootList = roots(ctx, req.fault);
    const pods = await sameTargetPods(ctx, rec);
    if (!entry.rounds['0']) {
      entry.rounds['0'] = [...pods.keys()];
      entry.data = { mode: 'exec', files: Object.fromEntries(Object.entries(rec.pods).map(([n, c]) => [n, `${c.file} sha256 ${c.sha256.slice(0, 12)}…`])) };
      await ledger.write(entry); // intent, for the record, before any file is touched
    }
    const type = req.fault.params.corruptionType ?? 'random_bytes';
    await forEachTarget([...pods.keys()], req.fault.sequence, async (name) => {
      const c = rec.pods[name];
      // Still the file prepare saw (no symlink swapped in, no new content)?
      const now = await fingerprint(ctx, name, c.container, filePath(req.fault), rootList);
      const backup = backupOf(c.file, id);
      if (now.file !== c.file) throw tempestError('FaultRefused', `model-corruption: FILE_PATH now resolves to ${now.file} in ${name}, not to ${c.file} as prepared; refusing`);
      await ledger.markPod(name, { run: req.runId, fault: req.fault.name, faultIndex: req.faultIndex, detail: `${c.file} (backup ${backup})` });
      const b = await execIn(ctx, name, c.container, ['sh', '-c', BACKUP, 'sh', c.file, backup]);
      if (b.exitCode !== 0) throw failed(`backup of ${c.file}`, name, b);
      if (b.stdout.trim() !== c.sha256) {
        throw tempestError('FaultRefused', `model-corruption: backup ${backup} in ${name} does not match the prepared checksum (${b.stdout.trim().slice(0, 12)}… != ${c.sha256.slice(0, 12)}…); refusing to corrupt`);
      }
      if (now.sha256 !== c.sha256) throw tempestError('FaultRefused', `model-corruption: ${c.file} in ${name} changed since it was prepared; refusing to corrupt`);
      const bytes = type === 'truncate' ? Math.floor(c.size / 2) : Math.min(c.size, 64 * 1024);
      const x = await execIn(ctx, name, c.container, ['sh', '-c', CORRUPT[type], 'sh', c.file, backup, String(bytes)]);
      if (x.exitCode !== 0) throw failed(`${type} on ${c.file}`, name, x);
    });
    entry.done.push(0);
    await ledger.write(entry);
    const first = Object.values(rec.pods)[0];
    return { affected: [...pods.keys()], detail: `${type} on ${first?.file} in ${[...pods.keys()].join(', ')} (backup ${first ? backupOf(first.file, id) : '-'}, sha256 held by the workflow)`, alreadyDone: false };
  },

  async revert(ref, ctx) {
    if (!isRecord(ref.prepared)) return []; // no prepare ever ran: nothing was corrupted
    const { id } = faultIds(ref);
    const rec = ref.prepared;
    const undone: string[] = [];
    for (const [name] of await sameTargetPods(ctx, rec)) {
      const c = rec.pods[name];
      const backup = backupOf(c.file, id);
      const sum = await execIn(ctx, name, c.container, ['sh', '-c', BACKUP_SUM, 'sh', c.file, backup]);
      if (sum.exitCode !== 0) throw tempestError('NotYetClean', `model-corruption: reading backup ${backup} in ${name} failed (exit ${sum.exitCode}): ${sum.stderr.trim().slice(0, 200)}`);
      const got = sum.stdout.trim();
      if (got === 'none') continue; // never backed up here, so never corrupted (the backup comes first)
      if (got !== c.sha256) throw tempestError('NotYetClean', `model-corruption: backup ${backup} in ${name} does not match the workflow's checksum (${got.slice(0, 12)}… != ${c.sha256.slice(0, 12)}…); refusing to restore it`);
      const x = await execIn(ctx, name, c.container, ['sh', '-c', RESTORE, 'sh', c.file, backup]);
      if (x.exitCode !== 0) throw tempestError('NotYetClean', `model-corruption: restoring ${c.file} in ${name} failed (exit ${x.exitCode}): ${x.stderr.trim().slice(0, 200)}`);
      undone.push(`${name}:${c.file}`);
    }
    return undone;
  },

  async verify(ref, ctx) {
    if (!isRecord(ref.prepared)) return 'nothing was corrupted (no prepared record)';
    const { id } = faultIds(ref);
    const rec = ref.prepared;
    const live = await sameTargetPods(ctx, rec);
    const seen: string[] = [];
    for (const [name, c] of Object.entries(rec.pods)) {
      if (!live.has(name)) {
        seen.push(`${name}: replaced (its copy of ${c.file} went with it)`);
        continue;
      }
      seen.push(
        await waitClean(
          `${c.file} restored in ${name}`,
          async () => {
            const x = await execIn(ctx, name, c.container, ['sh', '-c', 'sha256sum -- "$1" | cut -d" " -f1', 'sh', c.file]).catch((e: Error) => ({ exitCode: -1, stdout: `unreadable (${e.message.slice(0, 80)})`, stderr: '' }));
            const sum = x.stdout.trim();
            const ok = sum === c.sha256;
            return { clean: ok, observed: `${name}:${c.file} sha256 ${sum.slice(0, 12)}… ${ok ? '==' : '!='} the workflow's ${c.sha256.slice(0, 12)}…` };
          },
          ctx,
          Math.min(ctx.settings.verifyTimeoutMs, 20_000),
          1000,
        ),
      );
      const rm = await execIn(ctx, name, c.container, ['rm', '-f', '--', backupOf(c.file, id)]);
      if (rm.exitCode !== 0) seen.push(`(backup could not be removed: exit ${rm.exitCode})`);
    }
    return seen.join('; ') || 'nothing was corrupted';
  },
};
