// The Event Grid trigger's webhook, `/runtime/webhooks/eventgrid?functionName=NAME`, as the Functions
// Event Grid extension serves it: the subscription-validation handshake (Event Grid schema) and the
// CloudEvents abuse-protection handshake (OPTIONS), then one function invocation per event, the events
// of a batch at once. Status codes follow what Event Grid acts on: 400 and 413 are not retried
// (dead-lettered), 5xx is retried.
// Event Grid never delivers an event over 1 MB, more than 5,000 events at once, or a batch of several
// events over 1 MB (its largest preferred batch size), so a delivery like that did not come from it:
// 413. JSON nested deeper than the Functions host's reader takes (64 levels) is refused with 400 before
// anything recursive (JSON.stringify) walks it.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FunctionInvoker } from './contracts';
import { FunctionKeyStore, keyGivenIn } from './functionKeys';
import { headerValue, HttpError, sendJson } from './httpExchange';
import type { HostLogger } from './hostLog';

export const EVENT_GRID_WEBHOOK_PATH = '/runtime/webhooks/eventgrid';
export const EVENT_GRID_SYSTEM_KEY = 'eventgrid_extension';
const VALIDATION_EVENT_TYPE = 'Microsoft.EventGrid.SubscriptionValidationEvent';
/** Event Grid's limit on one event (its JSON, in UTF-8 bytes). */
export const EVENT_GRID_MAX_EVENT_SIZE_IN_BYTES = 1024 * 1024;
/** The most events Event Grid puts in one delivery (maxEventsPerBatch). */
export const EVENT_GRID_MAX_EVENTS_PER_BATCH = 5000;
/** The largest batch of several events Event Grid delivers (preferredBatchSizeInKilobytes is at most 1024). */
export const EVENT_GRID_MAX_BATCH_SIZE_IN_BYTES = 1024 * 1024;
/** How deep the Functions host's JSON reader nests (objects and arrays); deeper documents are refused. */
export const MAX_JSON_DEPTH = 64;
const QUOTED_CHARS = 100;
/** A refusal names this many problems; the rest are counted. */
const LISTED_PROBLEMS = 10;

/** Sender-chosen values (event IDs, field values) are quoted short in messages and log lines. */
function quoted(value: unknown): string {
  const text = String(value);
  return text.length > QUOTED_CHARS ? `${text.slice(0, QUOTED_CHARS)}… (${text.length} characters)` : text;
}

/** The events over Event Grid's size limit, by index, from their JSON texts: "event 0 is 2,097,412 bytes". */
export function oversizedEvents(eventTexts: readonly string[]): string[] {
  return eventTexts.flatMap((text, i) => {
    // A UTF-8 byte is at least one UTF-16 unit and at most three: most events need no count.
    if (text.length * 3 <= EVENT_GRID_MAX_EVENT_SIZE_IN_BYTES) return [];
    const size = Buffer.byteLength(text, 'utf8');
    return size > EVENT_GRID_MAX_EVENT_SIZE_IN_BYTES ? [`event ${i} is ${size.toLocaleString('en-US')} bytes`] : [];
  });
}

/** Whether objects and arrays in `value` nest deeper than `maxDepth`; walks without recursion. */
export function nestsDeeperThan(value: unknown, maxDepth: number): boolean {
  const pending: Array<{ value: object; depth: number }> = [];
  if (value !== null && typeof value === 'object') pending.push({ value, depth: 1 });
  for (let next = pending.pop(); next; next = pending.pop()) {
    if (next.depth > maxDepth) return true;
    for (const child of Object.values(next.value)) {
      if (child !== null && typeof child === 'object') pending.push({ value: child as object, depth: next.depth + 1 });
    }
  }
  return false;
}

/** Problems joined for a message: the first few, then how many more. */
function listProblems(problems: string[]): string {
  const shown = problems.slice(0, LISTED_PROBLEMS).join('; ');
  return problems.length > LISTED_PROBLEMS ? `${shown}; and ${(problems.length - LISTED_PROBLEMS).toLocaleString('en-US')} more` : shown;
}

