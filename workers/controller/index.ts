/**
 * `tempest controller`: the Kubernetes front door. Litmus's kinds in the cluster become Tempest runs.
 *
 * - ChaosEngine: validated by the same loader and policy as `tempest run`, plus the tenant rules (tenant.ts: an
 *   engine, its probes and its schedule's engine template reach only their own namespace); an invalid one gets the
 *   loader's one line (secrets redacted) as an `Accepted=False` condition and one Warning Event, and nothing
 *   starts. A valid one gets the finalizer, then its run: workflow id `chaosengine-<uid>`, REJECT_DUPLICATE, so a
 *   resync, a restarted controller or a second one never starts it twice. Progress is mirrored into `.status` and
 *   one ChaosResult per experiment, in Litmus's shapes (litmus-status.ts); an Event marks each transition. What the
 *   run targets and which experiments it has are read from the run (its memo), never again from the mutable spec.
 * - `spec.engineState: stop` aborts the run (re-sent on every pass while it is open: aborts are idempotent).
 * - `kubectl delete`: the finalizer holds the object; the run is aborted, then — once it is closed — the worker's
 *   own reconciler reverts and verifies whatever that run left in its target namespace; the finalizer goes only
 *   when no fault of that run is left unverified and the reconcile saw the whole ledger. An engine that vanished
 *   without the finalizer (someone removed it) has its open run aborted: on the watch's DELETED event and by the
 *   resync's sweep of open `chaosengine-*` runs whose object is gone.
 * - ChaosSchedule: a Temporal Schedule `chaosschedule-<uid>` (its own id: never an operator's `tempest schedule
 *   apply` one), updated with the object; deleted with it, after its open gated runs are cancelled (they revert).
 *
 * Only one replica acts: a coordination.k8s.io Lease (lease.ts), renewed only while the work loop makes progress;
 * every mutating call re-checks leadership, every reconcile is bounded in time. Everything is level-triggered (a
 * watch enqueues what changed, a full list every `controller.resync` enqueues everything, each object is reconciled
 * from what the API server and Temporal say now), so a controller killed at any point and restarted picks up where
 * it was. What the controller may do in the cluster is deploy/controller-rbac.yaml: the litmuschaos.io kinds,
 * Events, its Lease — never pods or workloads (the worker does the chaos, under its own identity and policy).
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { CoreV1Api, CustomObjectsApi, Watch, type KubeConfig } from '@kubernetes/client-node';
import { ScheduleNotFoundError, WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError } from '@temporalio/client';
import { ConfigError, formatProblem, type ConfigProblem } from '../../config/errors.js';
import { loadDocument, withEnvOverrides } from '../../config/load.js';
import { chaosExperimentSchema, experimentDefaults, type ExperimentDefaults } from '../../config/litmus.js';
import type { ExperimentSpec, GameDaySpec, ProgressiveSpec, ScheduleSpec } from '../../config/spec.js';
import type { TempestConfig } from '../../config/tempest-config.js';
import type { ExperimentResult, ExperimentStatus } from '../../activities/types.js';
import { loadKubeConfig, MERGE_PATCH } from '../../activities/platform/k8s/client.js';
import { isDnsSubdomain } from '../../config/selector.js';
import { statusOf } from '../../activities/platform/k8s/status.js';
import { TempestClient } from '../../client/client.js';
import type { ReconcileResult } from '../../workflows/reconciler.js';
import { LeaderLease } from './lease.js';
import { tenantProblems } from './tenant.js';
import {
  FINALIZER,
  MANAGED_ANNOTATION,
  chaosResultLabel,
  chaosResultName,
  engineWorkflowId,
  finishedExperiments,
  finishedResult,
  litmusVerdict,
  runningExperiments,
  runningResult,
  sameJson,
  scheduleIdOf,
  withCondition,
  type ChaosResultStatus,
  type Condition,
  type EngineStatusDoc,
  type History,
} from './litmus-status.js';

const GROUP = 'litmuschaos.io';
const VERSION = 'v1alpha1';
/** The reconciler's result lists at most this many ledger entries (workflows/reconciler.ts MAX_ROWS). */
const RECONCILE_MAX_ROWS = 1000;

interface Obj {
  apiVersion?: string;
  kind?: string;
  metadata: {
    name: string;
    namespace: string;
    uid: string;
    generation?: number;
    resourceVersion?: string;
    deletionTimestamp?: string;
    finalizers?: string[];
    annotations?: Record<string, string>;
    labels?: Record<string, string>;
  };
  spec?: Record<string, unknown>;
  status?: Record<string, unknown>;
}

type LitmusKind = 'chaosengines' | 'chaosschedules';
/** Tempest's own kinds (tempest.io/v1alpha1): the documents Litmus has no kind for. */
type TempestKind = 'chaoshypotheses' | 'progressivechaoses' | 'gamedays';
type Kind = LitmusKind | TempestKind;
const TEMPEST_KINDS: readonly TempestKind[] = ['chaoshypotheses', 'progressivechaoses', 'gamedays'];
const KINDS: readonly Kind[] = ['chaosengines', 'chaosschedules', ...TEMPEST_KINDS];
const groupOf = (plural: Kind | 'chaosresults' | 'chaosexperiments'): string => ((TEMPEST_KINDS as readonly string[]).includes(plural) ? 'tempest.io' : GROUP);
/** Per Tempest kind: its kind name, the workflow id prefix of its runs. */
const TEMPEST_KIND: Record<TempestKind, { kind: 'ChaosHypothesis' | 'ProgressiveChaos' | 'GameDay'; prefix: string }> = {
  chaoshypotheses: { kind: 'ChaosHypothesis', prefix: 'chaoshypothesis' },
  progressivechaoses: { kind: 'ProgressiveChaos', prefix: 'progressivechaos' },
  gamedays: { kind: 'GameDay', prefix: 'gameday' },
};
/** A ChaosEngine a ChaosHypothesis, ProgressiveChaos or GameDay names: never run by itself. */
export const TEMPLATE_ANNOTATION = 'tempest.io/template';
const groupOf2 = (o: { apiVersion?: string }) => (o.apiVersion ?? '').split('/')[0];
/** A template: annotated tempest.io/template: "true" and stopped (engineState: stop), so that nothing runs it alone. */
const isTemplate = (o: { metadata: { annotations?: Record<string, string> }; spec?: Record<string, unknown> }) =>
  o.metadata.annotations?.[TEMPLATE_ANNOTATION] === 'true' && o.spec?.engineState === 'stop';
/** A Kubernetes uid. */
const UID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

type LoadedRun =
  | { kind: 'ChaosHypothesis'; spec: ExperimentSpec; namespaces: string[] }
  | { kind: 'ProgressiveChaos'; spec: ProgressiveSpec; namespaces: string[] }
  | { kind: 'GameDay'; spec: GameDaySpec; namespaces: string[] };

export interface ControllerOptions {
  config: TempestConfig;
  log?: (m: string) => void;
  identity?: string;
  /** Resolves when the controller should stop (SIGTERM). */
  until?: Promise<unknown>;
}

const oneLine = (s: string) => s.replace(/\s*\n\s*/g, '; ').trim();

class NotLeader extends Error {}

/** The object as its author wrote it (no status, no server-set metadata), bounded like a file: what the loader reads. */
function authored(o: Obj, kind: string, file: string, spec: unknown, maxBytes: number): Record<string, unknown> {
  const { name, namespace, labels, annotations } = o.metadata;
  const doc = { apiVersion: o.apiVersion, kind, metadata: { name, namespace, ...(labels ? { labels } : {}), ...(annotations ? { annotations } : {}) }, spec };
  if (JSON.stringify(doc).length > maxBytes) throw new ConfigError([{ file, path: '', message: `larger than limits.document.maxBytes (${maxBytes})` }]);
  return doc;
}

