// Every response of the Azure ML emulator that batchpilot can receive is held against the contracts
// in test/contracts: ARM bodies against the 2022-10-01 swagger (2024-04-01 for pipeline-component
// deployments), batch data-plane bodies against the 2020-09-01-dataplanepreview swagger, long-running
// operation status and errors against ARM's common types, and system events against the Event Grid
// schema and the Machine Learning event examples.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { generateChurnInputFiles, SampleWorkspace, seedSampleWorkspace, LocalAzureMl, MANAGEMENT_SCOPE, startLocalAzureMl } from '@batchpilot/azureml-emulator';
import { uniqueName } from '@batchpilot/local-platform';
import { CONTRACT_FILES, CONTRACTS_DIR, SwaggerValidator } from '../support/swaggerSchemas';
import type { PlainResponse } from '@batchpilot/local-platform';

const validator = new SwaggerValidator();

function expectValid(file: string, definition: string, body: unknown): void {
  const errors = validator.validate(file, definition, body);
  if (errors.length) throw new Error(`Response does not match ${file}#/definitions/${definition}:\n${errors.join('\n')}\n${JSON.stringify(body, null, 2)}`);
}

describe('Azure ML emulator responses against the contracts', () => {
  let ml: LocalAzureMl;
  let sample: SampleWorkspace;
  let workspacePath: string;
  let completedJob: string;

  const arm = (pathAndQuery: string, init: { method?: string; body?: unknown; apiVersion?: string } = {}): Promise<PlainResponse> => {
    const separator = pathAndQuery.includes('?') ? '&' : '?';
    const url = /^https:/.test(pathAndQuery) ? pathAndQuery : `${ml.emulator.armBaseUrl}${pathAndQuery}${separator}api-version=${init.apiVersion ?? '2022-10-01'}`;
    return ml.request(url, {
      method: init.method ?? 'GET',
      token: ml.issuer.issue(MANAGEMENT_SCOPE).token,
      body: init.body === undefined ? undefined : JSON.stringify(init.body),
    });
  };

  beforeAll(async () => {
    ml = await startLocalAzureMl({ lroRetryAfterInSeconds: 1 });
    sample = await seedSampleWorkspace(ml.emulator, { credential: ml.issuer.credential(), ca: ml.ca, updateIntervalInMs: 20, sampleFiles: 3, sampleRowsPerFile: 5 });
    workspacePath = ml.emulator.workspaceId;
    const folder = uniqueName('contract');
    const input = await ml.uploadFolder(folder, generateChurnInputFiles({ files: 3, rowsPerFile: 3 }));
    const invoked = await ml.invoke(sample.endpointName, { properties: { InputData: { data: { JobInputType: 'UriFolder', Uri: input } }, Tags: { suite: 'contract' } } });
    expect(invoked.status).toBe(200);
    expectValid(CONTRACT_FILES.dataPlane, 'BatchJobResource', invoked.json);
    completedJob = (invoked.json as { name: string }).name;
    await ml.waitForJob(completedJob);
  });
  afterAll(async () => {
    await ml?.stop();
  });

  it('answers batch endpoint get, list and create with BatchEndpointTrackedResource shapes', async () => {
    const got = await arm(`${workspacePath}/batchEndpoints/${sample.endpointName}`);
    expect(got.status).toBe(200);
    expectValid(CONTRACT_FILES.arm, 'BatchEndpointTrackedResource', got.json);
    expect(got.json).toMatchObject({ properties: { scoringUri: sample.scoringUri, provisioningState: 'Succeeded', defaults: { deploymentName: 'churn-v1' } } });
    const list = await arm(`${workspacePath}/batchEndpoints`);
    expectValid(CONTRACT_FILES.arm, 'BatchEndpointTrackedResourceArmPaginatedResult', list.json);
    const created = await arm(`${workspacePath}/batchEndpoints/${uniqueName('ep').slice(0, 20)}`, { method: 'PUT', body: { location: ml.emulator.location, properties: { authMode: 'AADToken' } } });
    expect(created.status).toBe(201);
    expect(created.headers['azure-asyncoperation']).toMatch(/mfeOperationsStatus/);
    expectValid(CONTRACT_FILES.arm, 'BatchEndpointTrackedResource', created.json);
    const status = await arm(String(created.headers['azure-asyncoperation']));
    expectValid(CONTRACT_FILES.commonTypes, 'OperationStatusResult', status.json);
  });

  it('answers an endpoint update with 202 and a Location that ends in the updated endpoint', async () => {
    const accepted = await arm(`${workspacePath}/batchEndpoints/${sample.endpointName}`, { method: 'PATCH', body: { tags: { sample: 'churn', reviewed: 'yes' } } });
    expect(accepted.status).toBe(202);
    expect(accepted.headers['retry-after']).toBe('1');
    const location = String(accepted.headers.location);
    let result: PlainResponse;
    do result = await arm(location); while (result.status === 202);
    expect(result.status).toBe(200);
    expectValid(CONTRACT_FILES.arm, 'BatchEndpointTrackedResource', result.json);
    expect(result.json).toMatchObject({ tags: { reviewed: 'yes' } });
  });

  it('answers deployment get and list with BatchDeploymentTrackedResource shapes', async () => {
    const got = await arm(`${workspacePath}/batchEndpoints/${sample.endpointName}/deployments/churn-v2`);
    expectValid(CONTRACT_FILES.arm, 'BatchDeploymentTrackedResource', got.json);
    const list = await arm(`${workspacePath}/batchEndpoints/${sample.endpointName}/deployments`);
    expectValid(CONTRACT_FILES.arm, 'BatchDeploymentTrackedResourceArmPaginatedResult', list.json);
    expect((list.json as { value: unknown[] }).value).toHaveLength(2);
  });

  it('answers job get and list (with a tag filter) as pipeline jobs with a Studio link', async () => {
    const got = await arm(`${workspacePath}/jobs/${completedJob}`);
    expectValid(CONTRACT_FILES.arm, 'JobBaseResource', got.json);
    expect(got.json).toMatchObject({ properties: { jobType: 'Pipeline', status: 'Completed', tags: { suite: 'contract' }, services: { Studio: { endpoint: expect.stringContaining(completedJob) } } } });
    const list = await arm(`${workspacePath}/jobs?tag=suite`);
    expectValid(CONTRACT_FILES.arm, 'JobBaseResourceArmPaginatedResult', list.json);
    expect((list.json as { value: Array<{ name: string }> }).value.map((j) => j.name)).toEqual([completedJob]);
  });

  it('answers model, code and data versions, model containers and datastores with their resource shapes', async () => {
    const model = await arm(`${workspacePath}/models/churn/versions/2`);
    expectValid(CONTRACT_FILES.arm, 'ModelVersionResource', model.json);
    expectValid(CONTRACT_FILES.arm, 'ModelVersionResourceArmPaginatedResult', (await arm(`${workspacePath}/models/churn/versions`)).json);
    expectValid(CONTRACT_FILES.arm, 'ModelContainerResource', (await arm(`${workspacePath}/models/churn`)).json);
    expectValid(CONTRACT_FILES.arm, 'ModelContainerResourceArmPaginatedResult', (await arm(`${workspacePath}/models`)).json);
    expectValid(CONTRACT_FILES.arm, 'CodeVersionResource', (await arm(`${workspacePath}/codes/churn-score/versions/1`)).json);
    expectValid(CONTRACT_FILES.arm, 'DataVersionBaseResource', (await arm(`${workspacePath}/data/churn-sample/versions/1`)).json);
    expectValid(CONTRACT_FILES.arm, 'DatastoreResource', (await arm(`${workspacePath}/datastores/workspaceblobstore`)).json);
    expectValid(CONTRACT_FILES.arm, 'DatastoreResourceArmPaginatedResult', (await arm(`${workspacePath}/datastores`)).json);
    const created = await arm(`${workspacePath}/models/churn/versions/${Date.now()}`, { method: 'PUT', body: { properties: { modelUri: 'azureml://datastores/workspaceblobstore/paths/models/churn/1/', modelType: 'custom_model' } } });
    expect(created.status).toBe(201);
    expectValid(CONTRACT_FILES.arm, 'ModelVersionResource', created.json);
  });

  it('answers a workspace get with the Workspace shape', async () => {
    const workspace = await arm(workspacePath);
    expect(workspace.status).toBe(200);
    expectValid(CONTRACT_FILES.workspaces, 'Workspace', workspace.json);
    expect(workspace.json).toMatchObject({ id: workspacePath, properties: { provisioningState: 'Succeeded' } });
  });

  it('answers the data plane get and list with BatchJobResource shapes', async () => {
    const got = await ml.request(`${sample.scoringUri}/${completedJob}`);
    expect(got.status).toBe(200);
    expectValid(CONTRACT_FILES.dataPlane, 'BatchJobResource', got.json);
    expect(got.json).toMatchObject({ name: completedJob, properties: { status: 'Completed', provisioningState: 'Succeeded' } });
    const list = await ml.request(sample.scoringUri);
    expectValid(CONTRACT_FILES.dataPlane, 'BatchJobResourceArmPaginatedResult', list.json);
  });

  it('answers errors from ARM and the data plane with the ARM ErrorResponse shape', async () => {
    const errors = [
      await arm(`${workspacePath}/batchEndpoints/no-such-endpoint`),
      await arm(`${workspacePath}/jobs/no-such-job`),
      await arm(`${workspacePath}/batchEndpoints/${sample.endpointName}`, { apiVersion: '2019-01-01' }),
      await ml.invoke(sample.endpointName, {}, { rawBody: '{"properties": ' }),
      await ml.invoke(sample.endpointName, { properties: {} }, { deployment: 'nope' }),
      await ml.request(sample.scoringUri, { method: 'POST', body: '{}', token: ml.issuer.issue(MANAGEMENT_SCOPE).token }),
    ];
    for (const error of errors) {
      expect(error.status).toBeGreaterThanOrEqual(400);
      expectValid(CONTRACT_FILES.commonTypes, 'ErrorResponse', error.json);
      expect(error.json).toEqual({ error: expect.objectContaining({ code: expect.any(String), message: expect.any(String) }) });
    }
  });

  it('shows pipeline-component deployments to 2024-04-01 clients as the 2024-04-01 swagger defines them', async () => {
    const componentPath = `${workspacePath}/components/churn-pipeline/versions/1`;
    const component = await arm(componentPath, {
      method: 'PUT',
      apiVersion: '2024-04-01',
      body: { properties: { componentSpec: { type: 'pipeline', inputs: { customers: { type: 'uri_folder' } }, jobs: { score: { type: 'parallel', task: { type: 'run_function', code: sample.codeId, entry_script: sample.scoringScript } } } } } },
    });
    expect(component.status).toBe(201);
    expectValid(CONTRACT_FILES.arm2024, 'ComponentVersionResource', component.json);
    const put = await arm(`${workspacePath}/batchEndpoints/${sample.endpointName}/deployments/churn-pipeline`, {
      method: 'PUT',
      apiVersion: '2024-04-01',
      body: { location: ml.emulator.location, properties: { deploymentConfiguration: { deploymentConfigurationType: 'PipelineComponent', componentId: { referenceType: 'Id', assetId: componentPath } } } },
    });
    expect(put.status).toBe(201);
    expectValid(CONTRACT_FILES.arm2024, 'BatchDeploymentTrackedResource', put.json);
    const asOld = await arm(`${workspacePath}/batchEndpoints/${sample.endpointName}/deployments/churn-pipeline`);
    expectValid(CONTRACT_FILES.arm, 'BatchDeploymentTrackedResource', asOld.json);
  });

  it('publishes ModelRegistered, RunStatusChanged and RunCompleted events with the documented fields', () => {
    const events = ml.emulator.publishedEvents();
    const exampleData = (name: string): Record<string, unknown> =>
      (JSON.parse(fs.readFileSync(path.join(CONTRACTS_DIR, 'eventgrid/Microsoft.MachineLearningServices/stable/2018-01-01/examples/event-grid-schema', name), 'utf8')) as { data: Record<string, unknown> }).data;
    const byType = (type: string): typeof events => events.filter((e) => e.eventType === `Microsoft.MachineLearningServices.${type}`);
    for (const event of events) expectValid('eventgrid/Microsoft.EventGrid/stable/2018-01-01/EventGrid.json', 'EventGridEvent', event);

    const registered = byType('ModelRegistered');
    expect(registered.map((e) => e.subject)).toEqual(expect.arrayContaining(['models/churn:1', 'models/churn:2']));
    expect(Object.keys(registered[0].data).sort()).toEqual(Object.keys(exampleData('model_registered.json')).sort());

    const changed = byType('RunStatusChanged').filter((e) => e.data.runId === completedJob);
    expect(changed.map((e) => e.data.runStatus)).toEqual(['Preparing', 'Running', 'Finalizing', 'Completed']);
    expect(Object.keys(changed[0].data).sort()).toEqual(Object.keys(exampleData('run_status_changed.json')).sort());
    expectValid(CONTRACT_FILES.mlEvents, 'MachineLearningServicesRunStatusChangedEventData', changed[0].data);

    const completed = byType('RunCompleted').filter((e) => e.data.runId === completedJob);
    expect(completed).toHaveLength(1);
    expect(Object.keys(completed[0].data).sort()).toEqual(Object.keys(exampleData('run_completed.json')).sort());
    expect(completed[0]).toMatchObject({ topic: ml.emulator.workspaceId, subject: `experiments/${String(completed[0].data.experimentId)}/runs/${completedJob}`, data: { experimentName: sample.endpointName, runTags: { suite: 'contract' } } });
  });
});
