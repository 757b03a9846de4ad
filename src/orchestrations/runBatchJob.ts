// runBatchJob: one Azure ML batch job for one run, from submission to a final status.
// resolve endpoint → adopt or submit (the run's ID is in the job's tags, so a retry finds the job it
// already submitted) → wait: the job's RunStatusChanged/RunCompleted events raced against a backed-off
// status poll, with an overall deadline after which the job is cancelled → final status. A poll that
// fails transiently (Azure ML's API down, for however long) is tried again at the next, backed-off poll
// while events are still raced: only the deadline ends the wait, and then the job is cancelled, so no
// run ends leaving its job running for a rerun to duplicate. History stays bounded however long the
// job runs: the wait continues as new every few wake-ups. A job that ends Canceled without being asked
// (low-priority preemption) is resubmitted to a fresh output path.
import type { OrchestrationContext, Task, TimerTask } from 'durable-functions';
import { ACTIVITY, ActivityFailedError, attemptActivity, callActivity, OutputLocation, ResolvedEndpointOutput } from '../activities/contracts';
import type { BatchJobRequest, JobInputSpec } from '../azure/batchScoring';
import { isTerminalJobStatus } from '../domain/jobStatuses';
import { replaySafeLog } from './replaySafeLog';
import { jobTags } from '../domain/runIds';

export const RUN_BATCH_JOB = 'runBatchJob';
/** External event raised on the job's instance when Azure ML reports a status change. */
export const JOB_STATUS_EVENT = 'JobStatusChanged';
const WAKEUPS_PER_GENERATION = 20;

export interface JobStatusEvent {
  jobName: string;
  status: string;
  eventType: string;
}

/**
 * The instance's custom status while it works. Job-event intake reads jobName and attempt: an event is
 * raised here only for the job this instance is waiting for (src/events/mlEvents.ts).
 */
export interface JobWaitStatus {
  phase: string;
  jobName?: string;
  jobStatus?: string;
  attempt?: number;
  polls: number;
  /** Status polls that failed transiently in a row; the wait goes on until the run's deadline. */
  pollFailures?: number;
  lastPollError?: string;
  eventsSeen: number;
  elapsedInSeconds: number;
}

export interface RunBatchJobInput {
  runId: string;
  workspaceId: string;
  endpoint: string;
  deployment?: string;
  inputs: Record<string, JobInputSpec>;
  output: { name: string; datastore: string; path: string };
  overrides: {
    instanceCount?: number;
    miniBatchSize?: number;
    errorThreshold?: number;
    retrySettings?: { maxRetries: number; timeoutInSeconds: number };
    outputFileName?: string;
  };
  wait: { pollMinIntervalInSeconds: number; pollMaxIntervalInSeconds: number; timeoutInMinutes: number; maxResubmissions: number };
  /** Carried across continue-as-new generations. */
  progress?: JobWaitProgress;
}

export interface JobAttempt {
  attempt: number;
  jobName: string;
  status?: string;
  output: OutputLocation;
  adopted: boolean;
  /** When the job was submitted (or adopted), first seen Running, and first seen ended: its queue and run time. */
  submittedAt?: string;
  runningAt?: string;
  endedAt?: string;
}

export interface JobWaitProgress {
  startedAt: string;
  deadline: string;
  endpoint?: ResolvedEndpointOutput;
  attempts: JobAttempt[];
  polls: number;
  /** Status polls that failed in a row (transiently), and the last one's error. */
  pollFailures?: number;
  lastPollError?: string;
  eventsSeen: number;
  eventsFlowing: boolean;
  /** Calls to Azure ML's control and batch data planes so far (absent in runs started before it was counted). */
  controlPlaneCalls?: number;
  pollIntervalInSeconds: number;
  nextPollAt: string;
  generation: number;
}

export type JobOutcome = 'Completed' | 'Failed' | 'Canceled' | 'TimedOut';

