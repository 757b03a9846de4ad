// promoteModel: a registered model version, judged before production batch scoring routes to it. Reads
// top to bottom like the runbook it replaces: resolve the endpoint and its default (the baseline) →
// deploy the candidate from the baseline's settings with the new model version → score the validation
// data on candidate and baseline side by side and validate both outputs (scoreSideBySide, a
// sub-orchestration running runBatchJob for each side) → compare them into a report → gate (auto: the comparison decides; manual: wait for an
// Approval event, raced with the approval timeout) → switch the endpoint's default and record the
// previous one for rollback → run record → Model.Promoted / Model.Rejected / Model.Failed (and
// Model.Validated once the comparison passes). The default deployment is only ever touched by the
// switch, after every check has passed; every failure ends in one Model.Failed and a record saying why.
// The record and the final event outlast a storage or topic outage (runEnding).
import type { OrchestrationContext, Task, TimerTask } from 'durable-functions';
import { ACTIVITY, ActivityFailedError, callActivity, ComparisonVerdict, ResolvedModelCandidate, ResolvedValidationData, RunAnnouncement, WriteRunRecordOutput } from '../activities/contracts';
import type { ModelRoute } from '../config/routes';
import { jobInstanceId, SCORING_SIDES, scoringRunId, sideBySideInstanceId } from '../domain/runIds';
import { fillOutputPath } from './outputPaths';
import { ledgerEntry, promotionRecord, PromotionRun } from './promotionRecords';
import { replaySafeLog, RunLog } from './replaySafeLog';
import { endRun, RunEnding } from './runEnding';
import { runIndexer, RunIndexer } from './runIndexing';
import { measureRun } from './runMeasuring';
import { SCORE_SIDE_BY_SIDE, ScoreSideBySideInput } from './scoreSideBySide';
import { callSubOrchestration } from './subOrchestrations';

export const PROMOTE_MODEL = 'promoteModel';
/** External event an approver's decision is raised as (see src/operator/modelApprovals.ts). */
export const APPROVAL_EVENT = 'Approval';
/** The custom status phase while the run waits for an approver. */
export const AWAITING_APPROVAL = 'awaiting approval';

export interface PromoteModelInput {
  runId: string;
  /** The route as it was when the run started (audit: what the run was asked to do). */
  route: ModelRoute;
  workspaceId: string;
  topicEndpoint: string;
  model: { name: string; version: string; tags?: Record<string, string> };
  trigger: { kind: 'modelRegistered'; eventIds: string[]; eventTime?: string };
  /** Set when the run continued as new while ending (a long storage or topic outage): it resumes there. */
  ending?: RunEnding<PromoteModelResult>;
}

/** What an approver sends; `approved` must be a boolean, anything else is a rejection. */
export interface ApprovalDecision {
  approved: boolean;
  by: string;
  reason?: string;
  /** When the decision was made (the operator API's clock). */
  at?: string;
}

export interface GateDecision {
  approved: boolean;
  /** 'auto', the approver, or 'timeout'. */
  by: string;
  reason?: string;
  via: 'policy' | 'approval' | 'timeout';
  at: string;
}

export type ModelRunOutcome = 'Promoted' | 'Rejected' | 'Failed';

export interface PromoteModelResult {
  runId: string;
  outcome: ModelRunOutcome;
  reason?: string;
  candidateDeployment?: string;
  baselineDeployment?: string;
  comparison?: ComparisonVerdict;
  decision?: GateDecision;
  eventType: string;
  record?: WriteRunRecordOutput;
  announcement?: RunAnnouncement;
}

/** A step that ends the run as Failed with this reason. */
class RunFailure extends Error {
  constructor(message: string, readonly failureClass: 'permanent' | 'exhausted-retries' = 'permanent') {
    super(message);
  }
}

function addMinutes(at: Date, minutes: number): Date {
  return new Date(at.getTime() + minutes * 60_000);
}

