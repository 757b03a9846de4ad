// The routes file: defaults, placeholders, and errors that name the route and the field.
import { parseRoutes, RoutesFileError, routesJsonSchema } from '../../src/config/routes';

const WS = '/subscriptions/s/resourceGroups/r/providers/Microsoft.MachineLearningServices/workspaces/w';

function errorOf(text: string, file = 'routes.yaml', env: NodeJS.ProcessEnv = {}): string {
  try {
    parseRoutes(text, file, env);
  } catch (err) {
    expect(err).toBeInstanceOf(RoutesFileError);
    return (err as Error).message;
  }
  throw new Error('expected the routes file to be refused');
}

describe('routes file', () => {
  it('fills defaults and ${SETTING} placeholders', () => {
    const file = parseRoutes(
      `routes:\n  - name: daily\n    trigger: { storageAccounts: [acct], container: incoming }\n    target: { endpoint: churn, workspaceId: "\${WS}" }\n`,
      'r.yaml',
      { WS },
    );
    const r = file.routes[0];
    expect(r.target.workspaceId).toBe(WS);
    expect(r.batching).toEqual({ mode: 'perFile' });
    expect(r.trigger.apis).toEqual(['PutBlob', 'PutBlockList', 'CopyBlob', 'FlushWithClose']);
    expect(r.wait.pollMinIntervalInSeconds).toBe(15);
    expect(r.target.outputPath).toContain('{runId}');
  });

  it('accepts JSON as well as YAML', () => {
    const file = parseRoutes(JSON.stringify({ routes: [{ name: 'jsonroute', trigger: { storageAccounts: ['acct'], container: 'inbox' }, target: { endpoint: 'ep' }, batching: { mode: 'window', quietPeriodInSeconds: 5 } }] }), 'routes.json');
    expect(file.routes[0].batching).toMatchObject({ mode: 'window', quietPeriodInSeconds: 5, maxFiles: 1000 });
  });

  it('names the route and field of each problem', () => {
    const msg = errorOf(`routes:\n  - name: daily\n    trigger: { storageAccounts: [ACCT!], container: incoming, colour: blue }\n    target: { endpoint: churn, outputPath: out/x }\n`);
    expect(msg).toMatch(/route 'daily', field trigger\.storageAccounts\.0/);
    expect(msg).toMatch(/route 'daily', field trigger: Unrecognized key/i);
    expect(msg).toMatch(/route 'daily', field target\.outputPath: must contain \{runId\}/);
  });

  it('refuses duplicate route names, unknown placeholders, bad YAML and an unknown batching mode', () => {
    const one = `  - name: same\n    trigger: { storageAccounts: [acct], container: incoming }\n    target: { endpoint: churn }\n`;
    expect(errorOf(`routes:\n${one}${one}`)).toMatch(/route name 'same' is used twice/);
    expect(errorOf(`routes:\n  - name: x\${NOPE}`)).toMatch(/\$\{NOPE\} names a setting that is not defined/);
    expect(errorOf('routes: [ {')).toMatch(/not valid YAML/);
    expect(errorOf(`routes:\n  - name: daily\n    trigger: { storageAccounts: [acct], container: incoming }\n    batching: { mode: hourly }\n    target: { endpoint: churn }\n`)).toMatch(/field batching\.mode/);
  });

  it('publishes a JSON Schema for editors', () => {
    const schema = routesJsonSchema() as { type: string; properties: Record<string, unknown> };
    expect(schema.type).toBe('object');
    expect(Object.keys(schema.properties)).toContain('routes');
  });
});

describe('shipped routes files', () => {
  it('the example routes.yaml and the published JSON Schema agree with the app', () => {
    const fs = require('node:fs') as typeof import('node:fs');
    const path = require('node:path') as typeof import('node:path');
    const root = path.resolve(__dirname, '..', '..');
    const file = parseRoutes(fs.readFileSync(path.join(root, 'routes.yaml'), 'utf8'), 'routes.yaml', {});
    expect(file.routes.map((r) => r.name)).toEqual(['daily-scoring']);
    const published = JSON.parse(fs.readFileSync(path.join(root, 'schemas', 'routes.schema.json'), 'utf8')) as Record<string, unknown>;
    const { $id: _id, ...rest } = published;
    expect(rest).toEqual(JSON.parse(JSON.stringify(routesJsonSchema())));
  });
});

describe('globs and manifests are checked at load (issues 15.7, 15.9)', () => {
  const route = (trigger: string, batching = '') => `routes:\n  - name: daily\n    trigger: { storageAccounts: [acct], container: incoming, ${trigger} }\n${batching}    target: { endpoint: churn }\n`;

  it('refuses a glob that does not compile, naming the route, the field and the problem', () => {
    expect(errorOf(route('pathGlob: "**/*.{csv,tsv"'))).toMatch(/route 'daily', field trigger\.pathGlob: glob '\*\*\/\*\.\{csv,tsv' is invalid: '\{' at position 5 is never closed/);
    expect(errorOf(route('ignore: ["**/_tmp*", "*.csv}"]'))).toMatch(/route 'daily', field trigger\.ignore\.1: glob/);
    expect(errorOf(`modelRoutes:\n  - name: models\n    trigger: { modelName: "churn-{a,b" }\n    target: { endpoint: churn }\n    validationData: { type: data_asset, asset: "azureml:x:1" }\n`)).toMatch(/model route 'models', field trigger\.modelName: glob/);
  });

  it('gives manifests a size and entry cap by default, configurable per route', () => {
    const file = parseRoutes(route('pathGlob: "**/*.csv"', '    batching: { mode: marker, markerName: _manifest.json, manifest: true }\n'), 'r.yaml', {});
    expect(file.routes[0].batching).toMatchObject({ maxManifestSizeInBytes: 1024 * 1024, maxManifestFiles: 5000 });
    const custom = parseRoutes(route('pathGlob: "**/*.csv"', '    batching: { mode: marker, manifest: true, maxManifestSizeInBytes: 4096, maxManifestFiles: 10 }\n'), 'r.yaml', {});
    expect(custom.routes[0].batching).toMatchObject({ maxManifestSizeInBytes: 4096, maxManifestFiles: 10 });
    expect(errorOf(route('', '    batching: { mode: marker, manifest: true, maxManifestFiles: 0 }\n'))).toMatch(/field batching\.maxManifestFiles/);
  });
});
