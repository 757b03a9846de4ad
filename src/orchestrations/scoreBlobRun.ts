// scoreBlobRun: the main job for blob arrivals. Reads top to bottom like the runbook it replaces:
// run the batch job (runBatchJob) → validate what it wrote → write the run record → announce
// Run.Completed / Run.Failed / Run.ValidationFailed. Every failure ends in exactly one failure event and a
// run record that says why; the record and the event outlast a storage or topic outage (runEnding).
import type { OrchestrationContext, Task } from 'durable-functions';
import { ACTIVITY, ActivityFailedError, attemptActivity, callActivity, INDEX_RETRY, RunAnnouncement, ValidationVerdict, WriteRunRecordOutput } from '../activities/contracts';
import type { BlobRoute } from '../config/routes';
import type { JobInputSpec } from '../azure/batchScoring';
import { RUN_BATCH_JOB, RunBatchJobInput, RunBatchJobResult } from './runBatchJob';
import { fillOutputPath } from './outputPaths';
import { replaySafeLog } from './replaySafeLog';
import { endRun, RunEnding } from './runEnding';
import { callSubOrchestration } from './subOrchestrations';
import { jobInstanceId } from '../domain/runIds';
import { runIndexer } from './runIndexing';
import { driftOf, measureRun } from './runMeasuring';

export const SCORE_BLOB_RUN = 'scoreBlobRun';

export interface RunInputFile {
  url: string;
  blobPath: string;
  eTag: string;
  contentLength?: number;
}

export interface ScoreBlobRunInput {
  runId: string;
  /** The route as it was when the run was started (audit: what the run was asked to do). */
  route: BlobRoute;
  workspaceId: string;
  topicEndpoint: string;
  /** `firstArrivalAt`: when the run's first input arrived (absent for operator starts and older runs). */
  trigger: { kind: 'blob'; eventIds: string[]; partition?: string; batchNumber?: number; markerUrl?: string; firstArrivalAt?: string };
  files: RunInputFile[];
  /** Folder URL for UriFolder input (window/marker partitions). */
  folderUrl?: string;
  /** Set when the run repeats another (operator rerun). */
  rerunOf?: string;
  /** Set when the batch cannot be scored (e.g. a bad manifest): the run fails with it, no job. */
  refusal?: string;
  /** Set when the run continued as new while ending (a long storage or topic outage): it resumes there. */
  ending?: RunEnding<ScoreBlobRunResult>;
}

export type RunOutcome = 'Completed' | 'Failed' | 'ValidationFailed';

export interface ScoreBlobRunResult {
  runId: string;
  outcome: RunOutcome;
  reason?: string;
  jobName?: string;
  output?: string;
  validation?: ValidationVerdict;
  eventType: string;
  record?: WriteRunRecordOutput;
  announcement?: RunAnnouncement;
}

/**
 * UriFile for one file; List (an MLTable naming the exact files) for every batch, so a marked folder's
 * job gets its data files and never the marker, a manifest or a file the route's filters left out.
 * UriFolder only when a route asks for it.
 */
export function inputModeOf(route: BlobRoute): 'UriFile' | 'UriFolder' | 'List' {
  return route.target.inputMode ?? (route.batching.mode === 'perFile' ? 'UriFile' : 'List');
}

export function jobInputsFor(input: ScoreBlobRunInput, inputTableUrl?: string): Record<string, JobInputSpec> {
  const t = input.route.target;
  const mode = inputModeOf(input.route);
  const inputs: Record<string, JobInputSpec> = {};
  if (mode === 'UriFile') {
    if (input.files.length !== 1) throw new Error(`Input mode UriFile takes one file; this run has ${input.files.length}. Use UriFolder or List for batches.`);
    inputs[t.inputName] = { jobInputType: 'UriFile', uri: input.files[0].url };
  } else if (mode === 'List') {
    if (!inputTableUrl) throw new Error('Input mode List needs the MLTable that lists the files.');
    inputs[t.inputName] = { jobInputType: 'MLTable', uri: inputTableUrl };
  } else {
    if (!input.folderUrl) throw new Error('Input mode UriFolder needs the partition folder URL.');
    inputs[t.inputName] = { jobInputType: 'UriFolder', uri: input.folderUrl };
  }
  for (const [k, v] of Object.entries(t.literalInputs)) inputs[k] = { jobInputType: 'Literal', value: String(v) };
  return inputs;
}

