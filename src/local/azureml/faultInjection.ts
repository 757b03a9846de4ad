// Fault injection for the Azure ML emulator: a seeded share of ARM and data-plane calls are throttled
// (429 + Retry-After), fail with 500/503, lose their connection or answer slowly, a share of jobs
// fail, get preempted or finish without their outputs, and a share of deployment creates/updates fail
// to provision. Draws come from a seeded generator so a test that makes the same calls in the same
// order sees the same faults. It also checks that clients wait as long as the Retry-After it
// announced before they try the same request again.

export type FaultSurface = 'arm' | 'dataPlane';

export interface HttpFaultSettings {
  /** Share (0..1) of calls answered 429 Too Many Requests with a Retry-After header. */
  throttleFraction?: number;
  /** Share of calls answered with a server error drawn from `serverErrorStatuses`. */
  serverErrorFraction?: number;
  /** Default [500, 503]; 503 carries Retry-After as Azure's front doors do. */
  serverErrorStatuses?: number[];
  /** Share of calls whose connection is destroyed before any response. */
  dropConnectionFraction?: number;
  /** Share of calls answered only after `slowResponseInMs`. */
  slowFraction?: number;
  slowResponseInMs?: number;
  /** Retry-After announced on 429/503; default 1 (seconds, as ARM sends it). */
  retryAfterInSeconds?: number;
  /** Which surfaces the faults apply to; default both. */
  surfaces?: FaultSurface[];
}

export interface JobFaultSettings {
  /** Share of jobs that fail while running (a simulated node failure). */
  failFraction?: number;
  /** Share of jobs cancelled while running, as low-priority compute gets preempted. */
  preemptFraction?: number;
  /** Share of jobs that end Completed but without their predictions file. */
  missingOutputsFraction?: number;
}

export interface DeploymentFaultSettings {
  /** Share of batch deployment creates/updates whose provisioning fails (the operation ends Failed). */
  failFraction?: number;
}

export interface FaultSettings {
  /** Seed of the draws; the same seed and the same call order give the same faults. Default 1. */
  seed?: number;
  http?: HttpFaultSettings;
  jobs?: JobFaultSettings;
  deployments?: DeploymentFaultSettings;
}

export type HttpFaultDecision =
  | { kind: 'none' }
  | { kind: 'throttle'; retryAfterInSeconds: number }
  | { kind: 'serverError'; status: number; retryAfterInSeconds?: number }
  | { kind: 'drop' }
  | { kind: 'slow'; delayInMs: number };

export type JobFaultPlan = 'none' | 'fail' | 'preempt' | 'missingOutputs';

export interface FaultStats {
  requests: number;
  throttled: number;
  serverErrors: number;
  dropped: number;
  slowed: number;
  /** Requests repeated after a Retry-After once the announced time had passed. */
  retriesAfterWaiting: number;
  /** Requests repeated before the announced Retry-After had passed. */
  prematureRetries: number;
  jobFaults: Record<Exclude<JobFaultPlan, 'none'>, number>;
  /** Deployment creates/updates made to fail. */
  deploymentFaults: number;
}

