/** The result record of every run: JSON (machine-readable) and Markdown (the printed report), in the reports dir. */
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve, sep } from 'node:path';
import type { ExperimentResult } from '../types.js';
import { formatReport, printable } from './format.js';

/**
 * The report's file name: the workflow id when it is a plain name, else a hash of it — never a path — plus the
 * start of the Temporal run id, so a workflow id used again (Temporal allows it once a run closed) never
 * overwrites an earlier run's report.
 */
export function reportName(workflowId: string, runId = ''): string {
  const id =
    /^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/.test(workflowId) && !workflowId.includes('..')
      ? workflowId
      : `run-${createHash('sha256').update(String(workflowId)).digest('hex').slice(0, 16)}`;
  const run = String(runId)
    .replace(/[^A-Za-z0-9]/g, '')
    .slice(0, 8);
  return run ? `${id}.${run}` : id;
}

export function writeReport(dir: string, r: ExperimentResult, opts: { uiUrl?: string; namespace?: string } = {}): string {
  mkdirSync(dir, { recursive: true });
  const base = join(dir, reportName(r.workflowId, r.runId));
  if (!resolve(base).startsWith(resolve(dir) + sep)) throw new Error(`report path ${base} is outside ${dir}`);
  // JSON escapes C0 controls itself; DEL and C1 (\u009b: a CSI on some terminals) it writes raw.
  writeFileSync(`${base}.json`, printable(JSON.stringify(r, null, 2)) + '\n');
  writeFileSync(`${base}.md`, formatReport(r, opts));
  return `${base}.md`;
}
