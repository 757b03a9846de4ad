// Outages longer than an activity's own retries (six attempts, about a minute) do not lose a run: with
// the events topic down the run keeps retrying its announcement on durable timers and, once the topic
// is back, sends exactly one outcome event with its stable ID and notes it in the run record; with
// Azure ML's status API down the run keeps waiting on its job instead of failing and leaving it running
// (a rerun would then start a second job). The routes retry every 1-2 s so the outages stay short.
import { BlobRunStack } from '../support/blobRunStack';
import { EVENTS_TOPIC } from '../../src/local/stack/localStack';
import { generateChurnCsv } from '@batchpilot/azureml-emulator';
import { waitUntil } from '@batchpilot/local-platform';
import { FAILED_ATTEMPTS_PER_GENERATION } from '../../src/orchestrations/runEnding';
import { jobInstanceId } from '../../src/domain/runIds';

const ROUTES = `
routes:
  - name: outage
    trigger: { storageAccounts: [devstoreaccount1], container: input, pathPrefix: outage/ }
    target: { endpoint: churn-scoring }
    wait: { pollMinIntervalInSeconds: 1, pollMaxIntervalInSeconds: 2, timeoutInMinutes: 30 }
    validation: {}
    events: { typePrefix: Test, retry: { minIntervalInSeconds: 1, maxIntervalInSeconds: 2, timeoutInMinutes: 30 } }
  - name: brief
    trigger: { storageAccounts: [devstoreaccount1], container: input, pathPrefix: brief/ }
    target: { endpoint: churn-scoring }
    wait: { pollMinIntervalInSeconds: 1, pollMaxIntervalInSeconds: 2, timeoutInMinutes: 30 }
    events: { typePrefix: Test, retry: { minIntervalInSeconds: 1, maxIntervalInSeconds: 2, timeoutInMinutes: 0.1 } }
`;

/** Attempts the activity retry policy made before the fix (6 attempts, 2 s doubling): an outage past them lost the event. */
const OLD_ATTEMPT_BUDGET = 6;
const FINISHED = new Set(['Completed', 'Failed', 'Terminated', 'Canceled']);

let s: BlobRunStack;
beforeAll(async () => {
  s = await BlobRunStack.start(ROUTES);
}, 120_000);
afterAll(async () => {
  await s?.stop();
});

const csv = (rows: number, seed: number): string => generateChurnCsv({ rows, seed, firstCustomerNumber: seed * 1000 });

type Json = Record<string, unknown>;

describe('an events topic outage longer than the activity retries', () => {
  it('keeps the run announcing until the topic is back, then sends one event with the stable ID and records that it went out', async () => {
    const path = '/outage/topic-down.csv';
    // Past the old budget, and past one generation of the ending (it continues as new to bound its history).
    const attemptsToSee = Math.max(OLD_ATTEMPT_BUDGET, FAILED_ATTEMPTS_PER_GENERATION) + 1;
    s.stack.eventGrid.setTopicOutage(EVENTS_TOPIC, {});
    let runId: string;
    try {
      await s.upload(path.slice(1), csv(5, 1));
      const run = await waitUntil(() => s.findRun(path), 'the run to start', 60_000);
      runId = run.instanceId;
      // Past the old budget of attempts, the run must still be announcing (not ended, not given up).
      const seen = await waitUntil(
        async () => {
          const st = await s.instance(runId);
          const cs = (st?.customStatus ?? {}) as Json;
          if (st && FINISHED.has(String(st.runtimeStatus))) return { st, cs };
          return cs.phase === 'announcing' && Number(cs.attempts) >= attemptsToSee ? { st, cs } : undefined;
        },
        `run ${runId} to try its announcement ${attemptsToSee} times`,
        300_000,
      );
      expect(seen.st?.runtimeStatus).toBe('Running');
      expect(Number(seen.cs.attempts)).toBeGreaterThan(OLD_ATTEMPT_BUDGET);
      expect(seen.st?.input).toMatchObject({ ending: { eventType: 'Test.Run.Completed', progress: { step: 'announce' } } });
      expect(String(seen.cs.lastError)).toMatch(/unavailable|503/i);
      expect(s.eventsFor(path)).toHaveLength(0);
      // The record was written before the announcement and says it is not out yet.
      expect(await s.runRecord('outage', runId)).toMatchObject({ outcome: 'Completed', announcement: { state: 'pending', eventId: `${runId}:Test.Run.Completed` } });
    } finally {
      s.stack.eventGrid.setTopicOutage(EVENTS_TOPIC, undefined);
    }
    expect(s.stack.eventGrid.refusedPublishes(EVENTS_TOPIC)).toBeGreaterThan(OLD_ATTEMPT_BUDGET);

    const done = await waitUntil(async () => {
      const st = await s.instance(runId);
      return st && FINISHED.has(String(st.runtimeStatus)) ? st : undefined;
    }, `run ${runId} to finish once the topic is back`, 120_000);
    expect(done.runtimeStatus).toBe('Completed');
    const events = s.eventsFor(path);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ type: 'Test.Run.Completed', id: `${runId}:Test.Run.Completed`, data: { runId, outcome: 'Completed' } });
    const record = (await s.runRecord('outage', runId)) as Json;
    expect(record).toMatchObject({ outcome: 'Completed', announcement: { state: 'sent', eventId: events[0].id } });
    expect(Date.parse(String((record.announcement as Json).sentAt))).not.toBeNaN();
    expect((record.announcement as Json).attempts).toBeGreaterThan(OLD_ATTEMPT_BUDGET);
    expect(done.output).toMatchObject({ outcome: 'Completed', announcement: { state: 'sent', eventId: events[0].id } });
  });
});

