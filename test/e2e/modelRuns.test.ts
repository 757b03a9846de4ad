// The model flow end to end on the local stack: a registered model version is deployed as a candidate,
// scored beside the endpoint's default on the validation data, compared, gated and promoted (or not),
// with exactly one outcome event and a run record; rollback and cleanup act on what promotions
// recorded. Every test uses its own batch endpoint and model names, so the tests do not share state.
import { ModelRunStack } from '../support/modelRunStack';
import { waitUntil } from '@batchpilot/local-platform';
import { CHURN_MODEL_VERSIONS } from '@batchpilot/azureml-emulator';
import { ModelApprovalError, submitModelApproval } from '../../src/operator/modelApprovals';
import { ModelRollbackError, startModelRollback } from '../../src/operator/modelRollbacks';
import { AWAITING_APPROVAL } from '../../src/orchestrations/promoteModel';

const SAMPLE_FOLDER = 'azureml://datastores/workspaceblobstore/paths/samples/churn/inputs/';
const FAST_WAIT = '{ pollMinIntervalInSeconds: 1, pollMaxIntervalInSeconds: 5, timeoutInMinutes: 10 }';
const COMPARE = '{ keyColumns: [0, 1], scoreColumn: 2, labelColumn: 3, minLabelAgreement: 0.98, maxMeanAbsScoreDifference: 0.01, maxMaxAbsScoreDifference: 0.05 }';

function route(name: string, model: string, endpoint: string, options: { gate: string; data?: string; keepDays?: number; candidate?: string }): string {
  return `
  - name: ${name}
    trigger: { modelName: "${model}", tags: { stage: candidate } }
    target: { endpoint: ${endpoint}${options.candidate ? `, candidate: ${options.candidate}` : ''} }
    validationData: ${options.data ?? `{ type: uri_folder, uri: "${SAMPLE_FOLDER}" }`}
    wait: ${FAST_WAIT}
    comparison: ${COMPARE}
    gate: ${options.gate}
    keepReplacedDeploymentsForDays: ${options.keepDays ?? 30}
    events: { typePrefix: Test }`;
}

const AUTO = '{ policy: auto }';
const MANUAL = '{ policy: manual, approvalTimeoutInMinutes: 30 }';
const ROUTES = `
modelRoutes:${[
  route('auto-agree', 'agree-*', 'agree-ep', { gate: AUTO }),
  route('auto-disagree', 'disagree-*', 'disagree-ep', { gate: AUTO }),
  route('manual-approve', 'approve-*', 'approve-ep', { gate: MANUAL, data: '{ type: data_asset, asset: "azureml:churn-sample:1" }' }),
  route('manual-reject', 'reject-*', 'reject-ep', { gate: MANUAL }),
  route('manual-restart', 'restart-*', 'restart-ep', { gate: MANUAL }),
  route('timeout-reject', 'lapse-reject-*', 'lapse-reject-ep', { gate: '{ policy: manual, approvalTimeoutInMinutes: 0.05 }' }),
  route('timeout-promote', 'lapse-promote-*', 'lapse-promote-ep', { gate: '{ policy: manual, approvalTimeoutInMinutes: 0.05, onTimeout: promote }' }),
  route('rollback', 'rollback-*', 'rollback-ep', { gate: AUTO }),
  route('handover', 'handover-*', 'handover-ep', { gate: AUTO }),
  route('duplicates', 'dup-*', 'dup-ep', { gate: AUTO }),
  route('failures', 'fail-*', 'fail-ep', { gate: AUTO }),
  route('cleanup', 'keep-*', 'keep-ep', { gate: AUTO, keepDays: 0 }),
  route('blue-green', 'bluegreen-*', 'bluegreen-ep', { gate: AUTO, candidate: '{ naming: fixed, name: blue, alternateName: green }' }),
  route('one-slot', 'slot-*', 'slot-ep', { gate: MANUAL, candidate: '{ naming: fixed, name: candidate }' }),
].join('')}
`;

/** Scores exactly like the baseline (churn:1). */
const AGREES = { weights: CHURN_MODEL_VERSIONS['1'].weights, bias: CHURN_MODEL_VERSIONS['1'].bias };
/** The sample's second model: it leans on support calls rather than charges. */
const DISAGREES = { weights: CHURN_MODEL_VERSIONS['2'].weights, bias: CHURN_MODEL_VERSIONS['2'].bias };

