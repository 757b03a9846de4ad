// The emulator's outgoing HTTP to subscribers (deliveries and validation handshakes): one request, a
// response timeout, and an outcome that tells a response from a timeout from a network failure, because
// Event Grid treats them differently. No connection reuse: subscribers come and go in tests.

import * as http from 'node:http';
import * as https from 'node:https';
import type { IncomingHttpHeaders } from 'node:http';
import { rootCertificates } from 'node:tls';

export interface OutgoingRequest {
  method: 'POST' | 'OPTIONS' | 'GET';
  url: string;
  headers: Record<string, string>;
  body?: Buffer;
  timeoutInMs: number;
  /** Extra CA to trust for https subscribers (the local development CA). */
  ca?: string;
}

export type OutgoingOutcome =
  | { kind: 'response'; status: number; headers: IncomingHttpHeaders; body: Buffer }
  | { kind: 'timeout' }
  | { kind: 'networkError'; message: string };

export function sendWebhookRequest(request: OutgoingRequest): Promise<OutgoingOutcome> {
  return new Promise<OutgoingOutcome>((resolve) => {
    let settled = false;
    const settle = (outcome: OutgoingOutcome): void => {
      if (!settled) {
        settled = true;
        resolve(outcome);
      }
    };
    const url = new URL(request.url);
    const secure = url.protocol === 'https:';
    const headers: Record<string, string> = { ...request.headers };
    if (request.body) headers['content-length'] = String(request.body.length);
    const options: https.RequestOptions = {
      method: request.method,
      headers,
      agent: false,
      ...(secure && request.ca ? { ca: [...rootCertificates, request.ca] } : {}),
    };
    const req = (secure ? https : http).request(url, options, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => settle({ kind: 'response', status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', (error) => settle({ kind: 'networkError', message: error.message }));
    });
    req.setTimeout(request.timeoutInMs, () => {
      settle({ kind: 'timeout' });
      req.destroy();
    });
    req.on('error', (error) => settle({ kind: 'networkError', message: error.message }));
    req.end(request.body);
  });
}