export function* promoteModel(context: OrchestrationContext): Generator<Task, PromoteModelResult | undefined, unknown> {
  const input = context.df.getInput() as PromoteModelInput;
  const { route, runId, workspaceId, model } = input;
  const endpoint = route.target.endpoint;
  const startedAt = context.df.currentUtcDateTime.toISOString();
  const log = replaySafeLog(context, { runId, route: route.name, model: `${model.name}:${model.version}` });
  const status = (phase: string, extra: Record<string, unknown> = {}): void => {
    context.df.setCustomStatus({ phase, model: `${model.name}:${model.version}`, endpoint, ...extra });
  };
  const index = runIndexer(context, PROMOTE_MODEL, runId, input as unknown as Record<string, unknown>, log);
  if (input.ending) return yield* finish(context, input, input.ending, status, log, index);
  yield* index.write('Running', { customStatus: { phase: 'resolving endpoint' } });

  // What the run learns, step by step; whatever step it ends at, the record is made from this.
  const run: PromotionRun = { input, outcome: 'Failed' };
  const where = (): Record<string, unknown> => ({ candidateDeployment: run.resolved?.candidateDeployment, baselineDeployment: run.resolved?.baselineDeployment });
  try {
    status('resolving endpoint');
    const resolved = (run.resolved = yield* callActivity(context, ACTIVITY.resolveModelCandidate, {
      runId,
      workspaceId,
      endpoint,
      modelName: model.name,
      modelVersion: model.version,
      naming: route.target.candidate,
    }));

    status('deploying candidate', where());
    run.deployAttempted = true;
    yield* callActivity(context, ACTIVITY.deployModelCandidate, {
      runId,
      workspaceId,
      endpoint,
      baselineDeployment: resolved.baselineDeployment,
      candidateDeployment: resolved.candidateDeployment,
      modelId: resolved.modelId,
      modelName: model.name,
      modelVersion: model.version,
    });

    const data = yield* callActivity(context, ACTIVITY.resolveValidationData, { runId, workspaceId, data: route.validationData });
    status('scoring', { ...where(), scoringInstanceId: sideBySideInstanceId(runId), jobInstanceIds: SCORING_SIDES.map((side) => jobInstanceId(scoringRunId(runId, side))) });
    const scoring = (run.scoring = yield* callSubOrchestration(context, SCORE_SIDE_BY_SIDE, sideBySideInput(input, resolved, data, context.df.currentUtcDateTime), sideBySideInstanceId(runId)));
    if (scoring.outcome !== 'Completed') throw new RunFailure(scoring.reason, scoring.failureClass);

    status('comparing', where());
    const { candidate, baseline } = scoring.sides;
    const comparison = (run.comparison = yield* callActivity(context, ACTIVITY.compareModelPredictions, {
      runId,
      routeName: route.name,
      workspaceId,
      model: { name: model.name, version: model.version },
      baseline: { deployment: resolved.baselineDeployment, jobName: baseline.job.jobName, output: baseline.job.output },
      candidate: { deployment: resolved.candidateDeployment, jobName: candidate.job.jobName, output: candidate.job.output },
      predictionsFile: route.comparison.file ?? route.validation.predictions.file ?? route.validation.expectedFiles[0],
      rules: route.comparison,
    }));
    if (comparison.passed) yield* announceValidated(context, input, resolved, comparison);

    const decision = (run.decision = yield* gate(
      context,
      route,
      comparison,
      () => status('gating', where()),
      (deadline) =>
        status(AWAITING_APPROVAL, {
          ...where(),
          runId,
          approvalDeadline: deadline.toISOString(),
          onTimeout: route.gate.policy === 'manual' ? route.gate.onTimeout : undefined,
          comparison: { passed: comparison.passed, summary: comparison.summary, metrics: comparison.metrics, counts: comparison.counts, checks: comparison.checks, report: comparison.reportBlob },
        }),
      () => index.write('Running', { customStatus: { phase: AWAITING_APPROVAL, awaitingApproval: true } }),
    ));
    // Past the gate after waiting on it: the index shows the run running again.
    if (decision.via !== 'policy') yield* index.write('Running', { customStatus: { phase: decision.approved ? 'promoting' : 'rejected' } });
    log(`Gate: ${decision.approved ? 'approved' : 'rejected'} by ${decision.by}${decision.reason ? ` (${decision.reason})` : ''}.`);
    if (!decision.approved) {
      run.outcome = 'Rejected';
      run.reason = decision.reason ?? `Rejected by ${decision.by}.`;
    } else {
      status('promoting', where());
      run.switched = yield* callActivity(context, ACTIVITY.switchDefaultDeployment, {
        runId,
        workspaceId,
        endpoint,
        expectedCurrent: resolved.baselineDeployment,
        to: resolved.candidateDeployment,
        expectedModel: resolved.modelId,
      });
      run.outcome = 'Promoted';
      run.ledgerProblem = yield* recordPromotion(context, { ...run, resolved }, log);
    }
  } catch (err) {
    run.outcome = 'Failed';
    run.reason = err instanceof ActivityFailedError ? err.failure.message : (err as Error).message;
    log(`Run failed: ${run.reason}`, { failureClass: err instanceof ActivityFailedError ? 'permanent' : err instanceof RunFailure ? err.failureClass : 'exhausted-retries' });
  }

  // A candidate that will not serve (or failed to provision) is left for inspection, then deleted by
  // the cleanup after the keep period.
  if (run.outcome !== 'Promoted' && run.deployAttempted && run.resolved) {
    try {
      yield* callActivity(context, ACTIVITY.recordModelLedgerEntry, ledgerEntry('discard', { ...run, resolved: run.resolved }, context.df.currentUtcDateTime));
    } catch (err) {
      log(`The discarded candidate was not recorded for cleanup: ${(err as Error).message}`);
    }
  }

  const eventType = `${route.events.typePrefix}.Model.${run.outcome}`;
  // The record is written before the event goes out, so a subscriber can always read what it announces.
  return yield* finish(context, input, {
    runId,
    routeName: route.name,
    topicEndpoint: input.topicEndpoint,
    eventType,
    subject: `routes/${route.name}/runs/${runId}`,
    summary: promotionRecord(run, startedAt, context.df.currentUtcDateTime.toISOString()),
    retry: route.events.retry,
    result: { runId, outcome: run.outcome, reason: run.reason, candidateDeployment: run.resolved?.candidateDeployment, baselineDeployment: run.resolved?.baselineDeployment, comparison: run.comparison, decision: run.decision, eventType },
    measurements: measureModelRun(run, startedAt, context.df.currentUtcDateTime.toISOString()),
  }, status, log, index);
}

