// Event Grid's push-delivery rules, written down once: the documented retry schedule (scaled down
// locally by `timeScale`), which responses count as delivered, which failures are final (dead-letter at
// once) and which are retried, and the names Event Grid writes into dead-lettered events.
// Source: the "Event Grid message delivery and retry" and "Set dead-letter location and retry policy" docs.

/** The documented schedule: 10 s, 30 s, 1 min, 5 min, 10 min, 30 min, 1 h, 3 h, 6 h, then every 12 h. */
export const DOCUMENTED_RETRY_SCHEDULE_IN_MS: readonly number[] = [
  10_000, 30_000, 60_000, 300_000, 600_000, 1_800_000, 3_600_000, 10_800_000, 21_600_000, 43_200_000,
];
export const DEFAULT_MAX_DELIVERY_ATTEMPTS = 30;
export const DEFAULT_EVENT_TIME_TO_LIVE_IN_MINUTES = 1440;
/** Event Grid waits 30 s for a response before counting the attempt as timed out. */
export const DOCUMENTED_RESPONSE_TIMEOUT_IN_MS = 30_000;
/** Event Grid holds a dead-lettered event about 5 minutes before writing it, to batch blob writes. */
export const DOCUMENTED_DEAD_LETTER_DELAY_IN_MS = 300_000;

/** Delay before retry number `retry` (1 = the first retry); the last step repeats. */
export function retryDelayInMs(schedule: readonly number[], retry: number): number {
  if (schedule.length === 0) return 0;
  return schedule[Math.min(retry - 1, schedule.length - 1)];
}

export type EndpointKind = 'WebHook' | 'AzureFunction';

export type AttemptResult =
  | { kind: 'response'; status: number }
  | { kind: 'timeout' }
  | { kind: 'networkError'; message: string };

export type AttemptVerdict = 'delivered' | 'retry' | 'deadLetter';

export function isDelivered(status: number): boolean {
  return status >= 200 && status <= 204;
}

/**
 * Final failures are configuration errors retries cannot fix: for webhooks 400, 401, 403 and 413;
 * for Azure resources (an Azure Function destination) 400, 403 and 413. Everything else is retried.
 */
export function verdictFor(result: AttemptResult, endpoint: EndpointKind): AttemptVerdict {
  if (result.kind !== 'response') return 'retry';
  if (isDelivered(result.status)) return 'delivered';
  const final = endpoint === 'WebHook' ? [400, 401, 403, 413] : [400, 403, 413];
  return final.includes(result.status) ? 'deadLetter' : 'retry';
}

/** `lastDeliveryOutcome` as Event Grid reports it in dead-lettered events and metrics. */
export function deliveryOutcomeName(result: AttemptResult): string {
  if (result.kind === 'timeout') return 'TimedOut';
  if (result.kind === 'networkError') return 'Probation';
  switch (result.status) {
    case 400: return 'BadRequest';
    case 401: return 'Unauthorized';
    case 403: return 'Forbidden';
    case 404: return 'NotFound';
    case 408: return 'TimedOut';
    case 413: return 'RequestEntityTooLarge';
    case 429:
    case 503: return 'Busy';
    default: return isDelivered(result.status) ? 'Succeeded' : 'GenericError';
  }
}

/**
 * `deadLetterReason`: budget exhausted → MaxDeliveryAttemptsExceeded or TimeToLiveExceeded; a final HTTP
 * failure → UndeliverableDueTo… (the 400 name is the one Event Grid is observed to write; the others
 * follow the same pattern).
 */
export function deadLetterReasonFor(result: AttemptResult, why: 'final' | 'attempts' | 'ttl'): string {
  if (why === 'attempts') return 'MaxDeliveryAttemptsExceeded';
  if (why === 'ttl') return 'TimeToLiveExceeded';
  if (result.kind !== 'response') return 'UndeliverableDueToClientError';
  switch (result.status) {
    case 400: return 'UndeliverableDueToHttpBadRequest';
    case 401: return 'UndeliverableDueToHttpUnauthorized';
    case 403: return 'UndeliverableDueToHttpForbidden';
    case 413: return 'UndeliverableDueToHttpRequestEntityTooLarge';
    default: return 'UndeliverableDueToClientError';
  }
}

export function lastHttpStatusCode(result: AttemptResult): number {
  return result.kind === 'response' ? result.status : 0;
}
