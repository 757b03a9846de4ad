// The operator API's view of Durable instances: one shape for what `getStatus` and the instance query
// answer (class instances with Dates, or the raw JSON with strings), reads that say "not found" instead
// of throwing, instance queries one page at a time, and which instances are runs (blob, model,
// rollback) rather than their sub-runs and partition gatherers.
import type { DurableClient } from 'durable-functions';
import type { RunKind } from './operatorApiTypes';
import { SCORE_BLOB_RUN } from '../orchestrations/scoreBlobRun';
import { PROMOTE_MODEL } from '../orchestrations/promoteModel';
import { ROLLBACK_MODEL } from '../orchestrations/rollbackModel';
import { PermanentError, TransientError } from '../azure/errorClassification';
import { isSubRunInstanceId } from '../domain/runIds';

export interface InstanceStatus {
  name: string;
  instanceId: string;
  runtimeStatus: string;
  createdTime: string;
  lastUpdatedTime: string;
  input: unknown;
  output: unknown;
  customStatus: unknown;
  history?: unknown[];
}

/** Normalises one status as the durable client returns it. */
export function instanceStatusOf(raw: unknown): InstanceStatus {
  const r = (raw ?? {}) as Record<string, unknown>;
  const iso = (v: unknown): string => {
    const d = v instanceof Date ? v : new Date(String(v ?? ''));
    return Number.isNaN(d.getTime()) ? '' : d.toISOString();
  };
  return {
    name: String(r.name ?? ''),
    instanceId: String(r.instanceId ?? ''),
    runtimeStatus: String(r.runtimeStatus ?? ''),
    createdTime: iso(r.createdTime),
    lastUpdatedTime: iso(r.lastUpdatedTime),
    input: r.input ?? null,
    output: r.output ?? null,
    customStatus: r.customStatus ?? null,
    history: Array.isArray(r.history) ? r.history : Array.isArray(r.historyEvents) ? (r.historyEvents as unknown[]) : undefined,
  };
}

function isNotFound(err: unknown): boolean {
  return /HTTP 404 response|No instance with ID/.test((err as Error)?.message ?? '');
}

export interface ReadOptions {
  history?: boolean;
}

