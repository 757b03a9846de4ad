// Clients of a running local stack that tools outside the app need (the soak, the end-to-end tests):
// the ARM client for its Azure ML emulator, the host's keys, the durable instances on the app's task
// hub, and the workspace steps an engineer would take by hand — a batch endpoint whose default serves
// the sample churn model, a model version registered through ARM (so the emulator announces it).
import * as fs from 'node:fs';
import { AzureMachineLearningWorkspaces } from '@azure/arm-machinelearning';
import type { BlobServiceClient } from '@azure/storage-blob';
import { clientOptionsTrusting } from '@batchpilot/local-platform';
import { CHURN_MODEL_VERSIONS, ChurnModelWeights } from '@batchpilot/azureml-emulator';
import type { FunctionKeys } from '@batchpilot/local-host';
import type { RunningLocalStack } from './localStack';
import { TableClient } from '@azure/data-tables';
import { acceptedRunsTableName } from '../../azure/runAcceptance';

const LRO_POLL = { updateIntervalInMs: 100 };

/** An ARM client for the stack's Azure ML emulator; `maxRetries` for callers that run while faults are injected. */
export function armClientFor(stack: RunningLocalStack, options: { maxRetries?: number } = {}): AzureMachineLearningWorkspaces {
  return new AzureMachineLearningWorkspaces(stack.issuer.credential(), stack.azureMl.subscriptionId, {
    endpoint: stack.azureMl.armBaseUrl,
    credentialScopes: ['https://management.azure.com/.default'],
    ...(options.maxRetries !== undefined ? { retryOptions: { maxRetries: options.maxRetries, retryDelayInMs: 200, maxRetryDelayInMs: 2000 } } : {}),
    ...clientOptionsTrusting(stack.cert.ca),
  });
}

/** The running host's keys (`<data dir>/keys.json`); they stay the same across restarts on the same state. */
export function functionKeysOf(stack: RunningLocalStack): FunctionKeys {
  if (!stack.host) throw new Error('The local stack has no running Functions host.');
  return JSON.parse(fs.readFileSync(stack.host.keysFile, 'utf8')) as FunctionKeys;
}

export interface DurableInstance {
  name: string;
  instanceId: string;
  runtimeStatus: string;
  input?: unknown;
  output?: unknown;
  customStatus?: unknown;
  createdTime?: string;
  lastUpdatedTime?: string;
}

/** Every instance on the app's task hub, read page by page from the host's durable HTTP API. */
export async function listDurableInstances(stack: RunningLocalStack, options: { showInput?: boolean } = {}): Promise<DurableInstance[]> {
  const key = functionKeysOf(stack).systemKeys.durabletask_extension;
  const all: DurableInstance[] = [];
  let continuation: string | undefined;
  do {
    const url = `${stack.hostUrl}/runtime/webhooks/durabletask/instances?top=500&showInput=${options.showInput === true}&code=${encodeURIComponent(key)}`;
    const res = await fetch(url, { headers: continuation ? { 'x-ms-continuation-token': continuation } : {} });
    if (!res.ok) throw new Error(`Listing durable instances answered ${res.status}: ${(await res.text()).slice(0, 300)}`);
    all.push(...((await res.json()) as DurableInstance[]));
    continuation = res.headers.get('x-ms-continuation-token') ?? undefined;
  } while (continuation);
  return all;
}

/** A batch endpoint whose default is `<endpoint>-base`, a copy of the sample's default deployment (model churn:1). */
export async function createEndpointLikeSample(stack: RunningLocalStack, arm: AzureMachineLearningWorkspaces, endpoint: string): Promise<{ baseline: string }> {
  const rg = stack.azureMl.resourceGroup;
  const ws = stack.azureMl.workspaceName;
  const location = stack.azureMl.location;
  const sample = await arm.batchDeployments.get(rg, ws, stack.sample.endpointName, stack.sample.defaultDeploymentName);
  await arm.batchEndpoints.beginCreateOrUpdateAndWait(rg, ws, endpoint, { location, properties: { authMode: 'AADToken' } }, LRO_POLL);
  const baseline = `${endpoint}-base`;
  const { provisioningState: _state, ...properties } = sample.properties;
  await arm.batchDeployments.beginCreateOrUpdateAndWait(rg, ws, endpoint, baseline, { location, properties }, LRO_POLL);
  await arm.batchEndpoints.beginCreateOrUpdateAndWait(rg, ws, endpoint, { location, properties: { authMode: 'AADToken', defaults: { deploymentName: baseline } } }, LRO_POLL);
  return { baseline };
}

/**
 * Uploads a churn model version's weights to the workspace's default datastore and registers it
 * through ARM; the emulator then publishes ModelRegistered to the workspace topic.
 */
export async function registerChurnModelVersion(
  stack: RunningLocalStack,
  arm: AzureMachineLearningWorkspaces,
  data: BlobServiceClient,
  model: { name: string; version: string; weights: Partial<ChurnModelWeights> | Record<string, unknown>; tags?: Record<string, string> },
): Promise<string> {
  const body = JSON.stringify({ ...CHURN_MODEL_VERSIONS['1'], name: model.name, version: model.version, ...model.weights });
  const folder = `models/${model.name}/${model.version}`;
  await data.getContainerClient(stack.azureMl.defaultDatastoreContainer).getBlockBlobClient(`${folder}/model.json`).upload(body, Buffer.byteLength(body));
  const registered = await arm.modelVersions.createOrUpdate(stack.azureMl.resourceGroup, stack.azureMl.workspaceName, model.name, model.version, {
    properties: { modelUri: `azureml://datastores/workspaceblobstore/paths/${folder}/`, modelType: 'custom_model', tags: model.tags ?? { stage: 'candidate' } },
  });
  return registered.id!;
}

/** How many runs the intake accepted that the run-start timer has not started yet (0 before the table exists). */
export async function acceptedRunsWaiting(stack: RunningLocalStack): Promise<number> {
  const table = TableClient.fromConnectionString(stack.runtimeConnectionString, acceptedRunsTableName(stack.appSettings.BATCHPILOT_TASK_HUB), { allowInsecureConnection: true });
  let n = 0;
  try {
    for await (const page of table.listEntities({ queryOptions: { select: ['RowKey'] } }).byPage({ maxPageSize: 1000 })) n += page.length;
  } catch (err) {
    if ((err as { statusCode?: number }).statusCode !== 404) throw err;
  }
  return n;
}
