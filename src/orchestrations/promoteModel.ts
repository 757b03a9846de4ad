// promoteModel: a registered model version, judged before production batch scoring routes to it. Reads
// top to bottom like the runbook it replaces: resolve the endpoint and its default (the baseline) →
// deploy the candidate from the baseline's settings with the new model version → score the validation
// data on candidate and baseline side by side (runBatchJob, one sub-orchestration each) → validate both
// outputs → compare them into a report → gate (auto: the comparison decides; manual: wait for an
// Approval event, raced with the approval timeout) → switch the endpoint's default and record the
// previous one for rollback → run record → Model.Promoted / Model.Rejected / Model.Failed (and
// Model.Validated once the comparison passes). The default deployment is only ever touched by the
// switch, after every check has passed; every failure ends in one Model.Failed and a record saying why.
// The record and the final event outlast a storage or topic outage (runEnding).
import type { OrchestrationContext, Task, TimerTask } from 'durable-functions';
import {
  ACTIVITY,
  ActivityFailedError,
  callActivity,
  ComparisonVerdict,
  ResolvedModelCandidate,
  RunAnnouncement,
  SwitchedDefaultDeployment,
  ValidationVerdict,
  WriteRunRecordOutput,
} from '../activities/contracts';
import type { ModelRoute } from '../config/routes';
import type { LedgerEntry } from '../model/ledgerEntries';
import { CompletedJobResult, RUN_BATCH_JOB, RunBatchJobInput, RunBatchJobResult } from './runBatchJob';
import { endRun, RunEnding } from './runEnding';
import { subOrchestration, SubOrchestrationTask, whenAll } from './subOrchestrations';
import { jobInstanceId, SCORING_SIDES, ScoringSide, scoringRunId } from '../domain/runIds';

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
class RunFailure extends Error {}

function addMinutes(at: Date, minutes: number): Date {
  return new Date(at.getTime() + minutes * 60_000);
}

function fillOutputPath(template: string, input: PromoteModelInput, date: Date): string {
  const safe = (text: string): string => text.replace(/[^A-Za-z0-9._-]/g, '_');
  return template
    .replace(/\{runId\}/g, input.runId)
    .replace(/\{route\}/g, input.route.name)
    .replace(/\{model\}/g, safe(input.model.name))
    .replace(/\{version\}/g, safe(input.model.version))
    .replace(/\{date\}/g, date.toISOString().slice(0, 10))
    .replace(/^\/+|\/+$/g, '');
}

