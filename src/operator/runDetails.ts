// One run, everything an operator needs to understand it: its status and custom status, input and
// output, the history as steps (with each sub-run's own steps), the Azure ML jobs with their current
// status and Studio links, where the outputs are, the validation and comparison reports, the events it
// emitted, its run record and the operator actions taken on it.
import type { DurableClient } from 'durable-functions';
import type { BlobClient } from '@azure/storage-blob';
import type { AuditRecord, EmittedEvent, RunDetail, RunJob, RunOutputLocation, RunReport, RunStep } from './operatorApiTypes';
import { OperatorError } from './operatorHttp';
import { InstanceStatus, readInstance } from './runInstances';
import { isAwaitingApproval, summariseRun } from './runSummaries';
import { failingStep, summariseHistory } from './historySteps';
import { auditLog } from './auditLog';
import { ACTIVITY } from '../activities/contracts';
import { appSettings } from '../config/runtimeConfig';
import { workspaceClient } from '../azure/workspaceClient';
import { accountNameOf, blobServiceFor } from '../azure/storageClients';
import { RUN_BATCH_JOB } from '../orchestrations/runBatchJob';
import { jobInstanceId } from '../domain/runIds';

type Json = Record<string, unknown>;

function obj(v: unknown): Json | undefined {
  return v && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : undefined;
}
function str(v: unknown): string | undefined {
  return typeof v === 'string' && v ? v : undefined;
}

const MAX_REPORT_BYTES = 512 * 1024;

/** Reads `<container>/<blob>` from the data account as JSON (small documents only: reports, records). */
export async function readJsonDocument(location: string): Promise<{ content?: unknown; readError?: string }> {
  const slash = location.indexOf('/');
  if (slash <= 0) return { readError: `'${location}' is not <container>/<blob>.` };
  return readJsonBlob(blobServiceFor(appSettings().dataStorage).getContainerClient(location.slice(0, slash)).getBlobClient(location.slice(slash + 1)));
}

/**
 * One GET: run records are rewritten once their event is out, and a read made of several requests
 * (size, then ranges) could join the start of the new version to the length of the old one.
 */
export async function readJsonBlob(blob: BlobClient): Promise<{ content?: unknown; readError?: string }> {
  try {
    const response = await blob.download();
    const body = response.readableStreamBody;
    if ((response.contentLength ?? 0) > MAX_REPORT_BYTES) {
      (body as { destroy?: () => void } | undefined)?.destroy?.();
      return { readError: `The document is ${response.contentLength} bytes; open it from storage.` };
    }
    const chunks: Buffer[] = [];
    for await (const chunk of (body ?? []) as AsyncIterable<Buffer>) chunks.push(chunk);
    return { content: JSON.parse(Buffer.concat(chunks).toString('utf8')) };
  } catch (err) {
    const status = (err as { statusCode?: number }).statusCode;
    return { readError: status === 404 ? 'The document does not exist (yet).' : `Could not read it: ${(err as Error).message}` };
  }
}

/** How deep sub-runs nest: a run, its scoring step, that step's jobs. */
export const MAX_SUB_RUN_DEPTH = 3;

/** Sub-run instance IDs from a run's steps, plus the job instance of blob runs. */
export function subRunIdsOf(run: InstanceStatus, steps: readonly RunStep[]): string[] {
  const ids = steps.filter((s) => s.kind === 'subRun' && s.instanceId).map((s) => s.instanceId!);
  if (ids.length === 0 && steps.some((s) => s.kind === 'subRun' && s.name === RUN_BATCH_JOB)) ids.push(jobInstanceId(run.instanceId));
  return [...new Set(ids)];
}

interface JobOfRun {
  jobName: string;
  waitedBy: string;
  attempt?: number;
  status?: string;
  output?: { uri: string; datastore?: string; path?: string };
  workspaceId?: string;
}

