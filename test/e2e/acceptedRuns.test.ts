// The storage intake's hand-off on the local stack: a perFile event is answered once its run is
// accepted (a row in the task hub's accepted-runs table), and the run-start timer starts what was
// accepted. Nothing accepted is lost when the host dies before the start, nothing starts twice when
// a run is accepted again after it started, and a run that cannot start waits with its reason
// without holding up the others.
import { TableClient } from '@azure/data-tables';
import { waitUntil } from '@batchpilot/local-platform';
import { generateChurnCsv } from '@batchpilot/azureml-emulator';
import { BlobRunStack } from '../support/blobRunStack';
import { acceptedRunsWaiting } from '../support/testStack';
import { acceptedRunsTableName, RunAcceptance } from '../../src/azure/runAcceptance';
import { parseRoutes } from '../../src/config/routes';
import { blobRunId } from '../../src/domain/instanceIds';
import type { ScoreBlobRunInput } from '../../src/orchestrations/scoreBlobRun';

const ROUTES = `
routes:
  - name: handoff
    trigger: { storageAccounts: [devstoreaccount1], container: input, pathPrefix: handoff/ }
    target: { endpoint: churn-scoring }
    wait: { pollMinIntervalInSeconds: 1, pollMaxIntervalInSeconds: 5, timeoutInMinutes: 10 }
    validation: {}
    events: { typePrefix: Test }
`;

let s: BlobRunStack;
let acceptedTable: TableClient;
beforeAll(async () => {
  s = await BlobRunStack.start(ROUTES);
  acceptedTable = TableClient.fromConnectionString(s.stack.runtimeConnectionString, acceptedRunsTableName(s.stack.appSettings.BATCHPILOT_TASK_HUB), { allowInsecureConnection: true });
  await acceptedTable.createTable();
}, 120_000);
afterAll(async () => {
  await s?.stop();
});

/** An acceptance writer of the test's own (another process, as far as the host's memory goes). */
const otherProcess = (): RunAcceptance => new RunAcceptance(async () => acceptedTable);

/** The input the intake would accept for an uploaded blob of the `handoff` route. */
async function plannedRun(blobPath: string): Promise<{ runId: string; input: ScoreBlobRunInput }> {
  const blob = s.input.getBlockBlobClient(blobPath);
  const eTag = (await blob.getProperties()).etag!;
  const route = parseRoutes(ROUTES, 'routes.yaml', s.stack.appSettings).routes[0];
  if (!('trigger' in route) || !('container' in route.trigger)) throw new Error('The handoff route is a blob route.');
  const runId = blobRunId('handoff', blob.url, eTag);
  const input = {
    runId,
    route,
    workspaceId: s.stack.appSettings.BATCHPILOT_ML_WORKSPACE_ID,
    topicEndpoint: s.stack.appSettings.BATCHPILOT_EVENTS_TOPIC_ENDPOINT,
    trigger: { kind: 'blob', eventIds: ['accepted-in-test'] },
    files: [{ url: blob.url, blobPath, eTag }],
  } as ScoreBlobRunInput;
  return { runId, input };
}

const csv = (seed: number): string => generateChurnCsv({ rows: 5, seed, firstCustomerNumber: seed * 1000 });