/** One instance, or undefined when there is none with that ID. */
export async function readInstance(client: DurableClient, instanceId: string, options: ReadOptions = {}): Promise<InstanceStatus | undefined> {
  try {
    if (options.history) return await readWithHistory(client, instanceId);
    return instanceStatusOf(await client.getStatus(instanceId, { showInput: true }));
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

/**
 * The status with its history, read where the client's own status queries go (its rpcBaseUrl in
 * Azure, the keyed management URL locally): the library's getStatus drops the `historyEvents` the
 * extension answers (azure-functions-durable-js#620). Never the app's public host name, which
 * App Service authentication guards.
 */
async function readWithHistory(client: DurableClient, instanceId: string): Promise<InstanceStatus> {
  const url = instanceQueryUrl(client);
  url.pathname += encodeURIComponent(instanceId);
  for (const flag of ['showHistory', 'showHistoryOutput', 'showInput']) url.searchParams.set(flag, 'true');
  let res: Response;
  try {
    res = await fetch(url, { headers: { accept: 'application/json' } });
  } catch (err) {
    throw new TransientError(`Reading the status of Durable instance at ${url.origin}${url.pathname} failed: ${(err as Error).message}`);
  }
  if (res.status === 404) throw new Error(`HTTP 404 response: no instance with ID '${instanceId}'.`);
  if (res.status !== 200 && res.status !== 202) {
    const message = `Reading the status of Durable instance at ${url.origin}${url.pathname} answered HTTP ${res.status}: ${(await res.text()).slice(0, 300)}`;
    throw res.status === 429 || res.status >= 500 ? new TransientError(message, { statusCode: res.status }) : new PermanentError(message, { statusCode: res.status });
  }
  return instanceStatusOf(await res.json());
}

export interface InstanceQuery {
  createdTimeFrom?: Date;
  createdTimeTo?: Date;
  runtimeStatus?: string[];
}

export interface InstancePage {
  items: InstanceStatus[];
  /** Pass back for the next page; absent on the last. */
  continuationToken?: string;
}

interface ClientBindingData {
  rpcBaseUrl?: string;
  managementUrls?: { id?: string; statusQueryGetUri?: string };
}

/** Where the client's own status queries go: its rpcBaseUrl, else the management URL template. */
function instanceQueryUrl(client: DurableClient): URL {
  // The library's client keeps its binding data; its getStatusBy reads every page with no way to stop.
  const data = (client as unknown as { clientData?: ClientBindingData }).clientData;
  if (data?.rpcBaseUrl) return new URL('instances/', data.rpcBaseUrl);
  const template = data?.managementUrls?.statusQueryGetUri;
  const id = data?.managementUrls?.id;
  if (template && id) return new URL(template.replace(id, ''));
  throw new PermanentError('The durable client has neither an rpcBaseUrl nor management URLs to query instances with; is this function bound to a durableClient input?');
}

/**
 * One page of instances matching the query, through the Durable HTTP API's `top` and continuation
 * token, as the library's client builds its own requests; so a caller can stop after any page.
 */
export async function queryInstancePage(client: DurableClient, query: InstanceQuery, pageSize: number, continuationToken?: string): Promise<InstancePage> {
  const url = instanceQueryUrl(client);
  if (query.createdTimeFrom) url.searchParams.set('createdTimeFrom', query.createdTimeFrom.toISOString());
  if (query.createdTimeTo) url.searchParams.set('createdTimeTo', query.createdTimeTo.toISOString());
  if (query.runtimeStatus?.length) url.searchParams.set('runtimeStatus', query.runtimeStatus.join(','));
  url.searchParams.set('showInput', 'true');
  url.searchParams.set('top', String(pageSize));
  let res: Response;
  try {
    res = await fetch(url, { headers: { accept: 'application/json', ...(continuationToken ? { 'x-ms-continuation-token': continuationToken } : {}) } });
  } catch (err) {
    throw new TransientError(`Listing Durable instances at ${url.origin}${url.pathname} failed: ${(err as Error).message}`);
  }
  const text = await res.text();
  if (!res.ok) {
    const message = `Listing Durable instances at ${url.origin}${url.pathname} answered HTTP ${res.status}: ${text.slice(0, 300)}`;
    throw res.status === 429 || res.status >= 500 ? new TransientError(message, { statusCode: res.status }) : new PermanentError(message, { statusCode: res.status });
  }
  let items: unknown;
  try {
    items = text ? JSON.parse(text) : [];
  } catch {
    throw new TransientError(`Listing Durable instances at ${url.origin}${url.pathname} answered something that is not JSON: ${text.slice(0, 200)}`);
  }
  if (!Array.isArray(items)) throw new PermanentError(`Listing Durable instances at ${url.origin}${url.pathname} answered a ${typeof items}, not a list of instances.`);
  const next = res.headers.get('x-ms-continuation-token');
  return { items: items.map(instanceStatusOf), ...(next ? { continuationToken: next } : {}) };
}

const KIND_BY_ORCHESTRATION: Record<string, RunKind> = { [SCORE_BLOB_RUN]: 'blob', [PROMOTE_MODEL]: 'model', [ROLLBACK_MODEL]: 'rollback' };

/**
 * The run kind of an instance, or undefined for instances that are not runs: sub-runs (their IDs are
 * `<runId>:<part>`, e.g. `<runId>:job`, `<runId>:candidate:job`), partition gatherers, anything else.
 */
export function runKindOf(orchestration: string, instanceId: string): RunKind | undefined {
  if (isSubRunInstanceId(instanceId)) return undefined;
  return KIND_BY_ORCHESTRATION[orchestration];
}

/** Runtime statuses after which an instance does nothing more. */
export function isTerminalRuntimeStatus(status: string): boolean {
  return ['Completed', 'Failed', 'Terminated', 'Canceled'].includes(status);
}
