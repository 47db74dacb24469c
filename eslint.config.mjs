// ESLint (flat config). Run by the one test command (scripts/test): `npx eslint .`
//
// workflows/ is Temporal workflow code: deterministic, bundled into an isolate. It may import
// @temporalio/workflow, its own modules and the few PURE modules listed below; activities only as types
// (proxyActivities<typeof ...>), never a Node built-in or an I/O library (as samples-typescript's
// eslint rules for workflow files do).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import { builtinModules } from 'node:module';

/** Value imports workflow code may make outside workflows/: each file is PURE (no I/O, no Node built-ins). */
const PURE_FOR_WORKFLOWS = ['../activities/faults/registry.js', '../config/selector.js'];

const nodeBuiltins = [...builtinModules, ...builtinModules.map((m) => `node:${m}`)];

export default tseslint.config(
  // .gitignore's entries too (ESLint does not read it), so a second run in a used checkout lints the same files.
  { ignores: ['node_modules/', '.venv/', '.tempest/', 'dist/', 'coverage/', 'bench/.venv-ctk/', 'bench/results/', 'deploy/helm/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: false }],
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'separate-type-imports', disallowTypeAnnotations: false }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      // Tempest matches control characters on purpose: every sanitiser of text from a target or a YAML file does.
      'no-control-regex': 'off',
      // An initial value that a loop always overwrites is documentation here, not a bug.
      'no-useless-assignment': 'off',
    },
  },
  {
    files: ['test/**/*.ts'],
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      // withRevert-style helpers rethrow from finally on purpose: a revert failure fails a test whose body passed.
      'no-unsafe-finally': 'off',
      'no-regex-spaces': 'off',
    },
  },
  {
    files: ['workflows/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: [
            ...nodeBuiltins.map((name) => ({ name, message: 'workflow code is deterministic: no Node built-ins (do it in an activity)' })),
            ...['axios', '@kubernetes/client-node', '@temporalio/client', '@temporalio/worker', '@temporalio/activity', 'yaml', 'prom-client'].map((name) => ({
              name,
              message: 'workflow code does no I/O: call an activity',
            })),
          ],
          patterns: [
            {
              // Any import from activities/ or config/ other than the PURE modules above (type imports are fine).
              regex: `^\\.\\./(?!(${PURE_FOR_WORKFLOWS.map((p) => p.slice(3).replaceAll('.', '\\.')).join('|')})$)(activities|config)/`,
              allowTypeImports: true,
              message:
                'workflows use activity *types* only (proxyActivities<typeof ...>); a value from activities/ or config/ must be a PURE module listed in eslint.config.mjs',
            },
            {
              group: ['../workers/**', '../client/**', '../scripts/**'],
              message: 'workflow code never imports the worker, the client or scripts',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['**/*.mjs', '**/*.js'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: { globals: { console: 'readonly', process: 'readonly' } },
  },
);
