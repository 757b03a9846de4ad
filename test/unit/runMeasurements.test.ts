// What a run measures as it ends (measureRun): latency from arrival to the first submission, the last
// attempt's queue and run time as runBatchJob observed them, resubmissions and Azure ML calls over every
// job of the run, rows and failed-file ratio from validation, and the drift figures.
import { measureRun } from '../../src/orchestrations/runMeasuring';
import type { RunBatchJobResult } from '../../src/orchestrations/runBatchJob';

const output = { datastore: 'out', path: 'p', uri: 'azureml://datastores/out/paths/p/' };

function job(attempts: Array<{ submittedAt?: string; runningAt?: string; endedAt?: string; status: string }>, controlPlaneCalls?: number): RunBatchJobResult {
  return {
    outcome: 'Completed',
    jobName: `job-${attempts.length}`,
    output,
    attempt: attempts.length,
    attempts: attempts.map((a, i) => ({ attempt: i + 1, jobName: `job-${i + 1}`, output, adopted: false, ...a })),
    polls: 2,
    eventsSeen: 3,
    controlPlaneCalls,
    startedAt: '2026-12-04T10:00:00.000Z',
    finishedAt: '2026-12-04T10:30:00.000Z',
  };
}

describe('what a run measures', () => {
  it('takes the latency from the first submission, queue and run time from the last attempt, and counts resubmissions and calls', () => {
    const m = measureRun({
      runId: 'bp-daily-1',
      route: 'daily',
      kind: 'blob',
      outcome: 'Completed',
      startedAt: '2026-12-04T10:00:00.000Z',
      finishedAt: '2026-12-04T10:31:00.000Z',
      firstArrivalAt: '2026-12-04T09:59:30.000Z',
      jobs: [
        job(
          [
            { submittedAt: '2026-12-04T10:00:05.000Z', runningAt: '2026-12-04T10:01:00.000Z', endedAt: '2026-12-04T10:05:00.000Z', status: 'Canceled' },
            { submittedAt: '2026-12-04T10:05:10.000Z', runningAt: '2026-12-04T10:07:10.000Z', endedAt: '2026-12-04T10:29:40.500Z', status: 'Completed' },
          ],
          9,
        ),
      ],
      validation: { passed: true, summary: 'ok', counts: { predictionRows: 1200, failedFiles: 1, totalFiles: 40, bytesRead: 10 } },
    });
    expect(m).toEqual({
      runId: 'bp-daily-1',
      route: 'daily',
      kind: 'blob',
      outcome: 'Completed',
      startedAt: '2026-12-04T10:00:00.000Z',
      finishedAt: '2026-12-04T10:31:00.000Z',
      durationInSeconds: 1860,
      arrivalToSubmissionInSeconds: 35,
      jobQueueInSeconds: 120,
      jobRunInSeconds: 1350.5,
      rowsScored: 1200,
      failedFileRatio: 0.025,
      validation: 'passed',
      resubmissions: 1,
      controlPlaneCalls: 9,
    });
  });

  it('leaves out what the run did not see: no arrival for an operator start, no queue time when Running was never observed, no job at all', () => {
    const quick = measureRun({ runId: 'r', route: 'daily', kind: 'blob', outcome: 'Completed', startedAt: '2026-12-04T10:00:00Z', finishedAt: '2026-12-04T10:01:00Z', jobs: [job([{ submittedAt: '2026-12-04T10:00:01Z', endedAt: '2026-12-04T10:00:50Z', status: 'Completed' }])] });
    expect(quick).toMatchObject({ arrivalToSubmissionInSeconds: undefined, jobQueueInSeconds: undefined, jobRunInSeconds: undefined, controlPlaneCalls: 0, validation: 'none', resubmissions: 0 });
    const refused = measureRun({ runId: 'r2', route: 'daily', kind: 'blob', outcome: 'Failed', startedAt: '2026-12-04T10:00:00Z', finishedAt: '2026-12-04T10:00:02Z', jobs: [undefined] });
    expect(refused).toMatchObject({ durationInSeconds: 2, controlPlaneCalls: 0, resubmissions: 0, validation: 'none' });
  });

  it('adds both sides of a model run and keeps the drift figures and where the scores were kept', () => {
    const m = measureRun({
      runId: 'bpm-1',
      route: 'models',
      kind: 'model',
      outcome: 'Promoted',
      startedAt: '2026-12-04T10:00:00Z',
      finishedAt: '2026-12-04T10:10:00Z',
      jobs: [job([{ status: 'Completed' }], 5), job([{ status: 'Canceled' }, { status: 'Completed' }], 7)],
      validation: { passed: false, summary: 'drifted', drift: { detected: true, psi: 0.4, ks: 0.3, profile: 'runs/models/bpm-1.scores.json', baselineRuns: [] } },
    });
    expect(m).toMatchObject({ controlPlaneCalls: 12, resubmissions: 1, validation: 'failed', drift: { psi: 0.4, ks: 0.3, detected: true }, scoreProfile: 'runs/models/bpm-1.scores.json' });
  });
});
