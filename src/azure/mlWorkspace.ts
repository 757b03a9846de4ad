// Thin adapter over @azure/arm-machinelearning for the calls batchpilot makes to a workspace: batch
// endpoints (resolve, set the default deployment), batch deployments (get, list, create or update and
// delete, waiting on the long-running operation), jobs (get, find by tag, cancel), model and data
// versions and datastores. Errors come out classified (TransientError / PermanentError).
import type { TokenCredential } from '@azure/core-auth';
import type { AzureMachineLearningWorkspaces, BatchDeployment, BatchEndpoint, JobBase } from '@azure/arm-machinelearning';
import { ARM_SCOPE } from './credentials';
import { classifyAzureError, PermanentError, rethrowClassified, TransientError } from './errorClassification';
import { WorkspaceRef } from './workspaceIds';


export interface ResolvedBatchEndpoint {
  id: string;
  name: string;
  scoringUri: string;
  defaultDeployment?: string;
  provisioningState?: string;
}

export interface JobSummary {
  name: string;
  id?: string;
  status: string;
  tags: Record<string, string>;
  studioUrl?: string;
  startTime?: string;
  endTime?: string;
  error?: string;
}

export interface BlobDatastore {
  name: string;
  accountName: string;
  containerName: string;
  endpoint: string;
  protocol: string;
}

export interface ModelVersionSummary {
  /** ARM ID of the version, as deployments reference it. */
  id: string;
  name: string;
  version: string;
  tags: Record<string, string>;
  properties: Record<string, string>;
  modelUri?: string;
}

export interface DataVersionSummary {
  id: string;
  dataType: string;
  dataUri: string;
}

/** How long-running operations are polled; Azure's Retry-After wins when it is longer. */
export interface LongRunningOptions {
  updateIntervalInMs?: number;
  abortSignal?: AbortSignal;
}

/** An LRO that ended Failed: the service's verdict, not a transport failure, so retrying cannot help. */
function isFailedOperation(err: unknown): boolean {
  return /^The long-running operation has failed/.test((err as Error)?.message ?? '');
}

function rethrowOperation(err: unknown, doing: string): never {
  if (isFailedOperation(err)) {
    const detail = (err as Error).message.replace(/^The long-running operation has failed\.?\s*/, '');
    throw new PermanentError(`${doing} failed in Azure ML: ${detail || 'the operation ended Failed without a reason'}`, { code: 'OperationFailed' });
  }
  const c = classifyAzureError(err);
  // A 409 on a deployment or endpoint means another operation on it is still running: worth waiting for.
  if (c.statusCode === 409) throw new TransientError(`${doing} was refused while another operation on the resource is in progress: ${c.message}`, { statusCode: 409, code: c.code });
  rethrowClassified(err, doing);
}

export interface MlWorkspaceClientOptions {
  armEndpoint: string;
  credential: TokenCredential;
}

function summariseJob(job: JobBase): JobSummary {
  const p = job.properties as JobBase['properties'] & { startTime?: string; endTime?: string; error?: { message?: string } };
  const services = (p.services ?? {}) as Record<string, { endpoint?: string }>;
  return {
    name: job.name ?? '',
    id: job.id,
    status: p.status ?? 'Unknown',
    tags: (p.tags ?? {}) as Record<string, string>,
    studioUrl: services.Studio?.endpoint,
    startTime: p.startTime,
    endTime: p.endTime,
    error: p.error?.message,
  };
}

export class MlWorkspaceClient {
  #client: AzureMachineLearningWorkspaces | undefined;

  constructor(readonly workspace: WorkspaceRef, private readonly options: MlWorkspaceClientOptions) {}

