// When a failed activity or sub-orchestration is attempted again, with the Durable Task Framework's
// RetryInterceptor arithmetic: delay = firstRetryInterval × backoffCoefficient^(attempt-1), capped by
// maxRetryInterval, and no further attempt once retryTimeout has elapsed since the first attempt.
import type { WireRetryOptions } from './orchestratorActions';

export type RetryDecision =
  | { retry: true; delayInMs: number }
  | { retry: false; why: 'attemptsExhausted' | 'retryTimeoutElapsed' };

/**
 * @param failures failed attempts so far (1 after the first failure)
 * @param elapsedInMs time since the first attempt was scheduled
 */
export function nextRetry(options: WireRetryOptions, failures: number, elapsedInMs: number): RetryDecision {
  if (failures >= options.maxNumberOfAttempts) return { retry: false, why: 'attemptsExhausted' };
  const timeout = options.retryTimeoutInMilliseconds;
  if (timeout !== undefined && timeout > 0 && timeout < Number.MAX_SAFE_INTEGER && elapsedInMs >= timeout) {
    return { retry: false, why: 'retryTimeoutElapsed' };
  }
  const coefficient = options.backoffCoefficient && options.backoffCoefficient > 0 ? options.backoffCoefficient : 1;
  let delay = options.firstRetryIntervalInMilliseconds * Math.pow(coefficient, failures - 1);
  const cap = options.maxRetryIntervalInMilliseconds;
  if (cap !== undefined && cap > 0 && delay > cap) delay = cap;
  if (!Number.isFinite(delay) || delay < 0) delay = cap && cap > 0 ? cap : options.firstRetryIntervalInMilliseconds;
  return { retry: true, delayInMs: Math.round(delay) };
}

export function validateRetryOptions(options: WireRetryOptions | undefined): string | undefined {
  if (!options || typeof options !== 'object') return 'retryOptions are missing';
  if (!(options.firstRetryIntervalInMilliseconds > 0)) return 'retryOptions.firstRetryIntervalInMilliseconds must be greater than 0';
  if (!Number.isInteger(options.maxNumberOfAttempts) || options.maxNumberOfAttempts < 1) return 'retryOptions.maxNumberOfAttempts must be a positive integer';
  return undefined;
}
