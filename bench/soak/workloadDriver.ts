// Sends the planned workload to the running stack as its users would: uploads files and folders to the
// input container (markers and manifests after their folder's files), registers model versions through
// ARM (one at a time per gate, since a promotion changes its endpoint's default), and answers manual
// gates through the operator API, approving or rejecting as the plan says. It keeps a ledger of what
// was actually sent (every blob version with its ETag, every decision the API accepted): the checks
// derive the runs they expect from it.
import { BlobServiceClient, ContainerClient } from '@azure/storage-blob';
import type { AzureMachineLearningWorkspaces } from '@azure/arm-machinelearning';
import type { RunningLocalStack } from '../../src/local/stack/localStack';
import { INPUT_CONTAINER } from '../../src/local/stack/localStack';
import { createEndpointLikeSample, functionKeysOf, listDurableInstances, registerChurnModelVersion } from '../../src/local/stack/stackClients';
import { ApiCallError, OperatorApiClient } from '../../src/operator/cli/operatorApiClient';
import { AWAITING_APPROVAL } from '../../src/orchestrations/promoteModel';
import { AGREEING_WEIGHTS, DISAGREEING_WEIGHTS, ModelGate, WorkItem } from './workload';

export interface SentBlob {
  itemId: string;
  route: string;
  blobPath: string;
  /** As the service returned it, without quotes. */
  eTag: string;
  role: 'input' | 'marker';
  poisoned: boolean;
}

export interface SentModel {
  itemId: string;
  route: string;
  gate: ModelGate;
  name: string;
  version: string;
  agrees: boolean;
  /** The decision the plan asks for (manual gate). */
  plannedDecision?: 'approve' | 'reject';
  /** The decision the operator API accepted, if it did. */
  decision?: { approved: boolean; by: string; at: string };
}

export interface SentLedger {
  items: WorkItem[];
  blobs: SentBlob[];
  models: SentModel[];
  /** Items whose sending failed outright (reported, not expected to run). */
  failures: Array<{ itemId: string; error: string }>;
}

export const SOAK_ACTOR = 'soak';

export function unquoteETag(eTag: string | undefined): string {
  return (eTag ?? '').replace(/^"|"$/g, '');
}

async function withRetries<T>(what: string, work: () => Promise<T>, attempts = 8): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await work();
    } catch (err) {
      if (i >= attempts) throw new Error(`${what} failed ${attempts} times: ${(err as Error).message}`);
      await new Promise((r) => setTimeout(r, 250 * i));
    }
  }
}

export class WorkloadDriver {
  readonly ledger: SentLedger = { items: [], blobs: [], models: [], failures: [] };
  readonly #input: ContainerClient;
  readonly #data: BlobServiceClient;
  /** Per gate, the registration queue: the next version waits for the previous one's outcome. */
  readonly #modelQueues = new Map<ModelGate, Promise<void>>();
  #approving = false;
  #approver: Promise<void> | undefined;

  constructor(
    private readonly stack: RunningLocalStack,
    private readonly arm: AzureMachineLearningWorkspaces,
    private readonly outcomeSeen: (name: string, version: string) => boolean,
    private readonly log: (message: string) => void = () => undefined,
  ) {
    this.#data = BlobServiceClient.fromConnectionString(stack.dataConnectionString);
    this.#input = this.#data.getContainerClient(INPUT_CONTAINER);
  }

  /** Endpoints the model routes promote on, each with a baseline default; run before faults are on. */
  async createModelEndpoints(endpoints: string[]): Promise<void> {
    for (const endpoint of endpoints) await createEndpointLikeSample(this.stack, this.arm, endpoint);
  }

  async #upload(itemId: string, route: string, blobPath: string, content: string, role: SentBlob['role'], poisoned: boolean): Promise<void> {
    const response = await withRetries(`Uploading ${blobPath}`, () => this.#input.getBlockBlobClient(blobPath).upload(content, Buffer.byteLength(content)));
    this.ledger.blobs.push({ itemId, route, blobPath, eTag: unquoteETag(response.etag), role, poisoned });
  }

