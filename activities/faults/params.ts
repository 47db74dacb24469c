/**
 * The typed-parameter kit of the fault descriptors: one definition per Litmus env variable gives both
 *   parse  YAML text -> a value of a strict shape (decimal numbers only, bounds, enums, names, paths), and
 *   check  a normalized value (from a workflow input, so: anything) -> the same verdict,
 * so the YAML loader (config/litmus.ts) and the worker's re-check (config/validate-spec.ts) cannot disagree.
 * Bounds may come from the operator's limits (config/policy.ts).
 *
 * PURE: no I/O, no Node built-ins (descriptors are imported by config code and by workflow code).
 */
import type { FaultParams } from '../../config/spec.js';
import { cut, isImageRef, normalAbsolutePath, type ImageRole, type Limits } from '../../config/policy.js';
import { isDnsLabel } from '../../config/selector.js';

export type ParamKey = Exclude<keyof FaultParams, 'images'>;

export type ParseResult = { ok: true; value: unknown } | { ok: false; error: string };

export interface ParamDef {
  /** The Litmus env variable. */
  env: string;
  /** Where the value goes in FaultParams (`images` roles go to params.images[role]). */
  key: ParamKey | { image: ImageRole };
  /** What a good value looks like (messages, docs). */
  describe: string;
  parse(raw: string, limits: Limits): ParseResult;
  /** undefined when the normalized value is fine, else why not. */
  check(v: unknown, limits: Limits): string | undefined;
  /** Litmus default when the env is absent or empty. */
  default?: (limits: Limits) => unknown;
}

const ok = (value: unknown): ParseResult => ({ ok: true, value });
const bad = (error: string): ParseResult => ({ ok: false, error });
const fromCheck = (value: unknown, msg: string | undefined): ParseResult => (msg ? bad(msg) : ok(value));

type Bound = number | ((l: Limits) => number);
const bound = (b: Bound, l: Limits) => (typeof b === 'function' ? b(l) : b);

/** Whole decimal number (no sign, no exponent, no hex), inside [min, max]. */
export function intParam(env: string, key: ParamKey, o: { min: number; max: Bound; maxName?: string; dflt?: number; unit?: string }): ParamDef {
  const unit = o.unit ? ` ${o.unit}` : '';
  const check = (v: unknown, l: Limits) => {
    const max = bound(o.max, l);
    if (typeof v !== 'number' || !Number.isSafeInteger(v)) return `${env} must be a whole number${unit}`;
    if (v < o.min) return `${env} must be >= ${o.min}${unit}`;
    if (v > max) return `${env} must be <= ${max}${unit}${o.maxName ? ` (limits.${o.maxName})` : ''}`;
    return undefined;
  };
  return {
    env,
    key,
    describe: `a whole number${unit} from ${o.min}`,
    parse(raw, l) {
      if (!/^\d{1,15}$/.test(raw.trim())) return bad(`${env} must be a whole decimal number${unit}`);
      const n = Number(raw.trim());
      return fromCheck(n, check(n, l));
    },
    check,
    default: o.dflt === undefined ? undefined : () => o.dflt,
  };
}

/** Decimal number (digits, optional fraction; no exponent), inside [min, max]. */
export function decimalParam(env: string, key: ParamKey, o: { min: number; max: number; exclusiveMin?: boolean; dflt?: number }): ParamDef {
  const check = (v: unknown) => {
    if (typeof v !== 'number' || !Number.isFinite(v)) return `${env} must be a number`;
    if (o.exclusiveMin ? v <= o.min : v < o.min) return `${env} must be ${o.exclusiveMin ? '>' : '>='} ${o.min}`;
    if (v > o.max) return `${env} must be <= ${o.max}`;
    return undefined;
  };
  return {
    env,
    key,
    describe: `a decimal number in ${o.exclusiveMin ? '(' : '['}${o.min}, ${o.max}]`,
    parse(raw) {
      if (!/^\d{1,6}(\.\d{1,6})?$/.test(raw.trim())) return bad(`${env} must be a decimal number like 50 or 12.5`);
      const n = Number(raw.trim());
      return fromCheck(n, check(n));
    },
    check,
    default: o.dflt === undefined ? undefined : () => o.dflt,
  };
}

