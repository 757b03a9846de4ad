// Seeds the emulator with the sample workspace the local stack and the demo use: the churn scoring
// code and two versions of a logistic-regression churn model in storage, registered through the real
// ARM client; a batch endpoint `churn-scoring` with deployments `churn-v1` (default) and `churn-v2`;
// and a folder of sample customer CSV files registered as the data asset `churn-sample:1`.
// Seeding is idempotent, so a restarted stack with kept state can run it again.
import { AzureMachineLearningWorkspaces } from '@azure/arm-machinelearning';
import type { TokenCredential } from '@azure/core-auth';
import type { RunningAzureMlEmulator } from './azureMlEmulator';
import { clientOptionsTrusting } from '@batchpilot/local-platform';
import { CHURN_MODEL_VERSIONS, churnScoringModuleSource, generateChurnInputFiles } from './sample/churnModel';
import { WorkspaceStorage } from './workspaceStorage';

export interface SeedSampleWorkspaceOptions {
  /** A credential whose tokens the emulator accepts (e.g. `issuer.credential()`). */
  credential: TokenCredential;
  /** PEM of the CA the emulator's certificate chains to. */
  ca: string;
  endpointName?: string;
  /** Sample input files to upload (default 12 files of 25 rows). */
  sampleFiles?: number;
  sampleRowsPerFile?: number;
  /** Poll interval for the create operations. */
  updateIntervalInMs?: number;
}

export interface SampleWorkspace {
  endpointName: string;
  scoringUri: string;
  defaultDeploymentName: string;
  candidateDeploymentName: string;
  modelName: string;
  /** ARM IDs of the registered model versions. */
  modelIds: { v1: string; v2: string };
  codeId: string;
  scoringScript: string;
  /** Where the sample input CSV files are, and the data asset that names them. */
  sampleInputUri: string;
  sampleDataAsset: string;
  sampleRows: number;
}

export const SAMPLE_ENDPOINT_NAME = 'churn-scoring';
const CODE_NAME = 'churn-score';
const SCORING_SCRIPT = 'churn_score.js';

export async function seedSampleWorkspace(emulator: RunningAzureMlEmulator, options: SeedSampleWorkspaceOptions): Promise<SampleWorkspace> {
  const endpointName = options.endpointName ?? SAMPLE_ENDPOINT_NAME;
  const { resourceGroup: rg, workspaceName: ws, location } = emulator;
  const storage = new WorkspaceStorage(emulator.storageConnectionString);
  const container = emulator.defaultDatastoreContainer;
  const client = new AzureMachineLearningWorkspaces(options.credential, emulator.subscriptionId, {
    endpoint: emulator.armBaseUrl,
    credentialScopes: ['https://management.azure.com/.default'],
    ...clientOptionsTrusting(options.ca),
  });
  const poll = { updateIntervalInMs: options.updateIntervalInMs ?? 200 };

  await storage.upload(container, `code/${CODE_NAME}/1/${SCORING_SCRIPT}`, churnScoringModuleSource(), 'application/javascript');
  const code = await client.codeVersions.createOrUpdate(rg, ws, CODE_NAME, '1', {
    properties: { codeUri: `azureml://datastores/workspaceblobstore/paths/code/${CODE_NAME}/1/`, description: 'Scoring module of the sample churn deployments.' },
  });

  const modelIds = { v1: '', v2: '' };
  for (const version of ['1', '2'] as const) {
    const weights = CHURN_MODEL_VERSIONS[version];
    await storage.upload(container, `models/churn/${version}/model.json`, JSON.stringify(weights, null, 2), 'application/json');
    const model = await client.modelVersions.createOrUpdate(rg, ws, 'churn', version, {
      properties: {
        modelUri: `azureml://datastores/workspaceblobstore/paths/models/churn/${version}/`,
        modelType: 'custom_model',
        description: `Logistic-regression churn model, weights v${version}.`,
        tags: { algorithm: 'logistic-regression', task: 'churn' },
        properties: { features: weights.features.map((f) => f.name).join(',') },
      },
    });
    modelIds[`v${version}`] = model.id!;
  }

  await client.batchEndpoints.beginCreateOrUpdateAndWait(rg, ws, endpointName, {
    location,
    tags: { sample: 'churn' },
    properties: { authMode: 'AADToken', description: 'Scores customers for churn risk (batchpilot sample).' },
  }, poll);
  const deploymentNames = { v1: 'churn-v1', v2: 'churn-v2' };
  for (const version of ['v1', 'v2'] as const) {
    await client.batchDeployments.beginCreateOrUpdateAndWait(rg, ws, endpointName, deploymentNames[version], {
      location,
      tags: { model: `churn:${version.slice(1)}` },
      properties: {
        description: `Churn model ${version} on the local batch cluster.`,
        model: { referenceType: 'Id', assetId: modelIds[version] },
        codeConfiguration: { codeId: code.id!, scoringScript: SCORING_SCRIPT },
        compute: `${emulator.workspaceId}/computes/batch-cluster`,
        resources: { instanceCount: 2 },
        maxConcurrencyPerInstance: 2,
        miniBatchSize: 10,
        errorThreshold: -1,
        retrySettings: { maxRetries: 2, timeout: 'PT30S' },
        outputAction: 'AppendRow',
        outputFileName: 'predictions.csv',
        loggingLevel: 'Info',
      },
    }, poll);
  }
  // Azure's PATCH (SDK 2.1.1) carries tags and identity only, so the default is set with a PUT.
  await client.batchEndpoints.beginCreateOrUpdateAndWait(rg, ws, endpointName, {
    location,
    tags: { sample: 'churn' },
    properties: { authMode: 'AADToken', description: 'Scores customers for churn risk (batchpilot sample).', defaults: { deploymentName: deploymentNames.v1 } },
  }, poll);

  const files = generateChurnInputFiles({ files: options.sampleFiles ?? 12, rowsPerFile: options.sampleRowsPerFile ?? 25, seed: 7 });
  for (const file of files) await storage.upload(container, `samples/churn/inputs/${file.name}`, file.content, 'text/csv');
  const sampleInputUri = 'azureml://datastores/workspaceblobstore/paths/samples/churn/inputs/';
  await client.dataVersions.createOrUpdate(rg, ws, 'churn-sample', '1', {
    properties: { dataType: 'uri_folder', dataUri: sampleInputUri, description: 'Sample customers to score for churn.' },
  });

  return {
    endpointName,
    scoringUri: emulator.scoringUri(endpointName),
    defaultDeploymentName: deploymentNames.v1,
    candidateDeploymentName: deploymentNames.v2,
    modelName: 'churn',
    modelIds,
    codeId: code.id!,
    scoringScript: SCORING_SCRIPT,
    sampleInputUri,
    sampleDataAsset: 'azureml:churn-sample:1',
    sampleRows: files.reduce((n, f) => n + f.rows, 0),
  };
}
