// Starts a local Azure ML emulator for a test file: a certificate from a fresh local CA, a development
// token issuer, a workspace and default datastore container of its own on the run's Azurite, and the
// real clients a test talks to it with (the ARM SDK client, plain https to the scoring URI, Storage).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { AzureMachineLearningWorkspaces, JobBase } from '@azure/arm-machinelearning';
import { BlobServiceClient, ContainerClient } from '@azure/storage-blob';
import { clientOptionsTrusting, DevTokenIssuer, ensureLocalCertificate, PlainResponse, requestTrusting, testAzurite, uniqueName, waitUntil } from '@batchpilot/local-platform';
import { AzureMlEmulatorOptions, RunningAzureMlEmulator, startAzureMlEmulator } from '../azureMlEmulator';

export const ML_SCOPE = 'https://ml.azure.com/.default';
export const MANAGEMENT_SCOPE = 'https://management.azure.com/.default';

export interface LocalAzureMl {
  emulator: RunningAzureMlEmulator;
  issuer: DevTokenIssuer;
  ca: string;
  /** The real ARM client, pointed at the emulator. */
  arm: AzureMachineLearningWorkspaces;
  /** The default datastore's container (`workspaceblobstore`). */
  container: ContainerClient;
  blobService: BlobServiceClient;
  /** POST {scoringUri} with an ML-audience token (or the token given), no retries. */
  invoke(endpointName: string, body: unknown, options?: { deployment?: string; token?: string; rawBody?: string }): Promise<PlainResponse>;
  /** Any call with an ML-audience token unless another is given. */
  request(url: string, init?: { method?: string; headers?: Record<string, string>; body?: string; token?: string }): Promise<PlainResponse>;
  /** Uploads files under a folder of the default datastore; returns its azureml:// URI. */
  uploadFolder(folder: string, files: Array<{ name: string; content: string }>): Promise<string>;
  readText(blobPath: string): Promise<string>;
  /** Polls jobs.get (the way an orchestrator's fallback poll would) until the job ends. */
  waitForJob(jobName: string, options?: { statuses?: string[]; timeoutInMs?: number }): Promise<JobBase>;
  stop(): Promise<void>;
}

const TERMINAL = ['Completed', 'Failed', 'Canceled'];

export async function startLocalAzureMl(options: Partial<Omit<AzureMlEmulatorOptions, 'tls' | 'issuer' | 'storageConnectionString'>> = {}): Promise<LocalAzureMl> {
  const certDir = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'batchpilot-tls-'));
  const certificate = await ensureLocalCertificate(certDir);
  const issuer = new DevTokenIssuer();
  const { connectionString } = testAzurite();
  const workspaceName = options.workspaceName ?? uniqueName('ws').slice(0, 30);
  const emulator = await startAzureMlEmulator({
    jobTimeScale: 0.05,
    armOperationDelayInMs: 50,
    lroRetryAfterInSeconds: 0,
    ...options,
    workspaceName,
    tls: { cert: certificate.cert, key: certificate.key },
    issuer,
    storageConnectionString: connectionString,
  });
  const arm = new AzureMachineLearningWorkspaces(issuer.credential(), emulator.subscriptionId, {
    endpoint: emulator.armBaseUrl,
    credentialScopes: [MANAGEMENT_SCOPE],
    ...clientOptionsTrusting(certificate.ca),
  });
  const blobService = BlobServiceClient.fromConnectionString(connectionString);
  const container = blobService.getContainerClient(emulator.defaultDatastoreContainer);

  const request: LocalAzureMl['request'] = (url, init = {}) =>
    requestTrusting(certificate.ca, url, {
      method: init.method ?? 'GET',
      headers: { authorization: `Bearer ${init.token ?? issuer.issue(ML_SCOPE).token}`, 'content-type': 'application/json', ...(init.headers ?? {}) },
      body: init.body,
    });

  return {
    emulator,
    issuer,
    ca: certificate.ca,
    arm,
    container,
    blobService,
    invoke: (endpointName, body, invokeOptions = {}) =>
      request(emulator.scoringUri(endpointName), {
        method: 'POST',
        body: invokeOptions.rawBody ?? JSON.stringify(body),
        token: invokeOptions.token,
        headers: invokeOptions.deployment ? { 'azureml-model-deployment': invokeOptions.deployment } : {},
      }),
    request,
    async uploadFolder(folder, files) {
      await container.createIfNotExists();
      for (const file of files) {
        await container.getBlockBlobClient(`${folder}/${file.name}`).upload(file.content, Buffer.byteLength(file.content));
      }
      return `azureml://datastores/workspaceblobstore/paths/${folder}/`;
    },
    async readText(blobPath) {
      return (await container.getBlobClient(blobPath).downloadToBuffer()).toString('utf8');
    },
    async waitForJob(jobName, waitOptions = {}) {
      const statuses = waitOptions.statuses ?? TERMINAL;
      return waitUntil(async () => {
        const job = await arm.jobs.get(emulator.resourceGroup, emulator.workspaceName, jobName);
        return statuses.includes(job.properties.status ?? '') ? job : undefined;
      }, `job ${jobName} to be ${statuses.join(' or ')}`, waitOptions.timeoutInMs ?? 90_000);
    },
    async stop() {
      await emulator.stop();
      await fs.promises.rm(certDir, { recursive: true, force: true });
    },
  };
}
