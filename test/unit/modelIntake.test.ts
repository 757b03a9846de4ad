// The model intake's pure parts: ModelRegistered in both delivery schemas and both casings (the
// documented examples verbatim), the subject cross-check, model route matching, run IDs, candidate
// deployment names, and the model routes' schema.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseModelRegistered } from '../../src/events/modelRegistrations';
import { parseMlEvent } from '../../src/events/mlEvents';
import { matchModelRoute } from '../../src/events/modelRouteMatching';
import { modelRunId, rollbackRunId } from '../../src/model/modelRunIds';
import { candidateDeploymentName, toDeploymentName } from '../../src/model/candidateNaming';
import { parseRoutes, RoutesFileError } from '../../src/config/routes';
import { CONTRACTS_DIR } from '../support/contractsDir';

const EXAMPLES = path.join(CONTRACTS_DIR, 'eventgrid', 'Microsoft.MachineLearningServices', 'stable', '2018-01-01', 'examples');
const example = (schema: string): Record<string, unknown> => JSON.parse(fs.readFileSync(path.join(EXAMPLES, schema, 'model_registered.json'), 'utf8')) as Record<string, unknown>;

const WS = '/subscriptions/s/resourceGroups/r/providers/Microsoft.MachineLearningServices/workspaces/w';
const OTHER_WS = '/subscriptions/s/resourceGroups/r/providers/Microsoft.MachineLearningServices/workspaces/other';
const VALIDATION = '{ type: uri_folder, uri: "azureml://datastores/workspaceblobstore/paths/validation/" }';

const { modelRoutes: ROUTES } = parseRoutes(
  `
modelRoutes:
  - name: churn-candidates
    trigger: { modelName: "churn*", tags: { stage: candidate, owner: "*" } }
    target: { endpoint: churn-scoring }
    validationData: ${VALIDATION}
  - name: any-fraud
    trigger: { modelName: "fraud-{eu,us}" }
    target: { endpoint: fraud-scoring, workspaceId: ${OTHER_WS} }
    validationData: ${VALIDATION}
`,
  'routes.yaml',
);

function registration(name: string, version: string, tags?: Record<string, string>, workspaceId: string | null = WS) {
  const parsed = parseModelRegistered({ id: 'e1', topic: workspaceId ?? undefined, subject: `models/${name}:${version}`, eventType: 'Microsoft.MachineLearningServices.ModelRegistered', eventTime: '2026-01-01T00:00:00Z', data: { ModelName: name, ModelVersion: version, ModelTags: tags } });
  if (!parsed.ok) throw new Error(parsed.reason);
  return parsed.registration;
}

describe('ModelRegistered events', () => {
  it('parses the documented example in the Event Grid schema and in CloudEvents alike (PascalCase, integer version)', () => {
    for (const schema of ['event-grid-schema', 'cloud-events-schema']) {
      const parsed = parseModelRegistered(example(schema));
      expect(parsed).toEqual({
        ok: true,
        registration: {
          eventId: '831e1650-001e-001b-66ab-eeb76e069631',
          eventTime: '2017-06-26T18:41:00.9584103Z',
          schema: schema === 'event-grid-schema' ? 'EventGridSchema' : 'CloudEventSchemaV1_0',
          workspaceId: '/subscriptions/{subscription-id}/resourceGroups/{resource-group-name}/providers/Microsoft.MachineLearningServices/workspaces/{workspace-name}',
          modelName: 'sklearn_regression_model',
          modelVersion: '20',
          tags: { area: 'diabetes', type: 'regression' },
          properties: { type: 'test' },
        },
      });
    }
  });

  it('parses the SDK types’ camelCase with a string version to the same registration', () => {
    const eg = example('event-grid-schema');
    const camel = { ...eg, data: { modelName: 'sklearn_regression_model', modelVersion: '20', modelTags: { area: 'diabetes', type: 'regression' }, modelProperties: { type: 'test' } } };
    const a = parseModelRegistered(eg);
    const b = parseModelRegistered(camel);
    expect(b).toEqual(a);
  });

  it('takes the name and version from the subject when the data lacks them', () => {
    const parsed = parseModelRegistered({ ...example('cloud-events-schema'), data: {} });
    expect(parsed).toMatchObject({ ok: true, registration: { modelName: 'sklearn_regression_model', modelVersion: '20', tags: undefined } });
  });

  it('leaves tags undefined when the event carries none, so the intake looks them up', () => {
    const e = example('event-grid-schema');
    const parsed = parseModelRegistered({ ...e, data: { ModelName: 'sklearn_regression_model', ModelVersion: 20 } });
    expect(parsed).toMatchObject({ ok: true, registration: { tags: undefined } });
  });

  it.each([
    ['a subject naming another version', { subject: 'models/sklearn_regression_model:21' }, /names version 21 but data.ModelVersion is 20/],
    ['a subject naming another model', { subject: 'models/other:20' }, /names model 'other' but data.ModelName/],
    ['a subject that is not a model', { subject: 'endpoints/x' }, /is not models\/<name>:<version>/],
    ['a fractional version', { data: { ModelName: 'm', ModelVersion: 1.5 } }, /not a whole number/],
    ['a version of the wrong type', { data: { ModelName: 'm', ModelVersion: true } }, /is a boolean/],
    ['no data', { data: null }, /has no data object/],
    ['another event type', { eventType: 'Microsoft.MachineLearningServices.ModelDeployed' }, /is not Microsoft.MachineLearningServices.ModelRegistered/],
  ])('refuses an event with %s, saying why', (_what, change, reason) => {
    const e = { ...example('event-grid-schema'), ...change };
    if ('data' in change && change.data && !('subject' in change)) (e as Record<string, unknown>).subject = undefined;
    const parsed = parseModelRegistered(e);
    expect(parsed.ok).toBe(false);
    expect(parsed.ok ? '' : parsed.reason).toMatch(reason);
  });

  it('is routed by the ML event parser as a model registration, and a malformed one as invalid', () => {
    expect(parseMlEvent(example('cloud-events-schema'))).toMatchObject({ kind: 'model', registration: { modelName: 'sklearn_regression_model' } });
    expect(parseMlEvent({ ...example('event-grid-schema'), subject: 'models/x:1' })).toMatchObject({ kind: 'invalid', reason: expect.stringMatching(/^Microsoft.MachineLearningServices.ModelRegistered: subject/) });
  });
});

