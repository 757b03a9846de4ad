// The activities orchestrations may call: their names, inputs and outputs, and typed helpers that
// schedule them. Pure declarations — no I/O — so orchestrations can import this file; the
// implementations beside it import their names from here. The map from name to input and output is
// read off the implementations' own signatures through type-only imports (erased at compile time, so
// loading this file loads none of them): `callActivity(context, ACTIVITY.x, input)` checks the input
// and types the output the way Temporal's proxyActivities does.
import * as df from 'durable-functions';
import type { OrchestrationContext, Task } from 'durable-functions';
import type * as inputTableActivities from './inputTableActivities';
import type * as mlJobActivities from './mlJobActivities';
import type * as modelComparisonActivities from './modelComparisonActivities';
import type * as modelDeploymentActivities from './modelDeploymentActivities';
import type * as partitionActivities from './partitionActivities';
import type * as runIndexActivities from './runIndexActivities';
import type * as runMeasurementActivities from './runMeasurementActivities';
import type * as runRecordActivities from './runRecordActivities';
import type * as validationActivities from './validationActivities';
import type { BatchJobRequest, JobInputSpec } from '../azure/batchScoring';
import type { ValidationRules } from '../config/validationRules';
import type { BlobRoute, ModelRoute } from '../config/routes';
import type { ComparisonRules } from '../config/comparisonRules';
import type { ComparisonCheck, ComparisonCounts, ComparisonMetrics } from '../model/predictionComparison';
import type { LedgerEntry } from '../model/ledgerEntries';

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
  writeInputTable: 'writeInputTable',
  // The model flow (promoteModel, rollbackModel).
  resolveModelCandidate: 'resolveModelCandidate',
  deployModelCandidate: 'deployModelCandidate',
  resolveValidationData: 'resolveValidationData',
  compareModelPredictions: 'compareModelPredictions',
  switchDefaultDeployment: 'switchDefaultDeployment',
  recordModelLedgerEntry: 'recordModelLedgerEntry',
  readModelRollbackTarget: 'readModelRollbackTarget',
  // The run index (operator lists and counts).
  indexRun: 'indexRun',
  // Route health and telemetry.
  recordRunMeasurements: 'recordRunMeasurements',
} as const;

export type ActivityName = (typeof ACTIVITY)[keyof typeof ACTIVITY];

type Implementations = typeof inputTableActivities &
  typeof mlJobActivities &
  typeof modelComparisonActivities &
  typeof modelDeploymentActivities &
  typeof partitionActivities &
  typeof runIndexActivities &
  typeof runMeasurementActivities &
  typeof runRecordActivities &
  typeof validationActivities;

/**
 * Every activity by name, as implemented: each name in ACTIVITY must be exported under that name by one
 * of the modules above (functions/ registers it so), or this map does not compile.
 */
export type ActivityFunctions = { [N in ActivityName]: Implementations[N] };
/** What activity `N` takes. */
export type ActivityInput<N extends ActivityName> = Parameters<ActivityFunctions[N]>[0];
/** What activity `N` returns when it succeeds (its ActivityResult's value). */
export type ActivityOutput<N extends ActivityName> = Awaited<ReturnType<ActivityFunctions[N]>> extends ActivityResult<infer T> ? T : never;

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
  /** The route's overrides.outputFileName, when it renames predictions.csv. */
  outputFileName?: string;
  /** The route, whose latest completed runs are the drift rule's baseline (absent in runs from before drift). */
  routeName?: string;
}

export interface AnnounceRunInput {
  runId: string;
  topicEndpoint?: string;
  type: string;
  subject: string;
  data: Record<string, unknown>;
  /** The CloudEvent ID; default outcomeEventId(runId, type). */
  eventId?: string;
  /** The run record to note the sent event in, once it is out (see RunAnnouncement). */
  noteIn?: WriteRunRecordOutput & { attempts: number };
}
export interface AnnounceRunOutput {
  id: string;
  sentAt: string;
  /** False when noting the event in the run record failed (the event is out; the orchestration rewrites the record). */
  recordNoted: boolean;
  recordProblem?: string;
}

/**
 * What the run record says about its outcome event: `pending` while it is being sent (the record goes
 * first, so a subscriber can always read what the event announces), `sent` once the topic took it, or
 * `failed` when it could not be sent before the run's deadline or the topic refused it for good.
 */