/** A promotion's measurements: the candidate side's validation stands for the run's (it is what gets promoted). */
function measureModelRun(run: PromotionRun, startedAt: string, finishedAt: string) {
  const candidate = run.scoring?.sides.candidate;
  const baseline = run.scoring?.sides.baseline;
  return measureRun({ runId: run.input.runId, route: run.input.route.name, kind: 'model', outcome: run.outcome, startedAt, finishedAt, jobs: [candidate?.job, baseline?.job], validation: candidate?.validation });
}

/** What the scoring step is asked: the validation data, on the candidate and the baseline, written under the route's output path. */
function sideBySideInput(input: PromoteModelInput, resolved: ResolvedModelCandidate, data: ResolvedValidationData, now: Date): ScoreSideBySideInput {
  const { route, model } = input;
  return {
    runId: input.runId,
    workspaceId: input.workspaceId,
    endpoint: route.target.endpoint,
    deployments: { candidate: resolved.candidateDeployment, baseline: resolved.baselineDeployment },
    inputs: { [route.target.inputName]: data.input },
    inputFolderUrl: data.inputFolderUrl,
    output: { name: route.target.outputName, datastore: route.target.outputDatastore, path: fillOutputPath(route.target.outputPath, { runId: input.runId, route: route.name, model: model.name, version: model.version, date: now }) },
    overrides: route.target.overrides,
    wait: route.wait,
    validation: route.validation,
  };
}

/** Model.Validated: the candidate agrees with the baseline (the gate may still say no). */
function announceValidated(context: OrchestrationContext, input: PromoteModelInput, resolved: ResolvedModelCandidate, comparison: ComparisonVerdict) {
  const { route, runId, model } = input;
  return callActivity(context, ACTIVITY.announceRun, {
    runId,
    topicEndpoint: input.topicEndpoint,
    type: `${route.events.typePrefix}.Model.Validated`,
    subject: `routes/${route.name}/runs/${runId}`,
    data: {
      runId,
      route: route.name,
      model: { name: model.name, version: model.version },
      endpoint: route.target.endpoint,
      candidateDeployment: resolved.candidateDeployment,
      baselineDeployment: resolved.baselineDeployment,
      comparison: { passed: true, summary: comparison.summary, metrics: comparison.metrics, report: comparison.reportBlob },
      gate: route.gate.policy,
    },
  });
}

