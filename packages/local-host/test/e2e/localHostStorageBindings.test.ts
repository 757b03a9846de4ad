// The local host serves the Storage bindings Azurite can back, for an unmodified v4-model app: queue
// output and trigger (base64, retries, poison queue), table input and output, blob output (binding
// expressions from the trigger payload, {rand-guid}, {DateTime}) and blob trigger (once per blob version,
// with receipts), a blob output from a durable activity; and it says so, at startup and on each call,
// when an app uses bindings it cannot serve.
import * as path from 'node:path';
import { TableClient } from '@azure/data-tables';
import { BlobServiceClient } from '@azure/storage-blob';
import { QueueServiceClient } from '@azure/storage-queue';
import { startHostProcess, HostProcess, HostLogLine } from '../../src/host/localHostProcess';
import { PACKAGE_ROOT } from '../support/packageRoot';
import { testAzurite, uniqueName, waitUntil } from '@batchpilot/local-platform';

const APP = path.join(PACKAGE_ROOT, 'test', 'fixtures', 'storage-bindings');
const hub = uniqueName('bindings');
const connectionString = testAzurite().connectionString;
const blobs = BlobServiceClient.fromConnectionString(connectionString);
const queues = QueueServiceClient.fromConnectionString(connectionString);

let host: HostProcess;

const base64 = (text: string): string => Buffer.from(text, 'utf8').toString('base64');

async function blobText(container: string, name: string): Promise<string | undefined> {
  try {
    return (await blobs.getContainerClient(container).getBlobClient(name).downloadToBuffer()).toString('utf8');
  } catch (err) {
    if ((err as { statusCode?: number }).statusCode === 404) return undefined;
    throw err;
  }
}

/** Every message in a queue, decoded, without taking them off it. */
async function peekAll(queueName: string): Promise<string[]> {
  try {
    const items = (await queues.getQueueClient(queueName).peekMessages({ numberOfMessages: 32 })).peekedMessageItems;
    return items.map((m) => Buffer.from(m.messageText, 'base64').toString('utf8'));
  } catch (err) {
    if ((err as { statusCode?: number }).statusCode === 404) return [];
    throw err;
  }
}

function logged(predicate: (l: HostLogLine) => boolean): HostLogLine[] {
  return host.logs.filter(predicate);
}

beforeAll(async () => {
  const products = TableClient.fromConnectionString(connectionString, 'Products', { allowInsecureConnection: true });
  await products.createTable();
  await products.createEntity({ partitionKey: 'catalog', rowKey: 'widget', name: 'Widget', price: 2.5 });
  await products.createEntity({ partitionKey: 'catalog', rowKey: 'gadget', name: 'Gadget', price: 10 });
  host = await startHostProcess({
    appDir: APP,
    dataDir: path.join(PACKAGE_ROOT, 'test', 'artifacts', hub, 'host'),
    env: { AzureWebJobsStorage: connectionString, OrdersStorage: connectionString, DURABLE_TEST_HUB: hub },
  });
});

afterAll(async () => {
  await host?.kill();
});

describe('bindings the host cannot serve', () => {
  it('names each function and binding at startup', () => {
    const warnings = logged((l) => l.level === 'warning' && l.functionName === 'notifyCustomer').map((l) => l.message);
    expect(warnings).toEqual(expect.arrayContaining([expect.stringMatching(/output binding '.+' \(twilioSms\) cannot be served/), expect.stringMatching(/output binding '.+' \(sendGrid\) cannot be served/)]));
    const audit = logged((l) => l.functionName === 'recordAudit').map((l) => l.message);
    expect(audit).toEqual(expect.arrayContaining([expect.stringMatching(/'AuditStorage' is not configured: set the app setting 'AuditStorage'.*'AuditStorage__tableServiceUri'/)]));
  });

  it('warns on every call that sets one, and only for what was set', async () => {
    const before = logged((l) => /NOT delivered/.test(l.message)).length;
    const res = await fetch(`${host.url}/api/notify`, { method: 'POST', body: JSON.stringify({ phone: '+15551234567' }) });
    expect(res.status).toBe(200);
    const line = await host.waitForLog((l) => /NOT delivered/.test(l.message) && l.functionName === 'notifyCustomer' && logged((x) => /NOT delivered/.test(x.message)).length > before);
    expect(line.level).toBe('warning');
    expect(line.message).toMatch(/\(twilioSms\) was NOT delivered/);
    expect(logged((l) => /NOT delivered/.test(l.message)).length).toBe(before + 1);

    await fetch(`${host.url}/api/notify`, { method: 'POST', body: JSON.stringify({ phone: '+15551234567', email: 'ada@contoso.test' }) });
    await waitUntil(() => logged((l) => /\(sendGrid\) was NOT delivered/.test(l.message)).length === 1, 'the SendGrid warning');
  });

  it('fails a call whose output connection is not configured, saying which setting is missing', async () => {
    const res = await fetch(`${host.url}/api/audit`, { method: 'POST', body: 'checked' });
    expect(res.status).toBe(500);
    const line = await host.waitForLog((l) => l.functionName === 'recordAudit' && /Writing output binding/.test(l.message));
    expect(line.message).toMatch(/'AuditStorage' is not configured/);
  });
});

