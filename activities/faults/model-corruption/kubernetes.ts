/**
 * model-corruption on Kubernetes, by exec in TARGET_CONTAINER (the file lives in the container's filesystem
 * or one of its volumes, which only the container sees):
 *
 *   prepare  read-only, per chosen pod (at most limits.maxTargetPods): `readlink -f` of FILE_PATH, which must lie
 *            inside one of the worker's files.corruptionRoots (container paths), must be a regular file; its size
 *            and sha256 (streamed by sha256sum) -> the workflow keeps this record (pods, real paths, checksums);
 *   inject   per recorded pod (still a target pod, same uid, the fault's target container): the file must still
 *            resolve to the recorded path and match the recorded checksum; a backup `<real path>.tempest-backup.<id>`
 *            (a name derived from the run, never read from the target; created O_EXCL, never through a symlink) is
 *            made and checked against the record; then the first min(size, 64 KiB) are overwritten (random_bytes |
 *            zero) or the file is truncated to half;
 *   revert   only where the run's backup exists: it is checked against the WORKFLOW's checksum, then written back
 *            INTO the file (truncate + write through the open file: same inode, owner and mode);
 *   verify   where the run's backup exists, the file's sha256 equals the workflow's checksum; then it is removed.
 *
 * The record comes from workflow history or a crafted request, so EVERY call re-checks it before any exec: each
 * recorded file inside the roots, each container the fault's target container of that pod. In the container, each
 * script resolves FILE_PATH again (it must resolve to the recorded path, inside the roots, to a regular file), opens
 * it ONCE and acts only through that open file (/proc/$$/fd/3), after checking where that file really is.
 *
 * Every script is constant text; paths and roots are its positional arguments ("$1", ...), never spliced in.
 * A pod that is gone or replaced took its own copy of the file with it (a file on a shared PersistentVolume is
 * the exception: see docs/kubernetes.md). The container needs sh, readlink, sha256sum, cat, mv, rm, dd, wc (and
 * truncate for CORRUPTION_TYPE=truncate, else dd) and /proc.
 */
import type { V1Pod } from '@kubernetes/client-node';
import type { FaultSpec } from '../../../config/spec.js';
import { normalAbsolutePath, pathWithin } from '../../../config/policy.js';
import { tempestError } from '../../errors.js';
import type { FaultRef } from '../../types.js';
import { isRunning } from '../../platform/k8s/target.js';
import { selectTargets } from '../select.js';
import {
  execIn,
  faultIds,
  forEachTarget,
  targetContainerOf,
  waitClean,
  type ExecResult,
  type K8sFaultContext,
  type K8sFaultDriver,
} from '../kubernetes-common.js';

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

/** The record's shape, and every file in it inside one of `rootList` (the worker's corruption roots). */
function isRecord(r: unknown, rootList: string[]): r is CorruptionRecord {
  const x = r as CorruptionRecord;
  if (!x || typeof x !== 'object' || x.mode !== 'exec' || !x.pods || typeof x.pods !== 'object' || Array.isArray(x.pods)) return false;
  return Object.values(x.pods).every(
    (p) =>
      !!p &&
      typeof p.uid === 'string' &&
      typeof p.container === 'string' &&
      typeof p.file === 'string' &&
      normalAbsolutePath(p.file) === p.file &&
      rootList.some((root) => pathWithin(p.file, root)) &&
      typeof p.sha256 === 'string' &&
      /^[0-9a-f]{64}$/.test(p.sha256) &&
      Number.isSafeInteger(p.size) &&
      p.size > 0,
  );
}

/** Shape only (no roots): something that claims to be a record. */
const looksLikeRecord = (r: unknown): boolean => !!r && typeof r === 'object' && (r as CorruptionRecord).mode === 'exec';

function filePath(f: FaultSpec): string {
  const p = f.params.filePath;
  if (!p || normalAbsolutePath(p) !== p)
    throw tempestError(
      'FaultRefused',
      `model-corruption: FILE_PATH must be an absolute path in the container without "..", "." or empty segments (got ${JSON.stringify(String(p).slice(0, 120))})`,
    );
  return p;
}

function roots(ctx: K8sFaultContext, f: FaultSpec): string[] {
  const r = ctx.policy.files.corruptionRoots.filter((x) => normalAbsolutePath(x) === x);
  if (!r.length)
    throw tempestError(
      'FaultRefused',
      `model-corruption: ${ctx.policy.source} declares no files.corruptionRoots (container paths), so no file may be corrupted (FILE_PATH ${filePath(f)})`,
    );
  return r;
}

