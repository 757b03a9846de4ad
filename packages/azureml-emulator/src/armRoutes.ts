// The ARM management API subset batchpilot uses, at the api-versions the SDK sends: batch endpoints and
// deployments (get, list, create/update as long-running operations with Azure-AsyncOperation, update and
// delete with Location), jobs (get, list with tag filter, cancel → 202 + Location), model/code/data/
// component versions and datastores, plus the operation status and result URLs the SDK's pollers follow.
import { randomUUID } from 'node:crypto';
import { ArmError, resourceNotFound, userError } from './armErrors';
import {
  ApiVersion, assetContainerResource, assetPropertyKeys, assetVersionResource, batchDeploymentResource, batchEndpointResource,
  datastoreResource, DEPLOYMENT_DEFAULTS, deploymentPropertyKeys, ENDPOINT_PROPERTY_KEYS, isPipelineComponentDeployment,
  jobResource, paginated, parseIsoDuration, PROVIDER, SUPPORTED_API_VERSIONS, workspaceResource,
} from './armResources';
import type { EmulatorServices, HttpExchange, HttpReply } from './emulatorServices';
import { jsonBodyOf } from './emulatorServices';
import { modelRegisteredEvent } from './mlSystemEvents';
import type {
  ArmOperationRecord, AssetKind, BatchDeploymentRecord, BatchEndpointRecord, BatchJobRecord, SystemDataRecord,
} from './workspaceStore';
import { TERMINAL_JOB_STATUSES } from './workspaceStore';
import type { JsonObject, JsonValue } from './wireTypes';
import { isJsonObject } from './wireTypes';

const PAGE_SIZE = 100;
const ENDPOINT_NAME = /^[a-zA-Z][a-zA-Z0-9-]{2,31}$/;
const DEPLOYMENT_NAME = /^[a-zA-Z0-9][a-zA-Z0-9\-_]{0,254}$/;
const ASSET_NAME = /^[a-zA-Z0-9][a-zA-Z0-9\-_.]{0,254}$/;

interface ArmRequest {
  exchange: HttpExchange;
  apiVersion: ApiVersion;
  /** Path segments after `/workspaces/{ws}/`. */
  rest: string[];
}

export async function handleArmRequest(services: EmulatorServices, exchange: HttpExchange): Promise<HttpReply> {
  const segments = exchange.url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
  const { scope } = services;
  const lower = segments.map((s) => s.toLowerCase());
  if (lower[0] !== 'subscriptions' || segments.length < 2) throw notServed(exchange);
  if (segments[1].toLowerCase() !== scope.subscriptionId.toLowerCase()) {
    throw new ArmError(404, 'SubscriptionNotFound', `The subscription '${segments[1]}' could not be found.`);
  }
  const apiVersion = apiVersionOf(services, exchange, lower);
  // Operation status (Azure-AsyncOperation) and result (Location) URLs sit under the provider's location.
  if (lower[2] === 'providers' && lower[3] === PROVIDER.toLowerCase() && lower[4] === 'locations' && segments.length === 8) {
    return handleOperation(services, exchange, lower[6], segments[7], apiVersion);
  }
  if (lower[2] !== 'resourcegroups' || segments.length < 4) throw notServed(exchange);
  if (segments[3].toLowerCase() !== scope.resourceGroup.toLowerCase()) {
    throw new ArmError(404, 'ResourceGroupNotFound', `Resource group '${segments[3]}' could not be found.`);
  }
  if (lower[4] !== 'providers' || lower[5] !== PROVIDER.toLowerCase() || lower[6] !== 'workspaces' || segments.length < 8) throw notServed(exchange);
  if (segments[7].toLowerCase() !== scope.workspaceName.toLowerCase()) {
    throw resourceNotFound(`${PROVIDER}/workspaces/${segments[7]}`, segments[3]);
  }
  const request: ArmRequest = { exchange, apiVersion, rest: segments.slice(8) };
  if (request.rest.length === 0) {
    if (exchange.method !== 'GET') throw methodNotAllowed(exchange, ['GET']);
    const datastore = services.store.getDatastore('workspaceblobstore');
    return { status: 200, body: workspaceResource(scope, services.storage.accountName, datastore?.systemData.createdAt ?? new Date(0).toISOString()) };
  }
  const kind = request.rest[0]?.toLowerCase();
  switch (kind) {
    case 'batchendpoints':
      return handleBatchEndpoints(services, request);
    case 'jobs':
      return handleJobs(services, request);
    case 'models':
    case 'codes':
    case 'data':
    case 'components':
      return handleAssets(services, request, kind);
    case 'datastores':
      return handleDatastores(services, request);
    default:
      throw notServed(exchange);
  }
}

function apiVersionOf(services: EmulatorServices, exchange: HttpExchange, lower: string[]): ApiVersion {
  const apiVersion = exchange.url.searchParams.get('api-version');
  if (!apiVersion) {
    throw new ArmError(400, 'MissingApiVersionParameter', "The api-version query parameter (?api-version=) is required for all requests.");
  }
  if (!(SUPPORTED_API_VERSIONS as readonly string[]).includes(apiVersion)) {
    const type = lower.slice(6).filter((_, i) => i % 2 === 0).join('/') || 'workspaces';
    throw new ArmError(400, 'NoRegisteredProviderFound',
      `No registered resource provider found for location '${services.scope.location}' and API version '${apiVersion}' for type '${type}'. ` +
        `The supported api-versions are '${SUPPORTED_API_VERSIONS.join(', ')}'.`);
  }
  return apiVersion as ApiVersion;
}