describe('queues, tables and blobs', () => {
  it('queues an order from HTTP, prices it from the table input, writes the receipt blob and the order row', async () => {
    const res = await fetch(`${host.url}/api/orders`, { method: 'POST', body: JSON.stringify({ orderId: 'o-1', sku: 'widget', quantity: 4, customer: 'contoso' }) });
    expect(res.status).toBe(202);
    const receipt = JSON.parse(await waitUntil(() => blobText('receipts', 'o-1.json'), 'the receipt of o-1')) as Record<string, unknown>;
    expect(receipt).toMatchObject({ orderId: 'o-1', product: 'Widget', quantity: 4, total: 10 });
    expect(typeof receipt.messageId).toBe('string');
    const orders = TableClient.fromConnectionString(connectionString, 'Orders', { allowInsecureConnection: true });
    expect(await orders.getEntity('contoso', 'o-1')).toMatchObject({ sku: 'widget', total: 10 });
  });

  it('takes base64 messages from other producers, as the extension expects by default', async () => {
    await queues.getQueueClient('orders').sendMessage(base64(JSON.stringify({ orderId: 'o-2', sku: 'gadget', quantity: 1, customer: 'fabrikam' })));
    const receipt = JSON.parse(await waitUntil(() => blobText('receipts', 'o-2.json'), 'the receipt of o-2')) as Record<string, unknown>;
    expect(receipt).toMatchObject({ product: 'Gadget', total: 10 });
  });

  it('retries a failing message maxDequeueCount times, then moves it to the poison queue as it was', async () => {
    const original = base64(JSON.stringify({ orderId: 'o-bad', sku: 'widget', quantity: 1, customer: 'contoso', fail: true }));
    await queues.getQueueClient('orders').sendMessage(original);
    const poisoned = await waitUntil(async () => (await peekAll('orders-poison')).find((m) => m.includes('o-bad')), 'o-bad in orders-poison', 30_000);
    expect(JSON.parse(poisoned)).toMatchObject({ orderId: 'o-bad' });
    // The host logs the move once the poison queue has the message: its line may come just after.
    await waitUntil(() => logged((l) => l.functionName === 'processOrder' && /to 'orders-poison'/.test(l.message)).length > 0, 'the log line of the move to orders-poison');
    const attempts = logged((l) => l.functionName === 'processOrder' && /Failed on message/.test(l.message) && /o-bad cannot be processed/.test(l.message));
    expect(attempts.map((l) => l.message.match(/attempt (\d) of 2/)?.[1])).toEqual(['1', '2']);
    expect(logged((l) => l.functionName === 'processOrder' && /to 'orders-poison'/.test(l.message))).toHaveLength(1);
  });

  it('moves a message that is not base64 to the poison queue with the reason', async () => {
    await queues.getQueueClient('orders').sendMessage('{"orderId":"o-raw"}');
    const line = await host.waitForLog((l) => l.functionName === 'processOrder' && /to 'orders-poison'.*not base64/.test(l.message), 30_000);
    expect(line.level).toBe('error');
    const raw = await waitUntil(async () => {
      const items = (await queues.getQueueClient('orders-poison').peekMessages({ numberOfMessages: 32 })).peekedMessageItems;
      return items.find((m) => m.messageText === '{"orderId":"o-raw"}');
    }, 'the raw message in orders-poison');
    expect(raw.messageText).toBe('{"orderId":"o-raw"}');
  });

  it('runs the blob trigger once per blob version, with receipts, and writes its return value to a queue', async () => {
    const summaries = async (): Promise<Array<{ receipt: string; path: string; total: number }>> => (await peekAll('receipt-summaries')).map((m) => JSON.parse(m) as { receipt: string; path: string; total: number });
    await waitUntil(async () => (await summaries()).some((s) => s.receipt === 'o-1') && (await summaries()).some((s) => s.receipt === 'o-2'), 'summaries of o-1 and o-2', 30_000);
    // A blob written now is found by a later scan, which lists o-1 and o-2 again: they must not trigger again.
    await blobs.getContainerClient('receipts').getBlockBlobClient('o-3.json').upload('{"total":7}', 11);
    await waitUntil(async () => (await summaries()).some((s) => s.receipt === 'o-3'), 'the summary of o-3', 30_000);
    expect((await summaries()).map((s) => s.receipt).sort()).toEqual(['o-1', 'o-2', 'o-3']);
    expect((await summaries()).find((s) => s.receipt === 'o-3')).toEqual({ receipt: 'o-3', path: 'receipts/o-3.json', total: 7, bytes: 11 });

    // A new version of o-3 is a new trigger.
    await blobs.getContainerClient('receipts').getBlockBlobClient('o-3.json').upload('{"total":8}', 11);
    await waitUntil(async () => (await summaries()).filter((s) => s.receipt === 'o-3').length === 2, 'the second summary of o-3', 30_000);
    expect((await summaries()).filter((s) => s.receipt === 'o-3').map((s) => s.total)).toEqual([7, 8]);

    const receipts: string[] = [];
    for await (const b of blobs.getContainerClient('azure-webjobs-hosts').listBlobsFlat({ prefix: 'blobreceipts/storage-bindings/Host.Functions.summarizeReceipt/' })) receipts.push(b.name);
    expect(receipts.filter((n) => n.endsWith('/receipts/o-3.json'))).toHaveLength(2);
  });

  it('resolves {rand-guid} and {DateTime:yyyy} in a blob output path', async () => {
    const res = await fetch(`${host.url}/api/notes`, { method: 'POST', body: 'remember the milk' });
    expect(res.status).toBe(201);
    const year = new Date().getUTCFullYear();
    const names: string[] = [];
    for await (const b of blobs.getContainerClient('notes').listBlobsFlat({ prefix: `${year}/` })) names.push(b.name);
    expect(names).toHaveLength(1);
    expect(names[0]).toMatch(new RegExp(`^${year}/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\\.txt$`));
    expect(await blobText('notes', names[0])).toBe('remember the milk');
  });
});

describe('durable activities', () => {
  it('writes a blob output whose path comes from the activity input ({backupPath})', async () => {
    const files = [
      { backupPath: 'site/index.html', content: '<h1>Contoso</h1>' },
      { backupPath: 'site/css/app.css', content: 'body { margin: 0 }' },
    ];
    const start = await fetch(`${host.url}/runtime/webhooks/durabletask/orchestrators/backupSiteContent`, { method: 'POST', body: JSON.stringify(files), headers: { 'x-functions-key': host.keys.systemKeys.durabletask_extension } });
    expect(start.status).toBe(202);
    const { statusQueryGetUri } = (await start.json()) as { statusQueryGetUri: string };
    const status = await waitUntil(async () => {
      const body = (await (await fetch(statusQueryGetUri)).json()) as { runtimeStatus: string; output: unknown };
      return body.runtimeStatus === 'Completed' || body.runtimeStatus === 'Failed' ? body : undefined;
    }, 'the backup orchestration', 30_000);
    expect(status).toMatchObject({ runtimeStatus: 'Completed', output: files.reduce((n, f) => n + f.content.length, 0) });
    for (const f of files) expect(await blobText('backups', f.backupPath)).toBe(f.content);
  });
});
