// Storage events as the intake receives them — Event Grid schema or CloudEvents 1.0, one per trigger
// invocation — normalised into a BlobArrival. Anything else is refused with the reason.
import { z } from 'zod';
import { clip } from '../domain/untrustedText';

export const BLOB_CREATED = 'Microsoft.Storage.BlobCreated';
/** Event Grid never delivers an event larger than 1 MB; one that claims to come from it is refused. */
export const MAX_EVENT_SIZE_IN_BYTES = 1024 * 1024;

/** The size of an event as Event Grid counts it: its JSON, in UTF-8 bytes. */
export function eventSizeInBytes(event: unknown): number {
  return Buffer.byteLength(JSON.stringify(event) ?? '', 'utf8');
}

function formatBytes(n: number): string {
  return n.toLocaleString('en-US');
}

const blobCreatedData = z.object({
  api: z.string().min(1),
  eTag: z.string().min(1).optional(),
  contentType: z.string().optional(),
  contentLength: z.number().int().min(0).optional(),
  blobType: z.string().optional(),
  url: z.string().min(1),
  sequencer: z.string().optional(),
  clientRequestId: z.string().optional(),
  requestId: z.string().optional(),
});

/**
 * Azure Storage's event IDs are GUIDs; the ID is kept with the arrival (a table property, at most 32K
 * characters), so a longer one is refused here rather than failing every delivery of the event.
 */
export const MAX_EVENT_ID_CHARS = 512;
const eventId = z.string().min(1).max(MAX_EVENT_ID_CHARS, { message: `is longer than ${MAX_EVENT_ID_CHARS} characters (Azure Storage's event IDs are GUIDs)` });

const eventGridSchemaEvent = z.object({
  id: eventId,
  topic: z.string().optional(),
  subject: z.string(),
  eventType: z.string().min(1),
  eventTime: z.string().min(1),
  data: z.unknown(),
});

const cloudEvent = z.object({
  id: eventId,
  source: z.string().min(1),
  subject: z.string().optional(),
  type: z.string().min(1),
  time: z.string().optional(),
  specversion: z.literal('1.0'),
  data: z.unknown(),
});

export interface BlobArrival {
  eventId: string;
  eventType: string;
  eventTime: string;
  /** `/blobServices/default/containers/<c>/blobs/<path>` */
  subject: string;
  /** The storage account's resource ID (topic / source). */
  source: string;
  api: string;
  url: string;
  eTag: string;
  contentLength?: number;
  contentType?: string;
  sequencer?: string;
}

/** Schema problems, named by field; a field path is user-controlled too (keys of an unknown object). */
function describeIssues(issues: readonly z.core.$ZodIssue[], prefix = ''): string {
  const shown = issues.slice(0, 5).map((i) => `${clip(prefix + i.path.join('.'), 80) || 'event'} ${clip(i.message, 120)}`);
  return shown.join('; ') + (issues.length > shown.length ? `; and ${issues.length - shown.length} more` : '');
}

export type ParsedStorageEvent = { ok: true; arrival: BlobArrival } | { ok: false; reason: string };

/** Normalises one storage event; BlobCreated only (BlobDeleted and others are refused by reason). */
export function parseStorageEvent(input: unknown): ParsedStorageEvent {
  if (!input || typeof input !== 'object' || Array.isArray(input)) return { ok: false, reason: 'the event is not a JSON object' };
  const size = eventSizeInBytes(input);
  if (size > MAX_EVENT_SIZE_IN_BYTES) {
    return { ok: false, reason: `the event is ${formatBytes(size)} bytes; Event Grid delivers events of at most ${formatBytes(MAX_EVENT_SIZE_IN_BYTES)} bytes (1 MB)` };
  }
  const asCloud = 'specversion' in (input as object);
  let head: { id: string; type: string; time: string; subject: string; source: string; data: unknown };
  if (asCloud) {
    const r = cloudEvent.safeParse(input);
    if (!r.success) return { ok: false, reason: `malformed CloudEvent: ${describeIssues(r.error.issues)}` };
    head = { id: r.data.id, type: r.data.type, time: r.data.time ?? '', subject: r.data.subject ?? '', source: r.data.source, data: r.data.data };
  } else {
    const r = eventGridSchemaEvent.safeParse(input);
    if (!r.success) return { ok: false, reason: `malformed Event Grid event: ${describeIssues(r.error.issues)}` };
    head = { id: r.data.id, type: r.data.eventType, time: r.data.eventTime, subject: r.data.subject, source: r.data.topic ?? '', data: r.data.data };
  }
  if (head.type !== BLOB_CREATED) return { ok: false, reason: `event type ${clip(head.type)} is not ${BLOB_CREATED}` };
  const data = blobCreatedData.safeParse(head.data);
  if (!data.success) return { ok: false, reason: `BlobCreated data is malformed: ${describeIssues(data.error.issues, 'data.')}` };
  if (!data.data.eTag) return { ok: false, reason: 'BlobCreated data has no eTag, so the blob version cannot be identified' };
  return {
    ok: true,
    arrival: {
      eventId: head.id,
      eventType: head.type,
      eventTime: head.time,
      subject: head.subject,
      source: head.source,
      api: data.data.api,
      url: data.data.url,
      eTag: data.data.eTag,
      contentLength: data.data.contentLength,
      contentType: data.data.contentType,
      sequencer: data.data.sequencer,
    },
  };
}
