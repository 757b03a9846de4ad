// How the operator API speaks HTTP: JSON answers that are never cached, every refusal as a 4xx with a
// stable code and a sentence that says what to do, request bodies and query strings checked before
// anything acts on them, and unexpected failures logged in full but answered without internals.
import type { HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import type { OperatorErrorBody } from './operatorApiTypes';
import { classifyAzureError } from '../azure/errorClassification';

/** A refusal the caller can act on: unknown run, malformed filter, action on a finished run... */
export class OperatorError extends Error {
  constructor(readonly status: number, readonly code: string, message: string) {
    super(message);
    this.name = 'OperatorError';
  }
}

const NO_STORE = { 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' };

export function jsonResponse(status: number, body: unknown, headers: Record<string, string> = {}): HttpResponseInit {
  return { status, jsonBody: body, headers: { ...NO_STORE, 'content-type': 'application/json; charset=utf-8', ...headers } };
}

function errorResponse(status: number, code: string, message: string): HttpResponseInit {
  const body: OperatorErrorBody = { error: { code, message } };
  return jsonResponse(status, body);
}

export type OperatorHandler = (request: HttpRequest, context: InvocationContext) => Promise<HttpResponseInit>;

/** Wraps a handler so that refusals become their 4xx and anything else a logged 5xx. */
export function operatorEndpoint(handler: OperatorHandler): OperatorHandler {
  return async (request, context) => {
    try {
      return await handler(request, context);
    } catch (err) {
      if (err instanceof OperatorError) {
        context.log(JSON.stringify({ status: err.status, code: err.code, message: `Refused ${request.method} ${new URL(request.url).pathname}: ${err.message}` }));
        return errorResponse(err.status, err.code, err.message);
      }
      const c = classifyAzureError(err);
      context.error(JSON.stringify({ failureClass: c.failureClass, statusCode: c.statusCode, message: `${request.method} ${new URL(request.url).pathname} failed: ${(err as Error)?.stack ?? c.message}` }));
      if (c.failureClass === 'transient') return errorResponse(503, 'DependencyUnavailable', `A service batchpilot depends on did not answer in time (${c.message}). Try again shortly.`);
      return errorResponse(500, 'InternalError', `The operator API could not complete the request: ${c.message}`);
    }
  };
}

/** The request body as a JSON object; an empty body is `{}`. */
export async function readJsonObject(request: HttpRequest): Promise<Record<string, unknown>> {
  const text = (await request.text()).replace(/^\uFEFF/, '');
  if (!text.trim()) return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new OperatorError(400, 'InvalidJson', `The request body is not valid JSON: ${(err as Error).message}`);
  }
  if (!value || typeof value !== 'object' || Array.isArray(value)) throw new OperatorError(400, 'InvalidBody', 'The request body must be a JSON object.');
  return value as Record<string, unknown>;
}

/** Refuses query parameters the endpoint does not know, so a typo is never silently ignored. */
export function checkQueryNames(query: URLSearchParams, accepted: readonly string[]): void {
  // `code` carries the function key.
  const unknown = [...new Set([...query.keys()])].filter((k) => k !== 'code' && !accepted.includes(k));
  if (unknown.length) {
    throw new OperatorError(400, 'UnknownParameter', `Unknown query parameter${unknown.length > 1 ? 's' : ''} ${unknown.map((k) => `'${k}'`).join(', ')}; this endpoint accepts ${accepted.map((k) => `'${k}'`).join(', ') || 'none'}.`);
  }
}

/** An optional string field of a body, trimmed; refuses other types. */
export function optionalString(body: Record<string, unknown>, field: string, maxLength = 2000): string | undefined {
  const v = body[field];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw new OperatorError(400, 'InvalidField', `'${field}' must be a string.`);
  const t = v.trim();
  if (t.length > maxLength) throw new OperatorError(400, 'InvalidField', `'${field}' is longer than ${maxLength} characters.`);
  return t || undefined;
}

/** The `reason` every change must carry: it goes into the audit record. */
export function requiredReason(body: Record<string, unknown>): string {
  const reason = optionalString(body, 'reason', 1000);
  if (!reason) throw new OperatorError(400, 'ReasonRequired', "Say why: every change needs a 'reason' (it is kept in the audit record).");
  return reason;
}
