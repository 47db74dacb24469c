/** The result record of every run: JSON (machine-readable) and Markdown (the printed report), in the reports dir. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ExperimentResult } from '../types.js';
import { formatReport } from './format.js';

export function writeReport(dir: string, r: ExperimentResult, opts: { uiUrl?: string; namespace?: string } = {}): string {
  mkdirSync(dir, { recursive: true });
  const base = join(dir, r.workflowId.replace(/[^\w.-]/g, '_'));
  writeFileSync(`${base}.json`, JSON.stringify(r, null, 2) + '\n');
  writeFileSync(`${base}.md`, formatReport(r, opts));
  return `${base}.md`;
}