/** The jobs a job sub-run knows: every attempt from its result, or the current one from its status. */
export function jobsOfSubRun(child: InstanceStatus, fallbackWorkspaceId: string | undefined): JobOfRun[] {
  const input = obj(child.input);
  const workspaceId = str(input?.workspaceId) ?? fallbackWorkspaceId;
  const attempts = Array.isArray(obj(child.output)?.attempts) ? (obj(child.output)!.attempts as unknown[]).map(obj) : Array.isArray(obj(input?.progress)?.attempts) ? (obj(input!.progress)!.attempts as unknown[]).map(obj) : [];
  const jobs: JobOfRun[] = attempts
    .filter((a): a is Json => !!a && !!str(a.jobName))
    .map((a) => ({ jobName: str(a.jobName)!, waitedBy: child.instanceId, attempt: typeof a.attempt === 'number' ? a.attempt : undefined, status: str(a.status), output: obj(a.output) as JobOfRun['output'], workspaceId }));
  const cs = obj(child.customStatus);
  const current = str(cs?.jobName);
  if (current && !jobs.some((j) => j.jobName === current)) jobs.push({ jobName: current, waitedBy: child.instanceId, attempt: typeof cs?.attempt === 'number' ? cs.attempt : undefined, status: str(cs?.jobStatus), workspaceId });
  else if (current) {
    const j = jobs.find((x) => x.jobName === current)!;
    j.status = str(cs?.jobStatus) ?? j.status;
  }
  return jobs;
}

function parseOutputUri(uri: string): { datastore?: string; path?: string } {
  const m = /^azureml:\/\/datastores\/([^/]+)\/paths\/(.*?)\/?$/.exec(uri);
  return m ? { datastore: m[1], path: m[2] } : {};
}

async function locateOutput(uri: string, workspaceId: string | undefined): Promise<RunOutputLocation> {
  const { datastore, path } = parseOutputUri(uri);
  const location: RunOutputLocation = { uri, datastore, path };
  if (!datastore || path === undefined || !workspaceId) return location;
  try {
    const ds = await workspaceClient(workspaceId).getBlobDatastore(datastore);
    const settings = appSettings();
    if (ds.accountName === accountNameOf(settings.dataStorage)) location.blobUrl = `${blobServiceFor(settings.dataStorage).getContainerClient(ds.containerName).url}/${path}/`;
  } catch {
    // The azureml:// URI still says where the outputs are.
  }
  return location;
}

async function describeJob(job: JobOfRun): Promise<RunJob> {
  const out: RunJob = { jobName: job.jobName, waitedBy: job.waitedBy, attempt: job.attempt, status: job.status };
  if (job.output?.uri) out.output = { uri: job.output.uri, datastore: job.output.datastore, path: job.output.path };
  if (!job.workspaceId) return out;
  try {
    const live = await workspaceClient(job.workspaceId).getJob(job.jobName);
    Object.assign(out, { status: live.status, studioUrl: live.studioUrl, startTime: live.startTime, endTime: live.endTime, error: live.error });
  } catch (err) {
    out.lookupError = `Azure ML did not answer for job ${job.jobName}: ${(err as Error).message}`;
  }
  if (out.output) out.output = await locateOutput(out.output.uri, job.workspaceId);
  return out;
}

function reportsOf(output: Json | undefined): Array<{ name: string; passed?: boolean; summary?: string; location?: string }> {
  if (!output) return [];
  const found: Array<{ name: string; passed?: boolean; summary?: string; location?: string }> = [];
  for (const [name, value] of Object.entries(output)) {
    const v = obj(value);
    if (!v) continue;
    const location = str(v.reportBlob) ?? str(v.report);
    if (!location && typeof v.passed !== 'boolean') continue;
    if (typeof v.passed !== 'boolean' && !/report|validation|comparison/i.test(name)) continue;
    found.push({ name, passed: typeof v.passed === 'boolean' ? v.passed : undefined, summary: str(v.summary), location });
  }
  return found;
}

/** Reports in the output; while a run waits (e.g. at its approval gate) its custom status holds them. */
function allReports(output: Json | undefined, customStatus: Json | undefined): ReturnType<typeof reportsOf> {
  const found = reportsOf(output);
  const names = new Set(found.map((r) => r.name));
  return [...found, ...reportsOf(customStatus).filter((r) => !names.has(r.name))];
}

/** Events the run announced: its announceRun steps that completed (IDs as announceRun makes them). */
function emittedEvents(history: readonly unknown[]): EmittedEvent[] {
  const events: EmittedEvent[] = [];
  for (const raw of history) {
    const e = obj(raw);
    if (!e || e.EventType !== 'TaskCompleted' || e.FunctionName !== ACTIVITY.announceRun) continue;
    const input = obj(e.Input);
    const result = obj(e.Result);
    if (!input || result?.ok === false) continue;
    const type = str(input.type);
    if (!type) continue;
    events.push({ id: str(obj(result?.value)?.id) ?? `${str(input.runId)}:${type}`, type, subject: str(input.subject), at: str(e.Timestamp) });
  }
  return events;
}

