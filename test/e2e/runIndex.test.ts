// The run index on the test run's Azurite, written the way batchpilot's writers write it (starter,
// orchestration activity, operator, backfill): a run appears when it starts and moves through its
// states; a repeated, replayed or late write never moves it backwards or counts it twice; a writer that
// dies between two of its requests loses nothing; and lists, filters, paging and counts each cost a
// small, fixed number of Table requests, counted on the wire, however many runs there are.
import { recordInstance } from '../../src/activities/runIndexActivities';
import { indexVersion } from '../../src/azure/runIndexKeys';
import type { RunIndexUpdate } from '../../src/azure/runIndex';
import { searchableText, summariseRun } from '../../src/operator/runSummaries';
import { ENTRY_SHARDS } from '../../src/azure/runIndexKeys';
import type { RunIndex } from '../../src/azure/runIndex';
import type { InstanceStatus } from '../../src/operator/runInstances';
import type { RunKind, RunStatus, RunSummary } from '../../src/operator/operatorApiTypes';
import { CountingIndex, countingRunIndex } from '../support/runIndexTables';

const ORCHESTRATION: Record<RunKind, string> = { blob: 'scoreBlobRun', model: 'promoteModel', rollback: 'rollbackModel' };

interface RunState {
  runId: string;
  kind?: RunKind;
  route?: string;
  file?: string;
  runtimeStatus: string;
  outcome?: string;
  phase?: string;
  createdAt: string;
}

function instance(r: RunState): InstanceStatus {
  const kind = r.kind ?? 'blob';
  const input =
    kind === 'blob'
      ? { runId: r.runId, route: { name: r.route ?? 'alpha', target: { endpoint: 'churn-scoring' } }, files: [{ url: `http://127.0.0.1:10000/devstoreaccount1/input/${r.file ?? `${r.route ?? 'alpha'}/${r.runId}.csv`}`, blobPath: r.file ?? `${r.route ?? 'alpha'}/${r.runId}.csv` }] }
      : { runId: r.runId, route: { name: r.route ?? 'models', target: { endpoint: 'churn-scoring' } }, routeName: r.route ?? 'models', model: { name: 'churn', version: '7' } };
  return {
    name: ORCHESTRATION[kind],
    instanceId: r.runId,
    runtimeStatus: r.runtimeStatus,
    createdTime: r.createdAt,
    lastUpdatedTime: r.createdAt,
    input,
    output: r.outcome ? { outcome: r.outcome, reason: r.outcome === 'Completed' ? undefined : `it ${r.outcome}` } : null,
    customStatus: r.phase ? { phase: r.phase } : null,
  };
}

/** Writes a state as its writer would, at `atMs` (the version's clock). */
async function write(index: RunIndex, r: RunState, atMs: number, seq = 0): Promise<boolean> {
  return (await recordInstance(index, instance(r), atMs, seq))!.applied;
}

async function statusOf(index: RunIndex, runId: string): Promise<string | undefined> {
  return (await index.get(runId))?.summary.status;
}

async function listed(index: RunIndex, q: Partial<Parameters<RunIndex['list']>[0]> = {}, now?: number): Promise<string[]> {
  return (await index.list({ pageSize: 200, ...q }, now)).runs.map((r) => r.runId);
}

const T0 = Date.parse('2026-03-10T08:00:00.000Z');

