// The acceptance path end to end: a blob uploaded through the storage proxy with the real
// @azure/storage-blob client becomes exactly one BlobCreated, delivered by the Event Grid emulator to the
// Event Grid trigger of a fixture app running on the local Functions host (built CLI, child process),
// both as an Azure Function destination and as a validated webhook to the trigger's URL; a blob under a
// filtered-out prefix reaches no function.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { BlobServiceClient, ContainerClient } from '@azure/storage-blob';
import { startHostProcess, HostProcess } from '@batchpilot/local-host';
import { PACKAGE_ROOT } from '../support/packageRoot';
import { startTestEventGrid, TestEventGrid } from '../../src/testing/testEventGrid';
import { uniqueName, waitUntil } from '@batchpilot/local-platform';

const APP = path.join(PACKAGE_ROOT, 'test', 'fixtures', 'event-receiver');

interface ReceivedEvent {
  id: string;
  subject: string;
  eventType?: string;
  type?: string;
  data: { api: string; url: string; contentLength: number };
}

let host: HostProcess;
let env: TestEventGrid;
let container: ContainerClient;
let containerName: string;

beforeAll(async () => {
  host = await startHostProcess({ appDir: APP, dataDir: fs.mkdtempSync(path.join(os.tmpdir(), 'batchpilot-eg-host-')) });
  env = await startTestEventGrid();
  env.eventGrid.setFunctionsHost({ baseUrl: host.url, eventGridSystemKey: host.keys.systemKeys.eventgrid_extension });
  containerName = uniqueName('eghost');
  container = BlobServiceClient.fromConnectionString(env.eventGrid.blobProxyConnectionString).getContainerClient(containerName);
  await container.create();
});

afterAll(async () => {
  await env?.stop();
  await host?.kill();
});

async function receivedByFunction(): Promise<ReceivedEvent[]> {
  const res = await fetch(`${host.url}/api/received`);
  return ((await res.json()) as { events: ReceivedEvent[] }).events;
}

const subjectOf = (blob: string): string => `/blobServices/default/containers/${containerName}/blobs/${blob}`;

describe('Event Grid emulator with the local Functions host', () => {
  it('delivers exactly one BlobCreated per upload to the fixture app\'s Event Grid trigger, and none for a filtered-out prefix', async () => {
    await env.eventGrid.addSubscription({
      name: 'to-function',
      topic: 'storage',
      destination: { endpointType: 'AzureFunction', properties: { functionName: 'onBlobEvent' } },
      filter: {
        includedEventTypes: ['Microsoft.Storage.BlobCreated'],
        subjectBeginsWith: subjectOf('incoming/'),
        advancedFilters: [{ operatorType: 'StringIn', key: 'data.api', values: ['PutBlob', 'PutBlockList', 'CopyBlob'] }],
      },
    });
    await container.getBlockBlobClient('incoming/a.csv').upload('id\n1\n', 5);
    await container.getBlockBlobClient('incoming/big.bin').uploadData(Buffer.alloc(2048, 3), { maxSingleShotSize: 512, blockSize: 512 });
    await container.getBlockBlobClient('ignored/b.csv').upload('id\n2\n', 5);
    await env.eventGrid.idle();

    const delivered = env.eventGrid.deliveries('to-function');
    expect(delivered.every((d) => d.outcome === 'Delivered')).toBe(true);
    const events = await waitUntil(async () => {
      const all = (await receivedByFunction()).filter((e) => e.subject.startsWith(subjectOf('')));
      return all.length >= 2 && all;
    }, 'the function to receive the events');
    expect(events.map((e) => [e.subject, e.data.api, e.data.contentLength]).sort()).toEqual([
      [subjectOf('incoming/a.csv'), 'PutBlob', 5],
      [subjectOf('incoming/big.bin'), 'PutBlockList', 2048],
    ]);
    const published = env.eventGrid.published('storage').map((p) => p.event.id);
    expect(events.every((e) => published.includes(e.id))).toBe(true);
  });

  it('validates a webhook subscription against the trigger\'s URL and delivers CloudEvents to it', async () => {
    const webhookUrl = `${host.url}/runtime/webhooks/eventgrid?functionName=onBlobEvent&code=${encodeURIComponent(host.keys.systemKeys.eventgrid_extension)}`;
    const info = await env.eventGrid.addSubscription({
      name: 'to-trigger-webhook',
      topic: 'storage',
      eventDeliverySchema: 'CloudEventSchemaV1_0',
      destination: { endpointType: 'WebHook', properties: { endpointUrl: webhookUrl } },
      filter: { subjectBeginsWith: subjectOf('cloud/') },
    });
    expect(info.provisioningState).toBe('Succeeded');
    await container.getBlockBlobClient('cloud/c.csv').upload('id\n3\n', 5);
    const [event] = await waitUntil(async () => {
      const found = (await receivedByFunction()).filter((e) => e.subject === subjectOf('cloud/c.csv'));
      return found.length > 0 && found;
    }, 'the CloudEvent at the trigger');
    expect(event.type).toBe('Microsoft.Storage.BlobCreated');
    expect(event.data.api).toBe('PutBlob');
  });
});
