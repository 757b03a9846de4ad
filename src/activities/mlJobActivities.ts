// The Azure ML steps of a run: resolve the endpoint, adopt-or-submit the job (idempotent: a job tagged
// with this run's submission key is adopted instead of submitting a second one), read its status,
// cancel it.
import { createHash } from 'node:crypto';
import type { InvocationContext } from '@azure/functions';
import { asActivityResult } from './activityResults';
import type { ActivityResult, AdoptOrSubmitJobInput, AdoptOrSubmitJobOutput, JobRefInput, ResolveBatchEndpointInput, ResolvedEndpointOutput } from './contracts';
import { appCredential } from '../azure/credentials';
import type { JobSummary } from '../azure/mlWorkspace';
import { workspaceClient } from '../azure/workspaceClient';
import { invokeBatchEndpoint } from '../azure/batchScoring';
import { PermanentError, TransientError } from '../azure/errorClassification';

/** The tag key that marks one submission of one run; jobs can be listed by tag key. */
export function submissionTagKey(runId: string, attempt: number): string {
  return `batchpilot-submission-${createHash('sha256').update(`${runId}\u0000${attempt}`).digest('hex').slice(0, 20)}`;
}

export async function resolveBatchEndpoint(input: ResolveBatchEndpointInput, context: InvocationContext): Promise<ActivityResult<ResolvedEndpointOutput>> {
  return asActivityResult(context, undefined, `Resolving batch endpoint ${input.endpoint}`, async () => {
    const ep = await workspaceClient(input.workspaceId).getBatchEndpoint(input.endpoint);
    const deployment = input.deployment ?? ep.defaultDeployment;
    if (!deployment) throw new PermanentError(`Batch endpoint '${input.endpoint}' has no default deployment and the route names none.`);
    if (input.deployment) await workspaceClient(input.workspaceId).getBatchDeployment(input.endpoint, input.deployment);
    return { endpointId: ep.id, scoringUri: ep.scoringUri, deployment, deploymentIsDefault: deployment === ep.defaultDeployment };
  });
}

const INVOKE_ATTEMPTS = 4;
const MAX_INLINE_WAIT_IN_MS = 30_000;

export async function adoptOrSubmitJob(input: AdoptOrSubmitJobInput, context: InvocationContext): Promise<ActivityResult<AdoptOrSubmitJobOutput>> {
  return asActivityResult(context, input.runId, `Submitting the job for run ${input.runId}`, async () => {
    const ws = workspaceClient(input.workspaceId);
    const tagKey = submissionTagKey(input.runId, input.attempt);
    const existing = await ws.listJobsWithTag(tagKey);
    if (existing.length > 0) {
      const job = existing[0];
      context.log(JSON.stringify({ runId: input.runId, jobName: job.name, message: `Adopted job ${job.name} already submitted for attempt ${input.attempt}.` }));
      return { jobName: job.name, adopted: true, status: job.status };
    }
    const request = { ...input.request, tags: { ...(input.request.tags ?? {}), [tagKey]: 'true' } };
    for (let attempt = 1; ; attempt++) {
      try {
        const job = await invokeBatchEndpoint(input.scoringUri, request, {
          credential: appCredential(),
          deploymentName: input.deploymentIsDefault ? undefined : input.deployment,
        });
        context.log(JSON.stringify({ runId: input.runId, jobName: job.name, message: `Submitted job ${job.name} (attempt ${input.attempt}).` }));
        return { jobName: job.name, adopted: false, status: job.status };
      } catch (err) {
        if (!(err instanceof TransientError) || attempt >= INVOKE_ATTEMPTS) throw err;
        // A transient answer may still have created the job: look before invoking again.
        const wait = Math.min(err.details.retryAfterInMs ?? 1000 * 2 ** attempt, MAX_INLINE_WAIT_IN_MS);
        await new Promise((r) => setTimeout(r, wait));
        const found = await ws.listJobsWithTag(tagKey);
        if (found.length > 0) return { jobName: found[0].name, adopted: true, status: found[0].status };
      }
    }
  });
}

export async function getBatchJobStatus(input: JobRefInput, context: InvocationContext): Promise<ActivityResult<JobSummary>> {
  return asActivityResult(context, input.runId, `Reading job ${input.jobName}`, () => workspaceClient(input.workspaceId).getJob(input.jobName));
}

export async function cancelBatchJob(input: JobRefInput, context: InvocationContext): Promise<ActivityResult<{ cancelled: true }>> {
  return asActivityResult(context, input.runId, `Cancelling job ${input.jobName}`, async () => {
    await workspaceClient(input.workspaceId).cancelJob(input.jobName);
    context.log(JSON.stringify({ runId: input.runId, jobName: input.jobName, message: 'Cancellation requested.' }));
    return { cancelled: true as const };
  });
}
