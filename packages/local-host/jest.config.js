// The tests of @batchpilot/local-host. Run alone with `npm test -w packages/local-host` (which builds first); the
// root's jest.config.js runs them as the project 'local-host' of the whole run, where options that are
// run-wide (testTimeout, maxWorkers) come from the root.
/** @type {import('jest').Config} */
module.exports = {
  displayName: 'local-host',
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.test.json' }] },
  globalSetup: '<rootDir>/test/globalSetup.js',
  globalTeardown: '<rootDir>/test/globalTeardown.js',
  testTimeout: 120000,
};
