// The arrivals ledger on a flaky network: a write Table storage carried out but whose answer was lost
// is retried by the SDK and meets its own result (the rows already moved, the state already advanced).
// Closing a batch must still succeed with the same files, once. A loopback proxy in front of Azurite
// loses exactly the answers a test picks.
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { testAzurite, uniqueName } from '@batchpilot/local-platform';

let proxy: http.Server;
let loseAnswerOf: ((req: http.IncomingMessage, body: string) => boolean) | undefined;
let lost = 0;

beforeAll(async () => {
  const azurite = testAzurite();
  proxy = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const lose = loseAnswerOf?.(req, body.toString('utf8')) === true;
      if (lose) loseAnswerOf = undefined;
      const upstream = http.request({ host: '127.0.0.1', port: azurite.tablePort, method: req.method, path: req.url, headers: req.headers, agent: false }, (up) => {
        if (lose) {
          lost += 1;
          up.resume();
          up.on('end', () => req.socket.destroy());
          return;
        }
        res.writeHead(up.statusCode ?? 502, up.rawHeaders);
        up.pipe(res);
      });
      upstream.end(body);
    });
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  const { port } = proxy.address() as AddressInfo;
  // The ledger reads its table from AzureWebJobsStorage on first use: point it at the proxy.
  process.env.AzureWebJobsStorage = azurite.connectionString.replace(`TableEndpoint=http://127.0.0.1:${azurite.tablePort}/`, `TableEndpoint=http://127.0.0.1:${port}/`);
});

afterAll(async () => {
  proxy.closeAllConnections();
  await new Promise<void>((resolve) => proxy.close(() => resolve()));
});

async function ledger(): Promise<typeof import('../../src/azure/arrivalLedger')> {
  return import('../../src/azure/arrivalLedger');
}

async function twoArrivals(route: string, partition: string): Promise<void> {
  const { recordArrival } = await ledger();
  for (const name of ['a.csv', 'b.csv']) {
    await recordArrival(route, partition, `${partition}-${name}`, { url: `http://127.0.0.1:1/devstoreaccount1/input/${partition}/${name}`, blobPath: `${partition}/${name}`, eTag: '"0x1"', role: 'input', arrivedAt: new Date().toISOString(), eventId: name });
  }
}

describe('closing a batch when Table storage answers are lost', () => {
  it('takes the files once when the answer to the transaction that moved them is lost', async () => {
    const { closeBatch, readOpenPartition } = await ledger();
    const route = uniqueName('r');
    await twoArrivals(route, 'day1');
    const before = lost;
    loseAnswerOf = (req) => req.method === 'POST' && (req.url ?? '').includes('$batch');
    const taken = await closeBatch(route, 'day1', 1, `${route}-b1`);
    expect(lost).toBe(before + 1);
    expect(taken.map((t) => t.blobPath).sort()).toEqual(['day1/a.csv', 'day1/b.csv']);
    const open = await readOpenPartition(route, 'day1');
    expect(open).toMatchObject({ inputs: [], nextBatchNumber: 2 });
  });

  it('closes the first batch when the answer to the state row it creates is lost', async () => {
    const { closeBatch, readOpenPartition } = await ledger();
    const route = uniqueName('r');
    await twoArrivals(route, 'day3');
    const before = lost;
    loseAnswerOf = (req, body) => req.method === 'POST' && !(req.url ?? '').includes('$batch') && body.includes('"RowKey":"state"');
    const taken = await closeBatch(route, 'day3', 1, `${route}-b1`);
    expect(lost).toBe(before + 1);
    expect(taken.map((t) => t.blobPath).sort()).toEqual(['day3/a.csv', 'day3/b.csv']);
    expect(await readOpenPartition(route, 'day3')).toMatchObject({ inputs: [], nextBatchNumber: 2 });
  });

  it('closes the batch when the answer to the state update is lost', async () => {
    const { closeBatch, readOpenPartition } = await ledger();
    const route = uniqueName('r');
    await twoArrivals(route, 'day2');
    // First batch of the partition: the state row is created (POST to the table); later ones replace it (PUT).
    await closeBatch(route, 'day2', 1, `${route}-b1`);
    await twoArrivals(route, 'day2b');
    const { recordArrival } = await ledger();
    await recordArrival(route, 'day2', 'late-c', { url: 'http://127.0.0.1:1/devstoreaccount1/input/day2/c.csv', blobPath: 'day2/c.csv', eTag: '"0x1"', role: 'input', arrivedAt: new Date().toISOString(), eventId: 'c' });
    const before = lost;
    loseAnswerOf = (req) => req.method === 'PUT' && decodeURIComponent(req.url ?? '').includes("RowKey='state'");
    const taken = await closeBatch(route, 'day2', 2, `${route}-b2`);
    expect(lost).toBe(before + 1);
    expect(taken.map((t) => t.blobPath)).toEqual(['day2/c.csv']);
    expect(await readOpenPartition(route, 'day2')).toMatchObject({ inputs: [], nextBatchNumber: 3 });
  });
});
