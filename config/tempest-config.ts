/**
 * tempest.yaml: the operator's file (never the experiment author's). Two parts:
 *   - connection: where Temporal is (address, namespace, task queue, TLS / mTLS, API key by reference);
 *   - the worker's POLICY: platform mapping, blast radius, guards, rollback triggers and actions, helper images,
 *     file roots, limits, what probes may reach, where Tempest keeps its own state, reports and metrics.
 * A worker loads it from its own file (or a mounted ConfigMap) and enforces it in every activity; a client
 * loads its own copy only to connect and to refuse early what the worker would refuse anyway.
 * Secrets are never written here: they are referenced (an env variable or a file, e.g. a mounted Secret) and
 * resolved by the activity that needs them, on the worker.
 */
import { readFileSync } from 'node:fs';
import { resolve, dirname } from 'node:path';
import { z } from 'zod';
import { ConfigError, zodProblems } from './errors.js';
import { parseYamlDocuments } from './load.js';
import { parseDurationMs } from './duration.js';
import type { GuardSpec, RollbackActionSpec, RollbackTriggerSpec, RunPolicyView, SecretRef } from './spec.js';
import {
  DEFAULT_DOCUMENT_LIMITS,
  DEFAULT_IMAGES,
  DEFAULT_LIMITS,
  DEFAULT_RUNTIME_SOCKETS,
  IMAGE_ROLES,
  isPinnedImage,
  normalAbsolutePath,
  type DocumentLimits,
  type ImageRole,
  type Policy,
} from './policy.js';
import { isDnsLabel, isDnsSubdomain, parseLabelSelector } from './selector.js';

const numericCriteria = z.enum(['>=', '<=', '>', '<', '==', '!=', 'oneOf', 'between']);
const duration = (msg = 'must be a positive duration like "5s" or 5 (seconds)') =>
  z.union([z.number(), z.string()]).transform((v, ctx) => {
    const ms = parseDurationMs(v, 's');
    if (ms === undefined || ms <= 0) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, message: msg });
      return z.NEVER;
    }
    return ms;
  });
const envName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,127}$/, 'must be an environment variable name');
/** An http(s) URL without credentials, judged on what the URL parser makes of it (`https:///user:pw@host/` has them too). */
const httpUrl = z
  .string()
  .url()
  .refine((u) => /^https?:$/.test(parsedUrl(u)?.protocol ?? ''), 'must be an http:// or https:// URL')
  .refine((u) => !parsedUrl(u)?.username && !parsedUrl(u)?.password, 'must not carry credentials (use a secret reference)');
function parsedUrl(u: string): URL | undefined {
  try {
    return new URL(u);
  } catch {
    return undefined;
  }
}
const name = z.string().min(1).max(128);
const literalSecret = (field: string, ref: string) =>
  z.unknown().superRefine((v, ctx) => {
    // params.secret: the error never shows the value found (it is the secret).
    if (v !== undefined)
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        params: { secret: true },
        message: `secrets are never written in tempest.yaml: reference it with ${ref}Env (an environment variable) or ${ref}File (a file, e.g. a mounted Secret) instead of ${field}`,
      });
  });
const pinnedImage = z.string().refine(isPinnedImage, 'must be a pinned image reference (a tag other than latest, or @sha256:<digest>)');

const guardSchema = z
  .discriminatedUnion('type', [
    z
      .object({
        type: z.literal('http'),
        name,
        url: httpUrl,
        expectStatus: z.number().int().optional(),
        timeoutMs: z.number().int().positive().max(60_000).optional(),
      })
      .strict(),
    z
      .object({
        type: z.literal('prometheus'),
        name,
        endpoint: httpUrl,
        query: z.string().min(1).max(4096),
        criteria: numericCriteria,
        value: z.union([z.string(), z.number()]).transform(String),
        onEmpty: z.enum(['fail', 'pass']).optional(),
      })
      .strict(),
    z
      .object({
        type: z.literal('pagerduty'),
        name,
        apiUrl: httpUrl,
        token: literalSecret('token', 'token'),
        tokenEnv: envName.optional(),
        tokenFile: z.string().min(1).optional(),
        serviceIds: z.array(z.string().max(64)).max(100).optional(),
        statuses: z.array(z.enum(['triggered', 'acknowledged', 'resolved'])).optional(),
      })
      .strict(),
    z.object({ type: z.literal('freeze'), name, file: z.string().optional(), url: httpUrl.optional() }).strict(),
  ])
  .superRefine((g, ctx) => {
    if (g.type === 'freeze' && !g.file && !g.url) ctx.addIssue({ code: z.ZodIssueCode.custom, message: 'a freeze guard needs file or url' });
    if (g.type === 'pagerduty' && g.tokenEnv && g.tokenFile)
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['tokenFile'], message: 'give tokenEnv or tokenFile, not both' });
  });

