// Lint: typescript-eslint's recommended rules everywhere, plus the determinism rules of docs/style.md on
// orchestrations, which are replayed and so must never touch I/O, clocks, randomness or timers.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const nodeBuiltins = ['fs', 'fs/promises', 'http', 'https', 'net', 'dns', 'child_process', 'os', 'crypto',
  'timers', 'timers/promises', 'worker_threads', 'cluster', 'stream', 'zlib', 'path', 'url', 'util', 'process'];

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', 'test/fixtures/**', '.azurite/**', '.local/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.js', '**/*.mjs', '**/*.cjs'],
    languageOptions: { globals: { require: 'readonly', module: 'writable', process: 'readonly', console: 'readonly', __dirname: 'readonly' } },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      // SDKs are required lazily, inside the function that first needs them, to keep cold start small.
      '@typescript-eslint/no-require-imports': 'off',
      '@typescript-eslint/no-this-alias': ['error', { allowedNames: ['registry'] }],
      'no-restricted-syntax': ['error', { selector: 'ExportDefaultDeclaration', message: 'No default exports (docs/style.md).' },
        { selector: 'TSModuleDeclaration[kind="namespace"]', message: 'No namespaces (docs/style.md).' }],
    },
  },
  {
    // Every Durable client the app uses encodes the IDs it puts into management URLs.
    files: ['src/**/*.ts', 'functions/**/*.ts'],
    ignores: ['src/azure/durableClient.ts', 'src/local/**'],
    rules: {
      'no-restricted-properties': ['error', { property: 'getClient', message: 'Use durableClientFor (src/azure/durableClient.ts): the library puts instance IDs into URLs unencoded.' }],
    },
  },
  {
    files: ['src/orchestrations/**/*.ts'],
    rules: {
      // Type-only imports are erased at compile time, so sharing a type with an adapter is fine.
      '@typescript-eslint/no-restricted-imports': ['error', {
        paths: nodeBuiltins.flatMap((name) => [name, `node:${name}`]).map((name) => ({ name, message: 'Orchestrations are replayed: do I/O in an activity.', allowTypeImports: true })),
        patterns: [
          { group: ['@azure/*', '!@azure/functions'], message: 'SDK clients belong in activities (src/activities, src/azure).', allowTypeImports: true },
          { group: ['**/azure/**', '**/activities/*Activities', '**/config/runtimeConfig'], message: 'Orchestrations call activities, not adapters.', allowTypeImports: true },
        ],
      }],
      'no-restricted-globals': ['error',
        { name: 'setTimeout', message: 'Use context.df.createTimer.' },
        { name: 'setInterval', message: 'Use context.df.createTimer.' },
        { name: 'setImmediate', message: 'Orchestrations must not schedule work themselves.' },
        { name: 'fetch', message: 'Do I/O in an activity.' },
        { name: 'process', message: 'Read settings in an activity or before starting the orchestration.' },
      ],
      'no-restricted-properties': ['error',
        { object: 'Date', property: 'now', message: 'Use context.df.currentUtcDateTime.' },
        { object: 'Math', property: 'random', message: 'Randomness breaks replay.' },
        { object: 'crypto', property: 'randomUUID', message: 'Use context.df.newGuid.' },
      ],
      'no-restricted-syntax': ['error',
        { selector: 'NewExpression[callee.name="Date"][arguments.length=0]', message: 'new Date() reads the clock: use context.df.currentUtcDateTime.' },
        { selector: 'ExportDefaultDeclaration', message: 'No default exports (docs/style.md).' },
      ],
    },
  },
  {
    // Tool entry points whose loaders require a default export.
    files: ['eslint.config.mjs', 'test/support/globalSetup.ts', 'test/support/globalTeardown.ts'],
    rules: { 'no-restricted-syntax': 'off' },
  },
);