export interface RunAnnouncement {
  state: 'pending' | 'sent' | 'failed';
  eventId: string;
  type: string;
  sentAt?: string;
  /** Publish attempts made. */
  attempts?: number;
  reason?: string;
}

/** One event per run and outcome: the ID is derived, never random, so a repeated send can be dropped by subscribers. */
export function outcomeEventId(runId: string, type: string): string {
  return `${runId}:${type}`;
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
  /** The marker is a manifest naming the batch's files (marker routes with `manifest: true`). */
  markerIsManifest?: boolean;
  /** The route as the coalescer knows it: a manifest is held to its filters and limits. */
  route?: BlobRoute;
}
export interface ClosedBatch {
  batchNumber: number;
  runId: string;
  files: Array<{ url: string; blobPath: string; eTag: string; contentLength?: number }>;
  markerUrl?: string;
  /** Why the batch cannot be scored (e.g. a manifest naming a missing file); its run fails with it. */
  refusal?: string;
  /** When the batch's first file arrived (the ledger's earliest arrival). */
  firstArrivalAt?: string;
}

export interface WriteInputTableInput {
  runId: string;
  routeName: string;
  files: Array<{ url: string }>;
}
export interface WrittenInputTable {
  /** Folder URL holding the MLTable file: the job's MLTable input. */
  folderUrl: string;
  files: number;
}

export interface StartScoringRunInput {
  runId: string;
  orchestration: string;
  input: unknown;
}

// ---- The model flow (promoteModel, rollbackModel) ----

export interface ResolveModelCandidateInput {
  runId: string;
  workspaceId: string;
  endpoint: string;
  modelName: string;
  modelVersion: string;
  naming: ModelRoute['target']['candidate'];
}
export interface ResolvedModelCandidate {
  endpointId: string;
  /** The endpoint's current default: the baseline the candidate is compared with. */
  baselineDeployment: string;
  /** The model (ARM ID) the baseline serves, when it names one. */
  baselineModel?: string;
  candidateDeployment: string;
  /** ARM ID of the registered model version. */
  modelId: string;
}

export interface DeployModelCandidateInput {
  runId: string;
  workspaceId: string;
  endpoint: string;
  baselineDeployment: string;
  candidateDeployment: string;
  modelId: string;
  modelName: string;
  modelVersion: string;
}
export interface DeployedModelCandidate {
  deployment: string;
  provisioningState?: string;
  /** True when a repeated activity found the deployment already provisioned by this run. */
  adopted: boolean;
}

export interface ResolveValidationDataInput {
  runId: string;
  workspaceId: string;
  data: ModelRoute['validationData'];
}
export interface ResolvedValidationData {
  /** The job input both deployments score. */
  input: JobInputSpec;
  /** The same folder as a blob URL on the data account, so validation can count input rows; absent when it lives elsewhere. */
  inputFolderUrl?: string;
}

export interface CompareModelPredictionsInput {
  runId: string;
  routeName: string;
  workspaceId: string;
  model: { name: string; version: string };
  baseline: { deployment: string; jobName?: string; output: OutputLocation };
  candidate: { deployment: string; jobName?: string; output: OutputLocation };
  predictionsFile: string;
  rules: ComparisonRules;
}
/** The verdict part of a comparison report (the full report is stored at reportBlob). */
export interface ComparisonVerdict {
  passed: boolean;
  summary: string;
  failureReason?: string;
  checks: ComparisonCheck[];
  counts: ComparisonCounts;
  metrics: ComparisonMetrics;
  /** `<container>/<blob>` of the full report in the data account. */
  reportBlob: string;
}

export interface SwitchDefaultDeploymentInput {
  runId: string;
  workspaceId: string;
  endpoint: string;
  /** The default the run saw; the switch is refused when someone changed it since. */
  expectedCurrent: string;
  to: string;
  /** The model (ARM ID) `to` must still serve: a fixed slot may have been redeployed by a newer run. */
  expectedModel?: string;
}
export interface SwitchedDefaultDeployment {
  previous: string;
  current: string;
  /** True when a repeated activity found the switch already made. */
  alreadySwitched: boolean;
}

export type RecordModelLedgerEntryInput = LedgerEntry;

export interface ReadModelRollbackTargetInput {
  workspaceId: string;
  endpoint: string;
  /** The promotion the rollback was asked to undo; refused when a newer change has happened. */
  promotionRunId: string;
}
export interface ModelRollbackTarget {
  promotion: LedgerEntry;
  /** The deployment to make the default again. */
  target: string;
  /** The default now (the promoted candidate). */
  current: string;
  targetModel?: string;
}

