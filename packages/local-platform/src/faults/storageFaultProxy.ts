// A fault-injecting reverse proxy for one client's Blob storage traffic: it sits between that client
// (the app, in the local stack's soak configuration) and the account's endpoint (the blob proxy that
// raises events), and answers a seeded share of requests with Storage's own failures — 503 ServerBusy
// (how Storage throttles; with Retry-After), 500 InternalError — or resets the connection before the
// request reaches the account, or after the account carried it out (the client never hears that its
// write succeeded). Everything else streams through untouched, so shared-key signatures stay valid.
// Other clients (the Azure ML emulator, the Event Grid emulator, whoever uploads the inputs) keep
// using the account directly and see no faults.
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { HttpFaultDecision, HttpFaultInjector, HttpFaultSettings, HttpFaultStats } from './httpFaults';

export interface StorageFaultProxyOptions {
  /** Where requests go on: the account's blob (or table) endpoint on this machine. */
  upstreamPort: number;
  /** 0 or omitted: any free port. */
  port?: number;
  faults: HttpFaultSettings;
  seed?: number;
  /**
   * Which requests faults may strike (default all): e.g. only the app's own tables when the proxy
   * fronts a table endpoint it shares with the Durable engine. Given the whole request body, since a
   * table transaction names its table only inside it.
   */
  appliesTo?: (request: { method: string; url: string; body: Buffer }) => boolean;
}

export interface RunningStorageFaultProxy {
  port: number;
  /** `http://127.0.0.1:{port}`: the origin blob URLs have when seen through this proxy. */
  origin: string;
  stats(): HttpFaultStats;
  stop(): Promise<void>;
}

/** Azure Storage throttles with 503 ServerBusy (never 429), so a throttling fault is answered that way. */
function storageError(decision: Extract<HttpFaultDecision, { kind: 'throttle' | 'serverError' }>): { status: number; code: string; message: string; retryAfterInSeconds?: number } {
  if (decision.kind === 'throttle') return { status: 503, code: 'ServerBusy', message: 'Ingress is over the account limit (injected fault).', retryAfterInSeconds: decision.retryAfterInSeconds };
  if (decision.status === 503) return { status: 503, code: 'ServerBusy', message: 'The server is busy (injected fault).', retryAfterInSeconds: decision.retryAfterInSeconds };
  return { status: decision.status, code: 'InternalError', message: 'The server encountered an internal error (injected fault). Please retry the request.' };
}

export async function startStorageFaultProxy(o: StorageFaultProxyOptions): Promise<RunningStorageFaultProxy> {
  const faults = new HttpFaultInjector(o.faults, o.seed ?? 1);

  const handle = (req: http.IncomingMessage, res: http.ServerResponse, body: Buffer | undefined): void => {
    const method = req.method ?? 'GET';
    const rawUrl = req.url ?? '/';
    const key = `${method} ${rawUrl}`;
    // Requests faults may not strike are not counted either: the figures speak of the ones they may.
    const decision: HttpFaultDecision = !o.appliesTo || o.appliesTo({ method, url: rawUrl, body: body ?? Buffer.alloc(0) }) ? faults.draw(key) : { kind: 'none' };
    if (decision.kind === 'drop') {
      req.socket.destroy();
      return;
    }
    if (decision.kind === 'throttle' || decision.kind === 'serverError') {
      const e = storageError(decision);
      const text = `<?xml version="1.0" encoding="utf-8"?><Error><Code>${e.code}</Code><Message>${e.message}\nTime:${new Date().toISOString()}</Message></Error>`;
      const answer = (): void => {
        res.writeHead(e.status, {
          'content-type': 'application/xml',
          'content-length': String(Buffer.byteLength(text)),
          'x-ms-error-code': e.code,
          ...(e.retryAfterInSeconds !== undefined ? { 'retry-after': String(e.retryAfterInSeconds) } : {}),
        });
        res.end(text);
      };
      if (body) return answer();
      req.resume();
      req.on('end', answer);
      return;
    }
    const forward = (): void => {
      const upstream = http.request(
        { host: '127.0.0.1', port: o.upstreamPort, method, path: rawUrl, headers: { ...req.headers, host: `127.0.0.1:${o.upstreamPort}` }, agent: false },
        (upstreamRes) => {
          if (decision.kind === 'dropResponse') {
            // The account carried the request out; the client only loses the answer.
            upstreamRes.resume();
            upstreamRes.on('end', () => req.socket.destroy());
            return;
          }
          res.writeHead(upstreamRes.statusCode ?? 502, upstreamRes.statusMessage, upstreamRes.rawHeaders);
          upstreamRes.pipe(res);
        },
      );
      upstream.on('error', (error) => {
        if (!res.headersSent) {
          res.writeHead(502, { 'content-type': 'text/plain' });
          res.end(`The storage account is not reachable at 127.0.0.1:${o.upstreamPort}: ${error.message}`);
        } else {
          res.destroy(error);
        }
      });
      if (body) upstream.end(body);
      else req.pipe(upstream);
    };
    if (decision.kind === 'slow') setTimeout(forward, decision.delayInMs);
    else forward();
  };

  const server = http.createServer((req, res) => {
    if (!o.appliesTo) return handle(req, res, undefined);
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => handle(req, res, Buffer.concat(chunks)));
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port ?? 0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    origin: `http://127.0.0.1:${port}`,
    stats: () => faults.stats(),
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
