// What the soak reads back at the end, from the systems themselves rather than from the app's own
// account of itself: the durable instances on the task hub (the runs and their inputs), the run records
// in the runs container, the outcome events a subscriber of the topic received, every job Azure ML
// holds (through its ARM API), and every event Event Grid dead-lettered or dropped.
import { BlobServiceClient } from '@azure/storage-blob';
import type { AzureMachineLearningWorkspaces } from '@azure/arm-machinelearning';
import type { RunningLocalStack } from '../../src/local/stack/localStack';
import { DEAD_LETTER_CONTAINER } from '../../src/local/stack/localStack';
import { DurableInstance, listDurableInstances } from '../../src/local/stack/stackClients';
import type { WebhookReceiver } from '@batchpilot/eventgrid-emulator';

export interface ObservedRun {
  runId: string;
  kind: 'blob' | 'model';
  runtimeStatus: string;
  route: string;
  /** Blob runs: the files the run scored (path in the container, ETag without quotes). */
  files: Array<{ blobPath: string; eTag: string }>;
  /** Model runs: the model version. */
  model?: { name: string; version: string };
  /** The run's sub-orchestrations (its job waits), as the task hub has them. */
  children?: Array<{ instanceId: string; runtimeStatus: string; lastUpdatedTime?: string }>;
  lastUpdatedTime?: string;
  /** Window and marker runs: which batch of which partition, and the marker that closed it. */
  batch?: { number?: number; partition?: string; markerUrl?: string };
  /** The orchestration's result, when it finished. */
  output?: { outcome?: string; eventType?: string };
  customStatus?: unknown;
}

export interface ObservedRecord {
  runId: string;
  route: string;
  outcome?: string;
  eventType?: string;
  reason?: string;
  /** Job names per attempt, as the record lists them (blob runs: one list; model runs: both sides). */
  jobs: Array<{ tag: string; attempt: number; jobName: string }>;
  decision?: { approved?: boolean; by?: string; via?: string };
  comparison?: { passed?: boolean };
}

export interface ObservedEvent {
  id: string;
  type: string;
  runId?: string;
  /** How many times a subscriber received it (at-least-once delivery repeats it). */
  deliveries: number;
}

export interface ObservedJob {
  name: string;
  status: string;
  runTag?: string;
  attempt?: number;
  faultPlan?: string;
  statusHistory: string[];
}

export interface DeadLetteredEvent {
  subscription: string;
  eventIds: string[];
  outcome: string;
  reason?: string;
}

export interface Observations {
  runs: ObservedRun[];
  /** Other orchestrations (job waits, coalescers) that ended Failed or Terminated. */
  brokenOrchestrations: Array<{ instanceId: string; name: string; runtimeStatus: string }>;
  records: ObservedRecord[];
  events: ObservedEvent[];
  /** Outcome events the topic accepted (publishes, with repeats). */
  eventsPublished: number;
  jobs: ObservedJob[];
  deadLettered: DeadLetteredEvent[];
  deadLetterBlobs: number;
}

export const OUTCOME_EVENT = /\.(Run\.(Completed|Failed|ValidationFailed)|Model\.(Promoted|Rejected|Failed))$/;

function stripQuotes(eTag: unknown): string {
  return String(eTag ?? '').replace(/^"|"$/g, '');
}

