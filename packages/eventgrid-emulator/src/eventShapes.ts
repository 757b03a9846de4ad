// The two event envelopes Event Grid speaks (its own schema and CloudEvents 1.0), how the emulator
// converts between them on delivery, and the timestamp format Azure writes. Shapes follow
// the Event Grid data-plane contract, Microsoft.EventGrid/stable/2018-01-01/EventGrid.json (a copy is in
// test/contracts/eventgrid).

/** An event in the Event Grid schema, as Event Grid stores and delivers it (topic and metadataVersion stamped). */
export interface EventGridEvent {
  id: string;
  topic?: string;
  subject: string;
  data?: unknown;
  eventType: string;
  eventTime: string;
  metadataVersion?: string;
  dataVersion: string;
}

/** An event in the CloudEvents 1.0 JSON format; extension attributes are extra top-level keys. */
export interface CloudEvent {
  id: string;
  source: string;
  type: string;
  specversion: string;
  subject?: string;
  time?: string;
  data?: unknown;
  data_base64?: string;
  datacontenttype?: string;
  dataschema?: string;
  [extension: string]: unknown;
}

export type EventSchemaName = 'EventGridSchema' | 'CloudEventSchemaV1_0';

/** An event as the emulator holds it: in the schema it was published in. */
export type StoredEvent =
  | { schema: 'EventGridSchema'; event: EventGridEvent }
  | { schema: 'CloudEventSchemaV1_0'; event: CloudEvent };

/**
 * Azure writes event times with seven fractional digits (`2021-08-16T02:51:26.4248221Z`); JavaScript
 * dates carry three, so the rest is zeros. Consumers parse either; matching the service keeps logs alike.
 */
export function azureTimestamp(date: Date): string {
  return date.toISOString().replace(/\.(\d{3})Z$/, '.$10000Z');
}

/**
 * Event Grid schema → CloudEvents 1.0, the way Event Grid converts system and custom events for a
 * subscription with CloudEventSchemaV1_0 delivery (compare the storage examples in both schemas):
 * topic → source, eventType → type, eventTime → time; dataVersion and metadataVersion are dropped.
 */
export function toCloudEvent(event: EventGridEvent): CloudEvent {
  const converted: CloudEvent = {
    source: event.topic ?? '',
    subject: event.subject,
    type: event.eventType,
    time: event.eventTime,
    id: event.id,
    data: event.data,
    specversion: '1.0',
  };
  return converted;
}

export function eventTypeOf(stored: StoredEvent): string {
  return stored.schema === 'EventGridSchema' ? stored.event.eventType : stored.event.type;
}

export function subjectOf(stored: StoredEvent): string {
  return stored.event.subject ?? '';
}

export function eventIdOf(stored: StoredEvent): string {
  return stored.event.id;
}

/** The event as a subscription with `deliverySchema` receives it, or undefined when Event Grid cannot convert. */
export function eventForDelivery(stored: StoredEvent, deliverySchema: EventSchemaName): EventGridEvent | CloudEvent | undefined {
  if (stored.schema === deliverySchema) return stored.event;
  if (stored.schema === 'EventGridSchema' && deliverySchema === 'CloudEventSchemaV1_0') return toCloudEvent(stored.event);
  // Event Grid does not turn CloudEvents into its own schema; subscriptions that ask are refused at creation.
  return undefined;
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