const triggerSchema = z
  .object({
    name,
    endpoint: httpUrl,
    query: z.string().min(1).max(4096),
    criteria: numericCriteria,
    threshold: z.union([z.string(), z.number()]).transform(String),
  })
  .strict();

const rollbackActionSchema = z
  .discriminatedUnion('type', [
    z.object({ type: z.literal('scale'), name: name.default('Scale up replicas'), minReplicas: z.number().int().min(1).max(1000) }).strict(),
    z
      .object({ type: z.literal('restartUnhealthy'), name: name.default('Restart unhealthy pods'), restartThreshold: z.number().int().min(0).default(3) })
      .strict(),
    z
      .object({
        type: z.literal('pagerduty'),
        name: name.default('Trigger incident'),
        eventsUrl: httpUrl.default('https://events.pagerduty.com/v2/enqueue'),
        routingKey: literalSecret('routingKey', 'routingKey'),
        routingKeyEnv: envName.optional(),
        routingKeyFile: z.string().min(1).optional(),
        whenRecoveryOver: duration().optional(),
        severity: z.enum(['critical', 'error', 'warning', 'info']).default('critical'),
      })
      .strict(),
  ])
  .superRefine((a, ctx) => {
    if (a.type === 'pagerduty' && !!a.routingKeyEnv === !!a.routingKeyFile)
      ctx.addIssue({ code: z.ZodIssueCode.custom, message: 'needs exactly one of routingKeyEnv or routingKeyFile' });
  });

const localTargetSchema = z
  .object({
    namespace: z.string(),
    selector: z.string(),
    /** Control API of the local fleet standing in for this workload. */
    fleet: httpUrl,
  })
  .strict();

const allowEntry = z
  .object({
    namespace: z.string().refine((n) => n === '*' || isDnsLabel(n), 'must be a namespace name (DNS-1123 label) or "*"'),
    selector: z
      .string()
      .optional()
      .superRefine((s, ctx) => {
        if (s === undefined) return;
        const r = parseLabelSelector(s);
        if (!r.ok) ctx.addIssue({ code: z.ZodIssueCode.custom, message: `is not a valid label selector: ${r.error}` });
      }),
  })
  .strict();

const limitsSchema = z
  .object({
    maxChaosDuration: duration().default(DEFAULT_LIMITS.maxChaosDurationMs / 1000),
    maxRampTime: duration().default(DEFAULT_LIMITS.maxRampTimeMs / 1000),
    maxCpuCores: z.number().int().min(1).max(1024).default(DEFAULT_LIMITS.maxCpuCores),
    maxStressWorkers: z.number().int().min(1).max(1024).default(DEFAULT_LIMITS.maxStressWorkers),
    maxMemoryMb: z
      .number()
      .int()
      .min(1)
      .max(1 << 22)
      .default(DEFAULT_LIMITS.maxMemoryMb),
    maxNetworkLatency: duration().default(DEFAULT_LIMITS.maxNetworkLatencyMs / 1000),
    maxProbeTimeout: duration().default(DEFAULT_LIMITS.maxProbeTimeoutMs / 1000),
    maxProbeAttempts: z.number().int().min(1).max(1000).default(DEFAULT_LIMITS.maxProbeAttempts),
    maxProbeInterval: duration().default(DEFAULT_LIMITS.maxProbeIntervalMs / 1000),
    maxFaults: z.number().int().min(1).max(100).default(DEFAULT_LIMITS.maxFaults),
    maxProbesPerFault: z.number().int().min(1).max(100).default(DEFAULT_LIMITS.maxProbesPerFault),
    maxTargetPods: z.number().int().min(1).max(10_000).default(DEFAULT_LIMITS.maxTargetPods),
    document: z
      .object({
        maxBytes: z
          .number()
          .int()
          .min(1024)
          .max(64 * 1024 * 1024)
          .default(DEFAULT_DOCUMENT_LIMITS.maxBytes),
        maxDocuments: z.number().int().min(1).max(10_000).default(DEFAULT_DOCUMENT_LIMITS.maxDocuments),
        maxAliases: z.number().int().min(0).max(10_000).default(DEFAULT_DOCUMENT_LIMITS.maxAliases),
        maxDepth: z.number().int().min(1).max(32).default(DEFAULT_DOCUMENT_LIMITS.maxDepth),
        maxNodes: z.number().int().min(100).max(1_000_000).default(DEFAULT_DOCUMENT_LIMITS.maxNodes),
      })
      .strict()
      .default({}),
  })
  .strict()
  .default({});