const backupOf = (file: string, id: string) => `${file}.tempest-backup.${id}`;

function failed(what: string, pod: string, x: ExecResult): Error {
  return tempestError('FaultRefused', `model-corruption: ${what} in ${pod} failed (exit ${x.exitCode}): ${(x.stderr || x.stdout).trim().slice(0, 300)}`);
}

// ------------------------------------------------------------------------------------------ the container scripts

/**
 * Every script takes the same positional arguments: $1 FILE_PATH, $2 the recorded real path ('' before prepare),
 * $3 the backup ('' when none), $4 the expected sha256 ('' when none), $5 a byte count, $6 the corruption type,
 * $7... the corruption roots. Exit codes: 3 FILE_PATH missing, 4 not a regular file (or not openable), 5 outside
 * every root, 6 not the recorded file (or moved while open), 7 changed since prepared, 8 the backup is not a plain
 * file, 9 the backup does not match the checksum, 10 a write failed, 11 the restored file does not match.
 */
const ARGS = 'p=$1; rec=$2; b=$3; want=$4; n=$5; t=$6; shift 6';
/** FILE_PATH -> $f, its real path: inside a root, the recorded one (when given), a regular file. */
const RESOLVE = [
  'f=$(readlink -f -- "$p") || { echo "cannot resolve $p" >&2; exit 3; }',
  '[ -e "$f" ] || { echo "no such file: $p" >&2; exit 3; }',
  'ok=""; for r in "$@"; do s=${r%/}; case "$f" in "$r"|"$s"/*) ok=1;; esac; done',
  '[ -n "$ok" ] || { echo "$f is outside the corruption roots" >&2; exit 5; }',
  '[ -z "$rec" ] || [ "$f" = "$rec" ] || { echo "FILE_PATH $p now resolves to $f, not to $rec as prepared" >&2; exit 6; }',
  '{ [ -f "$f" ] && [ ! -L "$f" ]; } || { echo "not a regular file: $f" >&2; exit 4; }',
];
const OPEN_READ = 'exec 3<"$f"';
const OPEN_WRITE = 'exec 3<>"$f"';
/** After the open: fd 3 IS $f (its real path, through /proc), a regular file. From here on, only "$F" is used. */
const CHECK_FD = [
  'F=/proc/$$/fd/3',
  'o=$(readlink "$F") || { echo "cannot check $f through /proc" >&2; exit 4; }',
  '[ "$o" = "$f" ] || { echo "$f changed while it was opened (it is now $o)" >&2; exit 6; }',
  '[ -f "$F" ] || { echo "not a regular file: $f" >&2; exit 4; }',
];
/** Right before a write: the open file is still at $f. */
const STILL_AT = 'o=$(readlink "$F"); [ "$o" = "$f" ] || { echo "$f was moved or replaced while it was open (it is now $o)" >&2; exit 6; }';
/** No backup of this run: print none and stop (touching nothing). A backup that is not a plain file: refused. */
const BACKUP_OR_NONE = [
  '{ [ -e "$b" ] || [ -L "$b" ]; } || { echo none; exit 0; }',
  '{ [ -f "$b" ] && [ ! -L "$b" ]; } || { echo "backup $b is not a regular file" >&2; exit 8; }',
];

/** Prints the real path, its sha256 and size. */
const FINGERPRINT = [ARGS, ...RESOLVE, OPEN_READ, ...CHECK_FD, 'echo "$f"; sha256sum < "$F" | cut -d" " -f1; wc -c < "$F"'].join('\n');

