// The storage account's system topic: blobs written through the proxy with the real @azure/storage-blob
// client raise exactly the BlobCreated / BlobDeleted events Azure would (one per committing operation,
// with Azure's data fields), and subscriptions deliver only what their filters let through.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BlobServiceClient, ContainerClient } from '@azure/storage-blob';
import { startTestEventGrid, TestEventGrid } from '../../src/testing/testEventGrid';
import { startWebhookReceiver, WebhookReceiver } from '../../src/webhookReceiver';
import { uniqueName, waitUntil } from '@batchpilot/local-platform';
import { CONTRACTS_DIR } from '../support/contractsDir';

interface StorageEvent {
  id: string;
  topic: string;
  subject: string;
  eventType: string;
  eventTime: string;
  dataVersion: string;
  metadataVersion: string;
  data: {
    api: string;
    clientRequestId?: string;
    requestId: string;
    eTag: string;
    contentType: string;
    contentLength: number;
    blobType: string;
    url: string;
    sequencer: string;
    storageDiagnostics: Record<string, unknown>;
  };
}

const DOCUMENTED_BLOB_CREATED = JSON.parse(fs.readFileSync(
  path.join(CONTRACTS_DIR, 'eventgrid/Microsoft.Storage/stable/2018-01-01/examples/event-grid-schema/blob_created.json'), 'utf8',
)) as Record<string, unknown> & { data: Record<string, unknown> };

/** Key → JSON type: "the same event" means the same fields holding the same kinds of values. */
function shapeOf(value: object): Record<string, string> {
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, v === null ? 'null' : typeof v]));
}

let env: TestEventGrid;
let receiver: WebhookReceiver;
let container: ContainerClient;
let containerName: string;

const subjectPrefix = (): string => `/blobServices/default/containers/${containerName}/blobs/`;

beforeAll(async () => {
  env = await startTestEventGrid();
  receiver = await startWebhookReceiver();
  containerName = uniqueName('egstorage');
  container = BlobServiceClient.fromConnectionString(env.eventGrid.blobProxyConnectionString).getContainerClient(containerName);
  await container.create();
  await env.eventGrid.addSubscription({
    name: 'blob-intake',
    topic: 'storage',
    destination: { endpointType: 'WebHook', properties: { endpointUrl: receiver.url } },
    filter: {
      includedEventTypes: ['Microsoft.Storage.BlobCreated', 'Microsoft.Storage.BlobDeleted'],
      subjectBeginsWith: `${subjectPrefix()}incoming/`,
      advancedFilters: [{ operatorType: 'StringIn', key: 'data.api', values: ['PutBlob', 'PutBlockList', 'CopyBlob', 'DeleteBlob'] }],
    },
  });
});

afterAll(async () => {
  await env?.stop();
  await receiver?.close();
});

function storageEvents(): StorageEvent[] {
  return env.eventGrid.published('storage').map((p) => p.event as unknown as StorageEvent).filter((e) => e.subject.startsWith(subjectPrefix()));
}

function eventsFor(blobName: string): StorageEvent[] {
  return storageEvents().filter((e) => e.subject === `${subjectPrefix()}${blobName}`);
}

function deliveredFor(blobName: string): StorageEvent[] {
  return receiver.events<StorageEvent>().filter((e) => e.subject === `${subjectPrefix()}${blobName}`);
}

