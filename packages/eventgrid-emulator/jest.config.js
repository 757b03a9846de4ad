// The tests of @batchpilot/eventgrid-emulator. Run alone with `npm test -w packages/eventgrid-emulator` (which builds first); the
// root's jest.config.js runs them as the project 'eventgrid-emulator' of the whole run, where options that are
// run-wide (testTimeout, maxWorkers) come from the root.
/** @type {import('jest').Config} */
module.exports = {
  displayName: 'eventgrid-emulator',
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.test.json' }] },
  globalSetup: '<rootDir>/test/globalSetup.js',
  globalTeardown: '<rootDir>/test/globalTeardown.js',
  testTimeout: 120000,
};