/** Makes the backup once (O_EXCL: a planted name is removed first, a symlink never followed), checks it, corrupts through fd 3. */
const INJECT = [
  ARGS,
  ...RESOLVE,
  OPEN_WRITE,
  ...CHECK_FD,
  'umask 077',
  'if [ -L "$b" ] || { [ -e "$b" ] && [ ! -f "$b" ]; }; then echo "backup $b is not a regular file" >&2; exit 8; fi',
  'if [ ! -e "$b" ]; then',
  '  rm -f -- "$b.tmp" || exit 8',
  '  ( set -C; cat < "$F" > "$b.tmp" ) || { echo "cannot create the backup $b.tmp" >&2; exit 8; }',
  '  { [ -f "$b.tmp" ] && [ ! -L "$b.tmp" ]; } || { echo "backup $b.tmp is not a regular file" >&2; exit 8; }',
  '  s=$(sha256sum < "$b.tmp" | cut -d" " -f1)',
  '  [ "$s" = "$want" ] || { rm -f -- "$b.tmp"; echo "$f changed since it was prepared" >&2; exit 7; }',
  '  mv -f -- "$b.tmp" "$b" || exit 8',
  'fi',
  '{ [ -f "$b" ] && [ ! -L "$b" ]; } || { echo "backup $b is not a regular file" >&2; exit 8; }',
  's=$(sha256sum < "$b" | cut -d" " -f1)',
  '[ "$s" = "$want" ] || { echo "backup $b does not match the prepared checksum" >&2; exit 9; }',
  STILL_AT,
  'case "$t" in',
  '  random_bytes) dd if=/dev/urandom of="$F" bs="$n" count=1 conv=notrunc 2>/dev/null ;;',
  '  zero) dd if=/dev/zero of="$F" bs="$n" count=1 conv=notrunc 2>/dev/null ;;',
  '  truncate) truncate -s "$n" "$F" 2>/dev/null || dd if=/dev/null of="$F" bs=1 seek="$n" 2>/dev/null ;;',
  '  *) echo "unknown corruption type $t" >&2; exit 2 ;;',
  'esac || { echo "$t on $f failed" >&2; exit 10; }',
  'echo corrupted',
].join('\n');

/** Only with the run's backup: checked against the workflow's checksum, then written into the open file (same inode). */
const RESTORE = [
  ARGS,
  ...BACKUP_OR_NONE,
  ...RESOLVE,
  OPEN_WRITE,
  ...CHECK_FD,
  'exec 4<"$b"',
  '[ -f /proc/$$/fd/4 ] || { echo "backup $b is not a regular file" >&2; exit 8; }',
  's=$(sha256sum < /proc/$$/fd/4 | cut -d" " -f1)',
  '[ "$s" = "$want" ] || { echo "backup $b does not match the checksum" >&2; exit 9; }',
  STILL_AT,
  'cat < /proc/$$/fd/4 > "$F" || { echo "writing $f failed" >&2; exit 10; }',
  's=$(sha256sum < "$F" | cut -d" " -f1)',
  '[ "$s" = "$want" ] || { echo "$f does not match the checksum after the restore" >&2; exit 11; }',
  'echo restored',
].join('\n');

/** Only with the run's backup: the file's sha256 (the caller compares it with the workflow's). */
const VERIFY = [ARGS, ...BACKUP_OR_NONE, ...RESOLVE, OPEN_READ, ...CHECK_FD, 'sha256sum < "$F" | cut -d" " -f1'].join('\n');

/** The scripts (constant text), for tests that run them on real files. */
export const CONTAINER_SCRIPTS = { FINGERPRINT, INJECT, RESTORE, VERIFY } as const;

export interface ScriptArgs {
  filePath: string;
  recorded?: string;
  backup?: string;
  sha256?: string;
  bytes?: number;
  type?: string;
  roots: string[];
}

/** argv for `sh -c <script>`: `['sh', '-c', script, 'sh', ...positional]`. */
export function scriptArgv(script: string, a: ScriptArgs): string[] {
  return ['sh', '-c', script, 'sh', a.filePath, a.recorded ?? '', a.backup ?? '', a.sha256 ?? '', String(a.bytes ?? 0), a.type ?? '', ...a.roots];
}

