// The Azure ML emulator's state: one workspace's batch endpoints, deployments, versioned assets
// (models, code, data, components), datastores, jobs and ARM async operations, kept in memory and,
// when given a state directory, snapshotted to a JSON file so `npm start` restarts keep them.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { JsonObject } from './wireTypes';

export type JobStatus =
  | 'NotStarted' | 'Starting' | 'Provisioning' | 'Preparing' | 'Queued' | 'Running' | 'Finalizing'
  | 'CancelRequested' | 'Completed' | 'Failed' | 'Canceled' | 'NotResponding' | 'Paused' | 'Unknown';

export const TERMINAL_JOB_STATUSES: readonly JobStatus[] = ['Completed', 'Failed', 'Canceled'];

export type ProvisioningState = 'Creating' | 'Updating' | 'Deleting' | 'Succeeded' | 'Failed' | 'Canceled';

export interface SystemDataRecord {
  createdAt: string;
  createdBy: string;
  lastModifiedAt: string;
  lastModifiedBy: string;
}

export interface TrackedResourceRecord {
  name: string;
  location: string;
  tags: Record<string, string>;
  kind?: string;
  identity?: JsonObject;
  sku?: JsonObject;
  provisioningState: ProvisioningState;
  systemData: SystemDataRecord;
}

export interface BatchEndpointRecord extends TrackedResourceRecord {
  /** The `properties` the client sent, minus read-only ones (scoringUri, provisioningState...). */
  properties: JsonObject;
}

export interface BatchDeploymentRecord extends TrackedResourceRecord {
  endpointName: string;
  properties: JsonObject;
}

export type AssetKind = 'models' | 'codes' | 'data' | 'components';

export interface AssetVersionRecord {
  kind: AssetKind;
  name: string;
  version: string;
  properties: JsonObject;
  systemData: SystemDataRecord;
}

export interface DatastoreRecord {
  name: string;
  properties: JsonObject;
  systemData: SystemDataRecord;
}

export const MODEL_INPUT_KINDS: readonly string[] = ['custom_model', 'mlflow_model'];

export type JobInputRecord =
  | { kind: 'uri_file' | 'uri_folder' | 'mltable' | 'custom_model' | 'mlflow_model'; uri: string; mode?: string }
  | { kind: 'literal'; value: string };

export interface JobOutputRecord {
  kind: 'uri_file' | 'uri_folder';
  uri: string;
}

export interface JobSettingsRecord {
  miniBatchSize: number;
  instanceCount: number;
  maxConcurrencyPerInstance: number;
  errorThreshold: number;
  maxRetries: number;
  /** Per mini-batch invocation timeout. */
  timeoutInMs: number;
  outputAction: 'AppendRow' | 'SummaryOnly';
  outputFileName: string;
  loggingLevel: string;
}

/** The parts of the deployment a job runs with, frozen at submission as Azure does. */
export interface DeploymentSnapshotRecord {
  modelId?: string;
  codeId?: string;
  scoringScript?: string;
  environmentVariables?: Record<string, string>;
  /** For pipeline-component deployments: the component version's ARM ID. */
  componentId?: string;
}

export interface JobRunCounters {
  miniBatches: number;
  miniBatchesSucceeded: number;
  miniBatchesFailed: number;
  attempts: number;
  inputFiles: number;
  failedFiles: string[];
  rowsWritten: number;
  concurrency: number;
  peakConcurrentMiniBatches: number;
}

export interface BatchJobRecord {
  name: string;
  endpointName: string;
  deploymentName: string;
  experimentName: string;
  displayName: string;
  description?: string;
  status: JobStatus;
  statusHistory: Array<{ status: JobStatus; at: string }>;
  tags: Record<string, string>;
  properties: Record<string, string>;
  inputs: Record<string, JobInputRecord>;
  outputs: Record<string, JobOutputRecord>;
  settings: JobSettingsRecord;
  deployment: DeploymentSnapshotRecord;
  computeId?: string;
  systemData: SystemDataRecord;
  /** Why the job failed or was cancelled, for operators (emulator-specific; Azure shows it in Studio). */
  failureReason?: string;
  faultPlan: 'none' | 'fail' | 'preempt' | 'missingOutputs';
  counters?: JobRunCounters;
  isArchived: boolean;
}

