/**
 * A reference from one document to another (a hypothesis', a progressive set's, a game-day catalog entry's
 * `engine`): a relative path to a .yaml/.yml file, resolved against the referring file's folder.
 *
 * Why so strict: a referenced file is read, and what it holds can end up in an error message. In CI, a pull
 * request's YAML is loaded by a pipeline whose logs the PR's author reads; `engine: /proc/self/environ` or a
 * symlink `engine.yaml -> /run/secrets/token` must not put the pipeline's environment or secrets in that log.
 * So: no absolute path, a .yaml/.yml name (on the reference AND on the file it really is, after symlinks),
 * nothing under /proc, /sys or /dev, and a referenced file that is not a ChaosEngine or ChaosHypothesis
 * document is refused without echoing what it holds (load.ts).
 */
import { realpathSync } from 'node:fs';
import { isAbsolute } from 'node:path';
import { z } from 'zod';

const YAML_NAME = /\.ya?ml$/i;
const SPECIAL_ROOTS = ['/proc/', '/sys/', '/dev/'];

/** The shape of an `engine:` reference in YAML. */
export const engineRefSchema = z
  .string()
  .min(1)
  .max(1024)
  .refine((s) => !s.includes('\0'), 'contains a NUL character')
  .refine((s) => !isAbsolute(s), 'must be a path relative to this file (an absolute path is refused)')
  .refine((s) => YAML_NAME.test(s), 'must name a .yaml or .yml file');

/** Why the resolved reference may not be read, or undefined. Follows symlinks (the file it really is). */
export function referencedFileRefusal(abs: string): string | undefined {
  let real: string;
  try {
    real = realpathSync(abs);
  } catch {
    return undefined; // missing: the read says so
  }
  if (SPECIAL_ROOTS.some((r) => real.startsWith(r))) return `resolves to ${real}, under ${SPECIAL_ROOTS.map((r) => r.slice(0, -1)).join(', ')}: not a document`;
  if (!YAML_NAME.test(real)) return `resolves (through a symlink) to ${real}, which is not a .yaml or .yml file`;
  return undefined;
}
