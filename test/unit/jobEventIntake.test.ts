// Job-event intake against the Durable HTTP API: a job's batchpilot-run-id tag is only a claim. Hostile
// tags reach nothing; a well-formed tag reaches its run's job instance only when that instance is
// waiting for this very job and attempt. Every request the intake makes is recorded.
import { InvocationContext } from '@azure/functions';
import { intakeMlEvent } from '../../src/events/mlIntake';
import { blobRunId } from '../../src/domain/instanceIds';
import { modelRunId } from '../../src/model/modelRunIds';
import { withEncodedIds } from '../../src/azure/durableClient';
import { API_PREFIX, RecordingDurableApi } from '../support/recordingDurableApi';

const RUN = blobRunId('single', 'https://acct.blob.core.windows.net/input/single/a.csv', '0x1');
const MODEL_RUN = modelRunId('/subscriptions/s/resourceGroups/r/providers/Microsoft.MachineLearningServices/workspaces/w', 'churn', '3');
const JOB = 'batchjob-11111111-2222-3333-4444-555555555555';

function jobEvent(runTags: Record<string, unknown>, jobName = JOB, eventType = 'Microsoft.MachineLearningServices.RunCompleted'): Record<string, unknown> {
  return {
    id: `ev-${Math.random().toString(36).slice(2)}`,
    topic: '/subscriptions/s/resourceGroups/r/providers/Microsoft.MachineLearningServices/workspaces/w',
    subject: `experiments/e/runs/${jobName}`,
    eventType,
    eventTime: '2024-01-01T00:00:00Z',
    dataVersion: '2',
    metadataVersion: '1',
    data: { experimentId: 'e', experimentName: 'e', runId: jobName, runType: null, runTags, runProperties: {}, runStatus: 'Completed' },
  };
}

let api: RecordingDurableApi;
let logs: Array<{ level: string; text: string }>;
const context = (): InvocationContext => new InvocationContext({ functionName: 'intakeMlEvents', invocationId: 'test', logHandler: (level, ...args) => logs.push({ level, text: args.map(String).join(' ') }) });
/** The client as the app has it (durableClientFor): the library's, IDs encoded; by default with the extension's RPC binding. */
const client = (rpc = true) => withEncodedIds(api.client({ rpc }));
const waitingFor = (jobName: string | undefined, attempt = 1) => ({ name: 'runBatchJob', runtimeStatus: 'Running', customStatus: { phase: 'waiting for job', jobName, attempt, polls: 0, eventsSeen: 0, elapsedInSeconds: 1 } });

beforeAll(async () => {
  api = await RecordingDurableApi.start();
});
afterAll(async () => {
  await api?.stop();
});
beforeEach(() => {
  api.clear();
  api.instances.clear();
  logs = [];
  api.instances.set(`${RUN}:job`, waitingFor(JOB));
  api.instances.set(RUN, { name: 'scoreBlobRun', runtimeStatus: 'Running', customStatus: { phase: 'running job' } });
});

