// Fault injection for the Azure ML emulator: a seeded share of ARM and data-plane calls are throttled
// (429 + Retry-After), fail with 500/503, lose their connection (before or after the call took effect)
// or answer slowly (@batchpilot/local-platform), a share of jobs fail, get preempted or finish
// without their outputs, a share of the jobs' status events is never published, and a share of
// deployment creates/updates fail to provision. Draws come from a seeded generator so a test that makes
// the same calls in the same order sees the same faults. It also checks that clients wait as long as
// the Retry-After it announced before they try the same request again.
import { HttpFaultDecision, HttpFaultInjector, HttpFaultSettings as SharedHttpFaultSettings, HttpFaultStats, validateHttpFaultSettings } from '@batchpilot/local-platform';

export type FaultSurface = 'arm' | 'dataPlane';

export type { HttpFaultDecision };

export interface HttpFaultSettings extends SharedHttpFaultSettings {
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

export interface JobEventFaultSettings {
  /** Share of job status events (RunStatusChanged, RunCompleted) never published, as if lost on the way. */
  lossFraction?: number;
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
  jobEvents?: JobEventFaultSettings;
  deployments?: DeploymentFaultSettings;
}

export type JobFaultPlan = 'none' | 'fail' | 'preempt' | 'missingOutputs';

export interface FaultStats extends HttpFaultStats {
  jobFaults: Record<Exclude<JobFaultPlan, 'none'>, number>;
  /** Job status events not published. */
  lostJobEvents: number;
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

function emptyStats(): Omit<FaultStats, keyof HttpFaultStats> {
  return { jobFaults: { fail: 0, preempt: 0, missingOutputs: 0 }, lostJobEvents: 0, deploymentFaults: 0 };
}

export class FaultInjector {
  #settings: FaultSettings = {};
  #http = new HttpFaultInjector();
  #jobRandom: () => number = seededRandom(2);
  #jobEventRandom: () => number = seededRandom(4);
  #deploymentRandom: () => number = seededRandom(3);
  #stats: Omit<FaultStats, keyof HttpFaultStats> = emptyStats();

  constructor(settings: FaultSettings = {}) {
    this.set(settings);
  }

  /** Replaces the settings and restarts the draws and counters, so a test starts from a known point. */
  set(settings: FaultSettings): void {
    validateFaultSettings(settings);
    this.#settings = structuredClone(settings);
    const seed = settings.seed ?? 1;
    // Separate streams: the order of HTTP calls must not shift which jobs fail, and vice versa.
    const { surfaces: _surfaces, ...http } = settings.http ?? {};
    this.#http = new HttpFaultInjector(http, seed);
    this.#jobRandom = seededRandom(seed ^ 0x5bd1e995);
    this.#jobEventRandom = seededRandom(seed ^ 0x1b873593);
    this.#deploymentRandom = seededRandom(seed ^ 0x27d4eb2f);
    this.#stats = emptyStats();
  }

  get settings(): FaultSettings {
    return structuredClone(this.#settings);
  }

  stats(): FaultStats {
    return { ...this.#http.stats(), ...structuredClone(this.#stats) };
  }

  /** Decides the fate of one call; `requestKey` identifies a retry of the same request. */
  drawHttp(surface: FaultSurface, requestKey: string, nowInMs: number = Date.now()): HttpFaultDecision {
    const http = this.#settings.http;
    if (!http || (http.surfaces && !http.surfaces.includes(surface))) {
      this.#http.pass(requestKey, nowInMs);
      return { kind: 'none' };
    }
    return this.#http.draw(requestKey, nowInMs);
  }

  /** Decides whether one of a job's status events is lost instead of published. */
  drawJobEventLoss(): boolean {
    const fraction = this.#settings.jobEvents?.lossFraction ?? 0;
    if (fraction <= 0 || this.#jobEventRandom() >= fraction) return false;
    this.#stats.lostJobEvents++;
    return true;
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
  validateHttpFaultSettings(settings.http ?? {});
  const jobs = settings.jobs ?? {};
  check('jobs', [['failFraction', jobs.failFraction], ['preemptFraction', jobs.preemptFraction], ['missingOutputsFraction', jobs.missingOutputsFraction]]);
  check('jobEvents', [['lossFraction', settings.jobEvents?.lossFraction]]);
  check('deployments', [['failFraction', settings.deployments?.failFraction]]);
}
