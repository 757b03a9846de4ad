// Push delivery as Event Grid does it: validation handshakes on subscription creation (both schemas,
// synchronous and manual), retries of retryable failures on the (scaled) schedule, dead-lettering of
// final failures and of exhausted budgets into an Azurite container in the documented format, batching,
// injected duplicates and reordering, workspace system events, Azure Function destinations, and the
// subscriptions file. The retry schedule is scaled down; tests wait for outcomes, never for time.
import * as path from 'node:path';
import { BlobServiceClient } from '@azure/storage-blob';
import { EventGridPublisherClient } from '@azure/eventgrid';
import { startTestEventGrid, TestEventGrid } from '../../src/testing/testEventGrid';
import { startWebhookReceiver, WebhookReceiver, ReceivedRequest } from '../../src/webhookReceiver';
import { clientOptionsTrusting, requestTrusting, testAzurite, uniqueName, waitUntil } from '@batchpilot/local-platform';
import type { SubscriptionDefinition } from '../../src/subscriptionDefinitions';

const TOPIC = 'delivery-tests';

const suites: TestEventGrid[] = [];
const receivers: WebhookReceiver[] = [];

async function eventGrid(delivery: Parameters<typeof startTestEventGrid>[0] = {}): Promise<TestEventGrid> {
  const env = await startTestEventGrid({ topics: [{ name: TOPIC, inputSchema: 'EventGridSchema' }], ...delivery });
  suites.push(env);
  return env;
}

async function receiver(): Promise<WebhookReceiver> {
  const r = await startWebhookReceiver();
  receivers.push(r);
  return r;
}

afterAll(async () => {
  await Promise.all(suites.map((s) => s.stop()));
  await Promise.all(receivers.map((r) => r.close()));
});

function webhook(name: string, url: string, extra: Partial<SubscriptionDefinition> = {}): SubscriptionDefinition {
  return { name, topic: TOPIC, destination: { endpointType: 'WebHook', properties: { endpointUrl: url } }, ...extra };
}

async function publish(env: TestEventGrid, ...ids: string[]): Promise<void> {
  const client = new EventGridPublisherClient(env.eventGrid.topicEndpoint(TOPIC), 'EventGrid', env.issuer.credential(), clientOptionsTrusting(env.certificate.ca));
  await client.send(ids.map((id) => ({ id, eventType: 'Batchpilot.Test', subject: `tests/${id}`, dataVersion: '1', data: { id } })));
}

function eventIds(requests: ReceivedRequest[]): string[] {
  return requests.flatMap((r) => (JSON.parse(r.body) as Array<{ id: string }>).map((e) => e.id));
}

describe('Event Grid emulator validation handshake', () => {
  it('creates an Event Grid schema webhook subscription once the endpoint echoes the validationCode', async () => {
    const env = await eventGrid();
    const hook = await receiver();
    const info = await env.eventGrid.addSubscription(webhook('echoes-code', hook.url));
    expect(info.provisioningState).toBe('Succeeded');
    const [handshake] = hook.requests;
    expect(handshake.method).toBe('POST');
    expect(handshake.headers['aeg-event-type']).toBe('SubscriptionValidation');
    const [event] = JSON.parse(handshake.body) as Array<{ eventType: string; data: { validationCode: string; validationUrl: string }; topic: string }>;
    expect(event.eventType).toBe('Microsoft.EventGrid.SubscriptionValidationEvent');
    expect(event.topic).toBe(env.eventGrid.topicResourceId(TOPIC));
    expect(event.data.validationUrl.startsWith(env.eventGrid.baseUrl)).toBe(true);
  });

  it('creates the subscription when the endpoint validates manually by GETting the validationUrl', async () => {
    const env = await eventGrid();
    const hook = await receiver();
    hook.respondWith((request) => {
      if (request.headers['aeg-event-type'] !== 'SubscriptionValidation') return undefined;
      const [event] = JSON.parse(request.body) as Array<{ data: { validationUrl: string } }>;
      void requestTrusting(env.certificate.ca, event.data.validationUrl);
      return { status: 200 };
    });
    const info = await env.eventGrid.addSubscription(webhook('manual-validation', hook.url));
    expect(info.provisioningState).toBe('Succeeded');
  });

  it('refuses to create a subscription whose endpoint fails the handshake', async () => {
    const env = await eventGrid();
    const hook = await receiver();
    hook.respondWith(() => ({ status: 403 }));
    await expect(env.eventGrid.addSubscription(webhook('refuses-handshake', hook.url))).rejects.toThrow(/Webhook validation handshake failed .* response code 403/);
    expect(env.eventGrid.subscriptions().map((s) => s.name)).not.toContain('refuses-handshake');
  });

  it('validates a CloudEvents webhook with the OPTIONS abuse-protection handshake', async () => {
    const env = await eventGrid();
    const hook = await receiver();
    await env.eventGrid.addSubscription(webhook('ce-handshake', hook.url, { eventDeliverySchema: 'CloudEventSchemaV1_0' }));
    const [handshake] = hook.requests;
    expect(handshake.method).toBe('OPTIONS');
    expect(handshake.headers['webhook-request-origin']).toBe('eventgrid.azure.net');
  });

  it('refuses a CloudEvents webhook that does not answer with WebHook-Allowed-Origin', async () => {
    const env = await eventGrid();
    const hook = await receiver();
    hook.respondWith((request) => (request.method === 'OPTIONS' ? { status: 200 } : undefined));
    await expect(env.eventGrid.addSubscription(webhook('ce-no-origin', hook.url, { eventDeliverySchema: 'CloudEventSchemaV1_0' }))).rejects.toThrow(/OPTIONS/);
  });
});