describe('Event Grid emulator storage system topic', () => {
  it('raises one BlobCreated with Azure\'s fields for a single-shot upload and delivers it to the subscriber', async () => {
    const blob = container.getBlockBlobClient('incoming/single.csv');
    const content = 'id,value\n1,2\n';
    const uploaded = await blob.upload(content, content.length, { blobHTTPHeaders: { blobContentType: 'text/csv' } });
    await env.eventGrid.idle();

    const [event] = eventsFor('incoming/single.csv');
    expect(eventsFor('incoming/single.csv')).toHaveLength(1);
    expect(event).toMatchObject({
      topic: env.eventGrid.storageAccountResourceId,
      eventType: 'Microsoft.Storage.BlobCreated',
      dataVersion: '',
      metadataVersion: '1',
      data: {
        api: 'PutBlob',
        requestId: uploaded.requestId,
        clientRequestId: uploaded.clientRequestId,
        eTag: uploaded.etag!.replace(/"/g, ''),
        contentType: 'text/csv',
        contentLength: content.length,
        blobType: 'BlockBlob',
        url: blob.url,
      },
    });
    expect(event.data.sequencer).toMatch(/^[0-9a-f]{48}$/);
    expect(event.data.storageDiagnostics).toEqual({ batchId: expect.any(String) });
    expect(event.topic).toMatch(/\/providers\/Microsoft\.Storage\/storageAccounts\/devstoreaccount1$/);
    expect(shapeOf(event)).toEqual(shapeOf(DOCUMENTED_BLOB_CREATED));
    expect(shapeOf(event.data)).toEqual(shapeOf(DOCUMENTED_BLOB_CREATED.data));

    const [delivered] = await waitUntil(() => deliveredFor('incoming/single.csv').length === 1 && deliveredFor('incoming/single.csv'), 'the BlobCreated delivery');
    expect(delivered).toEqual(event);
  });

  it('lets a consumer read the blob through the url in the event', async () => {
    const blob = container.getBlockBlobClient('incoming/readable.txt');
    await blob.upload('hello', 5);
    await env.eventGrid.idle();
    const [event] = eventsFor('incoming/readable.txt');
    const reader = BlobServiceClient.fromConnectionString(env.eventGrid.blobProxyConnectionString)
      .getContainerClient(containerName)
      .getBlobClient('incoming/readable.txt');
    expect(reader.url).toBe(event.data.url);
    expect((await reader.downloadToBuffer()).toString()).toBe('hello');
  });

  it('raises a single PutBlockList BlobCreated for a staged block upload, and nothing for the blocks', async () => {
    const blob = container.getBlockBlobClient('incoming/staged.bin');
    const data = Buffer.alloc(3 * 1024, 1);
    await blob.uploadData(data, { maxSingleShotSize: 1024, blockSize: 1024, concurrency: 1 });
    await env.eventGrid.idle();
    const events = eventsFor('incoming/staged.bin');
    expect(events.map((e) => e.data.api)).toEqual(['PutBlockList']);
    expect(events[0].data.contentLength).toBe(3 * 1024);
    expect(events[0].data.blobType).toBe('BlockBlob');
    await waitUntil(() => deliveredFor('incoming/staged.bin').length === 1, 'the PutBlockList delivery');
  });

  it('raises a CopyBlob BlobCreated for the destination of a copy', async () => {
    const source = container.getBlockBlobClient('staging/source.csv');
    await source.upload('a,b\n', 4);
    const target = container.getBlockBlobClient('incoming/copied.csv');
    const poller = await target.beginCopyFromURL(source.url);
    await poller.pollUntilDone();
    await env.eventGrid.idle();
    const events = eventsFor('incoming/copied.csv');
    expect(events.map((e) => e.data.api)).toEqual(['CopyBlob']);
    expect(events[0].data.contentLength).toBe(4);
    await waitUntil(() => deliveredFor('incoming/copied.csv').length === 1, 'the CopyBlob delivery');
  });

  it('raises one event per commit, with increasing sequencers, when a blob is written twice', async () => {
    const blob = container.getBlockBlobClient('incoming/twice.txt');
    await blob.upload('one', 3);
    await blob.upload('second', 6);
    await env.eventGrid.idle();
    const events = eventsFor('incoming/twice.txt');
    expect(events.map((e) => e.data.contentLength)).toEqual([3, 6]);
    expect(events[0].data.sequencer < events[1].data.sequencer).toBe(true);
    expect(events[0].data.eTag).not.toBe(events[1].data.eTag);
  });

  it('raises BlobDeleted with the deleted blob\'s properties', async () => {
    const blob = container.getBlockBlobClient('incoming/doomed.json');
    await blob.upload('{}', 2, { blobHTTPHeaders: { blobContentType: 'application/json' } });
    await blob.delete();
    await env.eventGrid.idle();
    const events = eventsFor('incoming/doomed.json');
    expect(events.map((e) => e.eventType)).toEqual(['Microsoft.Storage.BlobCreated', 'Microsoft.Storage.BlobDeleted']);
    expect(events[1].data).toMatchObject({ api: 'DeleteBlob', contentType: 'application/json', blobType: 'BlockBlob' });
    await waitUntil(() => deliveredFor('incoming/doomed.json').length === 2, 'both deliveries');
  });

  it('delivers nothing for blobs outside the subscribed prefix, though the topic still records them', async () => {
    await container.getBlockBlobClient('elsewhere/ignored.csv').upload('x', 1);
    await container.getBlockBlobClient('incoming/marker.csv').upload('y', 1);
    await env.eventGrid.idle();
    await waitUntil(() => deliveredFor('incoming/marker.csv').length === 1, 'the in-prefix delivery');
    expect(eventsFor('elsewhere/ignored.csv')).toHaveLength(1);
    expect(deliveredFor('elsewhere/ignored.csv')).toHaveLength(0);
  });

  it('raises nothing for container operations, metadata changes or reads', async () => {
    const blob = container.getBlockBlobClient('incoming/quiet.txt');
    await blob.upload('q', 1);
    await env.eventGrid.idle();
    const before = storageEvents().length;
    await blob.setMetadata({ reviewed: 'yes' });
    await blob.getProperties();
    await blob.downloadToBuffer();
    for await (const item of container.listBlobsFlat()) void item;
    await env.eventGrid.idle();
    expect(storageEvents()).toHaveLength(before);
  });
});