describe('a run in the index, state by state', () => {
  let c: CountingIndex;
  beforeAll(async () => {
    c = await countingRunIndex();
  });

  it('appears when it is about to start (Pending), runs, and finishes, counted once in each state', async () => {
    const run: RunState = { runId: 'bp-alpha-0001', route: 'alpha', runtimeStatus: 'Pending', createdAt: new Date(T0).toISOString() };
    expect(await write(c.index, run, T0)).toBe(true);
    expect(await listed(c.index)).toEqual(['bp-alpha-0001']);
    expect(await listed(c.index, { statuses: ['Pending'] })).toEqual(['bp-alpha-0001']);
    expect((await c.index.count({})).byStatus).toEqual({ Pending: 1 });

    // The orchestration's first write, with its own clock: it keeps the creation time the starter gave.
    expect(await write(c.index, { ...run, runtimeStatus: 'Running', phase: 'running job', createdAt: new Date(T0 + 900).toISOString() }, T0 + 900)).toBe(true);
    const entry = (await c.index.get('bp-alpha-0001'))!;
    expect(entry.summary).toMatchObject({ status: 'Running', phase: 'running job', createdAt: new Date(T0).toISOString(), route: 'alpha', kind: 'blob', inputs: ['input/alpha/bp-alpha-0001.csv'] });
    expect(await listed(c.index, { statuses: ['Pending'] })).toEqual([]);
    expect(await listed(c.index, { statuses: ['Running'] })).toEqual(['bp-alpha-0001']);
    expect((await c.index.count({})).byStatus).toEqual({ Running: 1 });

    expect(await write(c.index, { ...run, runtimeStatus: 'Completed', outcome: 'ValidationFailed' }, T0 + 60_000)).toBe(true);
    expect(await listed(c.index, { statuses: ['Running'] })).toEqual([]);
    expect(await listed(c.index, { statuses: ['ValidationFailed'] })).toEqual(['bp-alpha-0001']);
    expect(await c.index.count({})).toMatchObject({ total: 1, byStatus: { ValidationFailed: 1 } });
    expect((await c.index.get('bp-alpha-0001'))!.summary.reason).toBe('it ValidationFailed');
  });

  it('writes a new run in a fixed number of Table requests: reads in parallel, one transaction, one row per view, one confirmation', async () => {
    c.requests.length = 0;
    await write(c.index, { runId: 'bp-epsilon-0010', route: 'epsilon', runtimeStatus: 'Completed', outcome: 'Completed', createdAt: new Date(T0 + 500).toISOString() }, T0 + 500);
    const by = (table: string, method?: string): number => c.requests.filter((r) => r.table === table && (!method || r.method === method)).length;
    // The entry and three counter rows read together, then one entity-group transaction.
    expect(by('entries', 'GET')).toBe(4);
    expect(c.requests.filter((r) => r.table === 'entries' && r.url.includes('$batch'))).toHaveLength(1);
    expect(by('byTime') + by('byRoute') + by('byStatus') + by('byKind')).toBe(4);
    expect(c.requests).toHaveLength(10);
  });

  it('never moves a run backwards: a replayed, repeated or late write is refused and counted nowhere', async () => {
    const run: RunState = { runId: 'bp-alpha-0002', route: 'alpha', runtimeStatus: 'Completed', outcome: 'Completed', createdAt: new Date(T0 + 1000).toISOString() };
    expect(await write(c.index, run, T0 + 120_000)).toBe(true);
    // The same write again (an activity run twice), the run's own earlier writes arriving late, and a
    // starter that only now announces it: none change anything.
    expect(await write(c.index, run, T0 + 120_000)).toBe(false);
    expect(await write(c.index, { ...run, runtimeStatus: 'Running', phase: 'validating outputs' }, T0 + 119_000)).toBe(false);
    expect(await write(c.index, { ...run, runtimeStatus: 'Running' }, T0 + 500_000)).toBe(false);
    expect(await write(c.index, { ...run, runtimeStatus: 'Pending' }, T0 + 900_000)).toBe(false);
    expect(await statusOf(c.index, run.runId)).toBe('Completed');
    expect(await listed(c.index, { statuses: ['Running', 'Pending'] })).toEqual([]);
    expect((await c.index.count({})).byStatus).toEqual({ ValidationFailed: 1, Completed: 2 });
    // Within one millisecond, the later write of the orchestration (higher sequence number) wins.
    const gated: RunState = { runId: 'bpm-churn-v7-0003', kind: 'model', route: 'models', runtimeStatus: 'Running', phase: 'awaiting approval', createdAt: new Date(T0 + 2000).toISOString() };
    expect(await write(c.index, gated, T0 + 200_000, 0)).toBe(true);
    expect(await statusOf(c.index, gated.runId)).toBe('AwaitingApproval');
    expect(await write(c.index, { ...gated, phase: 'promoting' }, T0 + 200_000, 1)).toBe(true);
    expect(await write(c.index, gated, T0 + 200_000, 0)).toBe(false);
    expect(await statusOf(c.index, gated.runId)).toBe('Running');
    expect(await listed(c.index, { statuses: ['AwaitingApproval'] })).toEqual([]);
  });

  it('loses nothing when a writer dies after the state is in and before the views are: its retry finishes, nothing counted twice', async () => {
    const run: RunState = { runId: 'bp-beta-0004', route: 'beta', runtimeStatus: 'Pending', createdAt: new Date(T0 + 3000).toISOString() };
    expect(await write(c.index, run, T0 + 3000)).toBe(true);
    // Dies on its first write to the status view, after the entry and counts changed together.
    c.failNext((r) => r.table === 'byStatus' && r.method === 'PUT');
    await expect(write(c.index, { ...run, runtimeStatus: 'Running' }, T0 + 4000)).rejects.toThrow(/socket hang up/);
    expect(await statusOf(c.index, run.runId)).toBe('Running');
    // The activity is run again: the state is already in, the views are brought to it.
    expect(await write(c.index, { ...run, runtimeStatus: 'Running' }, T0 + 4000)).toBe(false);
    expect(await listed(c.index, { statuses: ['Running'] })).toContain(run.runId);
    expect(await listed(c.index, { statuses: ['Pending'] })).toEqual([]);
    expect((await c.index.count({ routes: ['beta'] })).byStatus).toEqual({ Running: 1 });
  });

  it('loses nothing when a writer dies before its transaction: nothing changed, and the retry applies it once', async () => {
    const run: RunState = { runId: 'bp-beta-0005', route: 'beta', runtimeStatus: 'Running', createdAt: new Date(T0 + 5000).toISOString() };
    expect(await write(c.index, run, T0 + 5000)).toBe(true);
    c.failNext((r) => r.table === 'entries' && r.url.includes('$batch'));
    await expect(write(c.index, { ...run, runtimeStatus: 'Completed', outcome: 'Failed' }, T0 + 9000)).rejects.toThrow(/socket hang up/);
    expect(await statusOf(c.index, run.runId)).toBe('Running');
    expect(await write(c.index, { ...run, runtimeStatus: 'Completed', outcome: 'Failed' }, T0 + 9000)).toBe(true);
    expect(await listed(c.index, { statuses: ['Failed'] })).toEqual([run.runId]);
    expect((await c.index.count({ routes: ['beta'] })).byStatus).toEqual({ Running: 1, Failed: 1 });
  });

  it('cleans a status row a dead writer left behind at the run\'s next write', async () => {
    const run: RunState = { runId: 'bp-gamma-0006', route: 'gamma', runtimeStatus: 'Pending', createdAt: new Date(T0 + 6000).toISOString() };
    expect(await write(c.index, run, T0 + 6000)).toBe(true);
    // Dies after writing the new status rows, before removing the Pending one.
    c.failNext((r) => r.table === 'byStatus' && r.method === 'DELETE');
    await expect(write(c.index, { ...run, runtimeStatus: 'Running' }, T0 + 7000)).rejects.toThrow(/socket hang up/);
    expect(await listed(c.index, { statuses: ['Pending'] })).toEqual([run.runId]);
    expect(await write(c.index, { ...run, runtimeStatus: 'Completed', outcome: 'Completed' }, T0 + 8000)).toBe(true);
    expect(await listed(c.index, { statuses: ['Pending', 'Running'], routes: ['gamma'] })).toEqual([]);
    expect(await listed(c.index, { statuses: ['Completed'], routes: ['gamma'] })).toEqual([run.runId]);
  });

  it('takes concurrent writers of one run (a starter racing its orchestration) to the newest state, counted once', async () => {
    const run: RunState = { runId: 'bp-delta-0007', route: 'delta', runtimeStatus: 'Pending', createdAt: new Date(T0 + 10_000).toISOString() };
    await Promise.all([write(c.index, run, T0 + 10_000), write(c.index, { ...run, runtimeStatus: 'Running' }, T0 + 10_050), write(c.index, { ...run, runtimeStatus: 'Completed', outcome: 'Completed' }, T0 + 10_900), write(c.index, { ...run, runtimeStatus: 'Running' }, T0 + 10_400)]);
    expect(await statusOf(c.index, run.runId)).toBe('Completed');
    expect((await c.index.count({ routes: ['delta'] })).byStatus).toEqual({ Completed: 1 });
    expect(await listed(c.index, { routes: ['delta'] })).toEqual([run.runId]);
    expect(await listed(c.index, { statuses: ['Pending', 'Running'], routes: ['delta'] })).toEqual([]);
  });
});

