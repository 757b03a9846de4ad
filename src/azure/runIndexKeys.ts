// The run index's keys and versions, pure so they can be tested alone (src/azure/runIndex.ts does the
// I/O). Layout, in the runtime storage account:
//
//   <hub>Runs          PK p<shard>   RK r~<runId>                          one entry per run: its state, version, summary
//                                    RK n~a~<route>~<kind>                 counts by status, all time
//                                    RK n~m~<yyyymm>~<route>~<kind>        ... of runs created that UTC month
//                                    RK n~d~<yyyymmdd>~<route>~<kind>      ... of runs created that UTC day
//   <hub>RunsByTime    PK <month>                      RK <inverted ms>~<runId>   every run
//   <hub>RunsByRoute   PK <route>~<month>              ...                        runs of one route
//   <hub>RunsByStatus  PK <status>~<month>             ...                        runs in one status (moves when it changes)
//   <hub>RunsByKind    PK <kind>~<month>               ...                        blob, model or rollback runs
//
// A run's entry and the counter rows it is counted in share a partition (its shard), so a state change
// and its counts change in one entity-group transaction: counts are exact, and a repeated or crashed
// write can neither count a run twice nor lose it; writers that meet in one counter row retry (ETags).
// The views are projections of
// the entry, keyed for newest-first range queries: the month is inverted in the partition key and the
// creation time in the row key, so ascending key order is newest first. Months, not days: one
// partition usually fills a page, and a sparse filter walks 12 partitions a year, not 365.
import { createHash } from 'node:crypto';
import type { RunKind, RunStatus } from '../operator/operatorApiTypes';

export const ENTRY_SHARDS = 4;

export type ViewName = 'byTime' | 'byRoute' | 'byStatus' | 'byKind';
export const VIEW_NAMES: readonly ViewName[] = ['byTime', 'byRoute', 'byStatus', 'byKind'];

/** Table names for a task hub: the index lives beside the hub's own tables, one index per hub. */
export function runIndexTableNames(taskHub: string): Record<'entries' | ViewName, string> {
  if (!/^[A-Za-z][A-Za-z0-9]{2,44}$/.test(taskHub)) throw new Error(`Task hub name '${taskHub}' is not 3-45 letters and digits starting with a letter; the run index tables are named after it.`);
  return { entries: `${taskHub}Runs`, byTime: `${taskHub}RunsByTime`, byRoute: `${taskHub}RunsByRoute`, byStatus: `${taskHub}RunsByStatus`, byKind: `${taskHub}RunsByKind` };
}

/**
 * How far a run has got: 0 announced by its starter, 1 running (its orchestration writes), 2 finished.
 * A write from a lower stage never replaces one from a higher stage, whatever their clocks say.
 */
export const STAGE_OF: Record<RunStatus, 0 | 1 | 2> = {
  Pending: 0,
  Running: 1,
  AwaitingApproval: 1,
  Suspended: 1,
  Completed: 2,
  Failed: 2,
  ValidationFailed: 2,
  Terminated: 2,
  Promoted: 2,
  Rejected: 2,
  RolledBack: 2,
};

const MAX_MS = 9_999_999_999_999;
const MAX_SEQ = 9999;

/**
 * A run's version: stage, then the writer's time (an orchestration's replay-safe clock, a starter's or
 * operator's wall clock, an instance's last update), then a sequence number for writes within one
 * millisecond. Compared as text: a write applies only when its version is greater than the entry's.
 */
export function indexVersion(status: RunStatus, atMs: number, seq = 0): string {
  if (!Number.isInteger(atMs) || atMs < 0 || atMs > MAX_MS) throw new Error(`Index version time ${atMs} is not a millisecond timestamp.`);
  if (!Number.isInteger(seq) || seq < 0 || seq > MAX_SEQ) throw new Error(`Index version sequence ${seq} is not 0-${MAX_SEQ}.`);
  return `${STAGE_OF[status]}.${String(atMs).padStart(13, '0')}.${String(seq).padStart(4, '0')}`;
}

/** The sequence number a backfill writes with: it states the instance as of its last update, after any write that time. */
export const BACKFILL_SEQ = MAX_SEQ;

export function isNewerVersion(candidate: string, current: string | undefined): boolean {
  return current === undefined || candidate > current;
}

// Table keys may not contain / \ # ? or control characters; `~` separates key parts here.
function unsafeInKey(code: number): boolean {
  return code < 0x20 || (code >= 0x7f && code <= 0x9f) || '/\\#?~%'.includes(String.fromCharCode(code));
}

