// The real `@azure/arm-machinelearning` client (2.1.1, api-version 2022-10-01) works against the
// emulator unchanged: reads, lists, long-running updates and cancels that its pollers follow, and
// model registration. With a share of calls throttled or failing, the SDK's own retry policy still
// gets every call through, waiting as long as each Retry-After says.
import {
  bearerTokenAuthenticationPolicy, createDefaultHttpClient, createHttpHeaders, createPipelineFromOptions, createPipelineRequest,
} from '@azure/core-rest-pipeline';
import { SampleWorkspace, seedSampleWorkspace } from '../../src/sampleWorkspace';
import { uniqueName, localCaTrustPolicy, requestTrusting } from '@batchpilot/local-platform';
import { LocalAzureMl, ML_SCOPE, startLocalAzureMl } from '../../src/testing/localAzureMl';

describe('@azure/arm-machinelearning against the Azure ML emulator', () => {
  let ml: LocalAzureMl;
  let sample: SampleWorkspace;
  let rg: string;
  let ws: string;

  beforeAll(async () => {
    ml = await startLocalAzureMl();
    sample = await seedSampleWorkspace(ml.emulator, { credential: ml.issuer.credential(), ca: ml.ca, updateIntervalInMs: 20, sampleFiles: 2, sampleRowsPerFile: 3 });
    rg = ml.emulator.resourceGroup;
    ws = ml.emulator.workspaceName;
  });
  afterAll(async () => {
    await ml?.stop();
  });

  async function submitJob(tags: Record<string, string> = {}): Promise<string> {
    const response = await ml.invoke(sample.endpointName, { properties: { InputData: { data: { JobInputType: 'UriFolder', Uri: sample.sampleInputUri } }, Tags: tags } });
    expect(response.status).toBe(200);
    return (response.json as { name: string }).name;
  }

  it('reads a batch endpoint with batchEndpoints.get', async () => {
    const endpoint = await ml.arm.batchEndpoints.get(rg, ws, sample.endpointName);
    expect(endpoint.properties).toMatchObject({ authMode: 'AADToken', scoringUri: sample.scoringUri, provisioningState: 'Succeeded', defaults: { deploymentName: 'churn-v1' } });
    expect(endpoint.id).toBe(`${ml.emulator.workspaceId}/batchEndpoints/${sample.endpointName}`);
    expect(endpoint.systemData?.createdAt).toBeInstanceOf(Date);
  });

  it('reads the workspace with workspaces.get', async () => {
    const workspace = await ml.arm.workspaces.get(rg, ws);
    expect(workspace).toMatchObject({ id: ml.emulator.workspaceId, name: ws, location: ml.emulator.location, provisioningState: 'Succeeded' });
  });

  it('lists deployments with batchDeployments.list, model references included', async () => {
    const deployments = [];
    for await (const d of ml.arm.batchDeployments.list(rg, ws, sample.endpointName)) deployments.push(d);
    expect(deployments.map((d) => d.name).sort()).toEqual(['churn-v1', 'churn-v2']);
    const v2 = deployments.find((d) => d.name === 'churn-v2')!;
    expect(v2.properties).toMatchObject({ model: { referenceType: 'Id', assetId: sample.modelIds.v2 }, miniBatchSize: 10, maxConcurrencyPerInstance: 2, resources: { instanceCount: 2 } });
  });

  it('reads a job with jobs.get and finds it with jobs.list by tag', async () => {
    const runId = uniqueName('run');
    const jobName = await submitJob({ batchpilotRunId: runId });
    const job = await ml.arm.jobs.get(rg, ws, jobName);
    expect(job.properties).toMatchObject({ jobType: 'Pipeline', experimentName: sample.endpointName, tags: { batchpilotRunId: runId } });
    expect(['NotStarted', 'Preparing', 'Running', 'Finalizing', 'Completed']).toContain(job.properties.status);
    const found = [];
    for await (const j of ml.arm.jobs.list(rg, ws, { tag: `batchpilotRunId=${runId}` })) found.push(j.name);
    expect(found).toEqual([jobName]);
    const finished = await ml.waitForJob(jobName);
    expect(finished.properties.status).toBe('Completed');
  });

  it('cancels a running job with jobs.beginCancelAndWait, following the Location header to the end', async () => {
    ml.emulator.holdJobs();
    try {
      const jobName = await submitJob();
      await ml.arm.jobs.beginCancelAndWait(rg, ws, jobName, { updateIntervalInMs: 20 });
      const job = await ml.arm.jobs.get(rg, ws, jobName);
      expect(job.properties.status).toBe('Canceled');
      expect(ml.emulator.jobReport(jobName)!.statusHistory.map((s) => s.status)).toEqual(expect.arrayContaining(['CancelRequested', 'Canceled']));
    } finally {
      ml.emulator.releaseJobs();
    }
  });

  it('updates an endpoint with batchEndpoints.beginUpdateAndWait and returns the updated endpoint', async () => {
    const updated = await ml.arm.batchEndpoints.beginUpdateAndWait(rg, ws, sample.endpointName, { tags: { sample: 'churn', owner: 'ml-team' } }, { updateIntervalInMs: 20 });
    expect(updated.tags).toEqual({ sample: 'churn', owner: 'ml-team' });
    expect(updated.properties.provisioningState).toBe('Succeeded');
    expect((await ml.arm.batchEndpoints.get(rg, ws, sample.endpointName)).tags).toEqual({ sample: 'churn', owner: 'ml-team' });
  });

  it('promotes a deployment to default with batchEndpoints.beginCreateOrUpdateAndWait (2022-10-01 PATCH cannot carry defaults)', async () => {
    const endpoint = await ml.arm.batchEndpoints.get(rg, ws, sample.endpointName);
    const promoted = await ml.arm.batchEndpoints.beginCreateOrUpdateAndWait(rg, ws, sample.endpointName,
      { ...endpoint, properties: { ...endpoint.properties, defaults: { deploymentName: 'churn-v2' } } }, { updateIntervalInMs: 20 });
    expect(promoted.properties.defaults?.deploymentName).toBe('churn-v2');
    await ml.arm.batchEndpoints.beginCreateOrUpdateAndWait(rg, ws, sample.endpointName,
      { ...endpoint, properties: { ...endpoint.properties, defaults: { deploymentName: 'churn-v1' } } }, { updateIntervalInMs: 20 });
  });

  it('registers a model version with modelVersions.createOrUpdate and announces it with ModelRegistered', async () => {
    const version = String(Date.now());
    const model = await ml.arm.modelVersions.createOrUpdate(rg, ws, 'churn', version, {
      properties: { modelUri: 'azureml://datastores/workspaceblobstore/paths/models/churn/2/', modelType: 'custom_model', tags: { stage: 'candidate' }, properties: { auc: '0.81' } },
    });
    expect(model.id).toBe(`${ml.emulator.workspaceId}/models/churn/versions/${version}`);
    expect(model.properties).toMatchObject({ modelUri: 'azureml://datastores/workspaceblobstore/paths/models/churn/2/', tags: { stage: 'candidate' } });
    const event = ml.emulator.publishedEvents().find((e) => e.subject === `models/churn:${version}`);
    expect(event).toMatchObject({
      eventType: 'Microsoft.MachineLearningServices.ModelRegistered',
      topic: ml.emulator.workspaceId,
      data: { ModelName: 'churn', ModelVersion: version, ModelTags: { stage: 'candidate' }, ModelProperties: { auc: '0.81' } },
    });
  });

  it('with 30% of calls answered 429 or 503, the SDK retry policy completes every call and waits out each Retry-After', async () => {
    ml.emulator.setFaults({ seed: 20241122, http: { throttleFraction: 0.15, serverErrorFraction: 0.15, serverErrorStatuses: [503], retryAfterInSeconds: 1 } });
    try {
      for (let i = 0; i < 8; i++) {
        await ml.arm.batchEndpoints.get(rg, ws, sample.endpointName);
        for await (const d of ml.arm.batchDeployments.list(rg, ws, sample.endpointName)) expect(d.name).toMatch(/^churn-/);
      }
      // The data plane through a plain core-rest-pipeline client with the default retry policies.
      const pipeline = createPipelineFromOptions({});
      pipeline.addPolicy(bearerTokenAuthenticationPolicy({ credential: ml.issuer.credential(), scopes: ML_SCOPE }));
      pipeline.addPolicy(localCaTrustPolicy(ml.ca), { phase: 'Serialize' });
      const httpClient = createDefaultHttpClient();
      for (let i = 0; i < 3; i++) {
        const response = await pipeline.sendRequest(httpClient, createPipelineRequest({
          url: sample.scoringUri,
          method: 'POST',
          headers: createHttpHeaders({ 'content-type': 'application/json' }),
          body: JSON.stringify({ properties: { InputData: { data: { JobInputType: 'UriFolder', Uri: sample.sampleInputUri } }, Tags: { faults: 'on' } } }),
        }));
        expect(response.status).toBe(200);
      }
      const stats = ml.emulator.faultStats();
      expect(stats.throttled + stats.serverErrors).toBeGreaterThan(0);
      expect(stats.retriesAfterWaiting).toBe(stats.throttled + stats.serverErrors);
      expect(stats.prematureRetries).toBe(0);
    } finally {
      ml.emulator.setFaults({});
    }
    // Retried invokes do not submit twice: faults strike before a request is processed.
    const submitted = [];
    for await (const j of ml.arm.jobs.list(rg, ws, { tag: 'faults=on' })) submitted.push(j.name);
    expect(submitted).toHaveLength(3);
  });

  it('with dropped connections and slow answers, the SDK retry policy still completes its calls', async () => {
    ml.emulator.setFaults({ seed: 99, http: { dropConnectionFraction: 0.25, slowFraction: 0.25, slowResponseInMs: 30 } });
    try {
      for (let i = 0; i < 10; i++) expect((await ml.arm.batchEndpoints.get(rg, ws, sample.endpointName)).name).toBe(sample.endpointName);
      const stats = ml.emulator.faultStats();
      expect(stats.dropped).toBeGreaterThan(0);
      expect(stats.slowed).toBeGreaterThan(0);
    } finally {
      ml.emulator.setFaults({});
    }
  });

  it('takes fault settings through its admin route and refuses impossible ones', async () => {
    const url = `${ml.emulator.armBaseUrl}/admin/faults`;
    const set = await requestTrusting(ml.ca, url, { method: 'POST', body: JSON.stringify({ seed: 5, http: { throttleFraction: 1, surfaces: ['dataPlane'] } }) });
    expect(set.status).toBe(200);
    expect(set.json).toMatchObject({ settings: { seed: 5, http: { throttleFraction: 1 } }, stats: { requests: 0 } });
    const throttled = await ml.invoke(sample.endpointName, { properties: {} });
    expect(throttled.status).toBe(429);
    expect(throttled.headers['retry-after']).toBe('1');
    expect((await ml.arm.batchEndpoints.get(rg, ws, sample.endpointName)).name).toBe(sample.endpointName);
    const refused = await requestTrusting(ml.ca, url, { method: 'POST', body: JSON.stringify({ http: { throttleFraction: 0.8, serverErrorFraction: 0.4 } }) });
    expect(refused.status).toBe(400);
    expect((refused.json as { error: { message: string } }).error.message).toMatch(/must not exceed 1/);
    await requestTrusting(ml.ca, url, { method: 'POST', body: '{}' });
  });

  it('deletes a deployment with batchDeployments.beginDeleteAndWait, but not the endpoint\'s default', async () => {
    const endpoint = await ml.arm.batchEndpoints.get(rg, ws, sample.endpointName);
    const v1 = await ml.arm.batchDeployments.get(rg, ws, sample.endpointName, 'churn-v1');
    await ml.arm.batchDeployments.beginCreateOrUpdateAndWait(rg, ws, sample.endpointName, 'scratch', { location: v1.location, properties: v1.properties }, { updateIntervalInMs: 20 });
    await ml.arm.batchDeployments.beginDeleteAndWait(rg, ws, sample.endpointName, 'scratch', { updateIntervalInMs: 20 });
    await expect(ml.arm.batchDeployments.get(rg, ws, sample.endpointName, 'scratch')).rejects.toMatchObject({ statusCode: 404, code: 'ResourceNotFound' });
    await expect(ml.arm.batchDeployments.beginDeleteAndWait(rg, ws, sample.endpointName, endpoint.properties.defaults!.deploymentName!)).rejects.toMatchObject({ statusCode: 400 });
  });
});