function notServed(exchange: HttpExchange): ArmError {
  return new ArmError(404, 'InvalidResourceType',
    `The resource type of '${exchange.url.pathname}' could not be found in the namespace '${PROVIDER}' served by the local Azure ML emulator ` +
      '(it serves batchEndpoints, batchEndpoints/deployments, jobs, models, codes, data, components and datastores of one workspace).');
}

function methodNotAllowed(exchange: HttpExchange, allowed: string[]): ArmError {
  return new ArmError(405, 'HttpMethodNotAllowed', `The HTTP method '${exchange.method}' is not supported on '${exchange.url.pathname}'. Use ${allowed.join(' or ')}.`);
}

function newSystemData(caller: string, previous?: SystemDataRecord): SystemDataRecord {
  const now = new Date().toISOString();
  return previous
    ? { ...previous, lastModifiedAt: now, lastModifiedBy: caller }
    : { createdAt: now, createdBy: caller, lastModifiedAt: now, lastModifiedBy: caller };
}

/** One page of a list, with an absolute nextLink carrying `$skip` as Azure ML's lists do. */
function page(exchange: HttpExchange, items: JsonValue[], pageSize = PAGE_SIZE): JsonObject {
  const skip = Math.max(0, Number(exchange.url.searchParams.get('$skip') ?? 0) || 0);
  const slice = items.slice(skip, skip + pageSize);
  let nextLink: string | undefined;
  if (skip + pageSize < items.length) {
    const next = new URL(exchange.url.href);
    next.searchParams.set('$skip', String(skip + pageSize));
    nextLink = next.href;
  }
  return paginated(slice, nextLink);
}

function readObjectBody(exchange: HttpExchange): JsonObject {
  const body = jsonBodyOf(exchange);
  if (!isJsonObject(body)) throw new ArmError(400, 'InvalidRequestContent', 'The request content was invalid and could not be deserialized: the body must be a JSON object.');
  return body;
}

function stringMap(value: JsonValue | undefined, what: string): Record<string, string> {
  if (value === undefined || value === null) return {};
  if (!isJsonObject(value)) throw userError(`${what} must be an object of strings.`);
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(value)) {
    if (v === null) continue;
    if (typeof v !== 'string') throw userError(`${what}['${k}'] must be a string.`);
    out[k] = v;
  }
  return out;
}

// ---------------------------------------------------------------- long-running operations

function operationUrls(services: EmulatorServices, operation: ArmOperationRecord): { status: string; result: string } {
  const { scope } = services;
  const base = `${scope.baseUrl}/subscriptions/${scope.subscriptionId}/providers/${PROVIDER}/locations/${scope.location}`;
  const query = `?api-version=${operation.apiVersion}`;
  return { status: `${base}/mfeOperationsStatus/${operation.id}${query}`, result: `${base}/mfeOperationResults/${operation.id}${query}` };
}

function retryAfter(services: EmulatorServices): Record<string, string> {
  return services.lroRetryAfterInSeconds > 0 ? { 'Retry-After': String(services.lroRetryAfterInSeconds) } : {};
}

/** Starts an operation that completes after the configured delay by running `complete`. */
function startOperation(services: EmulatorServices, target: ArmOperationRecord['target'], apiVersion: ApiVersion, complete: () => void): ArmOperationRecord {
  const operation: ArmOperationRecord = {
    id: `${target.kind === 'jobCancel' ? 'jc' : 'op'}:${randomUUID()}`,
    target,
    status: 'InProgress',
    startTime: new Date().toISOString(),
    apiVersion,
  };
  services.store.putOperation(operation);
  const finish = (): void => {
    if (operation.status !== 'InProgress') return;
    try {
      complete();
      operation.status = 'Succeeded';
    } catch (e) {
      operation.status = 'Failed';
      operation.error = e instanceof ArmError ? { code: e.code, message: e.message } : { code: 'InternalServerError', message: String(e) };
    }
    operation.endTime = new Date().toISOString();
    services.store.putOperation(operation);
  };
  // A job cancel completes when the job reaches Canceled; the runner drives that.
  if (target.kind !== 'jobCancel') services.schedule(services.armOperationDelayInMs, finish);
  return operation;
}

/** Completes operations a previous emulator process left in progress (called at start). */
export function settleRestoredOperations(services: EmulatorServices): void {
  for (const operation of services.store.operations.values()) {
    if (operation.status !== 'InProgress' || operation.target.kind === 'jobCancel') continue;
    const target = operation.target;
    if (target.kind === 'endpoint') {
      const endpoint = services.store.getEndpoint(target.endpointName);
      if (endpoint?.provisioningState === 'Deleting') services.store.deleteEndpoint(endpoint.name);
      else if (endpoint) endpoint.provisioningState = 'Succeeded';
    } else {
      const deployment = services.store.getDeployment(target.endpointName, target.deploymentName);
      if (deployment?.provisioningState === 'Deleting') services.store.deleteDeployment(target.endpointName, target.deploymentName);
      else if (deployment) deployment.provisioningState = 'Succeeded';
    }
    operation.status = 'Succeeded';
    operation.endTime = new Date().toISOString();
    services.store.putOperation(operation);
  }
}