/** A key part with the characters Table keys refuse (and our separator) escaped as %XX. */
export function escapeKeyPart(text: string): string {
  let out = '';
  for (const c of text) out += unsafeInKey(c.charCodeAt(0)) ? `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}` : c;
  return out;
}

export function unescapeKeyPart(text: string): string {
  return text.replace(/%([0-9A-F]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
}

function runHash(runId: string): number {
  return createHash('sha256').update(runId).digest().readUInt32BE(0);
}

export function entryPartition(runId: string): string {
  return `p${runHash(runId) % ENTRY_SHARDS}`;
}

export function entryPartitions(): string[] {
  return Array.from({ length: ENTRY_SHARDS }, (_, i) => `p${i}`);
}

export const ENTRY_PREFIX = 'r~';

export function entryRowKey(runId: string): string {
  return `${ENTRY_PREFIX}${escapeKeyPart(runId)}`;
}

/** Routeless runs (none so far) are counted under this name. */
export const NO_ROUTE = '-';

export const ALL_TIME_COUNTERS = 'n~a~';
export const MONTH_COUNTERS = 'n~m~';
export const DAY_COUNTERS = 'n~d~';

/** The counter rows a run is counted in: all time, its creation month, its creation day. */
export function counterKeys(route: string | undefined, kind: RunKind, createdMs: number): string[] {
  const tail = `${escapeKeyPart(route ?? NO_ROUTE)}~${kind}`;
  return [`${ALL_TIME_COUNTERS}${tail}`, `${MONTH_COUNTERS}${utcMonth(createdMs)}~${tail}`, `${DAY_COUNTERS}${utcDay(createdMs)}~${tail}`];
}

/** Row key range [ge, lt) of counter rows of one granularity from `first` to `last` period, inclusive. */
export function counterRange(prefix: typeof MONTH_COUNTERS | typeof DAY_COUNTERS, first: string, last: string): { ge: string; lt: string } {
  return { ge: `${prefix}${first}~`, lt: `${prefix}${last}~~` };
}

/**
 * How to count runs created in [fromMs, toMs] from counter rows: whole months and whole days where
 * the range covers them, and the partial days at either end (counted from the views instead).
 */
export interface CountPlan {
  months?: { first: string; last: string };
  days: Array<{ first: string; last: string }>;
  /** Inclusive instants to count by reading view rows. */
  edges: Array<{ fromMs: number; toMs: number }>;
}

const DAY_IN_MS = 86_400_000;

export function planCount(fromMs: number, toMs: number): CountPlan {
  const plan: CountPlan = { days: [], edges: [] };
  if (toMs < fromMs) return plan;
  // Whole days are [firstWhole, lastWhole]; the rest are edges.
  const firstWholeStart = fromMs % DAY_IN_MS === 0 ? fromMs : fromMs - (fromMs % DAY_IN_MS) + DAY_IN_MS;
  const lastWholeEnd = (toMs + 1) % DAY_IN_MS === 0 ? toMs + 1 : toMs + 1 - ((toMs + 1) % DAY_IN_MS);
  if (firstWholeStart >= lastWholeEnd) {
    plan.edges.push({ fromMs, toMs });
    return plan;
  }
  if (fromMs < firstWholeStart) plan.edges.push({ fromMs, toMs: firstWholeStart - 1 });
  if (lastWholeEnd <= toMs) plan.edges.push({ fromMs: lastWholeEnd, toMs });
  const firstDay = utcDay(firstWholeStart);
  const lastDay = utcDay(lastWholeEnd - 1);
  // Whole months inside the whole days.
  const firstMonthStart = Date.UTC(new Date(firstWholeStart).getUTCFullYear(), new Date(firstWholeStart).getUTCMonth() + (new Date(firstWholeStart).getUTCDate() === 1 ? 0 : 1), 1);
  const lastMonthEnd = Date.UTC(new Date(lastWholeEnd).getUTCFullYear(), new Date(lastWholeEnd).getUTCMonth(), 1);
  if (firstMonthStart < lastMonthEnd) {
    plan.months = { first: utcMonth(firstMonthStart), last: utcMonth(lastMonthEnd - 1) };
    if (firstWholeStart < firstMonthStart) plan.days.push({ first: firstDay, last: utcDay(firstMonthStart - 1) });
    if (lastMonthEnd < lastWholeEnd) plan.days.push({ first: utcDay(lastMonthEnd), last: lastDay });
  } else {
    plan.days.push({ first: firstDay, last: lastDay });
  }
  return plan;
}

/** The UTC day of an instant, yyyymmdd. */
export function utcDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10).replace(/-/g, '');
}

