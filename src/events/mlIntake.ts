// Routes Azure ML job events to the run instance waiting for the job, and model registrations to the
// model intake (src/events/modelIntake.ts); everything else is logged. A job event reaches an instance
// only when its tags name a run in batchpilot's exact format and that run's job instance is waiting
// for this very job (src/events/mlEvents.ts): tags are writable by anyone who can tag a job.
import type { InvocationContext } from '@azure/functions';
import type { DurableClient, DurableOrchestrationStatus } from 'durable-functions';
import { checkWaitingInstance, claimOfJobEvent, isUnfinishedRuntimeStatus, JobEvent, parseMlEvent, quoted } from './mlEvents';
import { JOB_STATUS_EVENT, JobStatusEvent } from '../orchestrations/runBatchJob';
import { RUN_TAG } from '../domain/runIds';
import { intakeModelRegistration } from './modelIntake';
import { clip } from '../domain/untrustedText';

const NO_INSTANCE = /No instance with ID|HTTP 404 response/;

export async function intakeMlEvent(event: unknown, client: DurableClient, context: InvocationContext): Promise<'routed' | 'ignored'> {
  const parsed = parseMlEvent(event);
  if (parsed.kind === 'invalid') {
    context.warn(JSON.stringify({ message: `Dropped ML event: ${parsed.reason}` }));
    return 'ignored';
  }
  if (parsed.kind === 'model') {
    const outcome = await intakeModelRegistration(parsed.registration, client, context);
    return outcome.action === 'dropped' ? 'ignored' : 'routed';
  }
  if (parsed.kind === 'other') {
    context.log(JSON.stringify({ message: `Ignored ML event of type ${clip(parsed.eventType)}.` }));
    return 'ignored';
  }
  return routeJobEvent(parsed.event, client, context);
}

async function routeJobEvent(job: JobEvent, client: DurableClient, context: InvocationContext): Promise<'routed' | 'ignored'> {
  const claim = claimOfJobEvent(job);
  if (claim.kind === 'untagged') {
    context.log(JSON.stringify({ jobName: clip(job.jobName), message: 'Job event for a job batchpilot did not submit; ignored.' }));
    return 'ignored';
  }
  const refuse = (reason: string): 'ignored' => {
    context.warn(JSON.stringify({ message: `Refused job event ${quoted(job.eventId)} for job ${quoted(job.jobName)}: ${reason}. Its ${RUN_TAG.runId} tag does not identify a run waiting for this job; nothing was raised.` }));
    return 'ignored';
  };
  if (claim.kind === 'refused') return refuse(claim.reason);

  let waiting: DurableOrchestrationStatus;
  try {
    waiting = await client.getStatus(claim.instanceId, { showHistory: false, showInput: false });
  } catch (err) {
    // The run may be finished and purged: the event has nobody to wake.
    if (NO_INSTANCE.test((err as Error).message)) {
      context.log(JSON.stringify({ runId: claim.runId, jobName: job.jobName, message: 'No waiting instance for this job event.' }));
      return 'ignored';
    }
    throw err;
  }
  if (!isUnfinishedRuntimeStatus(waiting.runtimeStatus)) {
    context.log(JSON.stringify({ runId: claim.runId, jobName: job.jobName, message: `The job instance of this run is ${waiting.runtimeStatus}; nothing waits for this job event.` }));
    return 'ignored';
  }
  const mismatch = checkWaitingInstance(waiting, job, claim);
  if (mismatch) return refuse(mismatch);

  const payload: JobStatusEvent = { jobName: job.jobName, status: job.status, eventType: job.eventType };
  try {
    await client.raiseEvent(claim.instanceId, JOB_STATUS_EVENT, payload);
  } catch (err) {
    if (NO_INSTANCE.test((err as Error).message)) {
      context.log(JSON.stringify({ runId: claim.runId, jobName: payload.jobName, message: 'No waiting instance for this job event.' }));
      return 'ignored';
    }
    throw err;
  }
  context.log(JSON.stringify({ runId: claim.runId, jobName: payload.jobName, message: `Job ${payload.status} (${payload.eventType}).` }));
  return 'routed';
}