type EventShape = Record<string, unknown>;

function describeMissing(event: EventShape, fields: string[]): string[] {
  return fields.filter((f) => event[f] === undefined || event[f] === null || event[f] === '');
}

/** Returns the problems with one event, by schema; empty when it is well-formed. */
export function eventProblems(event: unknown, schema: 'EventGridSchema' | 'CloudEventSchemaV1_0'): string[] {
  if (!event || typeof event !== 'object' || Array.isArray(event)) return ['each event must be a JSON object'];
  const e = event as EventShape;
  if (schema === 'CloudEventSchemaV1_0') {
    const missing = describeMissing(e, ['id', 'source', 'type', 'specversion']);
    const problems = missing.map((f) => `missing required attribute '${f}'`);
    if (e.specversion !== undefined && e.specversion !== '1.0') problems.push(`specversion must be '1.0' (got '${quoted(e.specversion)}')`);
    return problems;
  }
  // subject and dataVersion are required but may be empty: storage events carry dataVersion "".
  const problems = describeMissing(e, ['id', 'eventType', 'eventTime']).map((f) => `missing required property '${f}'`);
  for (const f of ['subject', 'dataVersion']) if (typeof e[f] !== 'string') problems.push(`missing required property '${f}'`);
  if (typeof e.eventTime === 'string' && Number.isNaN(Date.parse(e.eventTime))) problems.push(`eventTime '${quoted(e.eventTime)}' is not a date-time`);
  return problems;
}

export class EventGridWebhook {
  constructor(
    private readonly invoker: FunctionInvoker,
    private readonly keys: FunctionKeyStore,
    private readonly logger: HostLogger,
  ) {}

  webhookUrl(baseUrl: string, functionName: string): string {
    return `${baseUrl}${EVENT_GRID_WEBHOOK_PATH}?functionName=${encodeURIComponent(functionName)}&code=${encodeURIComponent(this.keys.systemKey(EVENT_GRID_SYSTEM_KEY))}`;
  }

