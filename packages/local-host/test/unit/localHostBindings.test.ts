// The pure parts of the local host's Storage bindings and callHttp: binding expressions, blob trigger
// path patterns, host.json queue settings, message encoding, and when a callHttp answer leads to a poll.
import { formatDateTime, resolveBindingExpression, BindingExpressionError, payloadBindingData } from '../../src/host/bindingExpressions';
import { compileBlobPathPattern, localHostId } from '../../src/host/blobTrigger';
import { decodeQueueMessage, encodeQueueMessage, queueOptions, HostJsonError, QueueMessageDecodingError } from '../../src/host/queueMessages';
import { httpPollAfter, httpActivityInput } from '../../src/durable/durableHttp';
import { bindingProblems } from '../../src/host/bindingSupport';
import type { RegisteredFunction } from '../../src/host/contracts';

describe('binding expressions', () => {
  const env = { ARCHIVE: 'archive' } as NodeJS.ProcessEnv;

  it('fills settings, payload properties (any case, dotted) and trigger values', () => {
    const data = { ...payloadBindingData('{"backupPath":"site/a.html","order":{"id":42}}'), DequeueCount: 3 };
    expect(resolveBindingExpression('%ARCHIVE%/{BACKUPPATH}', data, env)).toBe('archive/site/a.html');
    expect(resolveBindingExpression('orders/{order.id}-{dequeueCount}.json', data, env)).toBe('orders/42-3.json');
  });

  it('makes GUIDs and UTC times in the formats the host uses', () => {
    expect(resolveBindingExpression('{rand-guid}', {}, env)).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(resolveBindingExpression('{sys.randguid:N}', {}, env)).toMatch(/^[0-9a-f]{32}$/);
    const at = new Date(Date.UTC(2024, 0, 31, 8, 5, 9, 123));
    expect(formatDateTime(at, 'yyyy-MM-ddTHH-mm-ssK')).toBe('2024-01-31T08-05-09Z');
    expect(formatDateTime(at, "yyyy/M/d 'at' H.fff")).toBe('2024/1/31 at 8.123');
    expect(resolveBindingExpression('{DateTime:yyyy}', {}, env)).toBe(String(new Date().getUTCFullYear()));
    // Binding data named DateTime wins over the system value.
    expect(resolveBindingExpression('{DateTime}', { DateTime: 'given' }, env)).toBe('given');
  });

  it('names what was available when an expression names nothing, and refuses objects', () => {
    expect(() => resolveBindingExpression('backups/{backupPath}', { filePath: 'x' }, env)).toThrow(/Unable to resolve the binding expression '\{backupPath\}'.*filePath/);
    expect(() => resolveBindingExpression('{order}', { order: { id: 1 } }, env)).toThrow(BindingExpressionError);
    expect(() => resolveBindingExpression('%MISSING%', {}, env)).toThrow(/MISSING/);
  });
});

describe('blob trigger paths', () => {
  it('matches blob names and extracts parameters, listing from the literal prefix', () => {
    const p = compileBlobPathPattern('receipts/{year}/{name}.json', 'test');
    expect(p.container).toBe('receipts');
    expect(p.prefix).toBe('');
    expect(p.match('2024/o-1.json')).toEqual({ year: '2024', name: 'o-1' });
    expect(p.match('2024/o-1.txt')).toBeUndefined();
    const fixed = compileBlobPathPattern('input/daily/{name}', 'test');
    expect(fixed.prefix).toBe('daily/');
    expect(fixed.match('daily/a/b.csv')).toEqual({ name: 'a/b.csv' });
    expect(fixed.match('weekly/a.csv')).toBeUndefined();
    expect(() => compileBlobPathPattern('{container}/x', 'Function f')).toThrow(/Function f: '\{container\}' is not a container name/);
  });

  it('names the host from the setting or the app folder', () => {
    expect(localHostId('/apps/My Orders App', {} as NodeJS.ProcessEnv)).toBe('my-orders-app');
    expect(localHostId('/apps/x', { AzureFunctionsWebHost__hostid: 'Shared-Host' } as NodeJS.ProcessEnv)).toBe('shared-host');
    expect(localHostId('/apps/' + 'a'.repeat(40), {} as NodeJS.ProcessEnv)).toHaveLength(32);
  });
});