describe('model route matching', () => {
  it('takes a registration whose name, workspace and tags match, "*" accepting any tag value', () => {
    const d = matchModelRoute(registration('churn-eu', '3', { stage: 'candidate', owner: 'ml-team' }), ROUTES, WS);
    expect(d).toMatchObject({ matched: true, route: { name: 'churn-candidates' }, workspaceId: WS });
  });

  it('says why no route takes a registration', () => {
    expect(matchModelRoute(registration('churn-eu', '3', { stage: 'production', owner: 'x' }), ROUTES, WS)).toEqual({
      matched: false,
      reason: "no model route takes it (churn-candidates: tag 'stage' is 'production', not 'candidate'; any-fraud: model 'churn-eu' does not match 'fraud-{eu,us}')",
    });
    expect(matchModelRoute(registration('churn-eu', '3', { stage: 'candidate' }), ROUTES, WS)).toMatchObject({ matched: false, reason: expect.stringContaining("tag 'owner' is missing") });
    expect(matchModelRoute(registration('fraud-eu', '1', {}, WS), ROUTES, WS)).toMatchObject({ matched: false, reason: expect.stringContaining(`comes from workspace ${WS}, not ${OTHER_WS}`) });
  });

  it('asks for the tags when a name matches a route that filters on tags the event did not carry', () => {
    expect(matchModelRoute(registration('churn', '1', undefined), ROUTES, WS)).toMatchObject({ matched: 'needsTags', route: { name: 'churn-candidates' } });
  });

  it('uses the route’s own workspace, and accepts events that do not say theirs', () => {
    expect(matchModelRoute(registration('fraud-us', '7', undefined, OTHER_WS), ROUTES, WS)).toMatchObject({ matched: true, workspaceId: OTHER_WS });
    expect(matchModelRoute(registration('fraud-us', '7', undefined, null), ROUTES, WS)).toMatchObject({ matched: true, route: { name: 'any-fraud' } });
  });
});

describe('run IDs', () => {
  it('derive from workspace, model and version: the same version maps to one run, whatever the workspace ID’s casing', () => {
    expect(modelRunId(WS, 'churn', '3')).toBe(modelRunId(WS.toUpperCase(), 'churn', '3'));
    expect(modelRunId(WS, 'churn', '3')).toMatch(/^bpm-churn-v3-[0-9a-f]{12}$/);
    expect(new Set([modelRunId(WS, 'churn', '3'), modelRunId(WS, 'churn', '4'), modelRunId(OTHER_WS, 'churn', '3'), modelRunId(WS, 'churn-3', '')]).size).toBe(4);
  });

  it('give a rollback of one promotion one ID', () => {
    expect(rollbackRunId(WS, 'churn-scoring', 'bpm-a')).toBe(rollbackRunId(WS, 'Churn-Scoring', 'bpm-a'));
    expect(rollbackRunId(WS, 'churn-scoring', 'bpm-a')).not.toBe(rollbackRunId(WS, 'churn-scoring', 'bpm-b'));
  });
});

