/**
 * container-kill on Kubernetes, two modes (env CHAOS_MODE):
 *
 *   helper (default, exec-free, as Litmus does it): per target, a short-lived helper pod on the target's node
 *     (spec.nodeName) mounts the container runtime's socket (SOCKET_PATH, hostPath) and runs
 *       crictl -r unix://<SOCKET_PATH> stop <container-id>                  (CONTAINER_RUNTIME containerd, crio)
 *       docker -H unix://<SOCKET_PATH> kill --signal <SIGNAL> <container-id> (CONTAINER_RUNTIME docker)
 *     When the pod status has no container id yet, the helper looks the container up by its CRI labels
 *     (pod uid + container name) and stops what it finds: a CONSTANT script, every value in the helper's env
 *     (socket, pod uid, container name, signal), so nothing from YAML is ever spliced into shell text. The
 *     helper pod is labelled
 *     tempest.io/fault-id=<id>, owned by the target pod (garbage-collected with it), carries the ledger key,
 *     and has activeDeadlineSeconds up to the dead-man time. Image: the worker's images.runtimeHelper (or an
 *     allowed LIB_IMAGE); SOCKET_PATH must be one of the worker's platform.kubernetes.runtimeSockets.
 *   exec: `kill 1` (or `kill -<SIGNAL> 1`) in TARGET_CONTAINER through pods/exec. The container's PID 1 must
 *     handle the signal (PID 1 ignores signals it has no handler for, except from outside its namespace).
 *
 * A retried round acts on the pods its ledger entry chose only if the target still selects them (same uid);
 * what runs, and on which node, is recomputed from the request and the live pod, never read from the ledger.
 * Revert deletes every helper pod of this fault (found by label: anyone can) after recording how each
 * ended. Verify: no helper pod left; every kill that ran (helper Succeeded, exec answered) shows in the
 * target container's restartCount and the container is ready again; the owner is whole.
 * A pod with spec.hostPID is refused (preflight, and inject on the live pod): its PID 1 is the node's init, and
 * its processes are the node's.
 * More pods than limits.maxTargetPods are refused, for a fresh selection and for a retried round's ledger alike.
 */
import type { V1Pod } from '@kubernetes/client-node';
import type { FaultSpec } from '../../../config/spec.js';
import { normalAbsolutePath } from '../../../config/policy.js';
import { tempestError } from '../../errors.js';
import { isAlreadyExists, k8sFailure, kcall, kcallGone, type K8sOp } from '../../platform/k8s/client.js';
import { isPlainObject } from '../driver.js';
import type { LedgerEntry } from '../driver.js';
import {
  MANAGED_BY,
  candidatePods,
  deadManSeconds,
  execIn,
  faultIds,
  forEachTarget,
  imageFor,
  refuseHostNamespaces,
  roundTargets,
  selectPods,
  targetContainerOf,
  waitClean,
  type K8sFaultContext,
  type K8sFaultDriver,
} from '../kubernetes-common.js';

export type ContainerKillMode = 'helper' | 'exec';

export function chaosMode(f: FaultSpec): ContainerKillMode {
  const m = f.params.chaosMode ?? 'helper';
  if (m !== 'helper' && m !== 'exec')
    throw tempestError('FaultRefused', `container-kill: CHAOS_MODE must be helper or exec (got ${JSON.stringify(String(m).slice(0, 40))})`);
  return m;
}

const DEFAULT_SOCKET: Record<string, string> = {
  containerd: '/run/containerd/containerd.sock',
  crio: '/var/run/crio/crio.sock',
  docker: '/var/run/docker.sock',
};