describe('queue settings and messages', () => {
  it('reads host.json queues with the extension defaults', () => {
    expect(queueOptions({ version: '2.0' })).toEqual({ batchSize: 16, newBatchThreshold: 8, maxDequeueCount: 5, visibilityTimeoutInMs: 0, maxPollingIntervalInMs: 60000, messageEncoding: 'base64' });
    const custom = queueOptions({ version: '2.0', extensions: { queues: { batchSize: 4, visibilityTimeout: '00:00:30', maxPollingInterval: 2000, messageEncoding: 'None' } } });
    expect(custom).toMatchObject({ batchSize: 4, newBatchThreshold: 2, visibilityTimeoutInMs: 30000, maxPollingIntervalInMs: 2000, messageEncoding: 'none' });
    expect(() => queueOptions({ version: '2.0', extensions: { queues: { batchSize: 64 } } })).toThrow(HostJsonError);
    expect(() => queueOptions({ version: '2.0', extensions: { queues: { visibilityTimeout: 'soon' } } })).toThrow(/visibilityTimeout must be a TimeSpan/);
  });

  it('encodes base64 by default and refuses to decode what is not base64', () => {
    const encoded = encodeQueueMessage('{"orderId":"o-1"}', 'base64');
    expect(encoded).toBe(Buffer.from('{"orderId":"o-1"}').toString('base64'));
    expect(decodeQueueMessage(encoded, 'base64')).toBe('{"orderId":"o-1"}');
    expect(decodeQueueMessage('plain text', 'none')).toBe('plain text');
    expect(() => decodeQueueMessage('{"orderId":"o-1"}', 'base64')).toThrow(QueueMessageDecodingError);
  });
});

describe('callHttp polling', () => {
  const request = httpActivityInput({ method: 'POST', uri: 'https://api.contoso.test/orders', content: '{}', headers: { 'Content-Type': 'application/json', 'x-functions-key': 'k', Accept: 'application/json' }, tokenSource: { kind: 'AzureManagedIdentity', resource: 'https://api.contoso.test' }, asynchronousPatternEnabled: true });

  it('polls a 202 with Location after Retry-After, with the same headers less the function key', () => {
    const poll = httpPollAfter(request, JSON.stringify({ statusCode: 202, headers: { Location: '/orders/1/status', 'Retry-After': '3' }, content: '' }));
    expect(poll?.delayInMs).toBe(3000);
    expect(JSON.parse(poll!.input)).toEqual([
      { method: 'GET', uri: 'https://api.contoso.test/orders/1/status', headers: { Accept: 'application/json' }, tokenSource: { kind: 'AzureManagedIdentity', resource: 'https://api.contoso.test' }, asynchronousPatternEnabled: true },
    ]);
    expect(httpPollAfter(request, JSON.stringify({ statusCode: 202, headers: { location: 'https://x.test/s' }, content: '' }))?.delayInMs).toBe(30000);
  });

  it('does not poll without Location, for other statuses, or when polling is off', () => {
    expect(httpPollAfter(request, JSON.stringify({ statusCode: 202, headers: {}, content: '' }))).toBeUndefined();
    expect(httpPollAfter(request, JSON.stringify({ statusCode: 200, headers: { Location: '/x' }, content: '' }))).toBeUndefined();
    const off = httpActivityInput({ method: 'GET', uri: 'https://x.test/', asynchronousPatternEnabled: false });
    expect(httpPollAfter(off, JSON.stringify({ statusCode: 202, headers: { Location: '/x' }, content: '' }))).toBeUndefined();
  });
});

describe('binding support', () => {
  const fn = (bindings: RegisteredFunction['bindings']): RegisteredFunction => ({ name: 'f', bindings, triggerName: 'trigger', triggerType: String(bindings.trigger.type).toLowerCase() });
  const serving = { servesInput: (t: string) => ['blob', 'table', 'durableclient'].includes(t), servesOutput: (t: string) => ['http', 'blob', 'queue', 'table'].includes(t) };
  const env = { AzureWebJobsStorage: 'UseDevelopmentStorage=true' } as NodeJS.ProcessEnv;

  it('reports triggers, inputs and outputs it cannot serve, and storage connections not configured', () => {
    const problems = bindingProblems(
      [
        fn({ trigger: { type: 'serviceBusTrigger', direction: 'in' } }),
        fn({ trigger: { type: 'httpTrigger', direction: 'in' }, doc: { type: 'cosmosDB', direction: 'in' }, sms: { type: 'twilioSms', direction: 'out' }, blob: { type: 'blob', direction: 'out', connection: 'Missing' } }),
        fn({ trigger: { type: 'queueTrigger', direction: 'in' }, out: { type: 'queue', direction: 'out' } }),
      ],
      serving,
      env,
    );
    expect(problems.map((p) => [p.bindingName, p.type, p.level])).toEqual([
      ['trigger', 'serviceBusTrigger', 'error'],
      ['doc', 'cosmosDB', 'error'],
      ['sms', 'twilioSms', 'warning'],
      ['blob', 'blob', 'warning'],
    ]);
    expect(problems[3].message).toMatch(/'Missing' is not configured/);
  });
});
