// Thin adapter over @azure/arm-machinelearning for the calls batchpilot makes to a workspace: batch
// endpoints (resolve, set the default deployment), batch deployments, jobs (get, find by tag, cancel),
// model versions and datastores. Errors come out classified (TransientError / PermanentError).
import type { TokenCredential } from '@azure/core-auth';
import type { AzureMachineLearningWorkspaces, BatchDeployment, BatchEndpoint, JobBase } from '@azure/arm-machinelearning';
import { ARM_SCOPE } from './credentials';
import { PermanentError, rethrowClassified } from './errorClassification';
import { WorkspaceRef } from './workspaceIds';

export const TERMINAL_JOB_STATUSES = ['Completed', 'Failed', 'Canceled', 'NotResponding'] as const;
export type TerminalJobStatus = (typeof TERMINAL_JOB_STATUSES)[number];

export function isTerminalJobStatus(status: string | undefined): status is TerminalJobStatus {
  return (TERMINAL_JOB_STATUSES as readonly string[]).includes(status ?? '');
}

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
