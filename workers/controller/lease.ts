/**
 * Leader election with a coordination.k8s.io/v1 Lease, as client-go's leaderelection does it:
 *  - the holder renews every third of the lease duration;
 *  - another replica takes the Lease over only once it has seen the SAME record (holder, renewTime, transitions)
 *    unchanged for a whole lease duration on its own monotonic clock — never by comparing the holder's renewTime
 *    with its own wall clock, so clock skew between nodes cannot make two leaders;
 *  - the holder counts itself leader only until two thirds of the lease duration after its last successful renewal
 *    (the renew deadline), so it stops acting a third of a lease before anyone else may start;
 *  - every write carries the resourceVersion it read: two replicas racing for an expired Lease cannot both win (the
 *    loser gets 409);
 *  - `healthy()` (the work loop's liveness) must hold for a renewal: a leader whose loop is wedged lets the Lease
 *    go instead of keeping it while doing nothing.
 * A holder that cannot renew before its deadline calls onLost (the controller exits; its Deployment restarts it).
 */
import { CoordinationV1Api, V1MicroTime, type KubeConfig, type V1Lease } from '@kubernetes/client-node';
import { statusOf } from '../../activities/platform/k8s/status.js';

export interface LeaseOptions {
  namespace: string;
  name: string;
  identity: string;
  durationMs: number;
  log: (m: string) => void;
  /** Renew only while this holds (the controller's work loop made progress recently). */
  healthy?: () => boolean;
}

const monotonicMs = () => performance.now();

export class LeaderLease {
  private api: CoordinationV1Api;
  private leading = false;
  private lastRenew = 0;
  /** The last record seen of someone else's Lease, and when (monotonic) it was first seen as it is. */
  private observed: { key: string; at: number } | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    kc: KubeConfig,
    private o: LeaseOptions,
  ) {
    this.api = kc.makeApiClient(CoordinationV1Api);
  }

  /** Two thirds of the lease: the holder stops acting this long after its last renewal, a third before others may start. */
  private get renewDeadlineMs(): number {
    return Math.floor((this.o.durationMs * 2) / 3);
  }

  get isLeader(): boolean {
    return this.leading && monotonicMs() - this.lastRenew < this.renewDeadlineMs;
  }

  /** One attempt to acquire or renew; true when this replica holds the Lease now. */
  async tryOnce(): Promise<boolean> {
    const { namespace, name, identity } = this.o;
    const seconds = Math.max(1, Math.ceil(this.o.durationMs / 1000));
    // MicroTime fields must go out with 6 fractional digits (a plain Date's 3 are refused by the API server).
    const now = new V1MicroTime();
    let lease: V1Lease | undefined;
    try {
      lease = await this.api.readNamespacedLease({ name, namespace });
    } catch (e) {
      if (statusOf(e)?.code !== 404) throw e;
    }
    if (!lease) {
      try {
        await this.api.createNamespacedLease({
          namespace,
          body: {
            metadata: { name, namespace, labels: { 'app.kubernetes.io/name': 'tempest', 'app.kubernetes.io/component': 'controller' } },
            spec: { holderIdentity: identity, leaseDurationSeconds: seconds, acquireTime: now, renewTime: now, leaseTransitions: 0 },
          },
        });
        return this.won(now, 'acquired (new Lease)');
      } catch (e) {
        if (statusOf(e)?.code === 409) return false; // another replica created it first
        throw e;
      }
    }
    const spec = lease.spec ?? {};
    const holder = spec.holderIdentity ?? '';
    const mono = monotonicMs();
    if (holder && holder !== identity) {
      // Expired only once this exact record has stayed unchanged for its lease duration, on our own clock.
      const key = `${holder}|${spec.renewTime ? new Date(spec.renewTime).toISOString() : ''}|${spec.leaseTransitions ?? 0}|${lease.metadata?.resourceVersion ?? ''}`;
      if (this.observed?.key !== key) this.observed = { key, at: mono };
      const expired = mono - this.observed.at >= (spec.leaseDurationSeconds ?? seconds) * 1000;
      if (!expired) {
        if (this.leading) this.lose(`held by ${holder}`);
        return false;
      }
    }
    if (holder === identity && this.o.healthy && !this.o.healthy()) {
      if (this.leading) this.lose('the work loop made no progress: letting the Lease expire');
      return false;
    }
    const mine = holder === identity;
    const body: V1Lease = {
      ...lease,
      spec: {
        ...spec,
        holderIdentity: identity,
        leaseDurationSeconds: seconds,
        renewTime: now,
        acquireTime: mine && spec.acquireTime ? new V1MicroTime(new Date(spec.acquireTime).getTime()) : now,
        ...(mine ? {} : { leaseTransitions: (spec.leaseTransitions ?? 0) + 1 }),
      },
    };
    try {
      await this.api.replaceNamespacedLease({ name, namespace, body });
      return this.won(now, mine ? undefined : `acquired (taken over from ${holder || 'nobody'}, expired)`);
    } catch (e) {
      if (statusOf(e)?.code === 409) return false; // someone wrote it between our read and write
      throw e;
    }
  }

  private won(_at: V1MicroTime, why: string | undefined): true {
    if (!this.leading && why) this.o.log(`leader election: ${this.o.namespace}/${this.o.name} ${why} by ${this.o.identity}`);
    this.leading = true;
    this.lastRenew = monotonicMs();
    this.observed = undefined;
    return true;
  }

  private lose(why: string): void {
    this.leading = false;
    this.o.log(`leader election: lost ${this.o.namespace}/${this.o.name} (${why}); not acting`);
    this.onLost?.();
  }

  onLost?: () => void;

  /** Try every third of the lease duration until stop(); resolves once this replica leads. */
  start(): Promise<void> {
    return new Promise((resolveLead) => {
      const every = Math.max(500, Math.floor(this.o.durationMs / 3));
      const tick = async () => {
        if (this.stopped) return;
        try {
          const lead = await this.tryOnce();
          if (lead) resolveLead();
        } catch (e) {
          this.o.log(`leader election: ${(e as Error).message}`);
        }
        if (this.leading && monotonicMs() - this.lastRenew >= this.renewDeadlineMs) this.lose('could not renew before the renew deadline');
        if (!this.stopped) this.timer = setTimeout(tick, every);
      };
      void tick();
    });
  }

  /** Stop renewing; a leader gives the Lease up (holderIdentity cleared) so the next replica need not wait. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    if (!this.leading) return;
    this.leading = false;
    try {
      const lease = await this.api.readNamespacedLease({ name: this.o.name, namespace: this.o.namespace });
      if (lease.spec?.holderIdentity === this.o.identity) {
        await this.api.replaceNamespacedLease({
          name: this.o.name,
          namespace: this.o.namespace,
          body: { ...lease, spec: { leaseDurationSeconds: lease.spec.leaseDurationSeconds, leaseTransitions: lease.spec.leaseTransitions } },
        });
      }
    } catch {
      /* it expires by itself */
    }
  }
}