/**
 * A run's state for the run index, as its orchestration knows it: the operator summary is derived from
 * these the same way as from a Durable instance (src/operator/runSummaries.ts).
 */
export interface IndexRunInput {
  runId: string;
  orchestration: string;
  /** What the instance's runtime status is, or is about to be once the orchestration returns or throws. */
  runtimeStatus: 'Running' | 'Completed' | 'Failed';
  /** The orchestration's clock at this state: the run's creation time if the index has not seen it yet, and its version. */
  at: string;
  /** Index writes this run made before at the same `at` (orders writes within one millisecond). */
  seq: number;
  /** The run's input, with at most a few input files (`fileCount` says how many there are). */
  input: Record<string, unknown>;
  output?: unknown;
  customStatus?: Record<string, unknown>;
}
export interface IndexRunOutput {
  applied: boolean;
  version: string;
}

const TRANSIENT_RETRY = new df.RetryOptions(2000, 6);
TRANSIENT_RETRY.backoffCoefficient = 2;
TRANSIENT_RETRY.maxRetryIntervalInMilliseconds = 120_000;

/** Index writes are retried briefly: a run never waits on the index, and the next write (or the maintenance pass) catches up. */
export const INDEX_RETRY = new df.RetryOptions(1000, 3);
INDEX_RETRY.backoffCoefficient = 2;

/** Thrown inside an orchestration when an activity reports a permanent failure. */
export class ActivityFailedError extends Error {
  constructor(readonly activity: ActivityName, readonly failure: ActivityFailure) {
    super(`${activity}: ${failure.message}`);
    this.name = 'ActivityFailedError';
  }
}

/** One attempt at an activity: its value, or how it failed (permanent: do not try again). */
export type ActivityAttempt<T> = { ok: true; value: T } | { ok: false; failureClass: 'transient' | 'permanent'; message: string; code?: string };

/**
 * Schedules an activity once, without the retry policy, for callers that retry on their own durable
 * timers (through an outage longer than the policy's minute), or with a `retry` of the caller's own
 * (the run index's few quick retries). Activities throw only failures classified transient
 * (src/azure/errorClassification.ts) and report permanent ones as results.
 */
export function* attemptActivity<N extends ActivityName>(context: OrchestrationContext, name: N, input: ActivityInput<N>, retry?: df.RetryOptions): Generator<Task, ActivityAttempt<ActivityOutput<N>>, unknown> {
  let result: ActivityResult<ActivityOutput<N>>;
  try {
    result = (yield retry ? context.df.callActivityWithRetry(name, retry, input) : context.df.callActivity(name, input)) as ActivityResult<ActivityOutput<N>>;
  } catch (err) {
    return { ok: false, failureClass: 'transient', message: firstLine((err as Error).message ?? String(err)) };
  }
  if (!result || typeof result !== 'object' || !('ok' in result)) return { ok: false, failureClass: 'permanent', message: `${name} returned an unexpected result.` };
  return result.ok ? result : { ok: false, failureClass: 'permanent', message: result.message, code: result.code };
}

function firstLine(message: string): string {
  return message.split('\n')[0].replace(/^(TransientError|Error): /, '').trim();
}

/** Waits between attempts through an outage: doubling from the first interval up to the maximum. */
export interface TimerBackoff {
  firstIntervalInSeconds: number;
  maxIntervalInSeconds: number;
}

/** The wait before the next attempt after `failures` failed ones (1 after the first). */
export function backoffDelayInSeconds(backoff: TimerBackoff, failures: number): number {
  const exponent = Math.min(Math.max(failures - 1, 0), 30);
  return Math.min(backoff.firstIntervalInSeconds * 2 ** exponent, backoff.maxIntervalInSeconds);
}

/**
 * Schedules an activity with the transient-error retry policy and unwraps its result; a permanent
 * failure surfaces as ActivityFailedError. Use with `yield*`.
 */
export function* callActivity<N extends ActivityName>(context: OrchestrationContext, name: N, input: ActivityInput<N>): Generator<Task, ActivityOutput<N>, unknown> {
  const result = (yield context.df.callActivityWithRetry(name, TRANSIENT_RETRY, input)) as ActivityResult<ActivityOutput<N>>;
  if (!result || typeof result !== 'object' || !('ok' in result)) throw new Error(`${name} returned an unexpected result.`);
  if (!result.ok) throw new ActivityFailedError(name, result);
  return result.value;
}
