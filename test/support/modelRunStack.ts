// The local stack as the model flow's end-to-end tests use it: free ports, the run's shared Azurite, a
// task hub of its own, batch endpoints made for a test (a baseline deployment serving the sample churn
// model, made the default), model versions registered through the real ARM client (so the emulator
// publishes ModelRegistered to the app), the unmodified DurableClient on the app's task hub, and probes
// for what a run produced: events on the topic, run records, comparison reports, endpoint defaults.
import * as fs from 'node:fs';
import type { DurableClient, DurableOrchestrationStatus } from 'durable-functions';
import { BlobServiceClient, ContainerClient } from '@azure/storage-blob';
import { AzureMachineLearningWorkspaces, BatchDeployment } from '@azure/arm-machinelearning';
import { RunningLocalStack, EVENTS_TOPIC, LocalStackOptions } from '../../src/local/stack/localStack';
import type { ChurnModelWeights } from '@batchpilot/azureml-emulator';
import { createEndpointLikeSample, registerChurnModelVersion } from '../../src/local/stack/stackClients';
import { waitUntil } from '@batchpilot/local-platform';
import { armClientFor, deliverEvent, durableClientFor, hostLogMessages, jobsOfRun, quiesce, readJsonBlob, startTestStack } from './testStack';

export interface ModelEvent {
  type: string;
  id: string;
  subject?: string;
  data: {
    runId: string;
    route: string;
    outcome: string;
    reason?: string;
    model?: { name: string; version: string };
    endpoint?: string;
    candidateDeployment?: string;
    baselineDeployment?: string;
    previousDefault?: string;
    newDefault?: string;
    jobs?: { candidate?: { jobName?: string }; baseline?: { jobName?: string } };
    comparison?: { passed: boolean; summary: string; report?: string };
    decision?: { approved: boolean; by: string; via: string; reason?: string };
    requestedBy?: string;
    requestReason?: string;
    restoredDeployment?: string;
    replacedDeployment?: string;
    record?: string;
  };
}

const POLL = { updateIntervalInMs: 100 };

export class ModelRunStack {
  readonly client: DurableClient;
  readonly rg: string;
  readonly ws: string;

  private constructor(readonly stack: RunningLocalStack, readonly runs: ContainerClient, readonly arm: AzureMachineLearningWorkspaces, readonly datastore: ContainerClient) {
    this.rg = stack.azureMl.resourceGroup;
    this.ws = stack.azureMl.workspaceName;
    this.client = durableClientFor(stack);
  }

  static async start(routesYaml: string, options: Partial<LocalStackOptions> = {}): Promise<ModelRunStack> {
    const stack = await startTestStack(routesYaml, options);
    const data = BlobServiceClient.fromConnectionString(stack.dataConnectionString);
    const arm = armClientFor(stack);
    return new ModelRunStack(stack, data.getContainerClient('runs'), arm, data.getContainerClient(stack.azureMl.defaultDatastoreContainer));
  }

  /** A batch endpoint whose default is `<endpoint>-base`, a copy of the sample's churn-v1 deployment (model churn:1). */
  async createEndpoint(endpoint: string): Promise<{ baseline: string }> {
    return createEndpointLikeSample(this.stack, this.arm, endpoint);
  }

  /**
   * Uploads the model's weights and registers the version through ARM; the emulator then publishes
   * ModelRegistered (PascalCase data, string version) to the workspace topic, delivered to the app.
   */
  async registerModel(name: string, version: string, weights: Partial<ChurnModelWeights> | Record<string, unknown>, tags: Record<string, string> = { stage: 'candidate' }): Promise<string> {
    return registerChurnModelVersion(this.stack, this.arm, BlobServiceClient.fromConnectionString(this.stack.dataConnectionString), { name, version, weights, tags });
  }

  /** Changes an endpoint's default by hand, as an engineer with the portal or `az ml` would. */
  async setDefaultByHand(endpoint: string, deployment: string): Promise<void> {
    await this.arm.batchEndpoints.beginCreateOrUpdateAndWait(this.rg, this.ws, endpoint, { location: this.stack.azureMl.location, properties: { authMode: 'AADToken', defaults: { deploymentName: deployment } } }, POLL);
  }

  async defaultOf(endpoint: string): Promise<string | undefined> {
    return (await this.arm.batchEndpoints.get(this.rg, this.ws, endpoint)).properties.defaults?.deploymentName;
  }

  async deployment(endpoint: string, name: string): Promise<BatchDeployment | undefined> {
    try {
      return await this.arm.batchDeployments.get(this.rg, this.ws, endpoint, name);
    } catch (err) {
      if ((err as { statusCode?: number }).statusCode === 404) return undefined;
      throw err;
    }
  }

