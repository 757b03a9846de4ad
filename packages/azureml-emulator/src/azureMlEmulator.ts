// The local Azure ML emulator: one https server that serves a workspace's ARM management API
// (`/subscriptions/...`), its batch endpoints' data plane (`/inference/{endpoint}/jobs`, the
// scoringUri), a Studio page per job, and an admin API for tests (faults, job holds, events).
// Azure SDK clients send bearer tokens only over https, hence TLS with the local development CA.
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as https from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { DEV_TENANT_ID, DevTokenIssuer, TokenCheck } from '@batchpilot/local-platform';
import { ArmError } from './armErrors';
import { handleArmRequest, settleRestoredOperations } from './armRoutes';
import { scoringUriOf, workspaceGuidOf, workspaceIdOf, WorkspaceScope } from './armResources';
import { createAssetLookup } from './assetReferences';
import { handleDataPlaneRequest } from './batchInvoke';
import { BatchJobRunner } from './batchJobRunner';
import type { EmulatorServices, HttpExchange, HttpReply } from './emulatorServices';
import { FaultInjector, FaultSettings, FaultStats, FaultSurface, validateFaultSettings } from './faultInjection';
import { renderJobPage } from './studioPage';
import type { BatchJobRecord, JobRunCounters, JobStatus } from './workspaceStore';
import { TERMINAL_JOB_STATUSES, WorkspaceStore } from './workspaceStore';
import { WorkspaceStorage } from './workspaceStorage';
import type { EventGridEventLike, JsonObject, JsonValue } from './wireTypes';
import { isJsonObject } from './wireTypes';

export interface AzureMlEmulatorOptions {
  /** 0 (default) picks a free port. */
  port?: number;
  /** PEM certificate and key (ensureLocalCertificate of @batchpilot/local-platform); clients trust its CA. */
  tls: { cert: string; key: string };
  /** Verifies bearer tokens: ARM wants audience https://management.azure.com, the data plane https://ml.azure.com. */
  issuer: DevTokenIssuer;
  /** Azurite: datastores are containers of this account. */
  storageConnectionString: string;
  subscriptionId?: string;
  resourceGroup?: string;
  workspaceName?: string;
  location?: string;
  /** Receives the workspace system topic's events (the stack wires this to the Event Grid emulator). */
  publishEvents?: (events: EventGridEventLike[]) => Promise<void>;
  faults?: FaultSettings;
  /** Multiplies the simulated job phase durations; 0 makes jobs as fast as their scoring. Default 1. */
  jobTimeScale?: number;
  /** How long create/update/delete operations stay InProgress. Default 500. */
  armOperationDelayInMs?: number;
  /** Retry-After (seconds) on long-running operation responses; 0 omits it. Default 1. */
  lroRetryAfterInSeconds?: number;
  /** Keeps state in `<stateDir>/azureml-state.json` across restarts. */
  stateDir?: string;
  /** Scratch space for jobs; default a fresh folder under the OS temp dir, removed on stop. */
  workDir?: string;
  /** Container of the default datastore `workspaceblobstore`; default `azureml-blobstore-<workspace GUID>`. */
  defaultDatastoreContainer?: string;
}

export interface JobReport {
  name: string;
  endpointName: string;
  deploymentName: string;
  status: JobStatus;
  statusHistory: Array<{ status: JobStatus; at: string }>;
  failureReason?: string;
  faultPlan: BatchJobRecord['faultPlan'];
  counters?: JobRunCounters;
  outputs: Record<string, { kind: string; uri: string }>;
}