function notARun(instance: InstanceStatus): OperatorError {
  const colon = instance.instanceId.indexOf(':');
  if (colon > 0) {
    return new OperatorError(404, 'NotARun', `'${instance.instanceId}' is a sub-run (${instance.name}) of run '${instance.instanceId.slice(0, colon)}'; open that run to see it.`);
  }
  return new OperatorError(404, 'NotARun', `'${instance.instanceId}' is a Durable instance of ${instance.name || 'an unknown orchestration'}, not a batchpilot run.`);
}

export function runNotFound(runId: string): OperatorError {
  return new OperatorError(404, 'RunNotFound', `No run with ID '${runId}' (it may have been purged). List runs with GET /api/ops/runs.`);
}

export async function getRunDetail(client: DurableClient, runId: string): Promise<RunDetail> {
  const run = await readInstance(client, runId, { history: true });
  if (!run) throw runNotFound(runId);
  const summary = summariseRun(run);
  if (!summary) throw notARun(run);
  const input = obj(run.input);
  const output = obj(run.output);
  const history = run.history ?? [];
  const steps = summariseHistory(history);
  const workspaceId = str(input?.workspaceId) ?? appSettings().workspaceId;

  const jobs: JobOfRun[] = [];
  // Sub-runs start sub-runs of their own (a model run's scoring step runs one job per side): read them all.
  const readSubRuns = async (parent: InstanceStatus, parentSteps: RunStep[], depth: number): Promise<void> => {
    await Promise.all(
      subRunIdsOf(parent, parentSteps).map(async (id) => {
        const child = await readInstance(client, id, { history: true });
        if (!child) return;
        const childSteps = summariseHistory(child.history ?? []);
        const step = parentSteps.find((s) => s.instanceId === id) ?? parentSteps.find((s) => s.kind === 'subRun' && !s.instanceId && s.name === child.name);
        if (step) {
          step.instanceId = id;
          // Which part of the run this sub-run is (job, scoring, candidate:job, baseline:job...).
          step.detail = id.startsWith(`${runId}:`) ? id.slice(runId.length + 1) : id;
          step.children = childSteps;
        }
        jobs.push(...jobsOfSubRun(child, workspaceId));
        if (depth < MAX_SUB_RUN_DEPTH) await readSubRuns(child, childSteps, depth + 1);
      }),
    );
  };
  await readSubRuns(run, steps, 1);

  const failing = failingStep(steps);
  const deepest = failing?.children ? failingStep(failing.children) : undefined;
  const outputUri = str(output?.output) ?? jobs.find((j) => j.output?.uri)?.output?.uri;
  const recordRef = obj(output?.record);
  const recordLocation = recordRef && str(recordRef.container) && str(recordRef.blobName) ? `${recordRef.container}/${recordRef.blobName}` : summary.route && summary.status !== 'Running' ? `${appSettings().runsContainer}/${summary.route}/${runId}.json` : undefined;

  const [describedJobs, outputLocation, reports, runRecord, audit] = await Promise.all([
    Promise.all(jobs.map(describeJob)),
    outputUri ? locateOutput(outputUri, workspaceId) : Promise.resolve(undefined),
    Promise.all(allReports(output, obj(run.customStatus)).map(async (r): Promise<RunReport> => ({ ...r, ...(r.location ? await readJsonDocument(r.location) : {}) }))),
    recordLocation ? readJsonDocument(recordLocation).then((d) => ({ location: recordLocation, content: d.content })) : Promise.resolve(undefined),
    auditLog().listForRun(runId).catch((): AuditRecord[] => []),
  ]);

  return {
    summary,
    customStatus: run.customStatus,
    input: run.input,
    output: run.output,
    steps,
    failedStep: failing?.failure ? { name: deepest?.failure && deepest.failure !== failing.failure ? `${failing.name} › ${deepest.name}` : failing.name, failure: failing.failure } : undefined,
    jobs: describedJobs.sort((a, b) => (a.attempt ?? 0) - (b.attempt ?? 0)),
    outputLocation,
    reports,
    events: emittedEvents(history),
    runRecord: runRecord?.content !== undefined ? runRecord : undefined,
    approval: { awaiting: isAwaitingApproval(run.customStatus), detail: isAwaitingApproval(run.customStatus) ? run.customStatus : undefined },
    audit,
    reruns: audit.filter((a) => a.action === 'rerun' && a.runId === runId && a.outcome === 'succeeded' && str(a.result?.newRunId)).map((a) => String(a.result!.newRunId)),
  };
}