function operationStatus(services: EmulatorServices, operation: ArmOperationRecord): ArmOperationRecord['status'] {
  if (operation.target.kind !== 'jobCancel' || operation.status !== 'InProgress') return operation.status;
  const job = services.store.jobs.get(operation.target.jobName);
  if (!job || TERMINAL_JOB_STATUSES.includes(job.status)) {
    operation.status = 'Succeeded';
    operation.endTime = new Date().toISOString();
    services.store.putOperation(operation);
  }
  return operation.status;
}

function handleOperation(services: EmulatorServices, exchange: HttpExchange, kind: string, id: string, apiVersion: ApiVersion): HttpReply {
  if (exchange.method !== 'GET') throw methodNotAllowed(exchange, ['GET']);
  const operation = services.store.operations.get(id);
  if (!operation || (kind !== 'mfeoperationsstatus' && kind !== 'mfeoperationresults')) {
    throw new ArmError(404, 'NotFound', `The operation '${id}' was not found; operation IDs come from the Azure-AsyncOperation or Location header of the request that started it.`);
  }
  const status = operationStatus(services, operation);
  const urls = operationUrls(services, operation);
  if (kind === 'mfeoperationsstatus') {
    const body: JsonObject = { id: urls.status.split('?')[0].replace(services.scope.baseUrl, ''), name: operation.id, status, startTime: operation.startTime };
    if (operation.endTime) body.endTime = operation.endTime;
    if (operation.error) body.error = { code: operation.error.code, message: operation.error.message };
    return { status: 200, body, headers: status === 'InProgress' ? retryAfter(services) : {} };
  }
  if (status === 'InProgress') return { status: 202, headers: { Location: urls.result, ...retryAfter(services) } };
  if (status === 'Failed') {
    throw new ArmError(400, operation.error?.code ?? 'UserError', operation.error?.message ?? 'The operation failed.');
  }
  // A finished update answers with the resource as it now is; a finished delete or cancel with no body.
  const target = operation.target;
  if (target.kind === 'endpoint') {
    const endpoint = services.store.getEndpoint(target.endpointName);
    return endpoint ? { status: 200, body: batchEndpointResource(services.scope, endpoint) } : { status: 200 };
  }
  if (target.kind === 'deployment') {
    const deployment = services.store.getDeployment(target.endpointName, target.deploymentName);
    return deployment ? { status: 200, body: batchDeploymentResource(services.scope, deployment, apiVersion) } : { status: 200 };
  }
  return { status: 200 };
}

// ---------------------------------------------------------------- batch endpoints and deployments

function handleBatchEndpoints(services: EmulatorServices, request: ArmRequest): HttpReply {
  const { rest, exchange } = request;
  if (rest.length === 1) {
    if (exchange.method !== 'GET') throw methodNotAllowed(exchange, ['GET']);
    const count = Number(exchange.url.searchParams.get('count') ?? PAGE_SIZE) || PAGE_SIZE;
    const items = [...services.store.endpoints.values()].map((e) => batchEndpointResource(services.scope, e));
    return { status: 200, body: page(exchange, items, count) };
  }
  const endpointName = rest[1];
  if (rest.length === 2) {
    switch (exchange.method) {
      case 'GET': return { status: 200, body: batchEndpointResource(services.scope, requireEndpoint(services, endpointName)) };
      case 'PUT': return putEndpoint(services, request, endpointName);
      case 'PATCH': return patchEndpoint(services, request, endpointName);
      case 'DELETE': return deleteEndpoint(services, request, endpointName);
      default: throw methodNotAllowed(exchange, ['GET', 'PUT', 'PATCH', 'DELETE']);
    }
  }
  if (rest.length === 3 && rest[2].toLowerCase() === 'listkeys') {
    throw userError(`Batch endpoint '${endpointName}' uses Microsoft Entra tokens (authMode AADToken); it has no keys to list.`);
  }
  if (rest[2]?.toLowerCase() !== 'deployments') throw notServed(exchange);
  const endpoint = requireEndpoint(services, endpointName);
  if (rest.length === 3) {
    if (exchange.method !== 'GET') throw methodNotAllowed(exchange, ['GET']);
    let deployments = services.store.listDeployments(endpoint.name);
    const orderBy = exchange.url.searchParams.get('$orderBy');
    if (orderBy && /createdat|createdtime/i.test(orderBy)) {
      deployments = [...deployments].sort((a, b) => a.systemData.createdAt.localeCompare(b.systemData.createdAt));
      if (/desc/i.test(orderBy)) deployments.reverse();
    }
    const top = Number(exchange.url.searchParams.get('$top'));
    const items = deployments.map((d) => batchDeploymentResource(services.scope, d, request.apiVersion));
    return { status: 200, body: page(exchange, items, top > 0 ? top : PAGE_SIZE) };
  }
  if (rest.length !== 4) throw notServed(exchange);
  const deploymentName = rest[3];
  switch (exchange.method) {
    case 'GET': return { status: 200, body: batchDeploymentResource(services.scope, requireDeployment(services, endpoint, deploymentName), request.apiVersion) };
    case 'PUT': return putDeployment(services, request, endpoint, deploymentName);
    case 'PATCH': return patchDeployment(services, request, endpoint, deploymentName);
    case 'DELETE': return deleteDeployment(services, request, endpoint, deploymentName);
    default: throw methodNotAllowed(exchange, ['GET', 'PUT', 'PATCH', 'DELETE']);
  }
}