export interface ArmOperationRecord {
  id: string;
  /** What the operation changes, to report the resource once done. */
  target: { kind: 'endpoint'; endpointName: string } | { kind: 'deployment'; endpointName: string; deploymentName: string } | { kind: 'jobCancel'; jobName: string };
  status: 'InProgress' | 'Succeeded' | 'Failed' | 'Canceled';
  startTime: string;
  endTime?: string;
  error?: { code: string; message: string };
  /** The api-version of the request that started it: the finished resource is shaped for that version. */
  apiVersion: string;
}

interface Snapshot {
  version: 1;
  endpoints: BatchEndpointRecord[];
  deployments: BatchDeploymentRecord[];
  assets: AssetVersionRecord[];
  datastores: DatastoreRecord[];
  jobs: BatchJobRecord[];
  operations: ArmOperationRecord[];
}

const caseless = (name: string): string => name.toLowerCase();

export class WorkspaceStore {
  readonly endpoints = new Map<string, BatchEndpointRecord>();
  /** Key: `${endpoint}/${deployment}`, lower-cased (ARM names are case-insensitive). */
  readonly deployments = new Map<string, BatchDeploymentRecord>();
  /** Key: `${kind}/${name}/${version}`. */
  readonly assets = new Map<string, AssetVersionRecord>();
  readonly datastores = new Map<string, DatastoreRecord>();
  /** Job names are case-sensitive in Azure ML. */
  readonly jobs = new Map<string, BatchJobRecord>();
  readonly operations = new Map<string, ArmOperationRecord>();
  readonly #snapshotPath: string | undefined;
  #saveTimer: NodeJS.Timeout | undefined;
  #saving: Promise<void> = Promise.resolve();

  constructor(stateDir?: string) {
    this.#snapshotPath = stateDir ? path.join(stateDir, 'azureml-state.json') : undefined;
  }

  getEndpoint(name: string): BatchEndpointRecord | undefined {
    return this.endpoints.get(caseless(name));
  }

  putEndpoint(record: BatchEndpointRecord): void {
    this.endpoints.set(caseless(record.name), record);
    this.changed();
  }

  deleteEndpoint(name: string): void {
    this.endpoints.delete(caseless(name));
    for (const [key, d] of this.deployments) if (caseless(d.endpointName) === caseless(name)) this.deployments.delete(key);
    this.changed();
  }

  getDeployment(endpointName: string, deploymentName: string): BatchDeploymentRecord | undefined {
    return this.deployments.get(`${caseless(endpointName)}/${caseless(deploymentName)}`);
  }

  listDeployments(endpointName: string): BatchDeploymentRecord[] {
    return [...this.deployments.values()].filter((d) => caseless(d.endpointName) === caseless(endpointName));
  }

  putDeployment(record: BatchDeploymentRecord): void {
    this.deployments.set(`${caseless(record.endpointName)}/${caseless(record.name)}`, record);
    this.changed();
  }

  deleteDeployment(endpointName: string, deploymentName: string): void {
    this.deployments.delete(`${caseless(endpointName)}/${caseless(deploymentName)}`);
    this.changed();
  }

  getAsset(kind: AssetKind, name: string, version: string): AssetVersionRecord | undefined {
    return this.assets.get(`${kind}/${name}/${version}`);
  }

  listAssetVersions(kind: AssetKind, name: string): AssetVersionRecord[] {
    return [...this.assets.values()].filter((a) => a.kind === kind && a.name === name).sort(compareVersions);
  }

  listAssetNames(kind: AssetKind): string[] {
    return [...new Set([...this.assets.values()].filter((a) => a.kind === kind).map((a) => a.name))].sort();
  }

