// What every finished run measures about itself: the service level indicators operators and alerts
// read (duration, latency from arrival to job submission, the job's queue and run time, rows scored,
// failed-file ratio, validation verdict, resubmissions, control-plane calls), each with the run's route,
// kind and outcome as dimensions. Built by the orchestrations from what the run already knows (pure,
// replay-safe), stored for the operator API's route health and sent to Application Insights.

export type MeasuredRunKind = 'blob' | 'model' | 'rollback';
export type ValidationVerdictName = 'passed' | 'failed' | 'none';

export interface RunMeasurements {
  runId: string;
  route: string;
  kind: MeasuredRunKind;
  /** The run's outcome: Completed, Failed, ValidationFailed, Promoted, Rejected, ... */
  outcome: string;
  startedAt: string;
  finishedAt: string;
  durationInSeconds: number;
  /** From the first input's arrival (its storage event) to the job's submission; absent for operator starts. */
  arrivalToSubmissionInSeconds?: number;
  /** From submission until batchpilot saw the job Running (events: seconds late; polls: up to a poll interval). */
  jobQueueInSeconds?: number;
  /** From Running until batchpilot saw the job end. */
  jobRunInSeconds?: number;
  rowsScored?: number;
  failedFileRatio?: number;
  validation: ValidationVerdictName;
  /** Jobs submitted again after a preemption. */
  resubmissions: number;
  /** Calls to Azure ML's control plane and batch data plane the run made (resolve, submit, polls, cancel). */
  controlPlaneCalls: number;
  /** The drift check's figures, when the route has one. */
  drift?: { psi?: number; ks?: number; detected: boolean };
  /** Where the run's score profile is kept (runs container), for later runs' drift baselines. */
  scoreProfile?: string;
}

/** Outcomes that count as a successful run for a route's success rate. */
export const SUCCESSFUL_OUTCOMES: readonly string[] = ['Completed', 'Promoted', 'RolledBack'];

export function secondsBetween(from: string | undefined, to: string | undefined): number | undefined {
  if (!from || !to) return undefined;
  const ms = new Date(to).getTime() - new Date(from).getTime();
  return Number.isFinite(ms) ? Math.max(0, Math.round(ms / 100) / 10) : undefined;
}
