// Event Grid does not keep order: a folder's marker (or manifest) can reach the app before the
// BlobCreated events of files written ahead of it (shuffled or retried deliveries; found by the soak).
// The marker still closes the folder as it is: its batch takes the folder's files, and their late
// events are duplicates, not the start of a second batch that scores them again.
import { BlobServiceClient } from '@azure/storage-blob';
import { BlobRunStack } from '../support/blobRunStack';
import { generateChurnCsv } from '@batchpilot/azureml-emulator';
import { testAzurite, waitUntil } from '@batchpilot/local-platform';
import { functionKeysOf } from '../../src/local/stack/stackClients';
import { partitionCoalescerId } from '../../src/domain/instanceIds';

const MAX_WAIT_IN_SECONDS = 3;
const ROUTES = `
routes:
  - name: late-marked
    trigger: { storageAccounts: [devstoreaccount1], container: input, pathPrefix: late-marked/ }
    batching: { mode: marker, maxWaitInSeconds: ${MAX_WAIT_IN_SECONDS} }
    target: { endpoint: churn-scoring }
    wait: { pollMinIntervalInSeconds: 1, pollMaxIntervalInSeconds: 5, timeoutInMinutes: 10 }
    validation: {}
    events: { typePrefix: Test }
  - name: late-manifested
    trigger: { storageAccounts: [devstoreaccount1], container: input, pathPrefix: late-manifested/ }
    batching: { mode: marker, markerName: _manifest.json, manifest: true, maxWaitInSeconds: ${MAX_WAIT_IN_SECONDS} }
    target: { endpoint: churn-scoring }
    wait: { pollMinIntervalInSeconds: 1, pollMaxIntervalInSeconds: 5, timeoutInMinutes: 10 }
    validation: {}
    events: { typePrefix: Test }
`;

let s: BlobRunStack;
beforeAll(async () => {
  s = await BlobRunStack.start(ROUTES);
}, 120_000);
afterAll(async () => {
  await s?.stop();
});

const csv = (rows: number, seed: number): string => generateChurnCsv({ rows, seed, firstCustomerNumber: seed * 1000 });

/** Writes a blob straight to Azurite: no BlobCreated yet, as if its event were still on its way. */
async function writeWithoutEvent(blobPath: string, content: string): Promise<string> {
  const direct = BlobServiceClient.fromConnectionString(testAzurite().connectionString).getContainerClient('input');
  const response = await direct.getBlockBlobClient(blobPath).upload(content, Buffer.byteLength(content));
  return response.etag!;
}

/** Delivers the blob's BlobCreated to the app now, late, as Event Grid would. */
async function deliverLateEvent(blobPath: string, eTag: string): Promise<void> {
  const key = functionKeysOf(s.stack).systemKeys.eventgrid_extension;
  const event = {
    id: `late-${blobPath}`,
    topic: '/subscriptions/x/resourceGroups/y/providers/Microsoft.Storage/storageAccounts/devstoreaccount1',
    subject: `/blobServices/default/containers/input/blobs/${blobPath}`,
    eventType: 'Microsoft.Storage.BlobCreated',
    eventTime: new Date().toISOString(),
    dataVersion: '',
    metadataVersion: '1',
    data: { api: 'PutBlob', eTag, url: `${s.stack.eventGrid.blobProxyUrl}/input/${blobPath}`, contentLength: 10, contentType: 'text/csv', blobType: 'BlockBlob' },
  };
  const res = await fetch(`${s.stack.hostUrl}/runtime/webhooks/eventgrid?functionName=intakeStorageEvents&code=${encodeURIComponent(key)}`, {
    method: 'POST',
    headers: { 'aeg-event-type': 'Notification', 'content-type': 'application/json' },
    body: JSON.stringify([event]),
  });
  expect(res.status).toBe(202);
}

async function intakeLineFor(blobPath: string): Promise<string> {
  return waitUntil(() => s.hostLogMessages().find((m) => m.includes(`/input/${blobPath}`) && /Recorded input|Arrival already recorded/.test(m)), `the intake's line for ${blobPath}`);
}

/**
 * Once the stack is quiet, the partition's coalescer holds no pending file: nothing is left for a
 * second batch (it would be waiting on its maxWait timer, which quiesce does not wait for).
 */
async function expectNothingPending(route: string, partition: string): Promise<void> {
  await s.quiesce();
  const coalescer = await s.instance(partitionCoalescerId(route, partition));
  expect(coalescer?.customStatus).toMatchObject({ phase: 'gathering', pending: 0 });
}

describe('a marker that arrives before the events of its folder\'s files', () => {
  it('scores the files a manifest names once, in the manifest\'s batch, when their events come after it', async () => {
    const eTags = { a: await writeWithoutEvent('late-manifested/day1/a.csv', csv(3, 50)), b: await writeWithoutEvent('late-manifested/day1/b.csv', csv(4, 51)) };
    await s.upload('late-manifested/day1/_manifest.json', JSON.stringify({ files: ['a.csv', 'b.csv'] }));
    const first = await s.waitForRunEvent('/late-manifested/day1/');
    expect(first.data.inputs.map((u) => u.replace(/.*\/day1\//, '')).sort()).toEqual(['a.csv', 'b.csv']);

    await deliverLateEvent('late-manifested/day1/a.csv', eTags.a);
    await deliverLateEvent('late-manifested/day1/b.csv', eTags.b);
    expect(await intakeLineFor('late-manifested/day1/a.csv')).toMatch(/Arrival already recorded/);
    expect(await intakeLineFor('late-manifested/day1/b.csv')).toMatch(/Arrival already recorded/);
    // A second batch of these files would need them pending in the ledger, waiting for its timer.
    await expectNothingPending('late-manifested', 'late-manifested/day1');
    expect(s.eventsFor('/late-manifested/day1/')).toHaveLength(1);
  });

  it('closes the folder as it is when the marker lands: files whose events are late are in its one run', async () => {
    await s.upload('late-marked/day1/part-1.csv', csv(5, 52));
    await intakeLineFor('late-marked/day1/part-1.csv');
    const lateETag = await writeWithoutEvent('late-marked/day1/part-2.csv', csv(6, 53));
    await s.upload('late-marked/day1/_SUCCESS', '');
    const run = await s.waitForRunEvent('/late-marked/day1/');
    expect(run.data.inputs.map((u) => u.replace(/.*\/day1\//, '')).sort()).toEqual(['part-1.csv', 'part-2.csv']);

    await deliverLateEvent('late-marked/day1/part-2.csv', lateETag);
    expect(await intakeLineFor('late-marked/day1/part-2.csv')).toMatch(/Arrival already recorded/);
    await expectNothingPending('late-marked', 'late-marked/day1');
    expect(s.eventsFor('/late-marked/day1/')).toHaveLength(1);
  });
});
