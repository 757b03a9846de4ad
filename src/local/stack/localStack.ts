// The whole local stack on one machine: Azurite, the Event Grid emulator (custom topic, storage and
// workspace system topics, subscriptions to the app's Event Grid triggers, a blob proxy that raises
// BlobCreated), the Azure ML emulator with the sample workspace, a managed-identity endpoint, and the
// local Functions host running the batchpilot app with settings pointing at all of them through the
// same setting names Azure uses. `npm start`, the end-to-end tests and the benchmarks use it.
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import type { AddressInfo } from 'node:net';
import { spawnLocalHost, HostChild } from '@batchpilot/local-host';
import {
  startAzurite, RunningAzurite, AzuriteEndpoints, azuriteConnectionString, ensureLocalCertificate, LocalCertificate, DevTokenIssuer, createIdentityEndpoint,
  HttpFaultSettings, HttpFaultStats, startStorageFaultProxy, RunningStorageFaultProxy,
} from '@batchpilot/local-platform';
import { startEventGridEmulator, RunningEventGridEmulator, DeliveryOptions } from '@batchpilot/eventgrid-emulator';
import { startAzureMlEmulator, RunningAzureMlEmulator, seedSampleWorkspace, SampleWorkspace, FaultSettings } from '@batchpilot/azureml-emulator';
import { findProjectRoot } from '../../config/projectRoot';

export const REPO_ROOT = findProjectRoot(__dirname);
export const EVENTS_TOPIC = 'batchpilot-events';
export const INPUT_CONTAINER = 'input';
export const DEAD_LETTER_CONTAINER = 'deadletters';
/** The local stack's one Azure ML workspace. */
export const LOCAL_WORKSPACE = { subscriptionId: '00000000-0000-4000-8000-0000000b47c4', resourceGroup: 'batchpilot-local', workspaceName: 'local-workspace' };
export const LOCAL_WORKSPACE_ID = `/subscriptions/${LOCAL_WORKSPACE.subscriptionId}/resourceGroups/${LOCAL_WORKSPACE.resourceGroup}/providers/Microsoft.MachineLearningServices/workspaces/${LOCAL_WORKSPACE.workspaceName}`;

export interface LocalStackPorts {
  host: number;
  eventGrid: number;
  azureMl: number;
  identity: number;
  /** The storage account clients use (the blob proxy that raises events); 10000 = `UseDevelopmentStorage=true`. */
  blob: number;
  azuriteBlob: number;
  azuriteQueue: number;
  azuriteTable: number;
}

export const DEFAULT_PORTS: LocalStackPorts = { host: 7071, eventGrid: 7444, azureMl: 7443, identity: 7445, blob: 10000, azuriteBlob: 10100, azuriteQueue: 10001, azuriteTable: 10002 };
export const FREE_PORTS: LocalStackPorts = { host: 0, eventGrid: 0, azureMl: 0, identity: 0, blob: 0, azuriteBlob: 0, azuriteQueue: 0, azuriteTable: 0 };

export interface LocalStackOptions {
  ports?: Partial<LocalStackPorts>;
  /** Where the stack keeps state (Azurite data, TLS, keys); default `<repo>/.local`. */
  stateDir?: string;
  /** Use this Azurite instead of starting one (tests share one); its blob port is fronted by the proxy. */
  azurite?: AzuriteEndpoints;
  /** Persist Azurite data under stateDir (default true when the stack starts its own Azurite). */
  persistAzurite?: boolean;
  /** Routes file text (YAML or JSON) for the app; default the demo route. */
  routesYaml?: string;
  taskHub?: string;
  /** Extra settings for the app (override the generated ones). */
  settings?: Record<string, string>;
  mlFaults?: FaultSettings;
  /**
   * Seeded faults on the app's own Blob storage calls: the app reaches the data account through a
   * fault proxy (and storage events name that proxy's URLs); everyone else reaches it directly.
   */
  storageFaults?: { seed?: number; http: HttpFaultSettings };
  /**
   * Seeded faults on the app's own tables in runtime storage (`tables`, e.g. the arrivals ledger): the
   * app's table endpoint goes through a fault proxy that leaves every other table (the Durable engine's) alone.
   */
  tableFaults?: { seed?: number; http: HttpFaultSettings; tables: string[] };
  /** Seeded faults on publishing to the custom topics (the app's outcome events). */
  topicFaults?: { seed?: number; http: HttpFaultSettings };
  jobTimeScale?: number;
  eventGridDelivery?: DeliveryOptions;
  /** Where the host's log lines go (default: discarded once started; the demo prints its own). */
  onHostLog?: (line: string) => void;
  /** Start the app host (default true). */
  startHost?: boolean;
  log?: (message: string) => void;
}