let s: ModelRunStack;
beforeAll(async () => {
  s = await ModelRunStack.start(ROUTES);
}, 180_000);
afterAll(async () => {
  await s?.stop();
});

describe('auto gate', () => {
  it('promotes a version that agrees with the baseline: candidate deployed with that version, both scored, default switched, Model.Promoted, run record with both jobs and the comparison', async () => {
    const { baseline } = await s.createEndpoint('agree-ep');
    const modelId = await s.registerModel('agree-churn', '1', AGREES);

    const event = await s.waitForOutcome('agree-churn', '1');
    expect(event.type).toBe('Test.Model.Promoted');
    expect(event.data).toMatchObject({ outcome: 'Promoted', baselineDeployment: baseline, candidateDeployment: 'agree-churn-v1', previousDefault: baseline, newDefault: 'agree-churn-v1' });
    expect(await s.defaultOf('agree-ep')).toBe('agree-churn-v1');
    const candidate = await s.deployment('agree-ep', 'agree-churn-v1');
    expect(s.modelOf(candidate)).toBe(modelId);
    expect(candidate?.tags).toMatchObject({ 'batchpilot-run-id': event.data.runId, 'batchpilot-model': 'agree-churn:1', 'batchpilot-baseline': baseline });

    const jobs = await s.jobsOfRun(event.data.runId);
    expect(jobs.sort()).toEqual([event.data.jobs?.candidate?.jobName, event.data.jobs?.baseline?.jobName].sort());
    const record = await s.readRunsBlob(event.data.record!);
    expect(record).toMatchObject({
      outcome: 'Promoted',
      eventType: 'Test.Model.Promoted',
      jobs: { candidate: { jobName: event.data.jobs?.candidate?.jobName, outcome: 'Completed' }, baseline: { jobName: event.data.jobs?.baseline?.jobName, outcome: 'Completed' } },
      comparison: { passed: true, metrics: { labelAgreement: 1, meanAbsScoreDifference: 0 } },
      decision: { approved: true, by: 'auto', via: 'policy' },
    });
    const report = await s.readRunsBlob((record!.comparison as { report: string }).report);
    expect(report).toMatchObject({ passed: true, counts: { baselineRows: 300, candidateRows: 300, matchedRows: 300 } });

    const types = s.eventsOfModel('agree-churn', '1').map((e) => e.type);
    expect(types).toEqual(['Test.Model.Validated', 'Test.Model.Promoted']);
  });

  it('rejects a version whose predictions disagree beyond the thresholds and leaves the default as it was', async () => {
    const { baseline } = await s.createEndpoint('disagree-ep');
    const baselineModel = s.modelOf(await s.deployment('disagree-ep', baseline));
    await s.registerModel('disagree-churn', '1', DISAGREES);

    const event = await s.waitForOutcome('disagree-churn', '1');
    expect(event.type).toBe('Test.Model.Rejected');
    expect(event.data.reason).toMatch(/comparison failed: .*(labels agree|score difference)/);
    expect(event.data.comparison).toMatchObject({ passed: false });
    expect(await s.defaultOf('disagree-ep')).toBe(baseline);
    expect(s.modelOf(await s.deployment('disagree-ep', baseline))).toBe(baselineModel);
    await s.quiesce();
    expect(s.eventsOfModel('disagree-churn').map((e) => e.type)).toEqual(['Test.Model.Rejected']);
  });
});