describe('Event Grid emulator retries and dead letters', () => {
  it('retries a webhook answering 503 and delivers once it recovers', async () => {
    const env = await eventGrid();
    const hook = await receiver();
    let failures = 2;
    hook.respondWith((request) => (request.headers['aeg-event-type'] === 'Notification' && failures-- > 0 ? { status: 503 } : undefined));
    await env.eventGrid.addSubscription(webhook('flaky', hook.url));
    await publish(env, 'retry-me');
    await waitUntil(() => env.eventGrid.deliveries('flaky').some((d) => d.outcome === 'Delivered'), 'the delivery to succeed');
    const log = env.eventGrid.deliveries('flaky');
    expect(log.map((d) => [d.attempt, d.outcome, d.httpStatus])).toEqual([[1, 'Failed', 503], [2, 'Failed', 503], [3, 'Delivered', 200]]);
    expect(log[0].nextAttemptInMs).toBe(10); // 10 s × the test time scale
    expect(log[1].nextAttemptInMs).toBe(30);
    expect(hook.notifications().map((r) => r.headers['aeg-delivery-count'])).toEqual(['0', '1', '2']);
  });

  it('dead-letters at once, in the documented blob format, an event the webhook answers 400', async () => {
    const deadLetters = uniqueName('deadletters');
    await BlobServiceClient.fromConnectionString(testAzurite().connectionString).getContainerClient(deadLetters).create();
    const env = await eventGrid();
    const hook = await receiver();
    hook.respondWith((request) => (request.headers['aeg-event-type'] === 'Notification' ? { status: 400 } : undefined));
    await env.eventGrid.addSubscription(webhook('rejects-events', hook.url, {
      deadLetterDestination: { endpointType: 'StorageBlob', properties: { blobContainerName: deadLetters } },
    }));
    await publish(env, 'poison');
    const entry = await waitUntil(() => env.eventGrid.deliveries('rejects-events').find((d) => d.outcome === 'DeadLettered'), 'the dead letter');
    expect(hook.notifications()).toHaveLength(1);
    expect(entry.deadLetterReason).toBe('UndeliverableDueToHttpBadRequest');
    expect(entry.deadLetterBlob).toMatch(new RegExp(`^${deadLetters}/REJECTS-EVENTS/\\d{4}/\\d{1,2}/\\d{1,2}/\\d{1,2}/[0-9a-f-]{36}\\.json$`));

    const blobName = entry.deadLetterBlob!.slice(deadLetters.length + 1);
    const blob = BlobServiceClient.fromConnectionString(testAzurite().connectionString).getContainerClient(deadLetters).getBlobClient(blobName);
    const stored = JSON.parse((await blob.downloadToBuffer()).toString('utf8')) as Array<Record<string, unknown>>;
    expect(stored).toEqual([
      expect.objectContaining({
        id: 'poison',
        eventType: 'Batchpilot.Test',
        topic: env.eventGrid.topicResourceId(TOPIC),
        deadLetterReason: 'UndeliverableDueToHttpBadRequest',
        deliveryAttempts: 1,
        lastDeliveryOutcome: 'BadRequest',
        lastHttpStatusCode: 400,
        publishTime: expect.any(String),
        lastDeliveryAttemptTime: expect.any(String),
      }),
    ]);
  });

  it('dead-letters with MaxDeliveryAttemptsExceeded once the attempt budget is spent', async () => {
    const deadLetters = uniqueName('deadletters');
    await BlobServiceClient.fromConnectionString(testAzurite().connectionString).getContainerClient(deadLetters).create();
    const env = await eventGrid();
    const hook = await receiver();
    hook.respondWith((request) => (request.headers['aeg-event-type'] === 'Notification' ? { status: 500 } : undefined));
    await env.eventGrid.addSubscription(webhook('always-500', hook.url, {
      retryPolicy: { maxDeliveryAttempts: 3 },
      deadLetterDestination: { endpointType: 'StorageBlob', properties: { blobContainerName: deadLetters } },
    }));
    await publish(env, 'exhausted');
    const entry = await waitUntil(() => env.eventGrid.deliveries('always-500').find((d) => d.outcome === 'DeadLettered'), 'the dead letter');
    expect(entry.deadLetterReason).toBe('MaxDeliveryAttemptsExceeded');
    expect(hook.notifications()).toHaveLength(3);
  });

  it('drops, and logs, a final failure when no dead-letter destination is configured', async () => {
    const env = await eventGrid();
    const hook = await receiver();
    hook.respondWith((request) => (request.headers['aeg-event-type'] === 'Notification' ? { status: 413 } : undefined));
    await env.eventGrid.addSubscription(webhook('no-dead-letter', hook.url));
    await publish(env, 'too-big-for-them');
    const entry = await waitUntil(() => env.eventGrid.deliveries('no-dead-letter').find((d) => d.outcome === 'Dropped'), 'the drop');
    expect(entry.deadLetterReason).toBe('UndeliverableDueToHttpRequestEntityTooLarge');
  });

  it('keeps retrying an Azure Function destination until the local host is registered', async () => {
    const env = await eventGrid();
    const hook = await receiver();
    await env.eventGrid.addSubscription({ name: 'host-not-up', topic: TOPIC, destination: { endpointType: 'AzureFunction', properties: { functionName: 'intake' } } });
    await publish(env, 'early');
    await waitUntil(() => env.eventGrid.deliveries('host-not-up').length >= 2, 'failed attempts while no host is registered');
    env.eventGrid.setFunctionsHost({ baseUrl: hook.url.replace('/api/events', ''), eventGridSystemKey: 'system-key-for-tests' });
    await waitUntil(() => env.eventGrid.deliveries('host-not-up').some((d) => d.outcome === 'Delivered'), 'the delivery once the host is up');
    const [request] = hook.notifications();
    expect(request.url).toBe('/runtime/webhooks/eventgrid?functionName=intake&code=system-key-for-tests');
    expect(eventIds([request])).toEqual(['early']);
  });
});

