/**
 * The workflow rules of eslint.config.mjs really fire: a workflow file that imports a Node built-in, an I/O
 * library or an activity value, or leaves a promise floating, fails the lint; one that imports activity types
 * and the listed PURE modules passes. (ESLint as a child process over stdin, named as a file in workflows/.)
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { ROOT } from '../helpers/temporal.js';

function lint(code: string, as = 'workflows/text.ts'): { code: number | null; out: string } {
  const r = spawnSync(join(ROOT, 'node_modules/.bin/eslint'), ['--stdin', '--stdin-filename', as, '--format', 'json'], {
    cwd: ROOT,
    input: code,
    encoding: 'utf8',
    timeout: 90_000,
  });
  const messages = r.stdout ? (JSON.parse(r.stdout) as Array<{ messages: Array<{ ruleId: string; message: string }> }>)[0].messages : [];
  return { code: r.status, out: messages.map((m) => `${m.ruleId}: ${m.message}`).join('\n') || r.stderr };
}

describe('lint rules for workflow code', () => {
  test('a Node built-in, an I/O library, an activity value and a floating promise are each refused', () => {
    const r = lint(
      [
        "import { readFileSync } from 'node:fs';",
        "import axios from 'axios';",
        "import { createActivities } from '../activities/index.js';",
        'export const used = [readFileSync, axios, createActivities];',
        'async function later(): Promise<void> {}',
        'export function start(): void {',
        '  later();',
        '}',
        '',
      ].join('\n'),
    );
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/no-restricted-imports: 'node:fs' import is restricted.*no Node built-ins/);
    expect(r.out).toMatch(/no-restricted-imports: 'axios' import is restricted.*no I\/O/);
    expect(r.out).toMatch(/no-restricted-imports: '\.\.\/activities\/index\.js' import is restricted from being used by a pattern.*activity \*types\* only/);
    expect(r.out).toMatch(/no-floating-promises/);
  }, 120_000);

  test('activity types, the PURE modules and @temporalio/workflow are allowed', () => {
    const r = lint(
      [
        "import { proxyActivities } from '@temporalio/workflow';",
        "import type { TempestActivities } from '../activities/index.js';",
        "import { faultDescriptor } from '../activities/faults/registry.js';",
        "import { isDnsLabel } from '../config/selector.js';",
        "export const acts = proxyActivities<TempestActivities>({ startToCloseTimeout: '1 minute' });",
        'export const pure = [faultDescriptor, isDnsLabel];',
        '',
      ].join('\n'),
    );
    expect(r).toEqual({ code: 0, out: '' });
  }, 120_000);

  test('outside workflows/ the same imports are fine (activities do I/O)', () => {
    const r = lint(["import { readFileSync } from 'node:fs';", 'export const read = readFileSync;', ''].join('\n'), 'activities/secrets.ts');
    expect(r).toEqual({ code: 0, out: '' });
  }, 120_000);
});
