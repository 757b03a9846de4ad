// Microsoft.MachineLearningServices.ModelRegistered as it arrives in the wild, normalised: either
// delivery schema (Event Grid or CloudEvents 1.0), data keys in the PascalCase of the service and its
// documentation sample (`ModelName`, an integer `ModelVersion`) or the camelCase of the SDK types
// (`modelName`, a string `modelVersion`), and the subject `models/<name>:<version>` as a cross-check
// (and the source of truth when the data lacks the name or version). Values quoted in reasons are
// clipped: a reason ends up in a log line.
import { clip } from '../domain/untrustedText';

export const MODEL_REGISTERED_EVENT_TYPE = 'Microsoft.MachineLearningServices.ModelRegistered';

export interface ModelRegistration {
  eventId: string;
  eventTime?: string;
  schema: 'EventGridSchema' | 'CloudEventSchemaV1_0';
  /** The workspace's resource ID, from the event's topic (Event Grid) or source (CloudEvents). */
  workspaceId?: string;
  modelName: string;
  /** Always a string: v2 model versions are strings, the documentation sample sends an integer. */
  modelVersion: string;
  /** The version's tags; undefined when the event did not carry any (look them up before filtering). */
  tags?: Record<string, string>;
  properties?: Record<string, string>;
}

export type ParsedModelRegistration = { ok: true; registration: ModelRegistration } | { ok: false; reason: string };

const SUBJECT = /^models\/(.+):([^:/]+)$/;
const MODEL_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,254}$/;
const MODEL_VERSION = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

/** Reads a data field whatever its casing (ModelName, modelName, modelname). */
function field(data: Record<string, unknown>, name: string): unknown {
  if (name in data) return data[name];
  const lower = name.toLowerCase();
  const key = Object.keys(data).find((k) => k.toLowerCase() === lower);
  return key === undefined ? undefined : data[key];
}

function stringMap(value: unknown): Record<string, string> | undefined {
  if (value === undefined) return undefined;
  if (value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) return undefined;
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) if (v !== null && v !== undefined) out[k] = typeof v === 'string' ? v : JSON.stringify(v);
  return out;
}

function versionOf(value: unknown): string | undefined | Error {
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value === 'number') return Number.isInteger(value) && value >= 0 ? String(value) : new Error(`data.ModelVersion ${value} is not a whole number`);
  if (typeof value === 'string') return MODEL_VERSION.test(value.trim()) ? value.trim() : new Error(`data.ModelVersion '${clip(value)}' is not a model version`);
  return new Error(`data.ModelVersion is a ${typeof value}, not a string or number`);
}

/** Normalises one ModelRegistered event, or says why it cannot be used. */
export function parseModelRegistered(input: unknown): ParsedModelRegistration {
  if (!input || typeof input !== 'object' || Array.isArray(input)) return { ok: false, reason: 'the event is not a JSON object' };
  const e = input as Record<string, unknown>;
  const cloud = 'specversion' in e;
  const type = cloud ? e.type : e.eventType;
  if (type !== MODEL_REGISTERED_EVENT_TYPE) return { ok: false, reason: `event type ${clip(type)} is not ${MODEL_REGISTERED_EVENT_TYPE}` };
  if (typeof e.id !== 'string' || !e.id) return { ok: false, reason: 'the event has no id' };
  const data = e.data;
  if (!data || typeof data !== 'object' || Array.isArray(data)) return { ok: false, reason: 'ModelRegistered has no data object' };
  const d = data as Record<string, unknown>;

  const rawName = field(d, 'ModelName');
  if (rawName !== undefined && rawName !== null && typeof rawName !== 'string') return { ok: false, reason: `data.ModelName is a ${typeof rawName}, not a string` };
  const dataName = typeof rawName === 'string' && rawName.trim() ? rawName.trim() : undefined;
  const dataVersion = versionOf(field(d, 'ModelVersion'));
  if (dataVersion instanceof Error) return { ok: false, reason: dataVersion.message };

  const subject = typeof e.subject === 'string' ? e.subject : undefined;
  const fromSubject = subject ? SUBJECT.exec(subject) : null;
  if (subject && !fromSubject) return { ok: false, reason: `subject '${clip(subject)}' is not models/<name>:<version>` };
  if (fromSubject && dataName && fromSubject[1].toLowerCase() !== dataName.toLowerCase()) {
    return { ok: false, reason: `subject '${clip(subject)}' names model '${clip(fromSubject[1])}' but data.ModelName is '${clip(dataName)}'` };
  }
  if (fromSubject && dataVersion !== undefined && fromSubject[2] !== dataVersion) {
    return { ok: false, reason: `subject '${clip(subject)}' names version ${clip(fromSubject[2])} but data.ModelVersion is ${dataVersion}` };
  }
  const modelName = dataName ?? fromSubject?.[1];
  const modelVersion = dataVersion ?? fromSubject?.[2];
  if (!modelName || !modelVersion) return { ok: false, reason: 'neither data.ModelName/ModelVersion nor the subject models/<name>:<version> name the model version' };
  if (!MODEL_NAME.test(modelName)) return { ok: false, reason: `model name '${clip(modelName)}' is not an Azure ML asset name` };

  const source = cloud ? e.source : e.topic;
  return {
    ok: true,
    registration: {
      eventId: e.id,
      eventTime: typeof (cloud ? e.time : e.eventTime) === 'string' ? String(cloud ? e.time : e.eventTime) : undefined,
      schema: cloud ? 'CloudEventSchemaV1_0' : 'EventGridSchema',
      workspaceId: typeof source === 'string' && source ? source : undefined,
      modelName,
      modelVersion,
      tags: stringMap(field(d, 'ModelTags')),
      properties: stringMap(field(d, 'ModelProperties')),
    },
  };
}
