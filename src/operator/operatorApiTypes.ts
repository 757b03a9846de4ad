// The operator API's wire contract: what /api/ops/... answers and accepts. The HTTP handlers build
// these, the CLI and the dashboard read them; keeping them in one declaration-only file means the three
// cannot drift apart. Times are ISO 8601 strings, durations carry their unit.

/** What started a run: blob arrivals, a model registration, or an operator's rollback. */
export const RUN_KINDS = ['blob', 'model', 'rollback'] as const;
export type RunKind = (typeof RUN_KINDS)[number];

/**
 * A run's status as an operator reads it. A finished run shows its outcome (a blob run whose job failed
 * completes its orchestration but is `Failed`); a running run waiting on a person is `AwaitingApproval`.
 */
export const RUN_STATUSES = [
  'Pending',
  'Running',
  'AwaitingApproval',
  'Suspended',
  'Completed',
  'Failed',
  'ValidationFailed',
  'Terminated',
  'Promoted',
  'Rejected',
  'RolledBack',
] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];

/** Statuses after which nothing more happens to a run. */
export const FINISHED_STATUSES: readonly RunStatus[] = ['Completed', 'Failed', 'ValidationFailed', 'Terminated', 'Promoted', 'Rejected', 'RolledBack'];

export interface RunSummary {
  runId: string;
  kind: RunKind;
  /** The orchestration function the run is an instance of. */
  orchestration: string;
  status: RunStatus;
  /** The Durable runtime status behind `status` (Running, Completed, Failed, Terminated...). */
  runtimeStatus: string;
  /** What the run is doing now (its custom status `phase`). */
  phase?: string;
  route?: string;
  createdAt: string;
  lastUpdatedAt: string;
  /** Input blob paths (at most the first five) and how many there are. */
  inputs: string[];
  inputCount: number;
  folder?: string;
  model?: { name: string; version?: string };
  /** The batch endpoint a model or rollback run acts on. */
  endpoint?: string;
  jobName?: string;
  /** Why a finished run did not complete. */
  reason?: string;
  rerunOf?: string;
}

export interface RunListPage {
  runs: RunSummary[];
  /** Pass back as `continuationToken` for the next (older) page; absent on the last page. */
  continuationToken?: string;
  /**
   * The request read as many instances as one request may before its page was full: `runs` holds what
   * it found (newest first, every run created after `searchedBackTo` that matches), and
   * `continuationToken` searches on from there.
   */
  partial?: true;
  searchedBackTo?: string;
  /** Where the answer comes from: the run index, or the Durable instance store while the index is not ready. */
  source: RunQuerySource;
  /** Why the answer comes from where it does, or what it could not do. */
  note?: string;
  /** Durable instances read to answer (runs, their sub-runs and other instances alike), from the instance store. */
  scannedInstances?: number;
  /** Table requests made to answer, from the run index. */
  tableRequests?: number;
  /** When the answer was computed (answers are shared across requests for a few seconds). */
  asOf: string;
}

export type RunQuerySource = 'index' | 'instanceStore';

export interface RunCounts {
  /** With `partial`, lower bounds: every matching run created since `completeSince`, and some older. */
  total: number;
  byStatus: Partial<Record<RunStatus, number>>;
  /** Counting stopped at the read budget of one request; narrow the time range (from, to) for exact counts. */
  partial?: true;
  completeSince?: string;
  source: RunQuerySource;
  note?: string;
  scannedInstances?: number;
  tableRequests?: number;
  asOf: string;
}

/** How far the run index's backfill (runs from before the index) has got. */
export interface RunIndexStatus {
  /** The index holds every run: lists and counts come from it. */
  ready: boolean;
  backfill?: { state: 'running' | 'complete'; upTo: string; instancesRead: number; runsWritten: number; startedAt: string; completedAt?: string };
  note?: string;
}

export type StepKind = 'activity' | 'timer' | 'event' | 'subRun' | 'run';
export type StepStatus = 'completed' | 'failed' | 'running' | 'waiting' | 'terminated';