export function requireEndpoint(services: EmulatorServices, endpointName: string): BatchEndpointRecord {
  const endpoint = services.store.getEndpoint(endpointName);
  if (!endpoint || endpoint.provisioningState === 'Deleting') {
    throw resourceNotFound(`${PROVIDER}/workspaces/${services.scope.workspaceName}/batchEndpoints/${endpointName}`, services.scope.resourceGroup);
  }
  return endpoint;
}

function requireDeployment(services: EmulatorServices, endpoint: BatchEndpointRecord, deploymentName: string): BatchDeploymentRecord {
  const deployment = services.store.getDeployment(endpoint.name, deploymentName);
  if (!deployment || deployment.provisioningState === 'Deleting') {
    throw resourceNotFound(`${PROVIDER}/workspaces/${services.scope.workspaceName}/batchEndpoints/${endpoint.name}/deployments/${deploymentName}`, services.scope.resourceGroup);
  }
  return deployment;
}

function trackedFields(body: JsonObject, what: string): { location: string; tags: Record<string, string>; kind?: string; identity?: JsonObject; sku?: JsonObject } {
  if (typeof body.location !== 'string' || !body.location) {
    throw new ArmError(400, 'LocationRequired', `The location property is required for ${what}.`);
  }
  const result: { location: string; tags: Record<string, string>; kind?: string; identity?: JsonObject; sku?: JsonObject } = {
    location: body.location,
    tags: stringMap(body.tags, 'tags'),
  };
  if (typeof body.kind === 'string') result.kind = body.kind;
  if (isJsonObject(body.identity)) result.identity = body.identity;
  if (isJsonObject(body.sku)) result.sku = body.sku;
  return result;
}

function lroCreatedReply(services: EmulatorServices, operation: ArmOperationRecord, body: JsonObject): HttpReply {
  return {
    status: 201,
    body,
    headers: { 'Azure-AsyncOperation': operationUrls(services, operation).status, 'x-ms-async-operation-timeout': 'PT1H', ...retryAfter(services) },
  };
}

function lroAcceptedReply(services: EmulatorServices, operation: ArmOperationRecord): HttpReply {
  return {
    status: 202,
    headers: { Location: operationUrls(services, operation).result, 'x-ms-async-operation-timeout': 'PT1H', ...retryAfter(services) },
  };
}

function validateDefaults(services: EmulatorServices, endpointName: string, properties: JsonObject): void {
  const defaults = properties.defaults;
  if (defaults === undefined || defaults === null) return;
  if (!isJsonObject(defaults)) throw userError('properties.defaults must be an object such as {"deploymentName": "blue"}.');
  const name = defaults.deploymentName;
  if (name === undefined || name === null) return;
  if (typeof name !== 'string') throw userError('properties.defaults.deploymentName must be a string.');
  if (!services.store.getDeployment(endpointName, name)) {
    throw userError(`The default deployment '${name}' does not exist on batch endpoint '${endpointName}'. Create the deployment first, then make it the default.`);
  }
}

function putEndpoint(services: EmulatorServices, request: ArmRequest, endpointName: string): HttpReply {
  if (!ENDPOINT_NAME.test(endpointName)) {
    throw userError(`The batch endpoint name '${endpointName}' is invalid: use 3 to 32 letters, digits and hyphens, starting with a letter.`);
  }
  const body = readObjectBody(request.exchange);
  const tracked = trackedFields(body, 'a batch endpoint');
  if (!isJsonObject(body.properties)) throw userError('properties is required: a batch endpoint needs at least {"authMode": "AADToken"}.');
  const properties: JsonObject = {};
  for (const key of ENDPOINT_PROPERTY_KEYS) if (body.properties[key] !== undefined) properties[key] = body.properties[key];
  if (!['AMLToken', 'Key', 'AADToken'].includes(String(properties.authMode))) {
    throw userError(`properties.authMode must be one of AMLToken, Key or AADToken; got '${String(properties.authMode)}'.`);
  }
  validateDefaults(services, endpointName, properties);
  const existing = services.store.getEndpoint(endpointName);
  if (existing?.provisioningState === 'Deleting') throw new ArmError(409, 'Conflict', `Batch endpoint '${endpointName}' is being deleted; try again when the deletion has finished.`);
  const record: BatchEndpointRecord = {
    name: existing?.name ?? endpointName,
    ...tracked,
    properties,
    provisioningState: existing ? 'Updating' : 'Creating',
    systemData: newSystemData(request.exchange.caller, existing?.systemData),
  };
  services.store.putEndpoint(record);
  const operation = startOperation(services, { kind: 'endpoint', endpointName: record.name }, request.apiVersion, () => {
    record.provisioningState = 'Succeeded';
    services.store.putEndpoint(record);
  });
  return lroCreatedReply(services, operation, batchEndpointResource(services.scope, record));
}

