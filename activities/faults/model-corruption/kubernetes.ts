/**
 * model-corruption on Kubernetes, by exec in TARGET_CONTAINER (the file lives in the container's filesystem
 * or one of its volumes, which only the container sees):
 *
 *   1. read-only first: `sha256sum FILE_PATH` and its size (nothing is recorded if exec cannot run);
 *   2. ledger: pod, container, file, backup path and the checksum, BEFORE the file is touched;
 *   3. backup `FILE_PATH.tempest-backup.<id>` next to it, checked against the recorded checksum;
 *   4. corrupt in place: random_bytes (first min(size, 64 KiB) overwritten from /dev/urandom) | truncate
 *      (to half) | zero (first min(size, 64 KiB) zeroed).
 *
 * Revert restores the backup atomically (cp + mv); verify recomputes the checksum by exec, insists it matches
 * the recorded one, then removes the backup. A pod that is gone or replaced took its own copy of the file
 * with it (a file on a shared PersistentVolume is the exception: see docs/kubernetes.md).
 * The container needs sh, sha256sum, cp, mv, dd, wc (busybox or coreutils).
 */
import type { FaultSpec } from '../../../config/spec.js';
import { tempestError } from '../../errors.js';
import { execIn, faultIds, forEachTarget, selectPods, shq, targetContainerOf, waitClean, type ExecResult, type K8sFaultContext, type K8sFaultDriver } from '../kubernetes-common.js';

interface CorruptionPod {
  uid: string;
  container: string;
  file: string;
  backup: string;
  sha256: string;
  size: number;
  corrupted?: boolean;
}

interface CorruptionData {
  mode: 'exec';
  pods: Record<string, CorruptionPod>;
}

function filePath(f: FaultSpec): string {
  const p = f.params.filePath;
  if (!p || !p.startsWith('/')) throw tempestError('FaultRefused', `model-corruption: FILE_PATH must be an absolute path in the container (got ${JSON.stringify(p)})`);
  return p;
}

function failed(what: string, pod: string, x: ExecResult): Error {
  return tempestError('FaultRefused', `model-corruption: ${what} in ${pod} failed (exit ${x.exitCode}): ${(x.stderr || x.stdout).trim().slice(0, 300)}`);
}

/** sha256 and size of a file, read-only. */
async function fingerprint(ctx: K8sFaultContext, pod: string, container: string, file: string): Promise<{ sha256: string; size: number }> {
  const x = await execIn(ctx, pod, container, ['sh', '-c', `f=${shq(file)}; [ -f "$f" ] || { echo "no such file: $f" >&2; exit 3; }; sha256sum "$f" | cut -d' ' -f1; wc -c < "$f"`]);
  if (x.exitCode === 3) throw tempestError('TargetNotFound', `model-corruption: FILE_PATH ${file} does not exist in ${ctx.target.namespace}/${pod}/${container}`);
  if (x.exitCode !== 0) throw failed(`sha256sum ${file}`, pod, x);
  const [sha, size] = x.stdout.trim().split(/\s+/);
  if (!/^[0-9a-f]{64}$/.test(sha ?? '')) throw failed(`sha256sum ${file} (unexpected output)`, pod, x);
  return { sha256: sha, size: Number(size) };
}

function corruptScript(type: NonNullable<FaultSpec['params']['corruptionType']>, file: string, size: number): string {
  const f = shq(file);
  const n = Math.min(size, 64 * 1024);
  if (type === 'truncate') {
    const half = Math.floor(size / 2);
    return `truncate -s ${half} ${f} 2>/dev/null || dd if=/dev/null of=${f} bs=1 seek=${half} 2>/dev/null`;
  }
  return `dd if=${type === 'zero' ? '/dev/zero' : '/dev/urandom'} of=${f} bs=${n} count=1 conv=notrunc 2>/dev/null`;
}

