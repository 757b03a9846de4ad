// A small HTTP server standing in for an Event Grid subscriber (the tests, the soak's outcome-event
// capture): it records every request, answers both validation handshakes like a well-behaved subscriber
// unless told otherwise, and answers notifications with whatever status its user scripts (e.g. 503
// twice, then 200).
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedRequest {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

export interface ScriptedResponse {
  status: number;
  headers?: Record<string, string>;
  body?: string;
}

export type Responder = (request: ReceivedRequest) => ScriptedResponse | undefined;

export interface WebhookReceiver {
  url: string;
  requests: ReceivedRequest[];
  /** POSTs carrying events (`aeg-event-type: Notification`). */
  notifications(): ReceivedRequest[];
  /** Every event delivered, flattened from arrays and single CloudEvents, in arrival order. */
  events<T = Record<string, unknown>>(): T[];
  /** Scripts answers; return undefined to fall back to the default (handshakes answered, 200 for events). */
  respondWith(responder: Responder): void;
  close(): Promise<void>;
}

function defaultResponse(request: ReceivedRequest): ScriptedResponse {
  if (request.method === 'OPTIONS') {
    const origin = request.headers['webhook-request-origin'];
    return { status: 200, headers: origin ? { 'webhook-allowed-origin': String(origin) } : {} };
  }
  if (request.headers['aeg-event-type'] === 'SubscriptionValidation') {
    const [event] = JSON.parse(request.body) as Array<{ data: { validationCode: string } }>;
    return { status: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ validationResponse: event.data.validationCode }) };
  }
  return { status: 200 };
}

export async function startWebhookReceiver(path = '/api/events'): Promise<WebhookReceiver> {
  const requests: ReceivedRequest[] = [];
  let responder: Responder = () => undefined;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const request: ReceivedRequest = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') };
      requests.push(request);
      const answer = responder(request) ?? defaultResponse(request);
      res.writeHead(answer.status, answer.headers ?? {});
      res.end(answer.body ?? '');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const port = (server.address() as AddressInfo).port;
  const notifications = (): ReceivedRequest[] => requests.filter((r) => r.method === 'POST' && r.headers['aeg-event-type'] === 'Notification');
  return {
    url: `http://127.0.0.1:${port}${path}`,
    requests,
    notifications,
    events<T>(): T[] {
      return notifications().flatMap((r) => {
        const parsed = JSON.parse(r.body) as T | T[];
        return Array.isArray(parsed) ? parsed : [parsed];
      });
    },
    respondWith(next: Responder) {
      responder = next;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
