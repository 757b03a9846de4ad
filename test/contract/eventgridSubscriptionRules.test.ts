// Event Grid's documented subscription rules as the emulator applies them, on the contract's own
// BlobCreated example: event-type and subject filters, advanced filters (operators, missing keys,
// arrays, case), which delivery failures are retried, the retry schedule, and the subscriptions file.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { subscriptionFilterMatches, SubscriptionFilter, toCloudEvent, DOCUMENTED_RETRY_SCHEDULE_IN_MS, deadLetterReasonFor, deliveryOutcomeName, retryDelayInMs, verdictFor, destinationFunctionName, loadEventGridLocalConfig, parseEventGridLocalConfig } from '@batchpilot/eventgrid-emulator';
import type { EventGridEvent, StoredEvent } from '@batchpilot/eventgrid-emulator';
import { CONTRACTS_DIR } from '../support/contractsDir';

const example = JSON.parse(fs.readFileSync(
  path.join(CONTRACTS_DIR, 'eventgrid/Microsoft.Storage/stable/2018-01-01/examples/event-grid-schema/blob_created.json'), 'utf8',
)) as EventGridEvent;
const blobCreated: StoredEvent = { schema: 'EventGridSchema', event: example };
const asCloudEvent: StoredEvent = { schema: 'CloudEventSchemaV1_0', event: toCloudEvent(example) };

const matches = (filter: SubscriptionFilter, event: StoredEvent = blobCreated): boolean => subscriptionFilterMatches(filter, event);

describe('Event Grid subscription filters', () => {
  it('matches included event types without regard to case', () => {
    expect(matches({ includedEventTypes: ['microsoft.storage.blobcreated'] })).toBe(true);
    expect(matches({ includedEventTypes: ['Microsoft.Storage.BlobDeleted'] })).toBe(false);
    expect(matches({ includedEventTypes: null })).toBe(true);
  });

  it('matches subject prefixes and suffixes case-insensitively unless told otherwise', () => {
    expect(matches({ subjectBeginsWith: '/blobServices/default/containers/GAOCONTAINER/' })).toBe(true);
    expect(matches({ subjectBeginsWith: '/blobServices/default/containers/GAOCONTAINER/', isSubjectCaseSensitive: true })).toBe(false);
    expect(matches({ subjectEndsWith: '.XLSX' })).toBe(true);
    expect(matches({ subjectEndsWith: '.csv' })).toBe(false);
  });

  it('filters on data.api with StringIn, StringNotIn and StringBeginsWith', () => {
    expect(matches({ advancedFilters: [{ operatorType: 'StringIn', key: 'data.api', values: ['PutBlob', 'PutBlockList'] }] })).toBe(true);
    expect(matches({ advancedFilters: [{ operatorType: 'StringIn', key: 'data.api', values: ['CopyBlob'] }] })).toBe(false);
    expect(matches({ advancedFilters: [{ operatorType: 'StringNotIn', key: 'data.api', values: ['putblob'] }] })).toBe(false);
    expect(matches({ advancedFilters: [{ operatorType: 'StringBeginsWith', key: 'data.url', values: ['https://jolovstorage.blob.core.windows.net/gao'] }] })).toBe(true);
  });

  it('lets a missing key fail positive operators but satisfy Not operators and IsNullOrUndefined', () => {
    expect(matches({ advancedFilters: [{ operatorType: 'StringIn', key: 'data.nothing', values: ['x'] }] })).toBe(false);
    expect(matches({ advancedFilters: [{ operatorType: 'StringNotIn', key: 'data.nothing', values: ['x'] }] })).toBe(true);
    expect(matches({ advancedFilters: [{ operatorType: 'IsNullOrUndefined', key: 'data.nothing' }] })).toBe(true);
    expect(matches({ advancedFilters: [{ operatorType: 'IsNotNull', key: 'data.api' }] })).toBe(true);
  });

  it('compares numbers and booleans by value', () => {
    expect(matches({ advancedFilters: [{ operatorType: 'NumberGreaterThan', key: 'data.contentLength', value: 1000 }] })).toBe(true);
    expect(matches({ advancedFilters: [{ operatorType: 'NumberLessThanOrEquals', key: 'data.contentLength', value: 17554 }] })).toBe(false);
    expect(matches({ advancedFilters: [{ operatorType: 'NumberInRange', key: 'data.contentLength', values: [[0, 20000]] }] })).toBe(true);
    expect(matches({ advancedFilters: [{ operatorType: 'NumberIn', key: 'data.contentLength', values: [17555] }] })).toBe(true);
    expect(matches({ advancedFilters: [{ operatorType: 'BoolEquals', key: 'data.api', value: true }] })).toBe(false);
  });

  it('looks inside arrays only when advanced filtering on arrays is enabled', () => {
    const tagged: StoredEvent = { schema: 'EventGridSchema', event: { ...example, data: { ...(example.data as object), tags: ['gold', 'daily'] } } };
    const filter = { operatorType: 'StringIn' as const, key: 'data.tags', values: ['daily'] };
    expect(matches({ advancedFilters: [filter] }, tagged)).toBe(false);
    expect(matches({ advancedFilters: [filter], enableAdvancedFilteringOnArrays: true }, tagged)).toBe(true);
  });

  it('requires every condition to hold', () => {
    expect(matches({
      includedEventTypes: ['Microsoft.Storage.BlobCreated'],
      subjectBeginsWith: '/blobServices/default/containers/gaocontainer/',
      advancedFilters: [{ operatorType: 'StringIn', key: 'data.api', values: ['PutBlob'] }, { operatorType: 'StringContains', key: 'data.contentType', values: ['spreadsheet'] }],
    })).toBe(true);
    expect(matches({
      includedEventTypes: ['Microsoft.Storage.BlobCreated'],
      advancedFilters: [{ operatorType: 'StringIn', key: 'data.api', values: ['PutBlob'] }, { operatorType: 'StringContains', key: 'data.contentType', values: ['csv'] }],
    })).toBe(false);
  });

  it('reads CloudEvents attributes by their CloudEvents names', () => {
    expect(matches({ includedEventTypes: ['Microsoft.Storage.BlobCreated'], advancedFilters: [{ operatorType: 'StringEndsWith', key: 'source', values: ['/jolovstorage'] }] }, asCloudEvent)).toBe(true);
    expect(matches({ advancedFilters: [{ operatorType: 'StringIn', key: 'type', values: ['Microsoft.Storage.BlobCreated'] }] }, asCloudEvent)).toBe(true);
  });
});