export function enumParam<T extends string>(
  env: string,
  key: ParamKey,
  values: readonly T[],
  o: { dflt?: T; normalize?: (s: string) => string } = {},
): ParamDef {
  const check = (v: unknown) => (typeof v === 'string' && (values as readonly string[]).includes(v) ? undefined : `${env} must be one of ${values.join(', ')}`);
  return {
    env,
    key,
    describe: `one of ${values.join(', ')}`,
    parse(raw) {
      const v = o.normalize ? o.normalize(raw.trim()) : raw.trim();
      return fromCheck(v, check(v));
    },
    check,
    default: o.dflt === undefined ? undefined : () => o.dflt,
  };
}

export function boolParam(env: string, key: ParamKey, dflt?: boolean): ParamDef {
  return {
    env,
    key,
    describe: 'true or false',
    parse(raw) {
      const v = raw.trim();
      if (v === 'true') return ok(true);
      if (v === 'false') return ok(false);
      return bad(`${env} must be true or false`);
    },
    check: (v) => (typeof v === 'boolean' ? undefined : `${env} must be true or false`),
    default: dflt === undefined ? undefined : () => dflt,
  };
}

/** A string of a strict shape (a regex or a predicate), at most `max` characters. */
export function shapedParam(
  env: string,
  key: ParamKey,
  o: { describe: string; test: (s: string) => boolean; max: number; dflt?: string; normalize?: (s: string) => string },
): ParamDef {
  const check = (v: unknown) => (typeof v === 'string' && v.length <= o.max && o.test(v) ? undefined : `${env} must be ${o.describe}`);
  return {
    env,
    key,
    describe: o.describe,
    parse(raw) {
      const v = o.normalize ? o.normalize(raw.trim()) : raw.trim();
      return fromCheck(v, check(v));
    },
    check,
    default: o.dflt === undefined ? undefined : () => o.dflt,
  };
}

/** An absolute, normal POSIX path (no `..`, `.`, `//`, control characters). Policy roots are checked elsewhere. */
export function absPathParam(env: string, key: ParamKey, o: { charset?: RegExp; describe?: string } = {}): ParamDef {
  const describe = o.describe ?? 'an absolute path without "..", "." or empty segments';
  return shapedParam(env, key, { describe, max: 4096, test: (s) => normalAbsolutePath(s) === s && (!o.charset || o.charset.test(s)) });
}

/** A helper image this fault runs; the worker accepts it only when the operator's image allowlist has it. */
export function imageParam(env: string, role: ImageRole): ParamDef {
  const check = (v: unknown) =>
    typeof v === 'string' && isImageRef(v) ? undefined : `${env} must be an image reference such as registry.example/stress-ng:0.17@sha256:…`;
  return {
    env,
    key: { image: role },
    describe: `an image reference (used only if the operator's images.allow lists it)`,
    parse: (raw) => fromCheck(raw.trim(), check(raw.trim())),
    check,
  };
}

export const dnsLabelParam = (env: string, key: ParamKey) =>
  shapedParam(env, key, { describe: 'a DNS-1123 label (lowercase letters, digits, "-", at most 63)', max: 63, test: isDnsLabel });

/** Signal names a fault may send; `KILL`, `sigterm` and `SIGTERM` all normalize to `SIGTERM`. */
export const SIGNALS = ['SIGKILL', 'SIGTERM', 'SIGINT', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2', 'SIGSTOP', 'SIGCONT'] as const;
export type SignalName = (typeof SIGNALS)[number];
export const normalizeSignal = (s: string) => {
  const u = s.toUpperCase();
  return /^[A-Z0-9]+$/.test(u) && !u.startsWith('SIG') ? `SIG${u}` : u;
};

/** Apply a parsed value to FaultParams. */
export function setParam(params: FaultParams, def: ParamDef, value: unknown): void {
  if (typeof def.key === 'object') (params.images ??= {})[def.key.image] = value as string;
  else (params as Record<string, unknown>)[def.key] = value;
}

export function getParam(params: FaultParams, def: ParamDef): unknown {
  return typeof def.key === 'object' ? params.images?.[def.key.image] : (params as Record<string, unknown>)[def.key];
}

export function paramName(def: ParamDef): string {
  return typeof def.key === 'object' ? `images.${def.key.image}` : def.key;
}

export { cut };

/** NETWORK_INTERFACE (Litmus), default eth0: an interface name, nothing else. */
export const NETWORK_INTERFACE = shapedParam('NETWORK_INTERFACE', 'networkInterface', {
  describe: 'a network interface name (letters, digits, "_", ".", "-"; at most 15)',
  max: 15,
  test: (s) => /^[A-Za-z0-9][A-Za-z0-9_.-]{0,14}$/.test(s),
  dflt: 'eth0',
});