/** SOCKET_PATH (or the runtime's default), only if the worker's policy lists it. */
export function socketPath(f: FaultSpec, ctx: Pick<K8sFaultContext, 'policy'>): string {
  const sock = f.params.socketPath || DEFAULT_SOCKET[f.params.containerRuntime ?? 'containerd'];
  if (normalAbsolutePath(sock) !== sock || !/^[A-Za-z0-9._/-]+$/.test(sock))
    throw tempestError('FaultRefused', `container-kill: SOCKET_PATH ${JSON.stringify(sock.slice(0, 120))} is not a plain absolute path`);
  if (!ctx.policy.runtimeSockets.includes(sock)) {
    throw tempestError(
      'FaultRefused',
      `container-kill: SOCKET_PATH ${sock} is not one of the runtime sockets of ${ctx.policy.source} (${ctx.policy.runtimeSockets.join(', ')})`,
    );
  }
  return sock;
}

const SIGNALS = new Set(['SIGKILL', 'SIGTERM', 'SIGINT', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2', 'SIGSTOP', 'SIGCONT']);
function signalOf(f: FaultSpec): string {
  const sig = f.params.signal ?? 'SIGKILL';
  if (!SIGNALS.has(sig)) throw tempestError('FaultRefused', `container-kill: SIGNAL ${JSON.stringify(String(sig).slice(0, 40))} is not a signal name`);
  return sig;
}

interface KillTarget {
  namespace: string;
  pod: string;
  uid: string;
  container: string;
  containerID?: string;
}

/** The helper's script when the container id is not known yet: constant text; every value comes from its env. */
const FIND_AND_KILL = {
  crictl:
    'id=$(crictl -r "$TEMPEST_SOCK" ps -q --state running --label "io.kubernetes.pod.uid=$TEMPEST_POD_UID" --name "^$TEMPEST_CONTAINER$"); [ -n "$id" ] || { echo "no running container $TEMPEST_CONTAINER in pod $TEMPEST_POD" >&2; exit 1; }; crictl -r "$TEMPEST_SOCK" stop $id',
  docker:
    'id=$(docker -H "$TEMPEST_SOCK" ps -q --filter "label=io.kubernetes.pod.uid=$TEMPEST_POD_UID" --filter "label=io.kubernetes.container.name=$TEMPEST_CONTAINER"); [ -n "$id" ] || { echo "no running container $TEMPEST_CONTAINER in pod $TEMPEST_POD" >&2; exit 1; }; docker -H "$TEMPEST_SOCK" kill --signal "$TEMPEST_SIGNAL" $id',
};

const CONTAINER_ID = /^[0-9a-f]{8,128}$/;
const POD_UID = /^[0-9a-f-]{36}$/;

/** The helper's command line and env, exactly as they will run (an argv; values validated or passed as env). */
export function helperCommand(f: FaultSpec, t: KillTarget, ctx: Pick<K8sFaultContext, 'policy'>): { command: string[]; env: Record<string, string> } {
  const sock = `unix://${socketPath(f, ctx)}`;
  const signal = signalOf(f);
  const docker = f.params.containerRuntime === 'docker';
  if (t.containerID && CONTAINER_ID.test(t.containerID)) {
    return { command: docker ? ['docker', '-H', sock, 'kill', '--signal', signal, t.containerID] : ['crictl', '-r', sock, 'stop', t.containerID], env: {} };
  }
  if (!POD_UID.test(t.uid)) throw tempestError('FaultRefused', `container-kill: pod uid ${JSON.stringify(t.uid.slice(0, 40))} is not a uid`);
  return {
    command: ['sh', '-c', docker ? FIND_AND_KILL.docker : FIND_AND_KILL.crictl],
    env: { TEMPEST_SOCK: sock, TEMPEST_POD_UID: t.uid, TEMPEST_CONTAINER: t.container, TEMPEST_POD: `${t.namespace}/${t.pod}`, TEMPEST_SIGNAL: signal },
  };
}

function execCommand(f: FaultSpec): string[] {
  // PID 1 ignores signals it has no handler for when they come from inside its namespace: TERM unless told otherwise.
  return f.params.signal ? ['kill', `-${signalOf(f).replace(/^SIG/, '')}`, '1'] : ['kill', '1'];
}

interface KillRecord {
  pod: string;
  uid: string;
  container: string;
  containerID?: string;
  node?: string;
  restartsBefore: number;
  mode: ContainerKillMode;
  /** helper pod name (helper mode) */
  helper?: string;
  /** For the record only: recomputed from the request and the live pod before anything runs. */
  command: string[];
  env?: Record<string, string>;
  /** how it ended: helper phase + exit code, or the exec's exit; unset = not known to have run */
  outcome?: string;
  /** true when the kill is known to have been delivered (helper Succeeded, exec answered) */
  ran?: boolean;
}

interface ContainerKillData {
  kills: Record<string, KillRecord[]>;
}

/**
 * The kill records of the ledger (tenant-writable), in the shape the code reads: records without a pod name and
 * uid are dropped, every field is typed. What runs is never taken from them (see inject).
 */
function killsOf(entry: LedgerEntry | undefined): Record<string, KillRecord[]> {
  const d = entry?.data;
  const out: Record<string, KillRecord[]> = {};
  if (!isPlainObject(d) || !isPlainObject(d.kills)) return out;
  for (const [round, list] of Object.entries(d.kills)) {
    if (!/^\d{1,6}$/.test(round) || !Array.isArray(list)) continue;
    out[round] = list
      .filter((k): k is Record<string, unknown> => isPlainObject(k) && typeof k.pod === 'string' && typeof k.uid === 'string')
      .map((k) => ({
        pod: k.pod as string,
        uid: k.uid as string,
        container: typeof k.container === 'string' ? k.container : '',
        restartsBefore: typeof k.restartsBefore === 'number' && Number.isInteger(k.restartsBefore) && k.restartsBefore >= 0 ? k.restartsBefore : 0,
        mode: k.mode === 'exec' ? 'exec' : 'helper',
        helper: typeof k.helper === 'string' ? k.helper : undefined,
        command: Array.isArray(k.command) ? k.command.filter((c): c is string => typeof c === 'string') : [],
        outcome: typeof k.outcome === 'string' ? k.outcome.slice(0, 300) : undefined,
        ran: k.ran === true,
      }));
  }
  return out;
}

function restartsOf(pod: V1Pod | undefined, container: string): number {
  return pod?.status?.containerStatuses?.find((c) => c.name === container)?.restartCount ?? 0;
}

function helperPod(
  ctx: K8sFaultContext,
  f: FaultSpec,
  k: KillRecord,
  meta: { id: string; key: string; run: string; faultIndex: number; round: number; deadMan: number },
): V1Pod {
  const sock = socketPath(f, ctx);
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: k.helper,
      namespace: ctx.target.namespace,
      labels: {
        ...MANAGED_BY,
        'app.kubernetes.io/component': 'chaos-helper',
        'tempest.io/fault': 'container-kill',
        'tempest.io/fault-id': meta.id,
        'tempest.io/round': String(meta.round),
      },
      annotations: {
        [meta.key]: JSON.stringify({
          run: meta.run,
          fault: 'container-kill',
          faultIndex: meta.faultIndex,
          detail: `round ${meta.round}: ${k.pod}/${k.container}`,
        }),
      },
      // garbage-collected with the target pod; blockOwnerDeletion false needs no extra RBAC
      ownerReferences: [{ apiVersion: 'v1', kind: 'Pod', name: k.pod, uid: k.uid, controller: false, blockOwnerDeletion: false }],
    },
    spec: {
      nodeName: k.node,
      restartPolicy: 'Never',
      activeDeadlineSeconds: meta.deadMan,
      terminationGracePeriodSeconds: 0,
      automountServiceAccountToken: false,
      tolerations: [{ operator: 'Exists' }],
      volumes: [{ name: 'cri-socket', hostPath: { path: sock, type: 'Socket' } }],
      containers: [
        {
          name: 'container-kill',
          image: imageFor(ctx, f, 'runtimeHelper'),
          imagePullPolicy: 'IfNotPresent',
          command: k.command,
          env: Object.entries(k.env ?? {}).map(([name, value]) => ({ name, value })),
          volumeMounts: [{ name: 'cri-socket', mountPath: sock }],
          securityContext: { runAsUser: 0 },
        },
      ],
    },
  };
}

