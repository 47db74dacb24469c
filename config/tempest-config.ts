/**
 * tempest.yaml: the operator's settings (not the user's Litmus YAML). Where Temporal is, which platform the
 * worker drives and how the engine's names map onto it, the blast-radius allowlist, safety guards,
 * rollback triggers, where reports and metrics go. Explicit config, never magic.
 */
import { readFileSync } from 'node:fs';
import { resolve, dirname } from 'node:path';
import { z } from 'zod';
import { ConfigError, zodProblems } from './errors.js';
import { parseYamlDocuments } from './load.js';
import { parseDurationMs } from './duration.js';
import type { GuardSpec, RollbackActionSpec, RollbackTriggerSpec } from './spec.js';

const numericCriteria = z.enum(['>=', '<=', '>', '<', '==', '!=', 'oneOf', 'between']);
const duration = z.union([z.number(), z.string()]).transform((v, ctx) => {
  const ms = parseDurationMs(v, 's');
  if (ms === undefined || ms <= 0) {
    ctx.addIssue({ code: z.ZodIssueCode.custom, message: 'must be a positive duration like "5s" or 5 (seconds)' });
    return z.NEVER;
  }
  return ms;
});

const guardSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('http'), name: z.string(), url: z.string().url(), expectStatus: z.number().int().optional(), timeoutMs: z.number().int().positive().optional() }),
  z.object({
    type: z.literal('prometheus'),
    name: z.string(),
    endpoint: z.string().url(),
    query: z.string().min(1),
    criteria: numericCriteria,
    value: z.union([z.string(), z.number()]).transform(String),
    onEmpty: z.enum(['fail', 'pass']).optional(),
  }),
  z.object({
    type: z.literal('pagerduty'),
    name: z.string(),
    apiUrl: z.string().url(),
    token: z.string().optional(),
    tokenEnv: z.string().optional(),
    serviceIds: z.array(z.string()).optional(),
    statuses: z.array(z.string()).optional(),
  }),
  z.object({ type: z.literal('freeze'), name: z.string(), file: z.string().optional(), url: z.string().url().optional() }),
]).superRefine((g, ctx) => {
  if (g.type === 'freeze' && !g.file && !g.url) ctx.addIssue({ code: z.ZodIssueCode.custom, message: 'a freeze guard needs file or url' });
});

const triggerSchema = z.object({
  name: z.string(),
  endpoint: z.string().url(),
  query: z.string().min(1),
  criteria: numericCriteria,
  threshold: z.union([z.string(), z.number()]).transform(String),
});

const rollbackActionSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('scale'), name: z.string().default('Scale up replicas'), minReplicas: z.number().int().min(1) }),
  z.object({ type: z.literal('restartUnhealthy'), name: z.string().default('Restart unhealthy pods'), restartThreshold: z.number().int().min(0).default(3) }),
  z.object({
    type: z.literal('pagerduty'),
    name: z.string().default('Trigger incident'),
    eventsUrl: z.string().url().default('https://events.pagerduty.com/v2/enqueue'),
    routingKey: z.string().optional(),
    routingKeyEnv: z.string().optional(),
    whenRecoveryOver: duration.optional(),
    severity: z.enum(['critical', 'error', 'warning', 'info']).default('critical'),
  }),
]);

const localTargetSchema = z.object({
  namespace: z.string(),
  selector: z.string(),
  /** Control API of the local fleet standing in for this workload. */
  fleet: z.string().url(),
});

export const tempestConfigSchema = z
  .object({
    temporal: z
      .object({
        address: z.string().default('127.0.0.1:7233'),
        namespace: z.string().default('default'),
        taskQueue: z.string().default('tempest'),
        uiUrl: z.string().default('http://127.0.0.1:8233'),
        searchAttributes: z.boolean().default(true),
      })
      .default({}),
    platform: z
      .object({
        driver: z.enum(['local', 'kubernetes']).default('local'),
        local: z
          .object({
            targets: z.array(localTargetSchema).default([]),
            urlRewrites: z.array(z.object({ from: z.string(), to: z.string() })).default([]),
            pathRewrites: z.array(z.object({ from: z.string(), to: z.string() })).default([]),
          })
          .default({}),
        kubernetes: z.object({ kubeconfig: z.string().optional(), context: z.string().optional() }).default({}),
      })
      .default({}),
    blastRadius: z
      .object({
        /** Namespaces (and optionally label selectors) a run may touch. Empty = refuse everything. */
        allow: z.array(z.object({ namespace: z.string(), selector: z.string().optional() })).default([]),
      })
      .default({}),
    guards: z.array(guardSchema).default([]),
    rollbackTriggers: z
      .object({ pollInterval: duration.default(5), triggers: z.array(triggerSchema).default([]) })
      .default({}),
    rollbackActions: z.array(rollbackActionSchema).default([]),
    reports: z.object({ dir: z.string().default('.tempest/reports') }).default({}),
    metrics: z.object({ port: z.number().int().min(0).max(65535).default(9464) }).default({}),
  })
  .strict();

export type TempestConfig = z.infer<typeof tempestConfigSchema> & { file?: string };

export function defaultConfig(): TempestConfig {
  return tempestConfigSchema.parse({});
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
  const cfg: TempestConfig = { ...r.data, file };
  const base = dirname(resolve(file));
  cfg.reports.dir = resolve(base, cfg.reports.dir);
  cfg.platform.local.pathRewrites = cfg.platform.local.pathRewrites.map((p) => ({ from: p.from, to: resolve(base, p.to) }));
  for (const g of cfg.guards) if (g.type === 'freeze' && g.file) g.file = resolve(base, g.file);
  return cfg;
}

export function guardsFromConfig(cfg: TempestConfig): GuardSpec[] {
  return cfg.guards.map((g) => {
    if (g.type === 'pagerduty') {
      const { tokenEnv, ...rest } = g;
      return { ...rest, token: rest.token ?? (tokenEnv ? process.env[tokenEnv] : undefined) };
    }
    return g as GuardSpec;
  });
}

export function rollbackActionsFromConfig(cfg: TempestConfig): RollbackActionSpec[] {
  return cfg.rollbackActions.map((a, i) => {
    if (a.type !== 'pagerduty') return a;
    const routingKey = a.routingKey ?? (a.routingKeyEnv ? process.env[a.routingKeyEnv] : undefined);
    if (!routingKey) {
      throw new ConfigError([{ file: cfg.file ?? 'tempest.yaml', path: `rollbackActions[${i}]`, message: `needs routingKey, or routingKeyEnv naming a set variable${a.routingKeyEnv ? ` (${a.routingKeyEnv} is not set)` : ''}` }]);
    }
    return { type: 'pagerduty', name: a.name, eventsUrl: a.eventsUrl, routingKey, afterRecoveryMs: a.whenRecoveryOver ?? 0, severity: a.severity };
  });
}

export function triggersFromConfig(cfg: TempestConfig): RollbackTriggerSpec[] {
  return cfg.rollbackTriggers.triggers;
}