export function* scoreBlobRun(context: OrchestrationContext): Generator<Task, ScoreBlobRunResult | undefined, unknown> {
  const input = context.df.getInput() as ScoreBlobRunInput;
  const { route, runId } = input;
  const startedAt = context.df.currentUtcDateTime.toISOString();
  const prefix = route.events.typePrefix;
  const log = replaySafeLog(context, { runId, route: route.name });
  const index = runIndexer(context, SCORE_BLOB_RUN, runId, input as unknown as Record<string, unknown>, log);
  const finish = (ending: RunEnding<ScoreBlobRunResult>) =>
    endRun(context, ending, {
      input,
      status: (phase, extra) => context.df.setCustomStatus({ phase, outcome: ending.result.outcome, jobName: ending.result.jobName, ...extra }),
      log,
      finished: (r) => ({ message: `Run ${r.outcome}${r.reason ? `: ${r.reason}` : ''}`, extra: { jobName: r.jobName } }),
      index,
      indexed: (r) => ({ outcome: r.outcome, reason: r.reason, jobName: r.jobName }),
    });
  if (input.ending) return yield* finish(input.ending);
  yield* index.write('Running', { customStatus: { phase: inputModeOf(route) === 'List' ? 'listing inputs' : 'running job' } });

  let job: RunBatchJobResult | undefined;
  let validation: ValidationVerdict | undefined;
  let outcome: RunOutcome = 'Failed';
  let reason: string | undefined;
  try {
    if (input.refusal) throw new Error(input.refusal);
    let inputTableUrl: string | undefined;
    if (inputModeOf(route) === 'List') {
      context.df.setCustomStatus({ phase: 'listing inputs' });
      inputTableUrl = (yield* callActivity(context, ACTIVITY.writeInputTable, { runId, routeName: route.name, files: input.files.map((f) => ({ url: f.url })) })).folderUrl;
    }
    context.df.setCustomStatus({ phase: 'running job', jobInstanceId: jobInstanceId(runId) });
    const jobInput: RunBatchJobInput = {
      runId,
      workspaceId: input.workspaceId,
      endpoint: route.target.endpoint,
      deployment: route.target.deployment,
      inputs: jobInputsFor(input, inputTableUrl),
      output: { name: route.target.outputName, datastore: route.target.outputDatastore, path: fillOutputPath(route.target.outputPath, { runId, route: route.name, partition: input.trigger.partition ?? '', date: context.df.currentUtcDateTime }) },
      overrides: route.target.overrides,
      wait: route.wait,
    };
    job = yield* callSubOrchestration(context, RUN_BATCH_JOB, jobInput, jobInstanceId(runId));
    if (job.outcome !== 'Completed') {
      reason = job.message ?? `The Azure ML job ended ${job.outcome}.`;
    } else if (route.validation) {
      context.df.setCustomStatus({ phase: 'validating outputs', jobName: job.jobName });
      validation = yield* callActivity(context, ACTIVITY.validateRunOutputs, {
        runId,
        workspaceId: input.workspaceId,
        output: job.output,
        inputs: input.files.map((f) => ({ url: f.url })),
        inputFolderUrl: input.folderUrl,
        rules: route.validation,
        jobName: job.jobName,
        outputFileName: route.target.overrides.outputFileName,
        routeName: route.name,
      });
      const drift = driftOf(validation);
      if (drift?.detected && route.validation.drift?.action === 'warn') yield* announceDrift(drift);
      if (validation.passed) outcome = 'Completed';
      else {
        outcome = 'ValidationFailed';
        reason = validation.summary;
      }
    } else {
      outcome = 'Completed';
    }
  } catch (err) {
    reason = err instanceof ActivityFailedError ? err.failure.message : (err as Error).message;
    log(`Run failed: ${reason}`, { failureClass: err instanceof ActivityFailedError ? 'permanent' : 'exhausted-retries' });
  }

  /** The drift warning: its own event beside the outcome; a topic outage loses only the warning, never the run. */
  function* announceDrift(drift: NonNullable<ReturnType<typeof driftOf>>): Generator<Task, void, unknown> {
    const type = `${prefix}.Run.DriftDetected`;
    const sent = yield* attemptActivity(context, ACTIVITY.announceRun, {
      runId,
      topicEndpoint: input.topicEndpoint,
      type,
      subject: `routes/${route.name}/runs/${runId}`,
      data: { runId, route: route.name, jobName: job?.jobName, output: job?.output?.uri, ...drift },
    }, INDEX_RETRY);
    if (!sent.ok) log(`${type} could not be published: ${sent.message}`, { failureClass: sent.failureClass });
  }

  const eventType = `${prefix}.Run.${outcome}`;
  const finishedAt = context.df.currentUtcDateTime.toISOString();
  const summary = {
    runId,
    route: route.name,
    outcome,
    reason,
    inputs: input.files.map((f) => f.url),
    folder: input.folderUrl,
    trigger: input.trigger,
    workspaceId: input.workspaceId,
    endpoint: route.target.endpoint,
    deployment: job?.deployment ?? route.target.deployment,
    jobName: job?.jobName,
    jobs: job?.attempts.map((a) => ({ attempt: a.attempt, jobName: a.jobName, status: a.status, adopted: a.adopted })),
    output: job?.output?.uri,
    validation: validation ? { passed: validation.passed, summary: validation.summary, report: validation.reportBlob } : undefined,
    polls: job?.polls,
    eventsSeen: job?.eventsSeen,
    startedAt,
    finishedAt,
    durationInSeconds: Math.round((new Date(finishedAt).getTime() - new Date(startedAt).getTime()) / 1000),
    rerunOf: input.rerunOf,
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
    result: { runId, outcome, reason, jobName: job?.jobName, output: job?.output?.uri, validation, eventType },
    measurements: measureRun({ runId, route: route.name, kind: 'blob', outcome, startedAt, finishedAt, firstArrivalAt: input.trigger.firstArrivalAt, jobs: [job], validation }),
  });
}