const imagesSchema = z
  .object({
    ...(Object.fromEntries(IMAGE_ROLES.map((r) => [r, pinnedImage.optional()])) as Record<ImageRole, z.ZodOptional<typeof pinnedImage>>),
    /** Images an engine may name in STRESS_IMAGE, NETEM_IMAGE, ... (besides the defaults above). */
    allow: z.array(pinnedImage).max(100).default([]),
  })
  .strict()
  .default({});

const absOrRelPath = z
  .string()
  .min(1)
  .max(4096)
  .refine((p) => !p.split('/').includes('..'), 'must not contain ".."');

export const tempestConfigSchema = z
  .object({
    temporal: z
      .object({
        address: z.string().default('127.0.0.1:7233'),
        namespace: z.string().default('default'),
        taskQueue: z.string().default('tempest'),
        uiUrl: z.string().default('http://127.0.0.1:8233'),
        searchAttributes: z.boolean().default(true),
        /** TLS to the frontend (a self-hosted cluster with TLS, or Temporal Cloud). `tls: {}` = TLS with the system CAs. */
        tls: z
          .object({
            serverName: z.string().optional(),
            /** PEM CA bundle that signed the server certificate (else the system roots). */
            caFile: z.string().optional(),
            /** mTLS: client certificate and key (PEM files). */
            certFile: z.string().optional(),
            keyFile: z.string().optional(),
          })
          .strict()
          .superRefine((t, ctx) => {
            if (!!t.certFile !== !!t.keyFile) ctx.addIssue({ code: z.ZodIssueCode.custom, message: 'certFile and keyFile go together (mTLS)' });
          })
          .optional(),
        apiKey: literalSecret('apiKey', 'apiKey'),
        /** Temporal Cloud API key, by reference (implies TLS). */
        apiKeyEnv: envName.optional(),
        apiKeyFile: z.string().optional(),
      })
      .strict()
      .default({}),
    platform: z
      .object({
        driver: z.enum(['local', 'kubernetes']).default('local'),
        local: z
          .object({
            targets: z.array(localTargetSchema).default([]),
            urlRewrites: z.array(z.object({ from: z.string(), to: z.string() }).strict()).default([]),
            pathRewrites: z.array(z.object({ from: absOrRelPath, to: absOrRelPath }).strict()).default([]),
          })
          .strict()
          .default({}),
        kubernetes: z
          .object({
            kubeconfig: z.string().optional(),
            context: z.string().optional(),
            /** container-kill SOCKET_PATH must be one of these. */
            runtimeSockets: z.array(z.string().refine((p) => normalAbsolutePath(p) === p, 'must be an absolute path')).default(DEFAULT_RUNTIME_SOCKETS),
            /** Act as the engine's chaosServiceAccount (Kubernetes impersonation): config/policy.ts ImpersonationPolicy. */
            impersonate: z
              .object({
                mode: z.enum(['off', 'required']).default('off'),
                serviceAccounts: z
                  .array(
                    z
                      .object({
                        namespace: z.string().refine(isDnsLabel, 'must be a namespace name'),
                        name: z.string().refine(isDnsSubdomain, 'must be a service account name'),
                      })
                      .strict(),
                  )
                  .max(1000)
                  .default([]),
              })
              .strict()
              .superRefine((v, ctx) => {
                if (v.mode === 'required' && !v.serviceAccounts.length)
                  ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['serviceAccounts'], message: 'mode required needs the service accounts runs may act as' });
              })
              .default({}),
          })
          .strict()
          .default({}),
      })
      .strict()
      .default({}),
    blastRadius: z
      .object({
        /** Namespaces (and optionally label selectors) a run may touch. Empty = refuse everything. `*` = any namespace but the protected ones. */
        allow: z.array(allowEntry).default([]),
        /** Namespaces protected like kube-system (e.g. Tempest's own): reachable only when listed by exact name. */
        protectedNamespaces: z.array(z.string().refine(isDnsLabel, 'must be a namespace name')).default([]),
      })
      .strict()
      .default({}),
    guards: z.array(guardSchema).default([]),
    rollbackTriggers: z
      .object({
        pollInterval: duration().default(5),
        /** Polls in a row in which some trigger could not be evaluated (Prometheus down) before that stops the chaos like a breach; 0 = never. */
        blindAfter: z.number().int().min(0).max(1000).default(3),
        triggers: z.array(triggerSchema).default([]),
      })
      .strict()
      .default({}),
    rollbackActions: z.array(rollbackActionSchema).default([]),
    limits: limitsSchema,
    images: imagesSchema,
    files: z
      .object({
        /** model-corruption FILE_PATH must be inside one of these (local: host paths; kubernetes: container paths). */
        corruptionRoots: z.array(absOrRelPath).default([]),
        /** httpProbe bodyPath must be inside one of these (worker host paths). */
        probeBodyRoots: z.array(absOrRelPath).default([]),
      })
      .strict()
      .default({}),
    probes: z
      .object({
        /** cmdProbe without `source` runs /bin/sh on the worker host, with a minimal environment: off by default. */
        allowLocalCommands: z.boolean().default(false),
        followRedirects: z.boolean().default(false),
        /** Probes may reach the worker's own host (127.0.0.0/8, ::1, localhost): the local platform needs it. */
        allowLoopback: z.boolean().default(false),
        allowHosts: z.array(z.string().regex(/^[A-Za-z0-9.-]+(:\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](:\d{1,5})?$/, 'must be host or host:port')).default([]),
        k8sWritable: z.array(z.string().regex(/^([a-z0-9.-]+\/)?[a-z0-9-]+$/, 'must be resource or group/resource')).default([]),
        k8sClusterScoped: z.array(z.string().regex(/^([a-z0-9.-]+\/)?[a-z0-9-]+$/, 'must be resource or group/resource')).default([]),
      })
      .strict()
      .default({}),
    /** Tempest's own state (file backups): a directory only the worker can read. */
    state: z
      .object({ dir: z.string().default('.tempest/state') })
      .strict()
      .default({}),
    reports: z
      .object({ dir: z.string().default('.tempest/reports') })
      .strict()
      .default({}),
    metrics: z
      .object({
        port: z.number().int().min(0).max(65535).default(9464),
        /** Where /metrics listens: loopback by default; `0.0.0.0` (or `::`) in a pod, so Prometheus can scrape it. */
        host: z.string().ip().or(z.literal('localhost')).default('127.0.0.1'),
      })
      .strict()
      .default({}),
    /**
     * `tempest controller` (workers/controller/): the Litmus kinds in the cluster become runs. `engines: annotated`
     * (the default) acts only on ChaosEngines and ChaosSchedules annotated `tempest.io/managed: "true"`, so Tempest
     * never fights a Litmus operator that owns the same kinds; `all` acts on every one (Tempest owns litmuschaos.io).
     * The Lease that elects one acting controller lives in `namespace`.
     */
    controller: z
      .object({
        engines: z.enum(['annotated', 'all']).default('annotated'),
        namespace: z.string().refine(isDnsLabel, 'must be a namespace name').default('tempest-system'),
        leaseName: z.string().refine(isDnsLabel, 'must be a DNS-1123 name').default('tempest-controller'),
        leaseDuration: duration()
          .refine((ms) => ms >= 2000 && ms <= 300_000, 'must be from 2s to 5m')
          .default(15),
        /**
         * Namespaces whose engines and schedules may target another namespace (`appinfo.appns`), still only inside
         * the blast radius: a platform team's own namespace (the seed's `chaos-engineering`). Everywhere else an
         * engine targets its own namespace only, so a tenant who may create ChaosEngines in one namespace cannot
         * aim them at another.
         */
        crossNamespaceFrom: z.array(z.string().refine(isDnsLabel, 'must be a namespace name')).max(100).default([]),
        /** How often every engine is looked at again (status of live runs, missed events). */
        resync: duration()
          .refine((ms) => ms >= 500 && ms <= 600_000, 'must be from 0.5s to 10m')
          .default(5),
      })
      .strict()
      .default({}),
    /**
     * The orphan-fault reconciler (workflows/reconciler.ts): a Temporal Schedule the worker creates at start-up
     * (every `interval`, default 30 s), plus one run when a worker starts. `enabled: false` creates neither.
     */
    /**
     * What every fault carries on the target: the dead-man expiry (chaos end + `deadManMargin`, 5s to 5m, default
     * 60s) after which the target drops the fault by itself, when no worker and no reconciler is left to revert it.
     */
    faults: z
      .object({
        deadManMargin: duration()
          .refine((ms) => ms >= 5000 && ms <= 300_000, 'must be from 5s to 5m')
          .default(60),
      })
      .strict()
      .default({}),
    reconciler: z
      .object({
        enabled: z.boolean().default(true),
        interval: duration()
          .refine((ms) => ms >= 5000 && ms <= 3_600_000, 'must be from 5s to 1h')
          .default(30),
      })
      .strict()
      .default({}),
  })
  .strict()
  .superRefine((c, ctx) => {
    // Guards, triggers and actions are looked up by name: a second one of the same name would never run.
    const dup = (list: Array<{ name: string }>, path: string) => {
      const seen = new Set<string>();
      list.forEach((x, i) => {
        if (seen.has(x.name))
          ctx.addIssue({
            code: z.ZodIssueCode.custom,
            path: [path, i, 'name'],
            message: `a second ${path.replace(/s$/, '')} named ${JSON.stringify(x.name)}: names must be unique`,
          });
        seen.add(x.name);
      });
    };
    dup(c.guards, 'guards');
    dup(c.rollbackActions, 'rollbackActions');
    const seenT = new Set<string>();
    c.rollbackTriggers.triggers.forEach((t, i) => {
      if (seenT.has(t.name))
        ctx.addIssue({
          code: z.ZodIssueCode.custom,
          path: ['rollbackTriggers', 'triggers', i, 'name'],
          message: `a second trigger named ${JSON.stringify(t.name)}: names must be unique`,
        });
      seenT.add(t.name);
    });
  });

