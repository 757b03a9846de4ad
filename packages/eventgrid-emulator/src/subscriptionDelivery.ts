// Push delivery for one event subscription, with Event Grid's semantics: matching events are batched
// (maxEventsPerBatch, preferredBatchSizeInKilobytes), POSTed with the `aeg-*` headers, retried on the
// documented schedule (scaled), dead-lettered after a final failure or when the attempt/TTL budget runs
// out, and — when a test asks — delivered twice or out of order, driven by a seeded generator.
// Delivery is at-least-once for the emulator's lifetime (the queue is in memory; a restart loses it).
// Every attempt lands in the subscription's delivery log, which tests and operators read.

import { StoredEvent, eventForDelivery, eventIdOf, CloudEvent, EventGridEvent, azureTimestamp } from './eventShapes';
import { subscriptionFilterMatches } from './eventFilters';
import {
  AttemptResult,
  DEFAULT_EVENT_TIME_TO_LIVE_IN_MINUTES,
  DEFAULT_MAX_DELIVERY_ATTEMPTS,
  deadLetterReasonFor,
  deliveryOutcomeName,
  lastHttpStatusCode,
  retryDelayInMs,
  verdictFor,
} from './deliveryPolicy';
import type { SubscriptionDefinition } from './subscriptionDefinitions';
import { destinationFunctionName } from './subscriptionDefinitions';
import type { DeadLetterWriter } from './deadLetterWriter';
import type { SeededRandom } from '@batchpilot/local-platform';
import { sendWebhookRequest } from './webhookRequests';

export interface DeliverySettings {
  retryScheduleInMs: readonly number[];
  /** Applies where a subscription's retryPolicy does not say. */
  maxDeliveryAttempts: number;
  /** Scales eventTimeToLiveInMinutes like the retry schedule, so the TTL budget keeps its meaning. */
  timeScale: number;
  responseTimeoutInMs: number;
  deadLetterDelayInMs: number;
  /** Probability (0–1) that a delivered batch is delivered again. */
  duplicateRate: number;
  /** A delivered batch is delivered 1 to this many times in all (seeded uniform draw). */
  maxDeliveriesPerEvent: number;
  /** Deliver the events that arrive together in a random (seeded) order. */
  shuffle: boolean;
  maxConcurrentDeliveriesPerSubscription: number;
  random: SeededRandom;
  ca?: string;
}

export type DeliveryOutcome = 'Delivered' | 'Failed' | 'DeadLettered' | 'Dropped';

export interface DeliveryLogEntry {
  sequence: number;
  subscription: string;
  eventIds: string[];
  /** 1 for the first attempt at these events. */
  attempt: number;
  at: string;
  outcome: DeliveryOutcome;
  /** The HTTP status the endpoint answered, or a timeout / network error description. */
  httpStatus?: number;
  error?: string;
  /** This delivery repeats one that already succeeded (injected duplicate). */
  duplicate?: boolean;
  nextAttemptInMs?: number;
  deadLetterReason?: string;
  deadLetterBlob?: string;
}

interface PendingEvent {
  stored: StoredEvent;
  publishedAt: number;
  attempts: number;
}

interface Job {
  events: PendingEvent[];
  duplicate: boolean;
}

export interface DispatcherHooks {
  deadLetters: DeadLetterWriter;
  functionsHost(): { baseUrl: string; eventGridSystemKey?: string } | undefined;
  /** Called when work starts/ends so the emulator can tell when it is idle. */
  busy(delta: number): void;
  log(entry: Omit<DeliveryLogEntry, 'sequence' | 'subscription'>): DeliveryLogEntry;
  timer(fn: () => void, delayInMs: number): void;
}

const KILOBYTE = 1024;

export class SubscriptionDispatcher {
  readonly definition: SubscriptionDefinition;
  readonly #settings: DeliverySettings;
  readonly #hooks: DispatcherHooks;
  #arrivals: PendingEvent[] = [];
  #flushScheduled = false;
  #queue: Job[] = [];
  #running = 0;
  #stopped = false;

  constructor(definition: SubscriptionDefinition, settings: DeliverySettings, hooks: DispatcherHooks) {
    this.definition = definition;
    this.#settings = settings;
    this.#hooks = hooks;
  }

  get deliverySchema(): 'EventGridSchema' | 'CloudEventSchemaV1_0' {
    return this.definition.eventDeliverySchema ?? 'EventGridSchema';
  }

  matches(stored: StoredEvent): boolean {
    return subscriptionFilterMatches(this.definition.filter, stored);
  }