describe('Event Grid emulator batching, duplicates and ordering', () => {
  it('batches up to maxEventsPerBatch events per request', async () => {
    const env = await eventGrid();
    const hook = await receiver();
    await env.eventGrid.addSubscription({ name: 'batched', topic: TOPIC, destination: { endpointType: 'WebHook', properties: { endpointUrl: hook.url, maxEventsPerBatch: 3 } } });
    await publish(env, 'b1', 'b2', 'b3', 'b4', 'b5', 'b6', 'b7');
    await env.eventGrid.idle();
    expect(hook.notifications().map((r) => (JSON.parse(r.body) as unknown[]).length).sort()).toEqual([1, 3, 3]);
    expect(eventIds(hook.notifications()).sort()).toEqual(['b1', 'b2', 'b3', 'b4', 'b5', 'b6', 'b7']);
  });

  it('delivers every event twice when asked for duplicates, marking the repeats in the log', async () => {
    const env = await eventGrid({ delivery: { duplicateRate: 1, seed: 7 } });
    const hook = await receiver();
    await env.eventGrid.addSubscription(webhook('duplicated', hook.url));
    await publish(env, 'd1', 'd2');
    await env.eventGrid.idle();
    expect(eventIds(hook.notifications()).sort()).toEqual(['d1', 'd1', 'd2', 'd2']);
    expect(env.eventGrid.deliveries('duplicated').filter((d) => d.duplicate)).toHaveLength(2);
  });

  it('delivers events published together out of order when shuffling, the same way for the same seed', async () => {
    const ids = Array.from({ length: 12 }, (_, i) => `o${i}`);
    const orders: string[][] = [];
    for (let run = 0; run < 2; run++) {
      const env = await eventGrid({ delivery: { shuffle: true, seed: 42, maxConcurrentDeliveriesPerSubscription: 1 } });
      const hook = await receiver();
      await env.eventGrid.addSubscription(webhook('shuffled', hook.url));
      await publish(env, ...ids);
      await env.eventGrid.idle();
      orders.push(eventIds(hook.notifications()));
    }
    expect([...orders[0]].sort()).toEqual([...ids].sort());
    expect(orders[0]).not.toEqual(ids);
    expect(orders[1]).toEqual(orders[0]);
  });
});

