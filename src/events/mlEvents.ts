// Azure ML workspace events (RunStatusChanged, RunCompleted; ModelRegistered for the model flow), in
// either delivery schema. A job event carries the job's tags; batchpilot's tag names the run waiting
// for it, so the event is routed to that run's job instance. ModelRegistered is normalised by
// src/model/modelRegistrations.ts.
import { z } from 'zod';
import { canonicalJobStatus } from '../orchestrations/jobStatuses';
import { MODEL_REGISTERED_EVENT_TYPE, ModelRegistration, parseModelRegistered } from '../model/modelRegistrations';

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
  const eventType = String(e.eventType ?? e.type ?? '');
  const id = String(e.id ?? '');
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
  for (const [k, v] of Object.entries(data.data.runTags ?? {})) runTags[k] = String(v);
  return { kind: 'job', event: { eventId: id, eventType, jobName: data.data.runId, status, runTags } };
}

/** The durable instance waiting for this job, when batchpilot submitted it. */
export function waitingInstanceFor(event: JobEvent): string | undefined {
  const runId = event.runTags['batchpilot-run-id'];
  return runId ? `${runId}:job` : undefined;
}
