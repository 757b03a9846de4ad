// Listing runs: filters (kind, route, status, time range, text), newest first, in pages joined by
// continuation tokens, and counts by status. Durable keeps no index by creation time, so the list walks
// back in time in growing windows (an hour, six, a day, a week, a month, then the rest) until a page is
// full; the newest runs, which operators look at most, cost the least. A continuation token is the
// position of the last run returned (creation time and ID), so new runs arriving between pages neither
// repeat nor shift what follows. It is bound to its filter: reusing it with other filters is refused.
import { createHash } from 'node:crypto';
import type { DurableClient } from 'durable-functions';
import { RUN_KINDS, RUN_STATUSES, RunCounts, RunKind, RunListPage, RunStatus, RunSummary } from './operatorApiTypes';
import { checkQueryNames, OperatorError } from './operatorHttp';
import { queryInstances } from './runInstances';
import { searchableText, summariseRun } from './runSummaries';

export interface RunFilter {
  kinds?: RunKind[];
  routes?: string[];
  statuses?: RunStatus[];
  from?: Date;
  to?: Date;
  /** Lower-case text to find in run IDs, routes, blob paths, job and model names. */
  text?: string;
}

export const LIST_PARAMETERS = ['kind', 'route', 'status', 'from', 'to', 'q', 'top', 'continuationToken'] as const;
export const COUNT_PARAMETERS = ['kind', 'route', 'status', 'from', 'to', 'q'] as const;
export const DEFAULT_PAGE_SIZE = 50;
export const MAX_PAGE_SIZE = 200;

function list(query: URLSearchParams, name: string): string[] | undefined {
  const values = query.getAll(name).flatMap((v) => v.split(',')).map((v) => v.trim()).filter(Boolean);
  return values.length ? [...new Set(values)] : undefined;
}

function oneOf<T extends string>(values: string[] | undefined, allowed: readonly T[], name: string): T[] | undefined {
  if (!values) return undefined;
  return values.map((v) => {
    const hit = allowed.find((a) => a.toLowerCase() === v.toLowerCase());
    if (!hit) throw new OperatorError(400, 'InvalidFilter', `${name} '${v}' is not one of ${allowed.join(', ')}.`);
    return hit;
  });
}

function instant(query: URLSearchParams, name: string): Date | undefined {
  const v = query.get(name);
  if (v === null || v.trim() === '') return undefined;
  // Dates alone (2024-05-01) are read as UTC midnight; anything else must be ISO 8601 with a time.
  if (!/^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/.test(v.trim())) {
    throw new OperatorError(400, 'InvalidFilter', `${name} '${v}' is not an ISO 8601 date or time (e.g. 2024-05-01 or 2024-05-01T12:00:00Z).`);
  }
  const d = new Date(v.trim());
  if (Number.isNaN(d.getTime())) throw new OperatorError(400, 'InvalidFilter', `${name} '${v}' is not a valid date.`);
  return d;
}

export function parseRunFilter(query: URLSearchParams, accepted: readonly string[] = LIST_PARAMETERS): RunFilter {
  checkQueryNames(query, accepted);
  const routes = list(query, 'route');
  for (const r of routes ?? []) {
    if (!/^[a-z][a-z0-9-]{1,38}[a-z0-9]$/.test(r)) throw new OperatorError(400, 'InvalidFilter', `route '${r}' is not a route name (3-40 lower-case letters, digits and hyphens).`);
  }
  const from = instant(query, 'from');
  const to = instant(query, 'to');
  if (from && to && from > to) throw new OperatorError(400, 'InvalidFilter', `from (${from.toISOString()}) is after to (${to.toISOString()}).`);
  const q = query.get('q')?.trim();
  if (q && q.length > 200) throw new OperatorError(400, 'InvalidFilter', 'q is longer than 200 characters.');
  return {
    kinds: oneOf(list(query, 'kind'), RUN_KINDS, 'kind'),
    routes,
    statuses: oneOf(list(query, 'status'), RUN_STATUSES, 'status'),
    from,
    to,
    text: q ? q.toLowerCase() : undefined,
  };
}

export function parsePageSize(query: URLSearchParams): number {
  const v = query.get('top');
  if (v === null || v === '') return DEFAULT_PAGE_SIZE;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > MAX_PAGE_SIZE) throw new OperatorError(400, 'InvalidFilter', `top '${v}' must be a whole number from 1 to ${MAX_PAGE_SIZE}.`);
  return n;
}

/** The Durable runtime statuses an operator status can come from (pushed down into the query). */
const RUNTIME_STATUSES_OF: Record<RunStatus, string[]> = {
  Pending: ['Pending'],
  Running: ['Running'],
  AwaitingApproval: ['Running'],
  Suspended: ['Suspended'],
  Completed: ['Completed'],
  Failed: ['Completed', 'Failed'],
  ValidationFailed: ['Completed'],
  Terminated: ['Terminated', 'Canceled'],
  Promoted: ['Completed'],
  Rejected: ['Completed'],
  RolledBack: ['Completed'],
};

function matches(filter: RunFilter, summary: RunSummary, text: () => string, ignoreStatus = false): boolean {
  if (filter.kinds && !filter.kinds.includes(summary.kind)) return false;
  if (filter.routes && !(summary.route && filter.routes.includes(summary.route))) return false;
  if (!ignoreStatus && filter.statuses && !filter.statuses.includes(summary.status)) return false;
  if (filter.text && !text().includes(filter.text)) return false;
  return true;
}

