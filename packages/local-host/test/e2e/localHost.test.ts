// The local host runs an unmodified v4-model app: HTTP routes and auth levels, Event Grid webhooks with
// both handshakes and both schemas, timers, hooks, and clear refusals of bad input.
import * as path from 'node:path';
import * as fs from 'node:fs';
import { startHostProcess, HostProcess } from '../../src/host/localHostProcess';
import { PACKAGE_ROOT } from '../support/packageRoot';
import { CONTRACTS_DIR } from '../support/contractsDir';
import { waitUntil } from '@batchpilot/local-platform';

const APP = path.join(PACKAGE_ROOT, 'test', 'fixtures', 'host-basics');
const CONTRACTS = path.join(CONTRACTS_DIR, 'eventgrid', 'Microsoft.Storage', 'stable', '2018-01-01', 'examples');

let host: HostProcess;
beforeAll(async () => {
  host = await startHostProcess({ appDir: APP });
});
afterAll(async () => {
  await host?.kill();
});

function eventGridUrl(functionName: string, code: string | null = host.keys.systemKeys.eventgrid_extension): string {
  return `${host.url}/runtime/webhooks/eventgrid?functionName=${functionName}${code ? `&code=${encodeURIComponent(code)}` : ''}`;
}

async function receivedEvents(): Promise<{ events: Array<Record<string, unknown>>; ticks: number }> {
  const res = await fetch(`${host.url}/api/received`);
  return (await res.json()) as { events: Array<Record<string, unknown>>; ticks: number };
}

describe('HTTP triggers', () => {
  it('routes by template with parameters, constraints, optional segments and query', async () => {
    const res = await fetch(`${host.url}/api/greet/ada/2?q=x`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ greeting: 'hello adahello ada', query: 'x' });
    const res1 = await fetch(`${host.url}/api/greet/ada`);
    expect(await res1.json()).toEqual({ greeting: 'hello ada', query: null });
  });

  it('refuses a path whose parameter breaks its constraint with 404', async () => {
    const res = await fetch(`${host.url}/api/greet/ada42`);
    expect(res.status).toBe(404);
    expect(((await res.json()) as { error: { message: string } }).error.message).toMatch(/No HTTP function matches/);
  });

  it('serves catch-all routes', async () => {
    const res = await fetch(`${host.url}/api/files/a/b/c.csv`);
    expect(await res.json()).toEqual({ path: 'a/b/c.csv' });
  });

  it('requires a function key for authLevel function and accepts it by header or query', async () => {
    const denied = await fetch(`${host.url}/api/echo`, { method: 'POST', body: 'hi' });
    expect(denied.status).toBe(401);
    const key = host.keys.functionKeys.echo.default;
    const byHeader = await fetch(`${host.url}/api/echo`, { method: 'POST', body: 'hi', headers: { 'x-functions-key': key } });
    expect(byHeader.status).toBe(201);
    expect(await byHeader.text()).toBe('hi');
    expect(byHeader.headers.get('x-echo-method')).toBe('POST');
    expect(byHeader.headers.get('set-cookie')).toMatch(/seen=yes; HttpOnly/);
    const byQuery = await fetch(`${host.url}/api/echo?code=${encodeURIComponent(host.keys.hostKeys.default)}`, { method: 'PUT', body: 'there' });
    expect(byQuery.status).toBe(201);
  });

  it('requires the master key for authLevel admin', async () => {
    const withFunctionKey = await fetch(`${host.url}/api/admin-only`, { headers: { 'x-functions-key': host.keys.hostKeys.default } });
    expect(withFunctionKey.status).toBe(401);
    const withMaster = await fetch(`${host.url}/api/admin-only`, { headers: { 'x-functions-key': host.keys.masterKey } });
    expect(await withMaster.text()).toBe('secret garden');
  });

  it('answers a wrong method with 405 and the allowed methods', async () => {
    const res = await fetch(`${host.url}/api/greet/ada`, { method: 'DELETE' });
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('GET');
  });

  it('answers 500 when the function throws, and stays up', async () => {
    const res = await fetch(`${host.url}/api/boom`);
    expect(res.status).toBe(500);
    await host.waitForLog((l) => l.functionName === 'boom' && /failed on purpose/.test(l.message));
    const again = await fetch(`${host.url}/api/greet/bob`);
    expect(again.status).toBe(200);
  });

  it('logs each invocation as the Functions host does: Executing as it starts, Executed with its result and duration', async () => {
    await fetch(`${host.url}/api/boom`);
    const started = await host.waitForLog((l) => /^Executing 'Functions\.boom' \(Reason='httptrigger', Id=[0-9a-f-]+\)$/.test(l.message));
    const ended = await host.waitForLog((l) => l.invocationId === started.invocationId && /^Executed 'Functions\.boom' \(Failed, Id=/.test(l.message));
    expect(ended.message).toMatch(/Duration=\d+ms\)$/);
    expect(started.functionName).toBe('boom');
  });

  it('refuses an oversized body with 413', async () => {
    const big = Buffer.alloc(101 * 1024 * 1024, 97);
    const res = await fetch(`${host.url}/api/echo`, { method: 'POST', body: big, headers: { 'x-functions-key': host.keys.masterKey } }).catch((e: Error) => e);
    if (res instanceof Error) {
      // The host may close the connection while the client is still sending: that is a refusal too.
      expect(res.message).toMatch(/fetch failed|socket|reset/i);
    } else {
      expect(res.status).toBe(413);
    }
    expect((await fetch(`${host.url}/api/greet/bob`)).status).toBe(200);
  });

  it('answers 404 for unknown paths outside the route prefix', async () => {
    const res = await fetch(`${host.url}/nowhere`);
    expect(res.status).toBe(404);
  });

  it('runs appStart hooks once and preInvocation hooks on every invocation', async () => {
    const first = (await (await fetch(`${host.url}/api/hook-stats`)).json()) as { started: number; invocations: number };
    const second = (await (await fetch(`${host.url}/api/hook-stats`)).json()) as { started: number; invocations: number };
    expect(first.started).toBe(1);
    expect(second.invocations).toBe(first.invocations + 1);
  });
});