type Parsed = z.infer<typeof tempestConfigSchema>;
type ParsedGuard = Parsed['guards'][number];
type ParsedAction = Parsed['rollbackActions'][number];

/** tempest.yaml, loaded: the raw sections plus the derived policy. */
export type TempestConfig = Omit<Parsed, 'guards' | 'rollbackActions'> & {
  file?: string;
  guards: GuardSpec[];
  rollbackActions: RollbackActionSpec[];
  /** The pure view of the policy the checks use (config/policy.ts). */
  policy: Policy;
  documentLimits: DocumentLimits;
};

function ref(envVar: string | undefined, file: string | undefined, base: string | undefined): SecretRef | undefined {
  if (envVar) return { env: envVar };
  if (file) return { file: base ? resolve(base, file) : file };
  return undefined;
}

function guardOf(g: ParsedGuard, base: string | undefined): GuardSpec {
  if (g.type === 'pagerduty') {
    const { token: _t, tokenEnv, tokenFile, ...rest } = g;
    return { ...rest, tokenRef: ref(tokenEnv, tokenFile, base) };
  }
  if (g.type === 'freeze') return { ...g, file: g.file && base ? resolve(base, g.file) : g.file };
  return g;
}

function actionOf(a: ParsedAction, base: string | undefined): RollbackActionSpec {
  if (a.type !== 'pagerduty') return a;
  return {
    type: 'pagerduty',
    name: a.name,
    eventsUrl: a.eventsUrl,
    routingKeyRef: ref(a.routingKeyEnv, a.routingKeyFile, base)!,
    afterRecoveryMs: a.whenRecoveryOver ?? 0,
    severity: a.severity,
  };
}

