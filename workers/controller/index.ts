/**
 * `tempest controller`: the Kubernetes front door. Litmus's kinds in the cluster become Tempest runs.
 *
 * - ChaosEngine: validated by the same loader and policy as `tempest run` (plus one tenant rule: an engine targets
 *   its own namespace only); an invalid one gets the loader's one line as an `Accepted=False` condition and a
 *   Warning Event, and nothing starts. A valid one gets the finalizer, then its run: workflow id
 *   `chaosengine-<uid>`, REJECT_DUPLICATE, so a resync, a restarted controller or a second one never starts it
 *   twice. Progress is mirrored into `.status` (engineStatus, experiments[], Tempest's phase and conditions) and one
 *   ChaosResult per experiment, in Litmus's shapes (litmus-status.ts); an Event marks each transition.
 * - `spec.engineState: stop` aborts the run (the workflow reverts and verifies, as for `tempest abort`).
 * - `kubectl delete`: the finalizer holds the object; the run is aborted, then — once it is closed — the worker's
 *   own reconciler reverts and verifies whatever that run left in the cluster (terminated runs too); the finalizer
 *   goes only when no fault of that run is left unverified.
 * - ChaosSchedule: a Temporal Schedule (the same one `tempest schedule apply` makes), updated with the object and
 *   deleted with it (finalizer).
 *
 * Only one replica acts: a coordination.k8s.io Lease (lease.ts). Everything is level-triggered: a watch enqueues
 * what changed, a full list every `controller.resync` enqueues everything, and each object is reconciled from what
 * the API server and Temporal say now, so a controller killed at any point and restarted picks up where it was.
 * What the controller may do in the cluster is deploy/controller-rbac.yaml: the litmuschaos.io kinds, Events, its
 * Lease — never pods or workloads (the worker does the chaos, under its own identity and policy).
 */
import { hostname } from 'node:os';
import { CoreV1Api, CustomObjectsApi, Watch, type KubeConfig } from '@kubernetes/client-node';
import { ScheduleNotFoundError, WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError } from '@temporalio/client';
import { ConfigError } from '../../config/errors.js';
import { loadDocument } from '../../config/load.js';
import { chaosExperimentSchema, experimentDefaults, type ExperimentDefaults } from '../../config/litmus.js';
import type { ExperimentSpec, ScheduleSpec } from '../../config/spec.js';
import type { TempestConfig } from '../../config/tempest-config.js';
import type { ExperimentResult, ExperimentStatus } from '../../activities/types.js';
import { loadKubeConfig, MERGE_PATCH } from '../../activities/platform/k8s/client.js';
import { statusOf } from '../../activities/platform/k8s/status.js';
import { TempestClient } from '../../client/client.js';
import type { ReconcileResult } from '../../workflows/reconciler.js';
import { LeaderLease } from './lease.js';
import {
  COUNTED_ANNOTATION,
  FINALIZER,
  MANAGED_ANNOTATION,
  chaosResultName,
  engineWorkflowId,
  finishedExperiments,
  finishedResult,
  litmusVerdict,
  runningExperiments,
  runningResult,
  withCondition,
  type ChaosResultStatus,
  type Condition,
  type EngineStatusDoc,
  type History,
} from './litmus-status.js';

const GROUP = 'litmuschaos.io';
const VERSION = 'v1alpha1';

interface Obj {
  apiVersion?: string;
  kind?: string;
  metadata: { name: string; namespace: string; uid: string; generation?: number; resourceVersion?: string; deletionTimestamp?: string; finalizers?: string[]; annotations?: Record<string, string>; labels?: Record<string, string> };
  spec?: Record<string, unknown>;
  status?: Record<string, unknown>;
}

type Kind = 'chaosengines' | 'chaosschedules';

export interface ControllerOptions {
  config: TempestConfig;
  log?: (m: string) => void;
  identity?: string;
  /** Resolves when the controller should stop (SIGTERM). */
  until?: Promise<unknown>;
}