export interface RunningLocalStack {
  ports: LocalStackPorts;
  hostUrl: string;
  cert: LocalCertificate;
  issuer: DevTokenIssuer;
  eventGrid: RunningEventGridEmulator;
  azureMl: RunningAzureMlEmulator;
  sample: SampleWorkspace;
  azurite: RunningAzurite | undefined;
  /** Connection string of the data account as clients see it (through the blob proxy). */
  dataConnectionString: string;
  /** Connection string of the data account as the app reaches it (through the fault proxy when `storageFaults` is set). */
  appDataConnectionString: string;
  /** Connection string of Azurite itself (runtime storage: tables and queues). */
  runtimeConnectionString: string;
  /** What the storage fault proxy did so far (undefined without `storageFaults`). */
  storageFaultStats(): HttpFaultStats | undefined;
  /** What the table fault proxy did so far (undefined without `tableFaults`). */
  tableFaultStats(): HttpFaultStats | undefined;
  appSettings: Record<string, string>;
  routesFile: string;
  host: HostChild | undefined;
  startHost(): Promise<HostChild>;
  stop(): Promise<void>;
}

export type { HostChild };

export function demoRoutesYaml(): string {
  return `# Routes of the local stack's demo: CSV files dropped into input/demo/<folder>/ are gathered per
# folder until a _SUCCESS marker lands, then scored as one job on the sample churn endpoint.
routes:
  - name: churn-demo
    trigger:
      storageAccounts: [devstoreaccount1]
      container: ${INPUT_CONTAINER}
      pathPrefix: demo/
      pathGlob: "**/*.csv"
    batching: { mode: marker, markerName: _SUCCESS }
    target:
      endpoint: churn-scoring
      outputPath: batchpilot/{route}/{date}/{runId}
      overrides: { miniBatchSize: 4, errorThreshold: -1 }
    wait: { pollMinIntervalInSeconds: 2, pollMaxIntervalInSeconds: 30, timeoutInMinutes: 30 }
    validation:
      rowCount: { toleranceRows: 0 }
      maxFailedFileRatio: 0
    events: { typePrefix: Batchpilot.Demo }
  - name: churn-files
    trigger:
      storageAccounts: [devstoreaccount1]
      container: ${INPUT_CONTAINER}
      pathPrefix: single/
    target: { endpoint: churn-scoring }
    wait: { pollMinIntervalInSeconds: 2, pollMaxIntervalInSeconds: 30, timeoutInMinutes: 30 }
    validation: {}
    events: { typePrefix: Batchpilot.Demo }
# A churn model version registered with the tag stage=candidate is deployed beside the endpoint's
# default, both score the sample data asset, and the candidate waits for an operator's approval.
modelRoutes:
  - name: churn-models
    trigger: { modelName: churn, tags: { stage: candidate } }
    target: { endpoint: churn-scoring, candidate: { naming: perVersion } }
    validationData: { type: data_asset, asset: "azureml:churn-sample:1" }
    wait: { pollMinIntervalInSeconds: 2, pollMaxIntervalInSeconds: 30, timeoutInMinutes: 30 }
    comparison: { keyColumns: [0, 1], scoreColumn: 2, labelColumn: 3, minLabelAgreement: 0.9, maxMeanAbsScoreDifference: 0.1 }
    gate: { policy: manual, approvalTimeoutInMinutes: 1440, onTimeout: reject }
    keepReplacedDeploymentsForDays: 30
    events: { typePrefix: Batchpilot.Demo }
`;
}

async function listenIdentityEndpoint(issuer: DevTokenIssuer, port: number): Promise<{ url: string; header: string; port: number; close(): Promise<void> }> {
  const endpoint = createIdentityEndpoint(issuer);
  const server = http.createServer((req, res) => endpoint.handle(req, res));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const actual = (server.address() as AddressInfo).port;
  return { url: `http://127.0.0.1:${actual}/msi/token`, header: endpoint.identityHeader, port: actual, close: () => new Promise((r) => server.close(() => r())) };
}

/** The topics and subscriptions infra/ creates in Azure; the emulator reads the same file. */
export const EVENT_SUBSCRIPTIONS_FILE = path.join(REPO_ROOT, 'infra', 'eventSubscriptions.json');