function patchEndpoint(services: EmulatorServices, request: ArmRequest, endpointName: string): HttpReply {
  const endpoint = requireEndpoint(services, endpointName);
  const body = readObjectBody(request.exchange);
  const tags = body.tags !== undefined ? stringMap(body.tags, 'tags') : undefined;
  // 2022-10-01's PATCH schema carries tags and identity; Azure also merges properties.defaults and
  // description, which is how `az ml batch-endpoint update --set defaults.deployment_name=...` works.
  let properties: JsonObject | undefined;
  if (isJsonObject(body.properties)) {
    properties = { ...endpoint.properties };
    for (const key of ['description', 'defaults', 'properties'] as const) if (body.properties[key] !== undefined) properties[key] = body.properties[key];
    validateDefaults(services, endpoint.name, properties);
  }
  if (endpoint.provisioningState === 'Creating' || endpoint.provisioningState === 'Updating') {
    throw new ArmError(409, 'Conflict', `Batch endpoint '${endpoint.name}' has an operation in progress (${endpoint.provisioningState}); try again when it has finished.`);
  }
  endpoint.provisioningState = 'Updating';
  endpoint.systemData = newSystemData(request.exchange.caller, endpoint.systemData);
  services.store.putEndpoint(endpoint);
  const operation = startOperation(services, { kind: 'endpoint', endpointName: endpoint.name }, request.apiVersion, () => {
    if (tags) endpoint.tags = tags;
    if (isJsonObject(body.identity)) endpoint.identity = body.identity;
    if (properties) endpoint.properties = properties;
    endpoint.provisioningState = 'Succeeded';
    services.store.putEndpoint(endpoint);
  });
  return lroAcceptedReply(services, operation);
}

function deleteEndpoint(services: EmulatorServices, request: ArmRequest, endpointName: string): HttpReply {
  const endpoint = services.store.getEndpoint(endpointName);
  if (!endpoint) return { status: 204 };
  endpoint.provisioningState = 'Deleting';
  services.store.putEndpoint(endpoint);
  const operation = startOperation(services, { kind: 'endpoint', endpointName: endpoint.name }, request.apiVersion, () => {
    services.store.deleteEndpoint(endpoint.name);
  });
  return lroAcceptedReply(services, operation);
}

function integerProperty(properties: JsonObject, key: string, minimum: number, target = key): void {
  const value = properties[key];
  if (value === undefined || value === null) return;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < minimum) {
    throw userError(`${target} must be an integer of at least ${minimum}; got ${JSON.stringify(value)}.`);
  }
}

function validateDeploymentProperties(services: EmulatorServices, properties: JsonObject): void {
  integerProperty(properties, 'errorThreshold', -1, 'properties.errorThreshold');
  integerProperty(properties, 'miniBatchSize', 1, 'properties.miniBatchSize');
  integerProperty(properties, 'maxConcurrencyPerInstance', 1, 'properties.maxConcurrencyPerInstance');
  if (isJsonObject(properties.resources)) integerProperty(properties.resources, 'instanceCount', 1, 'properties.resources.instanceCount');
  if (isJsonObject(properties.retrySettings)) {
    integerProperty(properties.retrySettings, 'maxRetries', 0, 'properties.retrySettings.maxRetries');
    const timeout = properties.retrySettings.timeout;
    if (timeout !== undefined && timeout !== null && (typeof timeout !== 'string' || parseIsoDuration(timeout) === undefined)) {
      throw userError(`properties.retrySettings.timeout must be an ISO 8601 duration such as PT30S; got ${JSON.stringify(timeout)}.`);
    }
  }
  if (properties.outputAction !== undefined && !['AppendRow', 'SummaryOnly'].includes(String(properties.outputAction))) {
    throw userError(`properties.outputAction must be AppendRow or SummaryOnly; got ${JSON.stringify(properties.outputAction)}.`);
  }
  if (isPipelineComponentDeployment(properties)) {
    const config = properties.deploymentConfiguration as JsonObject;
    const component = isJsonObject(config.componentId) ? config.componentId.assetId : undefined;
    if (typeof component !== 'string') throw userError('properties.deploymentConfiguration.componentId.assetId is required for a PipelineComponent deployment.');
    if (!services.lookup.assetVersion('components', component)) throw userError(`The component '${component}' does not exist in this workspace. Register the component version first.`, undefined, 404);
    return;
  }
  const model = properties.model;
  if (model !== undefined && model !== null) {
    if (!isJsonObject(model) || model.referenceType !== 'Id' || typeof model.assetId !== 'string') {
      throw userError('properties.model must be {"referenceType": "Id", "assetId": "<model version ARM ID or azureml:name:version>"}.');
    }
    if (!services.lookup.assetVersion('models', model.assetId)) throw userError(`The model '${model.assetId}' does not exist in this workspace. Register the model version first.`, undefined, 404);
  }
  const code = properties.codeConfiguration;
  if (code !== undefined && code !== null) {
    if (!isJsonObject(code) || typeof code.scoringScript !== 'string' || !code.scoringScript) {
      throw userError('properties.codeConfiguration.scoringScript is required, e.g. "score.js".');
    }
    if (typeof code.codeId === 'string' && !services.lookup.assetVersion('codes', code.codeId)) {
      throw userError(`The code asset '${code.codeId}' does not exist in this workspace. Register the code version first.`, undefined, 404);
    }
  }
}

