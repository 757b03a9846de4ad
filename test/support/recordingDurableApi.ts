// A stand-in for the Durable extension's HTTP API for unit tests of what the app sends it: it records
// every request exactly as it arrived (method and raw path) and answers the way the extension does, with
// instance statuses the test sets. The unmodified DurableClient is pointed at it through binding data
// from the local host's ManagementUrlBuilder, with or without the extension's rpcBaseUrl.
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { DurableClient } from 'durable-functions';
import { ManagementUrlBuilder } from '@batchpilot/local-host';

const { DurableClient: DurableClientClass } = require('durable-functions/lib/src/durableClient/DurableClient') as { DurableClient: new (data: unknown) => DurableClient };

export const API_PREFIX = '/runtime/webhooks/durabletask';
export const TASK_HUB = 'UnitHub';
export const SYSTEM_KEY = 'unit-test-key';

export interface RecordedRequest {
  method: string;
  /** The path as sent, still percent-encoded. */
  path: string;
  query: URLSearchParams;
  body: string;
}

export interface InstanceStatusFixture {
  name: string;
  runtimeStatus: string;
  customStatus?: unknown;
  input?: unknown;
}

export class RecordingDurableApi {
  readonly requests: RecordedRequest[] = [];
  /** Instance statuses by (decoded) instance ID; GET of any other instance answers 404. */
  readonly instances = new Map<string, InstanceStatusFixture>();

  private constructor(private readonly server: http.Server, readonly baseUrl: string) {}

  static async start(): Promise<RecordingDurableApi> {
    const server = http.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const api = new RecordingDurableApi(server, `http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => api.answer(req, res, Buffer.concat(chunks).toString('utf8')));
    });
    return api;
  }

  /** The library's client with the binding data the local host gives the app, or (`rpc`) with the extension's RPC base URL as well. */
  client(options: { rpc?: boolean } = {}): DurableClient {
    const binding = new ManagementUrlBuilder(this.baseUrl, TASK_HUB, SYSTEM_KEY).clientBinding() as unknown as Record<string, unknown>;
    return new DurableClientClass(options.rpc ? { ...binding, rpcBaseUrl: `${this.baseUrl}${API_PREFIX}/` } : { ...binding, rpcBaseUrl: undefined });
  }

  clear(): void {
    this.requests.length = 0;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private answer(req: http.IncomingMessage, res: http.ServerResponse, body: string): void {
    const raw = req.url ?? '/';
    const q = raw.indexOf('?');
    const path = q < 0 ? raw : raw.slice(0, q);
    const method = req.method ?? 'GET';
    this.requests.push({ method, path, query: new URLSearchParams(q < 0 ? '' : raw.slice(q + 1)), body });
    const json = (status: number, value: unknown): void => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(value));
    };
    const rest = path.startsWith(`${API_PREFIX}/`) ? path.slice(API_PREFIX.length + 1).split('/') : [];
    if (rest[0] === 'orchestrators' && method === 'POST') return json(202, { id: decodeURIComponent(rest[2] ?? 'generated') });
    if (rest[0] !== 'instances' || !rest[1]) return json(404, { error: `nothing at ${path}` });
    const instanceId = decodeURIComponent(rest[1]);
    const found = this.instances.get(instanceId);
    if (rest.length === 2 && method === 'GET') {
      if (!found) return json(404, { error: `No instance with ID '${instanceId}' found.` });
      return json(200, { instanceId, createdTime: '2024-01-01T00:00:00Z', lastUpdatedTime: '2024-01-01T00:00:00Z', input: null, output: null, customStatus: null, ...found });
    }
    if (rest.length === 2 && method === 'DELETE') return json(found ? 200 : 404, { instancesDeleted: found ? 1 : 0 });
    if (!found) return json(404, { error: `No instance with ID '${instanceId}' found.` });
    res.writeHead(202);
    res.end();
  }
}
