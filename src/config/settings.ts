// Every app setting batchpilot reads, or the Functions host and Durable extension read for it, with its
// schema and where it comes from. This list is the source of truth that `local.settings.sample.json`
// and `infra/app/*.bicep` are tested against.
// Storage connections follow the Functions convention: `NAME` holds a connection string (Azurite
// locally) or `NAME__blobServiceUri` (+ `__credential`, `__clientId`) selects identity-based access.
import { z } from 'zod';

export interface SettingDefinition {
  name: string;
  description: string;
  required: boolean;
  /** Settings read by the Functions platform or the Durable extension rather than by our code. */
  readBy: 'app' | 'platform';
  /** A connection prefix: Azure sets `NAME__...` variants instead of NAME itself. */
  connection?: boolean;
  /** App Service injects it itself: never an app setting (infra and the local sample leave it out). */
  injectedByPlatform?: boolean;
  /**
   * Set only in Azure, and only with this Durable Functions backend (BATCHPILOT_DURABLE_BACKEND in
   * infra/DEPLOY.md); the local stack runs its own durable engine and never sets it.
   */
  durableBackend?: 'dts';
}

export const SETTINGS: readonly SettingDefinition[] = [
  { name: 'AzureWebJobsStorage', readBy: 'platform', required: true, connection: true, description: 'Runtime storage: host state, the arrivals and promotions ledgers, the run index (tables), and the Durable task hub (tables, queues) with the storage backend.' },
  { name: 'BATCHPILOT_TASK_HUB', readBy: 'app', required: true, description: 'Durable task hub name (host.json extensions.durableTask.hubName); with the dts backend, the name of the scheduler\'s task hub. The run index tables in runtime storage are named after it (<hub>Runs, <hub>RunsByTime, ...).' },
  { name: 'APPLICATIONINSIGHTS_CONNECTION_STRING', readBy: 'app', required: false, description: "Application Insights ingestion (no key: Entra auth below). The host's telemetry, and batchpilot's run metrics (src/azure/runTelemetry.ts, with the app's identity); unset locally: no metrics are sent." },
  { name: 'APPLICATIONINSIGHTS_AUTHENTICATION_STRING', readBy: 'platform', required: false, description: "Entra auth for Application Insights: 'Authorization=AAD;ClientId=<identity client id>'." },
  { name: 'AZURE_CLIENT_ID', readBy: 'app', required: false, description: 'Client ID of the user-assigned managed identity DefaultAzureCredential uses.' },
  { name: 'BATCHPILOT_ROUTES_PATH', readBy: 'app', required: true, description: 'Routes file (YAML or JSON), relative to the app root; ${SETTING} placeholders are filled from settings.' },
  { name: 'BATCHPILOT_ARM_ENDPOINT', readBy: 'app', required: true, description: 'Azure Resource Manager endpoint (https://management.azure.com).' },
  { name: 'BATCHPILOT_ML_WORKSPACE_ID', readBy: 'app', required: true, description: 'Resource ID of the Azure ML workspace routes use by default.' },
  { name: 'BATCHPILOT_EVENTS_TOPIC_ENDPOINT', readBy: 'app', required: true, description: "Custom topic endpoint (CloudEvents schema) for batchpilot's completion and failure events." },
  { name: 'BATCHPILOT_DATA_STORAGE', readBy: 'app', required: true, connection: true, description: 'Data storage account (inputs, outputs, run records).' },
  { name: 'BATCHPILOT_RUNS_CONTAINER', readBy: 'app', required: false, description: "Container for run records and reports (default 'runs')." },
  { name: 'BATCHPILOT_AUDIT_CONTAINER', readBy: 'app', required: false, description: "Container for the operator audit trail, write-once records in a hash chain (default 'audit'); infra gives it a time-based immutability policy." },
  { name: 'BATCHPILOT_OPERATOR_READ_ONLY', readBy: 'app', required: false, description: "'true' makes the operator API refuse every change." },
  { name: 'BATCHPILOT_OPERATOR_KEY_ROLE', readBy: 'app', required: false, description: "App role of a caller that shows only a function key: 'Reader' (default) or 'Operator'." },
  {
    name: 'WEBSITE_AUTH_ENABLED',
    readBy: 'app',
    required: false,
    injectedByPlatform: true,
    description: "Set by App Service when its built-in authentication is on ('True'); only then are x-ms-client-principal headers trusted, because only then does the platform strip client-sent ones.",
  },
  // host.json stays one file for both backends: these override its durableTask.storageProvider section.
  { name: 'AzureFunctionsJobHost__extensions__durableTask__storageProvider__type', readBy: 'platform', required: false, durableBackend: 'dts', description: "'azureManaged': the Durable Task Scheduler keeps orchestration state instead of AzureWebJobsStorage." },
  { name: 'AzureFunctionsJobHost__extensions__durableTask__storageProvider__connectionStringName', readBy: 'platform', required: false, durableBackend: 'dts', description: 'Names the setting below.' },
  { name: 'DURABLE_TASK_SCHEDULER_CONNECTION_STRING', readBy: 'platform', required: false, durableBackend: 'dts', description: "Scheduler endpoint and identity, no secret: 'Endpoint=<scheduler endpoint>;Authentication=ManagedIdentity;ClientID=<identity client id>'." },
];

