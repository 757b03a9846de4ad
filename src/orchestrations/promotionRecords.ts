// What a model promotion writes down, built from what the run learned, with no I/O and no clock of its
// own (times come from the orchestration): the promotion ledger's entry for the change it made to the
// endpoint (or the candidate it left behind), and the run record. Pure, so both are unit-tested.
import type { ComparisonVerdict, ResolvedModelCandidate, SwitchedDefaultDeployment } from '../activities/contracts';
import type { ScoringSide } from '../domain/runIds';
import type { LedgerEntry } from '../model/ledgerEntries';
import type { GateDecision, ModelRunOutcome, PromoteModelInput } from './promoteModel';
import type { ScoreSideBySideResult } from './scoreSideBySide';

/** What a promotion run has learned so far; the record is made from it whatever step the run ended at. */
export interface PromotionRun {
  input: PromoteModelInput;
  outcome: ModelRunOutcome;
  reason?: string;
  resolved?: ResolvedModelCandidate;
  /** Set once the candidate deployment was asked for: from then on a run that does not promote leaves it behind. */
  deployAttempted?: boolean;
  scoring?: ScoreSideBySideResult;
  comparison?: ComparisonVerdict;
  decision?: GateDecision;
  switched?: SwitchedDefaultDeployment;
  /** Why the promotion, made, could not be recorded (so no automatic rollback). */
  ledgerProblem?: string;
}

const DAY_IN_MS = 86_400_000;

/**
 * The ledger entry for what the run did to the endpoint: `promotion` (the candidate became the default,
 * the baseline is kept for rollback) or `discard` (a candidate that will not serve, left for the
 * cleanup). Either is kept until the route's keep period has passed, counted from `at`.
 */
export function ledgerEntry(kind: 'promotion' | 'discard', run: PromotionRun & { resolved: ResolvedModelCandidate }, at: Date): LedgerEntry {
  const { input, resolved } = run;
  const common = {
    workspaceId: input.workspaceId,
    endpoint: input.route.target.endpoint,
    at: at.toISOString(),
    runId: input.runId,
    routeName: input.route.name,
    modelName: input.model.name,
    modelVersion: input.model.version,
    keepUntil: new Date(at.getTime() + input.route.keepReplacedDeploymentsForDays * DAY_IN_MS).toISOString(),
  };
  if (kind === 'promotion') {
    return {
      kind,
      ...common,
      fromDeployment: resolved.baselineDeployment,
      toDeployment: resolved.candidateDeployment,
      fromModel: resolved.baselineModel,
      toModel: resolved.modelId,
      by: run.decision?.by,
      reason: run.decision?.reason,
    };
  }
  return { kind, ...common, fromDeployment: resolved.candidateDeployment, fromModel: resolved.modelId, by: run.decision?.by, reason: run.reason };
}

/** The run record of a promotion run: what it was asked, what each step found, and how it ended. */
export function promotionRecord(run: PromotionRun, startedAt: string, finishedAt: string): Record<string, unknown> {
  const { input, resolved, comparison, switched } = run;
  const side = (s: ScoringSide) => run.scoring?.sides[s];
  const jobSummary = (s: ScoringSide) => {
    const job = side(s)?.job;
    return job ? { jobName: job.jobName, outcome: job.outcome, output: job.output?.uri, attempts: job.attempts.map((a) => ({ attempt: a.attempt, jobName: a.jobName, status: a.status })) } : undefined;
  };
  const validationSummary = (s: ScoringSide) => {
    const v = side(s)?.validation;
    return v ? { passed: v.passed, summary: v.summary, report: v.reportBlob } : undefined;
  };
  return {
    runId: input.runId,
    route: input.route.name,
    kind: 'modelPromotion',
    model: { name: input.model.name, version: input.model.version, id: resolved?.modelId, tags: input.model.tags },
    outcome: run.outcome,
    reason: run.reason,
    trigger: input.trigger,
    workspaceId: input.workspaceId,
    endpoint: input.route.target.endpoint,
    baselineDeployment: resolved?.baselineDeployment,
    baselineModel: resolved?.baselineModel,
    candidateDeployment: resolved?.candidateDeployment,
    jobs: { candidate: jobSummary('candidate'), baseline: jobSummary('baseline') },
    validation: { candidate: validationSummary('candidate'), baseline: validationSummary('baseline') },
    comparison: comparison
      ? { passed: comparison.passed, summary: comparison.summary, failureReason: comparison.failureReason, metrics: comparison.metrics, counts: comparison.counts, checks: comparison.checks, report: comparison.reportBlob }
      : undefined,
    gate: input.route.gate,
    decision: run.decision,
    previousDefault: switched?.previous,
    newDefault: switched?.current,
    rollbackAvailable: run.outcome === 'Promoted' ? run.ledgerProblem === undefined : undefined,
    warning: run.ledgerProblem,
    startedAt,
    finishedAt,
    durationInSeconds: Math.round((new Date(finishedAt).getTime() - new Date(startedAt).getTime()) / 1000),
  };
}
