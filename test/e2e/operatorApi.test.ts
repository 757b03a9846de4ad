// The operator API end to end on the local stack: real runs made by blob arrivals and model
// registrations are listed with every filter and paged; one run reads in full; each action (terminate,
// rerun, approve/reject, start, rollback, purge) does what it says and leaves an audit record; Readers,
// read-only mode and bad input are refused with a clear 4xx. The host runs with WEBSITE_AUTH_ENABLED=True,
// standing in for App Service authentication (the tests send the headers the platform would set), and
// with key-only callers made Operators explicitly (BATCHPILOT_OPERATOR_KEY_ROLE, as the local stack sets
// it); the last section takes both away and shows forged principals refused and the key a Reader.
import { BlobRunStack } from '../support/blobRunStack';
import { ModelRunStack } from '../support/modelRunStack';
import { OperatorClient, restartHostWith, uploadQuietly } from '../support/operatorStack';
import { waitUntil } from '@batchpilot/local-platform';
import { CHURN_MODEL_VERSIONS, generateChurnCsv } from '@batchpilot/azureml-emulator';
import type { AuditRecord, AuditVerification, CallerInfo, RunCounts, RunDetail, RunIndexStatus, RunListPage, RunSummary } from '../../src/operator/operatorApiTypes';
import { ENTRY_SHARDS } from '../../src/azure/runIndexKeys';

const ROUTES = `
routes:
  - name: alpha
    trigger: { storageAccounts: [devstoreaccount1], container: input, pathPrefix: alpha/ }
    target: { endpoint: churn-scoring }
    wait: { pollMinIntervalInSeconds: 1, pollMaxIntervalInSeconds: 3, timeoutInMinutes: 10 }
    validation: {}
    events: { typePrefix: Ops }
  - name: beta
    trigger: { storageAccounts: [devstoreaccount1], container: input, pathPrefix: beta/ }
    target: { endpoint: churn-scoring }
    wait: { pollMinIntervalInSeconds: 1, pollMaxIntervalInSeconds: 3, timeoutInMinutes: 10 }
    events: { typePrefix: Ops }
  - name: folders
    trigger: { storageAccounts: [devstoreaccount1], container: input, pathPrefix: folders/ }
    batching: { mode: marker }
    target: { endpoint: churn-scoring }
    wait: { pollMinIntervalInSeconds: 1, pollMaxIntervalInSeconds: 3, timeoutInMinutes: 10 }
    validation: {}
    events: { typePrefix: Ops }
modelRoutes:
  - name: gated
    trigger: { modelName: "gated-*", tags: { stage: candidate } }
    target: { endpoint: gated-ep }
    validationData: { type: uri_folder, uri: "azureml://datastores/workspaceblobstore/paths/samples/churn/inputs/" }
    wait: { pollMinIntervalInSeconds: 1, pollMaxIntervalInSeconds: 3, timeoutInMinutes: 10 }
    comparison: { keyColumns: [0, 1], scoreColumn: 2, labelColumn: 3, minLabelAgreement: 0.98, maxMeanAbsScoreDifference: 0.01, maxMaxAbsScoreDifference: 0.05 }
    gate: { policy: manual, approvalTimeoutInMinutes: 30 }
    events: { typePrefix: Ops }
`;

/** A model version that scores exactly like the baseline (the sample's churn:1). */
const AGREES = { weights: CHURN_MODEL_VERSIONS['1'].weights, bias: CHURN_MODEL_VERSIONS['1'].bias };

const csv = (rows: number, seed: number): string => generateChurnCsv({ rows, seed, firstCustomerNumber: seed * 1000 });

let m: ModelRunStack;
let s: BlobRunStack;
let ops: OperatorClient;
const ids: Record<string, string> = {};

/** The extension reports creation times to the second; runs in later seconds list in a known order. */
async function nextSecond(): Promise<void> {
  await new Promise((r) => setTimeout(r, 1005 - (Date.now() % 1000)));
}

async function runOf(path: string): Promise<string> {
  const event = await s.waitForRunEvent(path, 120_000);
  return event.data.runId;
}

/** What the platform provides in Azure, made explicit for these tests. */
const BEHIND_APP_SERVICE_AUTH = { WEBSITE_AUTH_ENABLED: 'True', BATCHPILOT_OPERATOR_KEY_ROLE: 'Operator' };

beforeAll(async () => {
  m = await ModelRunStack.start(ROUTES, { settings: BEHIND_APP_SERVICE_AUTH });
  s = BlobRunStack.over(m.stack);
  ops = new OperatorClient(s);
  // A new task hub has nothing to backfill: the index's maintenance timer, run at startup, says it is ready.
  await waitUntil(async () => (await ops.get<RunIndexStatus>('/index')).body.ready || undefined, 'the run index to be ready');
  await s.upload('alpha/a1.csv', csv(5, 1));
  ids.a1 = await runOf('/alpha/a1.csv');
  await nextSecond();
  await s.upload('beta/b1.csv', csv(5, 2));
  ids.b1 = await runOf('/beta/b1.csv');
  s.stack.azureMl.setFaults({ seed: 1, jobs: { failFraction: 1 } });
  try {
    await nextSecond();
    await s.upload('alpha/broken.csv', csv(5, 3));
    ids.broken = await runOf('/alpha/broken.csv');
  } finally {
    s.stack.azureMl.setFaults({});
  }
  await nextSecond();
  await s.upload('alpha/a2.csv', csv(5, 4));
  ids.a2 = await runOf('/alpha/a2.csv');
}, 300_000);