/** The update a starter writes for a run about to start (as indexRunsStarting does). */
function pendingUpdate(r: RunState, atMs: number): RunIndexUpdate {
  const status = instance({ ...r, runtimeStatus: 'Pending' });
  const summary = summariseRun(status)!;
  return { summary, text: searchableText(status, summary), version: indexVersion(summary.status, atMs, 0) };
}

describe('many runs new to the index at once (the run-start timer)', () => {
  const T1 = Date.parse('2026-04-20T23:59:58.000Z');
  // 150 runs on three routes, over a day boundary: more than one transaction of entries and of view rows.
  const burst: RunState[] = Array.from({ length: 150 }, (_, i) => ({ runId: `bp-${['red', 'green', 'blue'][i % 3]}-${String(i).padStart(4, '0')}`, route: ['red', 'green', 'blue'][i % 3], runtimeStatus: 'Pending', createdAt: new Date(T1 + i * 30).toISOString() }));

  it('writes them as one write each would, in a few transactions instead of ten requests a run', async () => {
    const bulk = await countingRunIndex();
    const single = await countingRunIndex();
    await bulk.index.recordNew(burst.map((r) => pendingUpdate(r, T1 + 5000)));
    // Counted on the wire: the one-by-one writes below need ten or more requests each.
    const written = bulk.requests.length;
    for (const r of burst) await single.index.record(pendingUpdate(r, T1 + 5000));
    expect(single.requests.length).toBeGreaterThanOrEqual(150 * 10);
    // Per entry shard one counter read, one transaction and one mark; one transaction per view partition and 100 rows.
    expect(written).toBeLessThanOrEqual(25);
    for (const q of [{}, { routes: ['red'] }, { statuses: ['Pending' as RunStatus] }, { kinds: ['blob' as RunKind] }, { routes: ['blue'], statuses: ['Pending' as RunStatus] }]) {
      expect(await listed(bulk.index, q)).toEqual(await listed(single.index, q));
    }
    expect(await listed(bulk.index)).toHaveLength(150);
    for (const q of [{}, { routes: ['green'] }, { fromMs: T1, toMs: T1 + 1999 }, { fromMs: T1 + 2000 }]) expect((await bulk.index.count(q)).byStatus).toEqual((await single.index.count(q)).byStatus);
    expect((await bulk.index.count({})).byStatus).toEqual({ Pending: 150 });
    for (const r of [burst[0], burst[77], burst[149]]) expect(await bulk.index.get(r.runId)).toEqual(await single.index.get(r.runId));
    // The next state of a bulk-written run is an ordinary write.
    expect(await write(bulk.index, { ...burst[3], runtimeStatus: 'Running' }, T1 + 9000)).toBe(true);
    expect((await bulk.index.count({})).byStatus).toEqual({ Pending: 149, Running: 1 });
    expect(await listed(bulk.index, { statuses: ['Running'] })).toEqual([burst[3].runId]);
  });

  it('leaves a run its orchestration wrote first at its newer state, counted once', async () => {
    const c = await countingRunIndex();
    const runs = burst.slice(0, 5);
    expect(await write(c.index, { ...runs[2], runtimeStatus: 'Running', phase: 'running job' }, T1 + 9000)).toBe(true);
    await c.index.recordNew(runs.map((r) => pendingUpdate(r, T1 + 5000)));
    expect(await statusOf(c.index, runs[2].runId)).toBe('Running');
    expect((await c.index.count({})).byStatus).toEqual({ Pending: 4, Running: 1 });
    expect(await listed(c.index, { statuses: ['Pending'] })).not.toContain(runs[2].runId);
  });

  it('ends at the newest state with no stray row when an orchestration writes between the bulk entries and their views', async () => {
    const c = await countingRunIndex();
    const runs = burst.slice(0, 6);
    // The orchestration of one run starts and writes Running after the bulk entries are in, before their view rows are.
    c.beforeNext((r) => r.table === 'byStatus' && r.url.includes('$batch'), () => write(c.index, { ...runs[4], runtimeStatus: 'Running' }, T1 + 9000));
    await c.index.recordNew(runs.map((r) => pendingUpdate(r, T1 + 5000)));
    expect(await statusOf(c.index, runs[4].runId)).toBe('Running');
    expect(await listed(c.index, { statuses: ['Pending'] })).toEqual(runs.filter((r) => r !== runs[4]).map((r) => r.runId).reverse());
    expect(await listed(c.index, { statuses: ['Running'] })).toEqual([runs[4].runId]);
    expect((await c.index.get(runs[4].runId))!.summary.status).toBe('Running');
    expect((await c.index.list({ pageSize: 50 })).runs.find((r) => r.runId === runs[4].runId)!.status).toBe('Running');
    expect((await c.index.count({})).byStatus).toEqual({ Pending: 5, Running: 1 });
  });

  it('finishes the views run by run when a view transaction fails, and loses nothing when it dies before the entries', async () => {
    const c = await countingRunIndex();
    const runs = burst.slice(10, 16);
    c.failNext((r) => r.table === 'byRoute' && r.url.includes('$batch'));
    await c.index.recordNew(runs.map((r) => pendingUpdate(r, T1 + 5000)));
    expect(await listed(c.index, { routes: [runs[0].route!] })).toEqual(runs.filter((r) => r.route === runs[0].route).map((r) => r.runId).reverse());
    expect(await listed(c.index)).toHaveLength(6);
    const later = burst.slice(20, 23);
    c.failNext((r) => r.table === 'entries' && r.url.includes('$batch'));
    await expect(c.index.recordNew(later.map((r) => pendingUpdate(r, T1 + 5000)))).rejects.toThrow(/socket hang up/);
    expect((await c.index.count({})).byStatus).toEqual({ Pending: 6 });
    // Started again (the timer's next tick): written once.
    await c.index.recordNew(later.map((r) => pendingUpdate(r, T1 + 5000)));
    expect((await c.index.count({})).byStatus).toEqual({ Pending: 9 });
    expect(await listed(c.index)).toHaveLength(9);
  });
});

