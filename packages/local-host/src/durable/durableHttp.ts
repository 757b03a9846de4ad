// `context.df.callHttp`, as the Durable extension runs it: each request is the built-in activity
// `BuiltIn::HttpActivity` (input: the DurableHttpRequest in a one-element list, result: a
// DurableHttpResponse), with a bearer token from the app's managed identity when the request names a
// ManagedIdentityTokenSource. The 202 pattern: when a response is 202 with a Location header and the
// request allows it, durable-functions (replay schema V3+) itself allocates a timer and a follow-up call;
// the engine arms that timer (Retry-After seconds, or the default sleep) and, when it fires, GETs the
// Location with the same headers (less x-functions-key) and token, until the answer is not 202.
import * as http from 'node:http';
import * as https from 'node:https';
import type { ActivityResult } from './functionInvocations';
import { ManagedIdentityError, managedIdentityToken } from '../host/managedIdentity';
import { HistoryEvent, HistoryEventType } from './historyEvents';
import type { ReplayState } from './instanceModel';

export const HTTP_ACTIVITY_NAME = 'BuiltIn::HttpActivity';
/** The extension's default wait between polls when a 202 carries no Retry-After. */
export const DEFAULT_HTTP_ASYNC_SLEEP_IN_MS = 30000;
/** .NET HttpClient's default timeout, which the extension's client keeps. */
const REQUEST_TIMEOUT_IN_MS = 100_000;
/** Headers .NET keeps on the content, not the response: the extension's DurableHttpResponse leaves them out. */
const CONTENT_HEADERS = new Set(['allow', 'content-disposition', 'content-encoding', 'content-language', 'content-length', 'content-location', 'content-md5', 'content-range', 'content-type', 'expires', 'last-modified']);

/** DurableHttpRequest as durable-functions serialises it into the CallHttp action. */
export interface WireHttpRequest {
  method: string;
  uri: string;
  content?: string;
  headers?: Record<string, string | string[]>;
  tokenSource?: { kind?: string; resource?: string };
  asynchronousPatternEnabled?: boolean;
}

export interface WireHttpResponse {
  statusCode: number;
  headers: Record<string, string | string[]>;
  content: string;
}

export class HttpActivityInputError extends Error {}

/** The activity input the history shows for a callHttp: the request in a one-element list. */
export function httpActivityInput(request: unknown): string {
  return JSON.stringify([request]);
}

export function parseHttpActivityInput(input: string | undefined): WireHttpRequest {
  let parsed: unknown;
  try {
    parsed = JSON.parse(input ?? 'null');
  } catch {
    throw new HttpActivityInputError('The callHttp request is not JSON.');
  }
  const request = (Array.isArray(parsed) ? parsed[0] : parsed) as Partial<WireHttpRequest> | null;
  if (!request || typeof request !== 'object') throw new HttpActivityInputError('callHttp needs a request object ({ method, url }).');
  if (typeof request.method !== 'string' || !request.method) throw new HttpActivityInputError('callHttp needs a method (GET, POST, ...).');
  if (typeof request.uri !== 'string' || !URL.canParse(request.uri)) throw new HttpActivityInputError(`callHttp needs an absolute URL; got ${JSON.stringify(request.uri)}.`);
  const protocol = new URL(request.uri).protocol;
  if (protocol !== 'http:' && protocol !== 'https:') throw new HttpActivityInputError(`callHttp supports http and https URLs, not ${protocol}.`);
  return request as WireHttpRequest;
}

function headerOf(headers: Record<string, string | string[]> | undefined, name: string): string | undefined {
  const key = Object.keys(headers ?? {}).find((k) => k.toLowerCase() === name.toLowerCase());
  if (key === undefined) return undefined;
  const value = headers![key];
  return Array.isArray(value) ? value[0] : value;
}

export interface HttpPoll {
  /** When the follow-up GET may go. */
  delayInMs: number;
  /** Its activity input. */
  input: string;
}

/**
 * The poll that a completed callHttp leads to, if any: durable-functions polls only when the request
 * allowed it and the answer was 202 with a Location. Retry-After is whole seconds, as the extension reads it.
 */
export function httpPollAfter(requestInput: string | undefined, result: string): HttpPoll | undefined {
  let request: WireHttpRequest;
  let response: Partial<WireHttpResponse>;
  try {
    request = parseHttpActivityInput(requestInput);
    response = JSON.parse(result) as Partial<WireHttpResponse>;
  } catch {
    return undefined;
  }
  if (request.asynchronousPatternEnabled === false || response?.statusCode !== 202) return undefined;
  const location = headerOf(response.headers, 'Location');
  if (!location) return undefined;
  const retryAfter = headerOf(response.headers, 'Retry-After');
  const seconds = retryAfter !== undefined && /^\s*\d+\s*$/.test(retryAfter) ? Number(retryAfter) : undefined;
  const headers = Object.fromEntries(Object.entries(request.headers ?? {}).filter(([k]) => k.toLowerCase() !== 'x-functions-key' && k.toLowerCase() !== 'content-type'));
  const poll: WireHttpRequest = {
    method: 'GET',
    uri: new URL(location, request.uri).href,
    headers,
    tokenSource: request.tokenSource,
    asynchronousPatternEnabled: true,
  };
  return { delayInMs: seconds !== undefined ? seconds * 1000 : DEFAULT_HTTP_ASYNC_SLEEP_IN_MS, input: httpActivityInput(poll) };
}

