/** Human-readable report of an experiment result (printed by the CLI, written next to the JSON record). */
import type { ExperimentResult } from '../types.js';
import { printable } from '../../workflows/text.js';

const pad = (s: string, n: number) => (s.length >= n ? s : s + ' '.repeat(n - s.length));

/** Text for a terminal or a Markdown file (workflows/text.ts: the one definition, workflows use it too). */
export { printable };

export function formatReport(r: ExperimentResult, opts: { uiUrl?: string; namespace?: string } = {}): string {
  return printable(reportText(r, opts));
}

function reportText(r: ExperimentResult, opts: { uiUrl?: string; namespace?: string }): string {
  const lines: string[] = [];
  const dur = Math.round((Date.parse(r.endedAt) - Date.parse(r.startedAt)) / 1000);
  lines.push(`# Tempest experiment report: ${r.experiment}`);
  lines.push('');
  lines.push(`Verdict:   ${r.verdict}${r.dryRun ? ' (dry run)' : ''}`);
  lines.push(`Reason:    ${r.reason}`);
  lines.push(`Target:    ${r.target.namespace} / ${r.target.labelSelector} (${r.target.kind})`);
  lines.push(`Probe success: ${r.probeSuccessPercentage}%`);
  if (r.hypothesis) lines.push(`Hypothesis: ${r.hypothesis} -> ${r.hypothesisValidated ? 'VALIDATED' : 'REFUTED'}`);
  lines.push(`Run:       ${r.workflowId} (${r.startedAt} .. ${r.endedAt}, ${dur}s)`);
  if (r.recoveryMs !== undefined) lines.push(`Recovery:  every fault reverted and verified ${(r.recoveryMs / 1000).toFixed(1)}s after chaos ended`);
  if (r.breach) lines.push(`Breach:    rollback trigger ${r.breach.name}: ${r.breach.value} ${r.breach.criteria} ${r.breach.threshold} at ${r.breach.at}`);
  if (opts.uiUrl) {
    lines.push(
      `Temporal UI: ${opts.uiUrl.replace(/\/+$/, '')}/namespaces/${opts.namespace ?? 'default'}/workflows/${encodeURIComponent(r.workflowId)}/${r.runId}`,
    );
  }
  if (r.hypothesisPlan) {
    const hp = r.hypothesisPlan;
    const crit = (c: { description: string; probe?: string }) => {
      const p = c.probe ? r.probes.find((x) => x.name === c.probe) : undefined;
      return `- ${p ? pad(p.status, 7) : 'noted  '} ${c.description}${c.probe ? ` (probe ${c.probe})` : ' (not evaluated)'}`;
    };
    lines.push('', '## Hypothesis plan', 'Steady state:', ...hp.steadyState.map(crit));
    if (hp.experiment.length) lines.push('Experiment:', ...hp.experiment.map((e) => `- ${e}`));
    lines.push('Success criteria:', ...hp.successCriteria.map(crit));
    if (hp.rollbackPlan.length) lines.push('Rollback plan:', ...hp.rollbackPlan.map((e) => `- ${e}`));
  }
  if (r.guards.length) {
    lines.push('', '## Safety checks');
    for (const g of r.guards) lines.push(`- ${g.passed ? 'ok  ' : 'FAIL'} ${pad(g.name, 24)} ${g.reason}`);
  }
  lines.push('', '## Faults');
  for (const f of r.faults) {
    lines.push(
      `- ${pad(f.name, 20)} ${pad(f.state, 9)} rounds ${f.rounds}; hit ${f.affected.length ? f.affected.join(', ') : 'nothing'}${f.deadManAt ? `; dead-man ${f.deadManAt} (chaos end + ${Math.round((f.deadManMarginMs ?? 0) / 1000)}s)` : ''}`,
    );
    if (f.revert) lines.push(`    revert verified: ${f.revert.verification}${f.revert.undone.length ? ` (undid ${f.revert.undone.join(', ')})` : ''}`);
  }
  if (r.rollbackActions?.length) {
    lines.push('', '## Rollback actions');
    for (const a of r.rollbackActions) lines.push(`- ${pad(a.status, 7)} ${pad(a.name, 24)} ${a.detail}`);
  }
  if (r.probes.length) {
    lines.push('', '## Probes');
    for (const p of r.probes) {
      lines.push(
        `- ${pad(p.status, 7)} ${pad(p.name, 28)} ${pad(p.type, 9)} ${pad(p.mode, 10)} ${p.runs - p.failures}/${p.runs} runs passed${p.lastReason ? `; last: ${p.lastReason}` : ''}`,
      );
    }
  }
  lines.push('', '## Timeline');
  for (const e of r.timeline) lines.push(`- ${e.at.slice(11, 19)} ${e.message}`);
  return lines.join('\n') + '\n';
}