/** One entry of a run's history as a step: what ran, when, for how long, and how it ended. */
export interface RunStep {
  kind: StepKind;
  name: string;
  status: StepStatus;
  startedAt?: string;
  endedAt?: string;
  durationInMs?: number;
  /** Why the step failed (the activity's permanent failure, the sub-run's reason, the exception). */
  failure?: string;
  /** A failed attempt that a later attempt of the same step replaced (retry policy). */
  retried?: boolean;
  /** Sub-runs: the child instance; its own steps when it could be read. */
  instanceId?: string;
  children?: RunStep[];
  /** A short description of what went in (activity input or event name), for the history table. */
  detail?: string;
}

export interface RunJob {
  jobName: string;
  /** The Durable instance that waited for the job (e.g. `<runId>:job`). */
  waitedBy?: string;
  attempt?: number;
  status?: string;
  studioUrl?: string;
  startTime?: string;
  endTime?: string;
  error?: string;
  output?: RunOutputLocation;
  /** Set when Azure ML could not be asked (the job status is then the last one the run saw). */
  lookupError?: string;
}

export interface RunOutputLocation {
  /** azureml://datastores/<datastore>/paths/<path>/ */
  uri: string;
  datastore?: string;
  path?: string;
  /** The same folder as a blob URL, when the datastore is on batchpilot's data account. */
  blobUrl?: string;
}

export interface RunReport {
  /** `validation`, `comparison`, ... */
  name: string;
  passed?: boolean;
  summary?: string;
  /** `<container>/<blob>` where the full report is kept. */
  location?: string;
  /** The full report, when it could be read. */
  content?: unknown;
  readError?: string;
}

export interface EmittedEvent {
  id: string;
  type: string;
  subject?: string;
  at?: string;
}

export interface RunDetail {
  summary: RunSummary;
  customStatus: unknown;
  input: unknown;
  output: unknown;
  steps: RunStep[];
  /** The step whose failure ended the run, if any (also marked in `steps`). */
  failedStep?: { name: string; failure: string };
  jobs: RunJob[];
  outputLocation?: RunOutputLocation;
  reports: RunReport[];
  events: EmittedEvent[];
  runRecord?: { location: string; content?: unknown };
  approval?: { awaiting: boolean; detail?: unknown };
  audit: AuditRecord[];
  /** Later runs that repeat this one. */
  reruns: string[];
}

export const OPERATOR_ACTIONS = ['terminate', 'rerun', 'approve', 'reject', 'start', 'purge', 'rollback', 'backfillIndex'] as const;
export type OperatorAction = (typeof OPERATOR_ACTIONS)[number];

export interface Actor {
  /** The signed-in principal's name (from App Service authentication), or `function-key` when only a key was shown. */
  name: string;
  via: 'principal' | 'functionKey';
  id?: string;
  identityProvider?: string;
  /** The principal's app roles (roles claims), or the key role (BATCHPILOT_OPERATOR_KEY_ROLE). */
  roles: string[];
  /** A name the caller gave for itself (x-batchpilot-actor); recorded beside the identity, never trusted. */
  declaredAs?: string;
}

/** The state of an action an audit record was written for: before it, then its outcome. */
export type AuditState = 'pending' | 'succeeded' | 'failed';

/**
 * One record of the audit chain, as stored in the audit container: written once (never overwritten) for
 * each state of an action, and linked to the record before it by that record's hash.
 */
export interface AuditEntry {
  schema: 'batchpilot.operatorAuditEntry/1';
  /** Position in the chain, from 1, without gaps. */
  seq: number;
  /** `hash` of the record at seq - 1 (64 zeros for the first). */
  prevHash: string;
  /** SHA-256 (hex) of the record's canonical JSON without this field. */
  hash: string;
  recordedAt: string;
  /** The action's ID, shared by its records. */
  id: string;
  action: OperatorAction;
  /** When the action began. */
  at: string;
  by: Actor;
  reason: string;
  runId?: string;
  request: Record<string, unknown>;
  state: AuditState;
  result?: Record<string, unknown>;
  error?: string;
  /** Runs the action created; the record is also indexed under each. */
  createdRuns?: string[];
}