export const modelCorruptionKubernetes: K8sFaultDriver = {
  rbac: ['get/list pods', 'patch pods (ledger mark)', 'create pods/exec', 'get/list/patch the owner (ledger)'],

  /** FILE_PATH exists in one running target pod (this needs exec, so it fails where exec cannot run). */
  async check(fault, ctx) {
    const file = filePath(fault);
    const [pod] = await ctx.target.runningPods();
    if (!pod) throw tempestError('TargetNotFound', 'no running pod matches the target');
    await fingerprint(ctx, pod.metadata!.name!, targetContainerOf(pod, fault), file);
  },

  async inject(req, ctx, ledger) {
    const { id } = faultIds(req);
    const file = filePath(req.fault);
    const existing = await ledger.read();
    if (existing?.done.includes(0)) return { affected: existing.rounds['0'] ?? [], detail: 'already corrupted', alreadyDone: true };
    let entry = existing;
    let data = entry?.data as unknown as CorruptionData | undefined;
    if (!entry || !data?.pods || !entry.rounds['0']) {
      // read-only fingerprint first: if exec cannot run, nothing at all is recorded
      const chosen = selectPods(await ctx.target.runningPods(), req.fault);
      data = { mode: 'exec', pods: {} };
      for (const p of chosen) {
        const name = p.metadata!.name!;
        const container = targetContainerOf(p, req.fault);
        const fp = await fingerprint(ctx, name, container, file);
        if (fp.size === 0) throw tempestError('FaultRefused', `model-corruption: ${file} in ${name} is empty; nothing to corrupt`);
        data.pods[name] = { uid: p.metadata!.uid!, container, file, backup: `${file}.tempest-backup.${id}`, ...fp };
      }
      entry = await ledger.open(req);
      entry.rounds['0'] = Object.keys(data.pods);
      entry.data = data as unknown as Record<string, unknown>;
      await ledger.write(entry); // backup path + checksum recorded before the file is touched
    }
    const type = req.fault.params.corruptionType ?? 'random_bytes';
    const pods = data.pods;
    await forEachTarget(Object.keys(pods), req.fault.sequence, async (name) => {
      const c = pods[name];
      await ledger.markPod(name, { run: req.runId, fault: req.fault.name, faultIndex: req.faultIndex, detail: `${c.file} (backup ${c.backup})` });
      const b = await execIn(ctx, name, c.container, ['sh', '-c', `set -e; f=${shq(c.file)}; b=${shq(c.backup)}; if [ ! -f "$b" ]; then cp -p "$f" "$b.tmp"; mv "$b.tmp" "$b"; fi; sha256sum "$b" | cut -d' ' -f1`]);
      if (b.exitCode !== 0) throw failed(`backup of ${c.file}`, name, b);
      if (b.stdout.trim() !== c.sha256) {
        throw tempestError('FaultRefused', `model-corruption: backup ${c.backup} in ${name} does not match the recorded checksum (${b.stdout.trim().slice(0, 12)}… != ${c.sha256.slice(0, 12)}…); refusing to corrupt`);
      }
      const x = await execIn(ctx, name, c.container, ['sh', '-c', corruptScript(type, c.file, c.size)]);
      if (x.exitCode !== 0) throw failed(`${type} on ${c.file}`, name, x);
      c.corrupted = true;
    });
    entry.done.push(0);
    await ledger.write(entry);
    return { affected: Object.keys(pods), detail: `${type} on ${file} in ${Object.keys(pods).join(', ')} (backup ${Object.values(pods)[0]?.backup}, sha256 recorded)`, alreadyDone: false };
  },

  async revert(_ref, ctx, ledger) {
    const data = (await ledger.read())?.data as unknown as CorruptionData | undefined;
    const undone: string[] = [];
    for (const [name, c] of Object.entries(data?.pods ?? {})) {
      const p = await ctx.target.pod(name);
      if (!p || p.metadata?.uid !== c.uid) continue; // its copy of the file went with it
      const x = await execIn(ctx, name, c.container, ['sh', '-c', `set -e; f=${shq(c.file)}; b=${shq(c.backup)}; if [ -f "$b" ]; then cp -p "$b" "$f.tempest-restore"; mv "$f.tempest-restore" "$f"; echo restored; fi`]);
      if (x.exitCode !== 0) throw tempestError('NotYetClean', `model-corruption: restoring ${c.file} in ${name} failed (exit ${x.exitCode}): ${x.stderr.trim().slice(0, 200)}`);
      if (/restored/.test(x.stdout)) undone.push(`${name}:${c.file}`);
    }
    return undone;
  },

  async verify(_ref, ctx, ledger) {
    const data = (await ledger.read())?.data as unknown as CorruptionData | undefined;
    const pods = Object.entries(data?.pods ?? {});
    if (!pods.length) return 'nothing was corrupted (no backup was ever recorded)';
    const seen: string[] = [];
    for (const [name, c] of pods) {
      const p = await ctx.target.pod(name);
      if (!p || p.metadata?.uid !== c.uid) {
        seen.push(`${name}: replaced (its copy of ${c.file} went with it)`);
        continue;
      }
      seen.push(
        await waitClean(
          `${c.file} restored in ${name}`,
          async () => {
            const fp = await fingerprint(ctx, name, c.container, c.file).catch((e: Error) => ({ sha256: `unreadable (${e.message.slice(0, 80)})`, size: -1 }));
            const ok = fp.sha256 === c.sha256;
            return { clean: ok, observed: `${name}:${c.file} sha256 ${fp.sha256.slice(0, 12)}… ${ok ? '==' : '!='} recorded ${c.sha256.slice(0, 12)}…` };
          },
          ctx,
          Math.min(ctx.settings.verifyTimeoutMs, 20_000),
          1000,
        ),
      );
      const rm = await execIn(ctx, name, c.container, ['rm', '-f', c.backup]);
      if (rm.exitCode !== 0) seen.push(`(backup ${c.backup} could not be removed: exit ${rm.exitCode})`);
    }
    return seen.join('; ');
  },
};
