// Custom topics through the real EventGridPublisherClient: both input schemas with a development token or
// the per-run access key, and Event Grid's refusals (wrong audience, oversized event, missing field,
// wrong schema) with its status codes and error codes.
import { AzureKeyCredential, AzureSASCredential, EventGridPublisherClient, generateSharedAccessSignature } from '@azure/eventgrid';
import { RestError } from '@azure/core-rest-pipeline';
import type { TokenCredential } from '@azure/core-auth';
import { startTestEventGrid, TestEventGrid } from '../../src/testing/testEventGrid';
import { clientOptionsTrusting, requestTrusting, waitUntil } from '@batchpilot/local-platform';
import { startWebhookReceiver, WebhookReceiver } from '../../src/webhookReceiver';

const EG_TOPIC = 'run-events';
const CE_TOPIC = 'run-cloudevents';

let env: TestEventGrid;
let receiver: WebhookReceiver;

beforeAll(async () => {
  env = await startTestEventGrid({
    topics: [
      { name: EG_TOPIC, inputSchema: 'EventGridSchema' },
      { name: CE_TOPIC, inputSchema: 'CloudEventSchemaV1_0' },
    ],
  });
  receiver = await startWebhookReceiver();
  await env.eventGrid.addSubscription({ name: 'eg-sub', topic: EG_TOPIC, destination: { endpointType: 'WebHook', properties: { endpointUrl: receiver.url } } });
  await env.eventGrid.addSubscription({
    name: 'ce-sub', topic: CE_TOPIC, eventDeliverySchema: 'CloudEventSchemaV1_0',
    destination: { endpointType: 'WebHook', properties: { endpointUrl: `${receiver.url}?schema=ce` } },
  });
});

afterAll(async () => {
  await env?.stop();
  await receiver?.close();
});

function eventGridClient(credential: TokenCredential | AzureKeyCredential | AzureSASCredential = env.issuer.credential()): EventGridPublisherClient<'EventGrid'> {
  return new EventGridPublisherClient(env.eventGrid.topicEndpoint(EG_TOPIC), 'EventGrid', credential, clientOptionsTrusting(env.certificate.ca));
}

function cloudEventClient(): EventGridPublisherClient<'CloudEvent'> {
  return new EventGridPublisherClient(env.eventGrid.topicEndpoint(CE_TOPIC), 'CloudEvent', env.issuer.credential(), clientOptionsTrusting(env.certificate.ca));
}

async function rejectionOf(promise: Promise<unknown>): Promise<RestError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof RestError) return error;
    throw error;
  }
  throw new Error('expected the publish to be refused');
}