function build(data: Parsed, file: string | undefined): TempestConfig {
  // Relative paths resolve against the file's folder (without a file they stay relative to the working directory).
  const base = file ? dirname(resolve(file)) : undefined;
  const r = (p: string) => (base ? resolve(base, p) : p);
  const cfg: TempestConfig = {
    ...data,
    file,
    guards: data.guards.map((g) => guardOf(g, base)),
    rollbackActions: data.rollbackActions.map((a) => actionOf(a, base)),
    policy: undefined as unknown as Policy,
    documentLimits: data.limits.document,
  };
  cfg.reports.dir = r(cfg.reports.dir);
  cfg.state.dir = r(cfg.state.dir);
  cfg.platform.local.pathRewrites = cfg.platform.local.pathRewrites.map((p) => ({ from: p.from, to: r(p.to) }));
  if (cfg.temporal.tls) {
    for (const k of ['caFile', 'certFile', 'keyFile'] as const) if (cfg.temporal.tls[k]) cfg.temporal.tls[k] = r(cfg.temporal.tls[k]!);
  }
  if (cfg.temporal.apiKeyFile) cfg.temporal.apiKeyFile = r(cfg.temporal.apiKeyFile);
  // Roots: container paths on Kubernetes must be absolute already; relative ones are host paths (local platform).
  const roots = (list: string[]) => list.map((p) => (p.startsWith('/') ? p : resolve(base ?? process.cwd(), p)));
  const l = data.limits;
  cfg.policy = {
    source: file ?? 'the default policy',
    limits: {
      maxChaosDurationMs: l.maxChaosDuration,
      maxRampTimeMs: l.maxRampTime,
      maxCpuCores: l.maxCpuCores,
      maxStressWorkers: l.maxStressWorkers,
      maxMemoryMb: l.maxMemoryMb,
      maxNetworkLatencyMs: l.maxNetworkLatency,
      maxProbeTimeoutMs: l.maxProbeTimeout,
      maxProbeAttempts: l.maxProbeAttempts,
      maxProbeIntervalMs: l.maxProbeInterval,
      maxFaults: l.maxFaults,
      maxProbesPerFault: l.maxProbesPerFault,
      maxTargetPods: l.maxTargetPods,
    },
    blastRadius: { allow: data.blastRadius.allow, protectedNamespaces: data.blastRadius.protectedNamespaces },
    images: {
      ...DEFAULT_IMAGES,
      ...Object.fromEntries(Object.entries(data.images).filter(([k, v]) => k !== 'allow' && v !== undefined)),
      allow: data.images.allow,
    },
    files: { corruptionRoots: roots(data.files.corruptionRoots), probeBodyRoots: roots(data.files.probeBodyRoots) },
    probes: { ...data.probes },
    runtimeSockets: data.platform.kubernetes.runtimeSockets,
    impersonation: { mode: data.platform.kubernetes.impersonate.mode, serviceAccounts: data.platform.kubernetes.impersonate.serviceAccounts },
  };
  return cfg;
}

