// Route health: the slo: section as the routes file checks it, and the attainment math the operator
// API, the dashboard and `batchpilot routes health` show (success rate, p95 duration, failed-file ratio,
// error-budget burn rate, the trend), over the last 24 hours and over the route's window.
import { parseRoutes, RoutesFileError } from '../../src/config/routes';
import { windowInSeconds } from '../../src/config/sloWindows';
import { percentile, periodHealth, routeHealth, trend } from '../../src/operator/serviceLevelAttainment';
import type { RunMeasurements } from '../../src/domain/runMeasurements';
import { routeHealthTable } from '../../src/operator/cli/cliFormat';

const NOW = new Date('2026-12-04T12:00:00Z');

function routesWith(slo: string): string {
  return `routes:\n  - name: nightly\n    trigger: { storageAccounts: [acct], container: incoming }\n    target: { endpoint: churn }\n    slo: ${slo}\n`;
}

function problemOf(slo: string): string {
  try {
    parseRoutes(routesWith(slo), 'routes.yaml', {});
  } catch (err) {
    expect(err).toBeInstanceOf(RoutesFileError);
    return (err as Error).message;
  }
  throw new Error('expected the slo section to be refused');
}

let seq = 0;
function run(hoursAgo: number, outcome: string, durationInMinutes: number, extra: Partial<RunMeasurements> = {}): RunMeasurements {
  const finishedAt = new Date(NOW.getTime() - hoursAgo * 3_600_000).toISOString();
  return {
    runId: `bp-nightly-${++seq}`,
    route: 'nightly',
    kind: 'blob',
    outcome,
    startedAt: new Date(Date.parse(finishedAt) - durationInMinutes * 60_000).toISOString(),
    finishedAt,
    durationInSeconds: durationInMinutes * 60,
    validation: 'passed',
    resubmissions: 0,
    controlPlaneCalls: 4,
    ...extra,
  };
}

describe('the slo: section of a route', () => {
  it('takes the objectives with a window of 7 days by default', () => {
    const file = parseRoutes(routesWith('{ successRate: 0.99, p95DurationInMinutes: 90, maxFailedFileRatio: 0.01 }'), 'routes.yaml', {});
    expect(file.routes[0].slo).toEqual({ successRate: 0.99, p95DurationInMinutes: 90, maxFailedFileRatio: 0.01, window: '7d' });
    expect(windowInSeconds('24h')).toBe(86_400);
    expect(windowInSeconds('90m')).toBe(5_400);
  });

  it('refuses a success rate written as a percentage, a window it cannot read, a window over 90 days, an unknown field and an empty section, naming the field', () => {
    expect(problemOf('{ successRate: 99 }')).toMatch(/route 'nightly', field slo\.successRate: must be a ratio between 0 and 1/);
    expect(problemOf('{ successRate: 1 }')).toMatch(/slo\.successRate: must be below 1/);
    expect(problemOf('{ successRate: 0.99, window: "7 days" }')).toMatch(/slo\.window: '7 days' is not a window: write a whole number and m, h or d/);
    expect(problemOf('{ successRate: 0.99, window: 120d }')).toMatch(/slo\.window: '120d' is longer than 90d/);
    expect(problemOf('{ successRate: 0.99, windw: 7d }')).toMatch(/slo: unknown field 'windw' \(known fields: successRate, p95DurationInMinutes, maxFailedFileRatio, window\)/);
    expect(problemOf('{ window: 7d }')).toMatch(/slo: states no objective/);
  });
});

