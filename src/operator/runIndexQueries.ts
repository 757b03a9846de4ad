// Where the operator API's lists and counts come from: the run index (src/azure/runIndex.ts) once it
// holds every run, the Durable instance store (runQueries.ts, bounded scans) until then, with a note
// saying so. The index is ready when its backfill of runs from before it has finished (the maintenance
// timer or `batchpilot runs backfill-index`); a ready index stays ready, so that is read once per
// process. A continuation token names its source, so a list paged through during the switch goes on
// where it started. Answers are shared across requests for a few seconds either way.
import type { DurableClient } from 'durable-functions';
import type { RunCounts, RunIndexStatus, RunListPage } from './operatorApiTypes';
import { OperatorError } from './operatorHttp';
import { countRuns, fingerprint, listRuns, RunFilter, runQueryCache } from './runQueries';
import { appRunIndex, RunIndex } from '../azure/runIndex';
import { classifyAzureError } from '../azure/errorClassification';

export const INDEX_NOT_READY = 'The run index is still being filled with runs from before it existed (`batchpilot runs backfill-index`, or its maintenance timer, does this); until then lists and counts read the Durable instance store, a bounded number of instances per request.';

/** How long a "not ready yet" answer about the index is believed. */
const NOT_READY_RECHECK_IN_MS = 5_000;
let readiness: { at: number; index?: RunIndex; note: string } | undefined;

/** The index if it is ready; otherwise why not. */
export async function readyRunIndex(index?: RunIndex, now = Date.now()): Promise<{ index?: RunIndex; note?: string }> {
  if (readiness?.index) return { index: readiness.index };
  if (!index && readiness && now - readiness.at < NOT_READY_RECHECK_IN_MS) return { note: readiness.note };
  try {
    const candidate = index ?? (await appRunIndex());
    const state = await candidate.backfillState();
    if (state?.state === 'complete') {
      if (!index) readiness = { at: now, index: candidate, note: '' };
      return { index: candidate };
    }
    if (!index) readiness = { at: now, note: INDEX_NOT_READY };
    return { note: INDEX_NOT_READY };
  } catch (err) {
    const note = `The run index could not be read (${classifyAzureError(err).message}); lists and counts read the Durable instance store meanwhile.`;
    if (!index) readiness = { at: now, note };
    return { note };
  }
}

/** Forgets what is known about the index (tests; after a backfill completes). */
export function forgetRunIndexReadiness(): void {
  readiness = undefined;
}

interface IndexCursor {
  v: 2;
  /** Row key of the last run handed out (or searched past). */
  k: string;
  f: string;
}

function encodeIndexCursor(c: Omit<IndexCursor, 'v'>): string {
  return Buffer.from(JSON.stringify({ v: 2, ...c })).toString('base64url');
}

function tokenVersion(token: string): number | undefined {
  try {
    const v = (JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as { v?: unknown }).v;
    return typeof v === 'number' ? v : undefined;
  } catch {
    return undefined;
  }
}

function decodeIndexCursor(token: string, filter: RunFilter): IndexCursor {
  let c: Partial<IndexCursor>;
  try {
    c = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as Partial<IndexCursor>;
  } catch {
    c = {};
  }
  if (c.v !== 2 || typeof c.k !== 'string' || !/^\d{13}~/.test(c.k) || typeof c.f !== 'string') {
    throw new OperatorError(400, 'InvalidContinuationToken', 'The continuation token is not one this API issued; start again without it.');
  }
  if (c.f !== fingerprint(filter)) {
    throw new OperatorError(400, 'InvalidContinuationToken', 'The continuation token belongs to a list with other filters; pass the same filters as the first page, or start again.');
  }
  return c as IndexCursor;
}

export async function listRunsFromIndex(index: RunIndex, filter: RunFilter, pageSize: number, continuationToken?: string, now = Date.now()): Promise<RunListPage> {
  const cursor = continuationToken ? decodeIndexCursor(continuationToken, filter) : undefined;
  const page = await index.list({ kinds: filter.kinds, routes: filter.routes, statuses: filter.statuses, fromMs: filter.from?.getTime(), toMs: filter.to?.getTime(), text: filter.text, pageSize, after: cursor?.k }, now);
  return {
    runs: page.runs,
    ...(page.next ? { continuationToken: encodeIndexCursor({ k: page.next, f: fingerprint(filter) }) } : {}),
    ...(page.partial ? { partial: true as const, searchedBackTo: new Date(page.partial.searchedBackToMs).toISOString() } : {}),
    source: 'index',
    tableRequests: page.tableRequests,
    asOf: new Date(now).toISOString(),
  };
}

export async function countRunsFromIndex(index: RunIndex, filter: RunFilter, now = Date.now()): Promise<RunCounts> {
  const c = await index.count({ kinds: filter.kinds, routes: filter.routes, fromMs: filter.from?.getTime(), toMs: filter.to?.getTime(), text: filter.text }, now);
  return {
    total: c.total,
    byStatus: c.byStatus,
    ...(c.partial ? { partial: true as const } : {}),
    ...(c.completeSince ? { completeSince: c.completeSince } : {}),
    ...(c.note ? { note: c.note } : {}),
    source: 'index',
    tableRequests: c.tableRequests,
    asOf: new Date(now).toISOString(),
  };
}

/** A list page from the index when it is ready (or the token came from it), else from the instance store. */
export async function answerRunList(client: DurableClient, filter: RunFilter, pageSize: number, continuationToken?: string): Promise<RunListPage> {
  const fromStore = continuationToken !== undefined && tokenVersion(continuationToken) === 1;
  const { index, note } = fromStore ? { index: undefined, note: undefined } : await readyRunIndex();
  if (index) return listRunsFromIndex(index, filter, pageSize, continuationToken);
  const page = await listRuns(client, filter, pageSize, continuationToken);
  return note ? { ...page, note } : page;
}

export async function answerRunCounts(client: DurableClient, filter: RunFilter): Promise<RunCounts> {
  const { index, note } = await readyRunIndex();
  if (index) return countRunsFromIndex(index, filter);
  const counts = await countRuns(client, filter);
  return note ? { ...counts, note } : counts;
}

export function cachedRunList(client: DurableClient, filter: RunFilter, pageSize: number, continuationToken?: string): Promise<RunListPage> {
  return runQueryCache.get(`list:${client.taskHubName}:${fingerprint(filter)}:${pageSize}:${continuationToken ?? ''}`, () => answerRunList(client, filter, pageSize, continuationToken));
}

export function cachedRunCounts(client: DurableClient, filter: RunFilter): Promise<RunCounts> {
  return runQueryCache.get(`counts:${client.taskHubName}:${fingerprint(filter)}`, () => answerRunCounts(client, filter));
}

export async function runIndexStatus(): Promise<RunIndexStatus> {
  try {
    const state = await (await appRunIndex()).backfillState();
    if (!state) return { ready: false, note: INDEX_NOT_READY };
    const { etag: _etag, position: _position, ...backfill } = state;
    return { ready: state.state === 'complete', backfill, ...(state.state === 'complete' ? {} : { note: INDEX_NOT_READY }) };
  } catch (err) {
    return { ready: false, note: `The run index could not be read: ${classifyAzureError(err).message}` };
  }
}
