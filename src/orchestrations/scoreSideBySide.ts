// scoreSideBySide: the scoring step of a model promotion, as its own sub-orchestration. The validation
// data is scored on the candidate and on the baseline deployment at once (runBatchJob each, the side's
// jobs tagged `<runId>:<side>`), and each side's outputs are validated with the route's rules. It
// returns both sides either way; the step completes only when both jobs completed and both outputs
// passed, and otherwise says which side failed and why, so the promotion fails with that reason.
import type { OrchestrationContext, Task } from 'durable-functions';
import { ACTIVITY, ActivityFailedError, callActivity, ValidationVerdict } from '../activities/contracts';
import type { JobInputSpec } from '../azure/batchScoring';
import type { ValidationRules } from '../config/validationRules';
import { jobInstanceId, SCORING_SIDES, ScoringSide, scoringRunId } from '../domain/runIds';
import { CompletedJobResult, RUN_BATCH_JOB, RunBatchJobInput, RunBatchJobResult } from './runBatchJob';
import { subOrchestration, whenAll } from './subOrchestrations';

export const SCORE_SIDE_BY_SIDE = 'scoreSideBySide';

export interface ScoreSideBySideInput {
  /** The model run this step belongs to. */
  runId: string;
  workspaceId: string;
  endpoint: string;
  deployments: Record<ScoringSide, string>;
  /** The job inputs both sides score (the route's validation data). */
  inputs: Record<string, JobInputSpec>;
  /** The same data as a blob folder, so validation can count input rows; absent when it lives elsewhere. */
  inputFolderUrl?: string;
  /** Each side writes to `<path>/<side>`. */
  output: { name: string; datastore: string; path: string };
  overrides: RunBatchJobInput['overrides'];
  wait: RunBatchJobInput['wait'];
  validation: ValidationRules;
}

export interface ScoredSide {
  job: RunBatchJobResult;
  validation?: ValidationVerdict;
}

/** `outcome` as other sub-runs say it, so the operator API shows a failed step with its reason. */
export type ScoreSideBySideResult =
  | { outcome: 'Completed'; sides: Record<ScoringSide, { job: CompletedJobResult; validation: ValidationVerdict }> }
  | {
      outcome: 'Failed';
      reason: string;
      /** permanent: a job or a check said no; exhausted-retries: an activity kept failing transiently. */
      failureClass: 'permanent' | 'exhausted-retries';
      sides: Partial<Record<ScoringSide, ScoredSide>>;
    };

export function* scoreSideBySide(context: OrchestrationContext): Generator<Task, ScoreSideBySideResult, unknown> {
  const input = context.df.getInput() as ScoreSideBySideInput;
  const sides: Partial<Record<ScoringSide, ScoredSide>> = {};
  const failed = (reason: string, failureClass: 'permanent' | 'exhausted-retries'): ScoreSideBySideResult => ({ outcome: 'Failed', reason, failureClass, sides });

  const jobInstanceIds = SCORING_SIDES.map((side) => jobInstanceId(scoringRunId(input.runId, side)));
  context.df.setCustomStatus({ phase: 'scoring', deployments: input.deployments, jobInstanceIds });
  const scoring = SCORING_SIDES.map((side) => subOrchestration(context, RUN_BATCH_JOB, jobInputOf(input, side), jobInstanceId(scoringRunId(input.runId, side))));
  let jobs: RunBatchJobResult[];
  try {
    jobs = yield* whenAll(context, scoring);
  } catch (err) {
    // A job instance failed outright (e.g. its endpoint could not be resolved): its error is the reason.
    return failed((err as Error).message, 'exhausted-retries');
  }
  const completed: Partial<Record<ScoringSide, CompletedJobResult>> = {};
  SCORING_SIDES.forEach((side, i) => (sides[side] = { job: jobs[i] }));
  for (const side of SCORING_SIDES) {
    const job = (sides[side] as ScoredSide).job;
    if (job.outcome !== 'Completed') return failed(`The ${side}'s scoring job ended ${job.outcome}: ${job.message ?? 'no reason given'}`, 'permanent');
    completed[side] = job;
  }

  context.df.setCustomStatus({ phase: 'validating outputs', deployments: input.deployments, jobInstanceIds });
  const validations: Partial<Record<ScoringSide, ValidationVerdict>> = {};
  for (const side of SCORING_SIDES) {
    const job = completed[side] as CompletedJobResult;
    try {
      validations[side] = yield* callActivity(context, ACTIVITY.validateRunOutputs, {
        runId: scoringRunId(input.runId, side),
        workspaceId: input.workspaceId,
        output: job.output,
        inputs: [],
        inputFolderUrl: input.inputFolderUrl,
        rules: input.validation,
        jobName: job.jobName,
      });
    } catch (err) {
      if (err instanceof ActivityFailedError) return failed(err.failure.message, 'permanent');
      return failed((err as Error).message, 'exhausted-retries');
    }
    (sides[side] as ScoredSide).validation = validations[side];
    if (!validations[side].passed) return failed(`The ${side}'s outputs failed validation: ${validations[side].summary}`, 'permanent');
  }
  const scored = (side: ScoringSide) => ({ job: completed[side] as CompletedJobResult, validation: validations[side] as ValidationVerdict });
  return { outcome: 'Completed', sides: { candidate: scored('candidate'), baseline: scored('baseline') } };
}

function jobInputOf(input: ScoreSideBySideInput, side: ScoringSide): RunBatchJobInput {
  return {
    runId: scoringRunId(input.runId, side),
    workspaceId: input.workspaceId,
    endpoint: input.endpoint,
    deployment: input.deployments[side],
    inputs: input.inputs,
    output: { name: input.output.name, datastore: input.output.datastore, path: `${input.output.path}/${side}` },
    overrides: input.overrides,
    wait: input.wait,
  };
}