/**
 * Records the promotion in the ledger, which is what a rollback restores from. The switch is made and
 * stays made if this fails; what is lost is the automatic rollback, so the problem is returned (for the
 * record's warning) and logged loudly.
 */
function* recordPromotion(context: OrchestrationContext, run: PromotionRun & { resolved: ResolvedModelCandidate }, log: RunLog): Generator<Task, string | undefined, unknown> {
  try {
    yield* callActivity(context, ACTIVITY.recordModelLedgerEntry, ledgerEntry('promotion', run, context.df.currentUtcDateTime));
    return undefined;
  } catch (err) {
    const problem = `The promotion was made but not recorded, so rollbackModel cannot restore '${run.resolved.baselineDeployment}': ${(err as Error).message}`;
    log(problem, { failureClass: 'permanent' });
    return problem;
  }
}

/** The run's ending (record, then event), with the custom status a promotion shows while it ends. */
function finish(context: OrchestrationContext, input: PromoteModelInput, ending: RunEnding<PromoteModelResult>, status: (phase: string, extra: Record<string, unknown>) => void, log: RunLog, index: RunIndexer) {
  const r = ending.result;
  const where = { candidateDeployment: r.candidateDeployment, baselineDeployment: r.baselineDeployment };
  const comparison = r.comparison ? { passed: r.comparison.passed, summary: r.comparison.summary, report: r.comparison.reportBlob } : undefined;
  return endRun(context, ending, {
    input,
    status: (phase, extra) => status(phase, { outcome: r.outcome, ...where, ...(phase === 'done' ? { reason: r.reason, comparison, decision: r.decision } : {}), ...extra }),
    log,
    index,
  });
}

/**
 * The approval gate. auto: the comparison decides. manual: a failed comparison rejects at once unless
 * the route asks an approver anyway; otherwise the run shows "awaiting approval" and waits for the
 * Approval event or the timeout, whichever comes first.
 */
function* gate(
  context: OrchestrationContext,
  route: ModelRoute,
  comparison: ComparisonVerdict,
  showGating: () => void,
  showAwaiting: (deadline: Date) => void,
  indexAwaiting: () => Generator<Task, void, unknown>,
): Generator<Task, GateDecision, unknown> {
  const now = (): string => context.df.currentUtcDateTime.toISOString();
  showGating();
  const policy = route.gate;
  if (policy.policy === 'auto') {
    return comparison.passed
      ? { approved: true, by: 'auto', via: 'policy', reason: 'The comparison passed and the route promotes automatically.', at: now() }
      : { approved: false, by: 'auto', via: 'policy', reason: `The comparison failed: ${comparison.failureReason ?? comparison.summary}`, at: now() };
  }
  if (!comparison.passed && policy.whenComparisonFails === 'reject') {
    return { approved: false, by: 'auto', via: 'policy', reason: `The comparison failed: ${comparison.failureReason ?? comparison.summary}`, at: now() };
  }
  const deadline = addMinutes(context.df.currentUtcDateTime, policy.approvalTimeoutInMinutes);
  showAwaiting(deadline);
  // An approval raised meanwhile waits in the instance's queue for waitForExternalEvent below.
  yield* indexAwaiting();
  const timer: TimerTask = context.df.createTimer(deadline);
  const approval = context.df.waitForExternalEvent(APPROVAL_EVENT);
  const winner = yield context.df.Task.any([approval, timer]);
  if (winner === approval) {
    timer.cancel();
    const d = (approval.result ?? {}) as Partial<ApprovalDecision>;
    const by = typeof d.by === 'string' && d.by.trim() ? d.by.trim() : 'an unnamed approver';
    return { approved: d.approved === true, by, via: 'approval', reason: typeof d.reason === 'string' && d.reason ? d.reason : d.approved === true ? `Approved by ${by}.` : `Rejected by ${by}.`, at: typeof d.at === 'string' ? d.at : now() };
  }
  const promote = policy.onTimeout === 'promote' && comparison.passed;
  return {
    approved: promote,
    by: 'timeout',
    via: 'timeout',
    reason: `No decision within ${policy.approvalTimeoutInMinutes} minutes; the route says a timeout means ${promote ? 'promote' : 'reject'}${policy.onTimeout === 'promote' && !comparison.passed ? ' (promote applies only to a passed comparison)' : ''}.`,
    at: now(),
  };
}
