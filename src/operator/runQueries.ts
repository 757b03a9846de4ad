// Listing runs: filters (kind, route, status, time range, text), newest first, in pages joined by
// continuation tokens, and counts by status. Durable keeps no index by creation time, so both walk back
// in time in growing windows (an hour, then 4 or 16 times longer each, then the rest); the newest runs,
// which operators look at most, cost the least. Every request reads at most a budget of instance pages (the Durable
// query's `top` and continuation token) and says when it stopped early: a list page then comes back
// `partial`, with what it found and a token that searches on from where it stopped (with a smaller
// window, if the window it gave up on was too full); counts come back `partial` with the time since
// which they are complete. A continuation token is the position of the last run returned (creation time
// and ID), so new runs arriving between pages neither repeat nor shift what follows; it is bound to its
// filter. Answers are shared across requests for 5 s (every open dashboard asks every 10 s)
// and forgotten when an operator action changes something. Since the run index (src/azure/runIndex.ts),
// this is the fallback for a task hub whose index is not backfilled yet (src/operator/runIndexQueries.ts).
import { createHash } from 'node:crypto';
import type { DurableClient } from 'durable-functions';
import { RUN_KINDS, RUN_STATUSES, RunCounts, RunKind, RunListPage, RunStatus, RunSummary } from './operatorApiTypes';
import { calendarInstant, checkQueryNames, OperatorError } from './operatorHttp';
import { InstanceQuery, InstanceStatus, queryInstancePage } from './runInstances';
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
  const d = calendarInstant(v.trim());
  if (!d) throw new OperatorError(400, 'InvalidFilter', `${name} '${v}' is not a valid date (no such calendar day or time).`);
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
  /** Creation time (ms) and ID of the last run handed out: the next page holds only older runs. */
  t: number;
  id: string;
  /** Fingerprint of the filter the token belongs to. */
  f: string;
  /** Size of the first window to search (ms): what the runs around `t` were dense enough for. */
  w?: number;
}