describe('Event Grid delivery rules', () => {
  it('follows the documented retry schedule, repeating its last step', () => {
    expect(DOCUMENTED_RETRY_SCHEDULE_IN_MS.slice(0, 7)).toEqual([10_000, 30_000, 60_000, 300_000, 600_000, 1_800_000, 3_600_000]);
    expect(retryDelayInMs(DOCUMENTED_RETRY_SCHEDULE_IN_MS, 1)).toBe(10_000);
    expect(retryDelayInMs(DOCUMENTED_RETRY_SCHEDULE_IN_MS, 29)).toBe(43_200_000);
  });

  it('dead-letters webhook answers 400, 401, 403 and 413 at once and retries the rest', () => {
    for (const status of [400, 401, 403, 413]) expect(verdictFor({ kind: 'response', status }, 'WebHook')).toBe('deadLetter');
    for (const status of [404, 408, 429, 500, 503]) expect(verdictFor({ kind: 'response', status }, 'WebHook')).toBe('retry');
    expect(verdictFor({ kind: 'response', status: 401 }, 'AzureFunction')).toBe('retry');
    expect(verdictFor({ kind: 'timeout' }, 'WebHook')).toBe('retry');
    expect(verdictFor({ kind: 'networkError', message: 'ECONNREFUSED' }, 'WebHook')).toBe('retry');
    for (const status of [200, 201, 202, 203, 204]) expect(verdictFor({ kind: 'response', status }, 'WebHook')).toBe('delivered');
  });

  it('names outcomes and dead-letter reasons as Event Grid writes them', () => {
    expect(deliveryOutcomeName({ kind: 'response', status: 400 })).toBe('BadRequest');
    expect(deliveryOutcomeName({ kind: 'response', status: 408 })).toBe('TimedOut');
    expect(deliveryOutcomeName({ kind: 'response', status: 404 })).toBe('NotFound');
    expect(deadLetterReasonFor({ kind: 'response', status: 400 }, 'final')).toBe('UndeliverableDueToHttpBadRequest');
    expect(deadLetterReasonFor({ kind: 'response', status: 503 }, 'attempts')).toBe('MaxDeliveryAttemptsExceeded');
    expect(deadLetterReasonFor({ kind: 'timeout' }, 'ttl')).toBe('TimeToLiveExceeded');
  });
});

describe('Event Grid local subscriptions file', () => {
  it('reads the sample file with ARM property names', () => {
    const config = loadEventGridLocalConfig(path.resolve(__dirname, '../fixtures/eventgrid/subscriptions.json'));
    expect(config.topics).toEqual([{ name: 'batchpilot-runs', inputSchema: 'CloudEventSchemaV1_0' }]);
    const [blobIntake] = config.subscriptions;
    expect(blobIntake.destination.endpointType).toBe('AzureFunction');
    expect(destinationFunctionName(blobIntake.destination.properties as { resourceId?: string })).toBe('blobIntake');
    expect(blobIntake.filter?.advancedFilters?.[0]).toEqual({ operatorType: 'StringIn', key: 'data.api', values: ['PutBlob', 'PutBlockList', 'CopyBlob'] });
  });

  it('reads the declarations infra/ deploys, so the local host gets the same subscriptions as Azure', () => {
    const config = loadEventGridLocalConfig(path.resolve(__dirname, '../../infra/eventSubscriptions.json'));
    expect(config.subscriptions.length).toBeGreaterThan(0);
    for (const s of config.subscriptions) {
      expect(['storage', 'workspace', ...config.topics.map((t) => t.name)]).toContain(s.topic);
      if (s.destination.endpointType === 'AzureFunction') expect(destinationFunctionName(s.destination.properties)).toMatch(/^\w+$/);
    }
  });

  it('says which entry is wrong and why', () => {
    expect(() => parseEventGridLocalConfig({
      subscriptions: [{ name: 'ok-name', topic: 'storage', destination: { endpointType: 'WebHook', properties: { endpointUrl: 'https://x.test/' } },
        filter: { advancedFilters: [{ operatorType: 'StringLike', key: 'data.api', values: ['x'] }] } }],
    })).toThrow(/subscriptions\.0\.filter\.advancedFilters\.0/);
    expect(() => parseEventGridLocalConfig({
      subscriptions: [{ name: 'ok-name', topic: 'storage', destination: { endpointType: 'AzureFunction', properties: { resourceId: '/sites/app' } } }],
    })).toThrow(/functionName/);
    expect(() => parseEventGridLocalConfig({
      subscriptions: [{ name: 'ok-name', topic: 'storage', destination: { endpointType: 'WebHook', properties: { endpointUrl: 'https://x.test/' } }, retryPolicy: { maxDeliveryAttempts: 31 } }],
    })).toThrow(/retryPolicy\.maxDeliveryAttempts/);
  });
});
