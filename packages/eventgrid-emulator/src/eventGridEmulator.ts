// The local Event Grid: custom topics that accept the real EventGridPublisherClient over https (Event
// Grid schema or CloudEvents, bearer token or per-run access key), the storage account's system topic
// fed by a blob proxy in front of Azurite, the ML workspace's system topic fed by the ML emulator, and
// event subscriptions (declared in a file that mirrors infra/, or added at run time) that deliver to
// webhooks and to the local Functions host's Event Grid triggers with Event Grid's validation, batching,
// retry, dead-letter and at-least-once behaviour. Tests, the demo and operators read what was published
// and every delivery attempt in process or over the admin routes. Nothing here is used in Azure.
//
// Routes (https://127.0.0.1:{port}):
//   POST /topics/{topic}/api/events?api-version=2018-01-01   publish (what EventGridPublisherClient calls)
//   GET  /eventsubscriptions/{name}/validate?id={code}         asynchronous (manual) webhook validation
//   GET  /admin/topics                                         topics, with their endpoints and counts
//   GET  /admin/topics/{topic}/events                          events published to a topic
//   GET  /admin/subscriptions                                  subscriptions and their state
//   PUT  /admin/subscriptions/{name}                           create or replace a subscription (JSON definition)
//   GET  /admin/subscriptions/{name}/deliveries                the subscription's delivery log
// The admin routes listen on loopback only and take no credentials: they exist for local inspection.

import * as https from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { DevTokenIssuer } from '@batchpilot/local-platform';
import { AZURITE_ACCOUNT, azuriteSharedKey, seededRandom, HttpFaultInjector, HttpFaultSettings, HttpFaultStats } from '@batchpilot/local-platform';
import { EventGridEvent, StoredEvent, azureTimestamp } from './eventShapes';
import { checkPublishBody, checkPublishCredentials, eventGridErrorBody, MAX_REQUEST_SIZE_IN_BYTES, PublishRejection } from './publishRequests';
import {
  DEFAULT_LOCAL_SCOPE,
  LocalAzureScope,
  TopicDefinition,
  checkTopicName,
  customTopicResourceId,
  storageAccountResourceId,
  workspaceResourceId,
} from './topics';
import {
  EventGridLocalConfig,
  SubscriptionDefinition,
  TopicDeclaration,
  loadEventGridLocalConfig,
  parseSubscriptionDefinition,
} from './subscriptionDefinitions';
import { DeliveryLogEntry, DeliverySettings, SubscriptionDispatcher } from './subscriptionDelivery';
import {
  DEFAULT_MAX_DELIVERY_ATTEMPTS,
  DOCUMENTED_DEAD_LETTER_DELAY_IN_MS,
  DOCUMENTED_RESPONSE_TIMEOUT_IN_MS,
  DOCUMENTED_RETRY_SCHEDULE_IN_MS,
} from './deliveryPolicy';
import { DeadLetterWriter } from './deadLetterWriter';
import { performHandshake } from './validationHandshake';
import { startBlobEventProxy, RunningBlobEventProxy } from './blobEventProxy';
import { BlobChange, BlobSequencer, blobCreatedEvent, blobDeletedEvent } from './storageEvents';
import { SystemEventInput, stampSystemEvent } from './systemEvents';

export const STORAGE_TOPIC = 'storage';
export const WORKSPACE_TOPIC = 'workspace';
export const DEFAULT_WORKSPACE_NAME = 'batchpilot-local-ws';

export interface DeliveryOptions {
  /** The retry schedule outright; default: the documented one multiplied by `timeScale`. */
  retryScheduleInMs?: number[];
  /** Multiplies every documented delay (retries, event TTL, the dead-letter hold): 0.001 turns 10 s into 10 ms. Default 1. */
  timeScale?: number;
  /** Default for subscriptions without retryPolicy.maxDeliveryAttempts (Event Grid: 30). */
  maxDeliveryAttempts?: number;
  responseTimeoutInMs?: number;
  /** Default: Event Grid's 5 minutes × timeScale. */
  deadLetterDelayInMs?: number;
  /** Probability that a delivered batch is delivered again (tests of idempotent consumers). Default 0. */
  duplicateRate?: number;
  /**
   * Each delivered batch is delivered 1 to this many times in all (a seeded uniform draw), the copies
   * concurrently: at-least-once delivery at its most unhelpful. Default 1; combines with duplicateRate.
   */
  maxDeliveriesPerEvent?: number;
  /** Deliver events that arrive together in a seeded random order. Default false. */
  shuffle?: boolean;
  seed?: number;
  maxConcurrentDeliveriesPerSubscription?: number;
}

