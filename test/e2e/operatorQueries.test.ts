// The operator API's run list and counts on the real durable engine, with a read budget small enough to
// matter: a request reads at most its budget of instances (pages of the Durable instance query), says
// when it stopped early, and the list's continuation tokens still hand out every run once, newest first.
// Counts and lists are served from a cache shared across requests for a few seconds.
import { DurableHost, startDurableHost, waitForStatus } from './durableHarness';
import { countRuns, listRuns, parseRunFilter, RunQueryCache } from '../../src/operator/runQueries';
import type { RunListPage, RunSummary } from '../../src/operator/operatorApiTypes';
import { jobInstanceId } from '../../src/domain/runIds';

const BUDGET = { pageSize: 4, maxPages: 2 };
const READ_LIMIT = BUDGET.pageSize * BUDGET.maxPages;

let d: DurableHost;
const created: Array<{ id: string; route: string; outcome: string }> = [];
const durableQueries: string[] = [];
const realFetch = globalThis.fetch;

beforeAll(async () => {
  d = await startDurableHost('operator-runs');
  for (let i = 0; i < 24; i++) {
    const route = i === 3 ? 'rare' : i % 2 ? 'evens' : 'odds';
    const outcome = i % 5 === 0 ? 'Failed' : 'Completed';
    const id = `bp-${route}-${String(i).padStart(3, '0')}`;
    await d.client.startNew('scoreBlobRun', { instanceId: id, input: { route: { name: route }, outcome, files: [] } });
    // Sub-runs share the time range and cost reads, but are not runs.
    if (i % 4 === 0) await d.client.startNew('runBatchJob', { instanceId: jobInstanceId(id), input: {} });
    created.push({ id, route, outcome });
    // Spread over time, so that no two seconds hold more instances than the budget (the shortest
    // window, read past the budget, starts on a whole second and so spans up to two).
    await new Promise((resolve) => setTimeout(resolve, 700));
  }
  for (const c of created) await waitForStatus(d.client, c.id, undefined, { showHistory: false, timeoutInMs: 60_000 });
  globalThis.fetch = (async (input: Parameters<typeof fetch>[0], init?: Parameters<typeof fetch>[1]) => {
    const url = String(input instanceof Request ? input.url : input);
    if (url.includes('/instances')) durableQueries.push(url);
    return realFetch(input, init);
  }) as typeof fetch;
}, 240_000);

afterAll(async () => {
  globalThis.fetch = realFetch;
  await d?.host.kill();
});

beforeEach(() => {
  durableQueries.length = 0;
});

const filter = (query = ''): ReturnType<typeof parseRunFilter> => parseRunFilter(new URLSearchParams(query));

/** Follows continuation tokens to the end, checking each request stays within its budget. */
async function listAll(query: string, pageSize: number): Promise<{ runs: RunSummary[]; pages: RunListPage[] }> {
  const pages: RunListPage[] = [];
  let token: string | undefined;
  do {
    durableQueries.length = 0;
    const page = await listRuns(d.client, filter(query), pageSize, token, { budget: BUDGET });
    expect(page.scannedInstances).toBeLessThanOrEqual(READ_LIMIT);
    expect(durableQueries.length).toBeLessThanOrEqual(BUDGET.maxPages);
    pages.push(page);
    token = page.continuationToken;
  } while (token && pages.length < 200);
  expect(token).toBeUndefined();
  return { runs: pages.flatMap((p) => p.runs), pages };
}

describe('bounded run queries on the durable engine', () => {
  it('counts every run by status when the budget allows, and says the counts are complete', async () => {
    const counts = await countRuns(d.client, filter(), { budget: { pageSize: 100, maxPages: 5 } });
    expect(counts).toMatchObject({ total: 24, byStatus: { Completed: 19, Failed: 5 }, scannedInstances: 30 });
    expect(counts.partial).toBeUndefined();
  });

  it('stops counting at its budget and says which runs the counts cover', async () => {
    const counts = await countRuns(d.client, filter(), { budget: BUDGET });
    expect(counts.partial).toBe(true);
    expect(counts.scannedInstances).toBeLessThanOrEqual(READ_LIMIT);
    expect(durableQueries.length).toBeLessThanOrEqual(BUDGET.maxPages);
    expect(counts.total).toBeLessThanOrEqual(READ_LIMIT);
    expect(Date.parse(counts.completeSince!)).not.toBeNaN();
  });

  it('pages through every run once, newest first, within the budget on every request', async () => {
    const { runs, pages } = await listAll('', 5);
    // Newest first by the creation time the extension reports (whole seconds), then by run ID, descending.
    const reported = await Promise.all(created.map(async (c) => ({ id: c.id, t: new Date((await d.client.getStatus(c.id)).createdTime).getTime() })));
    const newestFirst = reported.sort((a, b) => b.t - a.t || (a.id < b.id ? 1 : -1)).map((c) => c.id);
    expect(runs.map((r) => r.runId)).toEqual(newestFirst);
    // Some requests had to stop before their page was full, and said so.
    expect(pages.some((p) => p.partial && p.runs.length < 5 && p.continuationToken)).toBe(true);
    expect(pages.filter((p) => p.partial).every((p) => Date.parse(p.searchedBackTo!) > 0)).toBe(true);
  });

  it('finds a rare run through a sparse filter without reading everything on one request', async () => {
    const { runs, pages } = await listAll('route=rare', 50);
    expect(runs.map((r) => r.runId)).toEqual(['bp-rare-003']);
    expect(pages.length).toBeGreaterThan(1);
  });

  it('lists a status filter exactly across budget-limited requests', async () => {
    const { runs } = await listAll('status=Failed', 50);
    expect(runs.map((r) => r.runId)).toEqual(created.filter((c) => c.outcome === 'Failed').reverse().map((c) => c.id));
  });
});

describe('the run query cache', () => {
  it('answers the same question from one scan for its time to live, shares a scan already under way, and forgets after an action', async () => {
    let now = 1_000_000;
    const cache = new RunQueryCache(10_000, () => now);
    let scans = 0;
    const scan = async (): Promise<number> => {
      scans++;
      await new Promise((resolve) => setTimeout(resolve, 20));
      return scans;
    };
    const [a, b] = await Promise.all([cache.get('counts:all', scan), cache.get('counts:all', scan)]);
    expect([a, b, scans]).toEqual([1, 1, 1]);
    now += 9_999;
    expect(await cache.get('counts:all', scan)).toBe(1);
    expect(await cache.get('counts:other', scan)).toBe(2);
    now += 1;
    expect(await cache.get('counts:all', scan)).toBe(3);
    cache.clear();
    expect(await cache.get('counts:all', scan)).toBe(4);
    await expect(cache.get('failing', async () => Promise.reject(new Error('durable store unavailable')))).rejects.toThrow('durable store unavailable');
    expect(await cache.get('failing', scan)).toBe(5);
  });
});