  /** Queues the events this subscription's filter lets through; events published together are batched together. */
  offer(events: StoredEvent[], publishedAt: number): number {
    if (this.#stopped) return 0;
    const accepted = events.filter((e) => this.matches(e));
    for (const stored of accepted) this.#arrivals.push({ stored, publishedAt, attempts: 0 });
    if (accepted.length > 0 && !this.#flushScheduled) {
      this.#flushScheduled = true;
      this.#hooks.busy(+1);
      setImmediate(() => {
        this.#flushScheduled = false;
        this.#flush();
        this.#hooks.busy(-1);
      });
    }
    return accepted.length;
  }

  stop(): void {
    this.#stopped = true;
    this.#queue = [];
    this.#arrivals = [];
  }

  #flush(): void {
    const arrivals = this.#settings.shuffle ? this.#settings.random.shuffle(this.#arrivals) : this.#arrivals;
    this.#arrivals = [];
    for (const batch of this.#batches(arrivals)) this.#enqueue({ events: batch, duplicate: false });
  }

  #batches(events: PendingEvent[]): PendingEvent[][] {
    const props = this.definition.destination.properties;
    const maxEvents = props.maxEventsPerBatch ?? 1;
    const maxBytes = (props.preferredBatchSizeInKilobytes ?? 64) * KILOBYTE;
    const batches: PendingEvent[][] = [];
    let current: PendingEvent[] = [];
    let currentBytes = 0;
    for (const pending of events) {
      const size = Buffer.byteLength(JSON.stringify(pending.stored.event));
      if (current.length > 0 && (current.length >= maxEvents || currentBytes + size > maxBytes)) {
        batches.push(current);
        current = [];
        currentBytes = 0;
      }
      current.push(pending);
      currentBytes += size;
    }
    if (current.length > 0) batches.push(current);
    return batches;
  }

  #enqueue(job: Job): void {
    if (this.#stopped) return;
    this.#queue.push(job);
    this.#hooks.busy(+1);
    this.#pump();
  }

