// The batch endpoint data plane: `POST {scoringUri}` submits a job to the endpoint's default deployment
// (or the one the `azureml-model-deployment` header names) and `GET {scoringUri}/{job}` reads it back.
// Bodies are accepted as documented (PascalCase `InputData`/`JobInputType`) and as generated clients send
// them (camelCase); inputs are checked in storage before the job exists, as the service does.
import { randomUUID } from 'node:crypto';
import * as path from 'node:path';
import { ArmError, ArmErrorDetail, resourceNotFound, userError } from './armErrors';
import {
  batchJobDataPlaneResource, isPipelineComponentDeployment, paginated, parseIsoDuration, PROVIDER,
} from './armResources';
import { deploymentJobSettings, requireEndpoint } from './armRoutes';
import type { EmulatorServices, HttpExchange, HttpReply } from './emulatorServices';
import { headerOf, jsonBodyOf } from './emulatorServices';
import type {
  BatchDeploymentRecord, BatchEndpointRecord, BatchJobRecord, JobInputRecord, JobOutputRecord, JobSettingsRecord,
} from './workspaceStore';
import { MODEL_INPUT_KINDS } from './workspaceStore';
import type { BlobLocation } from './workspaceStorage';
import type { JsonObject, JsonValue } from './wireTypes';
import { isJsonObject, propertyOf } from './wireTypes';

export const DEPLOYMENT_HEADER = 'azureml-model-deployment';

/** A parsed invoke body, before it is checked against the deployment and storage. */
export interface InvokeRequest {
  inputs: Record<string, JobInputRecord & { declaredType: string }>;
  outputs: Record<string, { kind: JobOutputRecord['kind']; uri?: string }>;
  overrides: Partial<JobSettingsRecord>;
  tags: Record<string, string>;
  properties: Record<string, string>;
  description?: string;
}

const INPUT_KINDS: Record<string, JobInputRecord['kind']> = {
  urifile: 'uri_file', urifolder: 'uri_folder', mltable: 'mltable', literal: 'literal',
  custommodel: 'custom_model', mlflowmodel: 'mlflow_model', tritonmodel: 'custom_model',
};

function typeKey(value: JsonValue | undefined): string {
  return typeof value === 'string' ? value.replace(/[_\s-]/g, '').toLowerCase() : '';
}

function stringMapOf(value: JsonValue | undefined, where: string, problems: ArmErrorDetail[]): Record<string, string> {
  if (value === undefined || value === null) return {};
  if (!isJsonObject(value)) {
    problems.push({ code: 'InvalidType', message: `${where} must be an object of strings.`, target: where });
    return {};
  }
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(value)) {
    if (v === null) continue;
    if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') out[k] = String(v);
    else problems.push({ code: 'InvalidType', message: `${where}.${k} must be a string.`, target: `${where}.${k}` });
  }
  return out;
}

function integerOf(value: JsonValue | undefined, where: string, minimum: number, problems: ArmErrorDetail[]): number | undefined {
  if (value === undefined || value === null) return undefined;
  const number = typeof value === 'string' && /^-?\d+$/.test(value.trim()) ? Number(value) : value;
  if (typeof number !== 'number' || !Number.isInteger(number) || number < minimum) {
    problems.push({ code: 'OutOfRange', message: `${where} must be an integer of at least ${minimum}; got ${JSON.stringify(value)}.`, target: where });
    return undefined;
  }
  return number;
}