function putDeployment(services: EmulatorServices, request: ArmRequest, endpoint: BatchEndpointRecord, deploymentName: string): HttpReply {
  if (!DEPLOYMENT_NAME.test(deploymentName)) {
    throw userError(`The deployment name '${deploymentName}' is invalid: use letters, digits, '-' and '_', starting with a letter or digit.`);
  }
  const body = readObjectBody(request.exchange);
  const tracked = trackedFields(body, 'a batch deployment');
  if (!isJsonObject(body.properties)) throw userError('properties is required for a batch deployment.');
  const properties: JsonObject = {};
  for (const key of deploymentPropertyKeys(request.apiVersion)) if (body.properties[key] !== undefined) properties[key] = body.properties[key];
  validateDeploymentProperties(services, properties);
  const existing = services.store.getDeployment(endpoint.name, deploymentName);
  if (existing?.provisioningState === 'Deleting') throw new ArmError(409, 'Conflict', `Deployment '${deploymentName}' is being deleted; try again when the deletion has finished.`);
  // A 2022-10-01 client cannot see deploymentConfiguration, so its PUT must not erase one set by a newer client.
  if (existing && request.apiVersion === '2022-10-01' && existing.properties.deploymentConfiguration !== undefined) {
    properties.deploymentConfiguration = existing.properties.deploymentConfiguration;
  }
  const record: BatchDeploymentRecord = {
    name: existing?.name ?? deploymentName,
    endpointName: endpoint.name,
    ...tracked,
    properties,
    provisioningState: existing ? 'Updating' : 'Creating',
    systemData: newSystemData(request.exchange.caller, existing?.systemData),
  };
  services.store.putDeployment(record);
  const failProvisioning = services.faults.drawDeploymentFailure();
  const operation = startOperation(services, { kind: 'deployment', endpointName: endpoint.name, deploymentName: record.name }, request.apiVersion, () => {
    if (failProvisioning) {
      record.provisioningState = 'Failed';
      services.store.putDeployment(record);
      throw new ArmError(400, 'DeploymentProvisioningFailed',
        `Deployment '${record.name}' of batch endpoint '${endpoint.name}' failed to provision: the compute could not load the deployment's model and code (fault injected by the local emulator).`);
    }
    record.provisioningState = 'Succeeded';
    services.store.putDeployment(record);
  });
  return lroCreatedReply(services, operation, batchDeploymentResource(services.scope, record, request.apiVersion));
}

function patchDeployment(services: EmulatorServices, request: ArmRequest, endpoint: BatchEndpointRecord, deploymentName: string): HttpReply {
  const deployment = requireDeployment(services, endpoint, deploymentName);
  const body = readObjectBody(request.exchange);
  const tags = body.tags !== undefined ? stringMap(body.tags, 'tags') : undefined;
  const description = isJsonObject(body.properties) ? body.properties.description : undefined;
  if (description !== undefined && description !== null && typeof description !== 'string') throw userError('properties.description must be a string.');
  if (deployment.provisioningState === 'Creating' || deployment.provisioningState === 'Updating') {
    throw new ArmError(409, 'Conflict', `Deployment '${deployment.name}' has an operation in progress (${deployment.provisioningState}); try again when it has finished.`);
  }
  deployment.provisioningState = 'Updating';
  deployment.systemData = newSystemData(request.exchange.caller, deployment.systemData);
  services.store.putDeployment(deployment);
  const operation = startOperation(services, { kind: 'deployment', endpointName: endpoint.name, deploymentName: deployment.name }, request.apiVersion, () => {
    if (tags) deployment.tags = tags;
    if (description !== undefined) deployment.properties = { ...deployment.properties, description };
    deployment.provisioningState = 'Succeeded';
    services.store.putDeployment(deployment);
  });
  return lroAcceptedReply(services, operation);
}

function deleteDeployment(services: EmulatorServices, request: ArmRequest, endpoint: BatchEndpointRecord, deploymentName: string): HttpReply {
  const deployment = services.store.getDeployment(endpoint.name, deploymentName);
  if (!deployment) return { status: 204 };
  const defaults = endpoint.properties.defaults;
  if (isJsonObject(defaults) && typeof defaults.deploymentName === 'string' && defaults.deploymentName.toLowerCase() === deployment.name.toLowerCase()) {
    throw userError(`Deployment '${deployment.name}' is the default of batch endpoint '${endpoint.name}' and cannot be deleted. Make another deployment the default first.`);
  }
  deployment.provisioningState = 'Deleting';
  services.store.putDeployment(deployment);
  const operation = startOperation(services, { kind: 'deployment', endpointName: endpoint.name, deploymentName: deployment.name }, request.apiVersion, () => {
    services.store.deleteDeployment(endpoint.name, deployment.name);
  });
  return lroAcceptedReply(services, operation);
}

/** The defaults a deployment's jobs run with (Azure's swagger defaults under the deployment's values). */
export function deploymentJobSettings(deployment: BatchDeploymentRecord): JsonObject {
  return { ...DEPLOYMENT_DEFAULTS, ...deployment.properties };
}

// ---------------------------------------------------------------- jobs

