// The local stack as end-to-end suites start it: free ports, the run's shared Azurite, a fresh state
// folder and a task hub of the suite's own; an ARM client for the stack's Azure ML emulator; the jobs of
// a run; and quiesce(), which waits until nothing more will happen, so tests never sleep.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { AzureMachineLearningWorkspaces } from '@azure/arm-machinelearning';
import type { BlobClient } from '@azure/storage-blob';
import type { DurableClient } from 'durable-functions';
import { startLocalStack, RunningLocalStack, FREE_PORTS, LocalStackOptions } from '../../src/local/stack/localStack';
import { testAzurite, uniqueName } from '@batchpilot/local-platform';
import { acceptedRunsWaiting, armClientFor as stackArmClientFor } from '../../src/local/stack/stackClients';

export { acceptedRunsWaiting };
import { ManagementUrlBuilder } from '@batchpilot/local-host';
import { RUN_TAG } from '../../src/domain/runIds';

// The library's own client class (the one df.getClient builds), constructed from binding data.
const { DurableClient: DurableClientClass } = require('durable-functions/lib/src/durableClient/DurableClient') as { DurableClient: new (data: unknown) => DurableClient };

export async function startTestStack(routesYaml: string, options: Partial<LocalStackOptions> = {}): Promise<RunningLocalStack> {
  return startLocalStack({
    ports: FREE_PORTS,
    azurite: testAzurite(),
    stateDir: fs.mkdtempSync(path.join(os.tmpdir(), 'batchpilot-stack-')),
    routesYaml,
    taskHub: uniqueName('hub'),
    persistAzurite: false,
    ...options,
    // The audit trail is one hash chain per container: suites running side by side keep their own.
    settings: { BATCHPILOT_AUDIT_CONTAINER: uniqueName('audit'), ...options.settings },
  });
}

export function armClientFor(stack: RunningLocalStack): AzureMachineLearningWorkspaces {
  return stackArmClientFor(stack);
}

/** The messages of the stack's host log lines (JSON lines parsed; anything else as it is). */
export function hostLogMessages(stack: RunningLocalStack): string[] {
  return (stack.host?.logs ?? []).map((l) => {
    try {
      return String((JSON.parse(l) as { message?: unknown }).message ?? l);
    } catch {
      return l;
    }
  });
}

/**
 * A JSON blob read in one GET, or undefined when it does not exist. Run records are rewritten once
 * their event is out; a read in two steps (size, then ranges) can mix the two versions.
 */
export async function readJsonBlob(blob: BlobClient): Promise<Record<string, unknown> | undefined> {
  let response;
  try {
    response = await blob.download();
  } catch (err) {
    if ((err as { statusCode?: number }).statusCode === 404) return undefined;
    throw err;
  }
  const chunks: Buffer[] = [];
  for await (const chunk of response.readableStreamBody as AsyncIterable<Buffer>) chunks.push(chunk);
  return JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
}

/** The unmodified DurableClient on the stack's task hub, with the binding data the host gives the app. */
export function durableClientFor(stack: RunningLocalStack): DurableClient {
  const keys = JSON.parse(fs.readFileSync(stack.host!.keysFile, 'utf8')) as { systemKeys: Record<string, string> };
  const urls = new ManagementUrlBuilder(stack.hostUrl, stack.appSettings.BATCHPILOT_TASK_HUB, keys.systemKeys.durabletask_extension);
  return new DurableClientClass(urls.clientBinding());
}

/** Delivers one event to an Event Grid triggered function of the stack's app, as Event Grid would (either schema). */
export async function deliverEvent(stack: RunningLocalStack, functionName: string, event: Record<string, unknown>): Promise<number> {
  const keys = JSON.parse(fs.readFileSync(stack.host!.keysFile, 'utf8')) as { systemKeys: Record<string, string> };
  const cloud = 'specversion' in event;
  const res = await fetch(`${stack.hostUrl}/runtime/webhooks/eventgrid?functionName=${encodeURIComponent(functionName)}&code=${encodeURIComponent(keys.systemKeys.eventgrid_extension)}`, {
    method: 'POST',
    headers: { 'aeg-event-type': 'Notification', 'content-type': cloud ? 'application/cloudevents+json; charset=utf-8' : 'application/json' },
    body: JSON.stringify(cloud ? event : [event]),
  });
  return res.status;
}

/**
 * Jobs Azure ML holds for a run, found by the run's tag: every attempt, and both sides of a model run
 * (tagged `<runId>:candidate` and `<runId>:baseline`).
 */
export async function jobsOfRun(stack: RunningLocalStack, runId: string, arm: AzureMachineLearningWorkspaces = armClientFor(stack)): Promise<string[]> {
  const names: string[] = [];
  for await (const job of arm.jobs.list(stack.azureMl.resourceGroup, stack.azureMl.workspaceName, { tag: RUN_TAG.runId })) {
    const tag = (job.properties.tags as Record<string, string> | undefined)?.[RUN_TAG.runId] ?? '';
    if (tag === runId || tag.startsWith(`${runId}:`)) names.push(job.name ?? '');
  }
  return names;
}

/** Whether the host's durable engine has nothing running or queued (timers set for later do not count). */
async function durableIdle(stack: RunningLocalStack): Promise<boolean> {
  const keys = JSON.parse(fs.readFileSync(stack.host!.keysFile, 'utf8')) as { masterKey: string };
  const res = await fetch(`${stack.hostUrl}/admin/durable/idle`, { headers: { 'x-functions-key': keys.masterKey } });
  if (res.status !== 200) throw new Error(`The host's /admin/durable/idle answered ${res.status}: ${await res.text()}`);
  return ((await res.json()) as { idle: boolean }).idle;
}

/** Resolves true when `promise` settles within `timeoutInMs`, false otherwise. */
async function within(promise: Promise<unknown>, timeoutInMs: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), timeoutInMs)));
  try {
    return await Promise.race([promise.then(() => true), timedOut]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Waits until nothing more will happen on the stack unless a timer fires or someone acts: Event Grid
 * has no delivery, retry or storage event in flight, Azure ML has no job running (and has handed its
 * events to the topic), the host's durable engine has nothing running or queued, and no accepted run
 * waits for the run-start timer. Tests call it before asserting that something did NOT happen (no
 * second job, no second event), instead of sleeping. All must be quiet on two checks in a row: each
 * part hands work to the next (a finished job's event goes to Event Grid, which delivers it to the
 * host, which wakes an instance).
 */
export async function quiesce(stack: RunningLocalStack, timeoutInMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutInMs;
  let quietChecks = 0;
  let last = '';
  while (quietChecks < 2) {
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutInMs} ms waiting for the stack to quiesce; last check: ${last}.`);
    const eventGridIdle = await within(stack.eventGrid.idle(), 250);
    const activeJobs = await stack.azureMl.activeJobs();
    const engineIdle = await durableIdle(stack);
    const accepted = await acceptedRunsWaiting(stack);
    last = `Event Grid ${eventGridIdle ? 'idle' : 'busy'}, Azure ML jobs running: ${activeJobs.join(', ') || 'none'}, durable engine ${engineIdle ? 'idle' : 'busy'}, accepted runs not started: ${accepted}`;
    const quiet = eventGridIdle && activeJobs.length === 0 && engineIdle && accepted === 0;
    quietChecks = quiet ? quietChecks + 1 : 0;
    if (!quiet) await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