const oneLine = (s: string) => s.replace(/\s*\n\s*/g, '; ').trim();

export class Controller {
  readonly custom: CustomObjectsApi;
  readonly core: CoreV1Api;
  private queue = new Map<string, Kind>();
  private wake: (() => void) | undefined;
  /** Per workflow id: the cleanup run that is verifying a deleted engine's faults (one at a time). */
  private cleaning = new Map<string, Promise<void>>();
  private lastCleanup = new Map<string, number>();
  /** False while this replica is not (or no longer surely) the leader: nothing is reconciled then. */
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

  /** `engines: annotated` (default): only objects annotated tempest.io/managed: "true" are Tempest's. */
  owns(o: Obj): boolean {
    return this.config.controller.engines === 'all' || o.metadata.annotations?.[MANAGED_ANNOTATION] === 'true';
  }

  enqueue(kind: Kind, namespace: string, name: string): void {
    this.queue.set(`${namespace}/${name}`, kind);
    this.wake?.();
  }

  async listAll(): Promise<void> {
    for (const plural of ['chaosengines', 'chaosschedules'] as const) {
      const list = (await this.custom.listClusterCustomObject({ group: GROUP, version: VERSION, plural })) as { items: Obj[] };
      for (const o of list.items) this.enqueue(plural, o.metadata.namespace, o.metadata.name);
    }
  }

  /** Work the queue until `stop` resolves; every key is reconciled one at a time, from the object as it is now. */
  async work(stop: { stopped: boolean }): Promise<void> {
    while (!stop.stopped) {
      const next = this.queue.entries().next();
      if (next.done) {
        await new Promise<void>((r) => {
          this.wake = r;
          setTimeout(r, 1000);
        });
        this.wake = undefined;
        continue;
      }
      const [key, kind] = next.value;
      if (!this.canAct()) {
        await new Promise((r) => setTimeout(r, 200));
        continue;
      }
      this.queue.delete(key);
      const [namespace, name] = key.split('/');
      try {
        const o = (await this.custom.getNamespacedCustomObject({ group: GROUP, version: VERSION, namespace, plural: kind, name })) as Obj;
        if (kind === 'chaosengines') await this.reconcileEngine(o);
        else await this.reconcileSchedule(o);
      } catch (e) {
        if (statusOf(e)?.code === 404) continue; // gone
        if (statusOf(e)?.code === 409) {
          this.enqueue(kind, namespace, name); // changed under us: again, from the new version
          continue;
        }
        this.log(`${kind}/${key}: ${oneLine((e as Error).message ?? String(e))}`);
      }
    }
  }

  // ------------------------------------------------------------------ API helpers
  private async patchStatus(plural: Kind | 'chaosresults', o: Obj, status: Record<string, unknown>): Promise<void> {
    await this.custom.patchNamespacedCustomObjectStatus({ group: GROUP, version: VERSION, namespace: o.metadata.namespace, plural, name: o.metadata.name, body: { status } }, MERGE_PATCH);
  }