describe('lists, filters, paging and counts, each a bounded number of Table requests', () => {
  let c: CountingIndex;
  const runs: Array<RunSummary & { t: number }> = [];
  // Three months of runs: 2026-01, 2026-02 and 2026-03 (the newest month holds more than a page).
  const NOW = Date.parse('2026-03-31T12:00:00.000Z');
  const ROUTES = ['alpha', 'beta', 'rare'];
  const OUTCOMES: RunStatus[] = ['Completed', 'Completed', 'Failed', 'ValidationFailed', 'Completed'];

  beforeAll(async () => {
    c = await countingRunIndex();
    const plans: Array<{ state: RunState; at: number }> = [];
    for (let i = 0; i < 72; i++) {
      const month = i < 12 ? 0 : i < 24 ? 1 : 2;
      const t = Date.UTC(2026, month, 1 + ((i * 7) % 27), (i * 5) % 24, i % 60);
      const route = i % 17 === 5 ? 'rare' : ROUTES[i % 2];
      const kind: RunKind = i % 9 === 4 ? 'model' : 'blob';
      const runId = `${kind === 'blob' ? 'bp' : 'bpm'}-${route}-${String(i).padStart(4, '0')}`;
      const running = i % 10 === 3;
      const outcome = kind === 'model' ? (i % 2 ? 'Promoted' : 'Rejected') : OUTCOMES[i % OUTCOMES.length];
      plans.push({ state: { runId, kind, route, file: `${route}/day-${i % 5}/part-${i}.csv`, runtimeStatus: running ? 'Running' : 'Completed', outcome: running ? undefined : outcome, createdAt: new Date(t).toISOString() }, at: t + 60_000 });
    }
    for (let i = 0; i < plans.length; i += 12) await Promise.all(plans.slice(i, i + 12).map((p) => write(c.index, p.state, p.at)));
    for (const p of plans) runs.push({ ...(await c.index.get(p.state.runId))!.summary, t: Date.parse(p.state.createdAt) });
    runs.sort((a, b) => b.t - a.t || (a.runId < b.runId ? 1 : -1));
  }, 120_000);

  beforeEach(() => {
    c.requests.length = 0;
  });

  const ids = (xs: Array<{ runId: string }>): string[] => xs.map((r) => r.runId);

  /** Pages through a query to its end, noting the Table requests each page took. */
  async function pageThrough(q: Partial<Parameters<RunIndex['list']>[0]>, pageSize: number): Promise<{ runs: string[]; requestsPerPage: number[] }> {
    const out: string[] = [];
    const requestsPerPage: number[] = [];
    let after: string | undefined;
    do {
      c.requests.length = 0;
      const page = await c.index.list({ pageSize, ...q, after }, NOW);
      requestsPerPage.push(c.requests.length);
      expect(page.tableRequests).toBe(c.requests.length);
      out.push(...ids(page.runs));
      after = page.next;
    } while (after && requestsPerPage.length < 100);
    return { runs: out, requestsPerPage };
  }

  it('lists the newest runs in one request when the newest month fills the page', async () => {
    const page = await c.index.list({ pageSize: 20 }, NOW);
    expect(ids(page.runs)).toEqual(ids(runs.slice(0, 20)));
    expect(c.requests).toHaveLength(1);
    expect(page.next).toBeDefined();
  });

  it('pages through every run once, newest first, two requests a page at most', async () => {
    const { runs: all, requestsPerPage } = await pageThrough({}, 7);
    expect(all).toEqual(ids(runs));
    expect(Math.max(...requestsPerPage)).toBeLessThanOrEqual(2);
  });

  it.each([
    ['route', { routes: ['beta'] }, (r: RunSummary) => r.route === 'beta', 1],
    ['a rare route', { routes: ['rare'] }, (r: RunSummary) => r.route === 'rare', 1],
    ['status', { statuses: ['Failed'] as RunStatus[] }, (r: RunSummary) => r.status === 'Failed', 1],
    ['kind', { kinds: ['model'] as RunKind[] }, (r: RunSummary) => r.kind === 'model', 1],
    ['route and finished status', { routes: ['alpha'], statuses: ['Completed'] as RunStatus[] }, (r: RunSummary) => r.route === 'alpha' && r.status === 'Completed', 1],
    ['two statuses', { statuses: ['Running', 'ValidationFailed'] as RunStatus[] }, (r: RunSummary) => ['Running', 'ValidationFailed'].includes(r.status), 2],
    ['a time range', { fromMs: Date.UTC(2026, 1, 10), toMs: Date.UTC(2026, 2, 5, 12) }, (r: RunSummary) => Date.parse(r.createdAt) >= Date.UTC(2026, 1, 10) && Date.parse(r.createdAt) <= Date.UTC(2026, 2, 5, 12), 1],
    ['kind and route', { kinds: ['blob'] as RunKind[], routes: ['rare'] }, (r: RunSummary) => r.kind === 'blob' && r.route === 'rare', 1],
  ])('filters by %s: exactly the matching runs, newest first, two requests a page per value at most', async (_name, q, match, values) => {
    const { runs: got, requestsPerPage } = await pageThrough(q, 5);
    expect(got).toEqual(ids(runs.filter(match)));
    expect(got.length).toBeGreaterThan(0);
    expect(Math.max(...requestsPerPage)).toBeLessThanOrEqual(2 * values);
  });

  it('finds text (contains, lower case) within a bounded read, in IDs and blob paths', async () => {
    const page = await c.index.list({ pageSize: 50, text: 'day-3/' }, NOW);
    expect(ids(page.runs)).toEqual(ids(runs.filter((r) => r.inputs.some((p) => p.includes('day-3/')))));
    expect(page.tableRequests).toBeLessThanOrEqual(2);
    expect(ids((await c.index.list({ pageSize: 50, text: '-0042' }, NOW)).runs)).toEqual(['bp-alpha-0042']);
  });

  it('counts every run by status in one request per entry shard, for any route and kind filter', async () => {
    const expected = (match: (r: RunSummary) => boolean): Partial<Record<RunStatus, number>> => {
      const out: Partial<Record<RunStatus, number>> = {};
      for (const r of runs.filter(match)) out[r.status] = (out[r.status] ?? 0) + 1;
      return out;
    };
    const all = await c.index.count({}, NOW);
    expect(all).toMatchObject({ total: runs.length, byStatus: expected(() => true), tableRequests: ENTRY_SHARDS });
    expect(all.partial).toBeUndefined();
    expect(c.requests).toHaveLength(ENTRY_SHARDS);
    expect((await c.index.count({ routes: ['rare', 'beta'] }, NOW)).byStatus).toEqual(expected((r) => ['rare', 'beta'].includes(r.route!)));
    expect((await c.index.count({ kinds: ['model'] }, NOW)).byStatus).toEqual(expected((r) => r.kind === 'model'));
  });

  it('counts a time range from month and day counters, and the partial days at its ends from the views', async () => {
    const within = (from: number, to: number) => (r: RunSummary): boolean => Date.parse(r.createdAt) >= from && Date.parse(r.createdAt) <= to;
    const tally = (match: (r: RunSummary) => boolean): number => runs.filter(match).length;
    // Whole days only: month rows for February, day rows for the rest.
    const wholeDays = await c.index.count({ fromMs: Date.UTC(2026, 0, 20), toMs: Date.UTC(2026, 2, 8) - 1 }, NOW);
    expect(wholeDays.total).toBe(tally(within(Date.UTC(2026, 0, 20), Date.UTC(2026, 2, 8) - 1)));
    expect(wholeDays.tableRequests).toBeLessThanOrEqual(3 * ENTRY_SHARDS);
    // Mid-day ends: counted from the view rows of those two partial days.
    const from = Date.UTC(2026, 0, 8, 9, 30);
    const to = Date.UTC(2026, 2, 15, 13, 45);
    const partial = await c.index.count({ fromMs: from, toMs: to }, NOW);
    expect(partial.total).toBe(tally(within(from, to)));
    expect(partial.partial).toBeUndefined();
    expect(partial.tableRequests).toBeLessThanOrEqual(3 * ENTRY_SHARDS + 2 * 2);
  });

  it('counts with text from the views, up to a bounded read', async () => {
    const r = await c.index.count({ text: 'day-1/' }, NOW);
    expect(r.total).toBe(runs.filter((x) => x.inputs.some((p) => p.includes('day-1/'))).length);
    expect(r.tableRequests).toBeLessThanOrEqual(2);
  });
});