async function fingerprint(
  ctx: K8sFaultContext,
  pod: string,
  container: string,
  file: string,
  rootList: string[],
  recorded?: string,
): Promise<{ file: string; sha256: string; size: number }> {
  const x = await execIn(ctx, pod, container, scriptArgv(FINGERPRINT, { filePath: file, recorded, roots: rootList }));
  if (x.exitCode === 3)
    throw tempestError('TargetNotFound', `model-corruption: FILE_PATH ${file} does not exist in ${ctx.target.namespace}/${pod}/${container}`);
  if (x.exitCode === 4 || x.exitCode === 5 || x.exitCode === 6)
    throw tempestError(
      'FaultRefused',
      `model-corruption: ${x.stderr.trim().slice(0, 300)} (${ctx.policy.source}: files.corruptionRoots ${rootList.join(', ')})`,
    );
  if (x.exitCode !== 0) throw failed(`sha256sum ${file}`, pod, x);
  const [real, sha, size] = x.stdout.trim().split(/\s+/);
  if (normalAbsolutePath(real ?? '') !== real || !/^[0-9a-f]{64}$/.test(sha ?? '') || !/^\d+$/.test(size ?? ''))
    throw failed(`sha256sum ${file} (unexpected output)`, pod, x);
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

/**
 * The request's record, re-checked on every call (it comes from workflow history or a crafted request): its shape,
 * every file inside the worker's roots, and — for the pods still targeted — the container the fault targets there.
 * Refusals are typed `as` (FaultRefused for inject, NotYetClean for revert/verify: nothing is touched either way).
 */
async function checkedRecord(
  ref: FaultRef,
  ctx: K8sFaultContext,
  rootList: string[],
  as: 'FaultRefused' | 'NotYetClean',
): Promise<{ rec: CorruptionRecord; pods: Map<string, V1Pod> }> {
  const rec = ref.prepared;
  if (!isRecord(rec, rootList)) {
    const outside = looksLikeRecord(rec)
      ? Object.entries((rec as unknown as CorruptionRecord).pods ?? {})
          .filter(([, c]) => typeof c?.file !== 'string' || !rootList.some((r) => pathWithin(String(c.file), r)))
          .map(([n, c]) => `${String(c?.file).slice(0, 120)} in ${n}`)
      : [];
    if (outside.length)
      throw tempestError(
        as,
        `model-corruption: the prepared record names ${outside.join(', ')}, not inside files.corruptionRoots of ${ctx.policy.source} (${rootList.join(', ')}); refusing to touch any file`,
      );
    throw tempestError(as, 'model-corruption: the prepared record (pods, paths, checksums) is malformed; refusing to touch any file');
  }
  const pods = await sameTargetPods(ctx, rec);
  for (const [name, p] of pods) {
    const want = targetContainerOf(p, ref.fault);
    if (rec.pods[name].container !== want) {
      throw tempestError(
        as,
        `model-corruption: the prepared record names container ${rec.pods[name].container.slice(0, 63)} in ${name}, not the fault's target container ${want}; refusing to touch any file`,
      );
    }
  }
  return { rec, pods };
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
    const chosen = selectTargets(await ctx.target.runningPods(), ref.fault, (p) => p.metadata?.name ?? '', isRunning, ctx.policy.limits.maxTargetPods);
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
    const file = filePath(req.fault);
    if (req.prepared === undefined)
      throw tempestError('FaultRefused', 'model-corruption: no prepared record (pods, paths, checksums) from the workflow; refusing to touch any file');
    const rootList = roots(ctx, req.fault);
    const { rec, pods } = await checkedRecord(req, ctx, rootList, 'FaultRefused');
    const entry = await ledger.open(req);
    if (entry.done.includes(0)) return { affected: entry.rounds['0'] ?? [], detail: 'already corrupted', alreadyDone: true };
    if (!entry.rounds['0']) {
      entry.rounds['0'] = [...pods.keys()];
      entry.data = { mode: 'exec', files: Object.fromEntries(Object.entries(rec.pods).map(([n, c]) => [n, `${c.file} sha256 ${c.sha256.slice(0, 12)}…`])) };
      await ledger.write(entry); // intent, for the record, before any file is touched
    }
    const type = req.fault.params.corruptionType ?? 'random_bytes';
    await forEachTarget([...pods.keys()], req.fault.sequence, async (name) => {
      const c = rec.pods[name];
      // Still the file prepare saw (no symlink swapped in)? Read-only, before the pod is marked.
      const fp = await fingerprint(ctx, name, c.container, file, rootList, c.file);
      // The byte count comes from the file as it is now and must be the prepared size (a crafted size would make
      // "truncate to half" grow the file to terabytes).
      if (fp.size !== c.size)
        throw tempestError(
          'FaultRefused',
          `model-corruption: ${c.file} in ${name} changed since it was prepared (it is ${fp.size} bytes, the prepared record says ${c.size}); refusing to corrupt`,
        );
      const backup = backupOf(c.file, id);
      await ledger.markPod(name, { run: req.runId, fault: req.fault.name, faultIndex: req.faultIndex, detail: `${c.file} (backup ${backup})` });
      const bytes = type === 'truncate' ? Math.floor(fp.size / 2) : Math.min(fp.size, 64 * 1024);
      const x = await execIn(
        ctx,
        name,
        c.container,
        scriptArgv(INJECT, { filePath: file, recorded: c.file, backup, sha256: c.sha256, bytes, type, roots: rootList }),
      );
      if (x.exitCode === 7) throw tempestError('FaultRefused', `model-corruption: ${c.file} in ${name} changed since it was prepared; refusing to corrupt`);
      if (x.exitCode === 9)
        throw tempestError(
          'FaultRefused',
          `model-corruption: backup ${backup} in ${name} does not match the prepared checksum (${c.sha256.slice(0, 12)}…); refusing to corrupt`,
        );
      if (x.exitCode === 4 || x.exitCode === 5 || x.exitCode === 6 || x.exitCode === 8)
        throw tempestError('FaultRefused', `model-corruption: ${x.stderr.trim().slice(0, 300)} in ${name}; refusing to corrupt`);
      if (x.exitCode !== 0) throw failed(`${type} on ${c.file}`, name, x);
    });
    entry.done.push(0);
    await ledger.write(entry);
    const first = Object.values(rec.pods)[0];
    return {
      affected: [...pods.keys()],
      detail: `${type} on ${first?.file} in ${[...pods.keys()].join(', ')} (backup ${first ? backupOf(first.file, id) : '-'}, sha256 held by the workflow)`,
      alreadyDone: false,
    };
  },

  async revert(ref, ctx) {
    if (ref.prepared === undefined) return []; // no prepare ever ran: nothing was corrupted
    const file = filePath(ref.fault);
    const rootList = roots(ctx, ref.fault);
    const { rec, pods } = await checkedRecord(ref, ctx, rootList, 'NotYetClean');
    const { id } = faultIds(ref);
    const undone: string[] = [];
    for (const [name] of pods) {
      const c = rec.pods[name];
      const backup = backupOf(c.file, id);
      const x = await execIn(ctx, name, c.container, scriptArgv(RESTORE, { filePath: file, recorded: c.file, backup, sha256: c.sha256, roots: rootList }));
      if (x.exitCode === 0 && x.stdout.trim() === 'none') continue; // this run never backed up here, so never corrupted here (the backup comes first): nothing touched
      if (x.exitCode === 9)
        throw tempestError(
          'NotYetClean',
          `model-corruption: backup ${backup} in ${name} does not match the workflow's checksum (${c.sha256.slice(0, 12)}…); refusing to restore it`,
        );
      if (x.exitCode !== 0 || x.stdout.trim() !== 'restored') {
        throw tempestError(
          'NotYetClean',
          `model-corruption: restoring ${c.file} in ${name} failed (exit ${x.exitCode}): ${(x.stderr || x.stdout).trim().slice(0, 200)}; refusing to restore`,
        );
      }
      undone.push(`${name}:${c.file}`);
    }
    return undone;
  },

  async verify(ref, ctx) {
    if (ref.prepared === undefined) return 'nothing was corrupted (no prepared record)';
    const file = filePath(ref.fault);
    const rootList = roots(ctx, ref.fault);
    const { rec, pods: live } = await checkedRecord(ref, ctx, rootList, 'NotYetClean');
    const { id } = faultIds(ref);
    const seen: string[] = [];
    for (const [name, c] of Object.entries(rec.pods)) {
      if (!live.has(name)) {
        seen.push(`${name}: replaced (its copy of ${c.file} went with it)`);
        continue;
      }
      const backup = backupOf(c.file, id);
      let none = false;
      seen.push(
        await waitClean(
          `${c.file} restored in ${name}`,
          async () => {
            const x = await execIn(ctx, name, c.container, scriptArgv(VERIFY, { filePath: file, recorded: c.file, backup, roots: rootList })).catch(
              (e: Error) => ({ exitCode: -1, stdout: '', stderr: `unreadable (${e.message.slice(0, 80)})` }),
            );
            const out = x.stdout.trim();
            if (x.exitCode === 0 && out === 'none') {
              none = true;
              return { clean: true, observed: `${name}: no backup of this run: nothing touched` };
            }
            if (x.exitCode !== 0) return { clean: false, observed: `${name}:${c.file} not checked (exit ${x.exitCode}): ${x.stderr.trim().slice(0, 120)}` };
            const ok = out === c.sha256;
            return { clean: ok, observed: `${name}:${c.file} sha256 ${ok ? '==' : '!='} the workflow's ${c.sha256.slice(0, 12)}…` };
          },
          ctx,
          Math.min(ctx.settings.verifyTimeoutMs, 20_000),
          1000,
        ),
      );
      if (none) continue;
      const rm = await execIn(ctx, name, c.container, ['rm', '-f', '--', backup]);
      if (rm.exitCode !== 0) seen.push(`(backup could not be removed: exit ${rm.exitCode})`);
    }
    return seen.join('; ') || 'nothing was corrupted';
  },
};
