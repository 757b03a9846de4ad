// A route's health from its runs' measurements, with no I/O: per objective of its `slo:` section the
// figure and whether it is met, over the last 24 hours and over the objectives' window; the error
// budget's burn rate; and a trend of success and duration per hour or per day for the dashboard's chart.
//
// - successRate: successful runs / finished runs. Burn rate = (1 - success rate) / (1 - objective):
//   1 spends the budget exactly over the window, 2 twice as fast (the alert's threshold).
// - p95DurationInMinutes: the 95th percentile (nearest rank) of finished runs' durations.
// - maxFailedFileRatio: the worst failed-file ratio of a run in the period, and how many runs exceeded it.
import type { ServiceLevelObjectives } from '../config/serviceLevelObjectives';
import { windowInSeconds } from '../config/sloWindows';
import { RunMeasurements, SUCCESSFUL_OUTCOMES } from '../domain/runMeasurements';
import type { ObjectiveAttainment, PeriodHealth, RouteHealth, TrendPoint } from './operatorApiTypes';

const DAY_IN_SECONDS = 86_400;

/** The nearest-rank percentile of a list of numbers; undefined for an empty one. */
export function percentile(values: readonly number[], p: number): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))];
}

function round(value: number | undefined, digits = 4): number | undefined {
  if (value === undefined) return undefined;
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

function isSuccess(m: RunMeasurements): boolean {
  return SUCCESSFUL_OUTCOMES.includes(m.outcome);
}

export function periodHealth(runs: readonly RunMeasurements[], from: Date, to: Date, slo: ServiceLevelObjectives | undefined): PeriodHealth {
  const inPeriod = runs.filter((m) => {
    const at = Date.parse(m.finishedAt);
    return at >= from.getTime() && at <= to.getTime();
  });
  const succeeded = inPeriod.filter(isSuccess).length;
  const successRate = inPeriod.length ? succeeded / inPeriod.length : undefined;
  const durations = inPeriod.map((m) => m.durationInSeconds / 60);
  const p95 = percentile(durations, 95);
  const ratios = inPeriod.map((m) => m.failedFileRatio).filter((r): r is number => r !== undefined);
  const worstRatio = ratios.length ? Math.max(...ratios) : undefined;
  const objectives: ObjectiveAttainment[] = [];
  if (slo?.successRate !== undefined) {
    objectives.push({ name: 'successRate', objective: slo.successRate, actual: round(successRate), met: successRate === undefined ? undefined : successRate >= slo.successRate });
  }
  if (slo?.p95DurationInMinutes !== undefined) {
    objectives.push({ name: 'p95DurationInMinutes', objective: slo.p95DurationInMinutes, actual: round(p95, 2), met: p95 === undefined ? undefined : p95 <= slo.p95DurationInMinutes });
  }
  if (slo?.maxFailedFileRatio !== undefined) {
    const limit = slo.maxFailedFileRatio;
    objectives.push({
      name: 'maxFailedFileRatio',
      objective: limit,
      actual: round(worstRatio),
      met: worstRatio === undefined ? undefined : worstRatio <= limit,
      runsOver: ratios.filter((r) => r > limit).length,
    });
  }
  const judged = objectives.filter((o) => o.met !== undefined);
  const budget = slo?.successRate !== undefined ? 1 - slo.successRate : undefined;
  return {
    from: from.toISOString(),
    to: to.toISOString(),
    runs: inPeriod.length,
    succeeded,
    failed: inPeriod.length - succeeded,
    successRate: round(successRate),
    p95DurationInMinutes: round(p95, 2),
    worstFailedFileRatio: round(worstRatio),
    objectives,
    attained: judged.length === 0 ? undefined : judged.every((o) => o.met),
    burnRate: budget !== undefined && successRate !== undefined ? round((1 - successRate) / budget, 2) : undefined,
  };
}

/** Points per hour for windows up to two days, per day beyond; oldest first, empty buckets included. */
export function trend(runs: readonly RunMeasurements[], from: Date, to: Date): TrendPoint[] {
  const spanInSeconds = (to.getTime() - from.getTime()) / 1000;
  const stepInMs = (spanInSeconds <= 2 * DAY_IN_SECONDS ? 3600 : DAY_IN_SECONDS) * 1000;
  const start = Math.floor(from.getTime() / stepInMs) * stepInMs;
  const points: TrendPoint[] = [];
  for (let at = start; at <= to.getTime(); at += stepInMs) {
    const bucket = runs.filter((m) => {
      const t = Date.parse(m.finishedAt);
      return t >= at && t < at + stepInMs;
    });
    const succeeded = bucket.filter(isSuccess).length;
    points.push({
      from: new Date(at).toISOString(),
      runs: bucket.length,
      successRate: bucket.length ? round(succeeded / bucket.length) : undefined,
      p95DurationInMinutes: round(percentile(bucket.map((m) => m.durationInSeconds / 60), 95), 2),
    });
  }
  return points;
}

export interface RouteHealthInput {
  route: string;
  kind: 'blob' | 'model';
  slo?: ServiceLevelObjectives;
  /** The route's runs finished since `now - max(window, 24 h)`, any order. */
  runs: readonly RunMeasurements[];
  now: Date;
  /** True when the read stopped before reaching the start of the window. */
  truncated?: boolean;
  /** Runs still unfinished past their route's timeout. */
  stuckRuns?: number;
}

/** The window a route's health is computed over: its slo's, else 7 days. */
export function healthWindowInSeconds(slo: ServiceLevelObjectives | undefined): number {
  return windowInSeconds(slo?.window ?? '7d') ?? 7 * DAY_IN_SECONDS;
}

export function routeHealth(input: RouteHealthInput): RouteHealth {
  const { now, slo } = input;
  const windowSeconds = healthWindowInSeconds(slo);
  const windowFrom = new Date(now.getTime() - windowSeconds * 1000);
  const dayFrom = new Date(now.getTime() - DAY_IN_SECONDS * 1000);
  const last24h = periodHealth(input.runs, dayFrom, now, slo);
  const window = periodHealth(input.runs, windowFrom, now, slo);
  const latest = [...input.runs].sort((a, b) => b.finishedAt.localeCompare(a.finishedAt))[0];
  return {
    route: input.route,
    kind: input.kind,
    slo: slo ? { ...slo } : undefined,
    window: slo?.window ?? '7d',
    last24h,
    overWindow: window,
    trend: trend(input.runs, windowSeconds <= DAY_IN_SECONDS ? dayFrom : windowFrom, now),
    lastRun: latest ? { runId: latest.runId, outcome: latest.outcome, finishedAt: latest.finishedAt, drift: latest.drift } : undefined,
    stuckRuns: input.stuckRuns,
    truncated: input.truncated || undefined,
  };
}
