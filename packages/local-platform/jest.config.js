// The tests of @batchpilot/local-platform. Run alone with `npm test -w packages/local-platform` (which builds first); the
// root's jest.config.js runs them as the project 'local-platform' of the whole run, where options that are
// run-wide (testTimeout, maxWorkers) come from the root.
/** @type {import('jest').Config} */
module.exports = {
  displayName: 'local-platform',
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.test.json' }] },
  testTimeout: 120000,
};
