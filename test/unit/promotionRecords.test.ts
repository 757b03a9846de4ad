// What a model promotion writes down, from what the run learned: the ledger entry for the change it made
// (or the candidate it left behind) and the run record, whatever step the run ended at. Also the one
// output-path filler both run kinds use.
import { parseRoutes } from '../../src/config/routes';
import type { ResolvedModelCandidate } from '../../src/activities/contracts';
import type { PromoteModelInput } from '../../src/orchestrations/promoteModel';
import { ledgerEntry, promotionRecord, PromotionRun } from '../../src/orchestrations/promotionRecords';
import { fillOutputPath } from '../../src/orchestrations/outputPaths';
import type { CompletedJobResult } from '../../src/orchestrations/runBatchJob';

const route = parseRoutes(
  `
modelRoutes:
  - name: churn-models
    trigger: { modelName: churn, tags: { stage: candidate } }
    target: { endpoint: churn-scoring, candidate: { naming: perVersion } }
    validationData: { type: data_asset, asset: "azureml:churn-sample:1" }
    keepReplacedDeploymentsForDays: 2
`,
  'routes.yaml',
  {},
).modelRoutes[0];

const input: PromoteModelInput = {
  runId: 'bpm-churn-v7-0123456789ab',
  route,
  workspaceId: '/subscriptions/s/resourceGroups/rg/providers/Microsoft.MachineLearningServices/workspaces/ws',
  topicEndpoint: 'https://topic.local/api/events',
  model: { name: 'churn', version: '7', tags: { stage: 'candidate' } },
  trigger: { kind: 'modelRegistered', eventIds: ['e1'] },
};
const resolved: ResolvedModelCandidate = { endpointId: 'ep-id', baselineDeployment: 'churn-v6', baselineModel: 'models/churn/versions/6', candidateDeployment: 'churn-v7', modelId: 'models/churn/versions/7' };
const at = new Date('2024-05-01T10:00:00.000Z');
const job = (side: string): CompletedJobResult => ({
  outcome: 'Completed',
  jobName: `job-${side}`,
  output: { datastore: 'workspaceblobstore', path: `out/${side}`, uri: `azureml://datastores/workspaceblobstore/paths/out/${side}/` },
  attempt: 1,
  attempts: [{ attempt: 1, jobName: `job-${side}`, status: 'Completed', output: { datastore: 'workspaceblobstore', path: `out/${side}`, uri: `azureml://datastores/workspaceblobstore/paths/out/${side}/` }, adopted: false }],
  polls: 2,
  eventsSeen: 3,
  startedAt: at.toISOString(),
  finishedAt: at.toISOString(),
});

describe('ledgerEntry', () => {
  it('records a promotion: baseline replaced by the candidate, who decided, kept for the route’s keep period', () => {
    const run: PromotionRun = { input, resolved, outcome: 'Promoted', decision: { approved: true, by: 'ana@contoso.com', reason: 'looks right', via: 'approval', at: at.toISOString() } };
    expect(ledgerEntry('promotion', { ...run, resolved }, at)).toEqual({
      kind: 'promotion',
      workspaceId: input.workspaceId,
      endpoint: 'churn-scoring',
      at: '2024-05-01T10:00:00.000Z',
      runId: input.runId,
      routeName: 'churn-models',
      fromDeployment: 'churn-v6',
      toDeployment: 'churn-v7',
      fromModel: 'models/churn/versions/6',
      toModel: 'models/churn/versions/7',
      modelName: 'churn',
      modelVersion: '7',
      keepUntil: '2024-05-03T10:00:00.000Z',
      by: 'ana@contoso.com',
      reason: 'looks right',
    });
  });

  it('records a discarded candidate with the run’s reason, for the cleanup', () => {
    const run: PromotionRun = { input, resolved, outcome: 'Rejected', reason: 'The comparison failed: labels agree 80%', decision: { approved: false, by: 'auto', via: 'policy', at: at.toISOString() } };
    const entry = ledgerEntry('discard', { ...run, resolved }, at);
    expect(entry).toMatchObject({ kind: 'discard', fromDeployment: 'churn-v7', fromModel: 'models/churn/versions/7', by: 'auto', reason: 'The comparison failed: labels agree 80%', keepUntil: '2024-05-03T10:00:00.000Z' });
    expect(entry.toDeployment).toBeUndefined();
  });
});