interface JobResultCommon {
  message?: string;
  attempt: number;
  attempts: JobAttempt[];
  endpointId?: string;
  deployment?: string;
  scoringUri?: string;
  polls: number;
  eventsSeen: number;
  /** Absent in results of runs from before it was counted. */
  controlPlaneCalls?: number;
  startedAt: string;
  finishedAt: string;
}

/** A completed job always has a name and the output it wrote; a job that did not complete may have neither (no job was submitted). */
export type RunBatchJobResult =
  | (JobResultCommon & { outcome: 'Completed'; jobName: string; output: OutputLocation })
  | (JobResultCommon & { outcome: Exclude<JobOutcome, 'Completed'>; jobName?: string; output?: OutputLocation });
export type CompletedJobResult = Extract<RunBatchJobResult, { outcome: 'Completed' }>;

function outputFor(input: RunBatchJobInput, attempt: number): OutputLocation {
  const path = attempt > 1 ? `${input.output.path}-r${attempt}` : input.output.path;
  return { datastore: input.output.datastore, path, uri: `azureml://datastores/${input.output.datastore}/paths/${path}/` };
}

export function jobRequestFor(input: RunBatchJobInput, attempt: number): BatchJobRequest {
  const o = input.overrides;
  const output = outputFor(input, attempt);
  return {
    inputData: input.inputs,
    outputData: { [input.output.name]: { jobOutputType: 'UriFolder', uri: output.uri } },
    tags: jobTags(input.runId, attempt),
    ...(o.instanceCount ? { compute: { instanceCount: o.instanceCount } } : {}),
    ...(o.miniBatchSize ? { miniBatchSize: o.miniBatchSize } : {}),
    ...(o.errorThreshold !== undefined ? { errorThreshold: o.errorThreshold } : {}),
    ...(o.retrySettings ? { retrySettings: { maxRetries: o.retrySettings.maxRetries, timeout: `PT${o.retrySettings.timeoutInSeconds}S` } } : {}),
    ...(o.outputFileName ? { outputFileName: o.outputFileName } : {}),
    description: `batchpilot run ${input.runId} (attempt ${attempt})`,
  };
}

function addSeconds(iso: Date | string, seconds: number): string {
  return new Date(new Date(iso).getTime() + seconds * 1000).toISOString();
}