/** Parses and checks an invoke body's shape; throws 400 with one detail per problem found. */
export function parseInvokeBody(exchange: HttpExchange): InvokeRequest {
  const body = jsonBodyOf(exchange);
  if (!isJsonObject(body)) throw userError('The request body must be a JSON object: {"properties": {"InputData": {...}}}.');
  const props = propertyOf(body, 'properties');
  if (!isJsonObject(props)) {
    throw userError('The request body must have a "properties" object describing the job, e.g. {"properties": {"InputData": {"input_data": {"JobInputType": "UriFolder", "Uri": "azureml://datastores/workspaceblobstore/paths/data/"}}}}.');
  }
  const problems: ArmErrorDetail[] = [];
  const inputs: InvokeRequest['inputs'] = {};
  const inputData = propertyOf(props, 'inputData');
  if (inputData !== undefined && inputData !== null && !isJsonObject(inputData)) {
    problems.push({ code: 'InvalidType', message: 'InputData must be an object keyed by input name.', target: 'InputData' });
  }
  for (const [name, raw] of Object.entries(isJsonObject(inputData) ? inputData : {})) {
    const where = `InputData.${name}`;
    if (!isJsonObject(raw)) {
      problems.push({ code: 'InvalidType', message: `${where} must be an object with JobInputType and Uri (or Value).`, target: where });
      continue;
    }
    const declared = propertyOf(raw, 'jobInputType');
    const kind = INPUT_KINDS[typeKey(declared)];
    if (!kind) {
      problems.push({ code: 'InvalidValue', message: `${where}.JobInputType must be one of UriFile, UriFolder, MLTable, Literal, CustomModel, MLFlowModel; got ${JSON.stringify(declared ?? null)}.`, target: `${where}.JobInputType` });
      continue;
    }
    if (kind === 'literal') {
      const value = propertyOf(raw, 'value');
      if (value === undefined || value === null || typeof value === 'object') {
        problems.push({ code: 'Required', message: `${where}.Value is required for a Literal input and must be a string, number or boolean.`, target: `${where}.Value` });
        continue;
      }
      inputs[name] = { kind: 'literal', value: String(value), declaredType: String(declared) };
      continue;
    }
    const uri = propertyOf(raw, 'uri');
    if (typeof uri !== 'string' || !uri.trim()) {
      problems.push({ code: 'Required', message: `${where}.Uri is required for a ${String(declared)} input.`, target: `${where}.Uri` });
      continue;
    }
    const mode = propertyOf(raw, 'mode');
    const input: JobInputRecord & { declaredType: string } = { kind, uri: uri.trim(), declaredType: String(declared) };
    if (typeof mode === 'string') (input as { mode?: string }).mode = mode;
    inputs[name] = input;
  }
  // The deprecated `dataset` property ({"dataInputType": "DataUrl", "path": ...}) still works.
  const dataset = propertyOf(props, 'dataset');
  if (isJsonObject(dataset) && Object.keys(inputs).length === 0) {
    const datasetPath = propertyOf(dataset, 'path');
    if (typeKey(propertyOf(dataset, 'dataInputType')) === 'dataurl' && typeof datasetPath === 'string') {
      inputs.input_data = { kind: 'uri_folder', uri: datasetPath, declaredType: 'DataUrl' };
    } else {
      problems.push({ code: 'InvalidValue', message: 'dataset must be {"dataInputType": "DataUrl", "path": "..."}; prefer InputData.', target: 'dataset' });
    }
  }

  const outputs: InvokeRequest['outputs'] = {};
  const outputData = propertyOf(props, 'outputData');
  for (const [name, raw] of Object.entries(isJsonObject(outputData) ? outputData : {})) {
    const where = `OutputData.${name}`;
    if (!isJsonObject(raw)) {
      problems.push({ code: 'InvalidType', message: `${where} must be an object with JobOutputType and Uri.`, target: where });
      continue;
    }
    const declared = typeKey(propertyOf(raw, 'jobOutputType'));
    if (declared !== 'urifile' && declared !== 'urifolder') {
      problems.push({ code: 'InvalidValue', message: `${where}.JobOutputType must be UriFile or UriFolder.`, target: `${where}.JobOutputType` });
      continue;
    }
    const uri = propertyOf(raw, 'uri');
    if (uri !== undefined && uri !== null && typeof uri !== 'string') {
      problems.push({ code: 'InvalidType', message: `${where}.Uri must be a string.`, target: `${where}.Uri` });
      continue;
    }
    outputs[name] = { kind: declared === 'urifile' ? 'uri_file' : 'uri_folder', uri: typeof uri === 'string' && uri.trim() ? uri.trim() : undefined };
  }

  const overrides: Partial<JobSettingsRecord> = {};
  const compute = propertyOf(props, 'compute');
  if (isJsonObject(compute)) {
    const instanceCount = integerOf(propertyOf(compute, 'instanceCount'), 'compute.instanceCount', 1, problems);
    if (instanceCount !== undefined) overrides.instanceCount = instanceCount;
  }
  const miniBatchSize = integerOf(propertyOf(props, 'miniBatchSize'), 'miniBatchSize', 1, problems);
  if (miniBatchSize !== undefined) overrides.miniBatchSize = miniBatchSize;
  const errorThreshold = integerOf(propertyOf(props, 'errorThreshold'), 'errorThreshold', -1, problems);
  if (errorThreshold !== undefined) overrides.errorThreshold = errorThreshold;
  const maxConcurrency = integerOf(propertyOf(props, 'maxConcurrencyPerInstance'), 'maxConcurrencyPerInstance', 1, problems);
  if (maxConcurrency !== undefined) overrides.maxConcurrencyPerInstance = maxConcurrency;
  const retry = propertyOf(props, 'retrySettings');
  if (isJsonObject(retry)) {
    const maxRetries = integerOf(propertyOf(retry, 'maxRetries'), 'retrySettings.maxRetries', 0, problems);
    if (maxRetries !== undefined) overrides.maxRetries = maxRetries;
    const timeout = propertyOf(retry, 'timeout');
    if (timeout !== undefined && timeout !== null) {
      const ms = typeof timeout === 'string' ? parseIsoDuration(timeout) : undefined;
      if (ms === undefined || ms <= 0) problems.push({ code: 'InvalidValue', message: 'retrySettings.timeout must be an ISO 8601 duration such as PT30S.', target: 'retrySettings.timeout' });
      else overrides.timeoutInMs = ms;
    }
  }
  const outputFileName = propertyOf(props, 'outputFileName');
  if (outputFileName !== undefined && outputFileName !== null) {
    if (typeof outputFileName !== 'string' || !outputFileName || outputFileName.includes('/')) {
      problems.push({ code: 'InvalidValue', message: 'outputFileName must be a file name without folders, e.g. predictions.csv.', target: 'outputFileName' });
    } else {
      overrides.outputFileName = outputFileName;
    }
  }
  const loggingLevel = propertyOf(props, 'loggingLevel');
  if (typeof loggingLevel === 'string') {
    if (!['Info', 'Warning', 'Debug'].includes(loggingLevel)) problems.push({ code: 'InvalidValue', message: 'loggingLevel must be Info, Warning or Debug.', target: 'loggingLevel' });
    else overrides.loggingLevel = loggingLevel;
  }
  const tags = stringMapOf(propertyOf(props, 'tags'), 'tags', problems);
  const properties = stringMapOf(propertyOf(props, 'properties'), 'properties', problems);
  const description = propertyOf(props, 'description');
  if (problems.length) {
    throw userError(`The job request has ${problems.length} validation error(s): ${problems.map((p) => p.message).join(' ')}`, problems);
  }
  const request: InvokeRequest = { inputs, outputs, overrides, tags, properties };
  if (typeof description === 'string') request.description = description;
  return request;
}

