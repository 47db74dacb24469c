/**
 * container-kill on the local platform: SIGKILL the target replica's process directly (as crictl/ctr
 * would kill the container on the node), not through the fleet's API. The fleet restarts it.
 * Verify: the owner is back to its desired ready replicas.
 */
import type { LocalFaultDriver } from '../driver.js';
import { ownerRecovered, selectPods } from '../driver.js';

export const containerKillLocal: LocalFaultDriver = {
  async inject(req, ctx, ledger) {
    const entry = await ledger.open(req);
    const key = String(req.round);
    if (entry.done.includes(req.round)) return { affected: entry.rounds[key] ?? [], detail: 'round already done' };
    const pods = await ctx.fleet.pods();
    let targets = entry.rounds[key];
    if (!targets) {
      targets = selectPods(pods, req.fault).map((p) => `${p.name}:${p.pid}`);
      entry.rounds[key] = targets;
      await ledger.write(entry);
    }
    const killed: string[] = [];
    for (const t of targets) {
      const pid = Number(t.split(':')[1]);
      try {
        process.kill(pid, 'SIGKILL');
        killed.push(t);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ESRCH') throw e; // already gone: idempotent
      }
    }
    entry.done.push(req.round);
    await ledger.write(entry);
    return { affected: targets.map((t) => t.split(':')[0]), detail: `killed container process ${targets.join(', ')}` };
  },
  async revert() {
    return [];
  },
  async verify(_ref, ctx) {
    return ownerRecovered(ctx);
  },
};
