// The main job end to end on the local stack: blob arrivals become validated Azure ML batch scoring
// runs with exactly one completion or failure event and one run record each.
import { readInstance } from '../../src/operator/runInstances';
import { BlobRunStack, RunEvent } from '../support/blobRunStack';
import { generateChurnCsv, generateChurnInputFiles, poisonCsv } from '@batchpilot/azureml-emulator';
import { waitUntil } from '@batchpilot/local-platform';
import { deliverEvent, durableClientFor } from '../support/testStack';
import { jobInstanceId, RUN_TAG } from '../../src/domain/runIds';

const ROUTES = `
routes:
  - name: single
    trigger: { storageAccounts: [devstoreaccount1], container: input, pathPrefix: single/ }
    target: { endpoint: churn-scoring }
    wait: { pollMinIntervalInSeconds: 1, pollMaxIntervalInSeconds: 5, timeoutInMinutes: 10 }
    validation: {}
    events: { typePrefix: Test }
  - name: windowed
    trigger: { storageAccounts: [devstoreaccount1], container: input, pathPrefix: window/ }
    batching: { mode: window, quietPeriodInSeconds: 3, maxWaitInSeconds: 120 }
    target: { endpoint: churn-scoring, overrides: { miniBatchSize: 20 } }
    wait: { pollMinIntervalInSeconds: 1, pollMaxIntervalInSeconds: 5, timeoutInMinutes: 10 }
    validation: {}
    events: { typePrefix: Test }
  - name: marked
    trigger: { storageAccounts: [devstoreaccount1], container: input, pathPrefix: marked/ }
    batching: { mode: marker }
    target: { endpoint: churn-scoring }
    wait: { pollMinIntervalInSeconds: 1, pollMaxIntervalInSeconds: 5, timeoutInMinutes: 10 }
    validation: {}
    events: { typePrefix: Test }
  - name: manifested
    trigger: { storageAccounts: [devstoreaccount1], container: input, pathPrefix: manifested/, pathGlob: "**/*.csv" }
    batching: { mode: marker, markerName: _manifest.json, manifest: true, maxManifestFiles: 3, maxManifestSizeInBytes: 200 }
    target: { endpoint: churn-scoring }
    wait: { pollMinIntervalInSeconds: 1, pollMaxIntervalInSeconds: 5, timeoutInMinutes: 10 }
    validation: {}
    events: { typePrefix: Test }
  - name: strict
    trigger: { storageAccounts: [devstoreaccount1], container: input, pathPrefix: strict/ }
    target: { endpoint: churn-scoring, overrides: { errorThreshold: -1 } }
    wait: { pollMinIntervalInSeconds: 1, pollMaxIntervalInSeconds: 5, timeoutInMinutes: 10 }
    validation: { rowCount: { toleranceRows: 0 } }
    events: { typePrefix: Test }
  - name: slow
    trigger: { storageAccounts: [devstoreaccount1], container: input, pathPrefix: slow/ }
    target: { endpoint: churn-scoring }
    wait: { pollMinIntervalInSeconds: 1, pollMaxIntervalInSeconds: 2, timeoutInMinutes: 0.05 }
    events: { typePrefix: Test }
`;

let s: BlobRunStack;
beforeAll(async () => {
  s = await BlobRunStack.start(ROUTES);
}, 120_000);
afterAll(async () => {
  await s?.stop();
});

const csv = (rows: number, seed = 1): string => generateChurnCsv({ rows, seed, firstCustomerNumber: seed * 1000 });