describe('accepted runs', () => {
  it('answers every delivery of a burst once its run is accepted, and starts one run and one job per blob', async () => {
    const names = Array.from({ length: 12 }, (_, i) => `handoff/burst-${i}.csv`);
    await Promise.all(names.map((n, i) => s.upload(n, csv(10 + i))));
    const events = await waitUntil(() => {
      const byUrl = new Map(s.stack.eventGrid.published('storage').map((p) => p.event as { data: { url: string } }).map((e) => [e.data.url.replace(/.*\/input\//, ''), e]));
      const found = names.map((n) => byUrl.get(n));
      return found.every(Boolean) ? found : undefined;
    }, 'the storage events of the burst');
    // Each event twice more, shuffled, all at once: the copies find the accepted row (or this process's memory of it).
    const copies = [...events, ...events].sort(() => 0.5 - Math.random());
    expect(new Set((await Promise.all(copies.map((e) => s.deliver([e])))).map((r) => r.status))).toEqual(new Set([202]));
    const runEvents = await Promise.all(names.map((n) => s.waitForRunEvent(`/${n}`)));
    await s.quiesce();
    expect(await acceptedRunsWaiting(s.stack)).toBe(0);
    for (const n of names) expect(s.eventsFor(`/${n}`)).toHaveLength(1);
    for (const e of runEvents) expect(await s.jobsOfRun(e.data.runId)).toHaveLength(1);
    expect(s.hostLogMessages()).toContainEqual(expect.stringMatching(/Run already accepted: duplicate delivery, nothing started/));
  });

  it('starts a run accepted just before the host died once the host is back, and the event redelivered meanwhile adds nothing', async () => {
    await s.stack.host!.kill('SIGKILL');
    // Event Grid cannot deliver this blob's event to the dead host: it retries later.
    await s.upload('handoff/before-crash.csv', csv(40));
    const { runId, input } = await plannedRun('handoff/before-crash.csv');
    // The intake accepted it and died before answering (or before the next tick).
    expect(await otherProcess().accept({ runId, orchestration: 'scoreBlobRun', input })).toBe('accepted');
    expect(await acceptedRunsWaiting(s.stack)).toBe(1);
    await s.stack.startHost();
    const event = await s.waitForRunEvent('/handoff/before-crash.csv', 120_000);
    expect(event.type).toBe('Test.Run.Completed');
    await s.quiesce(120_000);
    expect(await acceptedRunsWaiting(s.stack)).toBe(0);
    expect(s.eventsFor('/handoff/before-crash.csv')).toHaveLength(1);
    expect(await s.jobsOfRun(runId)).toEqual([expect.any(String)]);
  });

  it('removes a run accepted again after it started without starting it twice', async () => {
    await s.upload('handoff/late-copy.csv', csv(50));
    const { runId, input } = await plannedRun('handoff/late-copy.csv');
    const first = await s.waitForRunEvent('/handoff/late-copy.csv');
    await s.quiesce();
    const created = (await s.instance(runId))!.createdTime;
    // A copy of the event long after the run started, taken by an instance that never saw it: the row is written again.
    expect(await otherProcess().accept({ runId, orchestration: 'scoreBlobRun', input })).toBe('accepted');
    await waitUntil(async () => (await acceptedRunsWaiting(s.stack)) === 0, 'the run-start timer to take the copy');
    await s.quiesce();
    expect((await s.instance(runId))!.createdTime).toEqual(created);
    expect(s.eventsFor('/handoff/late-copy.csv')).toEqual([first]);
    expect(await s.jobsOfRun(runId)).toHaveLength(1);
    expect(s.hostLogMessages()).toContainEqual(expect.stringMatching(/Run already exists: duplicate delivery, nothing started/));
  });

  it('keeps a run that cannot start, with its reason and a later retry, and starts the runs accepted after it', async () => {
    const acceptance = otherProcess();
    expect(await acceptance.accept({ runId: 'bp-handoff-cannot-start', orchestration: 'dropAllTables', input: { runId: 'bp-handoff-cannot-start' } })).toBe('accepted');
    await s.upload('handoff/after-bad.csv', csv(60));
    const event = await s.waitForRunEvent('/handoff/after-bad.csv');
    expect(event.type).toBe('Test.Run.Completed');
    const kept = await waitUntil(async () => (await acceptance.pending()).find((r) => r.runId === 'bp-handoff-cannot-start' && r.attempts > 0), 'the failed start to be recorded');
    expect(kept.lastError).toMatch(/cannot start: its orchestration 'dropAllTables' is not one the intake starts/);
    expect(Date.parse(kept.nextAttemptAt!)).toBeGreaterThan(Date.parse(kept.acceptedAt));
    expect(await s.instance('bp-handoff-cannot-start')).toBeUndefined();
    await acceptance.started('bp-handoff-cannot-start');
  });
});