function handleJobs(services: EmulatorServices, request: ArmRequest): HttpReply {
  const { rest, exchange } = request;
  if (rest.length === 1) {
    if (exchange.method !== 'GET') throw methodNotAllowed(exchange, ['GET']);
    return { status: 200, body: page(exchange, listJobs(services, exchange).map((j) => jobResource(services.scope, j, request.apiVersion))) };
  }
  const jobName = rest[1];
  const job = services.store.jobs.get(jobName);
  if (rest.length === 2) {
    if (exchange.method === 'PUT') {
      throw userError('The local Azure ML emulator runs batch endpoint jobs only: submit a job by invoking a batch endpoint (POST to its scoringUri).');
    }
    if (exchange.method !== 'GET') throw methodNotAllowed(exchange, ['GET']);
    if (!job) throw resourceNotFound(`${PROVIDER}/workspaces/${services.scope.workspaceName}/jobs/${jobName}`, services.scope.resourceGroup);
    return { status: 200, body: jobResource(services.scope, job, request.apiVersion) };
  }
  if (rest.length === 3 && rest[2].toLowerCase() === 'cancel') {
    if (exchange.method !== 'POST') throw methodNotAllowed(exchange, ['POST']);
    if (!job) throw resourceNotFound(`${PROVIDER}/workspaces/${services.scope.workspaceName}/jobs/${jobName}`, services.scope.resourceGroup);
    if (TERMINAL_JOB_STATUSES.includes(job.status)) return { status: 200 };
    const operation = startOperation(services, { kind: 'jobCancel', jobName: job.name }, request.apiVersion, () => undefined);
    services.runner.cancel(job.name);
    return { status: 202, headers: { Location: operationUrls(services, operation).result, ...retryAfter(services) } };
  }
  throw notServed(exchange);
}

/** Newest first; `tag=key` keeps jobs with that tag key, `tag=key=value` those with that value. */
function listJobs(services: EmulatorServices, exchange: HttpExchange): BatchJobRecord[] {
  const params = exchange.url.searchParams;
  const tag = params.get('tag');
  const jobType = params.get('jobType');
  const view = params.get('listViewType') ?? 'ActiveOnly';
  return [...services.store.jobs.values()]
    .filter((job) => {
      if (jobType && jobType.toLowerCase() !== 'pipeline') return false;
      if (view === 'ActiveOnly' && job.isArchived) return false;
      if (view === 'ArchivedOnly' && !job.isArchived) return false;
      if (tag) {
        const eq = tag.indexOf('=');
        const key = eq < 0 ? tag : tag.slice(0, eq);
        if (!(key in job.tags)) return false;
        if (eq >= 0 && job.tags[key] !== tag.slice(eq + 1)) return false;
      }
      return true;
    })
    .sort((a, b) => b.systemData.createdAt.localeCompare(a.systemData.createdAt) || b.name.localeCompare(a.name));
}

// ---------------------------------------------------------------- assets and datastores

function handleAssets(services: EmulatorServices, request: ArmRequest, kind: AssetKind): HttpReply {
  const { rest, exchange, apiVersion } = request;
  const { store, scope } = services;
  if (rest.length === 1) {
    if (exchange.method !== 'GET') throw methodNotAllowed(exchange, ['GET']);
    const items = store.listAssetNames(kind).map((name) => assetContainerResource(scope, kind, name, store.listAssetVersions(kind, name), apiVersion));
    return { status: 200, body: page(exchange, items) };
  }
  const name = rest[1];
  const notFound = (suffix = ''): ArmError => resourceNotFound(`${PROVIDER}/workspaces/${scope.workspaceName}/${kind}/${name}${suffix}`, scope.resourceGroup);
  if (rest.length === 2) {
    if (exchange.method !== 'GET') throw methodNotAllowed(exchange, ['GET']);
    const versions = store.listAssetVersions(kind, name);
    if (!versions.length) throw notFound();
    return { status: 200, body: assetContainerResource(scope, kind, name, versions, apiVersion) };
  }
  if (rest[2].toLowerCase() !== 'versions') throw notServed(exchange);
  if (rest.length === 3) {
    if (exchange.method !== 'GET') throw methodNotAllowed(exchange, ['GET']);
    return { status: 200, body: listAssetVersions(services, request, kind, name) };
  }
  if (rest.length !== 4) throw notServed(exchange);
  const version = rest[3];
  switch (exchange.method) {
    case 'GET': {
      const asset = store.getAsset(kind, name, version);
      if (!asset) throw notFound(`/versions/${version}`);
      return { status: 200, body: assetVersionResource(scope, asset, apiVersion) };
    }
    case 'PUT':
      return putAssetVersion(services, request, kind, name, version);
    case 'DELETE':
      store.deleteAsset(kind, name, version);
      return { status: 200 };
    default:
      throw methodNotAllowed(exchange, ['GET', 'PUT', 'DELETE']);
  }
}

function listAssetVersions(services: EmulatorServices, request: ArmRequest, kind: AssetKind, name: string): JsonObject {
  const params = request.exchange.url.searchParams;
  let versions = services.store.listAssetVersions(kind, name);
  const version = params.get('version');
  if (version) versions = versions.filter((v) => v.version === version);
  const tags = params.get('tags') ?? params.get('$tags');
  if (tags) {
    for (const clause of tags.split(',').map((t) => t.trim()).filter(Boolean)) {
      const [key, value] = clause.split('=');
      versions = versions.filter((v) => {
        const own = isJsonObject(v.properties.tags) ? v.properties.tags : {};
        return key in own && (value === undefined || own[key] === value);
      });
    }
  }
  const orderBy = params.get('$orderBy');
  versions = [...versions].reverse();
  if (orderBy && /createdtime|createdat/i.test(orderBy)) {
    versions.sort((a, b) => b.systemData.createdAt.localeCompare(a.systemData.createdAt));
    if (/asc/i.test(orderBy)) versions.reverse();
  }
  const top = Number(params.get('$top'));
  const items = versions.map((v) => assetVersionResource(services.scope, v, request.apiVersion));
  return page(request.exchange, items, top > 0 ? top : PAGE_SIZE);
}