export class SettingsError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid app settings:\n- ${problems.join('\n- ')}`);
    this.name = 'SettingsError';
  }
}

/** A storage connection resolved from `NAME` or `NAME__*` settings. */
export type StorageConnection =
  | { kind: 'connectionString'; connectionString: string }
  | { kind: 'identity'; blobServiceUri: string; clientId?: string };

const httpsUrl = z.string().url().refine((u) => /^https:\/\//i.test(u), 'must be an https URL');
const workspaceId = z
  .string()
  .regex(/^\/subscriptions\/[^/]+\/resourceGroups\/[^/]+\/providers\/Microsoft\.MachineLearningServices\/workspaces\/[^/]+$/i, 'must be a workspace resource ID: /subscriptions/<id>/resourceGroups/<rg>/providers/Microsoft.MachineLearningServices/workspaces/<name>');

/** Durable task hub names; the run index's tables (<hub>Runs, ...) are named after it, so no hyphens. */
const taskHubName = z.string().regex(/^[A-Za-z][A-Za-z0-9]{2,44}$/, 'must be 3-45 letters and digits, starting with a letter (it names the Durable task hub and the tables named after it)');

export interface Settings {
  routesPath: string;
  armEndpoint: string;
  workspaceId: string;
  eventsTopicEndpoint: string;
  dataStorage: StorageConnection;
  runsContainer: string;
  auditContainer: string;
  operatorReadOnly: boolean;
  /** The app role of a key-only caller. */
  operatorKeyRole: 'Reader' | 'Operator';
  /** App Service authentication is on, so principal headers come from the platform. */
  platformAuthentication: boolean;
  managedIdentityClientId?: string;
}

function ordinal(n: number): string {
  const last = n % 100 >= 11 && n % 100 <= 13 ? 0 : n % 10;
  return `${n}${last === 1 ? 'st' : last === 2 ? 'nd' : last === 3 ? 'rd' : 'th'}`;
}

/**
 * What keeps a storage connection string from reaching blob storage, or undefined when it can: the
 * storage SDK would only say so at the first call, without naming the setting. Values are never echoed
 * (a connection string may hold a key).
 */
export function connectionStringProblem(text: string): string | undefined {
  const parts = new Map<string, string>();
  for (const [i, part] of text.split(';').entries()) {
    if (!part.trim()) continue;
    const at = part.indexOf('=');
    if (at <= 0) return `has a part (the ${ordinal(i + 1)}) that is not Key=Value`;
    parts.set(part.slice(0, at).trim().toLowerCase(), part.slice(at + 1).trim());
  }
  if (parts.get('usedevelopmentstorage')?.toLowerCase() === 'true') return undefined;
  const endpoint = parts.get('blobendpoint');
  if (endpoint !== undefined && !/^https?:\/\/[^/\s]+/i.test(endpoint)) return 'has a BlobEndpoint that is not an http(s) URL';
  const signed = parts.has('sharedaccesssignature');
  if (signed && endpoint === undefined) return 'has a SharedAccessSignature but no BlobEndpoint to use it with';
  if (!signed && !(parts.get('accountname') && parts.get('accountkey'))) return 'needs AccountName and AccountKey, BlobEndpoint and SharedAccessSignature, or UseDevelopmentStorage=true';
  return undefined;
}

function readConnection(env: NodeJS.ProcessEnv, name: string, problems: string[]): StorageConnection | undefined {
  const direct = env[name];
  if (direct) {
    if (!/(AccountName=|UseDevelopmentStorage=true|BlobEndpoint=)/i.test(direct)) {
      problems.push(`${name} must be a storage connection string; for identity-based access set ${name}__blobServiceUri instead.`);
      return undefined;
    }
    const problem = connectionStringProblem(direct);
    if (problem) {
      problems.push(`${name} is not a usable storage connection string: it ${problem}. For identity-based access set ${name}__blobServiceUri instead.`);
      return undefined;
    }
    return { kind: 'connectionString', connectionString: direct };
  }
  const uri = env[`${name}__blobServiceUri`] ?? (env[`${name}__accountName`] ? `https://${env[`${name}__accountName`]}.blob.core.windows.net` : undefined);
  if (!uri) {
    problems.push(`${name} is not set: give a connection string (locally) or ${name}__blobServiceUri with managed identity (in Azure).`);
    return undefined;
  }
  const parsed = httpsUrl.safeParse(uri);
  if (!parsed.success) {
    problems.push(`${name}__blobServiceUri ${parsed.error.issues[0].message} (got '${uri}').`);
    return undefined;
  }
  return { kind: 'identity', blobServiceUri: uri.replace(/\/+$/, ''), clientId: env[`${name}__clientId`] ?? env.AZURE_CLIENT_ID };
}

