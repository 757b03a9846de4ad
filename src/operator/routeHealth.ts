// GET ops/health: every configured route's health — the attainment of its `slo:` section over 24 h and
// over its window, the error budget's burn rate, a trend for the dashboard — from the measurements table
// (one range query of one partition per route), plus the runs the run index shows unfinished past the
// route's timeout (one bounded list per route). Answers are shared across requests for a few seconds.
import { appRoutes } from '../config/runtimeConfig';
import type { BlobRoute } from '../config/routes';
import { appRunMeasurements, RunMeasurementStore } from '../azure/runMeasurementStore';
import { appRunIndex, RunIndex } from '../azure/runIndex';
import { healthWindowInSeconds, routeHealth } from './serviceLevelAttainment';
import type { RouteHealth, RouteHealthResponse } from './operatorApiTypes';
import { OperatorError } from './operatorHttp';
import { emitStuckRuns, telemetryEnabled } from '../azure/runTelemetry';

const DAY_IN_MS = 86_400_000;
/** A run still unfinished this long after its job's timeout is stuck: validation and the ending have had time. */
export const STUCK_GRACE_IN_MINUTES = 60;
/** Stuck runs are counted up to this many per route. */
const STUCK_COUNT_LIMIT = 100;
const CACHE_IN_MS = 5_000;

export interface RouteHealthSources {
  measurements: RunMeasurementStore;
  /** Absent: stuck runs are not counted. */
  index?: RunIndex;
}

/** Runs of a blob route still unfinished past its timeout plus the grace, up to the limit. */
export async function countStuckRuns(index: RunIndex, route: BlobRoute, now: Date): Promise<number> {
  const toMs = now.getTime() - (route.wait.timeoutInMinutes + STUCK_GRACE_IN_MINUTES) * 60_000;
  const page = await index.list({ routes: [route.name], kinds: ['blob'], statuses: ['Pending', 'Running'], toMs, pageSize: STUCK_COUNT_LIMIT }, now.getTime());
  return page.runs.length;
}

/** Sends each blob route's stuck runs to Application Insights (the stuck-runs alert); nothing without it. */
export async function reportStuckRuns(index: RunIndex, now = new Date()): Promise<Record<string, number>> {
  if (!telemetryEnabled()) return {};
  const counts: Record<string, number> = {};
  for (const route of appRoutes().routes) {
    counts[route.name] = await countStuckRuns(index, route, now);
    emitStuckRuns(route.name, counts[route.name]);
  }
  return counts;
}

export async function readRouteHealth(sources: RouteHealthSources, only: string | undefined, now = new Date()): Promise<RouteHealthResponse> {
  const { routes, modelRoutes } = appRoutes();
  const all = [...routes.map((r) => ({ name: r.name, kind: 'blob' as const, blob: r })), ...modelRoutes.map((r) => ({ name: r.name, kind: 'model' as const, blob: undefined }))];
  const wanted = only ? all.filter((r) => r.name === only) : all;
  if (only && wanted.length === 0) throw new OperatorError(404, 'UnknownRoute', `No route is named '${only}'; the routes are ${all.map((r) => r.name).join(', ') || '(none configured)'}.`);
  const answers = await Promise.all(
    wanted.map(async (r): Promise<RouteHealth> => {
      const slo = r.blob?.slo;
      const since = new Date(now.getTime() - Math.max(healthWindowInSeconds(slo) * 1000, DAY_IN_MS));
      const [read, stuckRuns] = await Promise.all([
        sources.measurements.listSince(r.name, since),
        r.blob && sources.index ? countStuckRuns(sources.index, r.blob, now) : Promise.resolve(undefined),
      ]);
      return routeHealth({ route: r.name, kind: r.kind, slo, runs: read.runs, now, truncated: read.truncated, stuckRuns });
    }),
  );
  return { asOf: now.toISOString(), routes: answers };
}

const cache = new Map<string, { at: number; answer: Promise<RouteHealthResponse> }>();

/** The health of every route (or one), shared across requests for five seconds. */
export function cachedRouteHealth(only: string | undefined): Promise<RouteHealthResponse> {
  const key = only ?? '';
  const hit = cache.get(key);
  if (hit && Date.now() - hit.at < CACHE_IN_MS) return hit.answer;
  const answer = (async () => readRouteHealth({ measurements: await appRunMeasurements(), index: await appRunIndex() }, only))();
  cache.set(key, { at: Date.now(), answer });
  answer.catch(() => cache.delete(key));
  return answer;
}
