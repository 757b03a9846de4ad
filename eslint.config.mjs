// Lint: typescript-eslint's recommended rules everywhere, the layering of src/ (each folder imports only
// the layers below it), and the determinism rules of docs/style.md on orchestrations, which are replayed
// and so must never touch I/O, clocks, randomness or timers.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const nodeBuiltins = ['fs', 'fs/promises', 'http', 'https', 'net', 'dns', 'child_process', 'os', 'crypto',
  'timers', 'timers/promises', 'worker_threads', 'cluster', 'stream', 'zlib', 'path', 'url', 'util', 'process'];
const nodeIo = ['fs', 'fs/promises', 'http', 'https', 'net', 'dns', 'child_process', 'worker_threads', 'cluster', 'timers', 'timers/promises'];

// The layers of src/, lowest first (docs/architecture.md, "Layers"). `imports`: the folders a layer's
// files may import; `types`: folders it may import types from (erased at compile time); a
// `folder/module` entry opens one module of a folder that is otherwise closed. Everything else in src/
// is refused, and so are functions/, src/local/ and the packages (@batchpilot/*: development tools, not
// deployed) from every layer.
const LAYERS = {
  domain: { imports: [], pure: true, says: 'pure shared conventions: it imports no other part of the app' },
  config: { imports: ['domain'], says: 'settings and the routes file: it imports only src/domain' },
  model: { imports: ['domain'], types: ['config'], pure: true, says: 'the pure model rules: src/domain, and types from src/config' },
  azure: { imports: ['domain', 'config', 'model'], says: 'adapters: src/domain, src/config, src/model' },
  validation: { imports: ['domain', 'config', 'model', 'azure'], says: 'output checks: src/domain, src/config, src/model, src/azure' },
  activities: { imports: ['domain', 'config', 'model', 'azure', 'validation'], says: 'the I/O steps: src/domain, src/config, src/model, src/azure, src/validation (never orchestrations, intake or the operator API)' },
  orchestrations: {
    imports: ['domain', 'model', 'activities/contracts', 'config/routeDefaults'],
    types: ['config', 'azure', 'validation', 'activities'],
    says: 'control flow: activities/contracts, src/domain, src/model and config/routeDefaults; types from the rest. Orchestrations call activities, not adapters',
  },
  events: { imports: ['domain', 'config', 'model', 'azure', 'orchestrations'], says: 'intake: src/domain, src/config, src/model, src/azure and the orchestrations it starts' },
  operator: { imports: ['domain', 'config', 'model', 'azure', 'validation', 'activities/contracts', 'orchestrations', 'events'], says: 'the operator API: everything below it except activity implementations' },
};
const FOLDERS_WITH_INDEX = ['validation'];
// The local tooling's workspace packages (packages/): development dependencies of the app, never deployed.
const TOOL_PACKAGES = ['@batchpilot/*'];
// What a package may not import: anything of the app (its layers, functions/, src/local/), by any path.
const APP_PATHS = [...['domain', 'config', 'model', 'azure', 'validation', 'activities', 'orchestrations', 'events', 'operator', 'local'].map((f) => `**/src/${f}/**`), '**/functions/**', 'batchpilot', 'batchpilot/*'];
const APP_FOLDERS = ['domain', 'config', 'model', 'azure', 'validation', 'activities', 'orchestrations', 'events', 'operator'];

const NO_DEFAULT_EXPORT = { selector: 'ExportDefaultDeclaration', message: 'No default exports (docs/style.md).' };
const NO_NAMESPACE = { selector: 'TSModuleDeclaration[kind="namespace"]', message: 'No namespaces (docs/style.md).' };
// no-restricted-imports cannot see require(). Entry files (functions/) require layers lazily to keep
// cold start small; inside src/ a module may lazily require only modules of its own folder.
const NO_PARENT_REQUIRE = { selector: 'CallExpression[callee.name="require"][arguments.0.value=/^\\.\\./]', message: 'Inside src/, only a module of the same folder may be required lazily; import other layers with an import statement, so lint can check the layering.' };

// Imports that cross the layers, kept on purpose until the run index's shared pieces move down (the
// operator API's run types and run summaries to a pure module): the index stores the operator API's
// run summaries, and every starter writes to it. Each opens only the modules named; nothing else does.
const LAYER_EXCEPTIONS = [
  { files: ['src/azure/runIndex.ts', 'src/azure/runIndexKeys.ts'], layer: 'azure', opens: ['operator/operatorApiTypes'] },
  { files: ['src/azure/runStarter.ts'], layer: 'azure', opens: ['activities/runIndexActivities'] },
  { files: ['src/activities/runIndexActivities.ts'], layer: 'activities', opens: ['operator/runInstances', 'operator/runSummaries'] },
  { files: ['src/operator/runActions.ts', 'src/operator/runIndexBackfill.ts'], layer: 'operator', opens: ['activities/runIndexActivities'] },
];