export function fingerprint(filter: RunFilter): string {
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

/** The latest instant a Date can hold. */
const MAX_DATE_IN_MS = 8.64e15;

function decodeCursor(token: string, filter: RunFilter): Cursor {
  let c: Partial<Cursor> & { v?: number };
  try {
    c = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as typeof c;
  } catch {
    throw new OperatorError(400, 'InvalidContinuationToken', 'The continuation token is not one this API issued; start again without it.');
  }
  // A position is a creation time a Date can hold (ms since 1970); anything else was not issued here.
  if (c?.v !== 1 || typeof c.t !== 'number' || !Number.isSafeInteger(c.t) || c.t < 0 || c.t > MAX_DATE_IN_MS || typeof c.id !== 'string' || typeof c.f !== 'string' || (c.w !== undefined && (typeof c.w !== 'number' || !(c.w >= MIN_WINDOW_IN_MS)))) {
    throw new OperatorError(400, 'InvalidContinuationToken', 'The continuation token is not one this API issued; start again without it.');
  }
  if (c.f !== fingerprint(filter)) {
    throw new OperatorError(400, 'InvalidContinuationToken', 'The continuation token belongs to a list with other filters; pass the same filters as the first page, or start again.');
  }
  return { t: c.t, id: c.id, f: c.f, ...(c.w !== undefined ? { w: c.w } : {}) };
}

/** Newest first; ties on creation time by instance ID, descending. */
function newerFirst(a: RunSummary, b: RunSummary): number {
  const d = Date.parse(b.createdAt) - Date.parse(a.createdAt);
  return d !== 0 ? d : a.runId < b.runId ? 1 : a.runId > b.runId ? -1 : 0;
}

function olderThan(summary: RunSummary, cursor: { t: number; id: string }): boolean {
  const t = Date.parse(summary.createdAt);
  return t < cursor.t || (t === cursor.t && summary.runId < cursor.id);
}

/** The extension reports creation times to the second: an upper bound taken from one covers that whole second. */
const CREATED_TIME_RESOLUTION_IN_MS = 1000;

function wholeSecondAtOrBefore(t: number): number {
  return Math.floor(t / CREATED_TIME_RESOLUTION_IN_MS) * CREATED_TIME_RESOLUTION_IN_MS;
}

function upTo(bound: number | undefined): Date | undefined {
  return bound === undefined ? undefined : new Date(bound + CREATED_TIME_RESOLUTION_IN_MS - 1);
}

function runtimeStatusesFor(filter: RunFilter): string[] | undefined {
  return filter.statuses ? [...new Set(filter.statuses.flatMap((s) => RUNTIME_STATUSES_OF[s]))] : undefined;
}

// ---- reading instances within a budget ----------------------------------------------------------

/** How much one request may read: pages of the Durable instance query, of `pageSize` instances each. */
export interface ScanBudget {
  pageSize: number;
  maxPages: number;
}

/** At most 2,000 instances per request. */
export const DEFAULT_SCAN_BUDGET: ScanBudget = { pageSize: 250, maxPages: 8 };

export interface QueryOptions {
  budget?: ScanBudget;
  /** The clock (ms); tests pass their own. */
  now?: () => number;
}

const HOUR_IN_MS = 3600_000;
const FIRST_WINDOW_IN_MS = HOUR_IN_MS;
/** A list stops once its page is full, so small steps pay; counts read every window, so few steps do. */
const LIST_WINDOW_GROWTH = 4;
const COUNT_WINDOW_GROWTH = 16;
/** A window that would be longer reaches down to the lower bound (or the first instance) instead. */
const LONGEST_WINDOW_IN_MS = 90 * 24 * HOUR_IN_MS;
/** A window given up on is searched again this many times smaller. */
const WINDOW_SHRINK = 8;
/**
 * Windows this short are read to the end even past the budget. Their bottoms fall on whole seconds, so
 * such a window spans at most two seconds: only when more instances than the budget were created within
 * two seconds does a request read more than its budget.
 */
const MIN_WINDOW_IN_MS = 1000;

class Reads {
  pages = 0;
  instances = 0;
  constructor(readonly budget: ScanBudget) {}

  get spent(): boolean {
    return this.pages >= this.budget.maxPages;
  }
}

interface TimeWindow {
  /** Inclusive bounds (ms); no top: up to now and beyond, no bottom: from the first instance. */
  top?: number;
  bottom?: number;
  /** Nominal length; the last window, reaching the lower bound, counts as longer than the longest. */
  sizeInMs: number;
}

/**
 * Windows back in time from `top`, each `growth` times the one before (growth² after a window with no
 * instances at all: older times are likely as quiet), the last one down to `lowest`.
 */
function* windowsFrom(top: number | undefined, now: number, lowest: number | undefined, firstSizeInMs: number, growth: number): Generator<TimeWindow, void, boolean | undefined> {
  if (top !== undefined && lowest !== undefined && top < lowest) return;
  let windowTop = top;
  let size = firstSizeInMs;
  for (;;) {
    const last = size > LONGEST_WINDOW_IN_MS;
    // Bottoms fall on whole seconds, the resolution of reported creation times: a run read in this
    // window then reports a time at or after its bottom, so a cursor resuming strictly below the
    // bottom never hands it out twice.
    let bottom = last ? lowest : wholeSecondAtOrBefore((windowTop ?? now) - size);
    const reachesLowest = lowest !== undefined && bottom !== undefined && bottom <= lowest;
    if (reachesLowest) bottom = lowest;
    const wasEmpty = yield { top: windowTop, bottom, sizeInMs: last ? LONGEST_WINDOW_IN_MS * growth : size };
    if (last || reachesLowest) return;
    windowTop = bottom;
    size *= wasEmpty ? growth * growth : growth;
  }
}

/** Reads one window, page by page; stops (incomplete) when the budget is spent, unless the window is `soft`. */
async function readWindow(client: DurableClient, w: TimeWindow, runtimeStatus: string[] | undefined, reads: Reads, soft: boolean): Promise<{ statuses: InstanceStatus[]; complete: boolean }> {
  const query: InstanceQuery = {
    createdTimeFrom: w.bottom !== undefined ? new Date(w.bottom) : undefined,
    createdTimeTo: upTo(w.top),
    runtimeStatus,
  };
  const statuses: InstanceStatus[] = [];
  let token: string | undefined;
  do {
    if (reads.spent && !soft) return { statuses, complete: false };
    const page = await queryInstancePage(client, query, reads.budget.pageSize, token);
    reads.pages++;
    reads.instances += page.items.length;
    statuses.push(...page.items);
    token = page.continuationToken;
  } while (token);
  return { statuses, complete: true };
}

// ---- list and counts ----------------------------------------------------------------------------

export async function listRuns(client: DurableClient, filter: RunFilter, pageSize: number, continuationToken?: string, options: QueryOptions = {}): Promise<RunListPage> {
  const now = (options.now ?? Date.now)();
  const reads = new Reads(options.budget ?? DEFAULT_SCAN_BUDGET);
  const cursor = continuationToken ? decodeCursor(continuationToken, filter) : undefined;
  const upper = Math.min(filter.to?.getTime() ?? Infinity, cursor?.t ?? Infinity);
  const top = Number.isFinite(upper) ? upper : undefined;
  const runtimeStatus = runtimeStatusesFor(filter);
  const found = new Map<string, RunSummary>();
  // Where this request started: every run it hands out is older than this.
  const start = cursor ? { t: cursor.t, id: cursor.id } : { t: (top ?? now) + 1, id: '' };
  let completedDownTo: number | undefined;
  let densitySizeInMs = cursor?.w ?? FIRST_WINDOW_IN_MS;
  let stopped: { sizeInMs: number } | undefined;
  const windows = windowsFrom(top, now, filter.from?.getTime(), cursor?.w ?? FIRST_WINDOW_IN_MS, LIST_WINDOW_GROWTH);
  for (let next = windows.next(), wasEmpty = false; !next.done; next = windows.next(wasEmpty)) {
    const w = next.value;
    if (reads.spent) {
      stopped = { sizeInMs: w.sizeInMs };
      break;
    }
    const read = await readWindow(client, w, runtimeStatus, reads, w.sizeInMs <= MIN_WINDOW_IN_MS);
    wasEmpty = read.statuses.length === 0;
    if (!read.complete) {
      stopped = { sizeInMs: Math.max(MIN_WINDOW_IN_MS, Math.floor(w.sizeInMs / WINDOW_SHRINK)) };
      break;
    }
    for (const s of read.statuses) {
      if (found.has(s.instanceId)) continue;
      const summary = summariseRun(s);
      if (!summary || !olderThan(summary, start)) continue;
      if (!matches(filter, summary, () => searchableText(s, summary))) continue;
      found.set(s.instanceId, summary);
    }
    // The window's bottom is inclusive: every instance created at or after it has been read.
    completedDownTo = w.bottom;
    densitySizeInMs = w.sizeInMs;
    if (found.size > pageSize || w.bottom === undefined) break;
  }
  const runs = [...found.values()].sort(newerFirst);
  const answer = { source: 'instanceStore' as const, scannedInstances: reads.instances, asOf: new Date(now).toISOString() };
  const f = fingerprint(filter);
  if (runs.length > pageSize) {
    const page = runs.slice(0, pageSize);
    const last = page.at(-1)!;
    return { runs: page, continuationToken: encodeCursor({ t: Date.parse(last.createdAt), id: last.runId, f, w: densitySizeInMs }), ...answer };
  }
  if (stopped) {
    // Runs at exactly `completedDownTo` were read (and handed out if they match): go on strictly below.
    const resume = completedDownTo !== undefined ? { t: completedDownTo, id: '' } : start;
    return { runs, continuationToken: encodeCursor({ ...resume, f, w: stopped.sizeInMs }), partial: true, searchedBackTo: new Date(resume.t).toISOString(), ...answer };
  }
  return { runs, ...answer };
}

/** How many runs match the filter, by status (the status filter, if any, is ignored: counts show all). */
export async function countRuns(client: DurableClient, filter: RunFilter, options: QueryOptions = {}): Promise<RunCounts> {
  const now = (options.now ?? Date.now)();
  const reads = new Reads(options.budget ?? DEFAULT_SCAN_BUDGET);
  const top = filter.to?.getTime();
  const seen = new Set<string>();
  const byStatus: Partial<Record<RunStatus, number>> = {};
  let total = 0;
  let completeSince: number | undefined;
  let partial = false;
  const windows = windowsFrom(top, now, filter.from?.getTime(), FIRST_WINDOW_IN_MS, COUNT_WINDOW_GROWTH);
  for (let next = windows.next(), wasEmpty = false; !next.done; next = windows.next(wasEmpty)) {
    const w = next.value;
    const read = reads.spent ? { statuses: [], complete: false } : await readWindow(client, w, undefined, reads, false);
    wasEmpty = read.statuses.length === 0;
    for (const s of read.statuses) {
      if (seen.has(s.instanceId)) continue;
      seen.add(s.instanceId);
      const summary = summariseRun(s);
      if (!summary || !matches(filter, summary, () => searchableText(s, summary), true)) continue;
      byStatus[summary.status] = (byStatus[summary.status] ?? 0) + 1;
      total++;
    }
    if (!read.complete) {
      partial = true;
      completeSince ??= w.top ?? now;
      break;
    }
    completeSince = w.bottom;
  }
  return {
    total,
    byStatus,
    ...(partial ? { partial: true as const, completeSince: new Date(completeSince!).toISOString() } : {}),
    source: 'instanceStore',
    scannedInstances: reads.instances,
    asOf: new Date(now).toISOString(),
  };
}

// ---- answers shared across requests -------------------------------------------------------------

/**
 * Answers kept for a few seconds and shared by every request in this process that asks the same
 * question, including one still being computed; failures are not kept.
 */
export class RunQueryCache {
  readonly #entries = new Map<string, { at: number; value: Promise<unknown> }>();

  constructor(readonly ttlInMs: number, private readonly now: () => number = Date.now, private readonly maxEntries = 200) {}

  get<T>(key: string, compute: () => Promise<T>): Promise<T> {
    const at = this.now();
    const hit = this.#entries.get(key);
    if (hit && at - hit.at < this.ttlInMs) return hit.value as Promise<T>;
    const value = compute();
    this.#entries.delete(key);
    this.#entries.set(key, { at, value });
    if (this.#entries.size > this.maxEntries) this.#entries.delete(this.#entries.keys().next().value!);
    value.catch(() => {
      if (this.#entries.get(key)?.value === value) this.#entries.delete(key);
    });
    return value;
  }

  /** Forgets every answer (after an operator action changed something). */
  clear(): void {
    this.#entries.clear();
  }
}

/**
 * Counts and list pages may be this old. Every open dashboard asks every 10 s; with answers kept 5 s,
 * a question costs at most two scans per 10 s however many dashboards ask it.
 */
export const RUN_QUERY_CACHE_TTL_IN_MS = 5_000;
export const runQueryCache = new RunQueryCache(RUN_QUERY_CACHE_TTL_IN_MS);