describe('job events with hostile tags', () => {
  const hostile: Array<[string, Record<string, unknown>]> = [
    ['a path that terminates the run', { 'batchpilot-run-id': `${RUN}/terminate?reason=x#`, 'batchpilot-attempt': '1' }],
    ['a path that terminates the job instance', { 'batchpilot-run-id': `${RUN}:job/terminate?reason=x#`, 'batchpilot-attempt': '1' }],
    ['a path traversal to another instance', { 'batchpilot-run-id': `x/../${RUN}:job/suspend?#`, 'batchpilot-attempt': '1' }],
    ['a traversal out of instances/', { 'batchpilot-run-id': `../instances/${RUN}:job/rewind?reason=r#`, 'batchpilot-attempt': '1' }],
    ['a query', { 'batchpilot-run-id': `${RUN}?taskHub=Other`, 'batchpilot-attempt': '1' }],
    ['a fragment', { 'batchpilot-run-id': `${RUN}#`, 'batchpilot-attempt': '1' }],
    ['a forged approval', { 'batchpilot-run-id': `x/../${MODEL_RUN}/raiseEvent/Approval?#`, 'batchpilot-attempt': '1' }],
    ['an encoded slash', { 'batchpilot-run-id': `${RUN}%2Fterminate`, 'batchpilot-attempt': '1' }],
    ['an overlong run ID', { 'batchpilot-run-id': `${RUN}${'a'.repeat(10_000)}`, 'batchpilot-attempt': '1' }],
    ['unicode look-alikes', { 'batchpilot-run-id': RUN.replace(/a/g, 'а'), 'batchpilot-attempt': '1' }],
    ['an empty run ID', { 'batchpilot-run-id': '', 'batchpilot-attempt': '1' }],
    ['a run ID that is not a job run (a model run itself)', { 'batchpilot-run-id': MODEL_RUN, 'batchpilot-attempt': '1' }],
    ['no attempt tag', { 'batchpilot-run-id': RUN }],
    ['a hostile attempt tag', { 'batchpilot-run-id': RUN, 'batchpilot-attempt': '1/../../terminate' }],
  ];

  it.each(hostile)('refuses %s without calling the Durable API', async (_what, runTags) => {
    expect(await intakeMlEvent(jobEvent(runTags), client(), context())).toBe('ignored');
    expect(api.requests).toEqual([]);
    expect(logs.some((l) => l.level === 'warning' && /Refused job event/.test(l.text) && /nothing was raised/.test(l.text))).toBe(true);
  });

  it('does not wake a run for a job it is not waiting for, though the tags name the run exactly', async () => {
    const forged = jobEvent({ 'batchpilot-run-id': RUN, 'batchpilot-attempt': '1' }, 'attackers-own-job');
    expect(await intakeMlEvent(forged, client(), context())).toBe('ignored');
    expect(api.requests.map((r) => [r.method, r.path])).toEqual([['GET', `${API_PREFIX}/instances/${encodeURIComponent(`${RUN}:job`)}`]]);
    expect(logs.find((l) => l.level === 'warning')?.text).toMatch(new RegExp(`waiting for job \\\\"${JOB}\\\\", not \\\\"attackers-own-job\\\\"`));
  });

  it('does not wake a run with an event of another attempt, nor an instance that is not a job instance', async () => {
    expect(await intakeMlEvent(jobEvent({ 'batchpilot-run-id': RUN, 'batchpilot-attempt': '2' }), client(), context())).toBe('ignored');
    api.instances.set(`${RUN}:job`, { name: 'scoreBlobRun', runtimeStatus: 'Running', customStatus: { jobName: JOB, attempt: 1 } });
    expect(await intakeMlEvent(jobEvent({ 'batchpilot-run-id': RUN, 'batchpilot-attempt': '1' }), client(), context())).toBe('ignored');
    expect(api.requests.every((r) => r.method === 'GET')).toBe(true);
    expect(logs.filter((l) => l.level === 'warning').map((l) => l.text)).toEqual([expect.stringMatching(/on attempt 1, not 2/), expect.stringMatching(/is a scoreBlobRun, not a runBatchJob/)]);
  });

  it('refuses an event that outruns the instance publishing its job: the status poll covers it', async () => {
    api.instances.set(`${RUN}:job`, waitingFor(undefined));
    expect(await intakeMlEvent(jobEvent({ 'batchpilot-run-id': RUN, 'batchpilot-attempt': '1' }), client(), context())).toBe('ignored');
    expect(api.requests.map((r) => r.method)).toEqual(['GET']);
  });
});

describe('job events for the job a run waits for', () => {
  it('raises JobStatusChanged on the run’s job instance, with the job’s name and status', async () => {
    expect(await intakeMlEvent(jobEvent({ 'batchpilot-run-id': RUN, 'batchpilot-attempt': '1', 'batchpilot-submission-abc': 'true' }), client(), context())).toBe('routed');
    const job = encodeURIComponent(`${RUN}:job`);
    expect(api.requests.map((r) => [r.method, r.path])).toEqual([
      ['GET', `${API_PREFIX}/instances/${job}`],
      ['POST', `${API_PREFIX}/instances/${job}/raiseEvent/JobStatusChanged`],
    ]);
    expect(JSON.parse(api.requests[1].body)).toEqual({ jobName: JOB, status: 'Completed', eventType: 'Microsoft.MachineLearningServices.RunCompleted' });
  });

  it('routes a scoring side of a model run to that side’s job instance, through the local host binding too', async () => {
    const side = `${MODEL_RUN}:candidate`;
    api.instances.set(`${side}:job`, waitingFor(JOB, 2));
    expect(await intakeMlEvent(jobEvent({ 'batchpilot-run-id': side, 'batchpilot-attempt': '2' }), client(false), context())).toBe('routed');
    expect(api.requests.map((r) => [r.method, r.path])).toEqual([
      ['GET', `${API_PREFIX}/instances/${encodeURIComponent(`${side}:job`)}`],
      ['POST', `${API_PREFIX}/instances/${encodeURIComponent(`${side}:job`)}/raiseEvent/JobStatusChanged`],
    ]);
  });

  it('ignores events for runs that are gone or finished', async () => {
    api.instances.delete(`${RUN}:job`);
    expect(await intakeMlEvent(jobEvent({ 'batchpilot-run-id': RUN, 'batchpilot-attempt': '1' }), client(), context())).toBe('ignored');
    api.instances.set(`${RUN}:job`, { ...waitingFor(JOB), runtimeStatus: 'Completed' });
    expect(await intakeMlEvent(jobEvent({ 'batchpilot-run-id': RUN, 'batchpilot-attempt': '1' }), client(), context())).toBe('ignored');
    expect(api.requests.map((r) => r.method)).toEqual(['GET', 'GET']);
    expect(logs.filter((l) => l.level === 'warning')).toEqual([]);
    expect(logs.map((l) => l.text)).toEqual([expect.stringMatching(/No waiting instance/), expect.stringMatching(/is Completed; nothing waits/)]);
  });
});
