// The activities orchestrations may call: their names, inputs and outputs, and typed helpers that
// schedule them. Pure declarations — no I/O — so orchestrations can import this file; the
// implementations beside it import their names from here.
import * as df from 'durable-functions';
import type { OrchestrationContext, Task } from 'durable-functions';
import type { BatchJobRequest } from '../azure/batchScoring';
import type { ValidationRules } from '../validation/rules';

/** The verdict part of a validation report that orchestrations read (the full report is stored). */
export interface ValidationVerdict {
  passed: boolean;
  summary: string;
  reportBlob?: string;
  [k: string]: unknown;
}

export const ACTIVITY = {
  resolveBatchEndpoint: 'resolveBatchEndpoint',
  adoptOrSubmitJob: 'adoptOrSubmitJob',
  getBatchJobStatus: 'getBatchJobStatus',
  cancelBatchJob: 'cancelBatchJob',
  validateRunOutputs: 'validateRunOutputs',
  announceRun: 'announceRun',
  writeRunRecord: 'writeRunRecord',
  peekPartition: 'peekPartition',
  closePartitionBatch: 'closePartitionBatch',
  startScoringRun: 'startScoringRun',
} as const;

export type ActivityName = (typeof ACTIVITY)[keyof typeof ACTIVITY];

/** What an activity returns when retrying cannot help (a PermanentError): the run fails with it. */
export interface ActivityFailure {
  ok: false;
  failureClass: 'permanent';
  message: string;
  code?: string;
}
export type ActivityResult<T> = { ok: true; value: T } | ActivityFailure;

export interface ResolveBatchEndpointInput {
  workspaceId: string;
  endpoint: string;
  deployment?: string;
}
export interface ResolvedEndpointOutput {
  endpointId: string;
  scoringUri: string;
  deployment: string;
  deploymentIsDefault: boolean;
}

export interface AdoptOrSubmitJobInput {
  runId: string;
  attempt: number;
  workspaceId: string;
  scoringUri: string;
  deployment: string;
  deploymentIsDefault: boolean;
  request: BatchJobRequest;
}
export interface AdoptOrSubmitJobOutput {
  jobName: string;
  adopted: boolean;
  status?: string;
}

export interface JobRefInput {
  workspaceId: string;
  jobName: string;
  runId: string;
}

export interface OutputLocation {
  datastore: string;
  path: string;
  /** azureml://datastores/<datastore>/paths/<path> */
  uri: string;
}

export interface ValidateRunOutputsInput {
  runId: string;
  workspaceId: string;
  output: OutputLocation;
  inputs: Array<{ url: string }>;
  inputFolderUrl?: string;
  rules: ValidationRules;
  jobName: string;
}

export interface AnnounceRunInput {
  runId: string;
  topicEndpoint?: string;
  type: string;
  subject: string;
  data: Record<string, unknown>;
}

export interface WriteRunRecordInput {
  runId: string;
  routeName: string;
  record: Record<string, unknown>;
}
export interface WriteRunRecordOutput {
  container: string;
  blobName: string;
}

export interface PeekPartitionInput {
  routeName: string;
  partition: string;
}
export interface PartitionSnapshot {
  pending: number;
  firstArrivalAt?: string;
  lastArrivalAt?: string;
  markerSeen: boolean;
  markerUrl?: string;
  markerArrivedAt?: string;
  nextBatchNumber: number;
}
export interface ClosePartitionBatchInput {
  routeName: string;
  partition: string;
  batchNumber: number;
  runId: string;
  /** Close only arrivals seen up to this instant (the snapshot that decided). */
  upTo?: string;
}
export interface ClosedBatch {
  batchNumber: number;
  runId: string;
  files: Array<{ url: string; blobPath: string; eTag: string; contentLength?: number }>;
  markerUrl?: string;
}

export interface StartScoringRunInput {
  runId: string;
  orchestration: string;
  input: unknown;
}

const TRANSIENT_RETRY = new df.RetryOptions(2000, 6);
TRANSIENT_RETRY.backoffCoefficient = 2;
TRANSIENT_RETRY.maxRetryIntervalInMilliseconds = 120_000;

/** Thrown inside an orchestration when an activity reports a permanent failure. */
export class ActivityFailedError extends Error {
  constructor(readonly activity: ActivityName, readonly failure: ActivityFailure) {
    super(`${activity}: ${failure.message}`);
    this.name = 'ActivityFailedError';
  }
}

/**
 * Schedules an activity with the transient-error retry policy and unwraps its result; a permanent
 * failure surfaces as ActivityFailedError. Use with `yield*`.
 */
export function* callActivity<TIn, TOut>(context: OrchestrationContext, name: ActivityName, input: TIn): Generator<Task, TOut, unknown> {
  const result = (yield context.df.callActivityWithRetry(name, TRANSIENT_RETRY, input)) as ActivityResult<TOut>;
  if (!result || typeof result !== 'object' || !('ok' in result)) throw new Error(`${name} returned an unexpected result.`);
  if (!result.ok) throw new ActivityFailedError(name, result);
  return result.value;
}
