// Checks a publish request to a custom topic the way Event Grid does before accepting it: credentials
// (Entra bearer token for https://eventgrid.azure.net, or the topic's access key / SAS token), api-version,
// content type against the topic's input schema, the required fields of each event, and the 1 MB limits.
// Rejections carry Event Grid's status codes and error body ({ error: { code, message, details } }),
// which is what @azure/core-client turns into a RestError with `statusCode` and `code`.

import { createHmac, randomUUID, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { DevTokenIssuer } from '@batchpilot/local-platform';
import { CloudEvent, EventGridEvent, StoredEvent, isPlainObject } from './eventShapes';
import type { TopicDefinition } from './topics';

export const EVENT_GRID_AUDIENCE = 'https://eventgrid.azure.net';
/** Event Grid's limits for custom topics: one event, and one publish request, up to 1 MB. */
export const MAX_EVENT_SIZE_IN_BYTES = 1024 * 1024;
export const MAX_REQUEST_SIZE_IN_BYTES = 1024 * 1024;

export interface PublishRejection {
  status: number;
  code: string;
  message: string;
  details?: Array<{ code: string; message: string }>;
  headers?: Record<string, string>;
}

export type Rejected = { ok: false; rejection: PublishRejection };
export type PublishCheck = { ok: true; events: StoredEvent[] } | Rejected;
type Checked<T> = { ok: true; event: T } | Rejected;

/** The body Event Grid answers errors with; the tracking suffix is what the service appends to every message. */
export function eventGridErrorBody(rejection: PublishRejection, now: Date = new Date()): { error: Record<string, unknown> } {
  const suffix = ` Report '${randomUUID()}:${now.toUTCString()}' to our forums for assistance or raise a support ticket.`;
  return {
    error: {
      code: rejection.code,
      message: rejection.message + suffix,
      ...(rejection.details ? { details: rejection.details.map((d) => ({ code: d.code, message: d.message + suffix })) } : {}),
    },
  };
}

export interface PublishCredentials {
  issuer: DevTokenIssuer;
  /** The topic's access key (base64), generated per run; never stored anywhere. */
  topicKey: string;
  /** The URL the topic is published at, which a SAS token's `r` must name. */
  topicEndpoint: string;
}

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name.toLowerCase()];
  return Array.isArray(value) ? value[0] : value;
}

function unauthorized(message: string): Rejected {
  return { ok: false, rejection: { status: 401, code: 'Unauthorized', message } };
}