describe('manual gate', () => {
  it('waits showing "awaiting approval" with the comparison report, then promotes when an approver approves', async () => {
    const { baseline } = await s.createEndpoint('approve-ep');
    await s.registerModel('approve-churn', '1', AGREES);

    const waiting = await s.waitForRun('approve-churn', '1', AWAITING_APPROVAL);
    const status = waiting.customStatus as { comparison: { passed: boolean; summary: string; report: string }; approvalDeadline: string; candidateDeployment: string };
    expect(status.comparison).toMatchObject({ passed: true });
    expect(status.comparison.report).toMatch(/\.comparison\.json$/);
    expect(status.candidateDeployment).toBe('approve-churn-v1');
    expect(await s.defaultOf('approve-ep')).toBe(baseline);
    expect(s.eventsOfModel('approve-churn').map((e) => e.type)).toEqual(['Test.Model.Validated']);

    const submitted = await submitModelApproval(s.client, waiting.instanceId, { approved: true, by: 'alice@contoso.com', reason: 'Agrees on every row.' });
    expect(submitted.decision).toMatchObject({ approved: true, by: 'alice@contoso.com' });

    const event = await s.waitForOutcome('approve-churn', '1');
    expect(event.type).toBe('Test.Model.Promoted');
    expect(event.data.decision).toMatchObject({ approved: true, by: 'alice@contoso.com', via: 'approval', reason: 'Agrees on every row.' });
    expect(await s.defaultOf('approve-ep')).toBe('approve-churn-v1');
  });

  it('does not promote when the approver rejects', async () => {
    const { baseline } = await s.createEndpoint('reject-ep');
    await s.registerModel('reject-churn', '1', AGREES);
    const waiting = await s.waitForRun('reject-churn', '1', AWAITING_APPROVAL);

    await submitModelApproval(s.client, waiting.instanceId, { approved: false, by: 'bob@contoso.com', reason: 'Not this quarter.' });
    const event = await s.waitForOutcome('reject-churn', '1');
    expect(event.type).toBe('Test.Model.Rejected');
    expect(event.data.reason).toBe('Not this quarter.');
    expect(event.data.decision).toMatchObject({ approved: false, by: 'bob@contoso.com', via: 'approval' });
    expect(await s.defaultOf('reject-ep')).toBe(baseline);
  });

  it('keeps waiting for approval across a host crash and promotes when approved afterwards', async () => {
    await s.createEndpoint('restart-ep');
    await s.registerModel('restart-churn', '1', AGREES);
    const waiting = await s.waitForRun('restart-churn', '1', AWAITING_APPROVAL);
    await s.stack.host!.kill('SIGKILL');
    await s.stack.startHost();

    const again = await s.waitForRun('restart-churn', '1', AWAITING_APPROVAL);
    expect(again.instanceId).toBe(waiting.instanceId);
    await submitModelApproval(s.client, waiting.instanceId, { approved: true, by: 'frank@contoso.com' });
    const event = await s.waitForOutcome('restart-churn', '1');
    expect(event.type).toBe('Test.Model.Promoted');
    expect(event.data.decision).toMatchObject({ by: 'frank@contoso.com', reason: 'Approved by frank@contoso.com.' });
    expect(await s.jobsOfRun(event.data.runId)).toHaveLength(2);
    expect(s.eventsOfModel('restart-churn', '1').map((e) => e.type)).toEqual(['Test.Model.Validated', 'Test.Model.Promoted']);
  });

  it('applies the route’s timeout outcome when no decision comes in time: reject by default, promote where configured', async () => {
    const [rejecting, promoting] = await Promise.all([s.createEndpoint('lapse-reject-ep'), s.createEndpoint('lapse-promote-ep')]);
    await Promise.all([s.registerModel('lapse-reject-churn', '1', AGREES), s.registerModel('lapse-promote-churn', '1', AGREES)]);

    const [rejected, promoted] = await Promise.all([s.waitForOutcome('lapse-reject-churn', '1'), s.waitForOutcome('lapse-promote-churn', '1')]);
    expect(rejected.type).toBe('Test.Model.Rejected');
    expect(rejected.data.decision).toMatchObject({ approved: false, by: 'timeout', via: 'timeout' });
    expect(rejected.data.reason).toMatch(/No decision within 0.05 minutes.*reject/);
    expect(await s.defaultOf('lapse-reject-ep')).toBe(rejecting.baseline);

    expect(promoted.type).toBe('Test.Model.Promoted');
    expect(promoted.data.decision).toMatchObject({ approved: true, by: 'timeout', via: 'timeout' });
    expect(await s.defaultOf('lapse-promote-ep')).toBe('lapse-promote-churn-v1');
    expect(promoting.baseline).toBe('lapse-promote-ep-base');
  });

  it('refuses a decision for a run that is not awaiting approval, an unknown run, or a malformed decision', async () => {
    const finished = (await s.promotionRuns('approve-churn', '1'))[0];
    expect(finished?.runtimeStatus).toBe('Completed');
    await expect(submitModelApproval(s.client, finished.instanceId, { approved: true, by: 'carol' })).rejects.toMatchObject({ name: 'ModelApprovalError', code: 'NotAwaitingApproval', statusCode: 409 });
    await expect(submitModelApproval(s.client, 'bpm-no-such-run', { approved: true, by: 'carol' })).rejects.toMatchObject({ code: 'RunNotFound', statusCode: 404 });
    await expect(submitModelApproval(s.client, finished.instanceId, { approved: 'yes' as unknown as boolean, by: 'carol' })).rejects.toBeInstanceOf(ModelApprovalError);
    await expect(submitModelApproval(s.client, finished.instanceId, { approved: true, by: ' ' })).rejects.toMatchObject({ code: 'InvalidDecision' });
  });
});

