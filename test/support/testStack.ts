// The local stack as end-to-end suites start it: free ports, the run's shared Azurite, a fresh state
// folder and a task hub of the suite's own; and an ARM client for the stack's Azure ML emulator.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { AzureMachineLearningWorkspaces } from '@azure/arm-machinelearning';
import type { BlobClient } from '@azure/storage-blob';
import type { DurableClient } from 'durable-functions';
import { startLocalStack, RunningLocalStack, FREE_PORTS, LocalStackOptions } from '../../src/local/stack/localStack';
import { testAzurite, uniqueName } from './azurite';
import { armClientFor as stackArmClientFor } from '../../src/local/stack/stackClients';
import { ManagementUrlBuilder } from '../../src/local/durable/managementUrls';

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
