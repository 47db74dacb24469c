/**
 * container-kill on the local platform: SIGKILL the target replica's process directly (as crictl/ctr
 * would kill the container on the node), not through the fleet's API. The fleet restarts it.
 * Verify: the fleet has noticed every kill, and the owner is back to its desired ready replicas.
 */
import { readFileSync } from 'node:fs';
import type { LocalFaultDriver } from '../driver.js';
import { ownerRecovered, selectPods, waitClean } from '../driver.js';

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
function isReplicaOf(pid: number, name: string): boolean {
  try {
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    const i = argv.indexOf('--name');
    return i >= 0 && argv[i + 1] === name && argv.some((a) => a.endsWith('replica.ts'));
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
    let targets = entry.rounds[key];
    if (!targets) {
      targets = selectPods(pods, req.fault).map((p) => `${p.name}:${p.pid}`);
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
      if (!isReplicaOf(pod.pid, pod.name)) {
        skipped.push(`${name} (pid ${pod.pid} is not the fleet's replica process: not signalled)`);
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
    entry.rounds[key] = chosen;
    entry.done.push(req.round);
    await ledger.write(entry);
    const detail = [killed.length ? `killed container process ${killed.join(', ')}` : 'killed no container process', skipped.length ? `skipped ${skipped.join('; ')}` : ''].filter(Boolean).join('; ');
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
