// Routes Azure ML job events to the run instance waiting for the job, and model registrations to the
// model intake (src/model/modelIntake.ts); everything else is logged.
import type { InvocationContext } from '@azure/functions';
import type { DurableClient } from 'durable-functions';
import { parseMlEvent, waitingInstanceFor } from './mlEvents';
import { JOB_STATUS_EVENT, JobStatusEvent } from '../orchestrations/runBatchJob';
import { intakeModelRegistration } from '../model/modelIntake';

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
    context.log(JSON.stringify({ message: `Ignored ML event of type ${parsed.eventType}.` }));
    return 'ignored';
  }
  const instanceId = waitingInstanceFor(parsed.event);
  if (!instanceId) {
    context.log(JSON.stringify({ jobName: parsed.event.jobName, message: 'Job event for a job batchpilot did not submit; ignored.' }));
    return 'ignored';
  }
  const payload: JobStatusEvent = { jobName: parsed.event.jobName, status: parsed.event.status, eventType: parsed.event.eventType };
  try {
    await client.raiseEvent(instanceId, JOB_STATUS_EVENT, payload);
  } catch (err) {
    // The run may be finished and purged: the event has nobody to wake.
    if (/No instance with ID/.test((err as Error).message)) {
      context.log(JSON.stringify({ runId: instanceId.replace(/:job$/, ''), jobName: payload.jobName, message: 'No waiting instance for this job event.' }));
      return 'ignored';
    }
    throw err;
  }
  context.log(JSON.stringify({ runId: instanceId.replace(/:job$/, ''), jobName: payload.jobName, message: `Job ${payload.status} (${payload.eventType}).` }));
  return 'routed';
}