describe('Event Grid emulator workspace topic and subscriptions file', () => {
  it('loads topics and subscriptions from the file and delivers storage and workspace events to the Functions host', async () => {
    const env = await eventGrid();
    const host = await receiver();
    env.eventGrid.setFunctionsHost({ baseUrl: host.url.replace('/api/events', '') });
    const loaded = await env.eventGrid.loadSubscriptionsFile(path.resolve(__dirname, '../fixtures/subscriptions.json'));
    expect(loaded.map((s) => s.name)).toEqual(['blob-intake', 'model-intake', 'job-events']);
    expect(env.eventGrid.topics().map((t) => t.name)).toContain('batchpilot-runs');

    const input = BlobServiceClient.fromConnectionString(env.eventGrid.blobProxyConnectionString).getContainerClient('input');
    await input.createIfNotExists();
    await input.getBlockBlobClient(`${uniqueName('batch')}/rows.csv`).upload('a\n', 2);

    const workspace = env.eventGrid.workspaceResourceId;
    env.eventGrid.publishSystemEvents('workspace', [
      { eventType: 'Microsoft.MachineLearningServices.ModelRegistered', subject: 'models/churn:2', data: { ModelName: 'churn', ModelVersion: '2', ModelTags: {}, ModelProperties: {} } },
      { eventType: 'Microsoft.MachineLearningServices.RunStatusChanged', subject: 'experiments/e/runs/job-1', data: { runId: 'job-1', runStatus: 'Running' } },
      { eventType: 'Microsoft.MachineLearningServices.RunStatusChanged', subject: 'experiments/e/runs/job-1', data: { runId: 'job-1', runStatus: 'Completed' } },
      { eventType: 'Microsoft.MachineLearningServices.RunCompleted', subject: 'experiments/e/runs/job-1', data: { runId: 'job-1' } },
    ]);
    await env.eventGrid.idle();

    const byFunction = (name: string): ReceivedRequest[] => host.notifications().filter((r) => r.url.includes(`functionName=${name}`));
    const blobEvents = byFunction('blobIntake').flatMap((r) => JSON.parse(r.body) as Array<{ eventType: string; data: { api: string } }>);
    expect(blobEvents.map((e) => [e.eventType, e.data.api])).toEqual([['Microsoft.Storage.BlobCreated', 'PutBlob']]);

    const [modelRequest] = byFunction('modelIntake');
    expect(modelRequest.headers['content-type']).toMatch(/^application\/cloudevents\+json/);
    expect(JSON.parse(modelRequest.body)).toMatchObject({ specversion: '1.0', source: workspace, type: 'Microsoft.MachineLearningServices.ModelRegistered', subject: 'models/churn:2' });

    const jobEvents = byFunction('jobEvents').flatMap((r) => JSON.parse(r.body) as Array<{ eventType: string; data: { runStatus?: string } }>);
    expect(jobEvents.map((e) => `${e.eventType.split('.').pop()}:${e.data.runStatus ?? ''}`).sort()).toEqual(['RunCompleted:', 'RunStatusChanged:Completed']);
  });

  it('refuses a subscription asking for Event Grid schema delivery of CloudEvents', async () => {
    const env = await eventGrid();
    env.eventGrid.createTopic({ name: 'ce-only', inputSchema: 'CloudEventSchemaV1_0' });
    await expect(env.eventGrid.addSubscription({ name: 'wrong-schema', topic: 'ce-only', destination: { endpointType: 'AzureFunction', properties: { functionName: 'x' } } }))
      .rejects.toThrow(/CloudEventSchemaV1_0/);
  });

  it('explains what is wrong with an invalid subscription definition', async () => {
    const env = await eventGrid();
    await expect(env.eventGrid.addSubscription({ name: 'x', topic: TOPIC, destination: { endpointType: 'WebHook', properties: { endpointUrl: 'not a url' } } }))
      .rejects.toThrow(/name[\s\S]*destination\.properties\.endpointUrl/);
  });
});
