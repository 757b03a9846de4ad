// Azure ML workspace events (RunStatusChanged, RunCompleted; ModelRegistered for the model flow), in
// either delivery schema. A job event carries the job's tags; batchpilot's tag names the run waiting
// for it, so the event is routed to that run's job instance.
import { z } from 'zod';

export const ML_EVENT_TYPES = {
  runCompleted: 'Microsoft.MachineLearningServices.RunCompleted',
  runStatusChanged: 'Microsoft.MachineLearningServices.RunStatusChanged',
  modelRegistered: 'Microsoft.MachineLearningServices.ModelRegistered',
} as const;

const runData = z.object({
  experimentId: z.string().optional(),
  experimentName: z.string().optional(),
  runId: z.string().min(1),
  runType: z.string().optional(),
  runTags: z.record(z.string(), z.unknown()).optional(),
  runProperties: z.record(z.string(), z.unknown()).optional(),
  runStatus: z.string().optional(),
});

export interface JobEvent {
  eventId: string;
  eventType: string;
  jobName: string;
  status: string;
  runTags: Record<string, string>;
}

export type ParsedMlEvent = { kind: 'job'; event: JobEvent } | { kind: 'other'; eventType: string } | { kind: 'invalid'; reason: string };

export function parseMlEvent(input: unknown): ParsedMlEvent {
  if (!input || typeof input !== 'object' || Array.isArray(input)) return { kind: 'invalid', reason: 'the event is not a JSON object' };
  const e = input as Record<string, unknown>;
  const eventType = String(e.eventType ?? e.type ?? '');
  const id = String(e.id ?? '');
  if (!eventType || !id) return { kind: 'invalid', reason: 'the event has no id or type' };
  if (eventType !== ML_EVENT_TYPES.runCompleted && eventType !== ML_EVENT_TYPES.runStatusChanged) return { kind: 'other', eventType };
  const data = runData.safeParse(e.data);
  if (!data.success) return { kind: 'invalid', reason: `${eventType} data is malformed: ${data.error.issues.map((i) => `data.${i.path.join('.')} ${i.message}`).join('; ')}` };
  const status = eventType === ML_EVENT_TYPES.runCompleted ? 'Completed' : data.data.runStatus;
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
