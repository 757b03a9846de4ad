// The local stack as the main job's end-to-end tests use it: free ports, the run's shared Azurite, a
// task hub of its own, and probes for what a run produced (events on the topic, run records, jobs).
import * as fs from 'node:fs';
import type { DurableClient, DurableOrchestrationStatus } from 'durable-functions';
import { BlobServiceClient, ContainerClient } from '@azure/storage-blob';
import { AzureMachineLearningWorkspaces } from '@azure/arm-machinelearning';
import { RunningLocalStack, EVENTS_TOPIC, INPUT_CONTAINER, LocalStackOptions } from '../../src/local/stack/localStack';
import { ManagementUrlBuilder } from '@batchpilot/local-host';
import { waitUntil } from '@batchpilot/local-platform';
import { armClientFor, hostLogMessages, jobsOfRun, quiesce, readJsonBlob, startTestStack } from './testStack';

const { DurableClient: DurableClientClass } = require('durable-functions/lib/src/durableClient/DurableClient') as { DurableClient: new (data: unknown) => DurableClient };

export interface RunEvent {
  type: string;
  id: string;
  data: { runId: string; route: string; outcome: string; reason?: string; jobName?: string; output?: string; inputs: string[]; validation?: { passed: boolean; summary: string }; jobs?: Array<{ jobName: string; status?: string }> };
}

export class BlobRunStack {
  private constructor(readonly stack: RunningLocalStack, readonly input: ContainerClient, readonly runs: ContainerClient, readonly arm: AzureMachineLearningWorkspaces) {}

  static async start(routesYaml: string, options: Partial<LocalStackOptions> = {}): Promise<BlobRunStack> {
    return BlobRunStack.over(await startTestStack(routesYaml, options));
  }

  /** The same probes over a stack someone else started (e.g. a ModelRunStack's, for tests of both flows). */
  static over(stack: RunningLocalStack): BlobRunStack {
    const data = BlobServiceClient.fromConnectionString(stack.dataConnectionString);
    return new BlobRunStack(stack, data.getContainerClient(INPUT_CONTAINER), data.getContainerClient('runs'), armClientFor(stack));
  }

  async upload(blobPath: string, content: string): Promise<void> {
    await this.input.getBlockBlobClient(blobPath).upload(content, Buffer.byteLength(content));
  }

  /** Posts events to the storage intake's Event Grid webhook, as Event Grid would (Event Grid schema). */
  async deliver(events: unknown[]): Promise<Response> {
    const key = (JSON.parse(fs.readFileSync(this.stack.host!.keysFile, 'utf8')) as { systemKeys: Record<string, string> }).systemKeys.eventgrid_extension;
    return fetch(`${this.stack.hostUrl}/runtime/webhooks/eventgrid?functionName=intakeStorageEvents&code=${encodeURIComponent(key)}`, {
      method: 'POST',
      headers: { 'aeg-event-type': 'Notification', 'content-type': 'application/json' },
      body: JSON.stringify(events),
    });
  }

  runEvents(): RunEvent[] {
    return this.stack.eventGrid.published(EVENTS_TOPIC).map((p) => p.event as unknown as RunEvent);
  }

  /** Events of runs whose inputs include a blob under `pathPart`. */
  eventsFor(pathPart: string): RunEvent[] {
    return this.runEvents().filter((e) => (e.data.inputs ?? []).some((u) => u.includes(pathPart)));
  }

  async waitForRunEvent(pathPart: string, timeoutInMs = 90_000): Promise<RunEvent> {
    return waitUntil(() => this.eventsFor(pathPart)[0], `a run event for ${pathPart}`, timeoutInMs);
  }

  /** Jobs Azure ML holds for a run (every attempt), found by the run's tag. */
  jobsOfRun(runId: string): Promise<string[]> {
    return jobsOfRun(this.stack, runId, this.arm);
  }

  /** Waits until nothing more will happen on the stack (see quiesce in testStack.ts). */
  quiesce(timeoutInMs?: number): Promise<void> {
    return quiesce(this.stack, timeoutInMs);
  }

  async runRecord(route: string, runId: string): Promise<Record<string, unknown> | undefined> {
    return readJsonBlob(this.runs.getBlobClient(`${route}/${runId}.json`));
  }

  /** The unmodified DurableClient on the app's task hub (made for the host running now). */
  durableClient(): DurableClient {
    const keys = JSON.parse(fs.readFileSync(this.stack.host!.keysFile, 'utf8')) as { systemKeys: Record<string, string> };
    const urls = new ManagementUrlBuilder(this.stack.hostUrl, this.stack.appSettings.BATCHPILOT_TASK_HUB, keys.systemKeys.durabletask_extension);
    return new DurableClientClass(urls.clientBinding());
  }

  /** An instance's status (custom status, input, output), or undefined before it exists. */
  async instance(instanceId: string): Promise<DurableOrchestrationStatus | undefined> {
    try {
      return await this.durableClient().getStatus(instanceId, { showInput: true });
    } catch (err) {
      if (/404/.test((err as Error).message)) return undefined;
      throw err;
    }
  }

  /** The run (scoreBlobRun instance) whose inputs include a blob under `pathPart`. */
  async findRun(pathPart: string): Promise<DurableOrchestrationStatus | undefined> {
    const all = await this.durableClient().getStatusBy({});
    return all.find((r) => r.name === 'scoreBlobRun' && ((r.input as { files?: Array<{ url: string }> } | undefined)?.files ?? []).some((f) => f.url.includes(pathPart)));
  }

  hostLogMessages(): string[] {
    return hostLogMessages(this.stack);
  }

  async stop(): Promise<void> {
    await this.stack.stop();
  }
}