  private async setFinalizers(plural: Kind, o: Obj, finalizers: string[]): Promise<void> {
    // resourceVersion makes it a compare-and-swap: a concurrent change answers 409 and the key is reconciled again.
    await this.custom.patchNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: o.metadata.namespace, plural, name: o.metadata.name, body: { metadata: { finalizers, resourceVersion: o.metadata.resourceVersion } } }, MERGE_PATCH);
  }

  async event(o: Obj, type: 'Normal' | 'Warning', reason: string, message: string): Promise<void> {
    const now = new Date();
    try {
      await this.core.createNamespacedEvent({
        namespace: o.metadata.namespace,
        body: {
          metadata: { generateName: `${o.metadata.name}.`, namespace: o.metadata.namespace },
          involvedObject: { apiVersion: o.apiVersion, kind: o.kind, name: o.metadata.name, namespace: o.metadata.namespace, uid: o.metadata.uid, resourceVersion: o.metadata.resourceVersion },
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
      });
    } catch (e) {
      this.log(`event ${reason} on ${o.metadata.namespace}/${o.metadata.name} not recorded: ${oneLine((e as Error).message)}`);
    }
  }

  private async describe(workflowId: string): Promise<string | undefined> {
    try {
      return (await this.tempest.handle(workflowId).describe()).status.name;
    } catch (e) {
      if (e instanceof WorkflowNotFoundError) return undefined;
      throw e;
    }
  }

  // ------------------------------------------------------------------ ChaosEngine
  /** The engine as the loader sees it: what its author wrote (no status, no server-set metadata). */
  async specOf(o: Obj): Promise<ExperimentSpec> {
    const file = `chaosengine/${o.metadata.namespace}/${o.metadata.name}`;
    const { name, namespace, labels, annotations } = o.metadata;
    const doc = { apiVersion: o.apiVersion, kind: 'ChaosEngine', metadata: { name, namespace, ...(labels ? { labels } : {}), ...(annotations ? { annotations } : {}) }, spec: o.spec };
    const appns = (o.spec?.appinfo as { appns?: unknown } | undefined)?.appns;
    // A tenant who may create ChaosEngines in one namespace cannot aim them at another.
    if (typeof appns === 'string' && appns !== '' && appns !== namespace && !this.config.controller.crossNamespaceFrom.includes(namespace)) {
      throw new ConfigError([{ file, path: 'spec.appinfo.appns', message: `an engine in namespace ${namespace} may only target its own namespace (controller.crossNamespaceFrom of ${this.config.policy.source} does not list ${namespace})`, value: appns }]);
    }
    if (JSON.stringify(doc).length > this.config.documentLimits.maxBytes) throw new ConfigError([{ file, path: '', message: `larger than limits.document.maxBytes (${this.config.documentLimits.maxBytes})` }]);
    const experiments = await this.experimentsIn(namespace, file);
    const d = loadDocument(doc, file, 0, false, { limits: this.config.policy.limits, documentLimits: this.config.documentLimits, policy: this.config.policy, experiments });
    if (d.kind !== 'ChaosEngine') throw new ConfigError([{ file, path: 'kind', message: 'expected a ChaosEngine', value: d.kind }]);
    return d.experiment;
  }

  /** The namespace's ChaosExperiments: their env is the default of its engines' faults (as Litmus's runner merges them). */
  private async experimentsIn(namespace: string, file: string): Promise<Map<string, ExperimentDefaults>> {
    const list = (await this.custom.listNamespacedCustomObject({ group: GROUP, version: VERSION, namespace, plural: 'chaosexperiments' })) as { items: Obj[] };
    const out = new Map<string, ExperimentDefaults>();
    for (const x of list.items) {
      const r = chaosExperimentSchema.safeParse({ apiVersion: x.apiVersion, kind: x.kind, metadata: { name: x.metadata.name }, spec: x.spec });
      if (!r.success) continue; // an experiment no engine can use is that engine's problem, named when it is used
      out.set(x.metadata.name, experimentDefaults(r.data, `${file} (chaosexperiment/${namespace}/${x.metadata.name})`, ''));
    }
    return out;
  }

  async reconcileEngine(o: Obj): Promise<void> {
    if (!this.owns(o)) return;
    const wfId = engineWorkflowId(o.metadata.uid);
    const st = (o.status ?? {}) as Partial<EngineStatusDoc> & { stopRequested?: boolean; verdict?: string; reason?: string };
    const now = new Date().toISOString();
    const gen = o.metadata.generation;
    if (o.metadata.deletionTimestamp) return this.finalizeEngine(o, wfId);
    const terminal = st.engineStatus === 'completed' || (st.engineStatus === 'stopped' && st.workflowId === wfId);
    if (terminal && st.workflowId === wfId) return; // done: a completed engine is not run again (re-create it to run again)

    const state = await this.describe(wfId);
    if (state === undefined) {
      if (st.workflowId === wfId) {
        // Status says we started it, Temporal does not know it (retention): nothing to start again.
        return;
      }
      const accepted = st.conditions?.find((c) => c.type === 'Accepted');
      if (accepted?.status === 'False' && accepted.observedGeneration === gen) return; // refused already; a change of spec tries again
      const faults = ((o.spec?.experiments as Array<{ name?: unknown }> | undefined) ?? []).map((e) => String(e?.name ?? ''));
      if (o.spec?.engineState === 'stop') {
        await this.patchStatus('chaosengines', o, {
          engineStatus: 'stopped',
          experiments: [],
          conditions: withCondition(st.conditions, { type: 'Accepted', status: 'False', reason: 'EngineStateStop', message: 'engineState is stop: nothing was started', observedGeneration: gen }, now),
        });
        return;
      }
      let spec: ExperimentSpec;
      try {
        spec = await this.specOf(o);
      } catch (e) {
        if (!(e instanceof ConfigError)) throw e;
        const message = oneLine(e.message);
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
      try {
        await this.tempest.start(spec, { workflowId: wfId, rejectDuplicate: true, memo: { chaosEngine: `${o.metadata.namespace}/${o.metadata.name}`, uid: o.metadata.uid } });
        this.log(`chaosengine ${o.metadata.namespace}/${o.metadata.name}: started ${wfId}`);
        await this.event(o, 'Normal', 'ChaosEngineInitialized', `run ${wfId} started (${spec.faults.map((f) => f.name).join(', ')} on ${spec.target.kind} ${spec.target.namespace}/${spec.target.labelSelector})`);
      } catch (e) {
        if (!(e instanceof WorkflowExecutionAlreadyStartedError)) throw e; // another controller, a moment ago: the same run
      }
      await this.patchStatus('chaosengines', o, {
        engineStatus: 'initialized',
        workflowId: wfId,
        phase: 'preflight',
        observedGeneration: gen,
        experiments: runningExperiments(faults, undefined, wfId, now),
        conditions: withCondition(st.conditions, { type: 'Accepted', status: 'True', reason: 'Started', message: `run ${wfId}`, observedGeneration: gen }, now),
      });
      return;
    }

    const faults = ((o.spec?.experiments as Array<{ name?: unknown }> | undefined) ?? []).map((e) => String(e?.name ?? ''));
    if (state === 'RUNNING') {
      if (o.spec?.engineState === 'stop' && !st.stopRequested) {
        await this.tempest.abort(wfId, 'ChaosEngine engineState: stop');
        await this.patchStatus('chaosengines', o, { stopRequested: true });
        await this.event(o, 'Normal', 'ChaosEngineStopped', `engineState is stop: run ${wfId} aborted; every fault is reverted and verified before it ends`);
        return;
      }
      let s: ExperimentStatus | undefined;
      try {
        s = await this.tempest.status(wfId);
      } catch {
        s = undefined; // no worker has picked it up yet
      }
      const experiments = runningExperiments(faults, s, wfId, now);
      const phase = s?.phase ?? 'queued';
      const prev = (st.experiments ?? []).map((e) => `${e.name}:${e.status}`).join(',');
      if (st.phase !== phase || prev !== experiments.map((e) => `${e.name}:${e.status}`).join(',') || st.workflowId !== wfId) {
        await this.patchStatus('chaosengines', o, { engineStatus: 'initialized', workflowId: wfId, phase, experiments });
        if (st.phase !== phase) await this.event(o, 'Normal', phaseReason(phase), `run ${wfId}: phase ${phase}${s?.currentFault ? ` (${s.currentFault})` : ''}`);
      }
      await Promise.all(faults.map((f, i) => this.writeResult(o, f, i, wfId, (h) => runningResult(f, i, s, h), false)));
      return;
    }

    // Closed: the result (completed) or what ended it (terminated, failed, timed out, cancelled).
    let r: ExperimentResult | undefined;
    if (state === 'COMPLETED') r = await this.tempest.result(wfId);
    if (r) {
      await Promise.all(faults.map((f, i) => this.writeResult(o, f, i, wfId, (h) => finishedResult(f, i, r!, h), true)));
      const engineStatus = r.verdict === 'Aborted' ? 'stopped' : 'completed';
      await this.patchStatus('chaosengines', o, {
        engineStatus,
        workflowId: wfId,
        phase: 'done',
        verdict: r.verdict,
        reason: r.reason.slice(0, 1024),
        experiments: finishedExperiments(faults, r, now),
        conditions: withCondition(st.conditions, { type: 'Running', status: 'False', reason: r.verdict, message: r.reason.slice(0, 1024) }, now),
      });
      await this.event(o, r.verdict === 'Pass' ? 'Normal' : 'Warning', r.verdict === 'Aborted' ? 'ChaosEngineStopped' : 'ChaosEngineCompleted', `verdict ${r.verdict} (Litmus: ${litmusVerdict(r.verdict)}), probe success ${r.probeSuccessPercentage}%: ${r.reason}`.slice(0, 1024));
    } else {
      const why = `run ${wfId} ${state.toLowerCase().replace(/_/g, ' ')} without a result; the orphan reconciler reverts and verifies what it left`;
      await Promise.all(
        faults.map((f, i) =>
          this.writeResult(o, f, i, wfId, (h) => ({
            experimentStatus: { phase: 'Stopped', verdict: 'Stopped', probeSuccessPercentage: '0', failureOutput: { failedStep: why, errorCode: `TEMPEST_${state}` } },
            probeStatuses: [],
            history: { ...h, stoppedRuns: h.stoppedRuns + 1 },
          }), true),
        ),
      );
      await this.patchStatus('chaosengines', o, {
        engineStatus: 'stopped',
        workflowId: wfId,
        phase: 'done',
        verdict: state,
        reason: why,
        experiments: faults.map((name) => ({ name, runner: wfId, experimentPod: '', status: 'Aborted', verdict: 'Stopped', lastUpdateTime: now })),
        conditions: withCondition(st.conditions, { type: 'Running', status: 'False', reason: state, message: why }, now),
      });
      await this.event(o, 'Warning', 'ChaosEngineStopped', why);
    }
  }

  /**
   * One ChaosResult per experiment, `<engine>-<experiment>`, in the engine's namespace. `final` results count the
   * run in the history once: the result carries the last counted run's id (a resync never counts it twice).
   */
  private async writeResult(o: Obj, fault: string, index: number, wfId: string, make: (h: History) => ChaosResultStatus, final: boolean): Promise<void> {
    const namespace = o.metadata.namespace;
    const name = chaosResultName(o.metadata.name, fault);
    let cur: Obj | undefined;
    try {
      cur = (await this.custom.getNamespacedCustomObject({ group: GROUP, version: VERSION, namespace, plural: 'chaosresults', name })) as Obj;
    } catch (e) {
      if (statusOf(e)?.code !== 404) throw e;
    }
    if (!cur) {
      cur = (await this.custom.createNamespacedCustomObject({
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
            labels: { chaosUID: o.metadata.uid, name, 'app.kubernetes.io/managed-by': 'tempest' },
          },
          spec: { engine: o.metadata.name, experiment: fault, instance: '' },
        },
      })) as Obj;
    }
    const counted = cur.metadata.annotations?.[COUNTED_ANNOTATION];
    if (final && counted === wfId) return; // this run's verdict is in already
    const prevHistory = ((cur.status as { history?: History } | undefined)?.history ?? { passedRuns: 0, failedRuns: 0, stoppedRuns: 0, targets: [] }) as History;
    const status = make(prevHistory);
    const before = JSON.stringify(cur.status ?? {});
    if (!final && before === JSON.stringify(status)) return;
    await this.custom.patchNamespacedCustomObjectStatus({ group: GROUP, version: VERSION, namespace, plural: 'chaosresults', name, body: { status } }, MERGE_PATCH);
    if (final) {
      await this.custom.patchNamespacedCustomObject(
        { group: GROUP, version: VERSION, namespace, plural: 'chaosresults', name, body: { metadata: { labels: { chaosUID: o.metadata.uid }, annotations: { [COUNTED_ANNOTATION]: wfId } } } },
        MERGE_PATCH,
      );
    }
  }

  /**
   * A deleted engine: abort its run if it is open; once it is closed, the worker's reconciler (reconcileWorkflow,
   * the same revert and verify as `tempest cleanup`) checks the target namespace; the finalizer goes only when no
   * ledger entry of this run is left unverified.
   */
  private async finalizeEngine(o: Obj, wfId: string): Promise<void> {
    if (!(o.metadata.finalizers ?? []).includes(FINALIZER)) return;
    const st = (o.status ?? {}) as { deleteRequested?: boolean; conditions?: Condition[] };
    const now = new Date().toISOString();
    const state = await this.describe(wfId);
    if (state === 'RUNNING') {
      if (!st.deleteRequested) {
        await this.tempest.abort(wfId, 'ChaosEngine deleted');
        await this.patchStatus('chaosengines', o, {
          deleteRequested: true,
          conditions: withCondition(st.conditions, { type: 'Reverted', status: 'False', reason: 'Deleting', message: `run ${wfId} aborted; the engine goes once every fault is reverted and verified` }, now),
        });
        await this.event(o, 'Normal', 'Deleting', `ChaosEngine deleted: run ${wfId} aborted; the finalizer ${FINALIZER} holds the object until every fault is reverted and verified`);
      }
      return;
    }
    if (this.cleaning.has(wfId)) return;
    if (Date.now() - (this.lastCleanup.get(wfId) ?? 0) < 5000) return; // at most one cleanup every 5 s per engine
    this.lastCleanup.set(wfId, Date.now());
    const target = String((o.spec?.appinfo as { appns?: unknown } | undefined)?.appns || o.metadata.namespace);
    const job = (async () => {
      const id = `${wfId}-cleanup-${Date.now().toString(36)}`;
      const r = (await this.tempest.client.workflow.execute('reconcileWorkflow', { taskQueue: this.config.temporal.taskQueue, workflowId: id, args: [{ namespace: target }], workflowExecutionTimeout: '10m' })) as ReconcileResult;
      const mine = r.rows.filter((x) => x.runId === wfId);
      const left = mine.filter((x) => x.outcome !== 'reverted');
      if (left.length) {
        const why = left.map((x) => `${x.fault} ${x.where}: ${x.outcome} (${x.why})`).join('; ');
        await this.event(o, 'Warning', 'RevertNotVerified', `cleanup ${id}: ${left.length} fault(s) of run ${wfId} not verified yet, the finalizer stays: ${why}`.slice(0, 1024));
        return;
      }
      const fresh = (await this.custom.getNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: o.metadata.namespace, plural: 'chaosengines', name: o.metadata.name })) as Obj;
      await this.event(fresh, 'Normal', 'Reverted', `every fault of run ${wfId} is reverted and verified (cleanup ${id}: ${mine.length ? `${mine.length} reverted now` : 'nothing left in the fault ledger'}); finalizer removed`);
      await this.setFinalizers('chaosengines', fresh, (fresh.metadata.finalizers ?? []).filter((f) => f !== FINALIZER));
      this.log(`chaosengine ${o.metadata.namespace}/${o.metadata.name}: deleted; run ${wfId} left nothing behind (${id})`);
    })()
      .catch((e) => this.log(`chaosengine ${o.metadata.namespace}/${o.metadata.name}: cleanup: ${oneLine((e as Error).message)}`))
      .finally(() => {
        this.cleaning.delete(wfId);
        this.enqueue('chaosengines', o.metadata.namespace, o.metadata.name);
      });
    this.cleaning.set(wfId, job);
  }

  // ------------------------------------------------------------------ ChaosSchedule
  async reconcileSchedule(o: Obj): Promise<void> {
    if (!this.owns(o)) return;
    const st = (o.status ?? {}) as { conditions?: Condition[]; observedGeneration?: number; scheduleId?: string };
    const now = new Date().toISOString();
    const gen = o.metadata.generation;
    const id = TempestClient.scheduleId({ namespace: o.metadata.namespace, name: o.metadata.name });
    if (o.metadata.deletionTimestamp) {
      if (!(o.metadata.finalizers ?? []).includes(FINALIZER)) return;
      try {
        await this.tempest.client.schedule.getHandle(id).delete();
      } catch (e) {
        if (!(e instanceof ScheduleNotFoundError)) throw e;
      }
      await this.event(o, 'Normal', 'ScheduleDeleted', `Temporal Schedule ${id} deleted`);
      await this.setFinalizers('chaosschedules', o, (o.metadata.finalizers ?? []).filter((f) => f !== FINALIZER));
      return;
    }
    if (st.observedGeneration === gen && st.conditions?.some((c) => c.type === 'Accepted')) return; // this generation is applied (or refused)
    const file = `chaosschedule/${o.metadata.namespace}/${o.metadata.name}`;
    let s: ScheduleSpec;
    try {
      s = this.scheduleOf(o, file);
      const embedded = s.engine;
      if (embedded.target.namespace !== o.metadata.namespace && !this.config.controller.crossNamespaceFrom.includes(o.metadata.namespace)) {
        throw new ConfigError([{ file, path: 'spec.engineTemplateSpec.appinfo.appns', message: `a schedule in namespace ${o.metadata.namespace} may only target its own namespace (controller.crossNamespaceFrom of ${this.config.policy.source} does not list ${o.metadata.namespace})`, value: embedded.target.namespace }]);
      }
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
      const message = oneLine(e.message);
      await this.patchStatus('chaosschedules', o, { observedGeneration: gen, conditions: withCondition(st.conditions, { type: 'Accepted', status: 'False', reason: 'Invalid', message, observedGeneration: gen }, now) });
      await this.event(o, 'Warning', 'Invalid', `no Temporal Schedule: ${message}`);
      return;
    }
    if (!(o.metadata.finalizers ?? []).includes(FINALIZER)) {
      await this.setFinalizers('chaosschedules', o, [...(o.metadata.finalizers ?? []), FINALIZER]);
      this.enqueue('chaosschedules', o.metadata.namespace, o.metadata.name);
      return;
    }
    const r = await this.tempest.applySchedule(s);
    await this.patchStatus('chaosschedules', o, {
      observedGeneration: gen,
      scheduleId: r.scheduleId,
      schedule: { status: s.state === 'active' ? 'running' : 'halted' },
      conditions: withCondition(st.conditions, { type: 'Accepted', status: 'True', reason: r.created ? 'Created' : 'Updated', message: `Temporal Schedule ${r.scheduleId}`, observedGeneration: gen }, now),
    });
    await this.event(o, 'Normal', r.created ? 'ScheduleCreated' : 'ScheduleUpdated', `Temporal Schedule ${r.scheduleId} ${r.created ? 'created' : 'updated'} (state ${s.state})`);
  }

  private scheduleOf(o: Obj, file: string): ScheduleSpec {
    const { name, namespace, labels, annotations } = o.metadata;
    const doc = { apiVersion: o.apiVersion, kind: 'ChaosSchedule', metadata: { name, namespace, ...(labels ? { labels } : {}), ...(annotations ? { annotations } : {}) }, spec: o.spec };
    if (JSON.stringify(doc).length > this.config.documentLimits.maxBytes) throw new ConfigError([{ file, path: '', message: `larger than limits.document.maxBytes (${this.config.documentLimits.maxBytes})` }]);
    const d = loadDocument(doc, file, 0, false, { limits: this.config.policy.limits, documentLimits: this.config.documentLimits, policy: this.config.policy });
    if (d.kind !== 'ChaosSchedule') throw new ConfigError([{ file, path: 'kind', message: 'expected a ChaosSchedule', value: d.kind }]);
    return d.schedule;
  }

  /** Watch one kind cluster-wide; every event enqueues its object. Re-established when the server closes it. */
  async watch(plural: Kind, stop: { stopped: boolean }): Promise<void> {
    const w = new Watch(this.kc);
    while (!stop.stopped) {
      await new Promise<void>((resolve) => {
        w.watch(
          `/apis/${GROUP}/${VERSION}/${plural}`,
          { allowWatchBookmarks: false },
          (_phase, obj: Obj) => {
            if (obj?.metadata?.namespace && obj.metadata.name) this.enqueue(plural, obj.metadata.namespace, obj.metadata.name);
          },
          () => resolve(),
        ).catch(() => resolve());
      });
      if (!stop.stopped) await new Promise((r) => setTimeout(r, 1000));
    }
  }
}