/** Routes under `/inference/{endpoint}/jobs`. */
export async function handleDataPlaneRequest(services: EmulatorServices, exchange: HttpExchange, endpointName: string, rest: string[]): Promise<HttpReply> {
  const endpoint = dataPlaneEndpoint(services, endpointName);
  if (rest.length === 0) {
    if (exchange.method === 'POST') return await invokeEndpoint(services, exchange, endpoint);
    if (exchange.method === 'GET') {
      const jobs = [...services.store.jobs.values()]
        .filter((j) => j.endpointName.toLowerCase() === endpoint.name.toLowerCase())
        .sort((a, b) => b.systemData.createdAt.localeCompare(a.systemData.createdAt));
      return { status: 200, body: paginated(jobs.map((j) => dataPlaneJob(services, j))) };
    }
    throw new ArmError(405, 'HttpMethodNotAllowed', `Use POST to invoke batch endpoint '${endpoint.name}' or GET to list its jobs.`);
  }
  if (rest.length === 1 && exchange.method === 'GET') {
    const job = services.store.jobs.get(rest[0]);
    if (!job || job.endpointName.toLowerCase() !== endpoint.name.toLowerCase()) {
      throw resourceNotFound(`${PROVIDER}/workspaces/${services.scope.workspaceName}/batchEndpoints/${endpoint.name}/jobs/${rest[0]}`, services.scope.resourceGroup);
    }
    return { status: 200, body: dataPlaneJob(services, job) };
  }
  throw new ArmError(404, 'NotFound', `Nothing is served at ${exchange.method} ${exchange.url.pathname}; use POST ${endpoint.name}'s scoringUri or GET {scoringUri}/{jobName}.`);
}

