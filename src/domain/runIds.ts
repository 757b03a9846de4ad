// The run-ID conventions, in one place: the shape of each kind of run ID, the sub-run instance IDs
// derived from a run (`<runId>:job`, `<runId>:scoring`, `<runId>:candidate`), the rerun suffix, and the
// tags that carry a run on Azure ML jobs and deployments. Pure and deterministic, so orchestrations, intake, activities
// and the operator API share it. The format check is a security boundary: a job's tags can be set by
// anyone who can tag a job in the workspace, so a tag names a run only if it has exactly this shape.

/** Prefixes of the instance IDs batchpilot derives (src/events/instanceIds.ts, src/model/modelRunIds.ts). */
export const RUN_ID_PREFIX = { blob: 'bp-', model: 'bpm-', rollback: 'bpr-', coalescer: 'bpc-' } as const;

/** Tags batchpilot writes on what it creates in Azure ML: jobs carry runId and attempt, candidate deployments runId, model and baseline. */
export const RUN_TAG = {
  runId: 'batchpilot-run-id',
  attempt: 'batchpilot-attempt',
  model: 'batchpilot-model',
  baseline: 'batchpilot-baseline',
} as const;

/** Separates a run ID from the part of the run a sub-run instance does. */
const SUB_RUN_SEPARATOR = ':';
const JOB_PART = 'job';
const SIDE_BY_SIDE_PART = 'scoring';
export const SCORING_SIDES = ['candidate', 'baseline'] as const;
export type ScoringSide = (typeof SCORING_SIDES)[number];

/** Longest run ID any builder makes (bpm- 60 + -v 20 + digest + rerun suffix), with room to spare. */
export const MAX_RUN_ID_LENGTH = 160;
const MAX_JOB_RUN_ID_LENGTH = MAX_RUN_ID_LENGTH + ':candidate'.length;
/** How often one run can be rerun. */
export const MAX_RERUNS = 200;
const MAX_ATTEMPTS = 1000;

// Shapes, built from what the builders emit: route names are checked by the routes schema
// (src/config/routes.ts); model names, versions and endpoints are made readable by modelRunIds.ts.
const ROUTE = '[a-z][a-z0-9-]{1,38}[a-z0-9]';
const READABLE = '[A-Za-z0-9_.-]';
const BLOB_RUN = `bp-${ROUTE}-[0-9a-f]{24}(?:-b[0-9]{1,9}|-op)?`;
const MODEL_RUN = `bpm-${READABLE}{1,60}-v${READABLE}{1,20}-[0-9a-f]{12}`;
const ROLLBACK_RUN = `bpr-[a-z0-9_.-]{1,40}-[0-9a-f]{12}`;
const RERUN = '(?:-r[1-9][0-9]{0,2})?';
const RUN_ID = new RegExp(`^(?:${BLOB_RUN}|${MODEL_RUN}|${ROLLBACK_RUN})${RERUN}$`);
// The run a runBatchJob instance works for: a blob run, or one side of a model run.
const JOB_RUN_ID = new RegExp(`^(?:${BLOB_RUN}${RERUN}|${MODEL_RUN}${RERUN}${SUB_RUN_SEPARATOR}(?:${SCORING_SIDES.join('|')}))$`);
const ATTEMPT = /^[1-9][0-9]{0,3}$/;

/** Whether `text` is a run ID batchpilot could have made (blob, model or rollback run, or a rerun of one). */
export function isRunId(text: unknown): text is string {
  return typeof text === 'string' && text.length <= MAX_RUN_ID_LENGTH && RUN_ID.test(text);
}

/** Whether `text` is the run ID a batch job is submitted for: a blob run, or a model run's scoring side. */
export function isJobRunId(text: unknown): text is string {
  return typeof text === 'string' && text.length <= MAX_JOB_RUN_ID_LENGTH && JOB_RUN_ID.test(text);
}

/** The runBatchJob instance that submits and waits for the jobs of `runId`. */
export function jobInstanceId(runId: string): string {
  return `${runId}${SUB_RUN_SEPARATOR}${JOB_PART}`;
}

/** The run whose job instance `instanceId` is, or undefined when it is not a job instance. */
export function runIdOfJobInstance(instanceId: string): string | undefined {
  const suffix = `${SUB_RUN_SEPARATOR}${JOB_PART}`;
  return instanceId.endsWith(suffix) && instanceId.length > suffix.length ? instanceId.slice(0, -suffix.length) : undefined;
}

/** The instance that scores both sides of a model run (scoreSideBySide). */
export function sideBySideInstanceId(runId: string): string {
  return `${runId}${SUB_RUN_SEPARATOR}${SIDE_BY_SIDE_PART}`;
}

/** The run ID one side of a model run scores under (its jobs' tag, and its job instance's prefix). */
export function scoringRunId(runId: string, side: ScoringSide): string {
  return `${runId}${SUB_RUN_SEPARATOR}${side}`;
}

/** Whether an instance ID names a part of a run (a job instance, a scoring side) rather than a run. */
export function isSubRunInstanceId(instanceId: string): boolean {
  return instanceId.includes(SUB_RUN_SEPARATOR);
}

/** The tags that mark a job as submitted for one attempt of a run. */
export function jobTags(runId: string, attempt: number): Record<string, string> {
  return { [RUN_TAG.runId]: runId, [RUN_TAG.attempt]: String(attempt) };
}

/** The attempt number in a job's attempt tag, or undefined when the tag is not a plain positive number. */
export function parseAttemptTag(value: unknown): number | undefined {
  if (typeof value !== 'string' || !ATTEMPT.test(value)) return undefined;
  const attempt = Number(value);
  return attempt <= MAX_ATTEMPTS ? attempt : undefined;
}

/** The n-th rerun of a run; reruns of a rerun count on from the first run. */
export function rerunId(runId: string, n: number): string {
  if (!Number.isInteger(n) || n < 1 || n > MAX_RERUNS) throw new RangeError(`A run can be rerun ${MAX_RERUNS} times; rerun number ${n} is out of range.`);
  return `${rerunBaseOf(runId)}-r${n}`;
}

/** The run a rerun repeats (the run itself when it is not a rerun). */
export function rerunBaseOf(runId: string): string {
  return runId.replace(/-r[1-9][0-9]{0,2}$/, '');
}
