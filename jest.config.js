// Jest runs our TypeScript as native ESM. ts-jest transpiles only (tsconfig's isolatedModules);
// type checking is `npm run typecheck`, which a test also runs.
// Long soak/simulation suites read SHARDORM_LONG (set by `npm run test:long`) to run more seeds.
export default {
  testEnvironment: 'node',
  roots: ['<rootDir>/__tests__'],
  testMatch: ['**/*.test.ts'],
  extensionsToTreatAsEsm: ['.ts'],
  setupFiles: ['<rootDir>/lib/model/symbol-metadata.ts'],
  moduleNameMapper: {
    '^shardorm$': '<rootDir>/lib/index.ts',
    '^shardorm/(canister|client|replica)$': '<rootDir>/lib/$1/index.ts',
    '^shardorm/testing$': '<rootDir>/lib/testing/index.ts',
    '^(\\.{1,2}/.*)\\.js$': '$1'
  },
  transform: {
    '^.+\\.ts$': ['ts-jest', { useESM: true, tsconfig: 'tsconfig.json' }]
  },
  testTimeout: 120_000,
  maxWorkers: process.env.CI ? 2 : '50%'
};