describe('Event Grid trigger webhook', () => {
  it('answers the SubscriptionValidation handshake with the validation code', async () => {
    const res = await fetch(eventGridUrl('onBlobEvent'), {
      method: 'POST',
      headers: { 'aeg-event-type': 'SubscriptionValidation', 'content-type': 'application/json' },
      body: JSON.stringify([{ id: '1', topic: 't', subject: '', eventType: 'Microsoft.EventGrid.SubscriptionValidationEvent', eventTime: new Date().toISOString(), dataVersion: '2', metadataVersion: '1', data: { validationCode: 'ABC-123', validationUrl: 'https://example.invalid' } }]),
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ validationResponse: 'ABC-123' });
  });

  it('answers the CloudEvents OPTIONS abuse-protection handshake', async () => {
    const res = await fetch(eventGridUrl('onBlobEvent'), { method: 'OPTIONS', headers: { 'WebHook-Request-Origin': 'eventgrid.azure.net' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('webhook-allowed-origin')).toBe('eventgrid.azure.net');
  });

  it('delivers a BlobCreated event in the Event Grid schema to the handler, parsed', async () => {
    const example = JSON.parse(fs.readFileSync(path.join(CONTRACTS, 'event-grid-schema', 'blob_created.json'), 'utf8')) as Record<string, unknown>;
    const event: Record<string, unknown> = { ...example, id: 'eg-schema-1' };
    const res = await fetch(eventGridUrl('onBlobEvent'), { method: 'POST', headers: { 'aeg-event-type': 'Notification', 'content-type': 'application/json' }, body: JSON.stringify([event]) });
    expect(res.status).toBe(202);
    const got = (await receivedEvents()).events.find((e) => e.id === 'eg-schema-1');
    expect(got).toMatchObject({ eventType: 'Microsoft.Storage.BlobCreated', subject: event.subject });
    expect((got!.data as Record<string, unknown>).api).toBe((event.data as Record<string, unknown>).api);
  });

  it('delivers a BlobCreated CloudEvent, single and batched', async () => {
    const example = JSON.parse(fs.readFileSync(path.join(CONTRACTS, 'cloud-events-schema', 'blob_created.json'), 'utf8')) as Record<string, unknown>;
    const single = { ...example, specversion: example.specversion ?? '1.0', id: 'ce-single' };
    const r1 = await fetch(eventGridUrl('onBlobEvent'), { method: 'POST', headers: { 'content-type': 'application/cloudevents+json; charset=utf-8' }, body: JSON.stringify(single) });
    expect(r1.status).toBe(202);
    const batch = [{ ...single, id: 'ce-batch-1' }, { ...single, id: 'ce-batch-2' }];
    const r2 = await fetch(eventGridUrl('onBlobEvent'), { method: 'POST', headers: { 'content-type': 'application/cloudevents-batch+json; charset=utf-8' }, body: JSON.stringify(batch) });
    expect(r2.status).toBe(202);
    const ids = (await receivedEvents()).events.map((e) => e.id);
    expect(ids).toEqual(expect.arrayContaining(['ce-single', 'ce-batch-1', 'ce-batch-2']));
    const got = (await receivedEvents()).events.find((e) => e.id === 'ce-single')!;
    expect(got.type).toBe('Microsoft.Storage.BlobCreated');
  });

  it("runs a batch's events at once, as the Event Grid extension does: each may wait for the other", async () => {
    const event = (id: string, partner: string): Record<string, unknown> => ({ id, subject: `/blobServices/default/containers/c/blobs/wait-for-${partner}`, eventType: 'Microsoft.Storage.BlobCreated', eventTime: new Date().toISOString(), dataVersion: '', data: {} });
    const res = await fetch(eventGridUrl('onBlobEvent'), { method: 'POST', headers: { 'aeg-event-type': 'Notification', 'content-type': 'application/json' }, body: JSON.stringify([event('pair-a', 'pair-b'), event('pair-b', 'pair-a')]) });
    expect(res.status).toBe(202);
    expect((await receivedEvents()).events.map((e) => e.id)).toEqual(expect.arrayContaining(['pair-a', 'pair-b']));
  });

  it('answers 500 for a batch when one of its events fails, after the others have run', async () => {
    const ok = { id: 'batch-ok', subject: '/blobServices/default/containers/c/blobs/fine', eventType: 'Microsoft.Storage.BlobCreated', eventTime: new Date().toISOString(), dataVersion: '', data: {} };
    const res = await fetch(eventGridUrl('onBlobEvent'), { method: 'POST', headers: { 'aeg-event-type': 'Notification', 'content-type': 'application/json' }, body: JSON.stringify([{ ...ok, id: 'batch-bad', subject: '/blobServices/default/containers/c/blobs/fail-me' }, ok]) });
    expect(res.status).toBe(500);
    expect(((await res.json()) as { error: { message: string } }).error.message).toMatch(/failed on event batch-bad; Event Grid will retry/);
    expect((await receivedEvents()).events.map((e) => e.id)).toContain('batch-ok');
  });

  it('answers 500 when the handler fails, so Event Grid retries', async () => {
    const res = await fetch(eventGridUrl('onBlobEvent'), {
      method: 'POST',
      headers: { 'aeg-event-type': 'Notification', 'content-type': 'application/json' },
      body: JSON.stringify([{ id: 'x', subject: '/blobServices/default/containers/c/blobs/fail-me', eventType: 'Microsoft.Storage.BlobCreated', eventTime: new Date().toISOString(), dataVersion: '', data: {} }]),
    });
    expect(res.status).toBe(500);
  });

  it('refuses malformed JSON, events missing fields, unknown functions and missing keys with specific 4xx', async () => {
    const malformed = await fetch(eventGridUrl('onBlobEvent'), { method: 'POST', headers: { 'aeg-event-type': 'Notification' }, body: '[{"id":' });
    expect(malformed.status).toBe(400);
    expect(((await malformed.json()) as { error: { message: string } }).error.message).toMatch(/not valid JSON/);
    const missing = await fetch(eventGridUrl('onBlobEvent'), { method: 'POST', headers: { 'aeg-event-type': 'Notification' }, body: JSON.stringify([{ id: 'y' }]) });
    expect(missing.status).toBe(400);
    expect(((await missing.json()) as { error: { message: string } }).error.message).toMatch(/missing required property 'eventType'/);
    const unknown = await fetch(eventGridUrl('noSuchFunction'), { method: 'POST', body: '[]' });
    expect(unknown.status).toBe(404);
    const noKey = await fetch(eventGridUrl('onBlobEvent', null), { method: 'POST', body: '[]' });
    expect(noKey.status).toBe(401);
    const wrongMethod = await fetch(eventGridUrl('onBlobEvent'), { method: 'GET' });
    expect(wrongMethod.status).toBe(405);
  });
});

describe('timer triggers', () => {
  it('fires an NCRONTAB schedule resolved from a setting', async () => {
    const ticks = await waitUntil(async () => {
      const seen = (await receivedEvents()).ticks;
      return seen >= 2 ? seen : undefined;
    }, 'two timer ticks', 30_000);
    expect(ticks).toBeGreaterThanOrEqual(2);
  });
});
