/**
 * pod-network-latency on the local platform: the target replicas are told to delay every response by
 * NETWORK_LATENCY ms (+ up to JITTER ms), through the fleet's behaviour API, with a dead-man switch
 * (`expiresAt`) so the replica heals itself if Tempest is gone for good. This emulates latency at the
 * app's HTTP layer; real tc netem in a network namespace is the Kubernetes/netns driver's job.
 * Revert resets every replica this run touched; verify reads every replica's behaviour back.
 */
import type { LocalFaultDriver } from '../driver.js';
import { selectPods, waitClean } from '../driver.js';

export const podNetworkLatencyLocal: LocalFaultDriver = {
  async inject(req, ctx, ledger) {
    const entry = await ledger.open(req);
    if (entry.done.includes(0)) return { affected: entry.rounds['0'] ?? [], detail: 'already injected' };
    let targets = entry.rounds['0'];
    if (!targets) {
      targets = selectPods(await ctx.fleet.pods(), req.fault, ctx.policy.limits.maxTargetPods).map((p) => p.name);
      entry.rounds['0'] = targets;
      await ledger.write(entry);
    }
    const { networkLatencyMs = 2000, jitterMs = 0 } = req.fault.params;
    const latencyMs = networkLatencyMs + (jitterMs ? Math.floor(Math.random() * (jitterMs + 1)) : 0);
    for (const pod of targets) {
      // A retry after a crash between the act and "done" finds its own mark on the replica: never act twice.
      const now = await ctx.fleet.behaviour(pod);
      if (now?.setBy === ledger.key && now.latencyMs > 0) continue;
      await ctx.fleet.setBehaviour(pod, { latencyMs, expiresAt: req.expiresAt, setBy: ledger.key });
      ctx.heartbeat({ pod });
    }
    entry.done.push(0);
    await ledger.write(entry);
    return { affected: targets, detail: `+${latencyMs} ms on ${targets.join(', ')} until ${req.expiresAt} at the latest` };
  },
  async revert(ref, ctx, ledger) {
    const entry = await ledger.read();
    // Every pod that carries our mark, plus the ones the ledger names (in case the mark write was lost).
    // Only Running pods: a Terminating one serves no traffic and stops answering as it drains, a Pending one is a
    // fresh replica that starts clean (and may not listen yet); the fleet answers 502 for either.
    const running = (await ctx.fleet.pods()).filter((p) => p.phase === 'Running');
    const names = new Set<string>(Object.values(entry?.rounds ?? {}).flat());
    for (const p of running) {
      const b = await ctx.fleet.behaviour(p.name);
      if (b?.setBy === ledger.key) names.add(p.name);
    }
    const undone: string[] = [];
    for (const name of names) {
      if (!running.some((p) => p.name === name)) continue; // gone, terminating or (never ours) pending
      if (await ctx.fleet.setBehaviour(name, { latencyMs: 0, errorRate: 0, down: false, expiresAt: null, setBy: null })) undone.push(name);
    }
    void ref;
    return undone;
  },
  async verify(_ref, ctx, ledger) {
    return waitClean(
      'latency removed',
      async () => {
        const pods = (await ctx.fleet.pods()).filter((p) => p.phase === 'Running'); // see revert
        const dirty: string[] = [];
        for (const p of pods) {
          const b = await ctx.fleet.behaviour(p.name);
          if (b && (b.setBy === ledger.key || (b.setBy === null && b.latencyMs > 0))) dirty.push(`${p.name} (+${b.latencyMs} ms)`);
        }
        return { clean: dirty.length === 0, observed: dirty.length ? `still slow: ${dirty.join(', ')}` : `no latency on ${pods.length} pod(s)` };
      },
      ctx,
      10_000,
    );
  },
};