  async deploymentNames(endpoint: string): Promise<string[]> {
    const names: string[] = [];
    for await (const d of this.arm.batchDeployments.list(this.rg, this.ws, endpoint)) names.push(d.name ?? '');
    return names.sort();
  }

  modelOf(deployment: BatchDeployment | undefined): string | undefined {
    return (deployment?.properties.model as { assetId?: string } | undefined)?.assetId;
  }

  modelEvents(): ModelEvent[] {
    return this.stack.eventGrid
      .published(EVENTS_TOPIC)
      .map((p) => p.event as unknown as ModelEvent)
      .filter((e) => /\.Model\./.test(e.type));
  }

  eventsOfRun(runId: string): ModelEvent[] {
    return this.modelEvents().filter((e) => e.data?.runId === runId);
  }

  eventsOfModel(name: string, version?: string): ModelEvent[] {
    return this.modelEvents().filter((e) => e.data?.model?.name === name && (version === undefined || e.data.model.version === version));
  }

  /** The run's final event (Promoted, Rejected, Failed). */
  async waitForOutcome(name: string, version: string, timeoutInMs = 120_000): Promise<ModelEvent> {
    return waitUntil(() => this.eventsOfModel(name, version).find((e) => /\.Model\.(Promoted|Rejected|Failed)$/.test(e.type)), `the outcome event of ${name}:${version}`, timeoutInMs);
  }

  async waitForEventOfRun(runId: string, typeSuffix: string, timeoutInMs = 120_000): Promise<ModelEvent> {
    return waitUntil(() => this.eventsOfRun(runId).find((e) => e.type.endsWith(typeSuffix)), `${typeSuffix} of run ${runId}`, timeoutInMs);
  }

  /** The promotion run of a model version, once the intake has started it. */
  async waitForRun(name: string, version: string, phase?: string, timeoutInMs = 120_000): Promise<DurableOrchestrationStatus> {
    return waitUntil(async () => {
      const runs = await this.client.getStatusBy({});
      const run = runs.find((r) => r.name === 'promoteModel' && (r.customStatus as { model?: string } | null)?.model === `${name}:${version}`);
      if (!run) return undefined;
      if (phase && (run.customStatus as { phase?: string } | null)?.phase !== phase) return undefined;
      return run;
    }, `the promotion run of ${name}:${version}${phase ? ` in phase '${phase}'` : ''}`, timeoutInMs);
  }

  async promotionRuns(name: string, version: string): Promise<DurableOrchestrationStatus[]> {
    return (await this.client.getStatusBy({})).filter((r) => r.name === 'promoteModel' && (r.instanceId.startsWith(`bpm-${name}-v${version}-`)));
  }

  /** Jobs Azure ML holds for a promotion run (both sides, every attempt), found by the run's tag. */
  jobsOfRun(runId: string): Promise<string[]> {
    return jobsOfRun(this.stack, runId, this.arm);
  }

  /** Waits until nothing more will happen on the stack (see quiesce in testStack.ts). */
  quiesce(timeoutInMs?: number): Promise<void> {
    return quiesce(this.stack, timeoutInMs);
  }

  async readRunsBlob(blobPath: string): Promise<Record<string, unknown> | undefined> {
    const name = blobPath.replace(/^runs\//, '');
    return readJsonBlob(this.runs.getBlobClient(name));
  }

  /** Delivers one event to the app's intakeMlEvents webhook as Event Grid would (either schema). */
  async deliverMlEvent(event: Record<string, unknown>): Promise<number> {
    return deliverEvent(this.stack, 'intakeMlEvents', event);
  }

  /** Runs a timer function now, through the host's admin endpoint (as `func` and the portal do). */
  async runTimerNow(functionName: string): Promise<void> {
    const keys = JSON.parse(fs.readFileSync(this.stack.host!.keysFile, 'utf8')) as { masterKey: string };
    const res = await fetch(`${this.stack.hostUrl}/admin/functions/${functionName}`, { method: 'POST', headers: { 'x-functions-key': keys.masterKey, 'content-type': 'application/json' }, body: '{}' });
    if (res.status !== 202) throw new Error(`Running ${functionName} answered ${res.status}: ${await res.text()}`);
  }

  hostLogMessages(): string[] {
    return hostLogMessages(this.stack);
  }

  /**
   * Runs `work` with this process's environment set to the app's settings, so code the operator API
   * runs inside the app (startModelRollback reads settings, routes and the ledger) runs here as there.
   */
  async asApp<T>(work: () => Promise<T>): Promise<T> {
    const saved = { ...process.env };
    Object.assign(process.env, this.stack.appSettings);
    const { resetRuntimeConfig } = await import('../../src/config/runtimeConfig');
    resetRuntimeConfig();
    try {
      return await work();
    } finally {
      for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
      Object.assign(process.env, saved);
      resetRuntimeConfig();
    }
  }

  async stop(): Promise<void> {
    await this.stack.stop();
  }
}