describe('rollback', () => {
  it('restores the previous default recorded by the last promotion, announces Model.RolledBack and audits who and why', async () => {
    const { baseline } = await s.createEndpoint('rollback-ep');
    await s.registerModel('rollback-churn', '1', AGREES);
    const promoted = await s.waitForOutcome('rollback-churn', '1');
    expect(promoted.type).toBe('Test.Model.Promoted');
    expect(await s.defaultOf('rollback-ep')).toBe('rollback-churn-v1');

    const started = await s.asApp(() => startModelRollback(s.client, { endpoint: 'rollback-ep', workspaceId: s.stack.azureMl.workspaceId, requestedBy: 'dana@contoso.com', reason: 'Complaints about churn flags.' }));
    expect(started).toMatchObject({ started: true, target: baseline, current: 'rollback-churn-v1', promotionRunId: promoted.data.runId });
    const again = await s.asApp(() => startModelRollback(s.client, { endpoint: 'rollback-ep', requestedBy: 'dana@contoso.com', reason: 'Asked twice.' }));
    expect(again).toMatchObject({ started: false, instanceId: started.instanceId });

    const event = await s.waitForEventOfRun(started.instanceId, '.Model.RolledBack');
    expect(event.type).toBe('Test.Model.RolledBack');
    expect(event.data).toMatchObject({ restoredDeployment: baseline, replacedDeployment: 'rollback-churn-v1', requestedBy: 'dana@contoso.com', requestReason: 'Complaints about churn flags.' });
    expect(await s.defaultOf('rollback-ep')).toBe(baseline);
    const record = await s.readRunsBlob(event.data.record!);
    expect(record).toMatchObject({ kind: 'modelRollback', outcome: 'RolledBack', requestedBy: 'dana@contoso.com', requestReason: 'Complaints about churn flags.', rollbackOf: promoted.data.runId });

    await expect(s.asApp(() => startModelRollback(s.client, { endpoint: 'rollback-ep', requestedBy: 'dana@contoso.com', reason: 'Once more.' }))).rejects.toMatchObject({ code: 'NothingToRollBack' });
    await expect(s.asApp(() => startModelRollback(s.client, { endpoint: 'agree-never-promoted', requestedBy: 'dana', reason: 'x' }))).rejects.toBeInstanceOf(ModelRollbackError);
  });
});

describe('rollback refused', () => {
  it('refuses to roll back over a default someone changed by hand since the promotion: Model.RollbackFailed with the reason, nothing changed', async () => {
    const { baseline } = await s.createEndpoint('handover-ep');
    await s.registerModel('handover-churn', '1', AGREES);
    expect((await s.waitForOutcome('handover-churn', '1')).type).toBe('Test.Model.Promoted');
    await s.setDefaultByHand('handover-ep', baseline);

    const started = await s.asApp(() => startModelRollback(s.client, { endpoint: 'handover-ep', requestedBy: 'erin@contoso.com', reason: 'Undo the promotion.' }));
    const event = await s.waitForEventOfRun(started.instanceId, '.Model.RollbackFailed');
    expect(event.data.reason).toMatch(/default deployment of batch endpoint 'handover-ep' is 'handover-ep-base', not 'handover-churn-v1'.*someone changed it since/);
    expect(await s.readRunsBlob(event.data.record!)).toMatchObject({ kind: 'modelRollback', outcome: 'Failed', requestedBy: 'erin@contoso.com' });
    expect(await s.defaultOf('handover-ep')).toBe(baseline);
  });
});