export function runOf(instance: DurableInstance): ObservedRun | undefined {
  if (instance.name !== 'scoreBlobRun' && instance.name !== 'promoteModel') return undefined;
  const input = (instance.input ?? {}) as {
    route?: { name?: string };
    files?: Array<{ blobPath?: string; eTag?: string }>;
    model?: { name: string; version: string };
    trigger?: { batchNumber?: number; partition?: string; markerUrl?: string };
  };
  const output = (instance.output ?? undefined) as ObservedRun['output'] | null;
  return {
    runId: instance.instanceId,
    kind: instance.name === 'scoreBlobRun' ? 'blob' : 'model',
    runtimeStatus: instance.runtimeStatus,
    route: input.route?.name ?? '',
    files: (input.files ?? []).map((f) => ({ blobPath: String(f.blobPath ?? ''), eTag: stripQuotes(f.eTag) })),
    model: input.model ? { name: input.model.name, version: String(input.model.version) } : undefined,
    batch: input.trigger?.batchNumber !== undefined ? { number: input.trigger.batchNumber, partition: input.trigger.partition, markerUrl: input.trigger.markerUrl } : undefined,
    output: output ?? undefined,
    customStatus: instance.customStatus,
    lastUpdatedTime: instance.lastUpdatedTime,
  };
}

function recordOf(runId: string, route: string, body: Record<string, unknown>): ObservedRecord {
  const jobs: ObservedRecord['jobs'] = [];
  if (Array.isArray(body.jobs)) {
    for (const j of body.jobs as Array<{ attempt?: number; jobName?: string }>) if (j.jobName) jobs.push({ tag: runId, attempt: Number(j.attempt ?? 1), jobName: j.jobName });
  } else if (body.jobs && typeof body.jobs === 'object') {
    for (const side of ['candidate', 'baseline'] as const) {
      const s = (body.jobs as Record<string, { attempts?: Array<{ attempt?: number; jobName?: string }> } | undefined>)[side];
      for (const a of s?.attempts ?? []) if (a.jobName) jobs.push({ tag: `${runId}:${side}`, attempt: Number(a.attempt ?? 1), jobName: a.jobName });
    }
  }
  return {
    runId,
    route,
    outcome: typeof body.outcome === 'string' ? body.outcome : undefined,
    eventType: typeof body.eventType === 'string' ? body.eventType : undefined,
    reason: typeof body.reason === 'string' ? body.reason : undefined,
    jobs,
    decision: body.decision as ObservedRecord['decision'],
    comparison: body.comparison as ObservedRecord['comparison'],
  };
}

export async function readRunRecords(stack: RunningLocalStack, routes: string[]): Promise<ObservedRecord[]> {
  const runs = BlobServiceClient.fromConnectionString(stack.dataConnectionString).getContainerClient(stack.appSettings.BATCHPILOT_RUNS_CONTAINER ?? 'runs');
  const records: ObservedRecord[] = [];
  for (const route of routes) {
    const names: string[] = [];
    for await (const blob of runs.listBlobsFlat({ prefix: `${route}/` })) if (blob.name.endsWith('.json')) names.push(blob.name);
    await Promise.all(
      names.map(async (name) => {
        const body = JSON.parse((await runs.getBlobClient(name).downloadToBuffer()).toString('utf8')) as Record<string, unknown>;
        const runId = typeof body.runId === 'string' ? body.runId : name.slice(route.length + 1, -'.json'.length);
        records.push(recordOf(runId, route, body));
      }),
    );
  }
  return records;
}

/** Outcome events a subscriber received, one entry per event ID. */
export function receivedOutcomeEvents(receiver: WebhookReceiver): ObservedEvent[] {
  const byId = new Map<string, ObservedEvent>();
  for (const e of receiver.events<{ id: string; type: string; data?: { runId?: string } }>()) {
    if (!OUTCOME_EVENT.test(e.type)) continue;
    const seen = byId.get(e.id);
    if (seen) seen.deliveries += 1;
    else byId.set(e.id, { id: e.id, type: e.type, runId: e.data?.runId, deliveries: 1 });
  }
  return [...byId.values()];
}

