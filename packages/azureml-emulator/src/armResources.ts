// How the emulator's records look on the wire: ARM resources (batch endpoints and deployments, jobs,
// model/code/data/component versions, datastores) shaped as the swagger of the request's api-version
// says, and the batch data plane's BatchJobResource. Kept apart from routing so contract tests and
// the routes agree on one rendering.
import type {
  AssetKind, AssetVersionRecord, BatchDeploymentRecord, BatchEndpointRecord, BatchJobRecord, DatastoreRecord,
  JobStatus, SystemDataRecord, TrackedResourceRecord,
} from './workspaceStore';
import { TERMINAL_JOB_STATUSES } from './workspaceStore';
import { createHash } from 'node:crypto';
import type { JsonObject, JsonValue } from './wireTypes';

/** `@azure/arm-machinelearning` 2.1.1 sends 2022-10-01; 2024-04-01 adds pipeline-component deployments. */
export const SUPPORTED_API_VERSIONS = ['2022-10-01', '2024-04-01'] as const;
export type ApiVersion = (typeof SUPPORTED_API_VERSIONS)[number];

export const PROVIDER = 'Microsoft.MachineLearningServices';

export interface WorkspaceScope {
  subscriptionId: string;
  resourceGroup: string;
  workspaceName: string;
  location: string;
  tenantId: string;
  /** `/subscriptions/.../workspaces/{ws}` */
  workspaceId: string;
  /** The emulator's https origin, e.g. `https://127.0.0.1:8443`. */
  baseUrl: string;
}

export function workspaceIdOf(subscriptionId: string, resourceGroup: string, workspaceName: string): string {
  return `/subscriptions/${subscriptionId}/resourceGroups/${resourceGroup}/providers/${PROVIDER}/workspaces/${workspaceName}`;
}