interface RawResponse {
  statusCode: number;
  /** Names as the server sent them (durable-functions code reads e.g. `headers.Location`). */
  headers: Record<string, string | string[]>;
  content: string;
}

function send(method: string, url: URL, headers: Record<string, string | string[]>, body: Buffer | undefined): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const request = (url.protocol === 'https:' ? https : http).request(url, { method, headers, signal: AbortSignal.timeout(REQUEST_TIMEOUT_IN_MS) }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const out: Record<string, string | string[]> = {};
        for (let i = 0; i + 1 < res.rawHeaders.length; i += 2) {
          const name = res.rawHeaders[i];
          const value = res.rawHeaders[i + 1];
          const existing = Object.keys(out).find((k) => k.toLowerCase() === name.toLowerCase());
          if (existing === undefined) out[name] = value;
          else out[existing] = ([] as string[]).concat(out[existing], value);
        }
        resolve({ statusCode: res.statusCode ?? 0, headers: out, content: Buffer.concat(chunks).toString('utf8') });
      });
    });
    request.on('error', reject);
    request.end(body);
  });
}

/** Runs one callHttp request (or poll) and answers as the extension's HTTP activity does. */
export async function runHttpActivity(input: string | undefined, env: NodeJS.ProcessEnv = process.env): Promise<ActivityResult> {
  let request: WireHttpRequest;
  try {
    request = parseHttpActivityInput(input);
  } catch (err) {
    return { ok: false, failure: { ErrorType: 'ArgumentException', ErrorMessage: (err as Error).message } };
  }
  const url = new URL(request.uri);
  const headers: Record<string, string | string[]> = {};
  let contentType = '';
  for (const [name, value] of Object.entries(request.headers ?? {})) {
    if (name.toLowerCase() === 'content-type') {
      const v = Array.isArray(value) ? value[value.length - 1] : value;
      if (/multipart/i.test(v)) return { ok: false, failure: { ErrorType: 'FunctionFailedException', ErrorMessage: 'Multipart content is not supported with callHttp.' } };
      contentType = v;
    } else headers[name] = value;
  }
  let body: Buffer | undefined;
  if (request.content !== undefined && request.content !== null) {
    body = Buffer.from(request.content, 'utf8');
    headers['Content-Type'] = contentType || 'text/plain';
    headers['Content-Length'] = String(body.length);
  }
  try {
    if (request.tokenSource) {
      if (request.tokenSource.kind !== undefined && request.tokenSource.kind !== 'AzureManagedIdentity') {
        return { ok: false, failure: { ErrorType: 'NotSupportedException', ErrorMessage: `The token source kind '${request.tokenSource.kind}' is not supported.` } };
      }
      if (!request.tokenSource.resource) return { ok: false, failure: { ErrorType: 'ArgumentNullException', ErrorMessage: 'The ManagedIdentityTokenSource has no resource.' } };
      const token = await managedIdentityToken(request.tokenSource.resource, { env, purpose: 'callHttp with a ManagedIdentityTokenSource' });
      headers.Authorization = `Bearer ${token.token}`;
    }
    const response = await send(request.method.toUpperCase(), url, headers, body);
    const kept = Object.fromEntries(Object.entries(response.headers).filter(([k]) => !CONTENT_HEADERS.has(k.toLowerCase())));
    const result: WireHttpResponse = { statusCode: response.statusCode, headers: kept, content: response.content };
    return { ok: true, result: JSON.stringify(result) };
  } catch (err) {
    if (err instanceof ManagedIdentityError) return { ok: false, failure: { ErrorType: 'AuthenticationFailedException', ErrorMessage: err.message } };
    const e = err as Error & { code?: string };
    const why = e.name === 'TimeoutError' ? `no answer within ${REQUEST_TIMEOUT_IN_MS / 1000} s` : `${e.message}${e.code && !e.message.includes(e.code) ? ` (${e.code})` : ''}`;
    return { ok: false, failure: { ErrorType: 'HttpRequestException', ErrorMessage: `callHttp ${request.method.toUpperCase()} ${url.origin}${url.pathname} failed: ${why}` } };
  }
}

/** The callHttp polls whose wait ended with one of `events` (TimerFired): they go out now. */
export function releasedHttpPolls(replay: ReplayState, events: HistoryEvent[]): Array<{ taskId: number; name: string; input?: string }> {
  const fired = new Set(events.filter((e) => e.EventType === HistoryEventType.TimerFired && e.TimerId !== undefined).map((e) => e.TimerId));
  if (fired.size === 0) return [];
  const out: Array<{ taskId: number; name: string; input?: string }> = [];
  for (const [id, task] of Object.entries(replay.openTasks)) {
    if (task.kind === 'activity' && task.waitsForTimer !== undefined && fired.has(task.waitsForTimer)) {
      delete task.waitsForTimer;
      out.push({ taskId: Number(id), name: task.name, input: task.input });
    }
  }
  return out;
}