describe('blob arrivals become validated scoring runs', () => {
  it('scores a single CSV on a perFile route: one job, Completed, validated, one Run.Completed event and one run record', async () => {
    await s.upload('single/customers-a.csv', csv(30));
    const event = await s.waitForRunEvent('/single/customers-a.csv');
    expect(event.type).toBe('Test.Run.Completed');
    expect(event.data.validation).toMatchObject({ passed: true });
    expect(await s.jobsOfRun(event.data.runId)).toHaveLength(1);
    const record = await s.runRecord('single', event.data.runId);
    expect(record).toMatchObject({ outcome: 'Completed', jobName: event.data.jobName, eventType: 'Test.Run.Completed' });
    await s.quiesce();
    expect(s.eventsFor('/single/customers-a.csv')).toHaveLength(1);
  });

  it('quiesces only once a run started by an upload has ended: its job, record and event are all done', async () => {
    // quiesce() is what the "nothing else happened" checks rely on: it must wait for the whole chain
    // (storage event, intake, orchestration, job, job events, record, outcome event), not just part of it.
    await s.upload('single/quiesce.csv', csv(5, 9));
    await s.quiesce();
    const [event] = s.eventsFor('/single/quiesce.csv');
    expect(event?.type).toBe('Test.Run.Completed');
    expect(await s.stack.azureMl.activeJobs()).toEqual([]);
    expect(await s.runRecord('single', event.data.runId)).toMatchObject({ outcome: 'Completed', announcement: { state: 'sent' } });
  });

  it('gathers 200 files dropped into one folder of a window route into one job over all 200', async () => {
    const files = generateChurnInputFiles({ files: 200, rowsPerFile: 3, seed: 7 });
    await Promise.all(files.map((f) => s.upload(`window/burst/${f.name}`, f.content)));
    const event = await s.waitForRunEvent('/window/burst/', 180_000);
    expect(event.type).toBe('Test.Run.Completed');
    expect(event.data.inputs).toHaveLength(200);
    expect(await s.jobsOfRun(event.data.runId)).toHaveLength(1);
    expect(event.data.validation?.summary).toMatch(/600 rows for 600 input rows/);
    await s.quiesce();
    expect(s.eventsFor('/window/burst/')).toHaveLength(1);
  });

  it('scores only its own files when a later window of the same folder closes (input list, not the folder)', async () => {
    await s.upload('window/again/first.csv', csv(4, 30));
    const first = await s.waitForRunEvent('/window/again/first.csv', 120_000);
    await s.upload('window/again/second.csv', csv(6, 31));
    const second = await s.waitForRunEvent('/window/again/second.csv', 120_000);
    expect(first.data.runId).not.toBe(second.data.runId);
    expect(second.data.inputs).toHaveLength(1);
    expect(second.type).toBe('Test.Run.Completed');
    expect(second.data.validation?.summary).toMatch(/6 rows for 6 input rows/);
  });

  it('starts no job on a marker route until the marker lands, then exactly one', async () => {
    await s.upload('marked/day1/part-1.csv', csv(10, 2));
    await s.upload('marked/day1/part-2.csv', csv(10, 3));
    await s.quiesce();
    expect(s.eventsFor('/marked/day1/')).toHaveLength(0);
    expect(s.stack.azureMl.publishedEvents().some((e) => JSON.stringify(e.data).includes('marked'))).toBe(false);
    await s.upload('marked/day1/_SUCCESS', '');
    const event = await s.waitForRunEvent('/marked/day1/');
    expect(event.type).toBe('Test.Run.Completed');
    expect(event.data.inputs.map((u) => u.replace(/.*\/marked\//, ''))).toEqual(['day1/part-1.csv', 'day1/part-2.csv']);
    expect(await s.jobsOfRun(event.data.runId)).toHaveLength(1);
    // The job was given the two data files, not the folder with its marker.
    expect(s.stack.azureMl.jobReport(event.data.jobName!)?.counters?.inputFiles).toBe(2);
  });

  it('scores exactly the files a manifest marker lists, not the rest of the folder', async () => {
    await s.upload('manifested/day1/a.csv', csv(3, 40));
    await s.upload('manifested/day1/b.csv', csv(4, 41));
    await s.upload('manifested/day1/stray.csv', csv(5, 42));
    await s.upload('manifested/day1/_manifest.json', JSON.stringify({ files: ['a.csv', 'b.csv'] }));
    const event = await s.waitForRunEvent('/manifested/day1/');
    expect(event.type).toBe('Test.Run.Completed');
    expect(event.data.inputs.map((u) => u.replace(/.*\/day1\//, '')).sort()).toEqual(['a.csv', 'b.csv']);
    expect(event.data.validation?.summary).toMatch(/7 rows for 7 input rows/);
  });

  it('fails the batch with the reason when its manifest names a file that does not exist', async () => {
    await s.upload('manifested/day2/a.csv', csv(3, 43));
    await s.upload('manifested/day2/_manifest.json', 'a.csv\nmissing.csv\n');
    const event = await waitUntil(() => s.runEvents().find((e) => e.type.startsWith('Test.Run.') && JSON.stringify(e.data).includes('missing.csv')), 'the failed manifest run', 90_000);
    expect(event.type).toBe('Test.Run.Failed');
    expect(event.data.reason).toMatch(/names missing\.csv, which does not exist/);
  });

  it('fails the batch with the reason when its manifest names a file the route does not take, too many files, or is too large', async () => {
    await s.upload('manifested/day3/a.csv', csv(3, 44));
    await s.upload('manifested/day3/notes.txt', 'not an input');
    await s.upload('manifested/day3/_manifest.json', JSON.stringify({ files: ['a.csv', 'notes.txt'] }));
    const filtered = await waitUntil(() => s.runEvents().find((e) => e.type.startsWith('Test.Run.') && (e.data.reason ?? '').includes('notes.txt')), 'the refused manifest run', 90_000);
    expect(filtered.type).toBe('Test.Run.Failed');
    expect(filtered.data.reason).toMatch(/'notes\.txt': path does not match '\*\*\/\*\.csv'/);
    expect(await s.jobsOfRun(filtered.data.runId)).toHaveLength(0);

    await Promise.all(['a', 'b', 'c', 'd'].map((n, i) => s.upload(`manifested/day4/${n}.csv`, csv(2, 45 + i))));
    await s.upload('manifested/day4/_manifest.json', 'a.csv\nb.csv\nc.csv\nd.csv\n');
    const capped = await waitUntil(() => s.runEvents().find((e) => e.type.startsWith('Test.Run.') && /day4\/_manifest\.json names 4 files/.test(e.data.reason ?? '')), 'the over-long manifest run', 90_000);
    expect(capped.type).toBe('Test.Run.Failed');
    expect(capped.data.reason).toMatch(/accepts at most 3 \(batching\.maxManifestFiles\)/);

    await s.upload('manifested/day5/a.csv', csv(2, 49));
    await s.upload('manifested/day5/_manifest.json', `${'# padding\n'.repeat(30)}a.csv\n`);
    const large = await waitUntil(() => s.runEvents().find((e) => e.type.startsWith('Test.Run.') && /day5\/_manifest\.json is \d+ bytes/.test(e.data.reason ?? '')), 'the oversized manifest run', 90_000);
    expect(large.type).toBe('Test.Run.Failed');
    expect(large.data.reason).toMatch(/is 306 bytes; route manifested reads manifests of at most 200 bytes \(batching\.maxManifestSizeInBytes\)/);
  });

  it('makes one run and one job for one blob version however its URL is spelled, and hands Azure ML the canonical URL', async () => {
    await s.upload('single/one id/é.csv', csv(4, 50));
    const canonical = s.input.getBlobClient('single/one id/é.csv').url;
    const original = await waitUntil(() => s.stack.eventGrid.published('storage').map((p) => p.event as { id: string; data: { url: string } }).find((e) => e.data.url === canonical), 'the storage event of the blob');
    const container = canonical.slice(0, canonical.indexOf('/single/'));
    const spellings = [`${container}/single%2Fone%20id%2F%C3%A9.csv`, `${container}/single/one id/é.csv`, `${container}/single/one%20id/%c3%a9.csv`, `${container}/%73ingle/one%20id%2f%C3%A9.csv`];
    const responses = await Promise.all(spellings.map((url, i) => s.deliver([{ ...original, id: `${original.id}-spelling-${i}`, data: { ...original.data, url } }])));
    expect(responses.map((r) => r.status)).toEqual([202, 202, 202, 202]);
    const sameBlob = (): RunEvent[] => s.runEvents().filter((e) => (e.data.inputs ?? []).some((u) => decodeURIComponent(u).endsWith('/single/one id/é.csv')));
    const event = await waitUntil(() => sameBlob()[0], 'the run of the blob');
    await s.quiesce();
    expect(sameBlob()).toHaveLength(1);
    expect(event.data.inputs).toEqual([canonical]);
    const jobs = await s.jobsOfRun(event.data.runId);
    expect(jobs).toHaveLength(1);
    const job = await s.arm.jobs.get(s.stack.azureMl.resourceGroup, s.stack.azureMl.workspaceName, jobs[0]);
    expect(JSON.stringify(job.properties)).toContain(canonical);
  });

  it('makes one run and one job when the same BlobCreated arrives three times, shuffled and concurrent', async () => {
    await s.upload('single/dup-a.csv', csv(5, 4));
    await s.upload('single/dup-b.csv', csv(5, 5));
    const storageEvents = await waitUntil(() => {
      const evs = s.stack.eventGrid.published('storage').map((p) => p.event as { id: string; data: { url: string } });
      const a = evs.find((e) => e.data.url.endsWith('/single/dup-a.csv'));
      const b = evs.find((e) => e.data.url.endsWith('/single/dup-b.csv'));
      return a && b ? [a, b] : undefined;
    }, 'the storage events of both blobs');
    const [a, b] = storageEvents;
    const key = JSON.parse(require('node:fs').readFileSync(s.stack.host!.keysFile, 'utf8')).systemKeys.eventgrid_extension as string;
    const url = `${s.stack.hostUrl}/runtime/webhooks/eventgrid?functionName=intakeStorageEvents&code=${encodeURIComponent(key)}`;
    const post = (e: unknown) => fetch(url, { method: 'POST', headers: { 'aeg-event-type': 'Notification', 'content-type': 'application/json' }, body: JSON.stringify([e]) });
    const responses = await Promise.all([b, a, a, b, a].map(post));
    expect(responses.map((r) => r.status)).toEqual([202, 202, 202, 202, 202]);
    const ea = await s.waitForRunEvent('/single/dup-a.csv');
    const eb = await s.waitForRunEvent('/single/dup-b.csv');
    await s.quiesce();
    expect(s.eventsFor('/single/dup-a.csv')).toHaveLength(1);
    expect(s.eventsFor('/single/dup-b.csv')).toHaveLength(1);
    expect(await s.jobsOfRun(ea.data.runId)).toHaveLength(1);
    expect(await s.jobsOfRun(eb.data.runId)).toHaveLength(1);
  });
});

describe('failures end in one failure event and a run record that says why', () => {
  afterEach(() => s.stack.azureMl.setFaults({}));

  it('fails the run when the Azure ML job fails', async () => {
    s.stack.azureMl.setFaults({ seed: 3, jobs: { failFraction: 1 } });
    await s.upload('single/will-fail.csv', csv(5, 6));
    const event = await s.waitForRunEvent('/single/will-fail.csv');
    expect(event.type).toBe('Test.Run.Failed');
    expect(event.data.reason).toMatch(/failed/i);
    expect(await s.runRecord('single', event.data.runId)).toMatchObject({ outcome: 'Failed', reason: event.data.reason });
  });

  it('reports ValidationFailed when the job completes without its outputs', async () => {
    s.stack.azureMl.setFaults({ seed: 4, jobs: { missingOutputsFraction: 1 } });
    await s.upload('single/no-outputs.csv', csv(5, 7));
    const event = await s.waitForRunEvent('/single/no-outputs.csv');
    expect(event.type).toBe('Test.Run.ValidationFailed');
    expect(event.data.reason).toMatch(/predictions\.csv/);
    expect(await s.runRecord('single', event.data.runId)).toMatchObject({ outcome: 'ValidationFailed' });
  });

  it('reports ValidationFailed when prediction rows do not match input rows', async () => {
    await s.upload('strict/poisoned.csv', poisonCsv(csv(20, 8)));
    const event = await s.waitForRunEvent('/strict/poisoned.csv');
    expect(event.type).toBe('Test.Run.ValidationFailed');
    expect(event.data.reason).toMatch(/row/i);
    expect(s.eventsFor('/strict/poisoned.csv')).toHaveLength(1);
  });

  it('still succeeds with 30% of Azure ML calls answered 429 or 503', async () => {
    s.stack.azureMl.setFaults({ seed: 5, http: { throttleFraction: 0.15, serverErrorFraction: 0.15, serverErrorStatuses: [503], retryAfterInSeconds: 1 } });
    await Promise.all([s.upload('single/faulty-1.csv', csv(5, 9)), s.upload('single/faulty-2.csv', csv(5, 10)), s.upload('single/faulty-3.csv', csv(5, 11))]);
    const events = await Promise.all(['faulty-1', 'faulty-2', 'faulty-3'].map((n) => s.waitForRunEvent(`/single/${n}.csv`, 180_000)));
    expect(events.map((e) => e.type)).toEqual(['Test.Run.Completed', 'Test.Run.Completed', 'Test.Run.Completed']);
    const stats = s.stack.azureMl.faultStats();
    expect(stats.throttled + stats.serverErrors).toBeGreaterThan(0);
    for (const e of events) expect(await s.jobsOfRun(e.data.runId)).toHaveLength(1);
  });

  it('cancels the job and fails the run when it exceeds its timeout', async () => {
    s.stack.azureMl.holdJobs();
    try {
      await s.upload('slow/too-slow.csv', csv(5, 12));
      const event = await s.waitForRunEvent('/slow/too-slow.csv');
      expect(event.type).toBe('Test.Run.Failed');
      expect(event.data.reason).toMatch(/timeout/i);
      const jobName = event.data.jobName!;
      await waitUntil(() => ['Canceled', 'CancelRequested'].includes(String(s.stack.azureMl.jobReport(jobName)?.status)), 'the job to be cancelled');
    } finally {
      s.stack.azureMl.releaseJobs();
    }
  });
});

describe('crash recovery', () => {
  it('finishes every run after the host is killed while runs wait on jobs, with no second job for any run', async () => {
    s.stack.azureMl.holdJobs();
    const names = ['crash-1', 'crash-2', 'crash-3'];
    try {
      const preparing = (): number => s.stack.azureMl.publishedEvents().filter((e) => e.eventType === 'Microsoft.MachineLearningServices.RunStatusChanged' && (e.data as { runStatus?: string }).runStatus === 'Preparing').length;
      const before = preparing();
      await Promise.all(names.map((n, i) => s.upload(`single/${n}.csv`, csv(5, 20 + i))));
      // The jobs are held in Preparing: the host dies while every run waits on its job.
      await waitUntil(() => preparing() >= before + names.length, 'three jobs to be submitted', 60_000);
      await s.stack.host!.kill('SIGKILL');
    } finally {
      s.stack.azureMl.releaseJobs();
    }
    await s.stack.startHost();
    const events = await Promise.all(names.map((n) => s.waitForRunEvent(`/single/${n}.csv`, 180_000)));
    expect(events.map((e) => e.type)).toEqual(['Test.Run.Completed', 'Test.Run.Completed', 'Test.Run.Completed']);
    for (const e of events) expect(await s.jobsOfRun(e.data.runId)).toHaveLength(1);
  });
});

describe('job events with hostile tags', () => {
  const RUN_STATUS_CHANGED = 'Microsoft.MachineLearningServices.RunStatusChanged';
  const jobEvent = (id: string, jobName: string, runTags: Record<string, string>) => ({
    id,
    topic: `/subscriptions/${s.stack.azureMl.subscriptionId}/resourceGroups/${s.stack.azureMl.resourceGroup}/providers/Microsoft.MachineLearningServices/workspaces/${s.stack.azureMl.workspaceName}`,
    subject: `experiments/hostile/runs/${jobName}`,
    eventType: 'Microsoft.MachineLearningServices.RunCompleted',
    eventTime: new Date().toISOString(),
    dataVersion: '2',
    metadataVersion: '1',
    data: { experimentId: 'hostile', experimentName: 'hostile', runId: jobName, runType: null, runTags, runProperties: {} },
  });

  it('neither terminates nor wakes a waiting run when a job event carries a hostile batchpilot-run-id tag', async () => {
    const client = durableClientFor(s.stack);
    let victim: { runId: string; jobName: string } | undefined;
    s.stack.azureMl.holdJobs();
    try {
      const before = s.stack.azureMl.publishedEvents().length;
      await s.upload('single/victim.csv', csv(5, 40));
      const preparing = await waitUntil(
        () => s.stack.azureMl.publishedEvents().slice(before).find((e) => e.eventType === RUN_STATUS_CHANGED && (e.data as { runStatus?: string }).runStatus === 'Preparing'),
        'the victim run to submit its job',
        60_000,
      );
      const data = preparing.data as { runId: string; runTags: Record<string, string> };
      victim = { runId: data.runTags[RUN_TAG.runId], jobName: data.runId };
      const jobInstance = jobInstanceId(victim.runId);
      await waitUntil(async () => {
        const st = await client.getStatus(jobInstance).catch(() => undefined);
        const custom = st?.customStatus as { phase?: string; jobName?: string } | undefined;
        return custom?.phase === 'waiting for job' && custom.jobName === victim!.jobName ? st : undefined;
      }, 'the victim run to wait for its job');

      const hostileTags = [
        `${victim.runId}:job/terminate?reason=hostile#`,
        `${victim.runId}/terminate?reason=hostile#`,
        `../instances/${victim.runId}:job/suspend?reason=hostile#`,
        `${victim.runId}:job/rewind?reason=hostile#`,
        // The victim's own run ID, well formed, on a job that is not the victim's.
        victim.runId,
      ];
      for (const [i, tag] of hostileTags.entries()) {
        expect(await deliverEvent(s.stack, 'intakeMlEvents', jobEvent(`hostile-${i}`, `evil-job-${i}`, { 'batchpilot-run-id': tag, 'batchpilot-attempt': '1' }))).toBe(202);
      }
    } finally {
      s.stack.azureMl.releaseJobs();
    }
    const event = await s.waitForRunEvent('/single/victim.csv');
    expect(event).toMatchObject({ type: 'Test.Run.Completed', data: { runId: victim!.runId, jobName: victim!.jobName } });
    // The library's getStatus drops the extension's historyEvents; the operator's reader keeps them.
    const job = (await readInstance(client, jobInstanceId(victim!.runId), { history: true }))!;
    expect(job.runtimeStatus).toBe('Completed');
    expect(job.history?.length).toBeGreaterThan(0);
    // No hostile event reached the waiting instance: every event it saw was about its own job.
    expect(JSON.stringify(job.history)).not.toMatch(/evil-job/);
    expect(s.hostLogMessages().filter((m) => /refused/i.test(m) && /batchpilot-run-id/.test(m)).length).toBeGreaterThanOrEqual(5);
  });
});

describe('bad input starts nothing and says why', () => {
  async function deliver(event: Record<string, unknown>): Promise<number> {
    const key = JSON.parse(require('node:fs').readFileSync(s.stack.host!.keysFile, 'utf8')).systemKeys.eventgrid_extension as string;
    const res = await fetch(`${s.stack.hostUrl}/runtime/webhooks/eventgrid?functionName=intakeStorageEvents&code=${encodeURIComponent(key)}`, {
      method: 'POST',
      headers: { 'aeg-event-type': 'Notification', 'content-type': 'application/json' },
      body: JSON.stringify([event]),
    });
    return res.status;
  }
  const blobEvent = (id: string, url: string, api = 'PutBlob') => ({
    id,
    topic: '/subscriptions/x/resourceGroups/y/providers/Microsoft.Storage/storageAccounts/devstoreaccount1',
    subject: '/blobServices/default/containers/c/blobs/x.csv',
    eventType: 'Microsoft.Storage.BlobCreated',
    eventTime: new Date().toISOString(),
    dataVersion: '',
    metadataVersion: '1',
    data: { api, eTag: '0x1', url, contentLength: 10, blobType: 'BlockBlob' },
  });

  it.each([
    ['an unconfigured container', blobEvent('bad-1', `${'BLOB'}/elsewhere/single/x.csv`), /container elsewhere is not input/],
    ['a blob URL on a foreign host', blobEvent('bad-2', 'https://evil.example.com/devstoreaccount1/input/single/x.csv'), /not an Azure Storage blob endpoint/],
    ['api DeleteBlob', blobEvent('bad-3', `${'BLOB'}/input/single/x.csv`, 'DeleteBlob'), /api DeleteBlob is not one of/],
    ['a malformed event', { ...blobEvent('bad-4', 'x'), data: { api: 'PutBlob' } }, /BlobCreated data is malformed/],
    ['a path that climbs into another container once decoded', blobEvent('bad-5', `${'BLOB'}/input/single/a%2F..%2F..%2Fruns%2Fx.csv`), /blob name has a \.\. segment/],
    ['a tab in the path', blobEvent('bad-6', `${'BLOB'}/input/single/a\tb.csv`), /control character/],
    ['a backslash in the path', blobEvent('bad-7', `${'BLOB'}/input/single\\..\\x.csv`), /backslash/],
  ])('drops an event for %s with a clear log line', async (_what, event, reason) => {
    const proxy = s.stack.eventGrid.blobProxyUrl;
    const e = JSON.parse(JSON.stringify(event).replace(/BLOB/g, proxy)) as Record<string, unknown>;
    const before = s.runEvents().length;
    expect(await deliver(e)).toBe(202);
    await waitUntil(() => s.hostLogMessages().some((m) => reason.test(m)), `a log line matching ${reason}`);
    expect(s.runEvents().length).toBe(before);
  });

  it('keeps the log line of a refused 10,000-character URL short', async () => {
    const url = `${s.stack.eventGrid.blobProxyUrl}/input/single/${'x'.repeat(10_000)}.csv`;
    expect(await deliver({ ...blobEvent('i'.repeat(500), url), subject: `/blobServices/default/containers/input/blobs/${'s'.repeat(5000)}` })).toBe(202);
    await waitUntil(() => s.hostLogMessages().some((m) => /longer than 4096 characters/.test(m)), 'the refusal of the long URL');
    const longest = Math.max(...(s.stack.host?.logs ?? []).filter((l) => l.includes('xxxxxxxxxx')).map((l) => l.length));
    expect(longest).toBeGreaterThan(0);
    expect(longest).toBeLessThan(1500);
  });

  it('refuses a delivery holding an event over 1 MB with 413, naming the event and its size, and starts nothing', async () => {
    const url = `${s.stack.eventGrid.blobProxyUrl}/input/single/padded.csv`;
    const small = blobEvent('padded-0', `${s.stack.eventGrid.blobProxyUrl}/input/single/padded-neighbour.csv`);
    const padded = { ...blobEvent('padded-1', url), data: { ...blobEvent('padded-1', url).data, padding: 'p'.repeat(2 * 1024 * 1024) } };
    const res = await s.deliver([small, padded]);
    expect(res.status).toBe(413);
    expect(await res.text()).toMatch(/event 1 is 2,097,\d{3} bytes/);
    await s.quiesce();
    expect(s.hostLogMessages().filter((m) => m.includes('padded'))).toEqual([]);
    expect(s.eventsFor('/single/padded')).toHaveLength(0);
  });
});