/** Midnight UTC at the start of a yyyymmdd day. */
export function dayStartMs(day: string): number {
  return Date.UTC(Number(day.slice(0, 4)), Number(day.slice(4, 6)) - 1, Number(day.slice(6, 8)));
}

/** yyyymm of an instant (UTC). */
export function utcMonth(ms: number): string {
  return new Date(ms).toISOString().slice(0, 7).replace('-', '');
}

/** The month before a yyyymm month. */
export function previousMonth(month: string): string {
  const y = Number(month.slice(0, 4));
  const m = Number(month.slice(4, 6));
  return m === 1 ? `${y - 1}12` : `${y}${String(m - 1).padStart(2, '0')}`;
}

/** Months sort newest first as 999999 − yyyymm. */
export function invertedMonth(month: string): string {
  return String(999_999 - Number(month)).padStart(6, '0');
}

export function monthOfInverted(inverted: string): string {
  return String(999_999 - Number(inverted)).padStart(6, '0');
}

/** Newest first as 9999999999999 − ms. */
export function invertedTime(ms: number): string {
  if (!Number.isInteger(ms) || ms < 0 || ms > MAX_MS) throw new Error(`${ms} is not a millisecond timestamp.`);
  return String(MAX_MS - ms).padStart(13, '0');
}

export function timeOfInverted(inverted: string): number {
  return MAX_MS - Number(inverted);
}

/** A view row's key: newest first, ties by run ID. */
export function viewRowKey(createdMs: number, runId: string): string {
  return `${invertedTime(createdMs)}~${escapeKeyPart(runId)}`;
}

/** The creation time and run ID a view row key holds. */
export function parseViewRowKey(rowKey: string): { createdMs: number; runId: string } {
  const tilde = rowKey.indexOf('~');
  if (tilde !== 13 || !/^\d{13}$/.test(rowKey.slice(0, 13))) throw new Error(`'${rowKey}' is not a run index row key.`);
  return { createdMs: timeOfInverted(rowKey.slice(0, 13)), runId: unescapeKeyPart(rowKey.slice(14)) };
}

/** The first row key of everything created at or before `ms` (row keys grow into the past). */
export function rowKeyAtOrBefore(ms: number): string {
  return invertedTime(Math.max(0, Math.min(MAX_MS, ms)));
}

/** A row key greater than every row key of runs created at or after `ms`. */
export function rowKeyPast(ms: number): string {
  return `${invertedTime(Math.max(0, Math.min(MAX_MS, ms)))}~~`;
}

/** The partition of a view for a value (route, status, kind; none for byTime) and month. */
export function viewPartitionKey(view: ViewName, value: string | undefined, month: string): string {
  const inv = invertedMonth(month);
  return view === 'byTime' ? inv : `${escapeKeyPart(value ?? NO_ROUTE)}~${inv}`;
}

/** Where a run's view rows are: one per view (the byStatus one moves with the status). */
export interface ViewPlacement {
  view: ViewName;
  partitionKey: string;
}

export function viewPlacements(run: { route?: string; status: RunStatus; kind: RunKind }, createdMs: number): ViewPlacement[] {
  const month = utcMonth(createdMs);
  return [
    { view: 'byTime', partitionKey: viewPartitionKey('byTime', undefined, month) },
    { view: 'byRoute', partitionKey: viewPartitionKey('byRoute', run.route, month) },
    { view: 'byStatus', partitionKey: viewPartitionKey('byStatus', run.status, month) },
    { view: 'byKind', partitionKey: viewPartitionKey('byKind', run.kind, month) },
  ];
}

export function placementId(p: ViewPlacement): string {
  return `${p.view}/${p.partitionKey}`;
}

export function parsePlacementId(id: string): ViewPlacement {
  const slash = id.indexOf('/');
  const view = id.slice(0, slash) as ViewName;
  if (slash <= 0 || !VIEW_NAMES.includes(view)) throw new Error(`'${id}' is not a run index view placement.`);
  return { view, partitionKey: id.slice(slash + 1) };
}

/** An OData string literal: single quotes doubled. */
export function odataString(text: string): string {
  return `'${text.replace(/'/g, "''")}'`;
}