export async function listJobs(stack: RunningLocalStack, arm: AzureMachineLearningWorkspaces): Promise<ObservedJob[]> {
  const jobs: ObservedJob[] = [];
  for await (const job of arm.jobs.list(stack.azureMl.resourceGroup, stack.azureMl.workspaceName)) {
    const tags = (job.properties.tags ?? {}) as Record<string, string>;
    const report = stack.azureMl.jobReport(job.name ?? '');
    jobs.push({
      name: job.name ?? '',
      status: String(job.properties.status ?? report?.status ?? 'Unknown'),
      runTag: tags['batchpilot-run-id'],
      attempt: tags['batchpilot-attempt'] ? Number(tags['batchpilot-attempt']) : undefined,
      faultPlan: report?.faultPlan,
      statusHistory: report?.statusHistory.map((h) => h.status) ?? [],
    });
  }
  return jobs;
}

export function deadLetteredEvents(stack: RunningLocalStack): DeadLetteredEvent[] {
  const found: DeadLetteredEvent[] = [];
  const subjects = new Map<string, string>();
  for (const topic of stack.eventGrid.topics()) {
    for (const p of stack.eventGrid.published(topic.name)) {
      const e = p.event as { id?: string; subject?: string; eventType?: string; type?: string };
      if (e.id) subjects.set(e.id, `${e.eventType ?? e.type ?? 'event'} ${e.subject ?? ''}`.trim());
    }
  }
  for (const s of stack.eventGrid.subscriptions()) {
    const log = stack.eventGrid.deliveries(s.name);
    for (const d of log) {
      if (d.outcome !== 'DeadLettered' && d.outcome !== 'Dropped') continue;
      // What the endpoint answered on the way there: the evidence to start from.
      const attempts = log.filter((a) => a.outcome === 'Failed' && a.eventIds.some((id) => d.eventIds.includes(id)));
      const answers = [...new Set(attempts.map((a) => (a.httpStatus ? `HTTP ${a.httpStatus}` : (a.error ?? 'no answer').slice(0, 80))))];
      found.push({
        subscription: s.name,
        eventIds: d.eventIds,
        outcome: d.outcome,
        reason: `${d.deadLetterReason ?? d.error ?? 'no reason'}; ${d.eventIds.map((id) => subjects.get(id) ?? id).join(', ')}; ${attempts.length} failed attempts (${answers.join(', ') || 'none'}), the last at ${attempts.at(-1)?.at ?? 'n/a'}`,
      });
    }
  }
  return found;
}

export async function countDeadLetterBlobs(stack: RunningLocalStack): Promise<number> {
  const container = BlobServiceClient.fromConnectionString(stack.dataConnectionString).getContainerClient(DEAD_LETTER_CONTAINER);
  let count = 0;
  for await (const _blob of container.listBlobsFlat()) count += 1;
  return count;
}

export async function observe(stack: RunningLocalStack, arm: AzureMachineLearningWorkspaces, receiver: WebhookReceiver, routes: string[], topic: string): Promise<Observations> {
  const instances = await listDurableInstances(stack, { showInput: true });
  const runs = instances.map(runOf).filter((r): r is ObservedRun => r !== undefined);
  for (const run of runs) {
    run.children = instances.filter((i) => i.instanceId.startsWith(`${run.runId}:`)).map((i) => ({ instanceId: i.instanceId, runtimeStatus: i.runtimeStatus, lastUpdatedTime: i.lastUpdatedTime }));
  }
  const brokenOrchestrations = instances
    .filter((i) => i.name !== 'scoreBlobRun' && i.name !== 'promoteModel' && ['Failed', 'Terminated'].includes(i.runtimeStatus))
    .map((i) => ({ instanceId: i.instanceId, name: i.name, runtimeStatus: i.runtimeStatus }));
  return {
    runs,
    brokenOrchestrations,
    records: await readRunRecords(stack, routes),
    events: receivedOutcomeEvents(receiver),
    eventsPublished: stack.eventGrid.published(topic).filter((p) => OUTCOME_EVENT.test(String((p.event as { type?: string }).type ?? ''))).length,
    jobs: await listJobs(stack, arm),
    deadLettered: deadLetteredEvents(stack),
    deadLetterBlobs: await countDeadLetterBlobs(stack),
  };
}
