/**
 * Leader election with a coordination.k8s.io/v1 Lease, as client-go's leaderelection does it: the holder renews
 * `renewTime` every third of the lease duration; another replica takes the Lease over only once `renewTime +
 * leaseDurationSeconds` has passed. Every write carries the resourceVersion it read, so two replicas that race
 * for an expired Lease cannot both win (the API server answers the loser 409). A holder that cannot renew within
 * the lease duration stops acting at once (onLost) — before anyone else may take over.
 */
import { CoordinationV1Api, V1MicroTime, type KubeConfig, type V1Lease } from '@kubernetes/client-node';
import { statusOf } from '../../activities/platform/k8s/status.js';

export interface LeaseOptions {
  namespace: string;
  name: string;
  identity: string;
  durationMs: number;
  log: (m: string) => void;
}

export class LeaderLease {
  private api: CoordinationV1Api;
  private leading = false;
  private lastRenew = 0;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    kc: KubeConfig,
    private o: LeaseOptions,
  ) {
    this.api = kc.makeApiClient(CoordinationV1Api);
  }

  get isLeader(): boolean {
    // Leading only while the last renewal is younger than the lease: past that, someone else may hold it.
    return this.leading && Date.now() - this.lastRenew < this.o.durationMs;
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
          body: { metadata: { name, namespace, labels: { 'app.kubernetes.io/name': 'tempest', 'app.kubernetes.io/component': 'controller' } }, spec: { holderIdentity: identity, leaseDurationSeconds: seconds, acquireTime: now, renewTime: now, leaseTransitions: 0 } },
        });
        return this.won(now, 'acquired (new Lease)');
      } catch (e) {
        if (statusOf(e)?.code === 409) return false; // another replica created it first
        throw e;
      }
    }
    const spec = lease.spec ?? {};
    const holder = spec.holderIdentity ?? '';
    const renewed = spec.renewTime ? new Date(spec.renewTime).getTime() : 0;
    const expired = !holder || renewed + (spec.leaseDurationSeconds ?? seconds) * 1000 < now.getTime();
    if (holder !== identity && !expired) {
      if (this.leading) this.lose(`held by ${holder}`);
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

  private won(at: V1MicroTime, why: string | undefined): true {
    if (!this.leading && why) this.o.log(`leader election: ${this.o.namespace}/${this.o.name} ${why} by ${this.o.identity}`);
    this.leading = true;
    this.lastRenew = at.getTime();
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
        if (this.leading && Date.now() - this.lastRenew >= this.o.durationMs) this.lose('could not renew within the lease duration');
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
        await this.api.replaceNamespacedLease({ name: this.o.name, namespace: this.o.namespace, body: { ...lease, spec: { leaseDurationSeconds: lease.spec.leaseDurationSeconds, leaseTransitions: lease.spec.leaseTransitions } } });
      }
    } catch {
      /* it expires by itself */
    }
  }
}