  #pump(): void {
    while (!this.#stopped && this.#running < this.#settings.maxConcurrentDeliveriesPerSubscription && this.#queue.length > 0) {
      const job = this.#queue.shift()!;
      this.#running++;
      void this.#attempt(job).finally(() => {
        this.#running--;
        this.#hooks.busy(-1);
        this.#pump();
      });
    }
  }

  #endpoint(): { url: string; kind: 'WebHook' | 'AzureFunction' } | { error: string } {
    const destination = this.definition.destination;
    if (destination.endpointType === 'WebHook') return { url: destination.properties.endpointUrl, kind: 'WebHook' };
    const host = this.#hooks.functionsHost();
    if (!host) return { error: 'The local Functions host is not running (none registered with the Event Grid emulator).' };
    const name = destinationFunctionName(destination.properties);
    const key = host.eventGridSystemKey ? `&code=${encodeURIComponent(host.eventGridSystemKey)}` : '';
    return { url: `${host.baseUrl.replace(/\/+$/, '')}/runtime/webhooks/eventgrid?functionName=${encodeURIComponent(name)}${key}`, kind: 'AzureFunction' };
  }

  /** The request body and content type, per delivery schema and batching mode. */
  #payload(events: PendingEvent[]): { body: Buffer; contentType: string } {
    const converted = events
      .map((p) => eventForDelivery(p.stored, this.deliverySchema))
      .filter((e): e is EventGridEvent | CloudEvent => e !== undefined);
    if (this.deliverySchema === 'EventGridSchema') {
      return { body: Buffer.from(JSON.stringify(converted)), contentType: 'application/json; charset=utf-8' };
    }
    // CloudEvents go one per request in structured mode unless the subscription batches (batched mode).
    const batched = (this.definition.destination.properties.maxEventsPerBatch ?? 1) > 1;
    return batched
      ? { body: Buffer.from(JSON.stringify(converted)), contentType: 'application/cloudevents-batch+json; charset=utf-8' }
      : { body: Buffer.from(JSON.stringify(converted[0])), contentType: 'application/cloudevents+json; charset=utf-8' };
  }

  async #attempt(job: Job): Promise<void> {
    if (this.#stopped) return;
    for (const pending of job.events) pending.attempts++;
    const attempt = Math.max(...job.events.map((p) => p.attempts));
    const eventIds = job.events.map((p) => eventIdOf(p.stored));
    const endpoint = this.#endpoint();
    let result: AttemptResult;
    let error: string | undefined;
    if ('error' in endpoint) {
      result = { kind: 'networkError', message: endpoint.error };
      error = endpoint.error;
    } else {
      const { body, contentType } = this.#payload(job.events);
      const first = job.events[0].stored;
      const outcome = await sendWebhookRequest({
        method: 'POST',
        url: endpoint.url,
        headers: {
          'content-type': contentType,
          'aeg-event-type': 'Notification',
          'aeg-subscription-name': this.definition.name.toUpperCase(),
          'aeg-delivery-count': String(attempt - 1),
          'aeg-metadata-version': '1',
          'aeg-data-version': first.schema === 'EventGridSchema' ? first.event.dataVersion : '',
        },
        body,
        timeoutInMs: this.#settings.responseTimeoutInMs,
        ca: this.#settings.ca,
      });
      if (outcome.kind === 'response') result = { kind: 'response', status: outcome.status };
      else if (outcome.kind === 'timeout') result = { kind: 'timeout' };
      else result = { kind: 'networkError', message: outcome.message };
      if (outcome.kind === 'timeout') error = `No response within ${this.#settings.responseTimeoutInMs} ms`;
      if (outcome.kind === 'networkError') error = outcome.message;
    }
    if (this.#stopped) return;
    const at = azureTimestamp(new Date());
    const httpStatus = result.kind === 'response' ? result.status : undefined;
    const kind = 'error' in endpoint ? 'AzureFunction' : endpoint.kind;
    const verdict = verdictFor(result, kind);

    if (verdict === 'delivered') {
      this.#hooks.log({ eventIds, attempt, at, outcome: 'Delivered', httpStatus, duplicate: job.duplicate || undefined });
      if (!job.duplicate) {
        let copies = this.#settings.maxDeliveriesPerEvent > 1 ? Math.floor(this.#settings.random.next() * this.#settings.maxDeliveriesPerEvent) : 0;
        if (this.#settings.duplicateRate > 0 && this.#settings.random.next() < this.#settings.duplicateRate) copies = Math.max(copies, 1);
        for (let i = 0; i < copies; i++) this.#enqueue({ events: job.events, duplicate: true });
      }
      return;
    }

    if (verdict === 'deadLetter') {
      this.#hooks.log({ eventIds, attempt, at, outcome: 'Failed', httpStatus, error });
      this.#deadLetter(job.events, result, 'final', at);
      return;
    }

    const maxAttempts = this.definition.retryPolicy?.maxDeliveryAttempts ?? this.#settings.maxDeliveryAttempts ?? DEFAULT_MAX_DELIVERY_ATTEMPTS;
    const ttlInMs = (this.definition.retryPolicy?.eventTimeToLiveInMinutes ?? DEFAULT_EVENT_TIME_TO_LIVE_IN_MINUTES) * 60_000 * this.#settings.timeScale;
    const delay = retryDelayInMs(this.#settings.retryScheduleInMs, attempt);
    const now = Date.now();
    const outOfAttempts = job.events.filter((p) => p.attempts >= maxAttempts);
    const outOfTime = job.events.filter((p) => p.attempts < maxAttempts && now + delay - p.publishedAt > ttlInMs);
    const retrying = job.events.filter((p) => !outOfAttempts.includes(p) && !outOfTime.includes(p));
    this.#hooks.log({ eventIds, attempt, at, outcome: 'Failed', httpStatus, error, nextAttemptInMs: retrying.length > 0 ? delay : undefined });
    if (outOfAttempts.length > 0) this.#deadLetter(outOfAttempts, result, 'attempts', at);
    if (outOfTime.length > 0) this.#deadLetter(outOfTime, result, 'ttl', at);
    if (retrying.length > 0) {
      this.#hooks.busy(+1);
      this.#hooks.timer(() => {
        this.#hooks.busy(-1);
        this.#enqueue({ events: retrying, duplicate: false });
      }, delay);
    }
  }

  #deadLetter(events: PendingEvent[], result: AttemptResult, why: 'final' | 'attempts' | 'ttl', lastAttemptAt: string): void {
    const eventIds = events.map((p) => eventIdOf(p.stored));
    const attempt = Math.max(...events.map((p) => p.attempts));
    const reason = deadLetterReasonFor(result, why);
    const destination = this.definition.deadLetterDestination;
    if (!destination) {
      this.#hooks.log({ eventIds, attempt, at: lastAttemptAt, outcome: 'Dropped', deadLetterReason: reason, error: 'No dead-letter destination is configured; Event Grid drops the events.' });
      return;
    }
    const entries = events.map((p) => ({
      event: eventForDelivery(p.stored, this.deliverySchema) ?? p.stored.event,
      details: {
        deadLetterReason: reason,
        deliveryAttempts: p.attempts,
        lastDeliveryOutcome: deliveryOutcomeName(result),
        lastHttpStatusCode: lastHttpStatusCode(result),
        publishTime: azureTimestamp(new Date(p.publishedAt)),
        lastDeliveryAttemptTime: lastAttemptAt,
      },
    }));
    this.#hooks.busy(+1);
    this.#hooks.timer(() => {
      void this.#hooks.deadLetters
        .write(destination.properties.blobContainerName, this.definition.name, this.deliverySchema, entries)
        .then((write) => {
          const at = azureTimestamp(new Date());
          if (write.written) {
            this.#hooks.log({ eventIds, attempt, at, outcome: 'DeadLettered', deadLetterReason: reason, deadLetterBlob: `${write.container}/${write.blobName}` });
          } else {
            this.#hooks.log({ eventIds, attempt, at, outcome: 'Dropped', deadLetterReason: reason, error: write.reason });
          }
        })
        .finally(() => this.#hooks.busy(-1));
    }, this.#settings.deadLetterDelayInMs);
  }
}
