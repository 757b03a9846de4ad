// Runs from before the run index, on the real durable engine: until the backfill has written them, lists
// and counts come from the Durable instance store and say so; the backfill, resumable page by page,
// writes every run (never sub-runs) with the status the instance has; afterwards lists and counts come
// from the index and agree with the instance store. The maintenance pass brings unfinished runs whose
// index entry went stale to their instance's state, records a run announced but never started, and
// removes a status row a dead writer left behind.
import { DurableHost, startDurableHost, waitForStatus } from './durableHarness';
import { appRunIndex, RunIndex } from '../../src/azure/runIndex';
import { indexVersion } from '../../src/azure/runIndexKeys';
import { parseRunFilter } from '../../src/operator/runQueries';
import { answerRunCounts, answerRunList, forgetRunIndexReadiness } from '../../src/operator/runIndexQueries';
import { backfillRunIndex, maintainRunIndex } from '../../src/operator/runIndexBackfill';
import { testAzurite } from '@batchpilot/local-platform';

let d: DurableHost;
let index: RunIndex;
const created: Array<{ id: string; route: string; outcome: string }> = [];
const saved = { hub: process.env.BATCHPILOT_TASK_HUB, storage: process.env.AzureWebJobsStorage };

beforeAll(async () => {
  d = await startDurableHost('operator-runs');
  // The app's own index of this task hub, as the host's functions reach it.
  process.env.BATCHPILOT_TASK_HUB = d.hub;
  process.env.AzureWebJobsStorage = testAzurite().connectionString;
  index = await appRunIndex();
  for (let i = 0; i < 14; i++) {
    const route = i % 3 ? 'older' : 'oldest';
    const outcome = i % 4 === 0 ? 'Failed' : 'Completed';
    const id = `bp-${route}-${String(i).padStart(3, '0')}`;
    await d.client.startNew('scoreBlobRun', { instanceId: id, input: { route: { name: route }, outcome, files: [] } });
    if (i % 5 === 0) await d.client.startNew('runBatchJob', { instanceId: `${id}:job`, input: {} });
    created.push({ id, route, outcome });
  }
  await d.client.startNew('promoteModel', { instanceId: 'bpm-gated-v1', input: { route: { name: 'gated' }, model: { name: 'gated', version: '1' } } });
  for (const c of created) await waitForStatus(d.client, c.id, undefined, { showHistory: false });
  await waitForStatus(d.client, 'bpm-gated-v1', (s) => (s.customStatus as { phase?: string } | null)?.phase === 'awaiting approval', { showHistory: false });
}, 240_000);

afterAll(async () => {
  process.env.BATCHPILOT_TASK_HUB = saved.hub;
  process.env.AzureWebJobsStorage = saved.storage;
  forgetRunIndexReadiness();
  await d?.host.kill();
});

const filter = (query = ''): ReturnType<typeof parseRunFilter> => parseRunFilter(new URLSearchParams(query));

describe('backfilling the run index', () => {
  it('answers from the instance store, saying why, until the backfill is complete', async () => {
    forgetRunIndexReadiness();
    const page = await answerRunList(d.client, filter(), 50);
    expect(page).toMatchObject({ source: 'instanceStore', note: expect.stringMatching(/backfill-index/) });
    expect(page.runs).toHaveLength(15);
    expect(await answerRunCounts(d.client, filter())).toMatchObject({ source: 'instanceStore', total: 15 });
  });

  it('writes every run with its instance\'s status, page by page, and then answers from the index alike', async () => {
    const before = await answerRunList(d.client, filter(), 50);
    let state = await backfillRunIndex(d.client, index, { pageSize: 4, timeBudgetInMs: 0 });
    let rounds = 1;
    // A zero time budget does one page a call: the backfill resumes from the position it saved.
    while (state.state !== 'complete' && rounds < 50) {
      expect(state.instancesRead).toBe(4 * rounds);
      state = await backfillRunIndex(d.client, index, { pageSize: 4, timeBudgetInMs: 0 });
      rounds++;
    }
    expect(state).toMatchObject({ state: 'complete', instancesRead: 18, runsWritten: 15 });
    forgetRunIndexReadiness();
    const after = await answerRunList(d.client, filter(), 50);
    expect(after.source).toBe('index');
    expect(after.note).toBeUndefined();
    expect(after.runs.map((r) => [r.runId, r.status, r.route]).sort()).toEqual(before.runs.map((r) => [r.runId, r.status, r.route]).sort());
    expect(after.runs.find((r) => r.runId === 'bpm-gated-v1')).toMatchObject({ kind: 'model', status: 'AwaitingApproval' });
    expect(await answerRunCounts(d.client, filter())).toMatchObject({ source: 'index', total: 15, byStatus: { Completed: 10, Failed: 4, AwaitingApproval: 1 } });
    expect((await answerRunList(d.client, filter('route=oldest&status=Failed'), 50)).runs.map((r) => r.runId).sort()).toEqual(created.filter((c) => c.route === 'oldest' && c.outcome === 'Failed').map((c) => c.id).sort());
    // Done once: a backfill again reads nothing and writes nothing.
    expect(await backfillRunIndex(d.client, index)).toMatchObject({ state: 'complete', instancesRead: 18, runsWritten: 15 });
  });
});