function dataPlaneEndpoint(services: EmulatorServices, endpointName: string): BatchEndpointRecord {
  return requireEndpoint(services, endpointName);
}

function dataPlaneJob(services: EmulatorServices, job: BatchJobRecord): JsonObject {
  const [output] = Object.values(job.outputs);
  let logs = { datastore: 'workspaceblobstore', path: `azureml/${job.name}/logs` };
  try {
    const location = services.storage.resolve(output.uri, services.lookup, 'the output');
    const folder = output.kind === 'uri_file' ? path.posix.dirname(location.path) : location.path.replace(/\/+$/, '');
    logs = { datastore: location.datastore ?? datastoreOfContainer(services, location.container) ?? logs.datastore, path: `${folder === '.' ? '' : `${folder}/`}logs` };
  } catch {
    // A datastore removed after submission leaves the default logs location in the answer.
  }
  return batchJobDataPlaneResource(services.scope, job, logs);
}

function datastoreOfContainer(services: EmulatorServices, container: string): string | undefined {
  for (const d of services.store.datastores.values()) if (d.properties.containerName === container) return d.name;
  return undefined;
}

function selectDeployment(services: EmulatorServices, exchange: HttpExchange, endpoint: BatchEndpointRecord): BatchDeploymentRecord {
  const requested = headerOf(exchange, DEPLOYMENT_HEADER)?.trim();
  const defaults = isJsonObject(endpoint.properties.defaults) ? endpoint.properties.defaults : {};
  const name = requested || (typeof defaults.deploymentName === 'string' ? defaults.deploymentName : undefined);
  const existing = services.store.listDeployments(endpoint.name).map((d) => d.name);
  if (!name) {
    throw userError(`Batch endpoint '${endpoint.name}' has no default deployment. Set defaults.deploymentName on the endpoint or name a deployment in the '${DEPLOYMENT_HEADER}' header` +
      `${existing.length ? ` (deployments: ${existing.join(', ')})` : ''}.`);
  }
  const deployment = services.store.getDeployment(endpoint.name, name);
  if (!deployment || deployment.provisioningState === 'Deleting') {
    throw new ArmError(404, 'DeploymentNotFound',
      `Deployment '${name}' does not exist on batch endpoint '${endpoint.name}'` +
        `${requested ? ` (named by the '${DEPLOYMENT_HEADER}' header)` : ' (the endpoint\'s default)'}. ` +
        `${existing.length ? `Existing deployments: ${existing.join(', ')}.` : 'The endpoint has no deployments.'}`);
  }
  if (deployment.provisioningState !== 'Succeeded') {
    throw new ArmError(409, 'DeploymentNotReady', `Deployment '${deployment.name}' of batch endpoint '${endpoint.name}' is ${deployment.provisioningState}; invoke it once its provisioning has succeeded.`);
  }
  return deployment;
}

function folderOf(location: BlobLocation): string {
  return location.path.replace(/\/+$/, '');
}