/**
 * Where an AzureFunction destination's events go: the host's Event Grid webhook
 * `{baseUrl}/runtime/webhooks/eventgrid?functionName={name}&code={eventGridSystemKey}` — in Azure, Event
 * Grid reaches the function's trigger with the `eventgrid_extension` system key the same way.
 */
export interface FunctionsHostTarget {
  baseUrl: string;
  eventGridSystemKey?: string;
}

export interface EventGridEmulatorOptions {
  /** https port; 0 or omitted = any free port. */
  port?: number;
  /** The server certificate (from ensureLocalCertificate); `ca` lets deliveries reach https webhooks signed by it. */
  tls: { cert: string; key: string; ca?: string };
  issuer: DevTokenIssuer;
  /** Azurite: dead letters go straight to it; the blob proxy fronts its Blob port. */
  storage: {
    connectionString: string;
    blobPort: number;
    accountName?: string;
    proxyPort?: number;
    /** The origin blob URLs in storage events name when the app reaches the account elsewhere (e.g. through a fault proxy); default the blob proxy's. */
    eventUrlOrigin?: () => string | undefined;
  };
  scope?: LocalAzureScope;
  /** The workspace whose events the `workspace` topic carries (resource ID built from scope + name)... */
  workspaceName?: string;
  /** ...or its full resource ID, e.g. the ML emulator's, so that both name the workspace alike. */
  workspaceResourceId?: string;
  topics?: TopicDeclaration[];
  subscriptionsFile?: string;
  subscriptions?: SubscriptionDefinition[];
  /** The local Functions host AzureFunction destinations are delivered to (it may also be set later). */
  functionsHost?: FunctionsHostTarget;
  delivery?: DeliveryOptions;
  /** How long a webhook may take to answer a handshake, and to GET its validation URL when validating manually. */
  validation?: { timeoutInMs?: number; manualValidationTimeoutInMs?: number };
  /** Events kept per topic for inspection (oldest dropped first). Default 10000. */
  publishedRetention?: number;
  /** Seeded faults on publishing to custom topics (429, 503, resets before or after the events are accepted). */
  publishFaults?: { seed?: number; http: HttpFaultSettings };
}

export interface PublishedEvent {
  topic: string;
  publishedAt: string;
  schema: StoredEvent['schema'];
  event: StoredEvent['event'];
}

/** A custom topic that is down: every publish is answered `status` until the outage is lifted. */
export interface TopicOutage {
  /** 503 (default) or another 5xx; or 403, a refusal retrying cannot fix. */
  status?: number;
  /** Retry-After on a 5xx answer; default 1 (seconds); 0 omits it. */
  retryAfterInSeconds?: number;
}

export type SubscriptionState = 'Succeeded' | 'AwaitingManualAction';

export interface SubscriptionInfo {
  name: string;
  topic: string;
  provisioningState: SubscriptionState;
  definition: SubscriptionDefinition;
}

