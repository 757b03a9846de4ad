// Run records are rewritten once their event is out (the announcement note), so the operator API can
// read one while it is being replaced: it must get one whole version, never the start of the new one
// cut at the old one's length. Against the run's Azurite, with the rewrite made between the requests of
// the read.
import { BlobClient, ContainerClient, newPipeline, RequestPolicy, RequestPolicyFactory, StorageSharedKeyCredential, WebResource } from '@azure/storage-blob';
import { readJsonBlob } from '../../src/operator/runDetails';
import { testAzurite, uniqueName } from '@batchpilot/local-platform';

const conn = (): string => testAzurite().connectionString;
const account = (): { name: string; key: string; endpoint: string } => ({
  name: /AccountName=([^;]+)/.exec(conn())![1],
  key: /AccountKey=([^;]+)/.exec(conn())![1],
  endpoint: /BlobEndpoint=([^;]+)/.exec(conn())![1].replace(/\/$/, ''),
});

async function freshContainer(): Promise<ContainerClient> {
  const a = account();
  const container = new ContainerClient(`${a.endpoint}/${uniqueName('records')}`, newPipeline(new StorageSharedKeyCredential(a.name, a.key)));
  await container.create();
  return container;
}

/** A client for one blob that runs `between()` before it sends its first GET (after any HEAD). */
function racingBlob(url: string, between: () => Promise<void>, requests: string[]): BlobClient {
  const a = account();
  const pipeline = newPipeline(new StorageSharedKeyCredential(a.name, a.key));
  let first = true;
  const racing: RequestPolicyFactory = {
    create: (next: RequestPolicy): RequestPolicy => ({
      sendRequest: async (request: WebResource) => {
        requests.push(`${request.method}${request.headers.get('x-ms-range') ? ` ${request.headers.get('x-ms-range')}` : ''}`);
        if (first && request.method === 'GET') {
          first = false;
          await between();
        }
        return next.sendRequest(request);
      },
    }),
  };
  pipeline.factories.unshift(racing);
  return new BlobClient(url, pipeline);
}

describe('reading a run record while it is rewritten', () => {
  it('returns one whole version of the record, not the new one cut at the old length', async () => {
    const writer = (await freshContainer()).getBlobClient('alpha/bp-alpha-1.json');
    const pending = JSON.stringify({ runId: 'bp-alpha-1', outcome: 'Completed', announcement: { state: 'pending' } }, null, 2);
    const sent = JSON.stringify({ runId: 'bp-alpha-1', outcome: 'Completed', announcement: { state: 'sent', eventId: 'bp-alpha-1:Ops.Run.Completed', sentAt: '2026-01-01T00:00:00.000Z', attempts: 1 } }, null, 2);
    await writer.getBlockBlobClient().upload(pending, Buffer.byteLength(pending));
    const requests: string[] = [];
    const reader = racingBlob(writer.url, async () => {
      await writer.getBlockBlobClient().upload(sent, Buffer.byteLength(sent));
    }, requests);

    const read = await readJsonBlob(reader);

    expect(read.readError).toBeUndefined();
    expect([JSON.parse(pending), JSON.parse(sent)]).toContainEqual(read.content);
    // One GET: a blob read in one request is one version of it.
    expect(requests).toEqual(['GET']);
  });

  it('refuses a document larger than the limit without reading it whole, and says a missing one does not exist', async () => {
    const container = await freshContainer();
    const big = container.getBlobClient('big.json');
    const body = JSON.stringify({ rows: 'x'.repeat(600 * 1024) });
    await big.getBlockBlobClient().upload(body, Buffer.byteLength(body));
    expect((await readJsonBlob(big)).readError).toMatch(/is \d+ bytes; open it from storage/);
    const missing = container.getBlobClient('missing.json');
    expect(await readJsonBlob(missing)).toEqual({ readError: 'The document does not exist (yet).' });
  });
});
