// Run-ID conventions: every ID the builders make passes the format check, hostile text does not, and
// the derived IDs (job instance, scoring side, rerun) round-trip.
import { arrivalKey, batchRunId, blobRunId, partitionCoalescerId } from '../../src/domain/instanceIds';
import { modelRunId, rollbackRunId } from '../../src/model/modelRunIds';
import {
  isJobRunId,
  isRunId,
  isSubRunInstanceId,
  jobInstanceId,
  jobTags,
  MAX_RERUNS,
  parseAttemptTag,
  rerunBaseOf,
  rerunId,
  RUN_TAG,
  runIdOfJobInstance,
  scoringRunId,
} from '../../src/domain/runIds';

const WS = '/subscriptions/s/resourceGroups/r/providers/Microsoft.MachineLearningServices/workspaces/w';
const blob = blobRunId('daily-scoring', 'https://acct.blob.core.windows.net/input/a.csv', '"0x8D9"');
const batch = batchRunId('churn-files', 'https://acct.blob.core.windows.net/input/day1/', 17);
const model = modelRunId(WS, 'Churn.Model_v2 (prod)', '12');
const longModel = modelRunId(WS, 'm'.repeat(300), 'v'.repeat(300));
const rollback = rollbackRunId(WS, 'Churn-Scoring', model);
const folder = `bp-daily-scoring-${'ab'.repeat(12)}-op`;

describe('run IDs', () => {
  it('accepts every kind of run ID the builders make, and reruns of them', () => {
    for (const id of [blob, batch, model, longModel, rollback, folder]) {
      expect(isRunId(id)).toBe(true);
      expect(isRunId(rerunId(id, 1))).toBe(true);
      expect(isRunId(rerunId(id, MAX_RERUNS))).toBe(true);
    }
  });

  it('refuses hostile and malformed text', () => {
    const hostile = [
      `${blob}/terminate?reason=x#`,
      `${blob}:job/terminate`,
      `../instances/${blob}`,
      `${blob}?x`,
      `${blob}#x`,
      `${blob}%2F`,
      `${blob}\n`,
      ` ${blob}`,
      `${blob.slice(0, -1)}ü`,
      `${blob.slice(0, -1)}Ｆ`,
      blob.toUpperCase(),
      `bp-daily-scoring-${'a'.repeat(23)}`,
      `bp-daily-scoring-${'a'.repeat(25)}`,
      `bpm-${'m'.repeat(61)}-v1-${'a'.repeat(12)}`,
      `${blob}-r0`,
      `${blob}-r1000`,
      partitionCoalescerId('daily-scoring', 'p'),
      arrivalKey('u', 'e'),
      'bp-x',
      '',
      '.',
      '..',
      'x'.repeat(100_000),
    ];
    for (const text of hostile) expect([text.slice(0, 40), isRunId(text)]).toEqual([text.slice(0, 40), false]);
    for (const value of [undefined, null, 42, {}, [blob]]) expect(isRunId(value)).toBe(false);
  });

  it('knows which run IDs a batch job is submitted for: blob runs and the scoring sides of model runs', () => {
    expect(isJobRunId(blob)).toBe(true);
    expect(isJobRunId(rerunId(batch, 3))).toBe(true);
    expect(isJobRunId(scoringRunId(model, 'candidate'))).toBe(true);
    expect(isJobRunId(scoringRunId(rerunId(longModel, 2), 'baseline'))).toBe(true);
    expect(isJobRunId(model)).toBe(false);
    expect(isJobRunId(rollback)).toBe(false);
    expect(isJobRunId(`${model}:winner`)).toBe(false);
    expect(isJobRunId(`${blob}:candidate`)).toBe(false);
    expect(isJobRunId(jobInstanceId(blob))).toBe(false);
  });

  it('derives the job instance and back, and tells sub-runs from runs', () => {
    expect(jobInstanceId(blob)).toBe(`${blob}:job`);
    expect(runIdOfJobInstance(jobInstanceId(blob))).toBe(blob);
    expect(runIdOfJobInstance(jobInstanceId(scoringRunId(model, 'candidate')))).toBe(`${model}:candidate`);
    expect(runIdOfJobInstance(blob)).toBeUndefined();
    expect(runIdOfJobInstance(':job')).toBeUndefined();
    expect(isSubRunInstanceId(jobInstanceId(blob))).toBe(true);
    expect(isSubRunInstanceId(scoringRunId(model, 'baseline'))).toBe(true);
    expect(isSubRunInstanceId(blob)).toBe(false);
  });

  it('numbers reruns from the first run, and refuses rerun numbers out of range', () => {
    expect(rerunId(blob, 1)).toBe(`${blob}-r1`);
    expect(rerunId(rerunId(blob, 1), 2)).toBe(`${blob}-r2`);
    expect(rerunBaseOf(`${batch}-r12`)).toBe(batch);
    expect(rerunBaseOf(batch)).toBe(batch);
    expect(() => rerunId(blob, 0)).toThrow(RangeError);
    expect(() => rerunId(blob, MAX_RERUNS + 1)).toThrow(/rerun 200 times/);
  });

  it('writes and reads the job tags', () => {
    expect(jobTags(blob, 2)).toEqual({ 'batchpilot-run-id': blob, 'batchpilot-attempt': '2' });
    expect(RUN_TAG).toMatchObject({ runId: 'batchpilot-run-id', attempt: 'batchpilot-attempt' });
    expect(parseAttemptTag('2')).toBe(2);
    for (const bad of ['0', '01', '-1', '1.0', ' 1', '1e3', '１', '10000', '', undefined, 2]) expect(parseAttemptTag(bad)).toBeUndefined();
  });
});