/** A small, fast, seedable generator (mulberry32); quality is ample for fault draws and sample data. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function emptyStats(): FaultStats {
  return {
    requests: 0, throttled: 0, serverErrors: 0, dropped: 0, slowed: 0, retriesAfterWaiting: 0, prematureRetries: 0,
    jobFaults: { fail: 0, preempt: 0, missingOutputs: 0 },
    deploymentFaults: 0,
  };
}

export class FaultInjector {
  #settings: FaultSettings = {};
  #httpRandom: () => number = seededRandom(1);
  #jobRandom: () => number = seededRandom(2);
  #deploymentRandom: () => number = seededRandom(3);
  #stats: FaultStats = emptyStats();
  /** Request key → epoch ms before which a repeat of that request is premature. */
  readonly #retryNotBefore = new Map<string, number>();

  constructor(settings: FaultSettings = {}) {
    this.set(settings);
  }

  /** Replaces the settings and restarts the draws and counters, so a test starts from a known point. */
  set(settings: FaultSettings): void {
    validateFaultSettings(settings);
    this.#settings = structuredClone(settings);
    const seed = settings.seed ?? 1;
    // Separate streams: the order of HTTP calls must not shift which jobs fail, and vice versa.
    this.#httpRandom = seededRandom(seed);
    this.#jobRandom = seededRandom(seed ^ 0x5bd1e995);
    this.#deploymentRandom = seededRandom(seed ^ 0x27d4eb2f);
    this.#stats = emptyStats();
    this.#retryNotBefore.clear();
  }

  get settings(): FaultSettings {
    return structuredClone(this.#settings);
  }

  stats(): FaultStats {
    return structuredClone(this.#stats);
  }

  /** Decides the fate of one call; `requestKey` identifies a retry of the same request. */
  drawHttp(surface: FaultSurface, requestKey: string, nowInMs: number = Date.now()): HttpFaultDecision {
    this.#stats.requests++;
    const notBefore = this.#retryNotBefore.get(requestKey);
    if (notBefore !== undefined) {
      this.#retryNotBefore.delete(requestKey);
      if (nowInMs < notBefore) this.#stats.prematureRetries++;
      else this.#stats.retriesAfterWaiting++;
    }
    const http = this.#settings.http;
    if (!http || (http.surfaces && !http.surfaces.includes(surface))) return { kind: 'none' };
    const r = this.#httpRandom();
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
      const status = statuses[Math.floor(this.#httpRandom() * statuses.length)];
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
    edge += http.slowFraction ?? 0;
    if (r < edge) {
      this.#stats.slowed++;
      return { kind: 'slow', delayInMs: http.slowResponseInMs ?? 2000 };
    }
    return { kind: 'none' };
  }

  /** Decides, when a job is submitted, whether and how it will misbehave. */
  drawJob(): JobFaultPlan {
    const jobs = this.#settings.jobs;
    if (!jobs) return 'none';
    const r = this.#jobRandom();
    let edge = jobs.failFraction ?? 0;
    let plan: JobFaultPlan = 'none';
    if (r < edge) plan = 'fail';
    else if (r < (edge += jobs.preemptFraction ?? 0)) plan = 'preempt';
    else if (r < (edge += jobs.missingOutputsFraction ?? 0)) plan = 'missingOutputs';
    if (plan !== 'none') this.#stats.jobFaults[plan]++;
    return plan;
  }

  /** Decides, when a deployment create/update starts, whether its provisioning will fail. */
  drawDeploymentFailure(): boolean {
    const fraction = this.#settings.deployments?.failFraction ?? 0;
    if (fraction <= 0 || this.#deploymentRandom() >= fraction) return false;
    this.#stats.deploymentFaults++;
    return true;
  }
}

/** Rejects settings whose fractions are out of range or add up to more than every call. */
export function validateFaultSettings(settings: FaultSettings): void {
  const check = (group: string, fractions: Array<[string, number | undefined]>): void => {
    let total = 0;
    for (const [name, value] of fractions) {
      if (value === undefined) continue;
      if (typeof value !== 'number' || !(value >= 0 && value <= 1)) {
        throw new RangeError(`Fault setting ${group}.${name} must be a number between 0 and 1; got ${String(value)}.`);
      }
      total += value;
    }
    if (total > 1 + 1e-9) throw new RangeError(`Fault settings under ${group} add up to ${total}; their sum must not exceed 1.`);
  };
  const http = settings.http ?? {};
  check('http', [['throttleFraction', http.throttleFraction], ['serverErrorFraction', http.serverErrorFraction],
    ['dropConnectionFraction', http.dropConnectionFraction], ['slowFraction', http.slowFraction]]);
  const jobs = settings.jobs ?? {};
  check('jobs', [['failFraction', jobs.failFraction], ['preemptFraction', jobs.preemptFraction], ['missingOutputsFraction', jobs.missingOutputsFraction]]);
  check('deployments', [['failFraction', settings.deployments?.failFraction]]);
}