/** `p`, or a rejection after `ms` (the call itself is not cancelled: every mutation re-checks leadership). */
function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let t: NodeJS.Timeout;
  return Promise.race([p, new Promise<never>((_, reject) => (t = setTimeout(() => reject(new Error(`${what}: no answer in ${ms} ms`)), ms)))]).finally(() =>
    clearTimeout(t),
  );
}

/** Field paths whose values may be credentials: never echoed into a condition, an Event or a log line. */
const SECRETISH = /header|auth|token|password|passwd|secret|credential|cookie|api[-_]?key|body/i;

/** A ConfigError as one line for the cluster: the loader's words, values of secret-looking fields and URL userinfo redacted. */
export function redactedMessage(e: ConfigError): string {
  const problems = e.problems.slice(0, 5).map((p: ConfigProblem) => {
    const value = p.value === undefined || SECRETISH.test(p.path) ? (p.value === undefined ? undefined : '<redacted>') : p.value;
    return formatProblem({ ...p, value }).replace(/(\b[a-z][a-z0-9+.-]*:\/\/)[^/@\s"]*@/gi, '$1<redacted>@');
  });
  return [...problems, ...(e.problems.length > 5 ? [`… and ${e.problems.length - 5} more`] : [])].join('; ');
}

export class Controller {
  readonly custom: CustomObjectsApi;
  readonly core: CoreV1Api;
  private queue = new Map<string, { kind: Kind; namespace: string; name: string }>();
  private wake: (() => void) | undefined;
  /** Per workflow id: the cleanup that verifies a deleted engine's faults (one at a time), and its backoff. */
  private cleaning = new Map<string, Promise<void>>();
  private backoff = new Map<string, { next: number; delayMs: number; said?: string }>();
  /** Last time the work loop made progress (the Lease is renewed only while this is recent). */
  lastProgress = performance.now();
  /** False while this replica is not (or no longer surely) the leader: nothing is changed then. */
  canAct: () => boolean = () => true;

  constructor(
    readonly kc: KubeConfig,
    readonly tempest: TempestClient,
    readonly config: TempestConfig,
    readonly identity: string,
    readonly log: (m: string) => void,
  ) {
    this.custom = kc.makeApiClient(CustomObjectsApi);
    this.core = kc.makeApiClient(CoreV1Api);
  }

  /** Bounded calls: a reconcile never holds the loop longer than this. */
  private get callMs(): number {
    return Math.max(2000, Math.min(20_000, Math.floor(this.config.controller.leaseDuration / 2)));
  }

  /** Before every change: only the leader changes anything. */
  private must(): void {
    if (!this.canAct()) throw new NotLeader('not the leader (any more): not acting');
  }

  /**
   * Tempest's: `engines: all`, or annotated tempest.io/managed: "true" — and, once Tempest has acted on an object
   * (its finalizer, a run in its status), for good: removing the annotation cannot make a delete skip the revert.
   */
  owns(o: Obj): boolean {
    // Tempest's own kinds are Tempest's: no Litmus operator reads them.
    if (groupOf2(o) === 'tempest.io') return true;
    return (
      this.config.controller.engines === 'all' ||
      o.metadata.annotations?.[MANAGED_ANNOTATION] === 'true' ||
      (o.metadata.finalizers ?? []).includes(FINALIZER) ||
      typeof (o.status as { workflowId?: unknown } | undefined)?.workflowId === 'string'
    );
  }

  enqueue(kind: Kind, namespace: string, name: string): void {
    this.queue.set(`${kind}/${namespace}/${name}`, { kind, namespace, name });
    this.wake?.();
  }

  /** Every engine and schedule, a page at a time; answers the uids seen (for the sweep of runs whose object is gone). */
  /** Kinds whose CRD is not installed (told once; the rest works). */
  private missing = new Set<Kind>();

  async listAll(): Promise<Set<string>> {
    const uids = new Set<string>();
    for (const plural of KINDS) {
      let _continue: string | undefined;
      do {
        let page: { items: Obj[]; metadata?: { continue?: string } };
        try {
          page = (await within(
            this.custom.listClusterCustomObject({ group: groupOf(plural), version: VERSION, plural, limit: 500, _continue }),
            this.callMs,
            `list ${plural}`,
          )) as typeof page;
        } catch (e) {
          const code = statusOf(e)?.code;
          if (code !== 404 && code !== 403) throw e;
          if (!this.missing.has(plural))
            this.log(
              code === 404
                ? `${plural}.${groupOf(plural)}: no such CRD in this cluster (kubectl apply -f deploy/crds/); not watched`
                : `${plural}.${groupOf(plural)}: this controller may not list them (deploy/controller-rbac.yaml is older than this controller); not watched`,
            );
          this.missing.add(plural);
          break;
        }
        for (const o of page.items) {
          uids.add(o.metadata.uid);
          this.enqueue(plural, o.metadata.namespace, o.metadata.name);
        }
        _continue = page.metadata?.continue || undefined;
      } while (_continue);
    }
    return uids;
  }

  /**
   * Open runs and schedules whose object is gone (its finalizer was removed by someone, or the object was deleted
   * while no controller ran): abort the runs (they revert and verify as any aborted run), delete the schedules.
   * The runs are listed BEFORE the objects, so a run started after the list cannot be mistaken for an orphan.
   */
  async sweep(): Promise<void> {
    const open: Array<{ id: string; uid: string }> = [];
    // Only this installation's (its task queue): another cluster's controller on the same Temporal namespace has its own.
    const tq = this.config.temporal.taskQueue.replace(/["\\]/g, '');
    const prefixes: Array<[Kind, string]> = [['chaosengines', 'chaosengine'], ...TEMPEST_KINDS.map((k) => [k, TEMPEST_KIND[k].prefix] as [Kind, string])];
    for (const [kind, prefix] of prefixes) {
      if (this.missing.has(kind)) continue; // not listed: its objects cannot be told from gone ones
      for await (const w of this.tempest.client.workflow.list({
        query: `WorkflowId STARTS_WITH "${prefix}-" AND ExecutionStatus = "Running" AND TaskQueue = "${tq}"`,
      })) {
        // A run the controller started: <prefix>-<uid>, and its memo names that uid (a CLI run whose name happens
        // to start the same way is not one); its children and cleanups have longer ids.
        const uid = w.workflowId.slice(prefix.length + 1);
        if (UID.test(uid) && (w.memo as Record<string, unknown> | undefined)?.uid === uid) open.push({ id: w.workflowId, uid });
      }
    }
    const schedules: string[] = [];
    for await (const sc of this.tempest.client.schedule.list())
      if (sc.scheduleId.startsWith('chaosschedule-') && sc.memo?.taskQueue === this.config.temporal.taskQueue) schedules.push(sc.scheduleId);
    const uids = await this.listAll();
    for (const { id, uid } of open) {
      if (prefixes.some(([k, p]) => this.missing.has(k) && id.startsWith(`${p}-`))) continue;
      if (uids.has(uid)) continue;
      this.must();
      await within(this.tempest.abort(id, 'its object is gone (deleted without the revert-verified finalizer)'), this.callMs, `abort ${id}`);
      this.log(`run ${id}: its object is gone: aborted (it reverts and verifies)`);
    }
    for (const id of schedules) {
      if (uids.has(id.slice('chaosschedule-'.length))) continue;
      this.must();
      await this.cancelGatedRuns(id);
      await this.tempest.client.schedule
        .getHandle(id)
        .delete()
        .catch((e) => {
          if (!(e instanceof ScheduleNotFoundError)) throw e;
        });
      this.log(`schedule ${id}: its ChaosSchedule is gone: deleted`);
    }
  }

  /** Work the queue until `stop` is set; every key is reconciled one at a time, from the object as it is now. */
  async work(stop: { stopped: boolean }): Promise<void> {
    while (!stop.stopped) {
      this.lastProgress = performance.now();
      const next = this.queue.entries().next();
      if (next.done) {
        await new Promise<void>((r) => {
          this.wake = r;
          setTimeout(r, 1000);
        });
        this.wake = undefined;
        continue;
      }
      const [key, { kind, namespace, name }] = next.value;
      if (!this.canAct()) {
        await new Promise((r) => setTimeout(r, 200));
        continue;
      }
      this.queue.delete(key);
      let o: Obj;
      try {
        o = (await within(
          this.custom.getNamespacedCustomObject({ group: groupOf(kind), version: VERSION, namespace, plural: kind, name }),
          this.callMs,
          `get ${key}`,
        )) as Obj;
      } catch (e) {
        if (statusOf(e)?.code !== 404) this.log(`${key}: ${oneLine((e as Error).message ?? String(e))}`);
        continue; // 404: gone (an open run of it is the sweep's)
      }
      try {
        const job =
          kind === 'chaosengines' ? this.reconcileEngine(o) : kind === 'chaosschedules' ? this.reconcileSchedule(o) : this.reconcileTempestRun(o, kind);
        await within(job, this.callMs * 3, `reconcile ${key}`);
      } catch (e) {
        if (e instanceof NotLeader) continue;
        if (statusOf(e)?.code === 409) {
          this.enqueue(kind, namespace, name); // changed under us: again, from the new version
          continue;
        }
        this.log(`${key}: ${oneLine((e as Error).message ?? String(e))}`);
      }
    }
  }

  // ------------------------------------------------------------------ API helpers
  private async patchStatus(plural: Kind | 'chaosresults', o: Obj, status: Record<string, unknown>): Promise<void> {
    this.must();
    await within(
      this.custom.patchNamespacedCustomObjectStatus(
        { group: groupOf(plural), version: VERSION, namespace: o.metadata.namespace, plural, name: o.metadata.name, body: { status } },
        MERGE_PATCH,
      ),
      this.callMs,
      'patch status',
    );
  }

  private async setFinalizers(plural: Kind, o: Obj, finalizers: string[]): Promise<void> {
    this.must();
    // resourceVersion makes it a compare-and-swap: a concurrent change answers 409 and the key is reconciled again.
    await within(
      this.custom.patchNamespacedCustomObject(
        {
          group: groupOf(plural),
          version: VERSION,
          namespace: o.metadata.namespace,
          plural,
          name: o.metadata.name,
          body: { metadata: { finalizers, resourceVersion: o.metadata.resourceVersion } },
        },
        MERGE_PATCH,
      ),
      this.callMs,
      'patch finalizers',
    );
  }

  async event(o: Obj, type: 'Normal' | 'Warning', reason: string, message: string): Promise<void> {
    this.must();
    const now = new Date();
    try {
      await within(
        this.core.createNamespacedEvent({
          namespace: o.metadata.namespace,
          body: {
            metadata: { generateName: `${o.metadata.name.slice(0, 200)}.`, namespace: o.metadata.namespace },
            involvedObject: {
              apiVersion: o.apiVersion,
              kind: o.kind,
              name: o.metadata.name,
              namespace: o.metadata.namespace,
              uid: o.metadata.uid,
              resourceVersion: o.metadata.resourceVersion,
            },
            reason,
            message: message.slice(0, 1024),
            type,
            source: { component: 'tempest-controller' },
            reportingComponent: 'tempest.io/controller',
            reportingInstance: this.identity.slice(0, 128),
            firstTimestamp: now,
            lastTimestamp: now,
            count: 1,
          },
        }),
        this.callMs,
        'create event',
      );
    } catch (e) {
      this.log(`event ${reason} on ${o.metadata.namespace}/${o.metadata.name} not recorded: ${oneLine((e as Error).message)}`);
    }
  }

  private async describe(workflowId: string): Promise<{ state: string; memo: Record<string, unknown> } | undefined> {
    try {
      const d = await within(this.tempest.handle(workflowId).describe(), this.callMs, `describe ${workflowId}`);
      return { state: d.status.name, memo: (d.memo ?? {}) as Record<string, unknown> };
    } catch (e) {
      if (e instanceof WorkflowNotFoundError) return undefined;
      throw e;
    }
  }

  private async abort(workflowId: string, reason: string): Promise<void> {
    this.must();
    await within(this.tempest.abort(workflowId, reason), this.callMs, `abort ${workflowId}`);
  }

  // ------------------------------------------------------------------ ChaosEngine
  /** The engine as the loader sees it: what its author wrote (no status, no server-set metadata), plus the tenant rules. */
  async specOf(o: Obj): Promise<ExperimentSpec> {
    const file = `chaosengine/${o.metadata.namespace}/${o.metadata.name}`;
    const namespace = o.metadata.namespace;
    const doc = authored(o, 'ChaosEngine', file, o.spec, this.config.documentLimits.maxBytes);
    const used = ((o.spec?.experiments as Array<{ name?: unknown }> | undefined) ?? []).map((e) => String(e?.name ?? ''));
    const experiments = await this.experimentsIn(namespace, file, used);
    const d = loadDocument(doc, file, 0, false, {
      limits: this.config.policy.limits,
      documentLimits: this.config.documentLimits,
      policy: this.config.policy,
      experiments,
    });
    if (d.kind !== 'ChaosEngine') throw new ConfigError([{ file, path: 'kind', message: 'expected a ChaosEngine', value: d.kind }]);
    const problems = tenantProblems(d.experiment, namespace, file, 'spec', this.config);
    if (problems.length) throw new ConfigError(problems);
    return d.experiment;
  }

  /**
   * The namespace's ChaosExperiments the engine uses: their env is the default of its faults (as Litmus's runner
   * merges them). One that does not parse refuses only the engines that use it, with its own problem.
   */
  private async experimentsIn(namespace: string, file: string, used: string[]): Promise<Map<string, ExperimentDefaults>> {
    const list = (await within(
      this.custom.listNamespacedCustomObject({ group: GROUP, version: VERSION, namespace, plural: 'chaosexperiments', limit: 500 }),
      this.callMs,
      'list chaosexperiments',
    )) as { items: Obj[] };
    const out = new Map<string, ExperimentDefaults>();
    for (const x of list.items) {
      if (!used.includes(x.metadata.name)) continue;
      const where = `chaosexperiment/${namespace}/${x.metadata.name}`;
      const r = chaosExperimentSchema.safeParse({ apiVersion: x.apiVersion, kind: x.kind, metadata: { name: x.metadata.name }, spec: x.spec });
      if (!r.success)
        throw new ConfigError([
          {
            file: where,
            path: 'spec.definition',
            message: `not a ChaosExperiment Tempest can use (${oneLine(r.error.issues[0]?.message ?? 'invalid')}), and ${file} uses it`,
          },
        ]);
      out.set(x.metadata.name, experimentDefaults(r.data, where, ''));
    }
    return out;
  }

  /** Refused objects, by uid: when they were last checked again (a refusal is looked at again once a minute). */
  private rechecked = new Map<string, number>();
  private recheck(o: Obj, accepted: Condition): boolean {
    if (accepted.reason !== 'Invalid') return false; // engineState: stop, a template: not a refusal to look at again
    const last = this.rechecked.get(o.metadata.uid) ?? Date.parse(accepted.lastTransitionTime);
    if (Date.now() - last < 60_000) return false;
    if (this.rechecked.size > 10_000) this.rechecked.clear();
    this.rechecked.set(o.metadata.uid, Date.now());
    return true;
  }

  async reconcileEngine(o: Obj): Promise<void> {
    const wfId = engineWorkflowId(o.metadata.uid);
    const st = (o.status ?? {}) as Partial<EngineStatusDoc> & { stopEvent?: boolean; verdict?: string; reason?: string };
    const now = new Date().toISOString();
    const gen = o.metadata.generation;
    if (isTemplate(o) && !o.metadata.deletionTimestamp && !(o.metadata.finalizers ?? []).includes(FINALIZER)) {
      // A template (engineState: stop, so that no Litmus operator runs it either) runs only through the
      // ChaosHypothesis, ProgressiveChaos or GameDay that names it; Tempest never starts it by itself.
      if (!st.conditions?.some((c) => c.type === 'Accepted' && c.reason === 'Template' && c.observedGeneration === gen)) {
        await this.patchStatus('chaosengines', o, {
          conditions: withCondition(
            st.conditions,
            {
              type: 'Accepted',
              status: 'False',
              reason: 'Template',
              message: `a template (${TEMPLATE_ANNOTATION}: "true", engineState: stop): it runs only through the ChaosHypothesis, ProgressiveChaos or GameDay that names it`,
              observedGeneration: gen,
            },
            now,
          ),
        });
      }
      return;
    }
    if (!this.owns(o)) return;
    if (o.metadata.deletionTimestamp) return this.finalizeEngine(o, wfId);
    if ((st.engineStatus === 'completed' || st.engineStatus === 'stopped') && st.workflowId === wfId) return; // done: re-create the engine to run it again
    const accepted = st.conditions?.find((c) => c.type === 'Accepted');
    // Refused already: a changed spec tries again, and so does time (a ChaosExperiment, a template or the policy it
    // depended on may have changed): once a minute, a refusal is checked again; said again only if it changed.
    if (st.workflowId !== wfId && accepted?.status === 'False' && accepted.observedGeneration === gen && !this.recheck(o, accepted)) return;

    const run = await this.describe(wfId);
    if (run === undefined) {
      if (st.workflowId === wfId) return; // status says it ran; Temporal no longer knows it (retention): never again
      if (o.spec?.engineState === 'stop') {
        await this.patchStatus('chaosengines', o, {
          engineStatus: 'stopped',
          experiments: [],
          conditions: withCondition(
            st.conditions,
            { type: 'Accepted', status: 'False', reason: 'EngineStateStop', message: 'engineState is stop: nothing was started', observedGeneration: gen },
            now,
          ),
        });
        return;
      }
      let spec: ExperimentSpec;
      try {
        spec = await this.specOf(o);
      } catch (e) {
        if (!(e instanceof ConfigError)) throw e;
        const message = redactedMessage(e);
        if (accepted?.status === 'False' && accepted.observedGeneration === gen && accepted.message === message) return; // the same refusal, checked again
        await this.patchStatus('chaosengines', o, {
          engineStatus: 'stopped',
          experiments: [],
          conditions: withCondition(st.conditions, { type: 'Accepted', status: 'False', reason: 'Invalid', message, observedGeneration: gen }, now),
        });
        await this.event(o, 'Warning', 'Invalid', `not started: ${message}`);
        this.log(`chaosengine ${o.metadata.namespace}/${o.metadata.name}: refused: ${message}`);
        return;
      }
      // The finalizer first: from here on, a delete waits until whatever this run does is reverted and verified.
      if (!(o.metadata.finalizers ?? []).includes(FINALIZER)) {
        await this.setFinalizers('chaosengines', o, [...(o.metadata.finalizers ?? []), FINALIZER]);
        this.enqueue('chaosengines', o.metadata.namespace, o.metadata.name);
        return; // the next pass starts it, from the object with the finalizer
      }
      this.must();
      try {
        await within(
          this.tempest.start(spec, {
            workflowId: wfId,
            rejectDuplicate: true,
            // What the run targets and which experiments it has: read back from here, never again from the mutable spec.
            memo: {
              chaosEngine: `${o.metadata.namespace}/${o.metadata.name}`,
              uid: o.metadata.uid,
              targetNamespace: spec.target.namespace,
              experiments: spec.faults.map((f) => f.name).join(','),
            },
          }),
          this.callMs,
          `start ${wfId}`,
        );
        this.log(`chaosengine ${o.metadata.namespace}/${o.metadata.name}: started ${wfId}`);
        await this.event(
          o,
          'Normal',
          'ChaosEngineInitialized',
          `run ${wfId} started (${spec.faults.map((f) => f.name).join(', ')} on ${spec.target.kind} ${spec.target.namespace}/${spec.target.labelSelector})`,
        );
      } catch (e) {
        if (!(e instanceof WorkflowExecutionAlreadyStartedError)) throw e; // another controller, a moment ago: the same run
      }
      await this.patchStatus('chaosengines', o, {
        engineStatus: 'initialized',
        workflowId: wfId,
        phase: 'preflight',
        observedGeneration: gen,
        experiments: runningExperiments(
          spec.faults.map((f) => f.name),
          undefined,
          wfId,
          now,
        ),
        conditions: withCondition(st.conditions, { type: 'Accepted', status: 'True', reason: 'Started', message: `run ${wfId}`, observedGeneration: gen }, now),
      });
      return;
    }

    const faults = String(run.memo.experiments ?? '')
      .split(',')
      .filter(Boolean);
    if (run.state === 'RUNNING') {
      if (o.spec?.engineState === 'stop') {
        // Every pass while it is open (idempotent): a forged status cannot make a stop be forgotten.
        await this.abort(wfId, 'ChaosEngine engineState: stop');
        if (!st.stopEvent) {
          await this.patchStatus('chaosengines', o, { stopEvent: true });
          await this.event(o, 'Normal', 'ChaosEngineStopped', `engineState is stop: run ${wfId} aborted; every fault is reverted and verified before it ends`);
        }
        return;
      }
      let s: ExperimentStatus | undefined;
      try {
        s = await within(this.tempest.status(wfId), this.callMs, `status of ${wfId}`);
      } catch {
        s = undefined; // no worker has picked it up yet, or it is busy: keep what the status says
      }
      if (!s && st.phase && st.workflowId === wfId) return;
      const experiments = runningExperiments(faults, s, wfId, now);
      const phase = s?.phase ?? 'queued';
      const prev = (st.experiments ?? []).map((e) => `${e.name}:${e.status}`).join(',');
      const conditions =
        accepted?.status === 'True'
          ? undefined
          : withCondition(st.conditions, { type: 'Accepted', status: 'True', reason: 'Started', message: `run ${wfId}`, observedGeneration: gen }, now);
      if (st.phase !== phase || prev !== experiments.map((e) => `${e.name}:${e.status}`).join(',') || st.workflowId !== wfId || conditions) {
        await this.patchStatus('chaosengines', o, {
          engineStatus: 'initialized',
          workflowId: wfId,
          phase,
          experiments,
          ...(conditions ? { conditions, observedGeneration: gen } : {}),
        });
        if (st.phase !== phase)
          await this.event(o, 'Normal', phaseReason(phase), `run ${wfId}: phase ${phase}${s?.currentFault ? ` (${s.currentFault})` : ''}`);
      }
      await this.writeResults(o, faults, wfId, (f, i, h) => runningResult(f, i, s, h), false);
      return;
    }

    // Closed: the result (completed) or what ended it (terminated, failed, timed out, cancelled).
    let r: ExperimentResult | undefined;
    if (run.state === 'COMPLETED') r = await within(this.tempest.result(wfId), this.callMs, `result of ${wfId}`);
    if (r) {
      const res = r;
      await this.writeResults(o, faults, wfId, (f, i, h) => finishedResult(f, i, res, h), true);
      await this.patchStatus('chaosengines', o, {
        engineStatus: r.verdict === 'Aborted' ? 'stopped' : 'completed',
        workflowId: wfId,
        phase: 'done',
        verdict: r.verdict,
        reason: r.reason.slice(0, 1024),
        experiments: finishedExperiments(faults, r, now),
        conditions: withCondition(st.conditions, { type: 'Running', status: 'False', reason: r.verdict, message: r.reason.slice(0, 1024) }, now),
      });
      await this.event(
        o,
        r.verdict === 'Pass' ? 'Normal' : 'Warning',
        r.verdict === 'Aborted' ? 'ChaosEngineStopped' : 'ChaosEngineCompleted',
        `verdict ${r.verdict} (Litmus: ${litmusVerdict(r.verdict)}), probe success ${r.probeSuccessPercentage}%: ${r.reason}`.slice(0, 1024),
      );
    } else {
      const why = `run ${wfId} ${run.state.toLowerCase().replace(/_/g, ' ')} without a result; the orphan reconciler reverts and verifies what it left`;
      await this.writeResults(
        o,
        faults,
        wfId,
        (_f, _i, h) => ({
          experimentStatus: { phase: 'Stopped', verdict: 'Stopped', probeSuccessPercentage: '0', failureOutput: null },
          probeStatuses: [],
          history: { ...h, stoppedRuns: h.stoppedRuns + 1 },
        }),
        true,
      );
      await this.patchStatus('chaosengines', o, {
        engineStatus: 'stopped',
        workflowId: wfId,
        phase: 'done',
        verdict: run.state,
        reason: why,
        experiments: faults.map((name) => ({ name, runner: wfId, experimentPod: '', status: 'Aborted', verdict: 'Stopped', lastUpdateTime: now })),
        conditions: withCondition(st.conditions, { type: 'Running', status: 'False', reason: run.state, message: why }, now),
      });
      await this.event(o, 'Warning', 'ChaosEngineStopped', why);
    }
  }

  /** Every experiment's ChaosResult; one that cannot be written is said once (Event) and does not hold up the engine's status. */
  private async writeResults(
    o: Obj,
    faults: string[],
    wfId: string,
    make: (fault: string, index: number, h: History) => ChaosResultStatus,
    final: boolean,
  ): Promise<void> {
    for (const [i, f] of faults.entries()) {
      try {
        await this.writeResult(o, f, wfId, (h) => make(f, i, h), final);
      } catch (e) {
        if (e instanceof NotLeader) throw e;
        const key = `result:${o.metadata.uid}:${f}`;
        const msg = oneLine((e as Error).message ?? String(e));
        if (this.backoff.get(key)?.said !== msg) {
          this.backoff.set(key, { next: 0, delayMs: 0, said: msg });
          await this.event(o, 'Warning', 'ChaosResultNotWritten', `ChaosResult ${chaosResultName(o.metadata.name, f)}: ${msg}`);
        }
      }
    }
  }

  /**
   * One ChaosResult per experiment, `<engine>-<experiment>`, in the engine's namespace; only one Tempest created
   * (label app.kubernetes.io/managed-by: tempest) is ever written. `final` results count the run in the history
   * once: the status itself carries the last counted run (one write: a crash cannot count it twice).
   */
  private async writeResult(o: Obj, fault: string, wfId: string, make: (h: History) => ChaosResultStatus, final: boolean): Promise<void> {
    const namespace = o.metadata.namespace;
    const name = chaosResultName(o.metadata.name, fault);
    let cur: Obj | undefined;
    try {
      cur = (await within(
        this.custom.getNamespacedCustomObject({ group: GROUP, version: VERSION, namespace, plural: 'chaosresults', name }),
        this.callMs,
        'get chaosresult',
      )) as Obj;
    } catch (e) {
      if (statusOf(e)?.code !== 404) throw e;
    }
    if (cur && cur.metadata.labels?.['app.kubernetes.io/managed-by'] !== 'tempest')
      throw new Error(`exists and is not Tempest's (no label app.kubernetes.io/managed-by: tempest): not overwritten`);
    if (!cur) {
      this.must();
      cur = (await within(
        this.custom.createNamespacedCustomObject({
          group: GROUP,
          version: VERSION,
          namespace,
          plural: 'chaosresults',
          body: {
            apiVersion: `${GROUP}/${VERSION}`,
            kind: 'ChaosResult',
            metadata: {
              name,
              namespace,
              // No ownerReference: as Litmus's, a result outlives its engine, and its history counts the runs of
              // every engine of that name (re-create the engine, run it again: passedRuns goes up).
              labels: { chaosUID: o.metadata.uid, name: chaosResultLabel(name), 'app.kubernetes.io/managed-by': 'tempest' },
            },
            spec: { engine: o.metadata.name, experiment: fault, instance: '' },
          },
        }),
        this.callMs,
        'create chaosresult',
      )) as Obj;
    }
    const curStatus = (cur.status ?? {}) as Partial<ChaosResultStatus> & { countedRun?: string };
    if (final && curStatus.countedRun === wfId) return; // this run's verdict is in already
    const status: Record<string, unknown> = {
      ...make(curStatus.history ?? { passedRuns: 0, failedRuns: 0, stoppedRuns: 0, targets: [] }),
      ...(final ? { countedRun: wfId } : {}),
    };
    if (!final) status.experimentStatus = { ...(status.experimentStatus as object), failureOutput: null };
    if (!final && sameJson(stripNulls(status), { ...curStatus, countedRun: undefined })) return;
    await this.patchStatus('chaosresults', cur, status);
  }

  /**
   * A deleted engine: abort its run if it is open (on every pass: idempotent); once it is closed, the worker's
   * reconciler (the same revert and verify as `tempest cleanup`) checks the run's target namespace; the finalizer
   * goes only when no ledger entry of this run is left unverified, none was unreadable, and the list was whole.
   */
  private async finalizeEngine(o: Obj, wfId: string, plural: Kind = 'chaosengines'): Promise<void> {
    if (!(o.metadata.finalizers ?? []).includes(FINALIZER)) return;
    const st = (o.status ?? {}) as { deleteEvent?: boolean; conditions?: Condition[] };
    const now = new Date().toISOString();
    const run = await this.describe(wfId);
    const what = o.kind ?? 'ChaosEngine';
    if (run?.state === 'RUNNING') {
      await this.abort(wfId, `${what} deleted`);
      if (!st.deleteEvent) {
        await this.patchStatus(plural, o, {
          deleteEvent: true,
          conditions: withCondition(
            st.conditions,
            {
              type: 'Reverted',
              status: 'False',
              reason: 'Deleting',
              message: `run ${wfId} aborted; the object goes once every fault is reverted and verified`,
            },
            now,
          ),
        });
        await this.event(
          o,
          'Normal',
          'Deleting',
          `${what} deleted: run ${wfId} aborted; the finalizer ${FINALIZER} holds the object until every fault is reverted and verified`,
        );
      }
      return;
    }
    if (this.cleaning.has(wfId)) return;
    const b = this.backoff.get(wfId) ?? { next: 0, delayMs: 2000 };
    if (Date.now() < b.next) return;
    // The run's own targets (its memo, written at start), never the spec as it reads now.
    const memoNs = run?.memo.targetNamespace ?? run?.memo.targetNamespaces;
    const targets = typeof memoNs === 'string' && memoNs ? memoNs.split(',').filter(Boolean) : [o.metadata.namespace];
    const job = (async () => {
      const id = `${wfId}-cleanup-${Date.now().toString(36)}`;
      const mine: ReconcileResult['rows'] = [];
      const blocking: string[] = [];
      for (const [n, target] of targets.entries()) {
        this.must();
        const r = (await within(
          this.tempest.client.workflow.execute('reconcileWorkflow', {
            taskQueue: this.config.temporal.taskQueue,
            workflowId: `${id}-${n}`,
            args: [{ namespace: target }],
            workflowExecutionTimeout: '10m',
          }),
          600_000,
          `cleanup ${id}`,
        )) as ReconcileResult;
        // The run and its children (a ProgressiveChaos' stages, a GameDay's steps: ids that start with the run's).
        const ours = r.rows.filter((x) => x.runId === wfId || x.runId.startsWith(`${wfId}-`));
        mine.push(...ours);
        blocking.push(
          ...ours.filter((x) => x.outcome !== 'reverted').map((x) => `${x.fault} ${x.where}: ${x.outcome} (${x.why})`),
          ...r.rows.filter((x) => x.action === 'refuse').map((x) => `unreadable ledger entry ${x.key} at ${x.where} (${x.why})`),
          ...(r.rows.length >= RECONCILE_MAX_ROWS ? [`the ledger of ${target} has ${r.rows.length}+ entries: not all were listed`] : []),
        );
      }
      if (blocking.length) {
        const why = blocking.join('; ');
        const delayMs = Math.min(300_000, b.delayMs * 2);
        this.backoff.set(wfId, { next: Date.now() + delayMs, delayMs, said: why });
        if (b.said !== why)
          await this.event(
            o,
            'Warning',
            'RevertNotVerified',
            `cleanup ${id}: run ${wfId} is not verified clean yet, the finalizer stays (next try in ${Math.round(delayMs / 1000)}s): ${why}`.slice(0, 1024),
          );
        return;
      }
      const fresh = (await within(
        this.custom.getNamespacedCustomObject({ group: groupOf(plural), version: VERSION, namespace: o.metadata.namespace, plural, name: o.metadata.name }),
        this.callMs,
        `get ${plural}`,
      )) as Obj;
      await this.event(
        fresh,
        'Normal',
        'Reverted',
        `every fault of run ${wfId} is reverted and verified (cleanup ${id}: ${mine.length ? `${mine.length} reverted now` : 'nothing of it left in the fault ledger'}); finalizer removed`,
      );
      await this.setFinalizers(
        plural,
        fresh,
        (fresh.metadata.finalizers ?? []).filter((f) => f !== FINALIZER),
      );
      this.backoff.delete(wfId);
      this.log(`chaosengine ${o.metadata.namespace}/${o.metadata.name}: deleted; run ${wfId} left nothing behind (${id})`);
    })()
      .catch((e) => {
        if (!(e instanceof NotLeader)) this.log(`chaosengine ${o.metadata.namespace}/${o.metadata.name}: cleanup: ${oneLine((e as Error).message)}`);
        const delayMs = Math.min(300_000, b.delayMs * 2);
        this.backoff.set(wfId, { ...b, next: Date.now() + delayMs, delayMs });
      })
      .finally(() => {
        this.cleaning.delete(wfId);
        this.enqueue(plural, o.metadata.namespace, o.metadata.name);
      });
    this.cleaning.set(wfId, job);
  }

  /** Cleanups still running (awaited before the Lease is given up). */
  get pending(): Promise<unknown> {
    return Promise.allSettled([...this.cleaning.values()]);
  }

  // ------------------------------------------------------------------ ChaosHypothesis, ProgressiveChaos, GameDay
  /**
   * The document as `tempest run` would take it, with each engine it names read from the ChaosEngine object of that
   * name in the same namespace — a template (tempest.io/template: "true"), under the same tenant rules.
   */
  async tempestSpecOf(o: Obj, plural: TempestKind): Promise<LoadedRun> {
    const { kind } = TEMPEST_KIND[plural];
    const file = `${kind.toLowerCase()}/${o.metadata.namespace}/${o.metadata.name}`;
    const namespace = o.metadata.namespace;
    // In the cluster an engine reference is a ChaosEngine's name; the loader's reference shape is a file name, so
    // each name is checked here and handed over as `<name>.yaml` (engineRef takes the suffix off again).
    const spec = structuredClone(o.spec ?? {}) as Record<string, unknown>;
    const refs: Array<[Record<string, unknown>, string]> = [];
    if (plural === 'gamedays') {
      const catalog = spec.catalog;
      if (catalog && typeof catalog === 'object' && !Array.isArray(catalog))
        for (const [k, v] of Object.entries(catalog))
          if (v && typeof v === 'object' && 'engine' in v) refs.push([v as Record<string, unknown>, `spec.catalog.${k}.engine`]);
    } else refs.push([spec, 'spec.engine']);
    for (const [holder, path] of refs) {
      if (typeof holder.engine !== 'string' || !isDnsSubdomain(holder.engine))
        throw new ConfigError([{ file, path, message: `must name a ChaosEngine of namespace ${namespace} (a DNS-1123 name)`, value: holder.engine }]);
      holder.engine = `${holder.engine}.yaml`;
    }
    const doc = authored(o, kind, file, spec, this.config.documentLimits.maxBytes);
    const list = (await within(
      this.custom.listNamespacedCustomObject({ group: GROUP, version: VERSION, namespace, plural: 'chaosengines', limit: 500 }),
      this.callMs,
      'list chaosengines',
    )) as { items: Obj[] };
    const engines = new Map(list.items.map((e) => [e.metadata.name, e]));
    const opts = { limits: this.config.policy.limits, documentLimits: this.config.documentLimits, policy: this.config.policy };
    // The namespace's ChaosExperiments give a template's faults their defaults, as they do when an engine runs alone.
    const engineExperiments = new Map<string, Map<string, ExperimentDefaults>>();
    for (const [holder] of refs) {
      const ref = String(holder.engine).replace(/\.yaml$/, '');
      const e = engines.get(ref);
      if (!e || engineExperiments.has(ref)) continue;
      const used = ((e.spec?.experiments as Array<{ name?: unknown }> | undefined) ?? []).map((x) => String(x?.name ?? ''));
      engineExperiments.set(ref, await this.experimentsIn(namespace, `chaosengine/${namespace}/${ref}`, used));
    }
    const engineRef = (fileRef: string, env: Record<string, string | number> | undefined, from: string, path: string): ExperimentSpec => {
      const ref = fileRef.replace(/\.yaml$/, '');
      const e = engines.get(ref);
      if (!e) throw new ConfigError([{ file: from, path, message: `no ChaosEngine of that name in namespace ${namespace}`, value: ref }]);
      if (!isTemplate(e))
        throw new ConfigError([
          {
            file: from,
            path,
            message: `ChaosEngine ${namespace}/${ref} is not a template: annotate it ${TEMPLATE_ANNOTATION}: "true" and set engineState: stop (so that neither Tempest nor a Litmus operator also runs it by itself)`,
            value: ref,
          },
        ]);
      const efile = `chaosengine/${namespace}/${ref}`;
      // The template is stopped so that nothing runs it alone; run through this document, it is active.
      let edoc: unknown = {
        apiVersion: e.apiVersion,
        kind: 'ChaosEngine',
        metadata: { name: e.metadata.name, namespace },
        spec: { ...structuredClone(e.spec), engineState: 'active' },
      };
      if (env && Object.keys(env).length) edoc = withEnvOverrides(edoc, env);
      const d = loadDocument(edoc, efile, 0, false, { ...opts, experiments: engineExperiments.get(ref) });
      if (d.kind !== 'ChaosEngine') throw new ConfigError([{ file: efile, path: 'kind', message: 'expected a ChaosEngine', value: d.kind }]);
      const problems = tenantProblems(d.experiment, namespace, efile, 'spec', this.config);
      if (problems.length) throw new ConfigError(problems);
      return d.experiment;
    };
    const d = loadDocument(doc, file, 0, false, { ...opts, engineRef });
    if (d.kind === 'ChaosHypothesis') {
      // The hypothesis adds its own probes to the engine's: the tenant rules once more, on what will run.
      const problems = tenantProblems(d.experiment, namespace, file, 'spec', this.config);
      if (problems.length) throw new ConfigError(problems);
      return { kind: 'ChaosHypothesis', spec: d.experiment, namespaces: [d.experiment.target.namespace] };
    }
    if (d.kind === 'ProgressiveChaos') return { kind: 'ProgressiveChaos', spec: d.progressive, namespaces: [d.progressive.engine.target.namespace] };
    if (d.kind === 'GameDay') {
      const ns = new Set<string>();
      for (const sc of d.gameDay.scenarios) for (const st of sc.steps) if (st.kind === 'engine') ns.add(st.engine.target.namespace);
      return { kind: 'GameDay', spec: d.gameDay, namespaces: [...ns] };
    }
    throw new ConfigError([{ file, path: 'kind', message: `expected a ${kind}`, value: d.kind }]);
  }

  async reconcileTempestRun(o: Obj, plural: TempestKind): Promise<void> {
    const wfId = `${TEMPEST_KIND[plural].prefix}-${o.metadata.uid}`;
    const st = (o.status ?? {}) as { phase?: string; workflowId?: string; conditions?: Condition[]; verdict?: string };
    const now = new Date().toISOString();
    const gen = o.metadata.generation;
    if (o.metadata.deletionTimestamp) return this.finalizeEngine(o, wfId, plural);
    if ((st.phase === 'Completed' || st.phase === 'Stopped') && st.workflowId === wfId) return;
    const accepted = st.conditions?.find((c) => c.type === 'Accepted');
    if (st.workflowId !== wfId && accepted?.status === 'False' && accepted.observedGeneration === gen && !this.recheck(o, accepted)) return;
    const run = await this.describe(wfId);
    if (run === undefined) {
      if (st.workflowId === wfId) return;
      let loaded: LoadedRun;
      try {
        loaded = await this.tempestSpecOf(o, plural);
      } catch (e) {
        if (!(e instanceof ConfigError)) throw e;
        const message = redactedMessage(e);
        if (accepted?.status === 'False' && accepted.observedGeneration === gen && accepted.message === message) return; // the same refusal, checked again
        await this.patchStatus(plural, o, {
          phase: 'Refused',
          conditions: withCondition(st.conditions, { type: 'Accepted', status: 'False', reason: 'Invalid', message, observedGeneration: gen }, now),
        });
        await this.event(o, 'Warning', 'Invalid', `not started: ${message}`);
        return;
      }
      if (!(o.metadata.finalizers ?? []).includes(FINALIZER)) {
        await this.setFinalizers(plural, o, [...(o.metadata.finalizers ?? []), FINALIZER]);
        this.enqueue(plural, o.metadata.namespace, o.metadata.name);
        return;
      }
      this.must();
      const memo = {
        [TEMPEST_KIND[plural].kind]: `${o.metadata.namespace}/${o.metadata.name}`,
        uid: o.metadata.uid,
        targetNamespaces: loaded.namespaces.join(','),
      };
      const opts = { workflowId: wfId, rejectDuplicate: true, memo };
      try {
        if (loaded.kind === 'ChaosHypothesis')
          await within(
            this.tempest.start(loaded.spec, {
              ...opts,
              memo: { ...memo, targetNamespace: loaded.spec.target.namespace, experiments: loaded.spec.faults.map((f) => f.name).join(',') },
            }),
            this.callMs,
            `start ${wfId}`,
          );
        else if (loaded.kind === 'ProgressiveChaos') await within(this.tempest.startProgressive(loaded.spec, opts), this.callMs, `start ${wfId}`);
        else await within(this.tempest.startGameDay(loaded.spec, opts), this.callMs, `start ${wfId}`);
        await this.event(o, 'Normal', 'Started', `run ${wfId} started`);
      } catch (e) {
        if (!(e instanceof WorkflowExecutionAlreadyStartedError)) throw e;
      }
      await this.patchStatus(plural, o, {
        phase: 'Running',
        workflowId: wfId,
        observedGeneration: gen,
        conditions: withCondition(st.conditions, { type: 'Accepted', status: 'True', reason: 'Started', message: `run ${wfId}`, observedGeneration: gen }, now),
      });
      return;
    }
    if (run.state === 'RUNNING') {
      if (st.phase !== 'Running' || st.workflowId !== wfId) await this.patchStatus(plural, o, { phase: 'Running', workflowId: wfId });
      return;
    }
    type Closed = { verdict: string; reason: string; resilienceScore?: number };
    const r = run.state === 'COMPLETED' ? ((await within(this.tempest.result(wfId), this.callMs, `result of ${wfId}`)) as unknown as Closed) : undefined;
    const verdict = r?.verdict ?? run.state;
    const reason = r?.reason ?? `run ${wfId} ${run.state.toLowerCase().replace(/_/g, ' ')} without a result; the orphan reconciler reverts what it left`;
    await this.patchStatus(plural, o, {
      phase: verdict === 'Aborted' || !r ? 'Stopped' : 'Completed',
      workflowId: wfId,
      verdict,
      reason: reason.slice(0, 1024),
      ...(typeof r?.resilienceScore === 'number' ? { resilienceScore: String(Math.round(r.resilienceScore * 10) / 10) } : {}),
      conditions: withCondition(st.conditions, { type: 'Running', status: 'False', reason: verdict, message: reason.slice(0, 1024) }, now),
    });
    await this.event(o, verdict === 'Pass' ? 'Normal' : 'Warning', 'Completed', `verdict ${verdict}: ${reason}`.slice(0, 1024));
  }

  // ------------------------------------------------------------------ ChaosSchedule
  /** Cancel the open gated runs of a schedule (their experiments revert and verify) and wait until they are closed. */
  private async cancelGatedRuns(scheduleId: string): Promise<number> {
    let open = 0;
    for await (const w of this.tempest.client.workflow.list({ query: `WorkflowId STARTS_WITH "${scheduleId}-run" AND ExecutionStatus = "Running"` })) {
      open++;
      this.must();
      await within(this.tempest.handle(w.workflowId).cancel(), this.callMs, `cancel ${w.workflowId}`);
    }
    return open;
  }

  async reconcileSchedule(o: Obj): Promise<void> {
    if (!this.owns(o)) return;
    const st = (o.status ?? {}) as { conditions?: Condition[]; observedGeneration?: number; scheduleId?: string };
    const now = new Date().toISOString();
    const gen = o.metadata.generation;
    const id = scheduleIdOf(o.metadata.uid);
    if (o.metadata.deletionTimestamp) {
      if (!(o.metadata.finalizers ?? []).includes(FINALIZER)) return;
      try {
        await this.tempest.client.schedule.getHandle(id).delete();
      } catch (e) {
        if (!(e instanceof ScheduleNotFoundError)) throw e;
      }
      // No new gated run can start now; the open ones are cancelled, and the object goes once none is left.
      if ((await this.cancelGatedRuns(id)) > 0) {
        this.enqueue('chaosschedules', o.metadata.namespace, o.metadata.name);
        return;
      }
      await this.event(o, 'Normal', 'ScheduleDeleted', `Temporal Schedule ${id} deleted; no gated run of it is open`);
      await this.setFinalizers(
        'chaosschedules',
        o,
        (o.metadata.finalizers ?? []).filter((f) => f !== FINALIZER),
      );
      return;
    }
    if (st.observedGeneration === gen && st.conditions?.some((c) => c.type === 'Accepted')) return; // this generation is applied (or refused)
    const file = `chaosschedule/${o.metadata.namespace}/${o.metadata.name}`;
    let s: ScheduleSpec;
    try {
      s = this.scheduleOf(o, file);
      const problems = tenantProblems(s.engine, o.metadata.namespace, file, 'spec.engineTemplateSpec', this.config);
      if (problems.length) throw new ConfigError(problems);
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
      const message = redactedMessage(e);
      await this.patchStatus('chaosschedules', o, {
        observedGeneration: gen,
        conditions: withCondition(st.conditions, { type: 'Accepted', status: 'False', reason: 'Invalid', message, observedGeneration: gen }, now),
      });
      await this.event(o, 'Warning', 'Invalid', `no Temporal Schedule: ${message}`);
      return;
    }
    if (!(o.metadata.finalizers ?? []).includes(FINALIZER)) {
      await this.setFinalizers('chaosschedules', o, [...(o.metadata.finalizers ?? []), FINALIZER]);
      this.enqueue('chaosschedules', o.metadata.namespace, o.metadata.name);
      return;
    }
    this.must();
    const r = await within(
      this.tempest.applySchedule(s, {
        scheduleId: id,
        memo: { chaosSchedule: `${o.metadata.namespace}/${o.metadata.name}`, uid: o.metadata.uid, taskQueue: this.config.temporal.taskQueue },
      }),
      this.callMs,
      `apply schedule ${id}`,
    );
    await this.patchStatus('chaosschedules', o, {
      observedGeneration: gen,
      scheduleId: r.scheduleId,
      schedule: { status: s.state === 'active' ? 'running' : 'halted' },
      conditions: withCondition(
        st.conditions,
        { type: 'Accepted', status: 'True', reason: r.created ? 'Created' : 'Updated', message: `Temporal Schedule ${r.scheduleId}`, observedGeneration: gen },
        now,
      ),
    });
    await this.event(
      o,
      'Normal',
      r.created ? 'ScheduleCreated' : 'ScheduleUpdated',
      `Temporal Schedule ${r.scheduleId} ${r.created ? 'created' : 'updated'} (state ${s.state})`,
    );
  }

  private scheduleOf(o: Obj, file: string): ScheduleSpec {
    const doc = authored(o, 'ChaosSchedule', file, o.spec, this.config.documentLimits.maxBytes);
    const d = loadDocument(doc, file, 0, false, { limits: this.config.policy.limits, documentLimits: this.config.documentLimits, policy: this.config.policy });
    if (d.kind !== 'ChaosSchedule') throw new ConfigError([{ file, path: 'kind', message: 'expected a ChaosSchedule', value: d.kind }]);
    return d.schedule;
  }

  /** Watch one kind cluster-wide; every event enqueues its object; a DELETED engine's open run is aborted at once. */
  async watch(plural: Kind, stop: { stopped: boolean }): Promise<void> {
    const w = new Watch(this.kc);
    while (!stop.stopped) {
      if (this.missing.has(plural)) {
        await new Promise((r) => setTimeout(r, 30_000)); // its CRD is not installed: look again later
        this.missing.delete(plural);
        continue;
      }
      await new Promise<void>((resolve) => {
        w.watch(
          `/apis/${groupOf(plural)}/${VERSION}/${plural}`,
          { allowWatchBookmarks: false },
          (phase, obj: Obj) => {
            if (!obj?.metadata?.namespace || !obj.metadata.name) return;
            if (phase === 'DELETED' && plural !== 'chaosschedules' && obj.metadata.uid && this.canAct()) {
              const id = plural === 'chaosengines' ? engineWorkflowId(obj.metadata.uid) : `${TEMPEST_KIND[plural].prefix}-${obj.metadata.uid}`;
              void this.describe(id)
                .then((d) => (d?.state === 'RUNNING' ? this.abort(id, 'its ChaosEngine was deleted without the revert-verified finalizer') : undefined))
                .catch((e) => this.log(`watch: ${id}: ${oneLine((e as Error).message)}`));
            }
            this.enqueue(plural, obj.metadata.namespace, obj.metadata.name);
          },
          (err: unknown) => {
            if (err && !stop.stopped) this.log(`watch ${plural}: ${oneLine((err as Error).message ?? String(err))}; re-establishing`);
            resolve();
          },
        ).catch((err: unknown) => {
          if (!stop.stopped) this.log(`watch ${plural}: ${oneLine((err as Error).message ?? String(err))}; retrying`);
          resolve();
        });
      });
      if (!stop.stopped) await new Promise((r) => setTimeout(r, 1000));
    }
  }
}

/** A status without its null values (a merge patch's "remove this key"), to compare with what the server holds. */
function stripNulls(v: Record<string, unknown>): Record<string, unknown> {
  return JSON.parse(JSON.stringify(v, (_k, x) => (x === null ? undefined : x))) as Record<string, unknown>;
}

function phaseReason(phase: string): string {
  const words: Record<string, string> = {
    preflight: 'Preflight',
    guards: 'SafetyChecks',
    'steady-state': 'SteadyState',
    chaos: 'ChaosInjected',
    'post-chaos': 'PostChaos',
    rollback: 'Rollback',
    done: 'Done',
    queued: 'Queued',
  };
  return words[phase] ?? 'Progress';
}

/** `tempest controller`: lead (Lease), then reconcile until `until` resolves or leadership is lost (rejects). */
export async function runController(opts: ControllerOptions): Promise<void> {
  const { config } = opts;
  const log = opts.log ?? console.log;
  // Unique per process even where every container is pid 1 on the same host name.
  const identity = opts.identity ?? `${hostname()}_${process.pid}_${randomBytes(3).toString('hex')}`;
  const { kc, source } = loadKubeConfig(config);
  const tempest = await TempestClient.connect(config);
  const c = new Controller(kc, tempest, config, identity, log);
  const lease = new LeaderLease(kc, {
    namespace: config.controller.namespace,
    name: config.controller.leaseName,
    identity,
    durationMs: config.controller.leaseDuration,
    log,
    // Renew only while the work loop turns (a reconcile is bounded: a stuck one lets the Lease go).
    healthy: () => performance.now() - c.lastProgress < Math.max(config.controller.leaseDuration, 90_000),
  });
  const stop = { stopped: false };
  let lost: (e: Error) => void = () => undefined;
  const lostP = new Promise<never>((_, reject) => (lost = reject));
  lostP.catch(() => undefined);
  lease.onLost = () => {
    stop.stopped = true;
    lost(new Error(`leadership of lease ${config.controller.namespace}/${config.controller.leaseName} lost: stopping (a new leader resyncs everything)`));
  };
  log(
    `controller ${identity}: cluster ${source}; Temporal ${config.temporal.address} (namespace ${config.temporal.namespace}, task queue ${config.temporal.taskQueue}); engines: ${config.controller.engines === 'all' ? 'every ChaosEngine and ChaosSchedule' : `only those annotated ${MANAGED_ANNOTATION}: "true"`}; waiting for lease ${config.controller.namespace}/${config.controller.leaseName}...`,
  );
  const until = opts.until ?? new Promise(() => undefined);
  let loops: Promise<unknown> = Promise.resolve();
  try {
    const led = await Promise.race([lease.start().then(() => true), until.then(() => false)]);
    if (!led) return;
    log(`controller ${identity}: leading; resync every ${config.controller.resync / 1000}s`);
    c.canAct = () => lease.isLeader && !stop.stopped;
    const resync = async () => {
      while (!stop.stopped) {
        try {
          if (c.canAct()) await c.sweep();
        } catch (e) {
          if (!(e instanceof NotLeader)) log(`resync: ${oneLine((e as Error).message)}`);
        }
        await new Promise((r) => setTimeout(r, config.controller.resync));
      }
    };
    loops = Promise.all([c.work(stop), ...KINDS.map((k) => c.watch(k, stop)), resync()]);
    // A loop that dies is fatal: the process exits and its Deployment restarts it (no silent half-controller).
    const died = loops.then(
      () => undefined,
      (e) => {
        throw new Error(`a controller loop failed: ${(e as Error).message}`);
      },
    );
    await Promise.race([until, lostP, died]);
  } finally {
    stop.stopped = true;
    // Let the current reconcile and cleanups end (they re-check leadership) before the Lease is given up.
    await within(Promise.allSettled([loops, c.pending]), 10_000, 'stopping').catch(() => undefined);
    await lease.stop();
    await tempest.close();
  }
}