/** Reads and checks the settings; every problem is reported at once, naming the setting. */
export function loadSettings(env: NodeJS.ProcessEnv = process.env): Settings {
  const problems: string[] = [];
  const need = (name: string): string => {
    const v = env[name];
    if (!v || !v.trim()) problems.push(`${name} is required: ${SETTINGS.find((s) => s.name === name)?.description ?? ''}`);
    return (v ?? '').trim();
  };
  const check = <T>(name: string, schema: z.ZodType<T>, value: string): void => {
    if (!value) return;
    const r = schema.safeParse(value);
    if (!r.success) problems.push(`${name} ${r.error.issues[0].message} (got '${value}').`);
  };
  const routesPath = need('BATCHPILOT_ROUTES_PATH');
  // Read where it is used (the run index, accepted runs, measurements); checked here so that a bad one stops the start.
  check('BATCHPILOT_TASK_HUB', taskHubName, need('BATCHPILOT_TASK_HUB'));
  const armEndpoint = need('BATCHPILOT_ARM_ENDPOINT');
  check('BATCHPILOT_ARM_ENDPOINT', httpsUrl, armEndpoint);
  const ws = need('BATCHPILOT_ML_WORKSPACE_ID');
  check('BATCHPILOT_ML_WORKSPACE_ID', workspaceId, ws);
  const topic = need('BATCHPILOT_EVENTS_TOPIC_ENDPOINT');
  check('BATCHPILOT_EVENTS_TOPIC_ENDPOINT', httpsUrl, topic);
  const dataStorage = readConnection(env, 'BATCHPILOT_DATA_STORAGE', problems);
  const containerName = z.string().regex(/^[a-z0-9](?!.*--)[a-z0-9-]{1,61}[a-z0-9]$/, 'must be a valid container name (3-63 lower-case letters, digits, single hyphens)');
  const runsContainer = (env.BATCHPILOT_RUNS_CONTAINER ?? 'runs').trim() || 'runs';
  check('BATCHPILOT_RUNS_CONTAINER', containerName, runsContainer);
  const auditContainer = (env.BATCHPILOT_AUDIT_CONTAINER ?? 'audit').trim() || 'audit';
  check('BATCHPILOT_AUDIT_CONTAINER', containerName, auditContainer);
  if (auditContainer === runsContainer) problems.push(`BATCHPILOT_AUDIT_CONTAINER must differ from BATCHPILOT_RUNS_CONTAINER ('${runsContainer}'): the audit trail needs a container of its own, where nothing is overwritten or deleted.`);
  const ro = (env.BATCHPILOT_OPERATOR_READ_ONLY ?? 'false').trim().toLowerCase();
  if (!['true', 'false', '1', '0', ''].includes(ro)) problems.push(`BATCHPILOT_OPERATOR_READ_ONLY must be true or false (got '${env.BATCHPILOT_OPERATOR_READ_ONLY}').`);
  const keyRoleText = (env.BATCHPILOT_OPERATOR_KEY_ROLE ?? '').trim();
  const keyRole = (['Reader', 'Operator'] as const).find((r) => r.toLowerCase() === (keyRoleText || 'Reader').toLowerCase());
  if (!keyRole) problems.push(`BATCHPILOT_OPERATOR_KEY_ROLE must be Reader or Operator (got '${keyRoleText}').`);
  if (problems.length) throw new SettingsError(problems);
  return {
    routesPath,
    armEndpoint: armEndpoint.replace(/\/+$/, ''),
    workspaceId: ws,
    eventsTopicEndpoint: topic,
    dataStorage: dataStorage!,
    runsContainer,
    auditContainer,
    operatorReadOnly: ro === 'true' || ro === '1',
    operatorKeyRole: keyRole!,
    // App Service writes 'True'; anything else (unset locally) means no platform authentication.
    platformAuthentication: /^(true|1)$/i.test((env.WEBSITE_AUTH_ENABLED ?? '').trim()),
    managedIdentityClientId: env.AZURE_CLIENT_ID || undefined,
  };
}