export async function startLocalStack(options: LocalStackOptions = {}): Promise<RunningLocalStack> {
  const log = options.log ?? (() => undefined);
  const ports: LocalStackPorts = { ...DEFAULT_PORTS, ...options.ports };
  const stateDir = options.stateDir ?? path.join(REPO_ROOT, '.local');
  fs.mkdirSync(stateDir, { recursive: true });
  const cleanups: Array<() => Promise<void>> = [];
  const stopAll = async (): Promise<void> => {
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
    cleanups.length = 0;
  };
  try {
    const cert = await ensureLocalCertificate(path.join(stateDir, 'tls'));
    const issuer = new DevTokenIssuer();

    let azurite: RunningAzurite | undefined;
    let azuriteEndpoints: AzuriteEndpoints;
    if (options.azurite) {
      azuriteEndpoints = options.azurite;
    } else {
      azurite = await startAzurite({
        blobPort: ports.azuriteBlob,
        queuePort: ports.azuriteQueue,
        tablePort: ports.azuriteTable,
        location: options.persistAzurite === false ? undefined : path.join(stateDir, 'azurite'),
      });
      cleanups.push(() => azurite!.stop());
      azuriteEndpoints = azurite;
      log(`Azurite: blob ${azurite.blobPort}, queue ${azurite.queuePort}, table ${azurite.tablePort}`);
    }
    ports.azuriteBlob = azuriteEndpoints.blobPort;
    ports.azuriteQueue = azuriteEndpoints.queuePort;
    ports.azuriteTable = azuriteEndpoints.tablePort;
    const runtimeConnectionString = azuriteConnectionString(azuriteEndpoints);

    const identity = await listenIdentityEndpoint(issuer, ports.identity);
    cleanups.push(() => identity.close());
    ports.identity = identity.port;

    let storageFaultProxy: RunningStorageFaultProxy | undefined;
    const eventGrid = await startEventGridEmulator({
      port: ports.eventGrid,
      tls: { cert: cert.cert, key: cert.key, ca: cert.ca },
      issuer,
      storage: { connectionString: runtimeConnectionString, blobPort: azuriteEndpoints.blobPort, proxyPort: ports.blob, eventUrlOrigin: () => storageFaultProxy?.origin },
      workspaceResourceId: LOCAL_WORKSPACE_ID,
      subscriptionsFile: EVENT_SUBSCRIPTIONS_FILE,
      delivery: options.eventGridDelivery ?? { timeScale: 0.01 },
      publishFaults: options.topicFaults,
    });
    cleanups.push(() => eventGrid.stop());
    ports.eventGrid = Number(new URL(eventGrid.baseUrl).port);
    ports.blob = Number(new URL(eventGrid.blobProxyUrl).port);
    const dataConnectionString = eventGrid.blobProxyConnectionString;
    let appDataConnectionString = dataConnectionString;
    if (options.storageFaults) {
      const proxy = await startStorageFaultProxy({ upstreamPort: ports.blob, faults: options.storageFaults.http, seed: options.storageFaults.seed });
      storageFaultProxy = proxy;
      cleanups.push(() => proxy.stop());
      appDataConnectionString = dataConnectionString.replace(`127.0.0.1:${ports.blob}/`, `127.0.0.1:${proxy.port}/`);
      log(`Storage fault proxy for the app: ${proxy.origin}`);
    }
    let appRuntimeConnectionString = runtimeConnectionString;
    let tableFaultProxy: RunningStorageFaultProxy | undefined;
    if (options.tableFaults) {
      const names = options.tableFaults.tables.map((t) => t.toLowerCase());
      const proxy = await startStorageFaultProxy({
        upstreamPort: ports.azuriteTable,
        faults: options.tableFaults.http,
        seed: options.tableFaults.seed,
        // A table's own requests name it in the path; a transaction ($batch) only in its body.
        appliesTo: ({ url, body }) => {
          const path = decodeURIComponent(url.split('?')[0]).toLowerCase();
          const where = path.endsWith('/$batch') ? body.toString('utf8').toLowerCase() : path;
          return names.some((n) => where.includes(`/${n}`));
        },
      });
      tableFaultProxy = proxy;
      cleanups.push(() => proxy.stop());
      appRuntimeConnectionString = runtimeConnectionString.replace(`TableEndpoint=http://127.0.0.1:${ports.azuriteTable}/`, `TableEndpoint=http://127.0.0.1:${proxy.port}/`);
      log(`Table fault proxy for the app's tables (${options.tableFaults.tables.join(', ')}): ${proxy.origin}`);
    }
    log(`Event Grid emulator: ${eventGrid.baseUrl}; storage account (raises events): ${eventGrid.blobProxyUrl}`);

    const azureMl = await startAzureMlEmulator({
      port: ports.azureMl,
      ...LOCAL_WORKSPACE,
      tls: { cert: cert.cert, key: cert.key },
      issuer,
      storageConnectionString: dataConnectionString,
      faults: options.mlFaults,
      jobTimeScale: options.jobTimeScale ?? 0.05,
      stateDir: options.persistAzurite === false || options.azurite ? undefined : path.join(stateDir, 'azureml'),
      publishEvents: async (events) => {
        eventGrid.publishSystemEvents('workspace', events as Parameters<RunningEventGridEmulator['publishSystemEvents']>[1]);
      },
    });
    cleanups.push(() => azureMl.stop());
    ports.azureMl = azureMl.port;
    log(`Azure ML emulator: ${azureMl.armBaseUrl} (workspace ${azureMl.workspaceId})`);
    const sample = await seedSampleWorkspace(azureMl, { credential: issuer.credential(), ca: cert.ca });

    const { BlobServiceClient } = await import('@azure/storage-blob');
    const data = BlobServiceClient.fromConnectionString(dataConnectionString);
    for (const c of [INPUT_CONTAINER, DEAD_LETTER_CONTAINER, 'runs']) await data.getContainerClient(c).createIfNotExists();

    const routesFile = path.join(stateDir, 'stack', `routes-${process.pid}-${Date.now().toString(36)}.yaml`);
    fs.mkdirSync(path.dirname(routesFile), { recursive: true });
    fs.writeFileSync(routesFile, options.routesYaml ?? demoRoutesYaml());

    const appSettings: Record<string, string> = {
      FUNCTIONS_WORKER_RUNTIME: 'node',
      AzureWebJobsStorage: appRuntimeConnectionString,
      BATCHPILOT_TASK_HUB: options.taskHub ?? 'batchpilot',
      AZURE_CLIENT_ID: '',
      BATCHPILOT_ROUTES_PATH: routesFile,
      BATCHPILOT_ARM_ENDPOINT: azureMl.armBaseUrl,
      BATCHPILOT_ML_WORKSPACE_ID: azureMl.workspaceId,
      BATCHPILOT_EVENTS_TOPIC_ENDPOINT: eventGrid.topicEndpoint(EVENTS_TOPIC),
      BATCHPILOT_DATA_STORAGE: appDataConnectionString,
      BATCHPILOT_RUNS_CONTAINER: 'runs',
      BATCHPILOT_AUDIT_CONTAINER: 'audit',
      BATCHPILOT_OPERATOR_READ_ONLY: 'false',
      // The keys are the developer's own (.local/host/keys.json); in Azure a key alone is a Reader.
      BATCHPILOT_OPERATOR_KEY_ROLE: 'Operator',
      IDENTITY_ENDPOINT: identity.url,
      IDENTITY_HEADER: identity.header,
      NODE_EXTRA_CA_CERTS: cert.caPath,
      ...options.settings,
    };

    const hostDataDir = path.join(stateDir, 'host');
    let hostChild: HostChild | undefined;
    const startHost = async (): Promise<HostChild> => {
      const child = await spawnLocalHost({ appDir: REPO_ROOT, port: ports.host, dataDir: hostDataDir, env: appSettings, onLog: options.onHostLog });
      ports.host = Number(new URL(child.url).port);
      const keys = JSON.parse(fs.readFileSync(child.keysFile, 'utf8')) as { systemKeys: Record<string, string> };
      eventGrid.setFunctionsHost({ baseUrl: child.url, eventGridSystemKey: keys.systemKeys.eventgrid_extension });
      stack.host = child;
      return child;
    };

    const stack: RunningLocalStack = {
      ports,
      hostUrl: '',
      cert,
      issuer,
      eventGrid,
      azureMl,
      sample,
      azurite,
      dataConnectionString,
      appDataConnectionString,
      runtimeConnectionString,
      storageFaultStats: () => storageFaultProxy?.stats(),
      tableFaultStats: () => tableFaultProxy?.stats(),
      appSettings,
      routesFile,
      host: undefined,
      startHost: async () => {
        const h = await startHost();
        stack.hostUrl = h.url;
        return h;
      },
      stop: async () => {
        eventGrid.setFunctionsHost(undefined);
        await stack.host?.kill('SIGTERM');
        await stopAll();
        fs.rmSync(routesFile, { force: true });
      },
    };
    cleanups.push(async () => {
      await hostChild?.kill('SIGTERM');
    });
    if (options.startHost !== false) {
      hostChild = await stack.startHost();
      log(`Functions host: ${hostChild.url}`);
    }
    return stack;
  } catch (err) {
    await stopAll();
    throw err;
  }
}