/** no-restricted-imports patterns that keep `layer` to what LAYERS allows it (and `opens`, for LAYER_EXCEPTIONS). */
function layerPatterns(layer, opens = []) {
  const { types = [], says } = LAYERS[layer];
  const imports = [...LAYERS[layer].imports, ...opens];
  const message = `Layering: src/${layer} is ${says} (docs/architecture.md).`;
  const patterns = [];
  for (const folder of APP_FOLDERS.filter((f) => f !== layer && !imports.includes(f))) {
    const opened = imports.filter((i) => i.startsWith(`${folder}/`)).map((i) => `!**/${i}`);
    // A bare `**/folder` would also refuse packages of that name (node's `events`): only folders with an index get it.
    const group = [`**/${folder}/**`, ...(FOLDERS_WITH_INDEX.includes(folder) ? [`**/${folder}`] : []), ...opened];
    patterns.push({ group, message, allowTypeImports: types.includes(folder) });
  }
  patterns.push({ group: ['**/functions/**', '**/local/**', '**/test/**', ...TOOL_PACKAGES], message: `${message} functions/ registers the app, src/local/ is not deployed, nor are the packages (${TOOL_PACKAGES[0]}), test/ is not shipped.` });
  return patterns;
}

/** The restricted-import rule for one layer: its layering, and for pure layers no SDKs or Node I/O. */
function layerRule(layer, extra = { paths: [], patterns: [] }, opens = []) {
  const pure = LAYERS[layer].pure;
  const pureMessage = `src/${layer} is pure: no I/O, no SDK clients.`;
  return ['error', {
    paths: [...extra.paths, ...(pure ? nodeIo.flatMap((name) => [name, `node:${name}`]).map((name) => ({ name, message: pureMessage })) : [])],
    patterns: [...extra.patterns, ...(pure ? [{ group: ['@azure/*', 'durable-functions', 'durable-functions/*'], message: pureMessage }] : []), ...layerPatterns(layer, opens)],
  }];
}

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', 'test/fixtures/**', '.azurite/**', '.local/**', 'packages/*/dist/**', 'packages/*/test/fixtures/**', 'packages/*/test/artifacts/**'] },
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
      'no-restricted-syntax': ['error', NO_DEFAULT_EXPORT, NO_NAMESPACE],
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
    // Registrations may use (and lazily require) any layer, but never import what is not deployed.
    files: ['functions/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': ['error', { patterns: [{ group: ['**/local/**', '**/test/**', ...TOOL_PACKAGES], message: 'Layering: functions/ registers the app; src/local/ is not deployed, nor are the packages (@batchpilot/*); test/ is not shipped.' }] }],
      'no-restricted-syntax': ['error', NO_DEFAULT_EXPORT, NO_NAMESPACE],
    },
  },
  ...APP_FOLDERS.filter((layer) => layer !== 'orchestrations').map((layer) => ({
    files: [`src/${layer}/**/*.ts`],
    rules: { '@typescript-eslint/no-restricted-imports': layerRule(layer), 'no-restricted-syntax': ['error', NO_DEFAULT_EXPORT, NO_NAMESPACE, NO_PARENT_REQUIRE] },
  })),
  ...LAYER_EXCEPTIONS.map(({ files, layer, opens }) => ({ files, rules: { '@typescript-eslint/no-restricted-imports': layerRule(layer, undefined, opens) } })),
  {
    files: ['src/orchestrations/**/*.ts'],
    rules: {
      // Type-only imports are erased at compile time, so sharing a type with an adapter is fine.
      '@typescript-eslint/no-restricted-imports': layerRule('orchestrations', {
        paths: nodeBuiltins.flatMap((name) => [name, `node:${name}`]).map((name) => ({ name, message: 'Orchestrations are replayed: do I/O in an activity.', allowTypeImports: true })),
        patterns: [{ group: ['@azure/*', '!@azure/functions'], message: 'SDK clients belong in activities (src/activities, src/azure).', allowTypeImports: true }],
      }),
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
        NO_DEFAULT_EXPORT, NO_NAMESPACE, NO_PARENT_REQUIRE,
      ],
    },
  },
  {
    // The packages stand alone: nothing in them imports the app (README.md, "Layout").
    files: ['packages/**/*.ts', 'packages/**/*.js'],
    rules: { '@typescript-eslint/no-restricted-imports': ['error', { patterns: [{ group: APP_PATHS, message: 'Packages stand alone: a package never imports the app (src/, functions/); the app depends on the packages, not the other way round.' }] }] },
  },
  {
    // Tool entry points whose loaders require a default export.
    files: ['eslint.config.mjs', 'test/support/globalSetup.ts', 'test/support/globalTeardown.ts'],
    rules: { 'no-restricted-syntax': 'off' },
  },
);