describe('maintaining the run index', () => {
  it('brings a stale unfinished run to its instance\'s state, records a run that never started, and removes a stray status row', async () => {
    await d.client.raiseEvent('bpm-gated-v1', 'Approval', { approved: true });
    await waitForStatus(d.client, 'bpm-gated-v1', undefined, { showHistory: false });
    expect((await index.get('bpm-gated-v1'))!.summary.status).toBe('AwaitingApproval');
    // A starter announced this run an hour ago; its instance never appeared.
    const hourAgo = Date.now() - 3600_000;
    await index.record({
      summary: { runId: 'bp-older-ghost', kind: 'blob', orchestration: 'scoreBlobRun', status: 'Pending', runtimeStatus: 'Pending', route: 'older', createdAt: new Date(hourAgo).toISOString(), lastUpdatedAt: new Date(hourAgo).toISOString(), inputs: [], inputCount: 0 },
      text: 'bp-older-ghost',
      version: indexVersion('Pending', hourAgo),
    });
    // A writer died after a late write of a Running row for a run that has finished.
    const finished = (await index.get(created[1].id))!;
    const stray = (await index.list({ pageSize: 1, text: created[1].id })).runs[0];
    expect(stray.status).toBe('Completed');
    const { viewPlacements, viewRowKey } = await import('../../src/azure/runIndexKeys');
    const running = viewPlacements({ route: finished.summary.route, status: 'Running', kind: 'blob' }, Date.parse(finished.summary.createdAt)).find((p) => p.view === 'byStatus')!;
    await index.tables.byStatus.upsertEntity({ partitionKey: running.partitionKey, rowKey: viewRowKey(Date.parse(finished.summary.createdAt), created[1].id), v: finished.version, status: 'Running', kind: 'blob', route: finished.summary.route ?? '', s: JSON.stringify({ ...finished.summary, status: 'Running' }), t: finished.text });
    expect((await index.list({ pageSize: 50, statuses: ['Running'] })).runs.map((r) => r.runId)).toEqual([created[1].id]);

    const report = await maintainRunIndex(d.client, index, { now: () => Date.now() + 10 * 60_000 });
    expect(report).toMatchObject({ updated: ['bpm-gated-v1'], neverStarted: ['bp-older-ghost'], strayRowsRemoved: 1 });
    expect((await index.get('bpm-gated-v1'))!.summary.status).toBe('Promoted');
    expect((await index.get('bp-older-ghost'))!.summary).toMatchObject({ status: 'Failed', reason: expect.stringMatching(/never started/) });
    expect((await index.list({ pageSize: 50, statuses: ['Running', 'Pending', 'AwaitingApproval'] })).runs).toEqual([]);
    expect((await index.count({})).byStatus).toEqual({ Completed: 10, Failed: 5, Promoted: 1 });
    // Nothing left to do: a second pass changes nothing.
    expect(await maintainRunIndex(d.client, index, { now: () => Date.now() + 10 * 60_000 })).toMatchObject({ updated: [], neverStarted: [], strayRowsRemoved: 0 });
  });
});