describe('intake', () => {
  it('starts one run for duplicate ModelRegistered events in both schemas and both casings', async () => {
    await s.createEndpoint('dup-ep');
    await s.registerModel('dup-churn', '1', AGREES);
    const workspace = s.stack.azureMl.workspaceId;
    const time = new Date().toISOString();
    const deliveries = [
      { id: 'dup-a', topic: workspace, subject: 'models/dup-churn:1', eventType: 'Microsoft.MachineLearningServices.ModelRegistered', eventTime: time, dataVersion: '', metadataVersion: '1', data: { ModelName: 'dup-churn', ModelVersion: 1, ModelTags: { stage: 'candidate' }, ModelProperties: {} } },
      { id: 'dup-b', topic: workspace, subject: 'models/dup-churn:1', eventType: 'Microsoft.MachineLearningServices.ModelRegistered', eventTime: time, dataVersion: '', metadataVersion: '1', data: { modelName: 'dup-churn', modelVersion: '1', modelTags: { stage: 'candidate' }, modelProperties: {} } },
      { id: 'dup-c', specversion: '1.0', source: workspace, subject: 'models/dup-churn:1', type: 'Microsoft.MachineLearningServices.ModelRegistered', time, data: { ModelName: 'dup-churn', ModelVersion: 1, ModelTags: { stage: 'candidate' } } },
      { id: 'dup-d', specversion: '1.0', source: workspace, subject: 'models/dup-churn:1', type: 'Microsoft.MachineLearningServices.ModelRegistered', time, data: { modelName: 'dup-churn', modelVersion: '1', modelTags: { stage: 'candidate' } } },
    ];
    const statuses = await Promise.all([...deliveries, deliveries[1], deliveries[2]].map((e) => s.deliverMlEvent(e)));
    expect(statuses.every((st) => st === 202)).toBe(true);

    const event = await s.waitForOutcome('dup-churn', '1');
    expect(event.type).toBe('Test.Model.Promoted');
    await s.quiesce();
    expect(await s.promotionRuns('dup-churn', '1')).toHaveLength(1);
    expect(await s.jobsOfRun(event.data.runId)).toHaveLength(2);
    expect(s.eventsOfModel('dup-churn', '1').filter((e) => /Promoted|Rejected|Failed/.test(e.type))).toHaveLength(1);
  });

  it('starts nothing for a model name no route matches, nor for a matching name without the route’s tags', async () => {
    await s.registerModel('stranger-model', '1', AGREES);
    await s.registerModel('agree-experimental', '1', AGREES, { stage: 'experimental' });
    await waitUntil(() => s.hostLogMessages().find((m) => m.includes('No run') && m.includes("model 'stranger-model' does not match")), 'the intake to drop stranger-model');
    await waitUntil(() => s.hostLogMessages().find((m) => m.includes('No run') && m.includes("tag 'stage' is 'experimental', not 'candidate'")), 'the intake to drop agree-experimental');
    await s.quiesce();
    expect(await s.promotionRuns('stranger-model', '1')).toHaveLength(0);
    expect(await s.promotionRuns('agree-experimental', '1')).toHaveLength(0);
    expect(s.eventsOfModel('stranger-model')).toHaveLength(0);
    expect(s.eventsOfModel('agree-experimental')).toHaveLength(0);
  });
});

