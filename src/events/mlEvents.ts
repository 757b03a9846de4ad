// Azure ML workspace events (RunStatusChanged, RunCompleted; ModelRegistered for the model flow), in
// either delivery schema. A job event carries the job's tags; batchpilot's tags name the run and
// attempt the job was submitted for. Anyone who can tag a job in the workspace can write those tags,
// so a tag is only a claim: it must have the exact run-ID shape, and the instance it names must be
// waiting for this very job (checkWaitingInstance) before the event is raised on it. ModelRegistered
// is normalised by src/events/modelRegistrations.ts.
import { z } from 'zod';
import { canonicalJobStatus } from '../domain/jobStatuses';
import { textOf } from '../domain/untrustedText';
import { isJobRunId, jobInstanceId, parseAttemptTag, RUN_TAG } from '../domain/runIds';
import { RUN_BATCH_JOB, JobWaitStatus } from '../orchestrations/runBatchJob';
import { MODEL_REGISTERED_EVENT_TYPE, ModelRegistration, parseModelRegistered } from './modelRegistrations';

export const ML_EVENT_TYPES = {
  runCompleted: 'Microsoft.MachineLearningServices.RunCompleted',
  runStatusChanged: 'Microsoft.MachineLearningServices.RunStatusChanged',
  modelRegistered: MODEL_REGISTERED_EVENT_TYPE,
} as const;

// Azure sends null for absent fields (the documented examples have `"runType": null`).
const runData = z.object({
  experimentId: z.string().nullish(),
  experimentName: z.string().nullish(),
  runId: z.string().min(1),
  runType: z.string().nullish(),
  runTags: z.record(z.string(), z.unknown()).nullish(),
  runProperties: z.record(z.string(), z.unknown()).nullish(),
  runStatus: z.string().nullish(),
});

export interface JobEvent {
  eventId: string;
  eventType: string;
  jobName: string;
  status: string;
  runTags: Record<string, string>;
}

export type ParsedMlEvent =
  | { kind: 'job'; event: JobEvent }
  | { kind: 'model'; registration: ModelRegistration }
  | { kind: 'other'; eventType: string }
  | { kind: 'invalid'; reason: string };

export function parseMlEvent(input: unknown): ParsedMlEvent {
  if (!input || typeof input !== 'object' || Array.isArray(input)) return { kind: 'invalid', reason: 'the event is not a JSON object' };
  const e = input as Record<string, unknown>;
  const rawType = e.eventType ?? e.type;
  if ((rawType != null && typeof rawType !== 'string') || (e.id != null && typeof e.id !== 'string')) return { kind: 'invalid', reason: "the event's id and type must be strings" };
  const eventType = typeof rawType === 'string' ? rawType : '';
  const id = typeof e.id === 'string' ? e.id : '';
  if (!eventType || !id) return { kind: 'invalid', reason: 'the event has no id or type' };
  if (eventType === ML_EVENT_TYPES.modelRegistered) {
    const model = parseModelRegistered(input);
    return model.ok ? { kind: 'model', registration: model.registration } : { kind: 'invalid', reason: `${eventType}: ${model.reason}` };
  }
  if (eventType !== ML_EVENT_TYPES.runCompleted && eventType !== ML_EVENT_TYPES.runStatusChanged) return { kind: 'other', eventType };
  const data = runData.safeParse(e.data);
  if (!data.success) return { kind: 'invalid', reason: `${eventType} data is malformed: ${data.error.issues.map((i) => `data.${i.path.join('.')} ${i.message}`).join('; ')}` };
  const status = eventType === ML_EVENT_TYPES.runCompleted ? 'Completed' : data.data.runStatus && canonicalJobStatus(data.data.runStatus);
  if (!status) return { kind: 'invalid', reason: 'RunStatusChanged has no data.runStatus' };
  const runTags: Record<string, string> = {};
  for (const [k, v] of Object.entries(data.data.runTags ?? {})) runTags[k] = textOf(v);
  return { kind: 'job', event: { eventId: id, eventType, jobName: data.data.runId, status, runTags } };
}

export type JobEventClaim =
  | { kind: 'untagged' }
  | { kind: 'refused'; reason: string }
  | { kind: 'claimed'; runId: string; attempt: number; instanceId: string };

const QUOTED_TAG_MAX = 80;

/** A value from an event, quoted and shortened for a log line. */
export function quoted(value: string): string {
  return JSON.stringify(value.length > QUOTED_TAG_MAX ? `${value.slice(0, QUOTED_TAG_MAX)}…` : value);
}

/** What the job's tags claim: the run and attempt it was submitted for, when the tags have batchpilot's exact shape. */
export function claimOfJobEvent(event: JobEvent): JobEventClaim {
  const runId = event.runTags[RUN_TAG.runId];
  if (runId === undefined) return { kind: 'untagged' };
  if (!isJobRunId(runId)) return { kind: 'refused', reason: `its ${RUN_TAG.runId} tag ${quoted(runId)} is not a batchpilot run ID` };
  const attemptTag = event.runTags[RUN_TAG.attempt];
  const attempt = parseAttemptTag(attemptTag);
  if (attempt === undefined) return { kind: 'refused', reason: `its ${RUN_TAG.attempt} tag ${attemptTag === undefined ? 'is missing' : `${quoted(attemptTag)} is not an attempt number`}` };
  return { kind: 'claimed', runId, attempt, instanceId: jobInstanceId(runId) };
}

/** The parts of an instance's status the check reads (a DurableOrchestrationStatus has them). */
export interface WaitingInstanceStatus {
  name: string;
  runtimeStatus: string;
  customStatus?: unknown;
}

const UNFINISHED = new Set(['Running', 'Pending', 'Suspended', 'ContinuedAsNew']);

/** Whether an instance in this runtime status can still receive events. */
export function isUnfinishedRuntimeStatus(runtimeStatus: string): boolean {
  return UNFINISHED.has(runtimeStatus);
}

/**
 * Why the instance a claim names must not get this event, or undefined when it is the runBatchJob
 * instance of that run, still running, and its published state names this job and attempt. A job
 * someone else tagged with a run's ID has another name; a job of an earlier attempt has another
 * attempt. The instance publishes the job only once submission returns, so an event that outruns it
 * is refused too: the instance's status poll still sees the job's status.
 */
export function checkWaitingInstance(status: WaitingInstanceStatus, event: JobEvent, claim: { attempt: number }): string | undefined {
  if (status.name !== RUN_BATCH_JOB) return `the instance it names is a ${status.name}, not a ${RUN_BATCH_JOB}`;
  if (!UNFINISHED.has(status.runtimeStatus)) return `the instance it names is ${status.runtimeStatus}`;
  const waiting = (status.customStatus ?? {}) as Partial<JobWaitStatus>;
  if (waiting.jobName !== event.jobName) return `the instance it names is waiting for job ${waiting.jobName === undefined ? '(none yet)' : quoted(String(waiting.jobName))}, not ${quoted(event.jobName)}`;
  if (waiting.attempt !== claim.attempt) return `the instance it names is on attempt ${String(waiting.attempt)}, not ${claim.attempt}`;
  return undefined;
}
