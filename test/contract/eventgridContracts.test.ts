// Holds the Event Grid emulator to test/contracts/eventgrid: the contract examples validate against
// their swagger definitions and pass the emulator's own publish checks, and the events the emulator
// raises (BlobCreated, BlobDeleted, the validation event, stamped workspace events) validate too and
// carry exactly the fields, of the same types, that the documented examples show.
import * as fs from 'node:fs';
import * as path from 'node:path';
import Ajv, { ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import { checkPublishBody, blobCreatedEvent, blobDeletedEvent, BlobSequencer, toCloudEvent, subscriptionValidationEvent, stampSystemEvent } from '@batchpilot/eventgrid-emulator';
import type { TopicDefinition } from '@batchpilot/eventgrid-emulator';
import { CONTRACTS_DIR } from '../support/contractsDir';

const CONTRACTS = path.join(CONTRACTS_DIR, 'eventgrid');
const PUBLISH_API = path.join(CONTRACTS, 'Microsoft.EventGrid/stable/2018-01-01');
const STORAGE = path.join(CONTRACTS, 'Microsoft.Storage/stable/2018-01-01');
const ML = path.join(CONTRACTS, 'Microsoft.MachineLearningServices/stable/2018-01-01');

type Json = Record<string, unknown>;

function readJson<T = Json>(file: string): T {
  return JSON.parse(fs.readFileSync(file, 'utf8')) as T;
}

/**
 * AutoRest treats properties outside `required` as nullable, and the service's own examples rely on it
 * (`"runType": null`); plain JSON Schema does not, so optional typed properties also admit null here.
 */
function nullableOptionals(definitions: Record<string, Json>): Record<string, Json> {
  const out: Record<string, Json> = {};
  for (const [name, definition] of Object.entries(definitions)) {
    const required = new Set((definition.required as string[] | undefined) ?? []);
    const properties = (definition.properties as Record<string, Json> | undefined) ?? {};
    const adjusted: Record<string, Json> = {};
    for (const [key, property] of Object.entries(properties)) {
      adjusted[key] = !required.has(key) && typeof property.type === 'string' ? { ...property, type: [property.type, 'null'] } : property;
    }
    out[name] = { ...definition, ...(definition.properties ? { properties: adjusted } : {}) };
  }
  return out;
}

const ajv = new Ajv({ strict: false, allErrors: true });
addFormats(ajv);

function definitionsOf(swaggerFile: string, id: string): (name: string) => ValidateFunction {
  const swagger = readJson<{ definitions: Record<string, Json> }>(swaggerFile);
  ajv.addSchema({ $id: id, definitions: nullableOptionals(swagger.definitions) });
  return (name) => {
    const validate = ajv.getSchema(`${id}#/definitions/${name}`);
    if (!validate) throw new Error(`${path.basename(swaggerFile)} has no definition '${name}'`);
    return validate;
  };
}

const publishApi = definitionsOf(path.join(PUBLISH_API, 'EventGrid.json'), 'eventgrid-publish');
const storageApi = definitionsOf(path.join(STORAGE, 'Storage.json'), 'eventgrid-storage');
const mlApi = definitionsOf(path.join(ML, 'MachineLearningServices.json'), 'eventgrid-ml');

function expectValid(validate: ValidateFunction, value: unknown): void {
  const ok = validate(value);
  expect(ok ? [] : validate.errors).toEqual([]);
}

/** Key → JSON type, so that "the same fields" also means the same kinds of values. */
function shapeOf(value: Json): Record<string, string> {
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v]));
}

const testTopic: TopicDefinition = {
  name: 'contract-topic', kind: 'custom', inputSchema: 'EventGridSchema',
  resourceId: '/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg/providers/Microsoft.EventGrid/topics/contract-topic',
};

