// The operator API's view of Durable instances: one shape for what `getStatus` and `getStatusBy` answer
// (class instances with Dates, or the raw JSON with strings), reads that say "not found" instead of
// throwing, and which instances are runs (blob, model, rollback) rather than their sub-runs and
// partition gatherers.
import type { DurableClient } from 'durable-functions';
import type { RunKind } from './operatorApiTypes';
import { SCORE_BLOB_RUN } from '../orchestrations/scoreBlobRun';
import { PROMOTE_MODEL } from '../orchestrations/promoteModel';
import { ROLLBACK_MODEL } from '../orchestrations/rollbackModel';

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
 * The status with its history, from the extension's status URL: the library's getStatus drops the
 * `historyEvents` the extension answers (azure-functions-durable-js#620).
 */
async function readWithHistory(client: DurableClient, instanceId: string): Promise<InstanceStatus> {
  const url = new URL(client.createHttpManagementPayload(instanceId).statusQueryGetUri);
  for (const flag of ['showHistory', 'showHistoryOutput', 'showInput']) url.searchParams.set(flag, 'true');
  const res = await fetch(url);
  if (res.status === 404) throw new Error(`HTTP 404 response: no instance with ID '${instanceId}'.`);
  if (res.status !== 200 && res.status !== 202) throw new Error(`Reading the status of '${instanceId}' failed: HTTP ${res.status} ${(await res.text()).slice(0, 300)}`);
  return instanceStatusOf(await res.json());
}

export interface InstanceQuery {
  createdTimeFrom?: Date;
  createdTimeTo?: Date;
  runtimeStatus?: string[];
}

/** Every instance matching the query (the client follows continuation tokens itself). */
export async function queryInstances(client: DurableClient, query: InstanceQuery): Promise<InstanceStatus[]> {
  const filter = {
    ...(query.createdTimeFrom ? { createdTimeFrom: query.createdTimeFrom } : {}),
    ...(query.createdTimeTo ? { createdTimeTo: query.createdTimeTo } : {}),
    ...(query.runtimeStatus?.length ? { runtimeStatus: query.runtimeStatus as Parameters<DurableClient['getStatusBy']>[0]['runtimeStatus'] } : {}),
  };
  const found = await client.getStatusBy(filter);
  return (found ?? []).map(instanceStatusOf);
}

const KIND_BY_ORCHESTRATION: Record<string, RunKind> = { [SCORE_BLOB_RUN]: 'blob', [PROMOTE_MODEL]: 'model', [ROLLBACK_MODEL]: 'rollback' };

/**
 * The run kind of an instance, or undefined for instances that are not runs: sub-runs (their IDs are
 * `<runId>:<part>`, e.g. `<runId>:job`, `<runId>:candidate:job`), partition gatherers, anything else.
 */
export function runKindOf(orchestration: string, instanceId: string): RunKind | undefined {
  if (instanceId.includes(':')) return undefined;
  return KIND_BY_ORCHESTRATION[orchestration];
}

/** Runtime statuses after which an instance does nothing more. */
export function isTerminalRuntimeStatus(status: string): boolean {
  return ['Completed', 'Failed', 'Terminated', 'Canceled'].includes(status);
}