  get arm(): AzureMachineLearningWorkspaces {
    if (!this.#client) {
      const { AzureMachineLearningWorkspaces: Client } = require('@azure/arm-machinelearning') as typeof import('@azure/arm-machinelearning');
      this.#client = new Client(this.options.credential, this.workspace.subscriptionId, {
        endpoint: this.options.armEndpoint,
        credentialScopes: [ARM_SCOPE],
      });
    }
    return this.#client;
  }

  async getBatchEndpoint(name: string): Promise<ResolvedBatchEndpoint> {
    let ep: BatchEndpoint;
    try {
      ep = await this.arm.batchEndpoints.get(this.workspace.resourceGroup, this.workspace.workspace, name);
    } catch (err) {
      rethrowClassified(err, `Reading batch endpoint '${name}' in workspace '${this.workspace.workspace}'`);
    }
    const scoringUri = ep.properties.scoringUri;
    if (!scoringUri) throw new PermanentError(`Batch endpoint '${name}' has no scoringUri (provisioningState ${ep.properties.provisioningState ?? 'unknown'}).`);
    return { id: ep.id ?? '', name, scoringUri, defaultDeployment: ep.properties.defaults?.deploymentName, provisioningState: ep.properties.provisioningState };
  }

  async getBatchDeployment(endpoint: string, deployment: string): Promise<BatchDeployment> {
    try {
      return await this.arm.batchDeployments.get(this.workspace.resourceGroup, this.workspace.workspace, endpoint, deployment);
    } catch (err) {
      rethrowClassified(err, `Reading deployment '${deployment}' of batch endpoint '${endpoint}'`);
    }
  }

  async listBatchDeployments(endpoint: string): Promise<BatchDeployment[]> {
    const out: BatchDeployment[] = [];
    try {
      for await (const d of this.arm.batchDeployments.list(this.workspace.resourceGroup, this.workspace.workspace, endpoint)) out.push(d);
    } catch (err) {
      rethrowClassified(err, `Listing the deployments of batch endpoint '${endpoint}'`);
    }
    return out;
  }

  /** Creates or replaces a batch deployment and waits for Azure ML to provision it. */
  async createOrUpdateBatchDeployment(endpoint: string, deployment: string, body: BatchDeployment, options: LongRunningOptions = {}): Promise<BatchDeployment> {
    try {
      return await this.arm.batchDeployments.beginCreateOrUpdateAndWait(this.workspace.resourceGroup, this.workspace.workspace, endpoint, deployment, body, options);
    } catch (err) {
      rethrowOperation(err, `Creating or updating deployment '${deployment}' of batch endpoint '${endpoint}'`);
    }
  }

  /** Deletes a batch deployment and waits until it is gone; a deployment that does not exist is fine. */
  async deleteBatchDeployment(endpoint: string, deployment: string, options: LongRunningOptions = {}): Promise<void> {
    try {
      await this.arm.batchDeployments.beginDeleteAndWait(this.workspace.resourceGroup, this.workspace.workspace, endpoint, deployment, options);
    } catch (err) {
      if (classifyAzureError(err).statusCode === 404) return;
      rethrowOperation(err, `Deleting deployment '${deployment}' of batch endpoint '${endpoint}'`);
    }
  }

  /**
   * Makes `deployment` the endpoint's default (`defaults.deploymentName`) and waits for the update.
   * API 2022-10-01's endpoint PATCH carries only tags and identity, so the endpoint is PUT back as read
   * with the new default — as `az ml batch-endpoint update --set defaults.deployment_name=...` does.
   */
  async setDefaultDeployment(endpoint: string, deployment: string, options: LongRunningOptions = {}): Promise<ResolvedBatchEndpoint> {
    let ep: BatchEndpoint;
    try {
      ep = await this.arm.batchEndpoints.get(this.workspace.resourceGroup, this.workspace.workspace, endpoint);
    } catch (err) {
      rethrowClassified(err, `Reading batch endpoint '${endpoint}' in workspace '${this.workspace.workspace}'`);
    }
    const body: BatchEndpoint = {
      location: ep.location,
      tags: ep.tags,
      identity: ep.identity,
      kind: ep.kind,
      sku: ep.sku,
      properties: { authMode: ep.properties.authMode, description: ep.properties.description, properties: ep.properties.properties, defaults: { deploymentName: deployment } },
    };
    let updated: BatchEndpoint;
    try {
      updated = await this.arm.batchEndpoints.beginCreateOrUpdateAndWait(this.workspace.resourceGroup, this.workspace.workspace, endpoint, body, options);
    } catch (err) {
      rethrowOperation(err, `Making '${deployment}' the default deployment of batch endpoint '${endpoint}'`);
    }
    return { id: updated.id ?? ep.id ?? '', name: endpoint, scoringUri: updated.properties.scoringUri ?? ep.properties.scoringUri ?? '', defaultDeployment: updated.properties.defaults?.deploymentName, provisioningState: updated.properties.provisioningState };
  }

  async getModelVersion(name: string, version: string): Promise<ModelVersionSummary> {
    try {
      const m = await this.arm.modelVersions.get(this.workspace.resourceGroup, this.workspace.workspace, name, version);
      return {
        id: m.id ?? '',
        name,
        version,
        tags: (m.properties.tags ?? {}) as Record<string, string>,
        properties: (m.properties.properties ?? {}) as Record<string, string>,
        modelUri: m.properties.modelUri,
      };
    } catch (err) {
      rethrowClassified(err, `Reading model '${name}' version ${version}`);
    }
  }

  async getDataVersion(name: string, version: string): Promise<DataVersionSummary> {
    try {
      const d = await this.arm.dataVersions.get(this.workspace.resourceGroup, this.workspace.workspace, name, version);
      return { id: d.id ?? '', dataType: d.properties.dataType, dataUri: d.properties.dataUri };
    } catch (err) {
      rethrowClassified(err, `Reading data asset '${name}' version ${version}`);
    }
  }

  async getJob(name: string): Promise<JobSummary> {
    try {
      return summariseJob(await this.arm.jobs.get(this.workspace.resourceGroup, this.workspace.workspace, name));
    } catch (err) {
      rethrowClassified(err, `Reading job '${name}'`);
    }
  }

  /** Jobs carrying the tag key `tagKey` (the service filters by key). */
  async listJobsWithTag(tagKey: string): Promise<JobSummary[]> {
    const out: JobSummary[] = [];
    try {
      for await (const job of this.arm.jobs.list(this.workspace.resourceGroup, this.workspace.workspace, { tag: tagKey })) out.push(summariseJob(job));
    } catch (err) {
      rethrowClassified(err, `Listing jobs tagged '${tagKey}'`);
    }
    return out;
  }

  /** Asks Azure ML to cancel; does not wait for the job to reach Canceled. */
  async cancelJob(name: string): Promise<void> {
    try {
      await this.arm.jobs.beginCancel(this.workspace.resourceGroup, this.workspace.workspace, name);
    } catch (err) {
      rethrowClassified(err, `Cancelling job '${name}'`);
    }
  }

  async getBlobDatastore(name: string): Promise<BlobDatastore> {
    let ds: Awaited<ReturnType<AzureMachineLearningWorkspaces['datastores']['get']>>;
    try {
      ds = await this.arm.datastores.get(this.workspace.resourceGroup, this.workspace.workspace, name);
    } catch (err) {
      rethrowClassified(err, `Reading datastore '${name}'`);
    }
    const p = ds.properties as { datastoreType?: string; accountName?: string; containerName?: string; endpoint?: string; protocol?: string };
    if (p.datastoreType !== 'AzureBlob' || !p.accountName || !p.containerName) {
      throw new PermanentError(`Datastore '${name}' is ${p.datastoreType ?? 'of an unknown type'}; batchpilot reads outputs from AzureBlob datastores only.`);
    }
    return { name, accountName: p.accountName, containerName: p.containerName, endpoint: p.endpoint ?? 'core.windows.net', protocol: p.protocol ?? 'https' };
  }
}