export interface RunningAzureMlEmulator {
  /** Pass as the ARM client's `endpoint` (in Azure: https://management.azure.com). */
  armBaseUrl: string;
  port: number;
  subscriptionId: string;
  resourceGroup: string;
  workspaceName: string;
  location: string;
  /** The workspace's ARM ID, also the topic of its system events. */
  workspaceId: string;
  defaultDatastoreContainer: string;
  storageConnectionString: string;
  scoringUri(endpointName: string): string;
  setFaults(settings: FaultSettings): void;
  faultStats(): FaultStats;
  /** Jobs wait at the end of Preparing until released: lets tests act on a job surely not finished. */
  holdJobs(): void;
  releaseJobs(): void;
  jobReport(jobName: string): JobReport | undefined;
  /** Jobs not yet in a final state, read once every event published so far has reached the topic (tests wait for none). */
  activeJobs(): Promise<string[]>;
  /** Events published so far (the newest 1000), for tests and the demo. */
  publishedEvents(): EventGridEventLike[];
  stop(): Promise<void>;
}

const DEFAULTS = {
  subscriptionId: '00000000-0000-4000-8000-0000000b47c4',
  resourceGroup: 'batchpilot-local',
  workspaceName: 'batchpilot-ws',
  location: 'local',
} as const;

const MAX_BODY_BYTES = 16 * 1024 * 1024;
const MANAGEMENT_AUDIENCES = ['https://management.azure.com', 'https://management.core.windows.net'];
const ML_AUDIENCE = 'https://ml.azure.com';
const EVENT_HISTORY = 1000;
const JOB_EVENT_TYPES = new Set(['Microsoft.MachineLearningServices.RunStatusChanged', 'Microsoft.MachineLearningServices.RunCompleted']);