async function invokeEndpoint(services: EmulatorServices, exchange: HttpExchange, endpoint: BatchEndpointRecord): Promise<HttpReply> {
  const deployment = selectDeployment(services, exchange, endpoint);
  const request = parseInvokeBody(exchange);
  const isPipeline = isPipelineComponentDeployment(deployment.properties);
  const dataInputs = Object.entries(request.inputs).filter(([, i]) => i.kind !== 'literal' && !MODEL_INPUT_KINDS.includes(i.kind));
  const literalInputs = Object.entries(request.inputs).filter(([, i]) => i.kind === 'literal');
  if (!isPipeline) {
    if (dataInputs.length !== 1 || literalInputs.length > 0) {
      throw userError(
        `Deployment '${deployment.name}' deploys a model, so a job takes exactly one data input (UriFile, UriFolder or a data asset) and no literal inputs; ` +
          `the request has ${dataInputs.length} data input(s) and ${literalInputs.length} literal input(s).`,
        [{ code: 'InvalidInputs', message: 'Model deployments take one data input.', target: 'InputData' }],
      );
    }
  } else {
    checkPipelineInputs(services, deployment, request);
  }
  // Inputs must exist now: Azure refuses a job whose input path holds no data.
  for (const [name, input] of Object.entries(request.inputs)) {
    if (input.kind === 'literal') continue;
    if (MODEL_INPUT_KINDS.includes(input.kind)) {
      if (!services.lookup.assetVersion('models', input.uri)) {
        throw userError(`Input '${name}' names the model '${input.uri}', which does not exist in this workspace.`, undefined, 404);
      }
      continue;
    }
    const location = services.storage.resolve(input.uri, services.lookup, `input '${name}'`);
    const isFile = await services.storage.fileExists(location);
    if (input.kind === 'uri_file' && !isFile) {
      throw userError(`Input '${name}' (UriFile) names '${input.uri}', which does not exist. Check the path, or use UriFolder for a folder.`,
        [{ code: 'InputNotFound', message: `The file '${input.uri}' does not exist.`, target: `InputData.${name}.Uri` }]);
    }
    if (!isFile && (await services.storage.listFolder(location, 1)).length === 0) {
      throw userError(`Input '${name}' names '${input.uri}', which does not exist or holds no files.`,
        [{ code: 'InputNotFound', message: `The path '${input.uri}' does not exist or is empty.`, target: `InputData.${name}.Uri` }]);
    }
    // A folder input that names one file is scored as that file, as Azure's mount would present it.
    if (isFile && input.kind === 'uri_folder') input.kind = 'uri_file';
  }

  const name = `batchjob-${randomUUID()}`;
  const settings = jobSettingsOf(deployment, request);
  const [outputName, requestedOutput] = Object.entries(request.outputs)[0] ?? ['score', { kind: 'uri_file' as const, uri: undefined }];
  const output: JobOutputRecord = requestedOutput.uri
    ? { kind: requestedOutput.kind, uri: requestedOutput.uri }
    : { kind: 'uri_file', uri: `azureml://datastores/workspaceblobstore/paths/azureml/${name}/${outputName}/${settings.outputFileName}` };
  // The output must be new: Azure refuses to overwrite an earlier job's results.
  const outputLocation = services.storage.resolve(output.uri, services.lookup, `output '${outputName}'`);
  if (output.kind === 'uri_file') {
    if (await services.storage.fileExists(outputLocation)) throw outputExists(outputName, output.uri);
  } else {
    const outputFile = { ...outputLocation, path: `${folderOf(outputLocation)}/${settings.outputFileName}` };
    if ((await services.storage.fileExists(outputFile)) || (await services.storage.listFolder(outputLocation, 1)).length > 0) throw outputExists(outputName, output.uri);
  }

  const now = new Date().toISOString();
  const snapshot = deployment.properties;
  const code = isJsonObject(snapshot.codeConfiguration) ? snapshot.codeConfiguration : {};
  const model = isJsonObject(snapshot.model) ? snapshot.model : {};
  const config = isJsonObject(snapshot.deploymentConfiguration) ? snapshot.deploymentConfiguration : {};
  const componentId = isJsonObject(config.componentId) && typeof config.componentId.assetId === 'string' ? config.componentId.assetId : undefined;
  const job: BatchJobRecord = {
    name,
    endpointName: endpoint.name,
    deploymentName: deployment.name,
    experimentName: endpoint.name,
    displayName: name,
    status: 'NotStarted',
    statusHistory: [{ status: 'NotStarted', at: now }],
    tags: request.tags,
    properties: request.properties,
    inputs: Object.fromEntries(Object.entries(request.inputs).map(([k, v]) => {
      const { declaredType: _declared, ...input } = v;
      return [k, input as JobInputRecord];
    })),
    outputs: { [outputName]: output },
    settings,
    deployment: {
      modelId: typeof model.assetId === 'string' ? model.assetId : undefined,
      codeId: typeof code.codeId === 'string' ? code.codeId : undefined,
      scoringScript: typeof code.scoringScript === 'string' ? code.scoringScript : undefined,
      environmentVariables: isJsonObject(snapshot.environmentVariables)
        ? Object.fromEntries(Object.entries(snapshot.environmentVariables).filter(([, v]) => typeof v === 'string')) as Record<string, string>
        : undefined,
      componentId,
    },
    systemData: { createdAt: now, createdBy: exchange.caller, lastModifiedAt: now, lastModifiedBy: exchange.caller },
    faultPlan: services.faults.drawJob(),
    isArchived: false,
  };
  if (request.description !== undefined) job.description = request.description;
  else if (isPipeline && typeof config.description === 'string') job.description = config.description;
  if (isPipeline && isJsonObject(config.tags)) {
    for (const [k, v] of Object.entries(config.tags)) if (typeof v === 'string' && !(k in job.tags)) job.tags[k] = v;
  }
  if (typeof snapshot.compute === 'string') job.computeId = snapshot.compute;
  services.store.putJob(job);
  services.runner.start(job);
  return { status: 200, body: dataPlaneJob(services, job) };
}