/** A stable GUID per workspace, as Azure gives each workspace one (its `workspaceId`, default container names). */
export function workspaceGuidOf(workspaceId: string): string {
  const hex = createHash('sha256').update(workspaceId.toLowerCase()).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

/** The workspace itself (machineLearningServices.json `Workspace`), for clients that read its properties. */
export function workspaceResource(scope: WorkspaceScope, storageAccountName: string, createdAt: string): JsonObject {
  const guid = workspaceGuidOf(scope.workspaceId);
  const group = `/subscriptions/${scope.subscriptionId}/resourceGroups/${scope.resourceGroup}/providers`;
  return {
    id: scope.workspaceId,
    name: scope.workspaceName,
    type: `${PROVIDER}/workspaces`,
    location: scope.location,
    tags: {},
    sku: { name: 'Basic', tier: 'Basic' },
    identity: { type: 'SystemAssigned', principalId: guid, tenantId: scope.tenantId },
    properties: {
      workspaceId: guid,
      friendlyName: scope.workspaceName,
      provisioningState: 'Succeeded',
      storageAccount: `${group}/Microsoft.Storage/storageAccounts/${storageAccountName}`,
      tenantId: scope.tenantId,
      publicNetworkAccess: 'Enabled',
      v1LegacyMode: false,
      hbiWorkspace: false,
    },
    systemData: systemData({ createdAt, createdBy: 'azureml-emulator', lastModifiedAt: createdAt, lastModifiedBy: 'azureml-emulator' }),
  };
}

/** Where a batch endpoint's data plane is served; Azure's is `https://{endpoint}.{region}.inference.ml.azure.com/jobs`. */
export function scoringUriOf(scope: WorkspaceScope, endpointName: string): string {
  return `${scope.baseUrl}/inference/${encodeURIComponent(endpointName)}/jobs`;
}

export function studioUrlOf(scope: WorkspaceScope, jobName: string): string {
  return `${scope.baseUrl}/studio/runs/${encodeURIComponent(jobName)}?wsid=${encodeURIComponent(scope.workspaceId)}&tid=${scope.tenantId}`;
}

function systemData(record: SystemDataRecord): JsonObject {
  return {
    createdAt: record.createdAt,
    createdBy: record.createdBy,
    createdByType: 'Application',
    lastModifiedAt: record.lastModifiedAt,
    lastModifiedBy: record.lastModifiedBy,
    lastModifiedByType: 'Application',
  };
}

function pick(source: JsonObject, keys: readonly string[]): JsonObject {
  const out: JsonObject = {};
  for (const key of keys) if (source[key] !== undefined) out[key] = source[key];
  return out;
}

function trackedEnvelope(record: TrackedResourceRecord, id: string, type: string, properties: JsonObject): JsonObject {
  const body: JsonObject = { id, name: record.name, type, location: record.location, tags: record.tags, properties, systemData: systemData(record.systemData) };
  if (record.kind !== undefined) body.kind = record.kind;
  if (record.identity !== undefined) body.identity = record.identity;
  if (record.sku !== undefined) body.sku = record.sku;
  return body;
}

export const ENDPOINT_PROPERTY_KEYS = ['authMode', 'description', 'properties', 'defaults'] as const;

export function batchEndpointResource(scope: WorkspaceScope, endpoint: BatchEndpointRecord): JsonObject {
  const properties: JsonObject = {
    ...pick(endpoint.properties, ENDPOINT_PROPERTY_KEYS),
    scoringUri: scoringUriOf(scope, endpoint.name),
    provisioningState: endpoint.provisioningState,
  };
  return trackedEnvelope(endpoint, `${scope.workspaceId}/batchEndpoints/${endpoint.name}`, `${PROVIDER}/workspaces/batchEndpoints`, properties);
}

const DEPLOYMENT_KEYS_2022 = [
  'codeConfiguration', 'description', 'environmentId', 'environmentVariables', 'properties', 'compute', 'errorThreshold',
  'loggingLevel', 'maxConcurrencyPerInstance', 'miniBatchSize', 'model', 'outputAction', 'outputFileName', 'resources', 'retrySettings',
] as const;
const DEPLOYMENT_KEYS_2024 = [...DEPLOYMENT_KEYS_2022, 'deploymentConfiguration'] as const;

export function deploymentPropertyKeys(apiVersion: ApiVersion): readonly string[] {
  return apiVersion === '2022-10-01' ? DEPLOYMENT_KEYS_2022 : DEPLOYMENT_KEYS_2024;
}

/** Defaults Azure fills in and returns (swagger `default`s of BatchDeployment). */
export const DEPLOYMENT_DEFAULTS = {
  errorThreshold: -1,
  loggingLevel: 'Info',
  maxConcurrencyPerInstance: 1,
  miniBatchSize: 10,
  outputAction: 'AppendRow',
  outputFileName: 'predictions.csv',
  retrySettings: { maxRetries: 3, timeout: 'PT30S' },
  resources: { instanceCount: 1 },
} satisfies JsonObject;

export function batchDeploymentResource(scope: WorkspaceScope, deployment: BatchDeploymentRecord, apiVersion: ApiVersion): JsonObject {
  const isPipeline = isPipelineComponentDeployment(deployment.properties);
  // Pipeline-component deployments carry no model-job settings; model deployments get Azure's defaults.
  const withDefaults: JsonObject = isPipeline ? { ...deployment.properties } : { ...DEPLOYMENT_DEFAULTS, ...deployment.properties };
  const properties: JsonObject = { ...pick(withDefaults, deploymentPropertyKeys(apiVersion)), provisioningState: deployment.provisioningState };
  return trackedEnvelope(
    deployment,
    `${scope.workspaceId}/batchEndpoints/${deployment.endpointName}/deployments/${deployment.name}`,
    `${PROVIDER}/workspaces/batchEndpoints/deployments`,
    properties,
  );
}

export function isPipelineComponentDeployment(properties: JsonObject): boolean {
  const config = properties.deploymentConfiguration;
  return typeof config === 'object' && config !== null && !Array.isArray(config) && config.deploymentConfigurationType === 'PipelineComponent';
}

const ASSET_KEYS: Record<AssetKind, readonly string[]> = {
  models: ['flavors', 'jobName', 'modelType', 'modelUri'],
  codes: ['codeUri'],
  data: ['dataType', 'dataUri'],
  components: ['componentSpec'],
};
const ASSET_BASE_KEYS = ['description', 'tags', 'properties', 'isAnonymous', 'isArchived'] as const;

export function assetPropertyKeys(kind: AssetKind): readonly string[] {
  return [...ASSET_BASE_KEYS, ...ASSET_KEYS[kind]];
}

export function assetVersionResource(scope: WorkspaceScope, asset: AssetVersionRecord, apiVersion: ApiVersion): JsonObject {
  const properties: JsonObject = {
    isAnonymous: false,
    isArchived: false,
    tags: {},
    properties: {},
    ...pick(asset.properties, assetPropertyKeys(asset.kind)),
  };
  if (apiVersion !== '2022-10-01' && asset.kind !== 'data') properties.provisioningState = 'Succeeded';
  return {
    id: `${scope.workspaceId}/${asset.kind}/${asset.name}/versions/${asset.version}`,
    name: asset.version,
    type: `${PROVIDER}/workspaces/${asset.kind}/versions`,
    properties,
    systemData: systemData(asset.systemData),
  };
}

/** An asset container (e.g. `models/{name}`), derived from its versions as Azure ML does. */
export function assetContainerResource(scope: WorkspaceScope, kind: AssetKind, name: string, versions: AssetVersionRecord[], apiVersion: ApiVersion): JsonObject {
  const latest = versions[versions.length - 1];
  const first = versions[0];
  const numeric = versions.map((v) => Number(v.version)).filter(Number.isFinite);
  const properties: JsonObject = {
    isArchived: false,
    tags: {},
    properties: {},
    latestVersion: latest.version,
    nextVersion: String((numeric.length ? Math.max(...numeric) : 0) + 1),
  };
  if (apiVersion !== '2022-10-01' && kind !== 'data') properties.provisioningState = 'Succeeded';
  return {
    id: `${scope.workspaceId}/${kind}/${name}`,
    name,
    type: `${PROVIDER}/workspaces/${kind}`,
    properties,
    systemData: systemData({ ...first.systemData, lastModifiedAt: latest.systemData.lastModifiedAt, lastModifiedBy: latest.systemData.lastModifiedBy }),
  };
}

export function datastoreResource(scope: WorkspaceScope, datastore: DatastoreRecord): JsonObject {
  return {
    id: `${scope.workspaceId}/datastores/${datastore.name}`,
    name: datastore.name,
    type: `${PROVIDER}/workspaces/datastores`,
    properties: datastore.properties,
    systemData: systemData(datastore.systemData),
  };
}

function jobProvisioningState(status: JobStatus): string {
  if (!TERMINAL_JOB_STATUSES.includes(status)) return 'InProgress';
  return status === 'Completed' ? 'Succeeded' : status === 'Failed' ? 'Failed' : 'Canceled';
}

/** A batch job as ARM's `jobs` API shows it: Azure runs batch jobs as pipeline jobs. */
export function jobResource(scope: WorkspaceScope, job: BatchJobRecord, _apiVersion: ApiVersion): JsonObject {
  const inputs: JsonObject = {};
  for (const [name, input] of Object.entries(job.inputs)) {
    inputs[name] = input.kind === 'literal'
      ? { jobInputType: 'literal', value: input.value }
      : { jobInputType: input.kind, uri: input.uri, mode: input.mode ?? 'ReadOnlyMount' };
  }
  const outputs: JsonObject = {};
  for (const [name, output] of Object.entries(job.outputs)) {
    outputs[name] = { jobOutputType: output.kind, uri: output.uri, mode: output.kind === 'uri_file' ? 'Upload' : 'ReadWriteMount' };
  }
  const properties: JsonObject = {
    tags: job.tags,
    properties: job.properties,
    displayName: job.displayName,
    status: job.status,
    experimentName: job.experimentName,
    services: { Studio: { jobServiceType: 'Studio', endpoint: studioUrlOf(scope, job.name) } },
    isArchived: job.isArchived,
    jobType: 'Pipeline',
    inputs,
    outputs,
    settings: {},
    jobs: {},
  };
  if (job.description !== undefined) properties.description = job.description;
  if (job.computeId !== undefined) properties.computeId = job.computeId;
  if (job.deployment.componentId !== undefined) properties.componentId = job.deployment.componentId;
  return {
    id: `${scope.workspaceId}/jobs/${job.name}`,
    name: job.name,
    type: `${PROVIDER}/workspaces/jobs`,
    properties,
    systemData: systemData(job.systemData),
  };
}

function toDataPlaneInputType(kind: string): string {
  return ({ uri_file: 'UriFile', uri_folder: 'UriFolder', mltable: 'MLTable', literal: 'Literal', custom_model: 'CustomModel', mlflow_model: 'MLFlowModel' } as Record<string, string>)[kind] ?? kind;
}

/** The batch data plane's view of a job (BatchJobResource, 2020-09-01-dataplanepreview). */
export function batchJobDataPlaneResource(scope: WorkspaceScope, job: BatchJobRecord, logsDatastore: { datastore: string; path: string }): JsonObject {
  const inputData: JsonObject = {};
  for (const [name, input] of Object.entries(job.inputs)) {
    inputData[name] = input.kind === 'literal'
      ? { jobInputType: 'Literal', value: input.value }
      : { jobInputType: toDataPlaneInputType(input.kind), uri: input.uri, mode: input.mode ?? 'ReadOnlyMount' };
  }
  const outputData: JsonObject = {};
  for (const [name, output] of Object.entries(job.outputs)) {
    outputData[name] = { jobOutputType: output.kind === 'uri_file' ? 'UriFile' : 'UriFolder', uri: output.uri, mode: output.kind === 'uri_file' ? 'Upload' : 'ReadWriteMount' };
  }
  const compute: JsonObject = { instanceCount: job.settings.instanceCount };
  if (job.computeId !== undefined) compute.target = job.computeId;
  const properties: JsonObject = {
    name: job.name,
    compute,
    errorThreshold: job.settings.errorThreshold,
    inputData,
    outputData,
    interactionEndpoints: { Studio: { endpoint: studioUrlOf(scope, job.name), jobEndpointType: 'Studio' } },
    loggingLevel: job.settings.loggingLevel,
    maxConcurrencyPerInstance: job.settings.maxConcurrencyPerInstance,
    miniBatchSize: job.settings.miniBatchSize,
    output: { datastoreId: `${scope.workspaceId}/datastores/${logsDatastore.datastore}`, path: logsDatastore.path },
    outputFileName: job.settings.outputFileName,
    properties: job.properties,
    provisioningState: jobProvisioningState(job.status),
    retrySettings: { maxRetries: job.settings.maxRetries, timeout: isoDuration(job.settings.timeoutInMs) },
    status: job.status,
    tags: job.tags,
  };
  if (job.description !== undefined) properties.description = job.description;
  return {
    id: `${scope.workspaceId}/batchEndpoints/${job.endpointName}/jobs/${job.name}`,
    name: job.name,
    type: `${PROVIDER}/workspaces/batchEndpoints/jobs`,
    properties,
    systemData: systemData(job.systemData),
  };
}

export function isoDuration(durationInMs: number): string {
  const seconds = durationInMs / 1000;
  return Number.isInteger(seconds) ? `PT${seconds}S` : `PT${seconds.toFixed(3)}S`;
}

/** Parses the ISO 8601 durations Azure ML takes (`PT30S`, `PT5M`, `PT1H30M`, `P1D`). */
export function parseIsoDuration(text: string): number | undefined {
  const m = /^P(?:(\d+(?:\.\d+)?)D)?(?:T(?:(\d+(?:\.\d+)?)H)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)S)?)?$/.exec(text.trim());
  if (!m || text.trim() === 'P' || text.trim().endsWith('T')) return undefined;
  const [, d, h, mi, s] = m.map((x) => (x === undefined ? 0 : Number(x)));
  return Math.round((((d * 24 + h) * 60 + mi) * 60 + s) * 1000);
}

export function paginated(items: JsonValue[], nextLink?: string): JsonObject {
  const page: JsonObject = { value: items };
  if (nextLink) page.nextLink = nextLink;
  return page;
}