describe('failures end in one Model.Failed with the reason and never touch the default', () => {
  let baseline: string;
  let baselineModel: string | undefined;
  beforeAll(async () => {
    ({ baseline } = await s.createEndpoint('fail-ep'));
    baselineModel = s.modelOf(await s.deployment('fail-ep', baseline));
  });
  afterEach(async () => {
    s.stack.azureMl.setFaults({});
    expect(await s.defaultOf('fail-ep')).toBe(baseline);
    expect(s.modelOf(await s.deployment('fail-ep', baseline))).toBe(baselineModel);
  });

  async function expectOneFailure(name: string): Promise<string> {
    const event = await s.waitForOutcome(name, '1');
    expect(event.type).toBe('Test.Model.Failed');
    await s.quiesce();
    expect(s.eventsOfModel(name).map((e) => e.type)).toEqual(['Test.Model.Failed']);
    const record = await s.readRunsBlob(event.data.record!);
    expect(record).toMatchObject({ outcome: 'Failed', reason: event.data.reason });
    return event.data.reason ?? '';
  }

  it('fails with Azure ML’s message when the candidate deployment cannot be provisioned', async () => {
    s.stack.azureMl.setFaults({ seed: 11, deployments: { failFraction: 1 } });
    await s.registerModel('fail-deploy', '1', AGREES);
    const reason = await expectOneFailure('fail-deploy');
    expect(reason).toMatch(/Creating or updating deployment 'fail-deploy-v1'.*failed in Azure ML: DeploymentProvisioningFailed\. .*failed to provision/);
    const runId = (await s.promotionRuns('fail-deploy', '1'))[0].instanceId;
    expect(await s.jobsOfRun(runId)).toHaveLength(0);
  });

  it('fails when the candidate’s scoring job fails', async () => {
    await s.registerModel('fail-job', '1', { format: 'not-a-model' });
    const reason = await expectOneFailure('fail-job');
    expect(reason).toMatch(/The candidate's scoring job ended Failed/);
  });

  it('fails when the scored outputs fail validation', async () => {
    s.stack.azureMl.setFaults({ seed: 12, jobs: { missingOutputsFraction: 1 } });
    await s.registerModel('fail-outputs', '1', AGREES);
    const reason = await expectOneFailure('fail-outputs');
    expect(reason).toMatch(/outputs failed validation: .*predictions\.csv/);
  });
});

describe('fixed slots', () => {
  it('alternates blue/green slots: each candidate goes to the slot that is not the default', async () => {
    await s.createEndpoint('bluegreen-ep');
    await s.registerModel('bluegreen-churn', '1', AGREES);
    expect((await s.waitForOutcome('bluegreen-churn', '1')).data).toMatchObject({ outcome: 'Promoted', candidateDeployment: 'blue', newDefault: 'blue' });
    const v2 = await s.registerModel('bluegreen-churn', '2', AGREES);
    expect((await s.waitForOutcome('bluegreen-churn', '2')).data).toMatchObject({ outcome: 'Promoted', baselineDeployment: 'blue', candidateDeployment: 'green', previousDefault: 'blue' });
    expect(await s.defaultOf('bluegreen-ep')).toBe('green');
    expect(s.modelOf(await s.deployment('bluegreen-ep', 'green'))).toBe(v2);
  });

  it('refuses to promote a slot a newer version has taken over meanwhile, and promotes the newer one', async () => {
    const { baseline } = await s.createEndpoint('slot-ep');
    await s.registerModel('slot-churn', '1', AGREES);
    const first = await s.waitForRun('slot-churn', '1', AWAITING_APPROVAL);
    const v2 = await s.registerModel('slot-churn', '2', AGREES);
    const second = await s.waitForRun('slot-churn', '2', AWAITING_APPROVAL);
    expect(s.modelOf(await s.deployment('slot-ep', 'candidate'))).toBe(v2);

    await submitModelApproval(s.client, first.instanceId, { approved: true, by: 'gil' });
    const refused = await s.waitForOutcome('slot-churn', '1');
    expect(refused.type).toBe('Test.Model.Failed');
    expect(refused.data.reason).toMatch(/Deployment 'candidate' of batch endpoint 'slot-ep' now serves .*slot-churn\/versions\/2 \(deployed by run bpm-slot-churn-v2-.*not .*slot-churn\/versions\/1/);
    expect(await s.defaultOf('slot-ep')).toBe(baseline);

    await submitModelApproval(s.client, second.instanceId, { approved: true, by: 'gil' });
    expect((await s.waitForOutcome('slot-churn', '2')).type).toBe('Test.Model.Promoted');
    expect(await s.defaultOf('slot-ep')).toBe('candidate');
  });
});

describe('cleanup', () => {
  it('deletes replaced and discarded deployments past the keep period, never the current default nor the rollback target', async () => {
    const { baseline } = await s.createEndpoint('keep-ep');
    await s.registerModel('keep-churn', '1', AGREES);
    expect((await s.waitForOutcome('keep-churn', '1')).type).toBe('Test.Model.Promoted');
    await s.registerModel('keep-churn', '2', AGREES);
    expect((await s.waitForOutcome('keep-churn', '2')).type).toBe('Test.Model.Promoted');
    await s.registerModel('keep-churn', '3', DISAGREES);
    expect((await s.waitForOutcome('keep-churn', '3')).type).toBe('Test.Model.Rejected');
    expect(await s.deploymentNames('keep-ep')).toEqual([baseline, 'keep-churn-v1', 'keep-churn-v2', 'keep-churn-v3'].sort());
    const agreeBefore = await s.deploymentNames('agree-ep');

    await s.runTimerNow('cleanupModelDeployments');
    // keep-ep-base was replaced two promotions ago and keep-churn-v3 was rejected: both go (keep period 0).
    // keep-churn-v2 is the default and keep-churn-v1 the rollback target: both stay.
    await waitUntil(async () => (await s.deploymentNames('keep-ep')).join() === ['keep-churn-v1', 'keep-churn-v2'].join(), 'the cleanup to delete keep-ep-base and keep-churn-v3', 60_000);
    expect(await s.defaultOf('keep-ep')).toBe('keep-churn-v2');
    // A route that keeps replaced deployments for 30 days loses nothing.
    expect(await s.deploymentNames('agree-ep')).toEqual(agreeBefore);
  });
});
