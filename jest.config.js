/** Jest in native ESM mode (NODE_OPTIONS=--experimental-vm-modules, set by scripts/test).
 * ts-jest only transpiles (isolatedModules); `npm run typecheck` does the type checking once. */
export default {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  transform: {
    '^.+\\.ts$': ['ts-jest', { useESM: true, isolatedModules: true, diagnostics: false }],
  },
  testMatch: ['<rootDir>/test/**/*.test.ts'],
  setupFiles: ['<rootDir>/test/setup.ts'],
  // .tempest/ holds etcd data, fleet state and reports: nothing for Jest's file map.
  modulePathIgnorePatterns: ['<rootDir>/.tempest/', '<rootDir>/bench/.venv-ctk/', '<rootDir>/.venv/'],
  testTimeout: 120000,
  maxWorkers: 1,
  verbose: true,
};