describe('candidate deployment names', () => {
  const perVersion = { naming: 'perVersion' as const, nameTemplate: '{model}-v{version}' };
  const slots = { naming: 'fixed' as const, name: 'blue', alternateName: 'green' };

  it('fill the per-version template and make it a name Azure ML accepts', () => {
    expect(candidateDeploymentName(perVersion, 'churn', '3', 'churn-v1')).toEqual({ ok: true, name: 'churn-v3' });
    expect(candidateDeploymentName(perVersion, 'churn_model.eu', '2024.1', undefined)).toEqual({ ok: true, name: 'churn-model-eu-v2024-1' });
    expect(toDeploymentName('1st-model-v2')).toBe('m-1st-model-v2');
  });

  it('shorten long names to 32 characters with a stable hash, so two long names stay apart', () => {
    const a = toDeploymentName('a-very-long-model-name-for-customer-churn-v12');
    const b = toDeploymentName('a-very-long-model-name-for-customer-churn-v13');
    expect(a.length).toBeLessThanOrEqual(32);
    expect(a).toMatch(/^[A-Za-z][A-Za-z0-9-]+$/);
    expect(a).not.toBe(b);
    expect(toDeploymentName('a-very-long-model-name-for-customer-churn-v12')).toBe(a);
  });

  it('use the fixed slot, or its alternate when the slot is the current default (blue/green)', () => {
    expect(candidateDeploymentName(slots, 'churn', '3', 'green')).toEqual({ ok: true, name: 'blue' });
    expect(candidateDeploymentName(slots, 'churn', '4', 'Blue')).toEqual({ ok: true, name: 'green' });
  });

  it('never name the current default', () => {
    expect(candidateDeploymentName({ naming: 'fixed', name: 'candidate' }, 'churn', '3', 'candidate')).toMatchObject({ ok: false, reason: expect.stringMatching(/slot 'candidate' is the endpoint's current default.*alternateName/) });
    expect(candidateDeploymentName(perVersion, 'churn', '3', 'churn-v3')).toMatchObject({ ok: false, reason: expect.stringMatching(/is the endpoint's current default/) });
  });
});

describe('model routes in the routes file', () => {
  it('fill defaults: per-version candidates, a manual gate that rejects on timeout, 30 days kept, validation and comparison defaults', () => {
    const route = ROUTES[0];
    expect(route.target.candidate).toEqual({ naming: 'perVersion', nameTemplate: '{model}-v{version}' });
    expect(route.gate).toEqual({ policy: 'manual', approvalTimeoutInMinutes: 4320, onTimeout: 'reject', whenComparisonFails: 'reject' });
    expect(route.keepReplacedDeploymentsForDays).toBe(30);
    expect(route.validation.expectedFiles).toEqual(['predictions.csv']);
    expect(route.comparison).toMatchObject({ keyColumns: [], requireEqualRowCount: true });
    expect(route.events.typePrefix).toBe('Batchpilot');
  });

  it('report every mistake with the model route and the field', () => {
    const text = `
routes:
  - name: shared-name
    trigger: { storageAccounts: [acct], container: input }
    target: { endpoint: churn-scoring }
modelRoutes:
  - name: shared-name
    trigger: { modelName: "churn/*", tags: { stage: 1 } }
    target: { endpoint: churn-scoring, candidate: { naming: fixed, name: blue, alternateName: blue }, outputPath: fixed/path }
    validationData: { type: data_asset, asset: "churn-sample" }
    comparison: { minLabelAgreement: 0.9 }
    gate: { policy: manual, onTimeout: approve }
    keepReplacedDeploymentsForDays: -1
    extra: true
`;
    let problems: string[] = [];
    try {
      parseRoutes(text, 'routes.yaml');
    } catch (err) {
      problems = (err as RoutesFileError).problems;
    }
    const expected = [
      /^model route 'shared-name', field trigger\.modelName: must be a model name or a glob/,
      /^model route 'shared-name', field trigger\.tags\.stage: /,
      /^model route 'shared-name', field target\.candidate\.alternateName: must differ from name/,
      /^model route 'shared-name', field target\.outputPath: must contain \{runId\}/,
      /^model route 'shared-name', field validationData\.asset: must name a data asset version as 'azureml:<name>:<version>'/,
      /^model route 'shared-name', field comparison\.minLabelAgreement: needs labelColumn/,
      /^model route 'shared-name', field gate\.onTimeout: /,
      /^model route 'shared-name', field keepReplacedDeploymentsForDays: must not be negative/,
      /^model route 'shared-name'.*extra/,
    ];
    for (const e of expected) expect(problems.some((p) => e.test(p))).toBe(true);
  });

  it('share one namespace with blob routes, as run records are kept per route name', () => {
    expect(() =>
      parseRoutes(
        `
routes:
  - name: churn
    trigger: { storageAccounts: [acct], container: input }
    target: { endpoint: churn-scoring }
modelRoutes:
  - name: churn
    trigger: { modelName: churn }
    target: { endpoint: churn-scoring }
    validationData: ${VALIDATION}
`,
        'routes.yaml',
      ),
    ).toThrow(/model route 'churn', field name: route name 'churn' is used twice/);
  });
});