describe('promotionRecord', () => {
  it('describes a promoted run: both jobs and validations, the comparison, the decision and the switch', () => {
    const verdict = { passed: true, summary: '300 rows for 300 input rows', reportBlob: 'runs/x/validation-report.json' };
    const run: PromotionRun = {
      input,
      resolved,
      outcome: 'Promoted',
      scoring: { outcome: 'Completed', sides: { candidate: { job: job('candidate'), validation: verdict }, baseline: { job: job('baseline'), validation: verdict } } },
      comparison: { passed: true, summary: 'agrees', checks: [], counts: {} as never, metrics: { labelAgreement: 1 } as never, reportBlob: 'runs/churn-models/x.comparison.json' },
      decision: { approved: true, by: 'auto', via: 'policy', at: at.toISOString() },
      switched: { previous: 'churn-v6', current: 'churn-v7', alreadySwitched: false },
    };
    const record = promotionRecord(run, '2024-05-01T10:00:00.000Z', '2024-05-01T10:02:30.000Z');
    expect(record).toMatchObject({
      runId: input.runId,
      kind: 'modelPromotion',
      model: { name: 'churn', version: '7', id: 'models/churn/versions/7', tags: { stage: 'candidate' } },
      outcome: 'Promoted',
      endpoint: 'churn-scoring',
      baselineDeployment: 'churn-v6',
      candidateDeployment: 'churn-v7',
      jobs: { candidate: { jobName: 'job-candidate', outcome: 'Completed', output: 'azureml://datastores/workspaceblobstore/paths/out/candidate/', attempts: [{ attempt: 1, jobName: 'job-candidate', status: 'Completed' }] } },
      validation: { baseline: { passed: true, summary: '300 rows for 300 input rows', report: 'runs/x/validation-report.json' } },
      comparison: { passed: true, report: 'runs/churn-models/x.comparison.json' },
      previousDefault: 'churn-v6',
      newDefault: 'churn-v7',
      rollbackAvailable: true,
      durationInSeconds: 150,
    });
    expect(record.warning).toBeUndefined();
  });

  it('describes a run that failed while scoring: what it knows, no comparison, no switch, no rollback flag', () => {
    const run: PromotionRun = {
      input,
      resolved,
      outcome: 'Failed',
      reason: "The candidate's scoring job ended Failed: boom",
      deployAttempted: true,
      scoring: { outcome: 'Failed', reason: "The candidate's scoring job ended Failed: boom", failureClass: 'permanent', sides: { candidate: { job: { ...job('candidate'), outcome: 'Failed', message: 'boom' } } } },
    };
    const record = promotionRecord(run, at.toISOString(), at.toISOString());
    expect(record).toMatchObject({ outcome: 'Failed', reason: "The candidate's scoring job ended Failed: boom", jobs: { candidate: { outcome: 'Failed' } } });
    expect(record).toMatchObject({ comparison: undefined, previousDefault: undefined, rollbackAvailable: undefined, validation: { candidate: undefined, baseline: undefined } });
    expect((record.jobs as Record<string, unknown>).baseline).toBeUndefined();
  });

  it('says rollback is not available, and why, when the promotion could not be recorded', () => {
    const run: PromotionRun = { input, resolved, outcome: 'Promoted', ledgerProblem: 'The promotion was made but not recorded' };
    expect(promotionRecord(run, at.toISOString(), at.toISOString())).toMatchObject({ rollbackAvailable: false, warning: 'The promotion was made but not recorded' });
  });
});

describe('fillOutputPath', () => {
  const date = new Date('2024-05-01T23:59:59.000Z');
  it('fills a blob run’s template, making the partition safe and naming a whole route `all`', () => {
    expect(fillOutputPath('/batchpilot/{route}/{date}/{partition}/{runId}/', { runId: 'bp-r-1', route: 'daily', partition: 'in/day 1/ä', date })).toBe('batchpilot/daily/2024-05-01/in/day_1/_/bp-r-1');
    expect(fillOutputPath('{route}/{partition}/{runId}', { runId: 'bp-r-1', route: 'daily', partition: '', date })).toBe('daily/all/bp-r-1');
  });

  it('fills a model run’s template with a safe model name and version, leaving placeholders the run has no value for', () => {
    expect(fillOutputPath('models/{route}/{model}-{version}/{runId}', { runId: 'bpm-x', route: 'm', model: 'team/churn model', version: '1.0+b', date })).toBe('models/m/team_churn_model-1.0_b/bpm-x');
    expect(fillOutputPath('{partition}/{runId}', { runId: 'bpm-x', route: 'm', model: 'churn', version: '1', date })).toBe('{partition}/bpm-x');
  });
});