describe('an announcement that cannot be made', () => {
  afterEach(() => s.stack.eventGrid.setTopicOutage(EVENTS_TOPIC, undefined));

  async function finishedRun(path: string): Promise<{ runId: string; done: Awaited<ReturnType<BlobRunStack['instance']>> }> {
    const run = await waitUntil(() => s.findRun(path), 'the run to start', 60_000);
    const done = await waitUntil(async () => {
      const st = await s.instance(run.instanceId);
      return st && FINISHED.has(String(st.runtimeStatus)) ? st : undefined;
    }, `run ${run.instanceId} to end`, 240_000);
    return { runId: run.instanceId, done };
  }

  it('gives up at the deadline: the record says the announcement failed and why, and the instance fails saying so', async () => {
    const path = '/brief/topic-down-for-good.csv';
    s.stack.eventGrid.setTopicOutage(EVENTS_TOPIC, {});
    await s.upload(path.slice(1), csv(5, 3));
    const { runId, done } = await finishedRun(path);
    expect(done?.runtimeStatus).toBe('Failed');
    expect(JSON.stringify(done?.output)).toMatch(/not announced.*deadline/);
    const record = (await s.runRecord('brief', runId)) as Json;
    expect(record).toMatchObject({ outcome: 'Completed', announcement: { state: 'failed', eventId: `${runId}:Test.Run.Completed` } });
    expect(String((record.announcement as Json).reason)).toMatch(/before the deadline/);
    expect((record.announcement as Json).attempts).toBeGreaterThan(1);
    expect(s.eventsFor(path)).toHaveLength(0);
  });

  it('does not retry a refusal retrying cannot fix: one attempt, and the record says so', async () => {
    const path = '/outage/refused.csv';
    s.stack.eventGrid.setTopicOutage(EVENTS_TOPIC, { status: 403 });
    const refusedBefore = s.stack.eventGrid.refusedPublishes(EVENTS_TOPIC);
    await s.upload(path.slice(1), csv(5, 4));
    const { runId, done } = await finishedRun(path);
    expect(done?.runtimeStatus).toBe('Failed');
    expect(JSON.stringify(done?.output)).toMatch(/refused/);
    const record = (await s.runRecord('outage', runId)) as Json;
    expect(record).toMatchObject({ outcome: 'Completed', announcement: { state: 'failed', attempts: 1 } });
    expect(String((record.announcement as Json).reason)).toMatch(/403|not allowed/);
    expect(s.stack.eventGrid.refusedPublishes(EVENTS_TOPIC) - refusedBefore).toBe(1);
    expect(s.eventsFor(path)).toHaveLength(0);
  });
});

describe("an outage of Azure ML's status API longer than the activity retries", () => {
  afterEach(() => {
    s.stack.azureMl.setFaults({});
    s.stack.azureMl.releaseJobs();
  });

  it('keeps the run waiting on its job while polls fail, then finishes it with no second job', async () => {
    const path = '/outage/polls-fail.csv';
    s.stack.azureMl.holdJobs();
    await s.upload(path.slice(1), csv(5, 2));
    const run = await waitUntil(() => s.findRun(path), 'the run to start', 60_000);
    const jobInstance = jobInstanceId(run.instanceId);
    // The job is submitted (and held in Preparing); from now on every ARM call, status polls included, fails.
    await waitUntil(async () => ((await s.instance(jobInstance))?.customStatus as Json | undefined)?.jobName, 'the job to be submitted', 60_000);
    s.stack.azureMl.setFaults({ seed: 11, http: { serverErrorFraction: 1, serverErrorStatuses: [503], surfaces: ['arm'] } });
    const seen = await waitUntil(
      async () => {
        const st = await s.instance(jobInstance);
        const cs = (st?.customStatus ?? {}) as Json;
        if (!st || FINISHED.has(String(st.runtimeStatus)) || s.eventsFor(path).length > 0) return { st, cs };
        return Number(cs.pollFailures) > OLD_ATTEMPT_BUDGET ? { st, cs } : undefined;
      },
      `more than ${OLD_ATTEMPT_BUDGET} failed status polls`,
      240_000,
    );
    expect(s.eventsFor(path)).toHaveLength(0);
    expect(seen.st?.runtimeStatus).toBe('Running');
    expect(Number(seen.cs.pollFailures)).toBeGreaterThan(OLD_ATTEMPT_BUDGET);
    expect(String(seen.cs.lastPollError)).toMatch(/503|unavailable/i);

    s.stack.azureMl.setFaults({});
    s.stack.azureMl.releaseJobs();
    const event = await s.waitForRunEvent(path, 120_000);
    expect(event.type).toBe('Test.Run.Completed');
    expect(await s.jobsOfRun(event.data.runId)).toHaveLength(1);
    const done = await waitUntil(async () => {
      const st = await s.instance(run.instanceId);
      return st && FINISHED.has(String(st.runtimeStatus)) ? st : undefined;
    }, 'the run to finish', 60_000);
    expect(done.runtimeStatus).toBe('Completed');
    expect(s.eventsFor(path)).toHaveLength(1);
  });
});