afterAll(async () => {
  s?.stack.azureMl.releaseJobs();
  await m?.stop();
});

describe('listing runs', () => {
  it('lists runs newest first, blob runs only (no job sub-runs or gatherers), with kind, route and status, from the run index', async () => {
    const page = await ops.get<RunListPage>('/runs?top=200');
    // The newest month's partition holds less than a page: one more query reads the older months.
    expect(page.body).toMatchObject({ source: 'index', tableRequests: 2 });
    expect(page.body.note).toBeUndefined();
    const runs = await ops.listAll();
    expect(runs.map((r) => r.runId)).toEqual([ids.a2, ids.broken, ids.b1, ids.a1]);
    expect(runs.every((r) => r.kind === 'blob' && r.orchestration === 'scoreBlobRun')).toBe(true);
    expect(runs.find((r) => r.runId === ids.broken)).toMatchObject({ status: 'Failed', runtimeStatus: 'Completed', route: 'alpha', inputs: ['input/alpha/broken.csv'], inputCount: 1 });
    expect(runs.find((r) => r.runId === ids.broken)!.reason).toMatch(/failed/i);
    const created = runs.map((r) => Date.parse(r.createdAt));
    expect([...created].sort((a, b) => b - a)).toEqual(created);
  });

  it('filters by route, status (any case, comma lists), kind and text in IDs and paths', async () => {
    expect((await ops.listAll('route=beta')).map((r) => r.runId)).toEqual([ids.b1]);
    expect((await ops.listAll('status=Failed')).map((r) => r.runId)).toEqual([ids.broken]);
    expect((await ops.listAll('status=completed')).map((r) => r.runId)).toEqual([ids.a2, ids.b1, ids.a1]);
    expect((await ops.listAll('status=Completed,Failed&route=alpha')).map((r) => r.runId)).toEqual([ids.a2, ids.broken, ids.a1]);
    expect(await ops.listAll('status=Running')).toEqual([]);
    expect(await ops.listAll('kind=blob')).toHaveLength(4);
    expect(await ops.listAll('kind=model,rollback')).toEqual([]);
    expect((await ops.listAll('q=A2.CSV')).map((r) => r.runId)).toEqual([ids.a2]);
    expect((await ops.listAll(`q=${ids.b1.slice(-10)}`)).map((r) => r.runId)).toEqual([ids.b1]);
    expect((await ops.listAll('q=alpha/')).map((r) => r.runId)).toEqual([ids.a2, ids.broken, ids.a1]);
  });

  it('filters by creation time range', async () => {
    const all = await ops.listAll();
    const [newest, second] = all;
    expect((await ops.listAll(`from=${encodeURIComponent(second.createdAt)}`)).map((r) => r.runId)).toEqual([newest.runId, second.runId]);
    expect((await ops.listAll(`to=${encodeURIComponent(second.createdAt)}`)).map((r) => r.runId)).toEqual(all.slice(1).map((r) => r.runId));
    expect((await ops.listAll(`from=${encodeURIComponent(second.createdAt)}&to=${encodeURIComponent(second.createdAt)}`)).map((r) => r.runId)).toEqual([second.runId]);
    expect(await ops.listAll('to=2001-01-01')).toEqual([]);
  });

  it('pages with continuation tokens: every run once, in order, and tokens bound to their filters', async () => {
    const all = (await ops.listAll()).map((r) => r.runId);
    const seen: string[] = [];
    let token: string | undefined;
    let pages = 0;
    do {
      const r = await ops.get<RunListPage>(`/runs?top=1${token ? `&continuationToken=${encodeURIComponent(token)}` : ''}`);
      expect(r.status).toBe(200);
      seen.push(...r.body.runs.map((x) => x.runId));
      token = r.body.continuationToken;
      pages++;
    } while (token && pages < 20);
    expect(seen).toEqual(all);
    expect(pages).toBe(all.length);

    const first = await ops.get<RunListPage>('/runs?top=2&route=alpha');
    expect(first.body.runs).toHaveLength(2);
    const second = await ops.get<RunListPage>(`/runs?top=2&route=alpha&continuationToken=${encodeURIComponent(first.body.continuationToken!)}`);
    expect(second.body.runs.map((r) => r.runId)).toEqual([ids.a1]);
    expect(second.body.continuationToken).toBeUndefined();
    const otherFilter = await ops.get(`/runs?top=2&route=beta&continuationToken=${encodeURIComponent(first.body.continuationToken!)}`);
    expect(otherFilter).toMatchObject({ status: 400, body: { error: { code: 'InvalidContinuationToken' } } });
    expect((await ops.get('/runs?continuationToken=not-a-token')).status).toBe(400);
  });

  it('counts runs by status for the same filters, exactly, from the run index\'s counters', async () => {
    const r = await ops.get<RunCounts>('/counts');
    expect(r.body).toEqual({ total: 4, byStatus: { Completed: 3, Failed: 1 }, source: 'index', tableRequests: ENTRY_SHARDS, asOf: expect.any(String) });
    expect((await ops.get<RunCounts>('/counts?route=alpha&status=Failed')).body).toMatchObject({ total: 3, byStatus: { Completed: 2, Failed: 1 } });
    expect((await ops.get<RunCounts>('/counts?route=alpha&status=Failed')).body.partial).toBeUndefined();
  });

  it('forgets shared list pages when an operator acts, so the change shows at once', async () => {
    const page = await ops.get<RunListPage>('/runs?kind=blob');
    expect(page.body.runs[0].runId).toBe(ids.a2);
    const rerun = await ops.post<{ newRunId: string }>(`/runs/${ids.b1}/rerun`, { reason: 'does an action refresh the shared answers?' });
    expect(rerun.status).toBe(202);
    const after = await ops.get<RunListPage>('/runs?kind=blob');
    expect(after.body.runs[0].runId).toBe(rerun.body.newRunId);
    await ops.waitForStatus(rerun.body.newRunId, ['Completed', 'Failed', 'ValidationFailed']);
  });

  it.each([
    ['kind=bogus', /kind 'bogus' is not one of blob, model, rollback/],
    ['status=Done', /status 'Done' is not one of/],
    ['from=yesterday', /from 'yesterday' is not an ISO 8601 date/],
    ['from=2024-05-02&to=2024-05-01', /is after to/],
    ['top=0', /top '0' must be a whole number from 1 to 200/],
    ['route=Not_A_Route', /route 'Not_A_Route' is not a route name/],
    ['stauts=Failed', /Unknown query parameter 'stauts'/],
  ])('refuses the malformed filter %s with a 400 that says what is wrong', async (query, message) => {
    const r = await ops.get<{ error: { code: string; message: string } }>(`/runs?${query}`);
    expect(r.status).toBe(400);
    expect(r.body.error.message).toMatch(message);
  });
});