/** One operator action as the API shows it: its latest record, with where its records sit in the chain. */
export interface AuditRecord {
  id: string;
  action: OperatorAction;
  at: string;
  by: Actor;
  reason: string;
  /** The run acted on (terminate, rerun, approve, reject). */
  runId?: string;
  request: Record<string, unknown>;
  outcome: AuditState;
  result?: Record<string, unknown>;
  error?: string;
  completedAt?: string;
  createdRuns?: string[];
  /** The action's records in the chain, oldest first. */
  entries: Array<{ seq: number; state: AuditState; hash: string; recordedAt: string }>;
  /** Set when a record read for this action does not match its own hash (changed after writing). */
  integrityProblem?: string;
}

/** What checking (part of) the audit chain found. */
export interface AuditVerification {
  ok: boolean;
  fromSeq: number;
  /** The last position checked. */
  toSeq: number;
  /** The newest record when the check began. */
  headSeq: number;
  headHash: string;
  checked: number;
  problems: Array<{ seq: number; blob: string; problem: string }>;
  /** More of the chain is left to check: ask again from here. */
  nextFromSeq?: number;
}

export interface CallerInfo {
  actor: Actor;
  readOnlyMode: boolean;
  /** App Service authentication is on (WEBSITE_AUTH_ENABLED): principal headers are the platform's. */
  platformAuthentication: boolean;
  mayChange: boolean;
  /** Why changes are refused, when they are. */
  refusal?: string;
}

export interface ActionResult {
  action: OperatorAction;
  auditId: string;
  runId?: string;
  [k: string]: unknown;
}

/** Every error the operator API answers: a status code, a stable code and a sentence for people. */
export interface OperatorErrorBody {
  error: { code: string; message: string };
}

// ---- Route health (GET ops/health) ----

/** One objective of a route's `slo:` section over a period: the figure and whether it is met (undefined: no runs to judge). */
export interface ObjectiveAttainment {
  name: 'successRate' | 'p95DurationInMinutes' | 'maxFailedFileRatio';
  objective: number;
  actual?: number;
  met?: boolean;
  /** maxFailedFileRatio: runs above the limit. */
  runsOver?: number;
}

export interface PeriodHealth {
  from: string;
  to: string;
  /** Runs that finished in the period. */
  runs: number;
  succeeded: number;
  failed: number;
  successRate?: number;
  p95DurationInMinutes?: number;
  worstFailedFileRatio?: number;
  objectives: ObjectiveAttainment[];
  /** Every objective that could be judged is met; undefined when none could (no runs, or no slo). */
  attained?: boolean;
  /** How fast the success-rate error budget burns: 1 spends it exactly over the window. */
  burnRate?: number;
}

export interface TrendPoint {
  /** Start of the hour or day. */
  from: string;
  runs: number;
  successRate?: number;
  p95DurationInMinutes?: number;
}

export interface RouteHealth {
  route: string;
  kind: 'blob' | 'model';
  slo?: { successRate?: number; p95DurationInMinutes?: number; maxFailedFileRatio?: number; window: string };
  /** The window `overWindow` covers (the slo's, else 7d). */
  window: string;
  last24h: PeriodHealth;
  overWindow: PeriodHealth;
  trend: TrendPoint[];
  lastRun?: { runId: string; outcome: string; finishedAt: string; drift?: { psi?: number; ks?: number; detected: boolean } };
  /** Runs the run index shows unfinished past the route's timeout. */
  stuckRuns?: number;
  /** The read stopped at its row limit before the window's start: figures cover the newest runs only. */
  truncated?: boolean;
}

export interface RouteHealthResponse {
  asOf: string;
  routes: RouteHealth[];
}