describe('attainment of a route', () => {
  const slo = { successRate: 0.9, p95DurationInMinutes: 30, maxFailedFileRatio: 0.05, window: '7d' };

  it('takes the nearest-rank 95th percentile', () => {
    expect(percentile([], 95)).toBeUndefined();
    expect(percentile([5], 95)).toBe(5);
    expect(percentile(Array.from({ length: 100 }, (_, i) => i + 1), 95)).toBe(95);
    expect(percentile([1, 2, 3, 100], 95)).toBe(100);
  });

  it('meets every objective when the runs do, with a burn rate of 0', () => {
    const runs = [run(1, 'Completed', 10, { failedFileRatio: 0 }), run(30, 'Completed', 20, { failedFileRatio: 0.01 })];
    const p = periodHealth(runs, new Date(NOW.getTime() - 7 * 86_400_000), NOW, slo);
    expect(p).toMatchObject({ runs: 2, succeeded: 2, successRate: 1, p95DurationInMinutes: 20, worstFailedFileRatio: 0.01, attained: true, burnRate: 0 });
    expect(p.objectives.map((o) => [o.name, o.met])).toEqual([['successRate', true], ['p95DurationInMinutes', true], ['maxFailedFileRatio', true]]);
  });

  it('misses the success rate and burns the budget 2.5 times as fast when a quarter of the runs fail against a 90% objective', () => {
    const runs = [run(1, 'Completed', 5), run(2, 'Failed', 5), run(3, 'Completed', 5), run(4, 'ValidationFailed', 5), run(5, 'Completed', 5), run(6, 'Completed', 5), run(7, 'Completed', 5), run(8, 'Completed', 5)];
    const p = periodHealth(runs, new Date(NOW.getTime() - 86_400_000), NOW, slo);
    expect(p.successRate).toBe(0.75);
    expect(p.burnRate).toBe(2.5);
    expect(p.attained).toBe(false);
    expect(p.objectives.find((o) => o.name === 'successRate')).toEqual({ name: 'successRate', objective: 0.9, actual: 0.75, met: false });
  });

  it('judges 24 hours and the window apart: an old failure counts only in the window', () => {
    const runs = [run(1, 'Completed', 10), run(2, 'Completed', 10), run(50, 'Failed', 10), run(51, 'Completed', 100, { failedFileRatio: 0.2 })];
    const h = routeHealth({ route: 'nightly', kind: 'blob', slo, runs, now: NOW });
    expect(h.last24h).toMatchObject({ runs: 2, successRate: 1, attained: true, burnRate: 0 });
    expect(h.overWindow).toMatchObject({ runs: 4, successRate: 0.75, attained: false, burnRate: 2.5, worstFailedFileRatio: 0.2 });
    expect(h.overWindow.objectives.find((o) => o.name === 'maxFailedFileRatio')).toMatchObject({ met: false, runsOver: 1, actual: 0.2 });
    expect(h.overWindow.objectives.find((o) => o.name === 'p95DurationInMinutes')).toMatchObject({ met: false, actual: 100 });
    expect(h.lastRun?.runId).toBe(runs[0].runId);
  });

  it('says nothing is judged when no run finished, rather than calling the route healthy', () => {
    const h = routeHealth({ route: 'nightly', kind: 'blob', slo, runs: [], now: NOW });
    expect(h.last24h.attained).toBeUndefined();
    expect(h.last24h.burnRate).toBeUndefined();
    expect(h.last24h.objectives.every((o) => o.met === undefined)).toBe(true);
    expect(routeHealthTable({ asOf: NOW.toISOString(), routes: [h] })).toMatch(/nightly\s+no runs/);
  });

  it('draws the trend per day over a 7-day window and per hour over a 24-hour one, empty periods included', () => {
    const runs = [run(1, 'Completed', 10), run(1.2, 'Failed', 30), run(49, 'Completed', 5)];
    const daily = trend(runs, new Date(NOW.getTime() - 7 * 86_400_000), NOW);
    expect(daily).toHaveLength(8);
    expect(daily.filter((p) => p.runs > 0).map((p) => [p.runs, p.successRate, p.p95DurationInMinutes])).toEqual([[1, 1, 5], [2, 0.5, 30]]);
    const hourly = routeHealth({ route: 'nightly', kind: 'blob', slo: { ...slo, window: '24h' }, runs, now: NOW }).trend;
    expect(hourly.length).toBe(25);
    expect(hourly.reduce((n, p) => n + p.runs, 0)).toBe(2);
  });

  it('prints MISSED in the CLI table for a route that misses an objective', () => {
    const h = routeHealth({ route: 'nightly', kind: 'blob', slo, runs: [run(1, 'Failed', 10), run(2, 'Completed', 10)], now: NOW });
    const text = routeHealthTable({ asOf: NOW.toISOString(), routes: [h] });
    expect(text).toMatch(/nightly\s+MISSED\s+2 \(50\.0%\)\s+5×/);
    expect(text).toMatch(/success 50\.0%\/90\.0% MISSED/);
  });
});