async function adminRequest<T>(method: 'GET' | 'PUT', path: string, body?: unknown): Promise<{ status: number; body: T }> {
  const res = await requestTrusting(env.certificate.ca, `${env.eventGrid.baseUrl}${path}`, {
    method, headers: { 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: res.json as T };
}

describe('Event Grid emulator custom topics', () => {
  it('accepts Event Grid schema events from EventGridPublisherClient with a development token and delivers them', async () => {
    await eventGridClient().send([
      { id: 'eg-1', eventType: 'Batchpilot.RunCompleted', subject: 'runs/r1', dataVersion: '1.0', data: { runId: 'r1', status: 'Completed' } },
    ]);
    const [published] = env.eventGrid.published(EG_TOPIC).filter((p) => p.event.id === 'eg-1');
    expect(published.schema).toBe('EventGridSchema');
    expect(published.event).toMatchObject({
      id: 'eg-1', topic: env.eventGrid.topicResourceId(EG_TOPIC), subject: 'runs/r1', eventType: 'Batchpilot.RunCompleted', metadataVersion: '1', dataVersion: '1.0',
    });
    const delivered = await waitUntil(() => receiver.notifications().find((r) => r.body.includes('"eg-1"')), 'the event at the webhook');
    expect(delivered.headers['content-type']).toMatch(/^application\/json/);
    expect(delivered.headers['aeg-subscription-name']).toBe('EG-SUB');
    const body = JSON.parse(delivered.body) as Array<Record<string, unknown>>;
    expect(body).toHaveLength(1);
    expect(body[0]).toMatchObject({ id: 'eg-1', topic: env.eventGrid.topicResourceId(EG_TOPIC), data: { runId: 'r1', status: 'Completed' } });
  });

  it('accepts CloudEvents from EventGridPublisherClient and delivers each in structured mode', async () => {
    await cloudEventClient().send([{ id: 'ce-1', type: 'Batchpilot.RunFailed', source: '/batchpilot/runs', subject: 'runs/r2', data: { runId: 'r2' } }]);
    const [published] = env.eventGrid.published(CE_TOPIC).filter((p) => p.event.id === 'ce-1');
    expect(published.schema).toBe('CloudEventSchemaV1_0');
    expect(published.event).toMatchObject({ specversion: '1.0', type: 'Batchpilot.RunFailed', source: '/batchpilot/runs', datacontenttype: 'application/json' });
    const delivered = await waitUntil(() => receiver.notifications().find((r) => r.body.includes('"ce-1"')), 'the CloudEvent at the webhook');
    expect(delivered.headers['content-type']).toMatch(/^application\/cloudevents\+json/);
    expect(JSON.parse(delivered.body)).toMatchObject({ id: 'ce-1', specversion: '1.0', data: { runId: 'r2' } });
  });

  it('accepts the topic access key generated for this run and refuses any other key', async () => {
    await eventGridClient(new AzureKeyCredential(env.eventGrid.topicKey(EG_TOPIC))).send([
      { eventType: 'Batchpilot.Ping', subject: 'ping', dataVersion: '1', data: {} },
    ]);
    const error = await rejectionOf(eventGridClient(new AzureKeyCredential(Buffer.alloc(32, 7).toString('base64'))).send([
      { eventType: 'Batchpilot.Ping', subject: 'ping', dataVersion: '1', data: {} },
    ]));
    expect(error.statusCode).toBe(401);
    expect(error.code).toBe('Unauthorized');
  });

  it('accepts a SAS token signed with the topic key and refuses an expired one', async () => {
    const endpoint = env.eventGrid.topicEndpoint(EG_TOPIC);
    const key = new AzureKeyCredential(env.eventGrid.topicKey(EG_TOPIC));
    const valid = await generateSharedAccessSignature(endpoint, key, new Date(Date.now() + 3_600_000));
    await eventGridClient(new AzureSASCredential(valid)).send([{ eventType: 'Batchpilot.Ping', subject: 'sas', dataVersion: '1', data: {} }]);
    const expired = await generateSharedAccessSignature(endpoint, key, new Date(Date.now() - 3_600_000));
    const error = await rejectionOf(eventGridClient(new AzureSASCredential(expired)).send([{ eventType: 'Batchpilot.Ping', subject: 'sas', dataVersion: '1', data: {} }]));
    expect(error.statusCode).toBe(401);
  });

  it('refuses a token issued for another audience with 401 Unauthorized', async () => {
    const wrongAudience: TokenCredential = { getToken: async () => env.issuer.issue('https://management.azure.com') };
    const error = await rejectionOf(eventGridClient(wrongAudience).send([{ eventType: 'Batchpilot.Ping', subject: 'ping', dataVersion: '1', data: {} }]));
    expect(error.statusCode).toBe(401);
    expect(error.code).toBe('Unauthorized');
    expect(error.message).toMatch(/audience/i);
  });

  it('refuses an event over 1 MB with 413 and publishes nothing from the request', async () => {
    const before = env.eventGrid.published(EG_TOPIC).length;
    const error = await rejectionOf(eventGridClient().send([
      { eventType: 'Batchpilot.Big', subject: 'big', dataVersion: '1', data: { blob: 'x'.repeat(1024 * 1024 + 10) } },
    ]));
    expect(error.statusCode).toBe(413);
    expect(error.code).toBe('RequestEntityTooLarge');
    expect(env.eventGrid.published(EG_TOPIC)).toHaveLength(before);
  });

  it('refuses an event without a required field with 400 BadRequest naming the field', async () => {
    // The typed client checks required fields itself; the 'Custom' client sends the object as given, as any
    // hand-written publisher could.
    const untyped = new EventGridPublisherClient(env.eventGrid.topicEndpoint(EG_TOPIC), 'Custom', env.issuer.credential(), clientOptionsTrusting(env.certificate.ca));
    const error = await rejectionOf(untyped.send([
      { id: 'no-subject', eventType: 'Batchpilot.NoSubject', eventTime: new Date().toISOString(), dataVersion: '1', data: {} },
    ]));
    expect(error.statusCode).toBe(400);
    expect(error.code).toBe('BadRequest');
    expect(error.message).toMatch(/'subject'/);
  });

  it('refuses CloudEvents sent to a topic whose input schema is the Event Grid schema', async () => {
    const wrongSchema = new EventGridPublisherClient(env.eventGrid.topicEndpoint(EG_TOPIC), 'CloudEvent', env.issuer.credential(), clientOptionsTrusting(env.certificate.ca));
    const error = await rejectionOf(wrongSchema.send([{ type: 'Batchpilot.X', source: '/x', data: {} }]));
    expect(error.statusCode).toBe(400);
    expect(error.code).toBe('BadRequest');
  });

  it('answers 404 for a topic that does not exist', async () => {
    const client = new EventGridPublisherClient(env.eventGrid.topicEndpoint('no-such-topic'), 'EventGrid', env.issuer.credential(), clientOptionsTrusting(env.certificate.ca));
    const error = await rejectionOf(client.send([{ eventType: 'X', subject: 's', dataVersion: '1', data: {} }]));
    expect(error.statusCode).toBe(404);
  });

  it('lists what was published to a topic, and each delivery attempt, over the admin routes', async () => {
    await eventGridClient().send([{ id: 'eg-admin', eventType: 'Batchpilot.Ping', subject: 'admin', dataVersion: '1', data: { n: 1 } }]);
    await env.eventGrid.idle();
    const listed = await adminRequest<Array<{ event: { id: string } }>>('GET', `/admin/topics/${EG_TOPIC}/events`);
    expect(listed.body.map((p) => p.event.id)).toContain('eg-admin');
    const deliveries = await adminRequest<Array<{ eventIds: string[]; outcome: string; attempt: number }>>('GET', '/admin/subscriptions/eg-sub/deliveries');
    expect(deliveries.body.find((d) => d.eventIds.includes('eg-admin'))).toMatchObject({ outcome: 'Delivered', attempt: 1 });
  });

  it('creates a subscription from a definition PUT to the admin route', async () => {
    const created = await adminRequest<{ name: string; provisioningState: string }>('PUT', '/admin/subscriptions/admin-made', {
      topic: EG_TOPIC, destination: { endpointType: 'WebHook', properties: { endpointUrl: `${receiver.url}?via=admin` } },
    });
    expect(created.status).toBe(200);
    expect(created.body).toMatchObject({ name: 'admin-made', provisioningState: 'Succeeded' });
    const refused = await adminRequest<{ error: { code: string } }>('PUT', '/admin/subscriptions/bad-one', { topic: 'nope', destination: { endpointType: 'WebHook', properties: { endpointUrl: receiver.url } } });
    expect(refused.status).toBe(400);
  });
});