  async handle(req: IncomingMessage, res: ServerResponse, url: URL, body: Buffer): Promise<void> {
    const method = (req.method ?? '').toUpperCase();
    if (method !== 'POST' && method !== 'OPTIONS') throw new HttpError(405, `The Event Grid webhook accepts POST (and OPTIONS for the CloudEvents handshake), not ${method}.`, { allow: 'POST, OPTIONS' });
    const functionName = url.searchParams.get('functionName');
    if (!functionName) throw new HttpError(400, "The 'functionName' query parameter is required.");
    const fn = this.invoker.get(functionName);
    if (!fn || fn.triggerType !== 'eventgridtrigger') throw new HttpError(404, `No Event Grid triggered function named '${functionName}' exists.`);
    const given = keyGivenIn(req, url);
    if (!this.keys.authorizesSystem(EVENT_GRID_SYSTEM_KEY, given)) {
      throw new HttpError(401, `The Event Grid webhook requires the '${EVENT_GRID_SYSTEM_KEY}' system key in the code query parameter.`);
    }

    if (method === 'OPTIONS') {
      const origin = headerValue(req, 'webhook-request-origin');
      if (!origin) throw new HttpError(400, 'The CloudEvents abuse-protection handshake needs a WebHook-Request-Origin header.');
      res.writeHead(200, { 'webhook-allowed-origin': origin, 'webhook-allowed-rate': '*', allow: 'POST, OPTIONS' });
      res.end();
      return;
    }

    let payload: unknown;
    try {
      payload = JSON.parse(body.toString('utf8'));
    } catch (err) {
      throw new HttpError(400, `The request body is not valid JSON: ${(err as Error).message}`);
    }
    const eventType = (headerValue(req, 'aeg-event-type') ?? '').toLowerCase();
    const contentType = (headerValue(req, 'content-type') ?? '').toLowerCase();
    const isCloud =
      contentType.includes('cloudevents') ||
      (!Array.isArray(payload) && payload !== null && typeof payload === 'object' && 'specversion' in payload) ||
      (Array.isArray(payload) && payload.length > 0 && typeof payload[0] === 'object' && payload[0] !== null && 'specversion' in payload[0]);
    const events: unknown[] = Array.isArray(payload) ? payload : isCloud ? [payload] : [];
    if (!Array.isArray(payload) && !isCloud) throw new HttpError(400, 'An Event Grid schema delivery must be a JSON array of events.');
    if (events.length === 0) throw new HttpError(400, 'The delivery contains no events.');
    if (events.length > EVENT_GRID_MAX_EVENTS_PER_BATCH) {
      throw new HttpError(413, `The delivery holds ${events.length.toLocaleString('en-US')} events; Event Grid delivers at most ${EVENT_GRID_MAX_EVENTS_PER_BATCH.toLocaleString('en-US')} events at once. No event of it was processed.`);
    }
    if (nestsDeeperThan(payload, MAX_JSON_DEPTH)) {
      throw new HttpError(400, `The delivery's JSON is nested deeper than ${MAX_JSON_DEPTH} levels, more than the Functions host reads. No event of it was processed.`);
    }
    // Each event's JSON, as the function receives it (and as its size is counted).
    const eventTexts = events.map((e) => JSON.stringify(e));
    const oversized = oversizedEvents(eventTexts);
    if (oversized.length) {
      throw new HttpError(413, `The delivery holds an event larger than Event Grid delivers (${EVENT_GRID_MAX_EVENT_SIZE_IN_BYTES.toLocaleString('en-US')} bytes, 1 MB): ${listProblems(oversized)}. No event of it was processed.`);
    }
    if (events.length > 1 && body.length > EVENT_GRID_MAX_BATCH_SIZE_IN_BYTES) {
      throw new HttpError(413, `The delivery is a batch of ${events.length.toLocaleString('en-US')} events in ${body.length.toLocaleString('en-US')} bytes; Event Grid delivers batches of at most ${EVENT_GRID_MAX_BATCH_SIZE_IN_BYTES.toLocaleString('en-US')} bytes (1 MB). No event of it was processed.`);
    }

    const first = events[0] as EventShape;
    if (eventType === 'subscriptionvalidation' || (!isCloud && first?.eventType === VALIDATION_EVENT_TYPE)) {
      const code = (first?.data as EventShape | undefined)?.validationCode;
      if (typeof code !== 'string' || !code) throw new HttpError(400, 'The SubscriptionValidationEvent has no data.validationCode.');
      this.logger({ level: 'information', category: 'host', functionName: fn.name, message: 'Answered the Event Grid subscription validation handshake.' });
      sendJson(res, 200, { validationResponse: code });
      return;
    }
    if (eventType === 'unsubscribe') {
      res.writeHead(202);
      res.end();
      return;
    }

    const schema = isCloud ? 'CloudEventSchemaV1_0' : 'EventGridSchema';
    const problems = events.flatMap((e, i) => eventProblems(e, schema).map((p) => `event ${i}: ${p}`));
    if (problems.length) throw new HttpError(400, `The delivery is not valid ${schema}: ${listProblems(problems)}.`);

    // The events of a batch run at once, as the Event Grid extension runs them; one failure fails the
    // delivery (500), and Event Grid delivers the whole batch again.
    const outcomes = await Promise.all(eventTexts.map((text) => this.invoker.invoke(fn.name, { inputData: [{ name: fn.triggerName, data: { string: text } }], triggerMetadata: {} })));
    const failed = outcomes.flatMap((outcome, i) => (outcome.ok ? [] : [{ id: (events[i] as EventShape).id, error: outcome.error }]));
    for (const f of failed) this.logger({ level: 'error', category: 'host', functionName: fn.name, message: `Event ${quoted(f.id)} failed: ${f.error.message}` });
    if (failed.length) {
      const others = failed.length > 1 ? ` and ${failed.length - 1} more` : '';
      throw new HttpError(500, `Function '${fn.name}' failed on event ${quoted(failed[0].id)}${others}; Event Grid will retry the delivery.`);
    }
    res.writeHead(202);
    res.end();
  }
}