function phaseReason(phase: string): string {
  const words: Record<string, string> = { preflight: 'Preflight', guards: 'SafetyChecks', 'steady-state': 'SteadyState', chaos: 'ChaosInjected', 'post-chaos': 'PostChaos', rollback: 'Rollback', done: 'Done', queued: 'Queued' };
  return words[phase] ?? 'Progress';
}

/** `tempest controller`: lead (Lease), then reconcile until `until` resolves or leadership is lost (rejects). */
export async function runController(opts: ControllerOptions): Promise<void> {
  const { config } = opts;
  const log = opts.log ?? console.log;
  const identity = opts.identity ?? `${hostname()}_${process.pid}`;
  const { kc, source } = loadKubeConfig(config);
  const tempest = await TempestClient.connect(config);
  const lease = new LeaderLease(kc, { namespace: config.controller.namespace, name: config.controller.leaseName, identity, durationMs: config.controller.leaseDuration, log });
  const stop = { stopped: false };
  let lost: (e: Error) => void = () => undefined;
  const lostP = new Promise<never>((_, reject) => (lost = reject));
  lostP.catch(() => undefined);
  lease.onLost = () => {
    stop.stopped = true;
    lost(new Error(`leadership of lease ${config.controller.namespace}/${config.controller.leaseName} lost: stopping (a new leader resyncs everything)`));
  };
  log(`controller ${identity}: cluster ${source}; Temporal ${config.temporal.address} (namespace ${config.temporal.namespace}, task queue ${config.temporal.taskQueue}); engines: ${config.controller.engines === 'all' ? 'every ChaosEngine and ChaosSchedule' : `only those annotated ${MANAGED_ANNOTATION}: "true"`}; waiting for lease ${config.controller.namespace}/${config.controller.leaseName}...`);
  const until = opts.until ?? new Promise(() => undefined);
  try {
    const led = await Promise.race([lease.start().then(() => true), until.then(() => false)]);
    if (!led) return;
    log(`controller ${identity}: leading; resync every ${config.controller.resync / 1000}s`);
    const c = new Controller(kc, tempest, config, identity, log);
    c.canAct = () => lease.isLeader && !stop.stopped;
    const resync = async () => {
      while (!stop.stopped) {
        try {
          if (lease.isLeader) await c.listAll();
        } catch (e) {
          log(`resync: ${oneLine((e as Error).message)}`);
        }
        await new Promise((r) => setTimeout(r, config.controller.resync));
      }
    };
    const loops = Promise.all([c.work(stop), c.watch('chaosengines', stop), c.watch('chaosschedules', stop), resync()]);
    loops.catch(() => undefined);
    await Promise.race([until, lostP]);
  } finally {
    stop.stopped = true;
    await lease.stop();
    await tempest.close();
  }
}