export interface RunningEventGridEmulator {
  /** `https://127.0.0.1:{port}` */
  baseUrl: string;
  /** The URL to give EventGridPublisherClient for a custom topic (Azure: `https://{topic}.{region}-1.eventgrid.azure.net/api/events`). */
  topicEndpoint(topicName: string): string;
  /** The topic's access key for `AzureKeyCredential` (`aeg-sas-key`); made fresh on every run, never stored. */
  topicKey(topicName: string): string;
  topicResourceId(topicName: string): string;
  createTopic(declaration: TopicDeclaration): TopicDefinition;
  topics(): TopicDefinition[];
  /** The storage account URL that raises events: give it to clients instead of Azurite's. */
  blobProxyUrl: string;
  /** A connection string for the proxied account (Azurite's published development key). */
  blobProxyConnectionString: string;
  storageAccountResourceId: string;
  workspaceResourceId: string;
  /** Raise system events (the ML emulator calls this with 'workspace' or the workspace's resource ID); returns them as stamped. */
  publishSystemEvents(topic: string, events: SystemEventInput[]): EventGridEvent[];
  /** What was published to a topic, oldest first. */
  published(topicName: string): PublishedEvent[];
  /**
   * Takes a custom topic down (publishes answered 503 ServiceUnavailable, with Retry-After as Azure's
   * front doors send it; or 403 Forbidden, as when the publisher lost its role) or, with undefined,
   * brings it back. Tests of what publishers do in an outage.
   */
  setTopicOutage(topicName: string, outage: TopicOutage | undefined): void;
  /** Publish requests a topic refused while it was down. */
  refusedPublishes(topicName: string): number;
  /** Creates or replaces a subscription; webhooks are validated first, as Azure does. */
  addSubscription(definition: SubscriptionDefinition): Promise<SubscriptionInfo>;
  loadSubscriptionsFile(file: string): Promise<SubscriptionInfo[]>;
  deleteSubscription(name: string): boolean;
  subscriptions(): SubscriptionInfo[];
  /** Every delivery attempt for a subscription, in order. */
  deliveries(subscriptionName: string): DeliveryLogEntry[];
  /** Points AzureFunction destinations at the local host once it is up; undefined = not running (deliveries retry). */
  setFunctionsHost(target: FunctionsHostTarget | undefined): void;
  /** What the publish faults did so far (zeros without `publishFaults`). */
  publishFaultStats(): HttpFaultStats;
  /** Resolves when nothing is in flight: no pending storage event, delivery, retry or dead letter. */
  idle(): Promise<void>;
  stop(): Promise<void>;
}

interface SubscriptionEntry {
  info: SubscriptionInfo;
  dispatcher?: SubscriptionDispatcher;
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = body === undefined ? '' : JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': String(Buffer.byteLength(text)), ...headers });
  res.end(text);
}

function sendRejection(res: ServerResponse, rejection: PublishRejection): void {
  sendJson(res, rejection.status, eventGridErrorBody(rejection), rejection.headers ?? {});
}

/** Reads a body up to `limit` bytes; beyond it keeps draining but reports `tooLarge` so the caller can answer 413. */
function readBody(req: IncomingMessage, limit: number): Promise<{ body: Buffer; tooLarge: boolean; size: number }> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= limit) chunks.push(chunk);
    });
    req.on('end', () => resolve({ body: Buffer.concat(chunks), tooLarge: size > limit, size }));
    req.on('error', reject);
  });
}