describe('Event Grid publish API contract', () => {
  it('validates the Event Grid schema publish example and the emulator accepts it', () => {
    const example = readJson<{ parameters: { events: Json[]; 'api-version': string } }>(path.join(PUBLISH_API, 'examples/PublishEventsToEventGridTopic.json'));
    for (const event of example.parameters.events) expectValid(publishApi('EventGridEvent'), event);
    const check = checkPublishBody(testTopic, new URLSearchParams({ 'api-version': example.parameters['api-version'] }),
      { 'content-type': 'application/json; charset=utf-8' }, Buffer.from(JSON.stringify(example.parameters.events)));
    expect(check.ok).toBe(true);
  });

  it('validates the CloudEvents publish example and the emulator accepts it', () => {
    const example = readJson<{ parameters: { events: Json[]; 'api-version': string } }>(path.join(PUBLISH_API, 'examples/PublishEventsToEventGridTopicAsCloudEvents.json'));
    for (const event of example.parameters.events) expectValid(publishApi('CloudEventEvent'), event);
    const check = checkPublishBody({ ...testTopic, inputSchema: 'CloudEventSchemaV1_0' }, new URLSearchParams({ 'api-version': example.parameters['api-version'] }),
      { 'content-type': 'application/cloudevents-batch+json; charset=utf-8' }, Buffer.from(JSON.stringify(example.parameters.events)));
    expect(check.ok).toBe(true);
  });

  it('stamps accepted Event Grid schema events with the topic and metadataVersion, keeping them valid', () => {
    const example = readJson<{ parameters: { events: Json[] } }>(path.join(PUBLISH_API, 'examples/PublishEventsToEventGridTopic.json'));
    const check = checkPublishBody(testTopic, new URLSearchParams({ 'api-version': '2018-01-01' }), { 'content-type': 'application/json' }, Buffer.from(JSON.stringify(example.parameters.events)));
    if (!check.ok) throw new Error(check.rejection.message);
    const [stored] = check.events;
    expect(stored.event).toMatchObject({ topic: testTopic.resourceId, metadataVersion: '1' });
    expectValid(publishApi('EventGridEvent'), stored.event);
  });
});

describe('Microsoft.Storage system event contract', () => {
  const examples = {
    createdEventGrid: readJson(path.join(STORAGE, 'examples/event-grid-schema/blob_created.json')),
    createdCloud: readJson(path.join(STORAGE, 'examples/cloud-events-schema/blob_created.json')),
    deletedEventGrid: readJson(path.join(STORAGE, 'examples/event-grid-schema/blob_deleted.json')),
    deletedCloud: readJson(path.join(STORAGE, 'examples/cloud-events-schema/blob_deleted.json')),
  };

  it('validates the documented examples in both delivery schemas', () => {
    expectValid(publishApi('EventGridEvent'), examples.createdEventGrid);
    expectValid(publishApi('EventGridEvent'), examples.deletedEventGrid);
    expectValid(publishApi('CloudEventEvent'), examples.createdCloud);
    expectValid(publishApi('CloudEventEvent'), examples.deletedCloud);
    expectValid(storageApi('StorageBlobCreatedEventData'), examples.createdEventGrid.data);
    expectValid(storageApi('StorageBlobCreatedEventData'), examples.createdCloud.data);
    expectValid(storageApi('StorageBlobDeletedEventData'), examples.deletedEventGrid.data);
    expectValid(storageApi('StorageBlobDeletedEventData'), examples.deletedCloud.data);
  });

  const sequencer = new BlobSequencer();
  const account = '/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/devstoreaccount1';
  const created = blobCreatedEvent({
    api: 'PutBlob', container: 'input', blobName: 'batch/rows.csv', url: 'http://127.0.0.1:1/devstoreaccount1/input/batch/rows.csv',
    clientRequestId: '89bc72c2-5dfe-4d9f-9706-43612c1bd01b', requestId: 'beb21a5e-401e-002b-3749-928517000000',
    eTag: '"0x8D96060BDA19D9D"', contentType: 'text/csv', contentLength: 17555, blobType: 'BlockBlob',
  }, account, sequencer.next());
  const deleted = blobDeletedEvent({
    api: 'DeleteBlob', container: 'input', blobName: 'batch/rows.csv', url: 'http://127.0.0.1:1/devstoreaccount1/input/batch/rows.csv',
    requestId: '3626e710-c01e-005c-794a-920056000000', eTag: '0x8D96061B33FE1D2', contentType: 'text/csv', contentLength: 17555, blobType: 'BlockBlob',
  }, account, sequencer.next());

  it('raises BlobCreated events that validate and carry exactly the documented fields', () => {
    expectValid(publishApi('EventGridEvent'), created);
    expectValid(storageApi('StorageBlobCreatedEventData'), created.data);
    expect(shapeOf(created as unknown as Json)).toEqual(shapeOf(examples.createdEventGrid));
    expect(shapeOf(created.data as Json)).toEqual(shapeOf(examples.createdEventGrid.data as Json));
    expect(created.subject).toBe('/blobServices/default/containers/input/blobs/batch/rows.csv');
    expect((created.data as Json).eTag).toBe('0x8D96060BDA19D9D');
    expect((created.data as Json).sequencer).toMatch(/^[0-9a-f]{48}$/);
  });

  it('converts BlobCreated to CloudEvents with exactly the attributes of the documented CloudEvents example', () => {
    const cloud = toCloudEvent(created);
    expectValid(publishApi('CloudEventEvent'), cloud);
    expect(shapeOf(cloud as Json)).toEqual(shapeOf(examples.createdCloud));
    expect(cloud.source).toBe(account);
  });

  it('raises BlobDeleted events with the fields of the documented example', () => {
    expectValid(publishApi('EventGridEvent'), deleted);
    expectValid(storageApi('StorageBlobDeletedEventData'), deleted.data);
    expect(shapeOf(deleted as unknown as Json)).toEqual(shapeOf(examples.deletedEventGrid));
    expect(shapeOf(deleted.data as Json)).toEqual(shapeOf(examples.deletedEventGrid.data as Json));
    expect(shapeOf(toCloudEvent(deleted) as Json)).toEqual(shapeOf(examples.deletedCloud));
  });

  it('keeps sequencers increasing for successive changes to a blob', () => {
    expect((created.data as Json).sequencer as string < ((deleted.data as Json).sequencer as string)).toBe(true);
  });
});

