// Seeded HTTP faults for the local emulators and proxies: a share of calls is throttled (429 with
// Retry-After), answered with a server error (503 with Retry-After, or 500), loses its connection
// before the service acts, loses its connection after the service acted (the response never arrives,
// so a retry repeats a request that already took effect), or is answered slowly. The Azure ML
// emulator, the Event Grid emulator's topics and the local stack's storage fault proxy all draw from
// this one module, so "a share P of calls fail" means the same everywhere. Draws come from a seeded
// generator: the same calls in the same order meet the same faults. It also notes whether clients
// waited the Retry-After it announced before they repeated a request.
import { seededRandom } from './seededRandom';

export interface HttpFaultSettings {
  /** Share (0..1) of calls answered 429 Too Many Requests with a Retry-After header. */
  throttleFraction?: number;
  /** Share of calls answered with a server error drawn from `serverErrorStatuses`. */
  serverErrorFraction?: number;
  /** Default [500, 503]; 503 carries Retry-After as Azure's front doors do. */
  serverErrorStatuses?: number[];
  /** Share of calls whose connection is destroyed before the service does anything. */
  dropConnectionFraction?: number;
  /** Share of calls the service carries out but whose connection is destroyed before the response. */
  dropResponseFraction?: number;
  /** Share of calls answered only after `slowResponseInMs`. */
  slowFraction?: number;
  slowResponseInMs?: number;
  /** Retry-After announced on 429/503; default 1 (seconds, as ARM sends it). */
  retryAfterInSeconds?: number;
}

export type HttpFaultDecision =
  | { kind: 'none' }
  | { kind: 'throttle'; retryAfterInSeconds: number }
  | { kind: 'serverError'; status: number; retryAfterInSeconds?: number }
  | { kind: 'drop' }
  | { kind: 'dropResponse' }
  | { kind: 'slow'; delayInMs: number };

export interface HttpFaultStats {
  requests: number;
  throttled: number;
  serverErrors: number;
  dropped: number;
  /** Calls carried out whose response was then lost. */
  droppedResponses: number;
  slowed: number;
  /** Requests repeated after a Retry-After once the announced time had passed. */
  retriesAfterWaiting: number;
  /** Requests repeated before the announced Retry-After had passed. */
  prematureRetries: number;
}

export function emptyHttpFaultStats(): HttpFaultStats {
  return { requests: 0, throttled: 0, serverErrors: 0, dropped: 0, droppedResponses: 0, slowed: 0, retriesAfterWaiting: 0, prematureRetries: 0 };
}

/**
 * Spreads one overall fault share over the failure kinds the soak and the stack use: throttling,
 * server errors (503 with Retry-After, 500 without) and connection resets before and after the
 * service acted. `fraction` 0 gives no faults.
 */
export function spreadHttpFaults(fraction: number, retryAfterInSeconds = 1): HttpFaultSettings {
  if (!(fraction >= 0 && fraction <= 1)) throw new RangeError(`The fault share must be between 0 and 1; got ${fraction}.`);
  return {
    throttleFraction: fraction * 0.3,
    serverErrorFraction: fraction * 0.3,
    serverErrorStatuses: [503, 500],
    dropConnectionFraction: fraction * 0.2,
    dropResponseFraction: fraction * 0.2,
    retryAfterInSeconds,
  };
}

/** Rejects fractions out of range or adding up to more than every call; `group` names them in the message. */
export function validateHttpFaultSettings(http: HttpFaultSettings, group = 'http'): void {
  let total = 0;
  const fractions: Array<[string, number | undefined]> = [
    ['throttleFraction', http.throttleFraction],
    ['serverErrorFraction', http.serverErrorFraction],
    ['dropConnectionFraction', http.dropConnectionFraction],
    ['dropResponseFraction', http.dropResponseFraction],
    ['slowFraction', http.slowFraction],
  ];
  for (const [name, value] of fractions) {
    if (value === undefined) continue;
    if (typeof value !== 'number' || !(value >= 0 && value <= 1)) {
      throw new RangeError(`Fault setting ${group}.${name} must be a number between 0 and 1; got ${String(value)}.`);
    }
    total += value;
  }
  if (total > 1 + 1e-9) throw new RangeError(`Fault settings under ${group} add up to ${total}; their sum must not exceed 1.`);
  for (const status of http.serverErrorStatuses ?? []) {
    if (!Number.isInteger(status) || status < 500 || status > 599) throw new RangeError(`Fault setting ${group}.serverErrorStatuses must hold 5xx statuses; got ${String(status)}.`);
  }
}

export class HttpFaultInjector {
  #settings: HttpFaultSettings;
  #random: () => number;
  #stats: HttpFaultStats = emptyHttpFaultStats();
  /** Request key → epoch ms before which a repeat of that request is premature. */
  readonly #retryNotBefore = new Map<string, number>();

  constructor(settings: HttpFaultSettings = {}, seed = 1) {
    validateHttpFaultSettings(settings);
    this.#settings = structuredClone(settings);
    this.#random = seededRandom(seed).next;
  }

  get settings(): HttpFaultSettings {
    return structuredClone(this.#settings);
  }

  stats(): HttpFaultStats {
    return { ...this.#stats };
  }

  /** Counts a call that no fault may strike (e.g. on a surface the faults leave alone). */
  pass(requestKey: string, nowInMs: number = Date.now()): void {
    this.#stats.requests++;
    const notBefore = this.#retryNotBefore.get(requestKey);
    if (notBefore === undefined) return;
    this.#retryNotBefore.delete(requestKey);
    if (nowInMs < notBefore) this.#stats.prematureRetries++;
    else this.#stats.retriesAfterWaiting++;
  }

  /** Decides the fate of one call; `requestKey` identifies a retry of the same request. */
  draw(requestKey: string, nowInMs: number = Date.now()): HttpFaultDecision {
    this.pass(requestKey, nowInMs);
    const http = this.#settings;
    const r = this.#random();
    const retryAfterInSeconds = http.retryAfterInSeconds ?? 1;
    let edge = http.throttleFraction ?? 0;
    if (r < edge) {
      this.#stats.throttled++;
      this.#retryNotBefore.set(requestKey, nowInMs + retryAfterInSeconds * 1000);
      return { kind: 'throttle', retryAfterInSeconds };
    }
    edge += http.serverErrorFraction ?? 0;
    if (r < edge) {
      this.#stats.serverErrors++;
      const statuses = http.serverErrorStatuses?.length ? http.serverErrorStatuses : [500, 503];
      const status = statuses[Math.floor(this.#random() * statuses.length)];
      if (status === 503) {
        this.#retryNotBefore.set(requestKey, nowInMs + retryAfterInSeconds * 1000);
        return { kind: 'serverError', status, retryAfterInSeconds };
      }
      return { kind: 'serverError', status };
    }
    edge += http.dropConnectionFraction ?? 0;
    if (r < edge) {
      this.#stats.dropped++;
      return { kind: 'drop' };
    }
    edge += http.dropResponseFraction ?? 0;
    if (r < edge) {
      this.#stats.droppedResponses++;
      return { kind: 'dropResponse' };
    }
    edge += http.slowFraction ?? 0;
    if (r < edge) {
      this.#stats.slowed++;
      return { kind: 'slow', delayInMs: http.slowResponseInMs ?? 2000 };
    }
    return { kind: 'none' };
  }
}