function sameSecret(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

/** Parses `M/d/yyyy h:mm:ss AM|PM` (UTC), the format Event Grid SAS tokens carry their expiry in. */
function parseServiceTime(text: string): number | undefined {
  const m = /^(\d{1,2})\/(\d{1,2})\/(\d{4}) (\d{1,2}):(\d{2}):(\d{2}) (AM|PM)$/.exec(text);
  if (!m) return undefined;
  const hour12 = Number(m[4]) % 12;
  const hour = m[7] === 'PM' ? hour12 + 12 : hour12;
  return Date.UTC(Number(m[3]), Number(m[1]) - 1, Number(m[2]), hour, Number(m[5]), Number(m[6]));
}

function checkSasToken(token: string, credentials: PublishCredentials): string | undefined {
  const parts = new Map<string, string>();
  for (const pair of token.split('&')) {
    const at = pair.indexOf('=');
    if (at > 0) parts.set(pair.slice(0, at), pair.slice(at + 1));
  }
  const r = parts.get('r');
  const e = parts.get('e');
  const s = parts.get('s');
  if (!r || !e || !s) return "The SAS token must carry 'r', 'e' and 's'.";
  const expected = createHmac('sha256', Buffer.from(credentials.topicKey, 'base64')).update(`r=${r}&e=${e}`).digest('base64');
  if (!sameSecret(decodeURIComponent(s), expected)) return 'The SAS token signature is invalid.';
  const resource = decodeURIComponent(r).split('?')[0].toLowerCase();
  if (!credentials.topicEndpoint.toLowerCase().startsWith(resource)) return `The SAS token is for '${resource}', not for this topic.`;
  const expiry = parseServiceTime(decodeURIComponent(e));
  if (expiry === undefined || expiry <= Date.now()) return 'The SAS token has expired.';
  return undefined;
}

export function checkPublishCredentials(headers: IncomingHttpHeaders, credentials: PublishCredentials): Rejected | undefined {
  const authorization = header(headers, 'authorization');
  const key = header(headers, 'aeg-sas-key');
  const sas = header(headers, 'aeg-sas-token');
  if (authorization) {
    const check = credentials.issuer.verifyAuthorization(authorization, EVENT_GRID_AUDIENCE);
    if (!check.ok) return unauthorized(`${check.code}: ${check.message}`);
    return undefined;
  }
  if (key !== undefined) {
    return sameSecret(key, credentials.topicKey) ? undefined : unauthorized('The request authorization key is not authorized for this topic.');
  }
  if (sas !== undefined) {
    const problem = checkSasToken(sas, credentials);
    return problem ? unauthorized(`The request authorization token is not authorized for this topic. ${problem}`) : undefined;
  }
  return unauthorized("Request must contain one of the 'aeg-sas-token', 'aeg-sas-key' or 'Authorization' headers.");
}

function badRequest(message: string, detailCode = 'InputJsonInvalid'): Rejected {
  return { ok: false, rejection: { status: 400, code: 'BadRequest', message, details: [{ code: detailCode, message }] } };
}

function tooLarge(message: string): Rejected {
  return { ok: false, rejection: { status: 413, code: 'RequestEntityTooLarge', message } };
}

const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/i;

function requireString(event: Record<string, unknown>, property: string, index: number): Rejected | undefined {
  const value = event[property];
  if (value === undefined || value === null) return badRequest(`Required property '${property}' was not set on the event at index ${index}.`);
  if (typeof value !== 'string') return badRequest(`Property '${property}' of the event at index ${index} must be a string.`);
  return undefined;
}

function checkEventGridEvent(raw: unknown, index: number, topic: TopicDefinition): Checked<EventGridEvent> {
  if (!isPlainObject(raw)) return badRequest(`The event at index ${index} is not a JSON object.`);
  for (const property of ['id', 'subject', 'eventType', 'eventTime', 'dataVersion']) {
    const problem = requireString(raw, property, index);
    if (problem) return problem;
  }
  if (!('data' in raw)) return badRequest(`Required property 'data' was not set on the event at index ${index}.`);
  if (!DATE_TIME.test(raw.eventTime as string) || Number.isNaN(Date.parse(raw.eventTime as string))) {
    return badRequest(`Property 'eventTime' of the event at index ${index} is not a valid date-time: '${String(raw.eventTime)}'.`);
  }
  if (raw.topic !== undefined && raw.topic !== null && (typeof raw.topic !== 'string' || raw.topic.toLowerCase() !== topic.resourceId.toLowerCase())) {
    // Event Grid sets `topic` itself; a publisher naming another topic is refused rather than silently re-homed.
    return badRequest(`Property 'topic' of the event at index ${index} must be empty or '${topic.resourceId}'.`);
  }
  const event: EventGridEvent = {
    id: raw.id as string,
    topic: topic.resourceId,
    subject: raw.subject as string,
    data: raw.data,
    eventType: raw.eventType as string,
    eventTime: raw.eventTime as string,
    metadataVersion: '1',
    dataVersion: raw.dataVersion as string,
  };
  return { ok: true, event };
}

function checkCloudEvent(raw: unknown, index: number): Checked<CloudEvent> {
  if (!isPlainObject(raw)) return badRequest(`The event at index ${index} is not a JSON object.`);
  for (const property of ['id', 'source', 'type', 'specversion']) {
    const problem = requireString(raw, property, index);
    if (problem) return problem;
  }
  if (raw.specversion !== '1.0') return badRequest(`The event at index ${index} has specversion '${String(raw.specversion)}'; only '1.0' is supported.`);
  if (raw.time !== undefined && (typeof raw.time !== 'string' || !DATE_TIME.test(raw.time) || Number.isNaN(Date.parse(raw.time)))) {
    return badRequest(`Property 'time' of the event at index ${index} is not a valid RFC 3339 timestamp: '${String(raw.time)}'.`);
  }
  if ('data' in raw && 'data_base64' in raw && raw.data !== undefined && raw.data_base64 !== undefined) {
    return badRequest(`The event at index ${index} carries both 'data' and 'data_base64'; a CloudEvent has at most one.`);
  }
  return { ok: true, event: raw as CloudEvent };
}

function isCloudEventsContentType(contentType: string): boolean {
  return /^application\/cloudevents(-batch)?\+json/i.test(contentType);
}

/**
 * Turns a publish request (already authorized) into stored events, or Event Grid's rejection.
 * `body` is the raw request body so that sizes are measured as the service measures them, in bytes.
 */
export function checkPublishBody(
  topic: TopicDefinition,
  query: URLSearchParams,
  headers: IncomingHttpHeaders,
  body: Buffer,
): PublishCheck {
  if (!query.get('api-version')) return badRequest('The api-version query parameter (?api-version=) is required for all requests.', 'MissingApiVersionParameter');
  if (body.length > MAX_REQUEST_SIZE_IN_BYTES) {
    return tooLarge(`The maximum size (${MAX_REQUEST_SIZE_IN_BYTES}) has been exceeded: the request body is ${body.length} bytes.`);
  }
  const contentType = header(headers, 'content-type') ?? '';
  const cloudEventsContent = isCloudEventsContentType(contentType);
  if (topic.inputSchema === 'EventGridSchema' && cloudEventsContent) {
    return badRequest(`This resource is configured to receive events in the 'EventGridSchema' schema; the request's Content-Type '${contentType}' is for CloudEvents.`, 'InputSchemaMismatch');
  }
  if (topic.inputSchema === 'CloudEventSchemaV1_0' && !cloudEventsContent) {
    return badRequest(`This resource is configured to receive events in the 'CloudEventSchemaV1_0' schema; use Content-Type 'application/cloudevents-batch+json' or 'application/cloudevents+json', not '${contentType}'.`, 'InputSchemaMismatch');
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch (error) {
    return badRequest(`The request body is not valid JSON: ${(error as Error).message}`);
  }
  // Structured-mode CloudEvents (application/cloudevents+json) carry one event, not an array.
  const singleCloudEvent = topic.inputSchema === 'CloudEventSchemaV1_0' && /^application\/cloudevents\+json/i.test(contentType);
  const items = singleCloudEvent ? [parsed] : parsed;
  if (!Array.isArray(items)) return badRequest('The request body must be a JSON array of events.');
  const events: StoredEvent[] = [];
  for (const [index, item] of items.entries()) {
    const size = Buffer.byteLength(JSON.stringify(item) ?? '');
    if (size > MAX_EVENT_SIZE_IN_BYTES) {
      return tooLarge(`The maximum size (${MAX_EVENT_SIZE_IN_BYTES}) has been exceeded: the event at index ${index} is ${size} bytes.`);
    }
    if (topic.inputSchema === 'EventGridSchema') {
      const checked = checkEventGridEvent(item, index, topic);
      if (!checked.ok) return checked;
      events.push({ schema: 'EventGridSchema', event: checked.event });
    } else {
      const checked = checkCloudEvent(item, index);
      if (!checked.ok) return checked;
      events.push({ schema: 'CloudEventSchemaV1_0', event: checked.event });
    }
  }
  return { ok: true, events };
}