describe('Microsoft.MachineLearningServices system event contract', () => {
  const cases = [
    ['model_registered', 'MachineLearningServicesModelRegisteredEventData'],
    ['run_completed', 'MachineLearningServicesRunCompletedEventData'],
    ['run_status_changed', 'MachineLearningServicesRunStatusChangedEventData'],
  ] as const;

  it.each(cases)('validates the %s examples in both delivery schemas', (file, definition) => {
    const eventGrid = readJson(path.join(ML, `examples/event-grid-schema/${file}.json`));
    const cloud = readJson(path.join(ML, `examples/cloud-events-schema/${file}.json`));
    expectValid(publishApi('EventGridEvent'), eventGrid);
    expectValid(publishApi('CloudEventEvent'), cloud);
    expectValid(mlApi(definition), eventGrid.data);
    expectValid(mlApi(definition), cloud.data);
  });

  it.each(cases)('stamps %s workspace events into the documented envelope in both delivery schemas', (file) => {
    const example = readJson<Json & { eventType: string; subject: string; data: unknown; topic: string }>(path.join(ML, `examples/event-grid-schema/${file}.json`));
    const cloudExample = readJson(path.join(ML, `examples/cloud-events-schema/${file}.json`));
    const stamped = stampSystemEvent({ eventType: example.eventType, subject: example.subject, data: example.data }, example.topic, 'id-1', '2024-01-01T00:00:00.0000000Z');
    expectValid(publishApi('EventGridEvent'), stamped);
    expect(shapeOf(stamped as unknown as Json)).toEqual(shapeOf(example));
    expect(shapeOf(toCloudEvent(stamped) as Json)).toEqual(shapeOf(cloudExample));
    expect(toCloudEvent(stamped).source).toBe(example.topic);
  });
});

describe('Subscription validation event contract', () => {
  it('sends a SubscriptionValidationEvent that is a valid Event Grid event with validationCode and validationUrl', () => {
    const event = subscriptionValidationEvent({
      subscriptionName: 'sub', endpointUrl: 'http://127.0.0.1:1/api', deliverySchema: 'EventGridSchema', topicResourceId: testTopic.resourceId,
      validationUrlBase: 'https://127.0.0.1:2/eventsubscriptions/sub/validate', timeoutInMs: 1000,
    }, 'ABC-123');
    expectValid(publishApi('EventGridEvent'), event);
    expect(event).toMatchObject({ eventType: 'Microsoft.EventGrid.SubscriptionValidationEvent', subject: '', dataVersion: '2', metadataVersion: '1' });
    expect(event.data).toEqual({ validationCode: 'ABC-123', validationUrl: expect.stringMatching(/^https:\/\/127\.0\.0\.1:2\/eventsubscriptions\/sub\/validate\?id=ABC-123&/) });
  });
});
