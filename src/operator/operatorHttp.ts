// How the operator API speaks HTTP: JSON answers that are never cached, every refusal as a 4xx with a
// stable code and a sentence that says what to do, request bodies and query strings checked before
// anything acts on them, and unexpected failures logged in full but answered without internals.
import type { HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import type { OperatorErrorBody } from './operatorApiTypes';
import { classifyAzureError } from '../azure/errorClassification';
import { clip } from '../domain/untrustedText';

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

/**
 * The request body as a JSON object; an empty body is `{}`. Fields the endpoint does not know are
 * refused, as unknown query parameters are: a misspelt or imagined field (`dryRun` on a purge) must not
 * be silently ignored on a call that changes things.
 */
export async function readJsonObject(request: HttpRequest, accepted: readonly string[]): Promise<Record<string, unknown>> {
  const text = (await request.text()).replace(/^\uFEFF/, '');
  if (!text.trim()) return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new OperatorError(400, 'InvalidJson', `The request body is not valid JSON: ${(err as Error).message}`);
  }
  if (!value || typeof value !== 'object' || Array.isArray(value)) throw new OperatorError(400, 'InvalidBody', 'The request body must be a JSON object.');
  const unknown = Object.keys(value).filter((k) => !accepted.includes(k));
  if (unknown.length) {
    const names = unknown.slice(0, 5).map((k) => `'${clip(k, 40)}'`).join(', ') + (unknown.length > 5 ? ` and ${unknown.length - 5} more` : '');
    throw new OperatorError(400, 'UnknownField', `Unknown body field${unknown.length > 1 ? 's' : ''} ${names}; this endpoint accepts ${accepted.map((k) => `'${k}'`).join(', ')}.`);
  }
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

// A high surrogate not followed by a low one, or a low one not preceded by a high one.
const UNPAIRED_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
// eslint-disable-next-line no-control-regex -- control characters are what this pattern is for
const CONTROL_CHARACTER = /[\u0000-\u001f\u007f-\u009f]/;

/**
 * An optional string field of a body, trimmed; refuses other types and text that is not Unicode (an
 * unpaired surrogate cannot be encoded into a URL, a header or UTF-8). `singleLine` also refuses control
 * characters: names and paths, unlike a reason, never hold them.
 */
export function optionalString(body: Record<string, unknown>, field: string, maxLength = 2000, options: { singleLine?: boolean } = {}): string | undefined {
  const v = body[field];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw new OperatorError(400, 'InvalidField', `'${field}' must be a string.`);
  const t = v.trim();
  if (t.length > maxLength) throw new OperatorError(400, 'InvalidField', `'${field}' is longer than ${maxLength} characters.`);
  if (UNPAIRED_SURROGATE.test(t)) throw new OperatorError(400, 'InvalidField', `'${field}' holds an unpaired UTF-16 surrogate (\\u${t.charCodeAt(t.search(UNPAIRED_SURROGATE)).toString(16)}): it is not valid Unicode text.`);
  if (options.singleLine && CONTROL_CHARACTER.test(t)) throw new OperatorError(400, 'InvalidField', `'${field}' holds a control character (${clip(t, 80)}).`);
  return t || undefined;
}

/**
 * The UTC instant of an ISO 8601 date or date-time whose calendar day exists: `new Date` would read
 * 2024-02-31 as March 2. Undefined when the text is no such date (the caller says which field).
 */
export function calendarInstant(text: string): Date | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})/.exec(text);
  if (!m) return undefined;
  const [year, month, day] = [Number(m[1]), Number(m[2]), Number(m[3])];
  // setUTCFullYear, not Date.UTC: that one reads years 0-99 as 1900-1999.
  const midnight = new Date(0);
  midnight.setUTCFullYear(year, month - 1, day);
  if (midnight.getUTCFullYear() !== year || midnight.getUTCMonth() !== month - 1 || midnight.getUTCDate() !== day) return undefined;
  const at = new Date(text);
  return Number.isNaN(at.getTime()) ? undefined : at;
}

/** The `reason` every change must carry: it goes into the audit record. */
export function requiredReason(body: Record<string, unknown>): string {
  const reason = optionalString(body, 'reason', 1000);
  if (!reason) throw new OperatorError(400, 'ReasonRequired', "Say why: every change needs a 'reason' (it is kept in the audit record).");
  return reason;
}