describe('one run', () => {
  it('shows a failed run: the failing step and its reason, the Azure ML job with its Studio link, the event and the run record', async () => {
    const d = await ops.run(ids.broken);
    expect(d.summary).toMatchObject({ runId: ids.broken, status: 'Failed', route: 'alpha' });
    const jobStep = d.steps.find((st) => st.kind === 'subRun' && st.name === 'runBatchJob')!;
    expect(jobStep).toMatchObject({ status: 'failed', instanceId: `${ids.broken}:job` });
    expect(jobStep.failure).toMatch(/Azure ML job .* failed/);
    expect(jobStep.startedAt && jobStep.endedAt && jobStep.durationInMs! >= 0).toBeTruthy();
    expect(jobStep.children!.some((c) => c.kind === 'activity' && c.name === 'adoptOrSubmitJob' && c.status === 'completed')).toBe(true);
    expect(d.failedStep?.name).toMatch(/^runBatchJob/);
    expect(d.failedStep?.failure).toBe(d.summary.reason);
    expect(d.jobs).toHaveLength(1);
    expect(d.jobs[0]).toMatchObject({ status: 'Failed', waitedBy: `${ids.broken}:job`, attempt: 1 });
    expect(d.jobs[0].studioUrl).toMatch(/^https:\/\/.*\/studio\/runs\//);
    expect(d.events.map((e) => e.type)).toEqual(['Ops.Run.Failed']);
    expect(d.events[0].id).toBe(`${ids.broken}:Ops.Run.Failed`);
    expect(d.runRecord?.content).toMatchObject({ outcome: 'Failed', runId: ids.broken });
    expect(d.steps.filter((st) => st.kind === 'activity').map((st) => st.name)).toEqual(['writeRunRecord', 'announceRun']);
  });

  it('shows a completed run: steps with durations, outputs with their blob URL, the validation report in full', async () => {
    const d = await ops.run(ids.a1);
    expect(d.summary.status).toBe('Completed');
    expect(d.failedStep).toBeUndefined();
    expect(d.steps.map((st) => `${st.kind}:${st.name}:${st.status}`)).toEqual(['subRun:runBatchJob:completed', 'activity:validateRunOutputs:completed', 'activity:writeRunRecord:completed', 'activity:announceRun:completed']);
    expect(d.outputLocation?.uri).toMatch(/^azureml:\/\/datastores\/workspaceblobstore\/paths\/batchpilot\/alpha\//);
    expect(d.outputLocation?.blobUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/devstoreaccount1\/.+\/batchpilot\/alpha\//);
    const validation = d.reports.find((r) => r.name === 'validation')!;
    expect(validation).toMatchObject({ passed: true });
    expect(validation.content).toMatchObject({ passed: true });
    expect(d.jobs[0]).toMatchObject({ status: 'Completed' });
    expect(d.jobs[0].output?.uri).toBe(d.outputLocation?.uri);
    expect(d.events.map((e) => e.type)).toEqual(['Ops.Run.Completed']);
    expect(d.input).toMatchObject({ runId: ids.a1, route: { name: 'alpha' } });
    expect(d.output).toMatchObject({ outcome: 'Completed' });
  });

  it('answers 404 for an unknown run ID and for a sub-run, naming the run it belongs to', async () => {
    const unknown = await ops.get<{ error: { code: string; message: string } }>('/runs/bp-alpha-doesnotexist');
    expect(unknown).toMatchObject({ status: 404, body: { error: { code: 'RunNotFound' } } });
    expect(unknown.body.error.message).toMatch(/No run with ID 'bp-alpha-doesnotexist'/);
    const sub = await ops.get<{ error: { message: string } }>(`/runs/${encodeURIComponent(`${ids.a1}:job`)}`);
    expect(sub.status).toBe(404);
    expect(sub.body.error.message).toContain(`of run '${ids.a1}'`);
  });
});

describe('actions, each with its audit record', () => {
  const audit = async (runId: string): Promise<AuditRecord[]> => (await ops.get<{ records: AuditRecord[] }>(`/audit?runId=${encodeURIComponent(runId)}`)).body.records;

  it('reruns a finished run as a new run with the same input, linked to the original', async () => {
    const r = await ops.post('/runs/' + ids.broken + '/rerun', { reason: 'the workspace quota was fixed' });
    expect(r.status).toBe(202);
    expect(r.body).toMatchObject({ action: 'rerun', runId: ids.broken, newRunId: `${ids.broken}-r1`, rerunOf: ids.broken });
    const rerun = await ops.waitForStatus(`${ids.broken}-r1`, ['Completed', 'Failed', 'ValidationFailed']);
    expect(rerun.summary).toMatchObject({ status: 'Completed', rerunOf: ids.broken, route: 'alpha', inputs: ['input/alpha/broken.csv'] });
    const original = (await ops.run(ids.broken)).input as Record<string, unknown>;
    // The same input, but no arrival time: a rerun's latency is not the original arrival's.
    const { firstArrivalAt, ...trigger } = original.trigger as Record<string, unknown>;
    expect(firstArrivalAt).toEqual(expect.any(String));
    expect({ ...(rerun.input as Record<string, unknown>), runId: undefined, rerunOf: undefined }).toEqual({ ...original, trigger, runId: undefined, rerunOf: undefined });
    expect(await s.jobsOfRun(`${ids.broken}-r1`)).toHaveLength(1);
    expect((await ops.run(ids.broken)).reruns).toEqual([`${ids.broken}-r1`]);
    const [record] = await audit(ids.broken);
    expect(record).toMatchObject({ action: 'rerun', runId: ids.broken, reason: 'the workspace quota was fixed', outcome: 'succeeded', result: { newRunId: `${ids.broken}-r1` }, by: { via: 'functionKey', declaredAs: 'e2e-tests' } });
    expect((await ops.listAll(`q=${ids.broken}`)).map((x) => x.runId)).toEqual([`${ids.broken}-r1`, ids.broken]);
    const again = await ops.post(`/runs/${ids.broken}-r1/rerun`, { reason: 'once more' });
    expect(again.body).toMatchObject({ newRunId: `${ids.broken}-r2`, rerunOf: `${ids.broken}-r1` });
    await ops.waitForStatus(`${ids.broken}-r2`, ['Completed', 'Failed', 'ValidationFailed']);
  });

  it('terminates a running run: the instance and its job sub-run first, then the Azure ML job, which is not resubmitted', async () => {
    s.stack.azureMl.holdJobs();
    try {
      await s.upload('beta/long.csv', csv(5, 5));
      const runId = await waitUntil(async () => (await ops.listAll('q=beta/long.csv'))[0]?.runId, 'the run of beta/long.csv');
      const running = await waitUntil(async () => {
        const d = await ops.run(runId);
        return d.jobs.length === 1 && d.summary.status === 'Running' ? d : undefined;
      }, 'the run to wait on its job', 60_000);
      const jobName = running.jobs[0].jobName;

      const notGated = await ops.post(`/runs/${runId}/approve`, { reason: 'looks fine' });
      expect(notGated).toMatchObject({ status: 409, body: { error: { code: 'NotAwaitingApproval' } } });
      const notFinished = await ops.post(`/runs/${runId}/rerun`, { reason: 'too early' });
      expect(notFinished).toMatchObject({ status: 409, body: { error: { code: 'RunNotFinished' } } });

      const r = await ops.post<{ terminated: string[]; cancelledJobs: string[] }>(`/runs/${runId}/terminate`, { reason: 'wrong input file & resubmitting tomorrow' });
      expect(r.status).toBe(202);
      expect(r.body.terminated).toEqual([runId, `${runId}:job`]);
      expect(r.body.cancelledJobs).toEqual([jobName]);
      const d = await ops.waitForStatus(runId, ['Terminated']);
      expect(d.steps.at(-1)).toMatchObject({ kind: 'run', status: 'terminated' });
      expect(d.steps.at(-1)!.failure).toContain('wrong input file & resubmitting tomorrow');
      await waitUntil(() => ['Canceled', 'CancelRequested'].includes(String(s.stack.azureMl.jobReport(jobName)?.status)), 'the job to be cancelled');
      s.stack.azureMl.releaseJobs();
      await s.quiesce();
      expect(await s.jobsOfRun(runId)).toEqual([jobName]);
      expect((await ops.get<RunDetail>(`/runs/${encodeURIComponent(runId)}`)).body.summary.status).toBe('Terminated');
      const [record] = await audit(runId);
      expect(record).toMatchObject({ action: 'terminate', outcome: 'succeeded', reason: 'wrong input file & resubmitting tomorrow', result: { cancelledJobs: [jobName] } });
      ids.terminated = runId;
    } finally {
      s.stack.azureMl.releaseJobs();
    }
  });

  it('refuses actions on finished runs and unknown runs with a 4xx that says why', async () => {
    expect(await ops.post(`/runs/${ids.a1}/terminate`, { reason: 'x' })).toMatchObject({ status: 409, body: { error: { code: 'RunFinished' } } });
    expect(await ops.post(`/runs/${ids.a1}/approve`, { reason: 'x' })).toMatchObject({ status: 409, body: { error: { code: 'RunFinished' } } });
    expect(await ops.post(`/runs/${ids.a1}/reject`, { reason: 'x' })).toMatchObject({ status: 409, body: { error: { code: 'RunFinished' } } });
    expect(await ops.post('/runs/bp-nope/rerun', { reason: 'x' })).toMatchObject({ status: 404, body: { error: { code: 'RunNotFound' } } });
    expect(await ops.post(`/runs/${ids.a1}/explode`, { reason: 'x' })).toMatchObject({ status: 404, body: { error: { code: 'UnknownAction' } } });
    expect(await ops.post(`/runs/${ids.a1}/rerun`, {})).toMatchObject({ status: 400, body: { error: { code: 'ReasonRequired' } } });
    expect(await ops.post(`/runs/${ids.a1}/rerun`, '{not json')).toMatchObject({ status: 400, body: { error: { code: 'InvalidJson' } } });
  });

  it('starts a run for one blob path, once: the same blob version again is refused with the run that has it', async () => {
    await uploadQuietly('beta/manual.csv', csv(4, 6));
    expect(await ops.listAll('q=beta/manual.csv')).toEqual([]);
    const r = await ops.post<{ started: Array<{ runId: string }> }>('/runs', { blob: 'input/beta/manual.csv', reason: 'the upload event was lost' });
    expect(r.status).toBe(202);
    expect(r.body).toMatchObject({ action: 'start', started: [{ route: 'beta', files: 1 }], alreadyExisting: [] });
    const runId = r.body.started[0].runId;
    const d = await ops.waitForStatus(runId, ['Completed', 'Failed', 'ValidationFailed']);
    expect(d.summary).toMatchObject({ status: 'Completed', route: 'beta', inputs: ['input/beta/manual.csv'] });
    const again = await ops.post<{ error: { message: string } }>('/runs', { blob: 'input/beta/manual.csv', reason: 'again' });
    expect(again.status).toBe(409);
    expect(again.body.error.message).toContain(runId);
    const records = await audit(runId);
    expect(records).toEqual([expect.objectContaining({ action: 'start', outcome: 'succeeded', reason: 'the upload event was lost', request: { blob: 'input/beta/manual.csv' } })]);
  });

  it('starts one run over a folder of a marker route, without its marker', async () => {
    await uploadQuietly('folders/day9/p1.csv', csv(3, 7));
    await uploadQuietly('folders/day9/p2.csv', csv(3, 8));
    const refused = await ops.post<{ error: { code: string; message: string } }>('/runs', { blob: 'input/folders/day9/p1.csv', reason: 'x' });
    expect(refused).toMatchObject({ status: 400, body: { error: { code: 'RouteGathersFolders' } } });
    expect(refused.body.error.message).toContain("'input/folders/day9/'");
    const r = await ops.post<{ started: Array<{ runId: string; files: number }> }>('/runs', { folder: 'input/folders/day9/', reason: 'the marker never came' });
    expect(r.status).toBe(202);
    expect(r.body.started).toEqual([expect.objectContaining({ route: 'folders', files: 2 })]);
    const d = await ops.waitForStatus(r.body.started[0].runId, ['Completed', 'Failed', 'ValidationFailed']);
    expect(d.summary).toMatchObject({ status: 'Completed', inputCount: 2, folder: 'input/folders/day9/' });
    expect(d.reports.find((x) => x.name === 'validation')?.summary).toMatch(/6 rows for 6 input rows/);
  });

  it.each([
    [{ reason: 'x' }, 400, 'InvalidStart'],
    [{ blob: 'input/beta/manual.csv', folder: 'input/beta/', reason: 'x' }, 400, 'InvalidStart'],
    [{ blob: 'input/beta/missing.csv', reason: 'x' }, 404, 'BlobNotFound'],
    [{ blob: 'input/elsewhere/x.csv', reason: 'x' }, 404, 'BlobNotFound'],
    [{ blob: 'input', reason: 'x' }, 400, 'InvalidPath'],
    [{ blob: 'input/beta/../alpha/a1.csv', reason: 'x' }, 400, 'InvalidPath'],
    [{ folder: 'input/nothing-here/', reason: 'x' }, 404, 'FolderEmpty'],
    [{ blob: 'input/beta/manual.csv' }, 400, 'ReasonRequired'],
  ])('refuses the start request %j with %i %s', async (body, status, code) => {
    expect(await ops.post('/runs', body)).toMatchObject({ status, body: { error: { code } } });
  });

  it('refuses a start for a blob no route takes', async () => {
    await uploadQuietly('gamma/x.csv', csv(2, 9));
    const r = await ops.post<{ error: { code: string; message: string } }>('/runs', { blob: 'input/gamma/x.csv', reason: 'x' });
    expect(r).toMatchObject({ status: 400, body: { error: { code: 'NoRouteMatches' } } });
    expect(r.body.error.message).toMatch(/path does not start with 'alpha\/'/);
  });

  it('lists the audit trail newest first, each action once', async () => {
    const r = await ops.get<{ records: AuditRecord[] }>('/audit');
    expect(r.status).toBe(200);
    const actions = r.body.records.map((x) => x.action);
    expect(actions.slice(0, 5)).toEqual(['start', 'start', 'terminate', 'rerun', 'rerun']);
    expect(new Set(r.body.records.map((x) => x.id)).size).toBe(r.body.records.length);
    expect(r.body.records.every((x) => x.outcome === 'succeeded' && x.reason && x.by.name)).toBe(true);
    // Each action was recorded twice, pending then its outcome, at successive places in the chain.
    expect(r.body.records.every((x) => x.entries.length === 2 && x.entries[0].state === 'pending' && x.entries[1].state === 'succeeded')).toBe(true);
    expect((await ops.get('/audit?top=9999')).status).toBe(400);
    const verified = await ops.get<AuditVerification>('/audit/verify');
    expect(verified).toMatchObject({ status: 200, body: { ok: true, fromSeq: 1, problems: [] } });
    expect(verified.body.checked).toBe(verified.body.headSeq);
    expect(verified.body.headSeq).toBeGreaterThanOrEqual(2 * r.body.records.length);
    expect((await ops.get('/audit/verify?fromSeq=0')).status).toBe(400);
  });
});

describe('who may change what', () => {
  it('lets a Reader look but not change, an Operator change (recorded by name), and refuses a principal with neither role', async () => {
    const reader = ops.as({ name: 'rita@contoso.com', roles: ['Reader'] });
    expect((await reader.get('/runs')).status).toBe(200);
    expect((await reader.get<CallerInfo>('/me')).body).toMatchObject({ mayChange: false, readOnlyMode: false, actor: { name: 'rita@contoso.com', via: 'principal', roles: ['Reader'] } });
    const refused = await reader.post<{ error: { code: string; message: string } }>(`/runs/${ids.a1}/rerun`, { reason: 'x' });
    expect(refused).toMatchObject({ status: 403, body: { error: { code: 'OperatorRoleRequired' } } });
    expect(refused.body.error.message).toMatch(/a Reader may look but not change runs/);
    expect((await reader.post('/purge', { before: '2001-01-01', reason: 'x' })).status).toBe(403);

    const nobody = ops.as({ name: 'nora@contoso.com', roles: [] });
    expect(await nobody.get('/runs')).toMatchObject({ status: 403, body: { error: { code: 'RoleRequired' } } });

    const operator = ops.as({ name: 'otto@contoso.com', roles: ['Operator'] });
    const r = await operator.post<{ newRunId: string }>(`/runs/${ids.a1}/rerun`, { reason: 'checking the new scoring image' });
    expect(r.status).toBe(202);
    await ops.waitForStatus(r.body.newRunId, ['Completed', 'Failed', 'ValidationFailed']);
    const [record] = (await ops.get<{ records: AuditRecord[] }>(`/audit?runId=${ids.a1}`)).body.records;
    expect(record.by).toMatchObject({ name: 'otto@contoso.com', via: 'principal', id: 'oid-otto@contoso.com', roles: ['Operator'] });
  });

  it('refuses a Reader every action, before anything is recorded or done', async () => {
    const reader = ops.as({ name: 'rita@contoso.com', roles: ['Reader'] });
    const before = (await ops.get<{ records: AuditRecord[] }>('/audit?top=500')).body.records.length;
    const attempts = await Promise.all([
      reader.post(`/runs/${ids.a2}/terminate`, { reason: 'x' }),
      reader.post(`/runs/${ids.a2}/rerun`, { reason: 'x' }),
      reader.post(`/runs/${ids.a2}/approve`, { reason: 'x' }),
      reader.post(`/runs/${ids.a2}/reject`, { reason: 'x' }),
      reader.post('/runs', { blob: 'input/beta/manual.csv', reason: 'x' }),
      reader.post('/purge', { before: '2001-01-01', reason: 'x' }),
      reader.post('/rollbacks', { endpoint: 'gated-ep', reason: 'x' }),
    ]);
    for (const a of attempts) expect(a).toMatchObject({ status: 403, body: { error: { code: 'OperatorRoleRequired' } } });
    expect((await ops.get<{ records: AuditRecord[] }>('/audit?top=500')).body.records).toHaveLength(before);
    expect((await ops.run(ids.a2)).reruns).toEqual([]);
  });

  it('treats a key-only caller as an Operator only because BATCHPILOT_OPERATOR_KEY_ROLE says so, and records it as the key', async () => {
    expect((await ops.get<CallerInfo>('/me')).body).toMatchObject({ mayChange: true, platformAuthentication: true, actor: { name: 'function-key', via: 'functionKey', roles: ['Operator'], declaredAs: 'e2e-tests' } });
    const [start] = (await ops.get<{ records: AuditRecord[] }>('/audit')).body.records.filter((r) => r.action === 'start');
    expect(start.by).toEqual({ name: 'function-key', via: 'functionKey', roles: ['Operator'], declaredAs: 'e2e-tests' });
  });

  it('refuses a malformed principal header instead of ignoring it', async () => {
    expect(await ops.get('/runs', { 'x-ms-client-principal': '%%%not-base64-json' })).toMatchObject({ status: 400, body: { error: { code: 'InvalidPrincipal' } } });
  });

  it('refuses every action without the function key', async () => {
    const res = await fetch(`${ops.baseUrl}/runs`);
    expect(res.status).toBe(401);
  });
});

describe('model runs: the approval gate and rollback', () => {
  const waitForGate = async (model: string, version: string): Promise<RunSummary> =>
    waitUntil(async () => (await ops.listAll(`kind=model&status=AwaitingApproval&q=${model}:${version}`))[0], `${model}:${version} to wait at its gate`, 180_000);

  it('lists a model run waiting at its gate, shows its comparison report, refuses a Reader, and promotes when an Operator approves', async () => {
    await m.createEndpoint('gated-ep');
    await m.registerModel('gated-churn', '1', AGREES);
    const waiting = await waitForGate('gated-churn', '1');
    expect(waiting).toMatchObject({ kind: 'model', orchestration: 'promoteModel', status: 'AwaitingApproval', route: 'gated', model: { name: 'gated-churn', version: '1' }, endpoint: 'gated-ep' });
    const d = await ops.run(waiting.runId);
    expect(d.approval).toMatchObject({ awaiting: true });
    const comparison = d.reports.find((r) => r.name === 'comparison')!;
    expect(comparison).toMatchObject({ passed: true });
    expect(comparison.content).toMatchObject({ passed: true });
    expect(d.jobs.map((j) => j.waitedBy).sort()).toEqual([`${waiting.runId}:baseline:job`, `${waiting.runId}:candidate:job`]);
    expect(d.jobs.every((j) => j.status === 'Completed' && /\/studio\/runs\//.test(j.studioUrl ?? ''))).toBe(true);
    expect((await ops.get<RunCounts>('/counts?kind=model')).body).toMatchObject({ total: 1, byStatus: { AwaitingApproval: 1 } });

    const reader = ops.as({ name: 'rita@contoso.com', roles: ['Reader'] });
    expect(await reader.post(`/runs/${waiting.runId}/approve`, { reason: 'x' })).toMatchObject({ status: 403 });
    const operator = ops.as({ name: 'otto@contoso.com', roles: ['Operator'] });
    const r = await operator.post(`/runs/${waiting.runId}/approve`, { reason: 'comparison reviewed: identical scores' });
    expect(r).toMatchObject({ status: 202, body: { action: 'approve', runId: waiting.runId, approved: true } });
    const promoted = await ops.waitForStatus(waiting.runId, ['Promoted', 'Rejected', 'Failed'], 120_000);
    expect(promoted.summary.status).toBe('Promoted');
    expect(promoted.output).toMatchObject({ decision: { approved: true, by: 'otto@contoso.com', via: 'approval', reason: 'comparison reviewed: identical scores' } });
    expect(promoted.events.map((e) => e.type)).toEqual(['Ops.Model.Validated', 'Ops.Model.Promoted']);
    expect(await m.defaultOf('gated-ep')).toBe('gated-churn-v1');
    const [record] = promoted.audit;
    expect(record).toMatchObject({ action: 'approve', outcome: 'succeeded', by: { name: 'otto@contoso.com', via: 'principal' } });
    expect(await ops.post(`/runs/${waiting.runId}/reject`, { reason: 'too late' })).toMatchObject({ status: 409, body: { error: { code: 'RunFinished' } } });
    ids.promoted = waiting.runId;
  });

  it('rolls the endpoint back past that promotion as an audited rollback run', async () => {
    expect(await ops.post('/rollbacks', { endpoint: 'not an endpoint', reason: 'x' })).toMatchObject({ status: 400, body: { error: { code: 'InvalidEndpoint' } } });
    const nothing = await ops.post('/rollbacks', { endpoint: 'never-promoted', reason: 'x' });
    expect(nothing).toMatchObject({ status: 409, body: { error: { code: 'NothingToRollBack' } } });
    const r = await ops.post<{ rollbackRunId: string; restores: string; started: boolean }>('/rollbacks', { endpoint: 'gated-ep', reason: 'candidate misbehaves in production' });
    expect(r).toMatchObject({ status: 202, body: { action: 'rollback', started: true, restores: 'gated-ep-base', promotionRunId: ids.promoted } });
    const rolled = await ops.waitForStatus(r.body.rollbackRunId, ['RolledBack', 'Failed'], 120_000);
    expect(rolled.summary).toMatchObject({ kind: 'rollback', orchestration: 'rollbackModel', status: 'RolledBack', endpoint: 'gated-ep' });
    expect(await m.defaultOf('gated-ep')).toBe('gated-ep-base');
    expect((await ops.listAll('kind=rollback')).map((x) => x.runId)).toEqual([r.body.rollbackRunId]);
    expect(rolled.audit).toEqual([expect.objectContaining({ action: 'rollback', outcome: 'succeeded', reason: 'candidate misbehaves in production' })]);
    expect((await ops.run(ids.promoted)).audit.map((a) => a.action)).toEqual(['approve', 'rollback']);
  });

  it('does not promote when an Operator rejects', async () => {
    await m.registerModel('gated-churn', '2', AGREES);
    const waiting = await waitForGate('gated-churn', '2');
    const r = await ops.post(`/runs/${waiting.runId}/reject`, { reason: 'not this quarter' });
    expect(r).toMatchObject({ status: 202, body: { action: 'reject', approved: false } });
    const rejected = await ops.waitForStatus(waiting.runId, ['Promoted', 'Rejected', 'Failed'], 120_000);
    expect(rejected.summary.status).toBe('Rejected');
    expect(await m.defaultOf('gated-ep')).toBe('gated-ep-base');
    expect((await ops.listAll('kind=model')).map((x) => `${x.model?.version}:${x.status}`)).toEqual(['2:Rejected', '1:Promoted']);
  });
});

describe('purge, no platform authentication and read-only mode (last: they change the stack)', () => {
  it('purges the history of finished runs created before a date, keeping newer runs, run records and the audit trail', async () => {
    expect(await ops.post('/purge', { before: 'last week', reason: 'x' })).toMatchObject({ status: 400, body: { error: { code: 'InvalidPurge' } } });
    expect(await ops.post('/purge', { before: '2999-01-01', reason: 'x' })).toMatchObject({ status: 400, body: { error: { code: 'InvalidPurge' } } });
    const broken = (await ops.run(ids.broken)).summary;
    const r = await ops.post<{ instancesDeleted: number }>('/purge', { before: new Date(Date.parse(broken.createdAt) - 1).toISOString(), reason: 'retention: older than the test window' });
    expect(r.status).toBe(200);
    // a1 and b1, with their job sub-runs.
    expect(r.body.instancesDeleted).toBe(4);
    expect((await ops.get(`/runs/${ids.a1}`)).status).toBe(404);
    expect((await ops.get(`/runs/${ids.b1}`)).status).toBe(404);
    expect((await ops.get(`/runs/${ids.a2}`)).status).toBe(200);
    expect(await s.runRecord('alpha', ids.a1)).toMatchObject({ outcome: 'Completed' });
    // The run index outlives the history: purged runs are still listed and counted.
    expect((await ops.listAll(`q=${ids.a1}`)).find((x) => x.runId === ids.a1)).toMatchObject({ status: 'Completed', route: 'alpha' });
    const records = (await ops.get<{ records: AuditRecord[] }>('/audit')).body.records;
    expect(records[0]).toMatchObject({ action: 'purge', outcome: 'succeeded', result: { instancesDeleted: 4 } });
    expect(records.some((x) => x.runId === ids.a1)).toBe(true);
  });

  it('without App Service authentication: refuses forged principal headers and treats the key as a Reader', async () => {
    await restartHostWith(s, { WEBSITE_AUTH_ENABLED: '', BATCHPILOT_OPERATOR_KEY_ROLE: '' });
    const before = (await ops.get<{ records: AuditRecord[] }>('/audit?top=500')).body.records.length;
    const forged = ops.as({ name: 'mallory@contoso.com', roles: ['Operator'] });
    for (const attempt of [forged.get('/runs'), forged.get('/me'), forged.post(`/runs/${ids.a2}/rerun`, { reason: 'x' }), forged.post('/purge', { before: '2001-01-01', reason: 'x' })]) {
      expect(await attempt).toMatchObject({ status: 403, body: { error: { code: 'UntrustedPrincipal' } } });
    }
    expect(await ops.get('/runs', { 'x-ms-client-principal-name': 'mallory@contoso.com' })).toMatchObject({ status: 403, body: { error: { code: 'UntrustedPrincipal' } } });
    expect((await ops.get<CallerInfo>('/me')).body).toMatchObject({ mayChange: false, platformAuthentication: false, actor: { name: 'function-key', via: 'functionKey', roles: ['Reader'] } });
    expect((await ops.get('/runs')).status).toBe(200);
    const keyOnly = await ops.post<{ error: { message: string } }>(`/runs/${ids.a2}/rerun`, { reason: 'x' });
    expect(keyOnly).toMatchObject({ status: 403, body: { error: { code: 'OperatorRoleRequired' } } });
    expect(keyOnly.body.error.message).toMatch(/BATCHPILOT_OPERATOR_KEY_ROLE=Operator/);
    expect((await ops.get<{ records: AuditRecord[] }>('/audit?top=500')).body.records).toHaveLength(before);
  });

  it('refuses every change in read-only mode, whoever asks, and still answers reads', async () => {
    await restartHostWith(s, { ...BEHIND_APP_SERVICE_AUTH, BATCHPILOT_OPERATOR_READ_ONLY: 'true' });
    const operator = ops.as({ name: 'otto@contoso.com', roles: ['Operator'] });
    for (const client of [ops, operator]) {
      expect((await client.get<CallerInfo>('/me')).body).toMatchObject({ readOnlyMode: true, mayChange: false });
      expect((await client.get('/runs')).status).toBe(200);
      const attempts = await Promise.all([
        client.post(`/runs/${ids.a2}/rerun`, { reason: 'x' }),
        client.post(`/runs/${ids.a2}/terminate`, { reason: 'x' }),
        client.post(`/runs/${ids.a2}/approve`, { reason: 'x' }),
        client.post(`/runs/${ids.a2}/reject`, { reason: 'x' }),
        client.post('/runs', { blob: 'input/beta/manual.csv', reason: 'x' }),
        client.post('/purge', { before: '2001-01-01', reason: 'x' }),
      ]);
      for (const a of attempts) expect(a).toMatchObject({ status: 403, body: { error: { code: 'ReadOnlyMode' } } });
    }
    const runs = (await ops.get<RunListPage>('/runs')).body.runs as RunSummary[];
    expect(runs.some((x) => x.runId === ids.a2)).toBe(true);
  });
});
