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

describe('routes that could never work are refused at load (review of 2026-12-06)', () => {
  const route = (fields: string, target = '{ endpoint: churn }') => `routes:\n  - name: daily\n    trigger: { storageAccounts: [acct], container: incoming }\n    target: ${target}\n${fields}`;

  it('refuses a literal input named like the data input, which would replace the blob the run scores', () => {
    expect(errorOf(route('', '{ endpoint: churn, literalInputs: { input: v2 } }'))).toMatch(/route 'daily', field target\.literalInputs\.input: names the data input \('input', inputName\)/);
    expect(errorOf(route('', '{ endpoint: churn, inputName: data, literalInputs: { data: 1 } }'))).toMatch(/field target\.literalInputs\.data/);
    expect(parseRoutes(route('', '{ endpoint: churn, literalInputs: { input_version: v2 } }'), 'r.yaml').routes[0].target.literalInputs).toEqual({ input_version: 'v2' });
  });

  it("refuses paths, globs and marker names that can match no blob", () => {
    const trig = (t: string) => `routes:\n  - name: daily\n    trigger: { storageAccounts: [acct], container: incoming, ${t} }\n    target: { endpoint: churn }\n`;
    expect(errorOf(trig('pathPrefix: /daily/'))).toMatch(/field trigger\.pathPrefix: must not start with '\/'/);
    expect(errorOf(trig('pathGlob: "/**/*.csv"'))).toMatch(/field trigger\.pathGlob: must not start with '\/'/);
    expect(errorOf(route('    batching: { mode: marker, markerName: 2024/_SUCCESS }\n'))).toMatch(/field batching\.markerName: must be a file name without '\/'/);
  });

  it('refuses durations past a year, which used to crash the first run with "Invalid time value"', () => {
    expect(errorOf(route('    wait: { timeoutInMinutes: 1e12 }\n'))).toMatch(/field wait\.timeoutInMinutes: must be at most 525600 \(a year\)/);
    expect(errorOf(route('    batching: { mode: marker, maxWaitInSeconds: 1e15 }\n'))).toMatch(/field batching\.maxWaitInSeconds: must be at most 31536000/);
    expect(parseRoutes(route('    wait: { timeoutInMinutes: 525600 }\n'), 'r.yaml').routes[0].wait.timeoutInMinutes).toBe(525_600);
  });

  it('refuses an events topic that is not https, naming the route and field', () => {
    for (const url of ['http://topic.example.com/api/events', 'ftp://x/y', 'mailto:a@b.c']) {
      expect(errorOf(route(`    events: { topicEndpoint: "${url}" }\n`))).toMatch(/route 'daily', field events\.topicEndpoint: .*https/);
    }
  });

  it('refuses a file nested thousands of levels deep with a message, not a stack overflow', () => {
    const deep = (levels: number) => `{"routes":${'['.repeat(levels)}${']'.repeat(levels)}}`;
    expect(errorOf(deep(3000), 'routes.json')).toMatch(/nested more than 32 levels deep/);
    expect(errorOf(deep(100), 'routes.yaml')).toMatch(/nested more than 32 levels deep/);
    // Deeper still, the YAML parser gives up first, and says so.
    expect(errorOf(deep(3000), 'routes.yaml')).toMatch(/not valid YAML/);
  });

  it('reads a JSON file that starts with a byte order mark', () => {
    const json = JSON.stringify({ routes: [{ name: 'jsonroute', trigger: { storageAccounts: ['acct'], container: 'inbox' }, target: { endpoint: 'ep' } }] });
    expect(parseRoutes(`\uFEFF${json}`, 'routes.json').routes[0].name).toBe('jsonroute');
  });
});

describe('routes file text (review of 2026-12-06)', () => {
  const { loadRoutes } = require('../../src/config/routes') as typeof import('../../src/config/routes');
  const fs = require('node:fs') as typeof import('node:fs');
  const os = require('node:os') as typeof import('node:os');
  const path = require('node:path') as typeof import('node:path');
  const text = `routes:\n  - name: daily\n    trigger: { storageAccounts: [acct], container: incoming }\n    target: { endpoint: churn, literalInputs: { city: "Zürich" } }\n`;

  it('refuses a file that is not UTF-8 instead of loading U+FFFD into job inputs', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'routes-'));
    fs.writeFileSync(path.join(dir, 'latin1.yaml'), Buffer.from(text, 'latin1'));
    fs.writeFileSync(path.join(dir, 'utf8.yaml'), `\uFEFF${text}`);
    expect(() => loadRoutes('latin1.yaml', dir, {})).toThrow(/latin1\.yaml is invalid:\n- is not UTF-8 text/);
    expect(loadRoutes('utf8.yaml', dir, {}).routes[0].target.literalInputs).toEqual({ city: 'Zürich' });
  });

  it('refuses an unknown YAML tag instead of warning on stderr', () => {
    expect(errorOf(`${text}    description: !foo bar\n`)).toMatch(/not valid YAML: .*tag/i);
  });
});
