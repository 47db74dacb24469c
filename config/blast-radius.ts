/** The blast-radius allowlist of tempest.yaml: an engine whose target is not listed is refused before anything runs. */
import type { TargetSpec } from './spec.js';
import type { TempestConfig } from './tempest-config.js';

/** null when allowed, else the refusal message. */
export function blastRadiusRefusal(cfg: TempestConfig, target: TargetSpec): string | null {
  const allow = cfg.blastRadius.allow;
  const ok = allow.some((a) => (a.namespace === '*' || a.namespace === target.namespace) && (!a.selector || a.selector === target.labelSelector));
  if (ok) return null;
  const listed = allow.map((a) => (a.selector ? `${a.namespace}/${a.selector}` : a.namespace)).join(', ') || 'nothing';
  return `blast radius: target ${target.namespace}/${target.labelSelector} is not in blastRadius.allow of ${cfg.file ?? 'the default config'} (allowed: ${listed})`;
}