export async function startAzureMlEmulator(options: AzureMlEmulatorOptions): Promise<RunningAzureMlEmulator> {
  const subscriptionId = options.subscriptionId ?? DEFAULTS.subscriptionId;
  const resourceGroup = options.resourceGroup ?? DEFAULTS.resourceGroup;
  const workspaceName = options.workspaceName ?? DEFAULTS.workspaceName;
  const location = options.location ?? DEFAULTS.location;
  const workspaceId = workspaceIdOf(subscriptionId, resourceGroup, workspaceName);
  const defaultContainer = options.defaultDatastoreContainer ?? `azureml-blobstore-${workspaceGuidOf(workspaceId)}`;

  const store = new WorkspaceStore(options.stateDir);
  const restored = store.load();
  const storage = new WorkspaceStorage(options.storageConnectionString);
  await storage.ensureContainer(defaultContainer);
  if (!store.getDatastore('workspaceblobstore')) {
    const now = new Date().toISOString();
    store.putDatastore({
      name: 'workspaceblobstore',
      properties: {
        datastoreType: 'AzureBlob', accountName: storage.accountName, containerName: defaultContainer, endpoint: 'core.windows.net',
        protocol: 'https', credentials: { credentialsType: 'None' }, serviceDataAccessAuthIdentity: 'None', isDefault: true, tags: {}, properties: {},
      },
      systemData: { createdAt: now, createdBy: 'azureml-emulator', lastModifiedAt: now, lastModifiedBy: 'azureml-emulator' },
    });
  }
  const ownsWorkDir = !options.workDir;
  const workDir = options.workDir ?? (await fs.promises.mkdtemp(path.join(os.tmpdir(), 'batchpilot-azureml-')));

  const faults = new FaultInjector(options.faults ?? {});
  const timers = new Set<NodeJS.Timeout>();
  const events: EventGridEventLike[] = [];
  let publishChain: Promise<void> = Promise.resolve();
  const publish = (published: EventGridEventLike[]): void => {
    // A lost job event never reaches the topic; the run waiting for it must find the status by polling.
    const batch = published.filter((e) => !(JOB_EVENT_TYPES.has(e.eventType) && faults.drawJobEventLoss()));
    if (batch.length === 0) return;
    events.push(...batch);
    if (events.length > EVENT_HISTORY) events.splice(0, events.length - EVENT_HISTORY);
    const sink = options.publishEvents;
    if (!sink) return;
    // Chained so a job's events reach the topic in the order they happened.
    publishChain = publishChain.then(() => sink(batch)).catch((e: unknown) => {
      process.stderr.write(`azureml emulator: publishing ${batch.map((b) => b.eventType).join(', ')} failed: ${String(e)}\n`);
    });
  };

  // The scope's baseUrl needs the port, known once listening; handlers read it through `services`.
  const scope: WorkspaceScope = { subscriptionId, resourceGroup, workspaceName, location, tenantId: DEV_TENANT_ID, workspaceId, baseUrl: '' };
  const lookup = createAssetLookup(store);
  const runner = new BatchJobRunner({ store, storage, scope, lookup, publish, jobTimeScale: options.jobTimeScale ?? 1, workDir });
  const services: EmulatorServices = {
    scope, store, storage, lookup, runner, faults, publish,
    armOperationDelayInMs: options.armOperationDelayInMs ?? 500,
    lroRetryAfterInSeconds: options.lroRetryAfterInSeconds ?? 1,
    schedule(delayInMs, work) {
      const timer = setTimeout(() => {
        timers.delete(timer);
        work();
      }, delayInMs);
      timers.add(timer);
    },
  };

  const server = https.createServer({ cert: options.tls.cert, key: options.tls.key }, (req, res) => {
    void serve(services, options.issuer, req, res, events);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  scope.baseUrl = `https://127.0.0.1:${port}`;
  if (restored) {
    settleRestoredOperations(services);
    runner.resumeUnfinished();
  }

  let stopped = false;
  return {
    armBaseUrl: scope.baseUrl,
    port,
    subscriptionId,
    resourceGroup,
    workspaceName,
    location,
    workspaceId,
    defaultDatastoreContainer: defaultContainer,
    storageConnectionString: options.storageConnectionString,
    scoringUri: (endpointName) => scoringUriOf(scope, endpointName),
    setFaults: (settings) => faults.set(settings),
    faultStats: () => faults.stats(),
    holdJobs: () => runner.holdJobs(),
    releaseJobs: () => runner.releaseJobs(),
    jobReport: (jobName) => jobReportOf(store.jobs.get(jobName)),
    async activeJobs() {
      await publishChain;
      return [...store.jobs.values()].filter((j) => !TERMINAL_JOB_STATUSES.includes(j.status)).map((j) => j.name);
    },
    publishedEvents: () => [...events],
    async stop() {
      if (stopped) return;
      stopped = true;
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await runner.stop();
      await publishChain;
      await store.flush();
      if (ownsWorkDir) await fs.promises.rm(workDir, { recursive: true, force: true });
    },
  };
}

function jobReportOf(job: BatchJobRecord | undefined): JobReport | undefined {
  if (!job) return undefined;
  return structuredClone({
    name: job.name,
    endpointName: job.endpointName,
    deploymentName: job.deploymentName,
    status: job.status,
    statusHistory: job.statusHistory,
    failureReason: job.failureReason,
    faultPlan: job.faultPlan,
    counters: job.counters,
    outputs: job.outputs,
  });
}

function surfaceOf(pathname: string): FaultSurface | 'admin' | 'studio' | 'root' | undefined {
  if (/^\/subscriptions\//i.test(pathname)) return 'arm';
  if (pathname.startsWith('/inference/')) return 'dataPlane';
  if (pathname.startsWith('/admin/')) return 'admin';
  if (pathname.startsWith('/studio/')) return 'studio';
  if (pathname === '/') return 'root';
  return undefined;
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new ArmError(413, 'RequestEntityTooLarge', `The request body exceeds ${MAX_BODY_BYTES} bytes.`);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/** ARM's codes for token problems; a token for another audience is refused as Azure refuses it. */
function authenticationError(check: Exclude<TokenCheck, { ok: true }>, audiences: string[]): ArmError {
  const code = check.code === 'InvalidAudience' ? 'InvalidAuthenticationTokenAudience' : check.code;
  const message = check.code === 'InvalidAudience'
    ? `The access token has been obtained for the wrong audience or resource. It should exactly match one of the allowed audiences ${audiences.map((a) => `'${a}'`).join(', ')}. (${check.message})`
    : check.message;
  const description = message.replace(/"/g, "'");
  return new ArmError(401, code, message, {
    headers: {
      'WWW-Authenticate': `Bearer authorization_uri="https://login.microsoftonline.com/${DEV_TENANT_ID}", error="invalid_token", error_description="${description}"`,
    },
  });
}

function authenticate(issuer: DevTokenIssuer, exchangeHeaders: IncomingMessage['headers'], audiences: string[]): string {
  const header = exchangeHeaders.authorization;
  let failure: Exclude<TokenCheck, { ok: true }> | undefined;
  for (const audience of audiences) {
    const check = issuer.verifyAuthorization(header, audience);
    if (check.ok) return check.claims.sub;
    // Any failure other than the audience is final; the audience may match the next allowed one.
    if (!failure || failure.code === 'InvalidAudience') failure = check;
    if (check.code !== 'InvalidAudience') break;
  }
  throw authenticationError(failure!, audiences);
}

async function serve(services: EmulatorServices, issuer: DevTokenIssuer, req: IncomingMessage, res: ServerResponse, events: EventGridEventLike[]): Promise<void> {
  const requestId = randomUUID();
  const method = (req.method ?? 'GET').toUpperCase();
  const url = new URL(req.url ?? '/', services.scope.baseUrl || 'https://127.0.0.1');
  const surface = surfaceOf(url.pathname);
  const baseHeaders: Record<string, string> = {
    'x-ms-request-id': requestId,
    'x-ms-correlation-request-id': String(req.headers['x-ms-correlation-request-id'] ?? requestId),
  };
  let loseResponse = false;
  const send = (reply: HttpReply): void => {
    if (res.headersSent || res.destroyed) return;
    if (loseResponse) {
      // The call took effect; only its answer is lost, as when a connection resets on the way back.
      req.socket.destroy();
      return;
    }
    const headers: Record<string, string> = { ...baseHeaders, ...(reply.headers ?? {}) };
    let payload: string | undefined;
    if (reply.body !== undefined) {
      payload = JSON.stringify(reply.body);
      headers['Content-Type'] = 'application/json; charset=utf-8';
    } else if (reply.text !== undefined) {
      payload = reply.text;
      headers['Content-Type'] = reply.contentType ?? 'text/plain; charset=utf-8';
    }
    headers['Content-Length'] = String(payload ? Buffer.byteLength(payload) : 0);
    res.writeHead(reply.status, headers);
    res.end(payload);
  };
  try {
    const body = await readBody(req);
    if (surface === 'arm' || surface === 'dataPlane') {
      const decision = services.faults.drawHttp(surface, `${method} ${url.pathname}${url.search}`);
      switch (decision.kind) {
        case 'drop':
          req.socket.destroy();
          return;
        case 'throttle':
          send({
            status: 429,
            headers: { 'Retry-After': String(decision.retryAfterInSeconds) },
            body: { error: { code: 'TooManyRequests', message: `The request rate is too high (injected fault); retry after ${decision.retryAfterInSeconds} second(s).` } },
          });
          return;
        case 'serverError':
          send({
            status: decision.status,
            headers: decision.retryAfterInSeconds !== undefined ? { 'Retry-After': String(decision.retryAfterInSeconds) } : {},
            body: {
              error: decision.status === 503
                ? { code: 'ServiceUnavailable', message: 'The service is temporarily unavailable (injected fault); retry later.' }
                : { code: 'InternalServerError', message: 'The service encountered an internal error (injected fault); retry the request.' },
            },
          });
          return;
        case 'slow':
          await sleep(decision.delayInMs);
          break;
        case 'dropResponse':
          loseResponse = true;
          break;
        case 'none':
          break;
      }
      const caller = authenticate(issuer, req.headers, surface === 'arm' ? MANAGEMENT_AUDIENCES : [ML_AUDIENCE]);
      const exchange: HttpExchange = { method, url, headers: req.headers, body, caller };
      if (surface === 'arm') {
        send(await handleArmRequest(services, exchange));
      } else {
        const segments = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
        if (segments.length < 3 || segments[2] !== 'jobs') throw new ArmError(404, 'NotFound', `Batch endpoints are invoked at /inference/{endpoint}/jobs; nothing is served at ${url.pathname}.`);
        send(await handleDataPlaneRequest(services, exchange, segments[1], segments.slice(3)));
      }
      return;
    }
    const exchange: HttpExchange = { method, url, headers: req.headers, body, caller: 'local-admin' };
    if (surface === 'admin') return send(handleAdmin(services, exchange, events));
    if (surface === 'studio') return send(renderJobPage(services, url));
    if (surface === 'root') {
      return send({ status: 200, body: { service: 'batchpilot local Azure ML emulator', workspaceId: services.scope.workspaceId, armBaseUrl: services.scope.baseUrl } });
    }
    throw new ArmError(404, 'NotFound', `Nothing is served at ${url.pathname}. ARM is under /subscriptions/, batch endpoints under /inference/{endpoint}/jobs.`);
  } catch (e) {
    if (e instanceof ArmError) {
      send({ status: e.status, body: e.toBody(), headers: e.extras.headers });
      return;
    }
    process.stderr.write(`azureml emulator: ${method} ${url.pathname} failed: ${(e as Error).stack ?? String(e)}\n`);
    send({ status: 500, body: { error: { code: 'InternalServerError', message: `The emulator failed to handle the request: ${(e as Error).message}` } } });
  }
}

/** Test and operator controls: faults, job holds, job reports and published events. */
function handleAdmin(services: EmulatorServices, exchange: HttpExchange, events: EventGridEventLike[]): HttpReply {
  const segments = exchange.url.pathname.split('/').filter(Boolean).map(decodeURIComponent).slice(1);
  const faultsView = (): JsonObject => ({ settings: services.faults.settings as unknown as JsonObject, stats: services.faults.stats() as unknown as JsonObject });
  if (segments[0] === 'faults' && segments.length === 1) {
    if (exchange.method === 'GET') return { status: 200, body: faultsView() };
    if (exchange.method === 'POST' || exchange.method === 'PUT') {
      let settings: unknown;
      try {
        settings = JSON.parse(exchange.body.toString('utf8') || '{}') as unknown;
      } catch (e) {
        throw new ArmError(400, 'InvalidRequestContent', `The fault settings are not JSON: ${(e as Error).message}`);
      }
      if (!isJsonObject(settings)) throw new ArmError(400, 'InvalidRequestContent', 'The fault settings must be a JSON object such as {"seed": 7, "http": {"throttleFraction": 0.3}}.');
      try {
        validateFaultSettings(settings as FaultSettings);
      } catch (e) {
        throw new ArmError(400, 'InvalidFaultSettings', (e as Error).message);
      }
      services.faults.set(settings as FaultSettings);
      return { status: 200, body: faultsView() };
    }
  }
  if (segments[0] === 'jobs' && segments.length === 2 && exchange.method === 'POST' && (segments[1] === 'hold' || segments[1] === 'release')) {
    if (segments[1] === 'hold') services.runner.holdJobs();
    else services.runner.releaseJobs();
    return { status: 204 };
  }
  if (segments[0] === 'jobs' && segments.length === 2 && exchange.method === 'GET') {
    const report = jobReportOf(services.store.jobs.get(segments[1]));
    if (!report) throw new ArmError(404, 'NotFound', `No job named '${segments[1]}'.`);
    return { status: 200, body: report as unknown as JsonValue };
  }
  if (segments[0] === 'events' && segments.length === 1 && exchange.method === 'GET') {
    return { status: 200, body: events as unknown as JsonValue };
  }
  throw new ArmError(404, 'NotFound', 'Admin routes: GET|POST /admin/faults, POST /admin/jobs/hold|release, GET /admin/jobs/{name}, GET /admin/events.');
}
