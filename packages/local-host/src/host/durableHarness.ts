// Drives a Durable Functions app on the local host from tests: a host process on the app with its own
// task hub, the unmodified DurableClient of durable-functions (which the app under test has installed)
// pointed at it, and polling helpers. The engine's own suites and the apps' end-to-end tests use it.
import type { DurableClient, DurableOrchestrationStatus } from 'durable-functions';
import { startHostProcess, HostProcess } from './localHostProcess';
import { ManagementUrlBuilder } from '../durable/managementUrls';

// The library's own client class (the one df.getClient builds), constructed from binding data.
const { DurableClient: DurableClientClass } = require('durable-functions/lib/src/durableClient/DurableClient') as { DurableClient: new (data: unknown) => DurableClient };

export interface DurableHost {
  host: HostProcess;
  hub: string;
  client: DurableClient;
  /** Base of the engine's routes, e.g. http://127.0.0.1:PORT/runtime/webhooks/durabletask */
  rpc: string;
  systemKey: string;
  /** Calls one of the engine's routes (`path` under `rpc`) with the durabletask system key, as the extension's callers do. */
  call(path: string, init?: RequestInit): Promise<Response>;
}

export interface DurableHostOptions {
  appDir: string;
  /** The task hub (DURABLE_TEST_HUB for apps whose host.json names %DURABLE_TEST_HUB%). */
  hub: string;
  /** AzureWebJobsStorage of the host. */
  storageConnectionString: string;
  /** Where the host keeps its keys. */
  dataDir: string;
  env?: Record<string, string>;
}

export async function startDurableHost(options: DurableHostOptions): Promise<DurableHost> {
  const { hub } = options;
  const host = await startHostProcess({
    appDir: options.appDir,
    dataDir: options.dataDir,
    env: { AzureWebJobsStorage: options.storageConnectionString, DURABLE_TEST_HUB: hub, ...options.env },
  });
  const systemKey = host.keys.systemKeys.durabletask_extension;
  const urls = new ManagementUrlBuilder(host.url, hub, systemKey);
  const rpc = urls.webhookBase;
  const call = (p: string, init: RequestInit = {}): Promise<Response> => fetch(`${rpc}${p}`, { ...init, headers: { ...(init.headers as Record<string, string> | undefined), 'x-functions-key': systemKey } });
  return { host, hub, client: new DurableClientClass(urls.clientBinding()), rpc, systemKey, call };
}

/**
 * getStatus with the history: the extension answers it as `historyEvents`, which the library's
 * DurableOrchestrationStatus drops (azure-functions-durable-js#620), so it is read from the HTTP API.
 */
export async function statusWithHistory(client: DurableClient, instanceId: string): Promise<DurableOrchestrationStatus> {
  const url = new URL(client.createHttpManagementPayload(instanceId).statusQueryGetUri);
  for (const flag of ['showHistory', 'showHistoryOutput', 'showInput']) url.searchParams.set(flag, 'true');
  const res = await fetch(url);
  if (res.status === 404) throw new Error(`HTTP 404 response for instance ${instanceId}`);
  if (res.status !== 200 && res.status !== 202) throw new Error(`Status of ${instanceId}: HTTP ${res.status} ${await res.text()}`);
  const body = (await res.json()) as Record<string, unknown>;
  return { ...body, createdTime: new Date(String(body.createdTime)), lastUpdatedTime: new Date(String(body.lastUpdatedTime)), history: body.historyEvents } as unknown as DurableOrchestrationStatus;
}

const UNFINISHED = new Set(['Pending', 'Running', 'ContinuedAsNew', 'Suspended']);

/** Polls getStatus until `done` holds (default: the instance finished). */
export async function waitForStatus(
  client: DurableClient,
  instanceId: string,
  done: (s: DurableOrchestrationStatus) => boolean = (s) => !UNFINISHED.has(s.runtimeStatus),
  options: { timeoutInMs?: number; showHistory?: boolean } = {},
): Promise<DurableOrchestrationStatus> {
  const deadline = Date.now() + (options.timeoutInMs ?? 60000);
  let last: DurableOrchestrationStatus | undefined;
  for (;;) {
    try {
      const current = (options.showHistory ?? true) ? await statusWithHistory(client, instanceId) : await client.getStatus(instanceId, { showInput: true });
      last = current;
      if (done(current)) return current;
    } catch (err) {
      if (!/404/.test((err as Error).message)) throw err;
    }
    if (Date.now() > deadline) throw new Error(`Instance ${instanceId} did not reach the expected state; last status: ${JSON.stringify(last)}`);
    await new Promise((r) => setTimeout(r, 40));
  }
}

export type HistoryEntry = Record<string, unknown> & { EventType: string };

export function historyOf(status: DurableOrchestrationStatus): HistoryEntry[] {
  return (status.history ?? []) as unknown as HistoryEntry[];
}