interface Cursor {
  /** Creation time (ms) and ID of the last run handed out. */
  t: number;
  id: string;
  /** Fingerprint of the filter the token belongs to. */
  f: string;
}

function fingerprint(filter: RunFilter): string {
  const canonical = JSON.stringify({
    k: filter.kinds?.slice().sort(),
    r: filter.routes?.slice().sort(),
    s: filter.statuses?.slice().sort(),
    from: filter.from?.toISOString(),
    to: filter.to?.toISOString(),
    q: filter.text,
  });
  return createHash('sha256').update(canonical).digest('base64url').slice(0, 16);
}

function encodeCursor(c: Cursor): string {
  return Buffer.from(JSON.stringify({ v: 1, ...c })).toString('base64url');
}

function decodeCursor(token: string, filter: RunFilter): Cursor {
  let c: Partial<Cursor> & { v?: number };
  try {
    c = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as typeof c;
  } catch {
    throw new OperatorError(400, 'InvalidContinuationToken', 'The continuation token is not one this API issued; start again without it.');
  }
  if (c?.v !== 1 || typeof c.t !== 'number' || typeof c.id !== 'string' || typeof c.f !== 'string') {
    throw new OperatorError(400, 'InvalidContinuationToken', 'The continuation token is not one this API issued; start again without it.');
  }
  if (c.f !== fingerprint(filter)) {
    throw new OperatorError(400, 'InvalidContinuationToken', 'The continuation token belongs to a list with other filters; pass the same filters as the first page, or start again.');
  }
  return { t: c.t, id: c.id, f: c.f };
}

/** Newest first; ties on creation time by instance ID, descending. */
function newerFirst(a: RunSummary, b: RunSummary): number {
  const d = Date.parse(b.createdAt) - Date.parse(a.createdAt);
  return d !== 0 ? d : a.runId < b.runId ? 1 : a.runId > b.runId ? -1 : 0;
}

function olderThan(summary: RunSummary, cursor: Cursor): boolean {
  const t = Date.parse(summary.createdAt);
  return t < cursor.t || (t === cursor.t && summary.runId < cursor.id);
}

const WINDOWS_IN_HOURS = [1, 6, 24, 24 * 7, 24 * 30];
/** The extension reports creation times to the second: an upper bound taken from one covers that whole second. */
const CREATED_TIME_RESOLUTION_IN_MS = 1000;

function upTo(bound: number | undefined): Date | undefined {
  return bound === undefined ? undefined : new Date(bound + CREATED_TIME_RESOLUTION_IN_MS - 1);
}

function runtimeStatusesFor(filter: RunFilter): string[] | undefined {
  return filter.statuses ? [...new Set(filter.statuses.flatMap((s) => RUNTIME_STATUSES_OF[s]))] : undefined;
}

export async function listRuns(client: DurableClient, filter: RunFilter, pageSize: number, continuationToken?: string): Promise<RunListPage> {
  const cursor = continuationToken ? decodeCursor(continuationToken, filter) : undefined;
  const upper = Math.min(filter.to?.getTime() ?? Infinity, cursor?.t ?? Infinity);
  const lowest = filter.from?.getTime();
  const runtimeStatus = runtimeStatusesFor(filter);
  const found = new Map<string, RunSummary>();
  // The first window is open-ended upwards unless bounded, so runs created a moment ago are not missed.
  let windowTop: number | undefined = Number.isFinite(upper) ? upper : undefined;
  const anchor = windowTop ?? Date.now();
  for (let i = 0; ; i++) {
    const hours = WINDOWS_IN_HOURS[i];
    let windowBottom: number | undefined = hours === undefined ? lowest : anchor - hours * 3600_000;
    if (windowBottom !== undefined && lowest !== undefined && windowBottom <= lowest) windowBottom = lowest;
    const statuses = await queryInstances(client, {
      createdTimeFrom: windowBottom !== undefined ? new Date(windowBottom) : undefined,
      createdTimeTo: upTo(windowTop),
      runtimeStatus,
    });
    for (const s of statuses) {
      if (found.has(s.instanceId)) continue;
      const summary = summariseRun(s);
      if (!summary) continue;
      if (cursor && !olderThan(summary, cursor)) continue;
      if (!matches(filter, summary, () => searchableText(s, summary))) continue;
      found.set(s.instanceId, summary);
    }
    const exhausted = windowBottom === undefined || windowBottom === lowest;
    if (found.size > pageSize || exhausted) break;
    windowTop = windowBottom;
  }
  const runs = [...found.values()].sort(newerFirst);
  const page = runs.slice(0, pageSize);
  const last = page.at(-1);
  return {
    runs: page,
    continuationToken: runs.length > pageSize && last ? encodeCursor({ t: Date.parse(last.createdAt), id: last.runId, f: fingerprint(filter) }) : undefined,
  };
}

/** How many runs match the filter, by status (the status filter, if any, is ignored: counts show all). */
export async function countRuns(client: DurableClient, filter: RunFilter): Promise<RunCounts> {
  const statuses = await queryInstances(client, { createdTimeFrom: filter.from, createdTimeTo: upTo(filter.to?.getTime()) });
  const byStatus: Partial<Record<RunStatus, number>> = {};
  let total = 0;
  for (const s of statuses) {
    const summary = summariseRun(s);
    if (!summary || !matches(filter, summary, () => searchableText(s, summary), true)) continue;
    byStatus[summary.status] = (byStatus[summary.status] ?? 0) + 1;
    total++;
  }
  return { total, byStatus };
}