async function helperPods(ctx: K8sFaultContext, id: string): Promise<V1Pod[]> {
  const namespace = ctx.target.namespace;
  const list = await kcall({ verb: 'list', resource: 'pods', namespace }, () =>
    ctx.k8s.core.listNamespacedPod({ namespace, labelSelector: `tempest.io/fault-id=${id}` }),
  );
  // Ours by label AND by name: a pod someone else labelled is never deleted.
  return list.items.filter((p) => p.metadata?.name?.startsWith(`tempest-ck-${id}-`));
}

function helperOutcome(p: V1Pod): { outcome: string; ran: boolean } {
  const t = p.status?.containerStatuses?.[0]?.state?.terminated;
  const phase = p.status?.phase ?? 'Unknown';
  return { outcome: `helper ${phase}${t ? ` (exit ${t.exitCode}${t.reason ? `, ${t.reason}` : ''})` : ''}`, ran: phase === 'Succeeded' };
}

export const containerKillKubernetes: K8sFaultDriver = {
  rbac: [
    'get/list pods',
    'patch pods (ledger mark)',
    'helper mode: create/delete pods (helper pods with a hostPath socket: needs a namespace whose Pod Security admits hostPath)',
    'exec mode: create pods/exec',
    'get/list/patch the owner (ledger)',
  ],

  async check(fault, ctx) {
    const mode = chaosMode(fault);
    signalOf(fault);
    if (mode === 'helper') {
      socketPath(fault, ctx);
      imageFor(ctx, fault, 'runtimeHelper');
    }
    refuseHostNamespaces(fault, await candidatePods(fault, ctx), ['hostPID']);
  },

  async inject(req, ctx, ledger) {
    const { id, key } = faultIds(req);
    const entry = await ledger.open(req);
    const round = String(req.round);
    if (entry.done.includes(req.round)) return { affected: entry.rounds[round] ?? [], detail: 'round already done', alreadyDone: true };
    const data: ContainerKillData = { kills: killsOf(entry) };
    const mode = chaosMode(req.fault);
    const live = new Map((await ctx.target.runningPods()).map((p) => [p.metadata!.name!, p]));
    let kills = data.kills[round];
    if (kills) {
      // a rewritten ledger naming a pod twice, or more pods than allowed: once each, and refused past the limit
      const all = kills;
      kills = all.filter((k, i) => all.findIndex((x) => x.pod === k.pod) === i);
      data.kills[round] = kills;
      roundTargets(
        req.fault,
        kills.map((k) => k.pod),
        ctx,
      );
    } else {
      const chosen = selectPods([...live.values()], req.fault, ctx.policy.limits.maxTargetPods);
      refuseHostNamespaces(req.fault, chosen, ['hostPID']); // before the intent is written
      kills = chosen.map((p, i) => {
        const container = targetContainerOf(p, req.fault);
        const cs = p.status?.containerStatuses?.find((c) => c.name === container);
        return {
          pod: p.metadata!.name!,
          uid: p.metadata!.uid!,
          container,
          restartsBefore: cs?.restartCount ?? 0,
          mode,
          helper: mode === 'helper' ? `tempest-ck-${id}-r${req.round}-${i}` : undefined,
          command: [],
        };
      });
      data.kills[round] = kills;
    }
    // What runs is recomputed from the request and the LIVE pod (never taken from the ledger); a pod the target
    // no longer selects, or a replaced one, is skipped.
    // Helper names keep the position the round first gave them (a retry must find its own helpers).
    kills = kills
      .map((k, i) => ({ k, i }))
      .filter(({ k }) => {
        const p = live.get(k.pod);
        return !!p && p.metadata?.uid === k.uid;
      })
      .map(({ k, i }) => Object.assign(k, { helper: mode === 'helper' ? `tempest-ck-${id}-r${req.round}-${i}` : undefined }));
    // again on the live pods, before anything is done to any of them (a pod may have been replaced)
    refuseHostNamespaces(
      req.fault,
      kills.map((k) => live.get(k.pod)!),
      ['hostPID'],
    );
    kills.forEach((k) => {
      const p = live.get(k.pod)!;
      k.container = targetContainerOf(p, req.fault);
      const cs = p.status?.containerStatuses?.find((c) => c.name === k.container);
      k.containerID = cs?.containerID?.replace(/^[a-z-]+:\/\//, '') || undefined;
      k.node = p.spec?.nodeName;
      k.mode = mode;
      const cmd =
        mode === 'helper'
          ? helperCommand(req.fault, { namespace: ctx.target.namespace, pod: k.pod, uid: k.uid, container: k.container, containerID: k.containerID }, ctx)
          : { command: execCommand(req.fault), env: {} };
      k.command = cmd.command;
      k.env = cmd.env;
    });
    if (!entry.rounds[round]) {
      entry.rounds[round] = kills.map((k) => `${k.pod}/${k.container}`);
      entry.data = data as unknown as Record<string, unknown>;
      await ledger.write(entry); // intent (targets, helper names, exact commands) before acting
    }
    const deadMan = deadManSeconds(req);
    await forEachTarget(
      kills,
      req.fault.sequence,
      async (k) => {
        await ledger.markPod(k.pod, {
          run: req.runId,
          fault: req.fault.name,
          faultIndex: req.faultIndex,
          detail: `round ${req.round}: ${k.container} (${k.mode})`,
        });
        if (k.mode === 'helper') {
          if (!k.node) throw tempestError('TargetNotFound', `pod ${k.pod} is not bound to a node`);
          const op: K8sOp = { verb: 'create', resource: 'pods', namespace: ctx.target.namespace, name: k.helper };
          try {
            // As the worker: a node-level helper (hostPath runtime socket) is the operator's to allow (deploy/rbac.yaml's
            // optional node-helpers Role), never a tenant's account's to grant itself.
            await (ctx.worker ?? ctx.k8s).core.createNamespacedPod({
              namespace: ctx.target.namespace,
              body: helperPod(ctx, req.fault, k, { id, key, run: req.runId, faultIndex: req.faultIndex, round: req.round, deadMan }),
            });
          } catch (e) {
            if (!isAlreadyExists(e)) throw k8sFailure(e, op); // same round retried: the helper is there
          }
        } else {
          const x = await execIn(ctx, k.pod, k.container, k.command);
          if (x.exitCode === 126 || x.exitCode === 127) {
            throw tempestError(
              'FaultRefused',
              `container-kill exec mode: \`${k.command.join(' ')}\` cannot run in ${k.pod}/${k.container} (exit ${x.exitCode}: ${x.stderr.trim().slice(0, 200)}); use CHAOS_MODE=helper`,
            );
          }
          k.outcome = x.exitCode === null ? 'exec stream closed (container went down under it)' : `exec exit ${x.exitCode}`;
          k.ran = x.exitCode === null || x.exitCode === 0 || x.exitCode >= 128;
        }
        ctx.heartbeat({ round: req.round, pod: k.pod });
      },
      async (k) => {
        // serial: let this kill land before the next one
        if (k.mode === 'helper') {
          await waitClean(
            `helper ${k.helper} finished`,
            async () => {
              const p = await ctx.target.pod(k.helper!);
              const done = !p || p.status?.phase === 'Succeeded' || p.status?.phase === 'Failed';
              return { clean: done, observed: p?.status?.phase ?? 'gone' };
            },
            ctx,
            30_000,
          ).catch(() => undefined); // a helper that never finishes (no runtime) must not block the round
        } else {
          await waitClean('owner whole again', () => ctx.target.recovered(), ctx, ctx.settings.verifyTimeoutMs);
        }
      },
    );
    entry.done.push(req.round);
    entry.data = data as unknown as Record<string, unknown>; // the typed copy, with what this round saw
    await ledger.write(entry);
    const first = kills[0];
    return {
      affected: kills.map((k) => k.pod),
      detail:
        mode === 'helper'
          ? `helper pod(s) ${kills.map((k) => `${k.helper} on ${k.node}`).join(', ')}: \`${first.command.join(' ')}\``
          : `exec \`${first.command.join(' ')}\` in ${kills.map((k) => `${k.pod}/${k.container} (${k.outcome})`).join(', ')}`,
      alreadyDone: false,
    };
  },

  async revert(ref, ctx, ledger) {
    const { id } = faultIds(ref);
    const entry = await ledger.read();
    const data: ContainerKillData = { kills: killsOf(entry) };
    const byHelper = new Map(
      Object.values(data.kills)
        .flat()
        .filter((k) => typeof k.helper === 'string')
        .map((k) => [k.helper!, k]),
    );
    const helpers = await helperPods(ctx, id);
    // record how each helper ended, before the evidence is deleted
    for (const h of helpers) {
      const k = byHelper.get(h.metadata!.name!);
      if (k) Object.assign(k, helperOutcome(h));
    }
    if (entry && helpers.length) {
      entry.data = data as unknown as Record<string, unknown>;
      await ledger.write(entry);
    }
    const undone: string[] = [];
    const namespace = ctx.target.namespace;
    for (const h of helpers) {
      const name = h.metadata!.name!;
      const r = await kcallGone({ verb: 'delete', resource: 'pods', namespace, name }, () =>
        ctx.k8s.core.deleteNamespacedPod({ name, namespace, gracePeriodSeconds: 0 }),
      );
      if (r) undone.push(`deleted helper pod ${name} (${helperOutcome(h).outcome})`);
    }
    return undone;
  },

  async verify(ref, ctx, ledger) {
    const { id } = faultIds(ref);
    const kills = Object.values(killsOf(await ledger.read())).flat();
    return ledger.note(
      await waitClean(
        'helpers gone, killed containers restarted and ready, owner whole',
        async () => {
          const seen: string[] = [];
          let clean = true;
          const left = (await helperPods(ctx, id)).map((p) => p.metadata!.name!);
          if (left.length) {
            clean = false;
            seen.push(`helper pod(s) still present: ${left.join(', ')}`);
          } else if (kills.some((k) => k.mode === 'helper')) {
            const ran = kills.filter((k) => k.mode === 'helper' && k.ran).length;
            const total = kills.filter((k) => k.mode === 'helper').length;
            seen.push(`${total} helper pod(s) created, ${ran} ran to completion, all deleted`);
            const never = kills.filter((k) => k.mode === 'helper' && !k.ran);
            if (never.length) seen.push(`no kill delivered by ${never.map((k) => `${k.helper} (${k.outcome ?? 'never seen finishing'})`).join(', ')}`);
          }
          for (const k of kills.filter((x) => x.ran)) {
            const p = await ctx.target.pod(k.pod);
            if (!p || p.metadata?.uid !== k.uid) {
              seen.push(`${k.pod}: replaced`);
              continue;
            }
            if (!ctx.target.selects(p)) {
              seen.push(`${k.pod}: not a target pod (ignored)`);
              continue;
            }
            const cs = p.status?.containerStatuses?.find((c) => c.name === k.container);
            const restarted = restartsOf(p, k.container) > k.restartsBefore;
            const ok = restarted && !!cs?.ready;
            clean &&= ok;
            seen.push(`${k.pod}/${k.container}: restarts ${k.restartsBefore} -> ${restartsOf(p, k.container)}, ${cs?.ready ? 'ready' : 'not ready'}`);
          }
          const r = await ctx.target.recovered();
          clean &&= r.clean;
          seen.push(r.observed);
          return { clean, observed: seen.join('; ') };
        },
        ctx,
        ctx.settings.verifyTimeoutMs,
      ),
    );
  },
};