/** Properties Azure ML lets change on an existing version; the rest of a version is immutable. */
const MUTABLE_ASSET_PROPERTIES = new Set(['description', 'tags', 'isArchived', 'properties', 'stage']);

function putAssetVersion(services: EmulatorServices, request: ArmRequest, kind: AssetKind, name: string, version: string): HttpReply {
  if (!ASSET_NAME.test(name)) throw userError(`The ${kind} name '${name}' is invalid: use letters, digits, '-', '_' and '.', starting with a letter or digit.`);
  const body = readObjectBody(request.exchange);
  if (!isJsonObject(body.properties)) throw userError('properties is required.');
  const properties: JsonObject = {};
  for (const key of assetPropertyKeys(kind)) if (body.properties[key] !== undefined) properties[key] = body.properties[key];
  stringMap(properties.tags, 'properties.tags');
  stringMap(properties.properties, 'properties.properties');
  if (kind === 'data') {
    if (!['uri_file', 'uri_folder', 'mltable'].includes(String(properties.dataType))) throw userError('properties.dataType must be uri_file, uri_folder or mltable.');
    if (typeof properties.dataUri !== 'string' || !properties.dataUri) throw userError('properties.dataUri is required.');
    services.storage.resolve(properties.dataUri, services.lookup, 'the data asset');
  }
  if (kind === 'components' && !isJsonObject(properties.componentSpec)) throw userError('properties.componentSpec is required and must be an object.');
  const existing = services.store.getAsset(kind, name, version);
  if (existing) {
    for (const key of new Set([...Object.keys(existing.properties), ...Object.keys(properties)])) {
      if (MUTABLE_ASSET_PROPERTIES.has(key)) continue;
      if (JSON.stringify(existing.properties[key]) !== JSON.stringify(properties[key])) {
        throw new ArmError(409, 'UserError',
          `${kind}/${name} version ${version} already exists and its '${key}' cannot change: asset versions are immutable apart from description, tags and properties. Register a new version instead.`);
      }
    }
  }
  const record = { kind, name, version, properties, systemData: newSystemData(request.exchange.caller, existing?.systemData) };
  services.store.putAsset(record);
  if (!existing && kind === 'models') {
    services.publish([modelRegisteredEvent(services.scope.workspaceId, {
      name, version, tags: stringMap(properties.tags, 'tags'), properties: stringMap(properties.properties, 'properties'),
    }, record.systemData.createdAt)]);
  }
  return { status: existing ? 200 : 201, body: assetVersionResource(services.scope, record, request.apiVersion) };
}

function handleDatastores(services: EmulatorServices, request: ArmRequest): HttpReply {
  const { rest, exchange } = request;
  const { store, scope, storage } = services;
  if (rest.length === 1) {
    if (exchange.method !== 'GET') throw methodNotAllowed(exchange, ['GET']);
    const items = [...store.datastores.values()].map((d) => datastoreResource(scope, d));
    return { status: 200, body: page(exchange, items) };
  }
  if (rest.length !== 2) throw notServed(exchange);
  const name = rest[1];
  if (exchange.method === 'GET') {
    const datastore = store.getDatastore(name);
    if (!datastore) throw resourceNotFound(`${PROVIDER}/workspaces/${scope.workspaceName}/datastores/${name}`, scope.resourceGroup);
    return { status: 200, body: datastoreResource(scope, datastore) };
  }
  if (exchange.method !== 'PUT') throw methodNotAllowed(exchange, ['GET', 'PUT']);
  const body = readObjectBody(exchange);
  const props = body.properties;
  if (!isJsonObject(props) || props.datastoreType !== 'AzureBlob') {
    throw userError('The local emulator supports datastores with properties.datastoreType "AzureBlob" (a container in the local storage account).');
  }
  if (typeof props.containerName !== 'string' || !props.containerName) throw userError('properties.containerName is required.');
  if (typeof props.accountName === 'string' && props.accountName.toLowerCase() !== storage.accountName.toLowerCase()) {
    throw userError(`properties.accountName '${props.accountName}' is not reachable locally; use '${storage.accountName}'.`);
  }
  const existing = store.getDatastore(name);
  const properties: JsonObject = {
    datastoreType: 'AzureBlob',
    accountName: storage.accountName,
    containerName: props.containerName,
    endpoint: typeof props.endpoint === 'string' ? props.endpoint : 'core.windows.net',
    protocol: typeof props.protocol === 'string' ? props.protocol : 'https',
    credentials: isJsonObject(props.credentials) && props.credentials.credentialsType === 'None' ? props.credentials : { credentialsType: 'None' },
    serviceDataAccessAuthIdentity: 'None',
    isDefault: existing?.properties.isDefault ?? false,
    tags: stringMap(props.tags, 'properties.tags'),
    properties: stringMap(props.properties, 'properties.properties'),
  };
  if (typeof props.description === 'string') properties.description = props.description;
  const record = { name: existing?.name ?? name, properties, systemData: newSystemData(exchange.caller, existing?.systemData) };
  store.putDatastore(record);
  return { status: existing ? 200 : 201, body: datastoreResource(scope, record) };
}