export function* promoteModel(context: OrchestrationContext): Generator<Task, PromoteModelResult | undefined, unknown> {
  const input = context.df.getInput() as PromoteModelInput;
  const { route, runId, workspaceId, model } = input;
  const endpoint = route.target.endpoint;
  const prefix = route.events.typePrefix;
  const startedAt = context.df.currentUtcDateTime.toISOString();
  const log = (message: string, extra: Record<string, unknown> = {}): void => {
    if (!context.df.isReplaying) context.log(JSON.stringify({ runId, route: route.name, model: `${model.name}:${model.version}`, ...extra, message }));
  };
  const status = (phase: string, extra: Record<string, unknown> = {}): void => {
    context.df.setCustomStatus({ phase, model: `${model.name}:${model.version}`, endpoint, ...extra });
  };
  const announce = (type: string, data: Record<string, unknown>) =>
    callActivity(context, ACTIVITY.announceRun, { runId, topicEndpoint: input.topicEndpoint, type, subject: `routes/${route.name}/runs/${runId}`, data });
  function* finish(ending: RunEnding<PromoteModelResult>): Generator<Task, PromoteModelResult | undefined, unknown> {
    const r = ending.result;
    const where = { candidateDeployment: r.candidateDeployment, baselineDeployment: r.baselineDeployment };
    const comparisonStatus = r.comparison ? { passed: r.comparison.passed, summary: r.comparison.summary, report: r.comparison.reportBlob } : undefined;
    const ended = yield* endRun(context, ending, {
      status: (phase, extra) => status(phase, { outcome: r.outcome, ...where, ...(phase === 'done' ? { reason: r.reason, comparison: comparisonStatus, decision: r.decision } : {}), ...extra }),
      continueAsNew: (next) => context.df.continueAsNew({ ...input, ending: next }),
      log,
    });
    if (ended) log(`Run ${r.outcome}${r.reason ? `: ${r.reason}` : ''}`);
    return ended;
  }
  if (input.ending) return yield* finish(input.ending);

  let resolved: ResolvedModelCandidate | undefined;
  let deployAttempted = false;
  const jobs: Partial<Record<ScoringSide, RunBatchJobResult>> = {};
  const validations: Partial<Record<ScoringSide, ValidationVerdict>> = {};
  let comparison: ComparisonVerdict | undefined;
  let decision: GateDecision | undefined;
  let switched: SwitchedDefaultDeployment | undefined;
  let ledgerProblem: string | undefined;
  let outcome: ModelRunOutcome = 'Failed';
  let reason: string | undefined;
  const where = (): Record<string, unknown> => ({ candidateDeployment: resolved?.candidateDeployment, baselineDeployment: resolved?.baselineDeployment });

  try {
    status('resolving endpoint');
    resolved = yield* callActivity(context, ACTIVITY.resolveModelCandidate, {
      runId,
      workspaceId,
      endpoint,
      modelName: model.name,
      modelVersion: model.version,
      naming: route.target.candidate,
    });

    status('deploying candidate', where());
    deployAttempted = true;
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
    const outputBase = fillOutputPath(route.target.outputPath, input, context.df.currentUtcDateTime);
    const scoring = (side: ScoringSide, deployment: string): SubOrchestrationTask<RunBatchJobResult> => {
      const jobInput: RunBatchJobInput = {
        runId: scoringRunId(runId, side),
        workspaceId,
        endpoint,
        deployment,
        inputs: { [route.target.inputName]: data.input },
        output: { name: route.target.outputName, datastore: route.target.outputDatastore, path: `${outputBase}/${side}` },
        overrides: route.target.overrides,
        wait: route.wait,
      };
      return subOrchestration(context, RUN_BATCH_JOB, jobInput, jobInstanceId(scoringRunId(runId, side)));
    };
    status('scoring', { ...where(), jobInstanceIds: SCORING_SIDES.map((side) => jobInstanceId(scoringRunId(runId, side))) });
    const [candidateJob, baselineJob] = yield* whenAll(context, [scoring('candidate', resolved.candidateDeployment), scoring('baseline', resolved.baselineDeployment)]);
    jobs.candidate = candidateJob;
    jobs.baseline = baselineJob;
    const completed: Partial<Record<ScoringSide, CompletedJobResult>> = {};
    for (const side of SCORING_SIDES) {
      const job = jobs[side] as RunBatchJobResult;
      if (job.outcome !== 'Completed') throw new RunFailure(`The ${side}'s scoring job ended ${job.outcome}: ${job.message ?? 'no reason given'}`);
      completed[side] = job;
    }

    status('validating outputs', where());
    for (const side of SCORING_SIDES) {
      const job = completed[side] as CompletedJobResult;
      const verdict = yield* callActivity(context, ACTIVITY.validateRunOutputs, {
        runId: scoringRunId(runId, side),
        workspaceId,
        output: job.output,
        inputs: [],
        inputFolderUrl: data.inputFolderUrl,
        rules: route.validation,
        jobName: job.jobName,
      });
      validations[side] = verdict;
      if (!verdict.passed) throw new RunFailure(`The ${side}'s outputs failed validation: ${verdict.summary}`);
    }

    status('comparing', where());
    const candidateOut = completed.candidate as CompletedJobResult;
    const baselineOut = completed.baseline as CompletedJobResult;
    comparison = yield* callActivity(context, ACTIVITY.compareModelPredictions, {
      runId,
      routeName: route.name,
      workspaceId,
      model: { name: model.name, version: model.version },
      baseline: { deployment: resolved.baselineDeployment, jobName: baselineOut.jobName, output: baselineOut.output },
      candidate: { deployment: resolved.candidateDeployment, jobName: candidateOut.jobName, output: candidateOut.output },
      predictionsFile: route.comparison.file ?? route.validation.predictions.file ?? route.validation.expectedFiles[0],
      rules: route.comparison,
    });
    if (comparison.passed) {
      yield* announce(`${prefix}.Model.Validated`, {
        runId,
        route: route.name,
        model: { name: model.name, version: model.version },
        endpoint,
        ...where(),
        comparison: { passed: true, summary: comparison.summary, metrics: comparison.metrics, report: comparison.reportBlob },
        gate: route.gate.policy,
      });
    }

    decision = yield* gate(context, route, comparison, () => status('gating', where()), (deadline) =>
      status(AWAITING_APPROVAL, {
        ...where(),
        runId,
        approvalDeadline: deadline.toISOString(),
        onTimeout: route.gate.policy === 'manual' ? route.gate.onTimeout : undefined,
        comparison: { passed: comparison?.passed, summary: comparison?.summary, metrics: comparison?.metrics, counts: comparison?.counts, checks: comparison?.checks, report: comparison?.reportBlob },
      }),
    );
    log(`Gate: ${decision.approved ? 'approved' : 'rejected'} by ${decision.by}${decision.reason ? ` (${decision.reason})` : ''}.`);

    if (!decision.approved) {
      outcome = 'Rejected';
      reason = decision.reason ?? `Rejected by ${decision.by}.`;
    } else {
      status('promoting', where());
      switched = yield* callActivity(context, ACTIVITY.switchDefaultDeployment, {
        runId,
        workspaceId,
        endpoint,
        expectedCurrent: resolved.baselineDeployment,
        to: resolved.candidateDeployment,
        expectedModel: resolved.modelId,
      });
      outcome = 'Promoted';
      const at = context.df.currentUtcDateTime;
      const promotion: LedgerEntry = {
        kind: 'promotion',
        workspaceId,
        endpoint,
        at: at.toISOString(),
        runId,
        routeName: route.name,
        fromDeployment: resolved.baselineDeployment,
        toDeployment: resolved.candidateDeployment,
        fromModel: resolved.baselineModel,
        toModel: resolved.modelId,
        modelName: model.name,
        modelVersion: model.version,
        keepUntil: addMinutes(at, route.keepReplacedDeploymentsForDays * 24 * 60).toISOString(),
        by: decision.by,
        reason: decision.reason,
      };
      try {
        yield* callActivity(context, ACTIVITY.recordModelLedgerEntry, promotion);
      } catch (err) {
        // The switch is made and stays made; what is lost is the automatic rollback, so say so loudly.
        ledgerProblem = `The promotion was made but not recorded, so rollbackModel cannot restore '${resolved.baselineDeployment}': ${(err as Error).message}`;
        log(ledgerProblem, { failureClass: 'permanent' });
      }
    }
  } catch (err) {
    outcome = 'Failed';
    reason = err instanceof ActivityFailedError ? err.failure.message : (err as Error).message;
    log(`Run failed: ${reason}`, { failureClass: err instanceof ActivityFailedError || err instanceof RunFailure ? 'permanent' : 'exhausted-retries' });
  }

  // A candidate that will not serve (or failed to provision) is left for inspection, then deleted by
  // the cleanup after the keep period.
  if (outcome !== 'Promoted' && deployAttempted && resolved) {
    const at = context.df.currentUtcDateTime;
    try {
      yield* callActivity(context, ACTIVITY.recordModelLedgerEntry, {
        kind: 'discard',
        workspaceId,
        endpoint,
        at: at.toISOString(),
        runId,
        routeName: route.name,
        fromDeployment: resolved.candidateDeployment,
        fromModel: resolved.modelId,
        modelName: model.name,
        modelVersion: model.version,
        keepUntil: addMinutes(at, route.keepReplacedDeploymentsForDays * 24 * 60).toISOString(),
        by: decision?.by,
        reason,
      } satisfies LedgerEntry);
    } catch (err) {
      log(`The discarded candidate was not recorded for cleanup: ${(err as Error).message}`);
    }
  }

  const eventType = `${prefix}.Model.${outcome}`;
  const finishedAt = context.df.currentUtcDateTime.toISOString();
  const jobSummary = (side: ScoringSide) => {
    const job = jobs[side];
    return job ? { jobName: job.jobName, outcome: job.outcome, output: job.output?.uri, attempts: job.attempts.map((a) => ({ attempt: a.attempt, jobName: a.jobName, status: a.status })) } : undefined;
  };
  const summary = {
    runId,
    route: route.name,
    kind: 'modelPromotion',
    model: { name: model.name, version: model.version, id: resolved?.modelId, tags: model.tags },
    outcome,
    reason,
    trigger: input.trigger,
    workspaceId,
    endpoint,
    baselineDeployment: resolved?.baselineDeployment,
    baselineModel: resolved?.baselineModel,
    candidateDeployment: resolved?.candidateDeployment,
    jobs: { candidate: jobSummary('candidate'), baseline: jobSummary('baseline') },
    validation: {
      candidate: validations.candidate ? { passed: validations.candidate.passed, summary: validations.candidate.summary, report: validations.candidate.reportBlob } : undefined,
      baseline: validations.baseline ? { passed: validations.baseline.passed, summary: validations.baseline.summary, report: validations.baseline.reportBlob } : undefined,
    },
    comparison: comparison ? { passed: comparison.passed, summary: comparison.summary, failureReason: comparison.failureReason, metrics: comparison.metrics, counts: comparison.counts, checks: comparison.checks, report: comparison.reportBlob } : undefined,
    gate: route.gate,
    decision,
    previousDefault: switched ? switched.previous : undefined,
    newDefault: switched ? switched.current : undefined,
    rollbackAvailable: outcome === 'Promoted' ? ledgerProblem === undefined : undefined,
    warning: ledgerProblem,
    startedAt,
    finishedAt,
    durationInSeconds: Math.round((new Date(finishedAt).getTime() - new Date(startedAt).getTime()) / 1000),
  };
  // The record is written before the event goes out, so a subscriber can always read what it announces.
  return yield* finish({
    runId,
    routeName: route.name,
    topicEndpoint: input.topicEndpoint,
    eventType,
    subject: `routes/${route.name}/runs/${runId}`,
    summary,
    retry: route.events.retry,
    result: { runId, outcome, reason, candidateDeployment: resolved?.candidateDeployment, baselineDeployment: resolved?.baselineDeployment, comparison, decision, eventType },
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
