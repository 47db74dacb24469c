/**
 * Secrets by reference: an environment variable of the process that needs it, or a file (a mounted Kubernetes
 * Secret, a Vault agent file). Resolved at the moment of use, by the activity (or the connecting process) that
 * needs it; the value is never returned to a workflow, never logged, never put in an error message.
 */
import { readFileSync } from 'node:fs';
import type { SecretRef } from '../config/spec.js';

/** The secret's value, trimmed; throws an Error that names the reference, never the value. */
export function readSecret(ref: SecretRef): string {
  if ('env' in ref) {
    const v = process.env[ref.env];
    if (v === undefined || v.trim() === '') throw new Error(`secret reference env ${ref.env} is not set in the worker's environment`);
    return v.trim();
  }
  let v: string;
  try {
    v = readFileSync(ref.file, 'utf8');
  } catch (e) {
    // eslint-disable-next-line preserve-caught-error -- only the error code is kept: nothing read from the file may travel on
    throw new Error(`secret reference file ${ref.file} cannot be read (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  if (!v.trim()) throw new Error(`secret reference file ${ref.file} is empty`);
  return v.trim();
}

/** Where a reference points, for messages (never the value). */
export function describeRef(ref: SecretRef | undefined): string {
  if (!ref) return 'none';
  return 'env' in ref ? `env ${ref.env}` : `file ${ref.file}`;
}
