/**
 * container-kill on the local platform: SIGKILL the target replica's process directly (as crictl/ctr
 * would kill the container on the node), not through the fleet's API. The fleet restarts it.
 * Verify: the fleet has noticed every kill, and the owner is back to its desired ready replicas.
 */
import { readFileSync } from 'node:fs';
import type { LocalFaultDriver } from '../driver.js';
import { ownerRecovered, selectPods, waitClean } from '../driver.js';
import { tempestError } from '../../errors.js';

/** The process exists and is not a zombie (a zombie is dead, waiting for its parent to reap it). */
function running(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return false;
  }
}

/**
 * Is `pid` the replica process of pod `name`? Its command line is the fleet's replica with `--name <pod>`: a pid
 * from anywhere else (a ledger someone rewrote, a recycled pid) is never signalled.
 */
function isReplicaOf(pid: number, name: string, fleet: { name: string; pid: number }): boolean {
  try {
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    const arg = (flag: string) => {
      const i = argv.indexOf(flag);
      return i >= 0 ? argv[i + 1] : undefined;
    };
    // The process's real parent (field 4 of /proc/<pid>/stat, after the parenthesised command name), not what its
    // argv claims: anyone can start a process called replica.ts --name <pod>.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    return (
      argv.some((a) => a.endsWith('replica.ts')) &&
      arg('--name') === name &&
      arg('--fleet') === fleet.name &&
      arg('--parent-pid') === String(fleet.pid) &&
      Number.isSafeInteger(fleet.pid) &&
      fleet.pid > 1 &&
      ppid === fleet.pid
    );
  } catch {
    return false;
  }
}

export const containerKillLocal: LocalFaultDriver = {
  async inject(req, ctx, ledger) {
    const entry = await ledger.open(req);
    const key = String(req.round);
    if (entry.done.includes(req.round)) return { affected: (entry.rounds[key] ?? []).map((t) => String(t).split(':')[0]), detail: 'round already done' };
    const pods = await ctx.fleet.pods();
    const supervisor = await ctx.fleet.healthz();
    let targets = entry.rounds[key];
    if (targets) {
      // A round already planned (a retry after a crash): the ledger on the owner is writable by whoever may annotate
      // it, so its list is held to what this fault could have chosen: TARGET_PODS when given, at most maxTargetPods.
      const byName = new Map<string, string>(); // the first entry per pod, in the ledger's order
      for (const t of targets) if (!byName.has(String(t).split(':')[0])) byName.set(String(t).split(':')[0], String(t));
      const max = ctx.policy.limits.maxTargetPods;
      if (byName.size > max)
        throw tempestError(
          'FaultRefused',
          `container-kill: the ledger's round ${key} names ${byName.size} pods, more than limits.maxTargetPods (${max}); refusing`,
        );
      const wanted = req.fault.targetPods;
      targets = [...byName].filter(([name]) => !wanted.length || wanted.includes(name)).map(([, t]) => t);
    } else {
      targets = selectPods(pods, req.fault, ctx.policy.limits.maxTargetPods).map((p) => `${p.name}:${p.pid}`);
      entry.rounds[key] = targets;
      await ledger.write(entry);
    }
    // The ledger says which pods this round chose; the pid to signal comes from the fleet's live pod list, and only
    // if that process is the pod's replica (a retried round never signals what a rewritten ledger names).
    const killed: string[] = [];
    const skipped: string[] = [];
    const chosen: string[] = [];
    for (const t of targets) {
      const name = String(t).split(':')[0];
      const pod = pods.find((p) => p.name === name && p.phase === 'Running');
      if (!pod) {
        skipped.push(`${name} (not running: the kill landed, or the pod is gone)`);
        chosen.push(String(t));
        continue;
      }
      if (!isReplicaOf(pod.pid, pod.name, supervisor)) {
        skipped.push(`${name} (pid ${pod.pid} is not a replica process of fleet ${supervisor.name} (pid ${supervisor.pid}): not signalled)`);
        chosen.push(String(t));
        continue;
      }
      try {
        process.kill(pod.pid, 'SIGKILL');
        killed.push(`${name}:${pod.pid}`);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ESRCH') throw e; // already gone: idempotent
        skipped.push(`${name} (already gone)`);
      }
      // The ledger keeps the pid really signalled: verify waits for the fleet to notice THAT process's death.
      chosen.push(`${name}:${pod.pid}`);
    }
    // SIGKILL is delivered asynchronously: for a moment the process still runs. Wait (bounded) until each one is
    // really dead, so the round is done only once the kill has landed and verify can tell "not noticed yet" apart.
    const deadline = Date.now() + 5_000;
    for (const t of killed) {
      const pid = Number(t.split(':')[1]);
      while (running(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      if (running(pid)) throw tempestError('PlatformUnavailable', `container-kill: ${t} still runs 5 s after SIGKILL (retried)`);
    }
    entry.rounds[key] = chosen;
    entry.done.push(req.round);
    await ledger.write(entry);
    const detail = [
      killed.length ? `killed container process ${killed.join(', ')}` : 'killed no container process',
      skipped.length ? `skipped ${skipped.join('; ')}` : '',
    ]
      .filter(Boolean)
      .join('; ');
    return { affected: killed.map((t) => t.split(':')[0]), detail };
  },
  async revert() {
    return [];
  },
  async verify(_ref, ctx, ledger) {
    // The fleet (like a kubelet) learns of a killed container only when it reaps it; until then it still lists the
    // pod as ready, so "replicas ready" alone would pass before the kill was even noticed. Wait for that first.
    const killed = Object.values((await ledger.read())?.rounds ?? {}).flat();
    await waitClean(
      'killed containers noticed by the fleet',
      async () => {
        const pods = await ctx.fleet.pods();
        const stale = killed.filter((t) => pods.some((p) => `${p.name}:${p.pid}` === t) && !running(Number(t.split(':')[1])));
        return { clean: stale.length === 0, observed: stale.length ? `still listed after their process died: ${stale.join(', ')}` : 'every kill noticed' };
      },
      ctx,
      60_000,
      100,
    );
    return ownerRecovered(ctx);
  },
};