  /** Sends one item; model items join their gate's queue and return at once. */
  async send(item: WorkItem): Promise<void> {
    this.ledger.items.push(item);
    try {
      switch (item.kind) {
        case 'perFile':
          await this.#upload(item.id, item.route, item.file.blobPath, item.file.content, 'input', item.file.poisoned);
          return;
        case 'window':
          await Promise.all(item.files.map((f) => this.#upload(item.id, item.route, f.blobPath, f.content, 'input', f.poisoned)));
          return;
        case 'marker':
          await Promise.all(item.files.map((f) => this.#upload(item.id, item.route, f.blobPath, f.content, 'input', f.poisoned)));
          await this.#upload(item.id, item.route, item.markerPath, '', 'marker', false);
          return;
        case 'manifest':
          await Promise.all(item.files.map((f) => this.#upload(item.id, item.route, f.blobPath, f.content, 'input', f.poisoned)));
          await this.#upload(item.id, item.route, item.markerPath, item.manifest, 'marker', false);
          return;
        case 'model':
          this.#queueModel(item);
          return;
      }
    } catch (err) {
      this.ledger.failures.push({ itemId: item.id, error: (err as Error).message });
      this.log(`workload: sending ${item.id} failed: ${(err as Error).message}`);
    }
  }

  #queueModel(item: Extract<WorkItem, { kind: 'model' }>): void {
    const previous = this.#modelQueues.get(item.gate) ?? Promise.resolve();
    const next = previous.then(async () => {
      const sent: SentModel = { itemId: item.id, route: item.route, gate: item.gate, name: item.model.name, version: item.model.version, agrees: item.agrees, plannedDecision: item.decision };
      try {
        await withRetries(`Registering ${item.model.name}:${item.model.version}`, () =>
          registerChurnModelVersion(this.stack, this.arm, this.#data, { name: item.model.name, version: item.model.version, weights: item.agrees ? AGREEING_WEIGHTS : DISAGREEING_WEIGHTS }),
        );
        this.ledger.models.push(sent);
      } catch (err) {
        this.ledger.failures.push({ itemId: item.id, error: (err as Error).message });
        return;
      }
      // The next version of this gate waits for this one's outcome, so promotions on one endpoint do not
      // race; after a while it goes ahead anyway (a slow run must not stall the workload).
      const deadline = Date.now() + 90_000;
      while (!this.outcomeSeen(item.model.name, item.model.version) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 500));
    });
    this.#modelQueues.set(item.gate, next);
  }

  /** Resolves when every queued model version has been registered and has had its outcome (or timed out). */
  async modelsSent(): Promise<void> {
    await Promise.all(this.#modelQueues.values());
  }

  /** Answers manual gates as planned, through the operator API, until stopApproving(). */
  startApproving(): void {
    if (this.#approving) return;
    this.#approving = true;
    this.#approver = (async () => {
      while (this.#approving) {
        await this.#approvePending().catch(() => undefined);
        await new Promise((r) => setTimeout(r, 700));
      }
    })();
  }

  async stopApproving(): Promise<void> {
    this.#approving = false;
    await this.#approver;
  }

  /** Model versions whose planned decision has not been accepted yet. */
  pendingDecisions(): SentModel[] {
    return this.ledger.models.filter((m) => m.plannedDecision && !m.decision);
  }

  async #approvePending(): Promise<void> {
    const pending = this.pendingDecisions();
    if (pending.length === 0 || !this.stack.host) return;
    const waiting = (await listDurableInstances(this.stack)).filter((i) => i.name === 'promoteModel' && (i.customStatus as { phase?: string } | null)?.phase === AWAITING_APPROVAL);
    for (const m of pending) {
      const run = waiting.find((i) => (i.customStatus as { model?: string }).model === `${m.name}:${m.version}`);
      if (!run) continue;
      const keys = functionKeysOf(this.stack);
      const api = new OperatorApiClient({ url: this.stack.hostUrl, functionKey: keys.hostKeys.default ?? keys.masterKey, source: 'the soak', actor: SOAK_ACTOR });
      const approved = m.plannedDecision === 'approve';
      try {
        await api.runAction(run.instanceId, approved ? 'approve' : 'reject', `soak: the plan ${approved ? 'approves' : 'rejects'} ${m.name}:${m.version}`);
        m.decision = { approved, by: SOAK_ACTOR, at: new Date().toISOString() };
      } catch (err) {
        // Not waiting any more (already decided, or the gate timed out): the checks read what happened.
        if (err instanceof ApiCallError && err.status === 409) continue;
        throw err;
      }
    }
  }
}