export function* runBatchJob(context: OrchestrationContext): Generator<Task, RunBatchJobResult | undefined, unknown> {
  const input = context.df.getInput() as RunBatchJobInput;
  const start = context.df.currentUtcDateTime;
  const p: JobWaitProgress = input.progress ?? {
    startedAt: start.toISOString(),
    deadline: addSeconds(start, input.wait.timeoutInMinutes * 60),
    attempts: [],
    polls: 0,
    eventsSeen: 0,
    eventsFlowing: false,
    pollIntervalInSeconds: input.wait.pollMinIntervalInSeconds,
    nextPollAt: addSeconds(start, input.wait.pollMinIntervalInSeconds),
    generation: 0,
  };
  const log = replaySafeLog(context, () => ({ runId: input.runId, jobName: p.attempts.at(-1)?.jobName, generation: p.generation }));
  const common = (message?: string): JobResultCommon => {
    const current = p.attempts.at(-1);
    return {
      message,
      attempt: current?.attempt ?? 0,
      attempts: p.attempts,
      endpointId: p.endpoint?.endpointId,
      deployment: p.endpoint?.deployment,
      scoringUri: p.endpoint?.scoringUri,
      polls: p.polls,
      eventsSeen: p.eventsSeen,
      controlPlaneCalls: p.controlPlaneCalls ?? 0,
      startedAt: p.startedAt,
      finishedAt: context.df.currentUtcDateTime.toISOString(),
    };
  };
  const completed = (job: JobAttempt): RunBatchJobResult => ({ ...common(), outcome: 'Completed', jobName: job.jobName, output: job.output });
  const finish = (outcome: Exclude<JobOutcome, 'Completed'>, message?: string): RunBatchJobResult => {
    const current = p.attempts.at(-1);
    return { ...common(message), outcome, jobName: current?.jobName, output: current?.output };
  };
  const publishStatus = (phase: string): void => {
    const current = p.attempts.at(-1);
    const status: JobWaitStatus = {
      phase,
      jobName: current?.jobName,
      jobStatus: current?.status,
      attempt: current?.attempt,
      polls: p.polls,
      pollFailures: p.pollFailures || undefined,
      lastPollError: p.pollFailures ? p.lastPollError : undefined,
      eventsSeen: p.eventsSeen,
      elapsedInSeconds: Math.round((context.df.currentUtcDateTime.getTime() - new Date(p.startedAt).getTime()) / 1000),
    };
    context.df.setCustomStatus(status);
  };

  const called = (calls = 1): void => {
    p.controlPlaneCalls = (p.controlPlaneCalls ?? 0) + calls;
  };
  // What batchpilot observed of the job's life; Azure ML's own timestamps would cost another read per job.
  const observe = (job: JobAttempt, status: string | undefined): void => {
    job.status = status;
    const now = context.df.currentUtcDateTime.toISOString();
    if (status === 'Running' || status === 'Finalizing') job.runningAt ??= now;
    if (isTerminalJobStatus(status)) job.endedAt ??= now;
  };

  if (!p.endpoint) {
    publishStatus('resolving endpoint');
    called();
    p.endpoint = yield* callActivity(context, ACTIVITY.resolveBatchEndpoint, { workspaceId: input.workspaceId, endpoint: input.endpoint, deployment: input.deployment });
  }

  for (let wakeups = 0; ; wakeups++) {
    let current = p.attempts.at(-1);
    if (!current || (current.status === 'Canceled' && p.attempts.length <= input.wait.maxResubmissions)) {
      const attempt = (current?.attempt ?? 0) + 1;
      if (current) log(`Job ${current.jobName} was cancelled without being asked (preempted); resubmitting as attempt ${attempt}.`);
      publishStatus('submitting job');
      const submitted = yield* callActivity(context, ACTIVITY.adoptOrSubmitJob, {
        runId: input.runId,
        attempt,
        workspaceId: input.workspaceId,
        scoringUri: p.endpoint.scoringUri,
        deployment: p.endpoint.deployment,
        deploymentIsDefault: p.endpoint.deploymentIsDefault,
        request: jobRequestFor(input, attempt),
      });
      // Adopting reads the job list once; submitting reads it, then invokes.
      called(submitted.adopted ? 1 : 2);
      current = { attempt, jobName: submitted.jobName, output: outputFor(input, attempt), adopted: submitted.adopted, submittedAt: context.df.currentUtcDateTime.toISOString() };
      observe(current, submitted.status);
      p.attempts.push(current);
      const now = context.df.currentUtcDateTime;
      p.pollIntervalInSeconds = input.wait.pollMinIntervalInSeconds;
      p.nextPollAt = addSeconds(now, p.pollIntervalInSeconds);
      log(`${submitted.adopted ? 'Adopted' : 'Submitted'} job ${submitted.jobName}.`);
    }
    if (isTerminalJobStatus(current.status)) {
      if (current.status === 'Canceled' && p.attempts.length <= input.wait.maxResubmissions) continue;
      publishStatus(`job ${current.status}`);
      if (current.status === 'Completed') return completed(current);
      const outcome = current.status === 'Canceled' ? 'Canceled' : 'Failed';
      // The reason is a detail: the job has ended either way, so a failed read does not fail the run.
      if (outcome === 'Failed') called();
      const detail = outcome === 'Failed' ? yield* attemptActivity(context, ACTIVITY.getBatchJobStatus, { workspaceId: input.workspaceId, jobName: current.jobName, runId: input.runId }) : undefined;
      const error = detail?.ok ? detail.value.error : undefined;
      return finish(outcome, outcome === 'Failed' ? `Azure ML job ${current.jobName} failed${error ? `: ${error}` : ''}.` : `Azure ML job ${current.jobName} was cancelled${p.attempts.length > 1 ? ` after ${p.attempts.length} attempts` : ''}.`);
    }

    const now = context.df.currentUtcDateTime;
    if (now.getTime() >= new Date(p.deadline).getTime()) {
      log(`Timed out after ${input.wait.timeoutInMinutes} minutes; cancelling job ${current.jobName}.`);
      publishStatus('timed out: cancelling job');
      const why = `The run exceeded its timeout of ${input.wait.timeoutInMinutes} minutes${p.pollFailures ? ` (its last ${p.pollFailures} status poll(s) failed: ${p.lastPollError})` : ''}`;
      const cancelProblem = yield* cancelJob(current.jobName);
      return finish('TimedOut', cancelProblem ? `${why}; cancelling Azure ML job ${current.jobName} failed: ${cancelProblem}. Cancel it in Azure ML before rerunning.` : `${why}; Azure ML job ${current.jobName} was cancelled.`);
    }

    if (wakeups >= WAKEUPS_PER_GENERATION) {
      p.generation += 1;
      context.df.continueAsNew({ ...input, progress: p });
      return undefined;
    }

    publishStatus('waiting for job');
    const wakeAt = new Date(Math.min(new Date(p.nextPollAt).getTime(), new Date(p.deadline).getTime()));
    const timer: TimerTask = context.df.createTimer(wakeAt);
    const statusEvent = context.df.waitForExternalEvent(JOB_STATUS_EVENT);
    const winner = yield context.df.Task.any([timer, statusEvent]);
    if (winner === statusEvent) {
      timer.cancel();
      p.eventsSeen += 1;
      const e = statusEvent.result as JobStatusEvent;
      if (e && e.jobName === current.jobName && e.status) {
        observe(current, e.status);
        // Events are flowing: polling only guards against lost events, so it can slow to the maximum.
        p.eventsFlowing = true;
        p.pollIntervalInSeconds = input.wait.pollMaxIntervalInSeconds;
        p.nextPollAt = addSeconds(context.df.currentUtcDateTime, p.pollIntervalInSeconds);
      }
      continue;
    }
    if (context.df.currentUtcDateTime.getTime() >= new Date(p.deadline).getTime()) continue;
    // One attempt per poll: a failing poll waits for the next one on a durable timer, still racing events.
    const polled = yield* attemptActivity(context, ACTIVITY.getBatchJobStatus, { workspaceId: input.workspaceId, jobName: current.jobName, runId: input.runId });
    p.polls += 1;
    called();
    p.pollIntervalInSeconds = Math.min(p.pollIntervalInSeconds * 2, input.wait.pollMaxIntervalInSeconds);
    p.nextPollAt = addSeconds(context.df.currentUtcDateTime, p.pollIntervalInSeconds);
    if (polled.ok) {
      observe(current, polled.value.status);
      p.pollFailures = 0;
      p.lastPollError = undefined;
      continue;
    }
    if (polled.failureClass === 'transient') {
      p.pollFailures = (p.pollFailures ?? 0) + 1;
      p.lastPollError = polled.message;
      log(`Status poll ${p.pollFailures} in a row failed (${polled.message}); polling again at ${p.nextPollAt}.`);
      continue;
    }
    // The job cannot be watched (e.g. access to it was revoked): stop it rather than leave it running unwatched.
    log(`Reading job ${current.jobName} failed for good: ${polled.message}; cancelling it.`);
    publishStatus('cannot read job: cancelling it');
    const cancelProblem = yield* cancelJob(current.jobName);
    return finish('Failed', `Reading Azure ML job ${current.jobName} failed: ${polled.message}. ${cancelProblem ? `Cancelling it failed too (${cancelProblem}); cancel it in Azure ML before rerunning.` : 'The job was cancelled.'}`);
  }

  /** Asks Azure ML to cancel the job; the problem when it could not, so the run can say so instead of failing without an outcome. */
  function* cancelJob(jobName: string): Generator<Task, string | undefined, unknown> {
    called();
    try {
      yield* callActivity(context, ACTIVITY.cancelBatchJob, { workspaceId: input.workspaceId, jobName, runId: input.runId });
      return undefined;
    } catch (err) {
      return err instanceof ActivityFailedError ? err.failure.message : (err as Error).message;
    }
  }
}
