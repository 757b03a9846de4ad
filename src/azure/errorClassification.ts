// One place that decides whether a failed Azure call is worth retrying. Orchestrations and retry
// policies act on the class, never on raw status codes: transient (408, 429 — honouring Retry-After —,
// 5xx, connection resets and timeouts) versus permanent (other 4xx, bad configuration, validation).

export type FailureClass = 'transient' | 'permanent';

export interface ClassifiedFailure {
  failureClass: FailureClass;
  /** HTTP status when the failure came from a response. */
  statusCode?: number;
  /** Service error code (`error.code` in ARM/ML bodies, `x-ms-error-code` in Storage). */
  code?: string;
  /** How long the service asked us to wait, when it did (Retry-After / retry-after-ms). */
  retryAfterInMs?: number;
  message: string;
}

/** An error the caller should retry (after `retryAfterInMs` when set). */
export class TransientError extends Error {
  readonly failureClass = 'transient' as const;
  constructor(message: string, readonly details: Omit<ClassifiedFailure, 'failureClass' | 'message'> = {}) {
    super(message);
    this.name = 'TransientError';
  }
}

/** An error retrying cannot fix: the run fails with this message. */
export class PermanentError extends Error {
  readonly failureClass = 'permanent' as const;
  constructor(message: string, readonly details: Omit<ClassifiedFailure, 'failureClass' | 'message'> = {}) {
    super(message);
    this.name = 'PermanentError';
  }
}

const TRANSIENT_NETWORK_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'EPIPE', 'EAI_AGAIN', 'ENOTFOUND', 'ESOCKETTIMEDOUT', 'UND_ERR_SOCKET', 'UND_ERR_CONNECT_TIMEOUT', 'REQUEST_SEND_ERROR', 'ECONNABORTED']);

/** Parses Retry-After (seconds or HTTP date) and retry-after-ms / x-ms-retry-after-ms. */
export function retryAfterFromHeaders(get: (name: string) => string | null | undefined, now = Date.now()): number | undefined {
  const ms = get('retry-after-ms') ?? get('x-ms-retry-after-ms');
  if (ms && Number.isFinite(Number(ms))) return Math.max(0, Number(ms));
  const ra = get('retry-after');
  if (!ra) return undefined;
  if (/^\d+(\.\d+)?$/.test(ra.trim())) return Math.max(0, Number(ra) * 1000);
  const date = Date.parse(ra);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

export function isTransientStatus(status: number): boolean {
  return status === 408 || status === 429 || status >= 500;
}

interface ErrorLike {
  message?: string;
  statusCode?: number;
  status?: number;
  code?: string;
  name?: string;
  cause?: unknown;
  response?: { status?: number; headers?: { get?(name: string): string | null | undefined } };
  details?: { error?: { code?: string; message?: string } } | unknown;
}

/** Classifies an error from the Azure SDKs, fetch, or our own adapters. */
export function classifyAzureError(err: unknown): ClassifiedFailure {
  if (err instanceof TransientError) return { failureClass: 'transient', message: err.message, ...err.details };
  if (err instanceof PermanentError) return { failureClass: 'permanent', message: err.message, ...err.details };
  const e = (err ?? {}) as ErrorLike;
  const message = typeof e.message === 'string' && e.message ? e.message : String(err);
  // The storage SDK reports a connection closed mid-body as an AbortError; a caller's own abort never
  // reaches here (activities take no abort signal), so it is a network failure worth retrying.
  if (e.name === 'AbortError') return { failureClass: 'transient', code: 'Aborted', message };
  const statusCode = e.statusCode ?? e.status ?? e.response?.status;
  const headerGet = e.response?.headers?.get?.bind(e.response.headers);
  const retryAfterInMs = headerGet ? retryAfterFromHeaders((n) => headerGet(n)) : undefined;
  const serviceCode = (e.details as { error?: { code?: string } } | undefined)?.error?.code ?? e.code;
  if (typeof statusCode === 'number' && statusCode > 0) {
    return { failureClass: isTransientStatus(statusCode) ? 'transient' : 'permanent', statusCode, code: serviceCode, retryAfterInMs, message };
  }
  const causeCode = (e.cause as { code?: string } | undefined)?.code;
  if ((e.code && TRANSIENT_NETWORK_CODES.has(e.code)) || (causeCode && TRANSIENT_NETWORK_CODES.has(causeCode)) || /socket hang up|ECONNRESET|network|fetch failed|timed? ?out/i.test(message)) {
    return { failureClass: 'transient', code: e.code ?? causeCode, message };
  }
  return { failureClass: 'permanent', code: serviceCode, message };
}

/** Rethrows as TransientError or PermanentError, prefixed with what was being done. */
export function rethrowClassified(err: unknown, doing: string): never {
  const c = classifyAzureError(err);
  const message = `${doing} failed${c.statusCode ? ` (${c.statusCode}${c.code ? ` ${c.code}` : ''})` : c.code ? ` (${c.code})` : ''}: ${c.message}`;
  const details = { statusCode: c.statusCode, code: c.code, retryAfterInMs: c.retryAfterInMs };
  throw c.failureClass === 'transient' ? new TransientError(message, details) : new PermanentError(message, details);
}