function outputExists(outputName: string, uri: string): ArmError {
  return userError(`Output '${outputName}' names '${uri}', which already exists. Batch jobs do not overwrite earlier results: choose a new output path.`,
    [{ code: 'OutputAlreadyExists', message: `The output path '${uri}' already exists.`, target: `OutputData.${outputName}.Uri` }]);
}

function jobSettingsOf(deployment: BatchDeploymentRecord, request: InvokeRequest): JobSettingsRecord {
  const d = deploymentJobSettings(deployment);
  const resources = isJsonObject(d.resources) ? d.resources : {};
  const retry = isJsonObject(d.retrySettings) ? d.retrySettings : {};
  const number = (value: JsonValue | undefined, fallback: number): number => (typeof value === 'number' ? value : fallback);
  const base: JobSettingsRecord = {
    miniBatchSize: number(d.miniBatchSize, 10),
    instanceCount: number(resources.instanceCount, 1),
    maxConcurrencyPerInstance: number(d.maxConcurrencyPerInstance, 1),
    errorThreshold: number(d.errorThreshold, -1),
    maxRetries: number(retry.maxRetries, 3),
    timeoutInMs: (typeof retry.timeout === 'string' ? parseIsoDuration(retry.timeout) : undefined) ?? 30_000,
    outputAction: d.outputAction === 'SummaryOnly' ? 'SummaryOnly' : 'AppendRow',
    outputFileName: typeof d.outputFileName === 'string' ? d.outputFileName : 'predictions.csv',
    loggingLevel: typeof d.loggingLevel === 'string' ? d.loggingLevel : 'Info',
  };
  return { ...base, ...request.overrides };
}

function checkPipelineInputs(services: EmulatorServices, deployment: BatchDeploymentRecord, request: InvokeRequest): void {
  const config = deployment.properties.deploymentConfiguration as JsonObject;
  const componentId = isJsonObject(config.componentId) ? String(config.componentId.assetId) : '';
  const component = services.lookup.assetVersion('components', componentId);
  const spec = component && isJsonObject(component.properties.componentSpec) ? component.properties.componentSpec : {};
  const declared = isJsonObject(spec.inputs) ? spec.inputs : {};
  const problems: ArmErrorDetail[] = [];
  for (const name of Object.keys(request.inputs)) {
    if (!(name in declared)) problems.push({ code: 'UnknownInput', message: `Input '${name}' is not an input of the pipeline component (inputs: ${Object.keys(declared).join(', ') || 'none'}).`, target: `InputData.${name}` });
  }
  for (const [name, raw] of Object.entries(declared)) {
    if (!isJsonObject(raw) || name in request.inputs) continue;
    if (raw.optional === true || raw.default !== undefined || raw.path !== undefined) continue;
    problems.push({ code: 'MissingInput', message: `Input '${name}' of the pipeline component is required.`, target: `InputData.${name}` });
  }
  if (problems.length) throw userError(`The job request does not match pipeline component '${componentId}': ${problems.map((p) => p.message).join(' ')}`, problems);
}