export async function startEventGridEmulator(o: EventGridEmulatorOptions): Promise<RunningEventGridEmulator> {
  const scope = o.scope ?? DEFAULT_LOCAL_SCOPE;
  const accountName = o.storage.accountName ?? AZURITE_ACCOUNT;
  const timeScale = o.delivery?.timeScale ?? 1;
  const settings: DeliverySettings = {
    retryScheduleInMs: o.delivery?.retryScheduleInMs ?? DOCUMENTED_RETRY_SCHEDULE_IN_MS.map((ms) => ms * timeScale),
    maxDeliveryAttempts: o.delivery?.maxDeliveryAttempts ?? DEFAULT_MAX_DELIVERY_ATTEMPTS,
    timeScale,
    responseTimeoutInMs: o.delivery?.responseTimeoutInMs ?? DOCUMENTED_RESPONSE_TIMEOUT_IN_MS,
    deadLetterDelayInMs: o.delivery?.deadLetterDelayInMs ?? DOCUMENTED_DEAD_LETTER_DELAY_IN_MS * timeScale,
    duplicateRate: o.delivery?.duplicateRate ?? 0,
    maxDeliveriesPerEvent: o.delivery?.maxDeliveriesPerEvent ?? 1,
    shuffle: o.delivery?.shuffle ?? false,
    maxConcurrentDeliveriesPerSubscription: o.delivery?.maxConcurrentDeliveriesPerSubscription ?? 8,
    random: seededRandom(o.delivery?.seed ?? 1),
    ca: o.tls.ca,
  };
  if (!Number.isInteger(settings.maxDeliveriesPerEvent) || settings.maxDeliveriesPerEvent < 1) {
    throw new RangeError(`delivery.maxDeliveriesPerEvent must be a whole number of at least 1; got ${String(o.delivery?.maxDeliveriesPerEvent)}.`);
  }
  const publishFaults = new HttpFaultInjector(o.publishFaults?.http ?? {}, o.publishFaults?.seed ?? 1);
  const retention = o.publishedRetention ?? 10_000;
  const validationTimeoutInMs = o.validation?.timeoutInMs ?? DOCUMENTED_RESPONSE_TIMEOUT_IN_MS;
  const manualValidationTimeoutInMs = o.validation?.manualValidationTimeoutInMs ?? 600_000 * timeScale;

  const topics = new Map<string, TopicDefinition>();
  const topicKeys = new Map<string, string>();
  const publishedByTopic = new Map<string, PublishedEvent[]>();
  const outages = new Map<string, TopicOutage>();
  const refusedByTopic = new Map<string, number>();
  const subscriptionsByName = new Map<string, SubscriptionEntry>();
  const deliveryLogs = new Map<string, DeliveryLogEntry[]>();
  const manualValidations = new Map<string, { subscription: string; resolve(): void }>();
  const timers = new Set<NodeJS.Timeout>();
  const deadLetters = new DeadLetterWriter(o.storage.connectionString);
  const sequencer = new BlobSequencer();
  let functionsHost = o.functionsHost;
  let logSequence = 0;
  let busyCount = 0;
  let idleWaiters: Array<() => void> = [];
  let stopped = false;

  const busy = (delta: number): void => {
    busyCount += delta;
    if (busyCount === 0 && idleWaiters.length > 0) {
      // Let work that the finishing step schedules (a retry timer, a duplicate) register before declaring idle.
      setImmediate(() => {
        if (busyCount !== 0) return;
        const waiters = idleWaiters;
        idleWaiters = [];
        for (const w of waiters) w();
      });
    }
  };
  const timer = (fn: () => void, delayInMs: number): void => {
    const handle = setTimeout(() => {
      timers.delete(handle);
      fn();
    }, delayInMs);
    timers.add(handle);
  };

  const storageTopic: TopicDefinition = { name: STORAGE_TOPIC, kind: 'system', inputSchema: 'EventGridSchema', resourceId: storageAccountResourceId(scope, accountName) };
  const workspaceTopic: TopicDefinition = {
    name: WORKSPACE_TOPIC, kind: 'system', inputSchema: 'EventGridSchema',
    resourceId: o.workspaceResourceId ?? workspaceResourceId(scope, o.workspaceName ?? DEFAULT_WORKSPACE_NAME),
  };
  topics.set(STORAGE_TOPIC, storageTopic);
  topics.set(WORKSPACE_TOPIC, workspaceTopic);

  function createTopic(declaration: TopicDeclaration): TopicDefinition {
    const existing = topics.get(declaration.name);
    if (existing) {
      if (existing.kind === 'system') throw new Error(`'${declaration.name}' is a system topic; custom topics need another name.`);
      if (existing.inputSchema !== (declaration.inputSchema ?? 'EventGridSchema')) {
        throw new Error(`Topic '${declaration.name}' already exists with input schema ${existing.inputSchema}.`);
      }
      return existing;
    }
    const problem = checkTopicName(declaration.name);
    if (problem) throw new Error(problem);
    const topic: TopicDefinition = {
      name: declaration.name, kind: 'custom', inputSchema: declaration.inputSchema ?? 'EventGridSchema', resourceId: customTopicResourceId(scope, declaration.name),
    };
    topics.set(topic.name, topic);
    topicKeys.set(topic.name, randomBytes(32).toString('base64'));
    return topic;
  }

  function requireTopic(name: string): TopicDefinition {
    const topic = topics.get(name);
    if (!topic) throw new Error(`The topic '${name}' does not exist. Declare it in the subscriptions file's "topics" or call createTopic().`);
    return topic;
  }

  function record(topic: TopicDefinition, events: StoredEvent[]): void {
    const now = Date.now();
    const at = azureTimestamp(new Date(now));
    const log = publishedByTopic.get(topic.name) ?? [];
    for (const e of events) log.push({ topic: topic.name, publishedAt: at, schema: e.schema, event: e.event });
    if (log.length > retention) log.splice(0, log.length - retention);
    publishedByTopic.set(topic.name, log);
    for (const entry of subscriptionsByName.values()) {
      if (entry.info.topic === topic.name && entry.info.provisioningState === 'Succeeded') entry.dispatcher?.offer(events, now);
    }
  }

  function publishSystemEvents(topicName: string, inputs: SystemEventInput[]): EventGridEvent[] {
    // A source may name its system topic by the resource ID it raises events for (e.g. its workspace ID).
    const byResourceId = [...topics.values()].find((t) => t.kind === 'system' && t.resourceId.toLowerCase() === topicName.toLowerCase());
    const topic = byResourceId ?? requireTopic(topicName);
    if (topic.kind !== 'system') throw new Error(`'${topicName}' is a custom topic; publish to it with EventGridPublisherClient.`);
    const now = azureTimestamp(new Date());
    const stamped = inputs.map((input) => stampSystemEvent(input, topic.resourceId, randomUUID(), now));
    record(topic, stamped.map((event) => ({ schema: 'EventGridSchema' as const, event })));
    return stamped;
  }

  function onBlobChange(change: BlobChange): void {
    if (stopped) return;
    const event = change.api === 'DeleteBlob'
      ? blobDeletedEvent(change, storageTopic.resourceId, sequencer.next())
      : blobCreatedEvent(change, storageTopic.resourceId, sequencer.next());
    record(storageTopic, [{ schema: 'EventGridSchema', event }]);
  }

  function logDelivery(subscription: string, entry: Omit<DeliveryLogEntry, 'sequence' | 'subscription'>): DeliveryLogEntry {
    const full: DeliveryLogEntry = { sequence: ++logSequence, subscription, ...entry };
    const log = deliveryLogs.get(subscription) ?? [];
    log.push(full);
    deliveryLogs.set(subscription, log);
    return full;
  }

  let baseUrl = '';

  async function addSubscription(raw: SubscriptionDefinition): Promise<SubscriptionInfo> {
    const definition = parseSubscriptionDefinition(raw);
    const topic = requireTopic(definition.topic);
    const deliverySchema = definition.eventDeliverySchema ?? 'EventGridSchema';
    if (topic.inputSchema === 'CloudEventSchemaV1_0' && deliverySchema !== 'CloudEventSchemaV1_0') {
      throw new Error(`Subscription '${definition.name}': topic '${topic.name}' takes CloudEvents, which Event Grid delivers only as CloudEventSchemaV1_0; set eventDeliverySchema accordingly.`);
    }
    const previous = subscriptionsByName.get(definition.name);
    if (previous && previous.info.topic !== topic.name) {
      throw new Error(`A subscription named '${definition.name}' already exists on topic '${previous.info.topic}'.`);
    }
    const info: SubscriptionInfo = { name: definition.name, topic: topic.name, provisioningState: 'Succeeded', definition };

    if (definition.destination.endpointType === 'WebHook') {
      // The code is registered before the handshake is sent: a subscriber may GET the validationUrl
      // before its answer to the handshake POST has reached us.
      const validationCode = randomUUID().toUpperCase();
      let validatedManually = false;
      let onManualValidation: (() => void) | undefined;
      manualValidations.set(validationCode, {
        subscription: definition.name,
        resolve: () => {
          validatedManually = true;
          onManualValidation?.();
        },
      });
      busy(+1);
      try {
        const outcome = await performHandshake({
          subscriptionName: definition.name,
          endpointUrl: definition.destination.properties.endpointUrl,
          deliverySchema,
          topicResourceId: topic.resourceId,
          validationUrlBase: `${baseUrl}/eventsubscriptions/${encodeURIComponent(definition.name)}/validate`,
          validationCode,
          timeoutInMs: validationTimeoutInMs,
          ca: o.tls.ca,
        });
        if (outcome.result === 'failed') throw new Error(outcome.message);
        if (outcome.result === 'awaitingManualAction' && !validatedManually) {
          info.provisioningState = 'AwaitingManualAction';
          const pending: SubscriptionEntry = { info };
          previous?.dispatcher?.stop();
          subscriptionsByName.set(definition.name, pending);
          await new Promise<void>((resolve, reject) => {
            const handle = setTimeout(() => {
              timers.delete(handle);
              if (subscriptionsByName.get(definition.name) === pending) subscriptionsByName.delete(definition.name);
              reject(new Error(`Webhook validation for subscription '${definition.name}' timed out: the endpoint answered the handshake without a validationResponse and did not GET the validationUrl.`));
            }, manualValidationTimeoutInMs);
            timers.add(handle);
            onManualValidation = () => {
              clearTimeout(handle);
              timers.delete(handle);
              resolve();
            };
          });
          info.provisioningState = 'Succeeded';
        }
      } finally {
        manualValidations.delete(validationCode);
        busy(-1);
      }
    }

    previous?.dispatcher?.stop();
    const dispatcher = new SubscriptionDispatcher(definition, settings, {
      deadLetters,
      functionsHost: () => functionsHost,
      busy,
      log: (entry) => logDelivery(definition.name, entry),
      timer,
    });
    subscriptionsByName.set(definition.name, { info, dispatcher });
    return info;
  }

  async function applyConfig(config: EventGridLocalConfig): Promise<SubscriptionInfo[]> {
    for (const t of config.topics) createTopic(t);
    const added: SubscriptionInfo[] = [];
    for (const s of config.subscriptions) added.push(await addSubscription(s));
    return added;
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'https://127.0.0.1');
    const segments = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
    const method = req.method ?? 'GET';

    // POST /topics/{topic}/api/events
    if (segments[0] === 'topics' && segments.length === 4 && segments[2] === 'api' && segments[3] === 'events') {
      const topic = topics.get(segments[1]);
      if (!topic || topic.kind !== 'custom') {
        await readBody(req, 0);
        return sendRejection(res, { status: 404, code: 'NotFound', message: `The topic '${segments[1]}' was not found.` });
      }
      if (method !== 'POST') {
        await readBody(req, 0);
        return sendRejection(res, { status: 405, code: 'MethodNotAllowed', message: `The ${method} method is not allowed; publish with POST.` });
      }
      const authProblem = checkPublishCredentials(req.headers, {
        issuer: o.issuer, topicKey: topicKeys.get(topic.name) ?? '', topicEndpoint: `${baseUrl}/topics/${topic.name}/api/events`,
      });
      const { body, tooLarge, size } = await readBody(req, MAX_REQUEST_SIZE_IN_BYTES);
      if (authProblem) return sendRejection(res, authProblem.rejection);
      if (tooLarge) {
        return sendRejection(res, { status: 413, code: 'RequestEntityTooLarge', message: `The maximum size (${MAX_REQUEST_SIZE_IN_BYTES}) has been exceeded: the request body is ${size} bytes.` });
      }
      const outage = outages.get(topic.name);
      if (outage) {
        refusedByTopic.set(topic.name, (refusedByTopic.get(topic.name) ?? 0) + 1);
        if (outage.status === 403) {
          return sendRejection(res, { status: 403, code: 'Forbidden', message: `The principal is not allowed to publish to topic '${topic.name}' (injected refusal): it needs the EventGrid Data Sender role.` });
        }
        const retryAfter = outage.retryAfterInSeconds ?? 1;
        return sendRejection(res, {
          status: outage.status ?? 503,
          code: 'ServiceUnavailable',
          message: `The topic '${topic.name}' is unavailable (injected outage); retry later.`,
          headers: retryAfter > 0 ? { 'retry-after': String(retryAfter) } : undefined,
        });
      }
      const fault = publishFaults.draw(`${topic.name} ${createHash('sha256').update(body).digest('base64')}`);
      switch (fault.kind) {
        case 'drop':
          return void req.socket.destroy();
        case 'throttle':
          return sendRejection(res, { status: 429, code: 'TooManyRequests', message: `Publishing is throttled (injected fault); retry after ${fault.retryAfterInSeconds} second(s).`, headers: { 'retry-after': String(fault.retryAfterInSeconds) } });
        case 'serverError':
          return sendRejection(res, {
            status: fault.status,
            code: fault.status === 503 ? 'ServiceUnavailable' : 'InternalServerError',
            message: `The topic could not take the events (injected fault); retry${fault.retryAfterInSeconds !== undefined ? ` after ${fault.retryAfterInSeconds} second(s)` : ''}.`,
            headers: fault.retryAfterInSeconds !== undefined ? { 'retry-after': String(fault.retryAfterInSeconds) } : undefined,
          });
        case 'slow':
          await new Promise((resolve) => setTimeout(resolve, fault.delayInMs));
          break;
        default:
          break;
      }
      const check = checkPublishBody(topic, url.searchParams, req.headers, body);
      if (!check.ok) return sendRejection(res, check.rejection);
      record(topic, check.events);
      // Accepted, but the answer is lost: the publisher retries events the topic already has.
      if (fault.kind === 'dropResponse') return void req.socket.destroy();
      res.writeHead(200, { 'content-length': '0' });
      return void res.end();
    }

    await readBody(req, 4 * 1024 * 1024).then(async ({ body }) => {
      // GET /eventsubscriptions/{name}/validate?id=
      if (segments[0] === 'eventsubscriptions' && segments[2] === 'validate' && method === 'GET') {
        const pending = manualValidations.get(url.searchParams.get('id') ?? '');
        if (!pending || pending.subscription !== segments[1]) {
          return sendJson(res, 400, { error: { code: 'BadRequest', message: 'The validation code is unknown or has expired.' } });
        }
        manualValidations.delete(url.searchParams.get('id') ?? '');
        pending.resolve();
        res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
        return void res.end('Webhook successfully validated as a subscription endpoint.');
      }
      if (segments[0] !== 'admin') return sendJson(res, 404, { error: { code: 'NotFound', message: `No route for ${method} ${url.pathname}.` } });

      if (segments[1] === 'topics' && segments.length === 2 && method === 'GET') {
        return sendJson(res, 200, [...topics.values()].map((t) => ({
          ...t,
          endpoint: t.kind === 'custom' ? `${baseUrl}/topics/${t.name}/api/events` : undefined,
          publishedCount: publishedByTopic.get(t.name)?.length ?? 0,
        })));
      }
      if (segments[1] === 'topics' && segments[3] === 'events' && method === 'GET') {
        if (!topics.has(segments[2])) return sendJson(res, 404, { error: { code: 'NotFound', message: `The topic '${segments[2]}' was not found.` } });
        return sendJson(res, 200, publishedByTopic.get(segments[2]) ?? []);
      }
      if (segments[1] === 'subscriptions' && segments.length === 2 && method === 'GET') {
        return sendJson(res, 200, [...subscriptionsByName.values()].map((e) => e.info));
      }
      if (segments[1] === 'subscriptions' && segments.length === 3 && method === 'PUT') {
        try {
          const definition = { ...(JSON.parse(body.toString('utf8')) as Record<string, unknown>), name: segments[2] };
          return sendJson(res, 200, await addSubscription(definition as unknown as SubscriptionDefinition));
        } catch (error) {
          return sendJson(res, 400, { error: { code: 'BadRequest', message: (error as Error).message } });
        }
      }
      if (segments[1] === 'subscriptions' && segments[3] === 'deliveries' && method === 'GET') {
        if (!subscriptionsByName.has(segments[2]) && !deliveryLogs.has(segments[2])) {
          return sendJson(res, 404, { error: { code: 'NotFound', message: `The subscription '${segments[2]}' was not found.` } });
        }
        return sendJson(res, 200, deliveryLogs.get(segments[2]) ?? []);
      }
      return sendJson(res, 404, { error: { code: 'NotFound', message: `No route for ${method} ${url.pathname}.` } });
    });
  }

  const server = https.createServer({ cert: o.tls.cert, key: o.tls.key }, (req, res) => {
    handle(req, res).catch((error: Error) => {
      if (!res.headersSent) sendJson(res, 500, { error: { code: 'InternalServerError', message: error.message } });
      else res.destroy(error);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port ?? 0, '127.0.0.1', () => resolve());
  });
  baseUrl = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;

  let proxy: RunningBlobEventProxy;
  try {
    proxy = await startBlobEventProxy({
      azuriteBlobPort: o.storage.blobPort,
      azuriteConnectionString: o.storage.connectionString,
      accountName,
      port: o.storage.proxyPort,
      onChange: onBlobChange,
      busy,
      eventUrlOrigin: o.storage.eventUrlOrigin,
    });
  } catch (error) {
    server.close();
    throw error;
  }

  const stop = async (): Promise<void> => {
    stopped = true;
    for (const handle of timers) clearTimeout(handle);
    timers.clear();
    for (const entry of subscriptionsByName.values()) entry.dispatcher?.stop();
    await proxy.stop();
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
    const waiters = idleWaiters;
    idleWaiters = [];
    for (const w of waiters) w();
  };

  try {
    for (const t of o.topics ?? []) createTopic(t);
    if (o.subscriptionsFile) await applyConfig(loadEventGridLocalConfig(o.subscriptionsFile));
    for (const s of o.subscriptions ?? []) await addSubscription(s);
  } catch (error) {
    await stop();
    throw error;
  }

  return {
    baseUrl,
    topicEndpoint: (name) => `${baseUrl}/topics/${encodeURIComponent(name)}/api/events`,
    topicKey: (name) => {
      const key = topicKeys.get(name);
      if (!key) throw new Error(`The custom topic '${name}' does not exist.`);
      return key;
    },
    topicResourceId: (name) => requireTopic(name).resourceId,
    createTopic,
    topics: () => [...topics.values()],
    blobProxyUrl: proxy.accountUrl,
    blobProxyConnectionString: proxy.connectionString(azuriteSharedKey().accountKey),
    storageAccountResourceId: storageTopic.resourceId,
    workspaceResourceId: workspaceTopic.resourceId,
    publishSystemEvents,
    published: (name) => [...(publishedByTopic.get(name) ?? [])],
    setTopicOutage: (name, outage) => {
      const topic = requireTopic(name);
      if (topic.kind !== 'custom') throw new Error(`'${name}' is a system topic; only custom topics take publishes that could be refused.`);
      if (outage?.status !== undefined && outage.status !== 403 && !(outage.status >= 500 && outage.status <= 599)) throw new RangeError(`An outage answers 403 or a 5xx status; got ${outage.status}.`);
      if (outage) outages.set(name, { ...outage });
      else outages.delete(name);
    },
    refusedPublishes: (name) => refusedByTopic.get(name) ?? 0,
    addSubscription,
    loadSubscriptionsFile: (file) => applyConfig(loadEventGridLocalConfig(file)),
    deleteSubscription: (name) => {
      const entry = subscriptionsByName.get(name);
      entry?.dispatcher?.stop();
      return subscriptionsByName.delete(name);
    },
    subscriptions: () => [...subscriptionsByName.values()].map((e) => e.info),
    deliveries: (name) => [...(deliveryLogs.get(name) ?? [])],
    publishFaultStats: () => publishFaults.stats(),
    setFunctionsHost: (target) => {
      functionsHost = target;
    },
    idle: () =>
      new Promise<void>((resolve) => {
        if (stopped) return resolve();
        idleWaiters.push(resolve);
        // Kick the check in case nothing is (or will become) busy.
        setImmediate(() => busy(0));
      }),
    stop,
  };
}
