// Requests Azure refuses are refused by the emulator with the same status codes and ARM error shape,
// and with messages that say what is wrong and what to do: a client's classification of permanent
// (4xx) versus transient failures holds in both places.
import { DevTokenIssuer, uniqueName, requestTrusting } from '@batchpilot/local-platform';
import { generateChurnInputFiles } from '../../src/sample/churnModel';
import { SampleWorkspace, seedSampleWorkspace } from '../../src/sampleWorkspace';
import { LocalAzureMl, MANAGEMENT_SCOPE, ML_SCOPE, startLocalAzureMl } from '../../src/testing/localAzureMl';

type ErrorBody = { error: { code: string; message: string; details?: Array<{ code: string; target?: string }> } };

describe('Azure ML emulator refusing bad requests', () => {
  let ml: LocalAzureMl;
  let sample: SampleWorkspace;
  let input: string;

  const folderInput = (uri: string): unknown => ({ properties: { InputData: { data: { JobInputType: 'UriFolder', Uri: uri } } } });
  const errorOf = (json: unknown): ErrorBody['error'] => (json as ErrorBody).error;

  beforeAll(async () => {
    ml = await startLocalAzureMl();
    sample = await seedSampleWorkspace(ml.emulator, { credential: ml.issuer.credential(), ca: ml.ca, updateIntervalInMs: 20, sampleFiles: 1, sampleRowsPerFile: 2 });
    input = await ml.uploadFolder(uniqueName('bad'), generateChurnInputFiles({ files: 2, rowsPerFile: 2 }));
  });
  afterAll(async () => {
    await ml?.stop();
  });

  it('answers an unknown azureml-model-deployment header with 404 naming the existing deployments', async () => {
    const response = await ml.invoke(sample.endpointName, folderInput(input), { deployment: 'churn-v9' });
    expect(response.status).toBe(404);
    expect(errorOf(response.json).code).toBe('DeploymentNotFound');
    expect(errorOf(response.json).message).toMatch(/churn-v9.*churn-v1, churn-v2/s);
  });

  it('answers a body that is not JSON with 400 InvalidRequestContent', async () => {
    const response = await ml.invoke(sample.endpointName, undefined, { rawBody: '{"properties": {"InputData": ' });
    expect(response.status).toBe(400);
    expect(errorOf(response.json).code).toBe('InvalidRequestContent');
  });

  it('answers a body without properties, or with an unknown input type, with 400 UserError and a detail per problem', async () => {
    const noProperties = await ml.invoke(sample.endpointName, { InputData: {} });
    expect(noProperties.status).toBe(400);
    expect(errorOf(noProperties.json)).toMatchObject({ code: 'UserError', message: expect.stringContaining('"properties"') });

    const badType = await ml.invoke(sample.endpointName, { properties: { InputData: { data: { JobInputType: 'Folder', Uri: input } }, MiniBatchSize: 0 } });
    expect(badType.status).toBe(400);
    expect(errorOf(badType.json).code).toBe('UserError');
    expect(errorOf(badType.json).details?.map((d) => d.target)).toEqual(['InputData.data.JobInputType', 'miniBatchSize']);
  });

  it('refuses a model deployment job with no data input or with two', async () => {
    const none = await ml.invoke(sample.endpointName, { properties: { InputData: {} } });
    expect(none.status).toBe(400);
    expect(errorOf(none.json).message).toMatch(/exactly one data input/);
    const two = await ml.invoke(sample.endpointName, { properties: { InputData: { a: { JobInputType: 'UriFolder', Uri: input }, b: { JobInputType: 'UriFolder', Uri: input } } } });
    expect(two.status).toBe(400);
  });

  it('answers a management-audience token on the data plane with 401, as Azure does', async () => {
    const response = await ml.invoke(sample.endpointName, folderInput(input), { token: ml.issuer.issue(MANAGEMENT_SCOPE).token });
    expect(response.status).toBe(401);
    expect(errorOf(response.json).code).toBe('InvalidAuthenticationTokenAudience');
    expect(errorOf(response.json).message).toContain("'https://ml.azure.com'");
    expect(String(response.headers['www-authenticate'])).toMatch(/^Bearer .*error="invalid_token"/);
  });

  it('answers an ML-audience token on ARM, and a missing token anywhere, with 401', async () => {
    const armUrl = `${ml.emulator.armBaseUrl}${ml.emulator.workspaceId}/batchEndpoints?api-version=2022-10-01`;
    const wrong = await ml.request(armUrl, { token: ml.issuer.issue(ML_SCOPE).token });
    expect(wrong.status).toBe(401);
    expect(errorOf(wrong.json).code).toBe('InvalidAuthenticationTokenAudience');
    const missing = await requestTrusting(ml.ca, sample.scoringUri, { method: 'POST', body: '{}' });
    expect(missing.status).toBe(401);
    expect(errorOf(missing.json).code).toBe('AuthenticationFailed');
    const forged = await ml.invoke(sample.endpointName, folderInput(input), { token: new DevTokenIssuer().issue(ML_SCOPE).token });
    expect(forged.status).toBe(401);
    expect(errorOf(forged.json).code).toBe('InvalidAuthenticationToken');
  });

  it('refuses an input path that does not exist, naming it', async () => {
    const missingFolder = 'azureml://datastores/workspaceblobstore/paths/no/such/folder/';
    const response = await ml.invoke(sample.endpointName, folderInput(missingFolder));
    expect(response.status).toBe(400);
    expect(errorOf(response.json)).toMatchObject({ code: 'UserError', message: expect.stringContaining(missingFolder) });
    expect(errorOf(response.json).details?.[0]).toMatchObject({ code: 'InputNotFound', target: 'InputData.data.Uri' });

    const missingFile = await ml.invoke(sample.endpointName, { properties: { InputData: { data: { JobInputType: 'UriFile', Uri: `${input}nope.csv` } } } });
    expect(missingFile.status).toBe(400);
  });

  it('answers an unknown datastore or data asset in an input with 404', async () => {
    const datastore = await ml.invoke(sample.endpointName, folderInput('azureml://datastores/nostore/paths/x/'));
    expect(datastore.status).toBe(404);
    expect(errorOf(datastore.json).message).toContain("datastore 'nostore'");
    const asset = await ml.invoke(sample.endpointName, folderInput('azureml:no-such-data:3'));
    expect(asset.status).toBe(404);
    expect(errorOf(asset.json).message).toContain("data asset 'no-such-data:3'");
  });

  it('refuses an output path that already exists', async () => {
    const existing = `${input}part-000.csv`;
    const response = await ml.invoke(sample.endpointName, {
      properties: { InputData: { data: { JobInputType: 'UriFolder', Uri: input } }, OutputData: { score: { JobOutputType: 'UriFile', Uri: existing } } },
    });
    expect(response.status).toBe(400);
    expect(errorOf(response.json).message).toMatch(/already exists.*new output path/);
    expect(errorOf(response.json).details?.[0]).toMatchObject({ code: 'OutputAlreadyExists', target: 'OutputData.score.Uri' });
  });

  it('answers unknown endpoints, jobs, resource groups and api-versions with the codes ARM uses', async () => {
    const base = `${ml.emulator.armBaseUrl}${ml.emulator.workspaceId}`;
    const management = ml.issuer.issue(MANAGEMENT_SCOPE).token;
    const cases: Array<[string, number, string]> = [
      [`${base}/batchEndpoints/nope?api-version=2022-10-01`, 404, 'ResourceNotFound'],
      [`${base}/jobs/batchjob-nope?api-version=2022-10-01`, 404, 'ResourceNotFound'],
      [`${base}/models/nope/versions/1?api-version=2022-10-01`, 404, 'ResourceNotFound'],
      [`${base.replace(ml.emulator.resourceGroup, 'other-rg')}/batchEndpoints?api-version=2022-10-01`, 404, 'ResourceGroupNotFound'],
      [`${base}/batchEndpoints`, 400, 'MissingApiVersionParameter'],
      [`${base}/batchEndpoints?api-version=2021-03-01-preview`, 400, 'NoRegisteredProviderFound'],
      [`${base}/onlineEndpoints?api-version=2022-10-01`, 404, 'InvalidResourceType'],
    ];
    for (const [url, status, code] of cases) {
      const response = await ml.request(url, { token: management });
      expect({ url, status: response.status, code: errorOf(response.json).code }).toEqual({ url, status, code });
    }
    const unknownEndpoint = await ml.invoke('no-such-endpoint', folderInput(input));
    expect(unknownEndpoint.status).toBe(404);
  });

  it('refuses deployments that reference models or code that are not registered', async () => {
    const url = `${ml.emulator.armBaseUrl}${ml.emulator.workspaceId}/batchEndpoints/${sample.endpointName}/deployments/broken?api-version=2022-10-01`;
    const response = await ml.request(url, {
      method: 'PUT',
      token: ml.issuer.issue(MANAGEMENT_SCOPE).token,
      body: JSON.stringify({ location: ml.emulator.location, properties: { model: { referenceType: 'Id', assetId: 'azureml:churn:99' }, codeConfiguration: { codeId: sample.codeId, scoringScript: 'churn_score.js' } } }),
    });
    expect(response.status).toBe(404);
    expect(errorOf(response.json).message).toContain("model 'azureml:churn:99'");
  });
});
