// The app's three Jest projects and one per package, run together by `npm test` (which builds first) or
// one at a time with `--selectProjects`: unit (pure logic and lint rules, no services: seconds),
// contract (the emulators, Azurite and the infra held against published contracts), e2e (the compiled
// app, dist/, on the local stack), and local-platform, local-host, azureml-emulator, eventgrid-emulator
// (each package's own tests, from its jest.config.js). Every project but unit and local-platform names a
// setup that starts the run's one Azurite (startRunAzurite of @batchpilot/local-platform).
const common = {
  testEnvironment: 'node',
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.test.json' }] },
};
const withAzurite = {
  globalSetup: '<rootDir>/test/support/globalSetup.ts',
  globalTeardown: '<rootDir>/test/support/globalTeardown.ts',
};

/** @type {import('jest').Config} */
module.exports = {
  // A run-wide option: Jest ignores it inside a project.
  testTimeout: 120000,
  maxWorkers: 2,
  projects: [
    { ...common, displayName: 'unit', roots: ['<rootDir>/test/unit'] },
    { ...common, ...withAzurite, displayName: 'contract', roots: ['<rootDir>/test/contract'] },
    { ...common, ...withAzurite, displayName: 'e2e', roots: ['<rootDir>/test/e2e'] },
    ...['local-platform', 'local-host', 'azureml-emulator', 'eventgrid-emulator'].map((p) => `<rootDir>/packages/${p}`),
  ],
};
