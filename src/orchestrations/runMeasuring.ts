// What a run measures about itself as it ends (src/domain/runMeasurements.ts), built from what the
// orchestration already holds: its times, the job's attempts as runBatchJob observed them, and the
// validation verdict. Pure, so replaying a run builds the same measurements.
import type { ValidationVerdict } from '../activities/contracts';
import { MeasuredRunKind, RunMeasurements, secondsBetween } from '../domain/runMeasurements';
import type { RunBatchJobResult } from './runBatchJob';

interface ValidationFigures {
  predictionRows?: number;
  failedFiles?: number;
  totalFiles?: number;
}

/** What the drift check tells the orchestration (the validation report has the rest: baseline runs, thresholds). */
export interface DriftVerdict {
  detected: boolean;
  psi?: number;
  ks?: number;
  profile?: string;
  [k: string]: unknown;
}

function figuresOf(validation: ValidationVerdict | undefined): ValidationFigures {
  const counts = validation?.counts;
  return counts && typeof counts === 'object' ? (counts as ValidationFigures) : {};
}

/** The drift part of a verdict, when validation ran a drift check. */
export function driftOf(validation: ValidationVerdict | undefined): DriftVerdict | undefined {
  const drift = validation?.drift;
  return drift && typeof drift === 'object' && typeof (drift as DriftVerdict).detected === 'boolean' ? (drift as DriftVerdict) : undefined;
}

export interface MeasuredRun {
  runId: string;
  route: string;
  kind: MeasuredRunKind;
  outcome: string;
  startedAt: string;
  finishedAt: string;
  /** When the run's first input arrived (blob runs started by events). */
  firstArrivalAt?: string;
  jobs?: Array<RunBatchJobResult | undefined>;
  validation?: ValidationVerdict;
}

export function measureRun(run: MeasuredRun): RunMeasurements {
  const jobs = (run.jobs ?? []).filter((j): j is RunBatchJobResult => j !== undefined);
  const attempts = jobs.flatMap((j) => j.attempts);
  const first = attempts[0];
  const last = attempts.at(-1);
  const figures = figuresOf(run.validation);
  const drift = driftOf(run.validation);
  const ratio = figures.failedFiles !== undefined && figures.totalFiles ? figures.failedFiles / figures.totalFiles : undefined;
  return {
    runId: run.runId,
    route: run.route,
    kind: run.kind,
    outcome: run.outcome,
    startedAt: run.startedAt,
    finishedAt: run.finishedAt,
    durationInSeconds: secondsBetween(run.startedAt, run.finishedAt) ?? 0,
    arrivalToSubmissionInSeconds: secondsBetween(run.firstArrivalAt, first?.submittedAt),
    jobQueueInSeconds: secondsBetween(last?.submittedAt, last?.runningAt),
    jobRunInSeconds: secondsBetween(last?.runningAt, last?.endedAt),
    rowsScored: figures.predictionRows,
    failedFileRatio: ratio,
    validation: run.validation ? (run.validation.passed ? 'passed' : 'failed') : 'none',
    resubmissions: jobs.reduce((n, j) => n + Math.max(0, j.attempts.length - 1), 0),
    controlPlaneCalls: jobs.reduce((n, j) => n + (j.controlPlaneCalls ?? 0), 0),
    ...(drift ? { drift: { psi: drift.psi, ks: drift.ks, detected: drift.detected } } : {}),
    ...(drift?.profile ? { scoreProfile: drift.profile } : {}),
  };
}
