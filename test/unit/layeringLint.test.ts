// The layering of src/ is part of the design (docs/architecture.md, "Layers"): each folder imports only
// the layers below it, and lint refuses the rest; the packages under packages/ never import the app,
// and the app's deployed layers never import the packages. These probes check that the rules bite where a
// back-edge would appear, let through what a layer may use, and that today's src/ passes.
import { described, lint, LintMessage } from '../support/eslintRun';

const use = (from: string, name: string): string => `import { ${name} } from '${from}';\nexport const ${name}Probe = ${name};\n`;

/** [folder, what it imports, the code, what lint must say] */
const REFUSED: Array<[string, string, string, RegExp]> = [
  ['src/domain', 'config', use('../config/routes', 'loadRoutes'), /src\/domain is pure shared conventions/],
  ['src/domain', 'an SDK', use('@azure/storage-blob', 'BlobServiceClient'), /src\/domain is pure: no I\/O/],
  ['src/config', 'validation', use('../validation', 'validateJobOutputs'), /src\/config is settings and the routes file/],
  ['src/config', 'the model rules', use('../model/candidateNaming', 'toDeploymentName'), /src\/config is settings and the routes file/],
  ['src/model', 'an adapter', use('../azure/promotionLedger', 'readLedger'), /src\/model is the pure model rules/],
  ['src/model', 'Node I/O', use('node:fs', 'readFileSync'), /src\/model is pure: no I\/O/],
  ['src/model', 'runtime config', use('../config/runtimeConfig', 'appSettings'), /src\/model is the pure model rules/],
  ['src/azure', 'an activity', use('../activities/mlJobActivities', 'adoptOrSubmitJob'), /src\/azure is adapters/],
  ['src/azure', 'intake', use('../events/storageIntake', 'intakeStorageEvent'), /src\/azure is adapters/],
  ['src/validation', 'an activity', use('../activities/validationActivities', 'validateRunOutputs'), /src\/validation is output checks/],
  ['src/activities', 'an orchestration', use('../orchestrations/scoreBlobRun', 'SCORE_BLOB_RUN'), /src\/activities is the I\/O steps/],
  ['src/activities', 'intake', use('../events/routeMatching', 'matchRoute'), /src\/activities is the I\/O steps/],
  ['src/activities', 'the operator API', use('../operator/runQueries', 'listRuns'), /src\/activities is the I\/O steps/],
  ['src/orchestrations', 'an activity implementation', use('../activities/mlJobActivities', 'adoptOrSubmitJob'), /Orchestrations call activities, not adapters/],
  ['src/orchestrations', 'runtime config', use('../config/runtimeConfig', 'appRoutes'), /src\/orchestrations is control flow/],
  ['src/orchestrations', 'intake', use('../events/instanceIds', 'blobRunId'), /src\/orchestrations is control flow/],
  ['src/events', 'the operator API', use('../operator/runStarts', 'startRunForBlob'), /src\/events is intake/],
  ['src/events', 'an activity', use('../activities/partitionActivities', 'peekPartition'), /src\/events is intake/],
  ['src/operator', 'an activity implementation', use('../activities/runRecordActivities', 'writeRunRecord'), /src\/operator is the operator API/],
  ['src/azure', 'the local stack', use('../local/stack/localStack', 'startLocalStack'), /src\/local\/ is not deployed/],
  ['src/activities', 'an app module through require()', "export const m = require('../events/routeMatching');\n", /import statement/],
  ['functions', 'the local stack', use('../src/local/stack/localStack', 'startLocalStack'), /src\/local\/ is not deployed/],
  ['src/azure', 'a local tooling package', use('@batchpilot/azureml-emulator', 'startAzureMlEmulator'), /nor are the packages/],
  ['functions', 'a local tooling package', use('@batchpilot/local-host', 'startLocalHost'), /nor are the packages/],
  ['packages/local-host/src/host', 'the app', use('../../../../src/config/projectRoot', 'findProjectRoot'), /a package never imports the app/],
  ['packages/eventgrid-emulator/test/e2e', 'the local stack', use('../../../../src/local/stack/localStack', 'startLocalStack'), /a package never imports the app/],
  ['packages/azureml-emulator/src', 'app registrations', use('../../../functions/appStartup', 'appStartup'), /a package never imports the app/],
];

/** [folder, the code]: imports the layer may make. */
const ALLOWED: Array<[string, string]> = [
  ['src/activities', use('../azure/workspaceClient', 'workspaceClient') + use('../model/candidateNaming', 'toDeploymentName')],
  ['src/events', use('../orchestrations/scoreBlobRun', 'SCORE_BLOB_RUN') + use('../azure/runStarter', 'startRunOnce')],
  ['src/orchestrations', use('../activities/contracts', 'callActivity') + use('../config/routeDefaults', 'DEFAULT_EVENTS_RETRY')],
  ['src/orchestrations', "import type { BlobRoute } from '../config/routes';\nimport type { JobSummary } from '../azure/mlWorkspace';\nexport type Probe = [BlobRoute, JobSummary];\n"],
  ['src/model', "import type { ModelRoute } from '../config/routes';\nimport { RUN_ID_PREFIX } from '../domain/runIds';\nexport const p = (r: ModelRoute) => `${RUN_ID_PREFIX.model}${r.name}`;\n"],
  ['src/azure', "import { EventEmitter } from 'events';\nexport const e = new EventEmitter();\n"],
  ['src/config', "export const lazy = (): unknown => require('./routes');\n"],
  ['src/local/stack', use('@batchpilot/local-host', 'spawnLocalHost')],
  ['packages/eventgrid-emulator/src', use('@batchpilot/local-platform', 'seededRandom') + use('../host/localHost', 'startLocalHost')],
];

let refused: LintMessage[][];
let allowed: LintMessage[][];
let tree: LintMessage[];
beforeAll(() => {
  const probes = [...REFUSED.map(([folder, , code]) => ({ folder, code })), ...ALLOWED.map(([folder, code]) => ({ folder, code }))];
  const result = lint(probes.map((p, i) => ({ filePath: `${p.folder}/__layeringProbe${i}.ts`, code: p.code })), ['src', 'functions', 'packages']);
  refused = result.probes.slice(0, REFUSED.length);
  allowed = result.probes.slice(REFUSED.length);
  tree = result.paths;
}, 120_000);

describe('layering lint on src/', () => {
  it.each(REFUSED.map(([folder, what, , expected], i) => [folder, what, expected, i] as const))('refuses %s importing %s', (_folder, _what, expected, i) => {
    expect(described(refused[i]).join('\n')).toMatch(expected);
  });

  it.each(ALLOWED.map(([folder], i) => [folder, i] as const))('lets %s import what its layer allows (probe %#)', (_folder, i) => {
    expect(described(allowed[i])).toEqual([]);
  });

  it('passes on src/, functions/ and packages/ as they are', () => {
    expect(tree.map((m) => `${m.file}:${m.line} ${m.ruleId} ${m.message}`)).toEqual([]);
  });
});