  latestAsset(kind: AssetKind, name: string): AssetVersionRecord | undefined {
    const versions = this.listAssetVersions(kind, name);
    return versions[versions.length - 1];
  }

  putAsset(record: AssetVersionRecord): void {
    this.assets.set(`${record.kind}/${record.name}/${record.version}`, record);
    this.changed();
  }

  deleteAsset(kind: AssetKind, name: string, version: string): void {
    this.assets.delete(`${kind}/${name}/${version}`);
    this.changed();
  }

  getDatastore(name: string): DatastoreRecord | undefined {
    return this.datastores.get(caseless(name));
  }

  putDatastore(record: DatastoreRecord): void {
    this.datastores.set(caseless(record.name), record);
    this.changed();
  }

  putJob(record: BatchJobRecord): void {
    this.jobs.set(record.name, record);
    this.changed();
  }

  putOperation(record: ArmOperationRecord): void {
    this.operations.set(record.id, record);
    this.changed();
  }

  /** Schedules a snapshot; many changes in a burst write one file. */
  changed(): void {
    if (!this.#snapshotPath || this.#saveTimer) return;
    this.#saveTimer = setTimeout(() => {
      this.#saveTimer = undefined;
      this.#saving = this.#saving.then(() => this.#writeSnapshot()).catch((e: unknown) => {
        process.stderr.write(`azureml emulator: could not save its state: ${String(e)}\n`);
      });
    }, 50);
    this.#saveTimer.unref();
  }

  async flush(): Promise<void> {
    if (this.#saveTimer) {
      clearTimeout(this.#saveTimer);
      this.#saveTimer = undefined;
      this.#saving = this.#saving.then(() => this.#writeSnapshot());
    }
    await this.#saving;
  }

  async #writeSnapshot(): Promise<void> {
    if (!this.#snapshotPath) return;
    const snapshot: Snapshot = {
      version: 1,
      endpoints: [...this.endpoints.values()],
      deployments: [...this.deployments.values()],
      assets: [...this.assets.values()],
      datastores: [...this.datastores.values()],
      jobs: [...this.jobs.values()],
      operations: [...this.operations.values()],
    };
    await fs.promises.mkdir(path.dirname(this.#snapshotPath), { recursive: true });
    const temporary = `${this.#snapshotPath}.tmp`;
    await fs.promises.writeFile(temporary, JSON.stringify(snapshot, null, 1));
    await fs.promises.rename(temporary, this.#snapshotPath);
  }

  /** Loads the snapshot if there is one; returns whether it did. */
  load(): boolean {
    if (!this.#snapshotPath || !fs.existsSync(this.#snapshotPath)) return false;
    const snapshot = JSON.parse(fs.readFileSync(this.#snapshotPath, 'utf8')) as Snapshot;
    if (snapshot.version !== 1) throw new Error(`${this.#snapshotPath} has snapshot version ${String(snapshot.version)}; this emulator reads version 1. Delete the file to start afresh.`);
    for (const e of snapshot.endpoints) this.endpoints.set(caseless(e.name), e);
    for (const d of snapshot.deployments) this.deployments.set(`${caseless(d.endpointName)}/${caseless(d.name)}`, d);
    for (const a of snapshot.assets) this.assets.set(`${a.kind}/${a.name}/${a.version}`, a);
    for (const s of snapshot.datastores) this.datastores.set(caseless(s.name), s);
    for (const j of snapshot.jobs) this.jobs.set(j.name, j);
    for (const o of snapshot.operations) this.operations.set(o.id, o);
    return true;
  }
}

/** Orders versions numerically when they are numbers ("2" < "10"), lexically otherwise. */
function compareVersions(a: AssetVersionRecord, b: AssetVersionRecord): number {
  const na = Number(a.version);
  const nb = Number(b.version);
  if (Number.isFinite(na) && Number.isFinite(nb)) return na - nb;
  return a.version.localeCompare(b.version);
}
