// context.df.callHttp on the local durable engine: the 202 polling pattern (Location + Retry-After,
// durable timers between polls, across a SIGKILL), polling turned off, a managed-identity token from the
// identity endpoint, and a clear failure when nothing answers.
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { startDurableHost, waitForStatus, historyOf, DurableHost } from './durableHarness';
import { freePort } from '../support/freePort';
import { DevTokenIssuer, createIdentityEndpoint, uniqueName } from '@batchpilot/local-platform';

const API_RESOURCE = 'https://orders.contoso.test';

interface Seen {
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

let d: DurableHost;
let server: http.Server;
let base: string;
const seen: Seen[] = [];
const pollsAnswered = new Map<string, number>();
const issuer = new DevTokenIssuer();
const identity = createIdentityEndpoint(issuer);

/** A long-running-operation API: POST answers 202 + Location; its status URL answers 202 `pending` times, then 200. */
function handle(req: http.IncomingMessage, res: http.ServerResponse, body: string): void {
  const url = new URL(req.url ?? '/', base);
  seen.push({ method: req.method ?? '', path: url.pathname, headers: req.headers, body });
  const json = (status: number, value: unknown, headers: Record<string, string> = {}): void => {
    res.writeHead(status, { 'Content-Type': 'application/json', ...headers });
    res.end(JSON.stringify(value));
  };
  if (url.pathname === '/msi/token') return identity.handle(req, res);
  const start = /^\/(orders|slow-orders|no-poll)$/.exec(url.pathname);
  if (start && req.method === 'POST') {
    const retryAfter = start[1] === 'slow-orders' ? '2' : '1';
    return json(202, { accepted: true }, { Location: `${base}/${start[1]}/op-1/status?pending=${start[1] === 'orders' ? 1 : 0}`, 'Retry-After': retryAfter });
  }
  const status = /^\/(orders|slow-orders)\/op-1\/status$/.exec(url.pathname);
  if (status && req.method === 'GET') {
    const answered = (pollsAnswered.get(status[1]) ?? 0) + 1;
    pollsAnswered.set(status[1], answered);
    if (answered <= Number(url.searchParams.get('pending'))) return json(202, { state: 'working' }, { Location: `${base}${url.pathname}?pending=${url.searchParams.get('pending')}`, 'Retry-After': '1' });
    return json(200, { state: 'shipped', polls: answered });
  }
  if (url.pathname === '/protected') {
    const check = issuer.verifyAuthorization(req.headers.authorization, API_RESOURCE);
    return check.ok ? json(200, { caller: check.claims.sub, audience: check.claims.aud }) : json(401, { error: check.code });
  }
  json(404, { error: 'no such route' });
}

const hub = uniqueName('callhttp');
const env = (): Record<string, string> => ({ IDENTITY_ENDPOINT: `${base}/msi/token`, IDENTITY_HEADER: identity.identityHeader });

beforeAll(async () => {
  server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => handle(req, res, Buffer.concat(chunks).toString('utf8')));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  d = await startDurableHost('durable-http', { hub, env: env() });
});

afterAll(async () => {
  await d?.host.kill();
  await new Promise<void>((r) => server.close(() => r()));
});

describe('callHttp', () => {
  it('polls a 202 answer at its Location after Retry-After until the operation is done', async () => {
    const id = await d.client.startNew('startLongOperation', { input: { url: `${base}/orders`, order: { sku: 'A-1', quantity: 2 } } });
    const status = await waitForStatus(d.client, id);
    expect(status.runtimeStatus).toBe('Completed');
    expect(status.output).toEqual({ statusCode: 200, content: { state: 'shipped', polls: 2 }, location: null });

    const calls = seen.filter((s) => s.path.startsWith('/orders'));
    expect(calls.map((c) => `${c.method} ${c.path}`)).toEqual(['POST /orders', 'GET /orders/op-1/status', 'GET /orders/op-1/status']);
    expect(calls[0].headers['content-type']).toBe('application/json');
    expect(calls[0].headers['x-functions-key']).toBe('sample-key');
    expect(JSON.parse(calls[0].body)).toEqual({ sku: 'A-1', quantity: 2 });
    // The extension does not send the function key on to the status URL.
    for (const poll of calls.slice(1)) expect(poll.headers['x-functions-key']).toBeUndefined();

    const history = historyOf(status);
    expect(history.filter((e) => e.EventType === 'TaskCompleted' && e.FunctionName === 'BuiltIn::HttpActivity')).toHaveLength(3);
    expect(history.filter((e) => e.EventType === 'TimerFired')).toHaveLength(2);
  });

  it('returns the 202 itself when polling is turned off', async () => {
    const id = await d.client.startNew('startWithoutPolling', { input: { url: `${base}/no-poll` } });
    const status = await waitForStatus(d.client, id);
    expect(status.output).toEqual({ statusCode: 202, location: `${base}/no-poll/op-1/status?pending=0` });
    expect(seen.filter((s) => s.path.startsWith('/no-poll')).map((c) => c.method)).toEqual(['POST']);
  });

  it('sends a bearer token for the ManagedIdentityTokenSource resource, from the identity endpoint', async () => {
    const id = await d.client.startNew('readProtectedResource', { input: { url: `${base}/protected`, resource: API_RESOURCE } });
    const status = await waitForStatus(d.client, id);
    expect(status.output).toEqual({ statusCode: 200, content: JSON.stringify({ caller: 'batchpilot-local-app', audience: API_RESOURCE }) });

    const wrongAudience = await d.client.startNew('readProtectedResource', { input: { url: `${base}/protected`, resource: 'https://management.core.windows.net/.default' } });
    expect((await waitForStatus(d.client, wrongAudience)).output).toEqual({ statusCode: 401, content: JSON.stringify({ error: 'InvalidAudience' }) });
  });

  it('fails the task with the reason when nothing answers', async () => {
    const url = `http://127.0.0.1:${await freePort()}/gone`;
    const id = await d.client.startNew('callUnreachable', { input: { url } });
    const status = await waitForStatus(d.client, id);
    expect((status.output as { failed: string }).failed).toMatch(/callHttp GET http:\/\/127\.0\.0\.1:\d+\/gone failed: .*ECONNREFUSED/);
  });

  it('keeps polling after the host is killed while it waits, without sending the request again', async () => {
    const id = await d.client.startNew('startLongOperation', { input: { url: `${base}/slow-orders`, order: { sku: 'B-2', quantity: 1 } } });
    await waitForStatus(d.client, id, (s) => historyOf(s).some((e) => e.EventType === 'TimerCreated'));
    await d.host.kill('SIGKILL');
    d = await startDurableHost('durable-http', { hub, env: env() });
    const status = await waitForStatus(d.client, id);
    expect(status.output).toEqual({ statusCode: 200, content: { state: 'shipped', polls: 1 }, location: null });
    expect(seen.filter((s) => s.path === '/slow-orders').length).toBe(1);
    expect(seen.filter((s) => s.path === '/slow-orders/op-1/status').length).toBe(1);
  });
});
