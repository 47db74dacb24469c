/**
 * The local-process platform: engines' appinfo is mapped (explicitly, in tempest.yaml) onto local fleets
 * started by scripts/fleet. A fleet's control API plays the Kubernetes API server's part: list pods, delete a
 * pod with a grace period, annotate the owner (the fault ledger), set a replica's behaviour.
 */
import type { TargetSpec } from '../../config/spec.js';
import type { TempestConfig } from '../../config/tempest-config.js';
import { tempestError } from '../errors.js';

export interface LocalPod {
  name: string;
  slot: number;
  pid: number;
  port: number;
  ready: boolean;
  phase: 'Running' | 'Terminating' | 'Pending';
  startedAt: string;
  restarts: number;
  annotations: Record<string, string>;
}

export interface LocalOwner {
  name: string;
  kind: string;
  desired: number;
  ready: number;
  annotations: Record<string, string>;
}

export interface Behaviour {
  latencyMs: number;
  errorRate: number;
  down: boolean;
  expiresAt: string | null;
  setBy: string | null;
}

export class FleetClient {
  constructor(
    readonly baseUrl: string,
    private readonly timeoutMs = 5000,
  ) {}

  private async call<T>(method: string, path: string, body?: unknown, allow404 = false): Promise<T | undefined> {
    let res: Response;
    try {
      res = await fetch(this.baseUrl + path, {
        method,
        headers: body === undefined ? undefined : { 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (e) {
      throw tempestError('PlatformUnavailable', `local fleet at ${this.baseUrl} is not answering (${method} ${path}): ${(e as Error).message}`);
    }
    if (res.status === 404 && allow404) return undefined;
    const text = await res.text();
    if (!res.ok) {
      throw tempestError(
        res.status === 404 ? 'TargetNotFound' : 'PlatformUnavailable',
        `fleet ${method} ${path} answered ${res.status}: ${text.slice(0, 200)}`,
      );
    }
    return (text ? JSON.parse(text) : undefined) as T;
  }

  /** The supervisor itself: its name and pid (the parent of every replica process it runs). */
  async healthz(): Promise<{ name: string; pid: number }> {
    return (await this.call<{ name: string; pid: number }>('GET', '/healthz'))!;
  }
  async owner(): Promise<LocalOwner> {
    return (await this.call<LocalOwner>('GET', '/owner'))!;
  }
  async pods(): Promise<LocalPod[]> {
    return (await this.call<LocalPod[]>('GET', '/pods'))!;
  }
  /** Delete a pod with a grace period (0 = SIGKILL at once). false if it was already gone. */
  async deletePod(name: string, gracePeriodSeconds: number): Promise<boolean> {
    const r = await this.call('DELETE', `/pods/${encodeURIComponent(name)}?gracePeriodSeconds=${gracePeriodSeconds}`, undefined, true);
    return r !== undefined;
  }
  async scale(replicas: number): Promise<LocalOwner> {
    return (await this.call<LocalOwner>('POST', '/scale', { replicas }))!;
  }
  async annotateOwner(patch: Record<string, string | null>): Promise<void> {
    await this.call('PATCH', '/owner/annotations', patch);
  }
  async behaviour(pod: string): Promise<Behaviour | undefined> {
    return this.call<Behaviour>('GET', `/pods/${encodeURIComponent(pod)}/behaviour`, undefined, true);
  }
  /** false if the pod is gone (its replacement starts clean). */
  async setBehaviour(pod: string, b: Partial<Behaviour>): Promise<boolean> {
    return (await this.call('PUT', `/pods/${encodeURIComponent(pod)}/behaviour`, b, true)) !== undefined;
  }
}

/** Resolves an engine's appinfo to its fleet, via tempest.yaml's platform.local.targets. */
export class LocalPlatform {
  readonly name = 'local';
  constructor(private readonly cfg: TempestConfig) {}

  fleetFor(target: TargetSpec): FleetClient {
    const t = this.cfg.platform.local.targets.find((x) => x.namespace === target.namespace && x.selector === target.labelSelector);
    if (!t) {
      const known = this.cfg.platform.local.targets.map((x) => `${x.namespace}/${x.selector}`).join(', ') || 'none';
      throw tempestError(
        'TargetNotFound',
        `no local fleet is mapped for ${target.namespace}/${target.labelSelector} (platform.local.targets in ${this.cfg.file ?? 'the config'}; mapped: ${known})`,
      );
    }
    return new FleetClient(t.fleet);
  }

  rewritePath(p: string): string {
    for (const r of this.cfg.platform.local.pathRewrites) {
      // Compare and join without trailing slashes: `/models/` -> `/tmp/m` must give `/tmp/m/x`, not `/tmp/mx`.
      const from = r.from.replace(/\/+$/, '');
      if (p && (p === from || p.startsWith(from + '/'))) return r.to.replace(/\/+$/, '') + p.slice(from.length);
    }
    return p;
  }
}