export function defaultConfig(): TempestConfig {
  return build(tempestConfigSchema.parse({}), undefined);
}

/** Load tempest.yaml; relative paths in it are resolved against the file's folder. */
export function loadTempestConfig(file: string | undefined): TempestConfig {
  if (!file) return defaultConfig();
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new ConfigError([{ file, path: '', message: `cannot read config: ${(e as NodeJS.ErrnoException).code ?? String(e)}` }]);
  }
  const [doc] = parseYamlDocuments(text, file);
  const r = tempestConfigSchema.safeParse(doc);
  if (!r.success) throw new ConfigError(zodProblems(file, r.error, doc));
  return build(r.data, file);
}

/** The policy as one run sees it (preflight's answer, recorded in the history): no secrets, no credentials. */
export function runPolicyView(cfg: Pick<TempestConfig, 'guards' | 'rollbackTriggers' | 'rollbackActions' | 'policy' | 'faults'>): RunPolicyView {
  return {
    source: cfg.policy.source,
    guards: cfg.guards.map((g) => ({ name: g.name, type: g.type })),
    triggers: cfg.rollbackTriggers.triggers.map((t: RollbackTriggerSpec) => ({ name: t.name, query: t.query, criteria: t.criteria, threshold: t.threshold })),
    triggerPollMs: cfg.rollbackTriggers.pollInterval,
    triggerBlindAfter: cfg.rollbackTriggers.blindAfter,
    rollbackActions: cfg.rollbackActions.map((a) => ({ name: a.name, type: a.type })),
    deadManMarginMs: cfg.faults.deadManMargin,
  };
}
