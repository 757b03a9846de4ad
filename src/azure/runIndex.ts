// The run index: every run's current state in Table storage, written as runs start and change state,
// read by the operator API so that lists, filters, counts and paging each cost a bounded number of
// Table requests however many runs there are (keys: ./runIndexKeys.ts).
//
// Writing a state is idempotent and never moves a run backwards: the entry and its counter rows change
// together in one entity-group transaction, conditional on their ETags, and only for a newer version.
// The views are then brought to what the entry says (upserts, and deletes for a status left behind),
// recording where rows may be before writing them, so a writer that dies half-way leaves nothing the
// next writer of the run cannot find and clean. Any writer finishes every projection it finds undone.
import type { TableClient, TableEntityResult, TransactionAction } from '@azure/data-tables';
import type { RunCounts, RunKind, RunStatus, RunSummary } from '../operator/operatorApiTypes';
import { RUN_STATUSES } from '../operator/operatorApiTypes';
import {
  ALL_TIME_COUNTERS,
  counterKeys,
  counterRange,
  DAY_COUNTERS,
  entryPartition,
  entryPartitions,
  entryRowKey,
  isNewerVersion,
  MONTH_COUNTERS,
  NO_ROUTE,
  odataString,
  parsePlacementId,
  parseViewRowKey,
  placementId,
  planCount,
  rowKeyAtOrBefore,
  rowKeyPast,
  runIndexTableNames,
  utcMonth,
  viewPartitionKey,
  viewPlacements,
  ViewName,
  ViewPlacement,
  viewRowKey,
  invertedMonth,
} from './runIndexKeys';
import { classifyAzureError, rethrowClassified, TransientError } from './errorClassification';
import { readyRuntimeTable } from './storageClients';

export interface RunIndexTables {
  entries: TableClient;
  byTime: TableClient;
  byRoute: TableClient;
  byStatus: TableClient;
  byKind: TableClient;
}

/** What a writer knows about a run now. `summary.createdAt` counts only for a run new to the index. */
export interface RunIndexUpdate {
  summary: RunSummary;
  /** Lower-case text a `q` filter searches (IDs, route, paths, job, model). */
  text: string;
  /** See indexVersion: applied only when greater than the entry's. */
  version: string;
}

export interface RecordOutcome {
  /** False when the entry already had this version or a newer one. */
  applied: boolean;
  /** The run's version in the index afterwards. */
  version: string;
}

type EntryEntity = {
  partitionKey: string;
  rowKey: string;
  v: string;
  createdAt: string;
  status: RunStatus;
  kind: RunKind;
  route: string;
  /** The RunSummary as JSON. */
  s: string;
  t: string;
  /** Placements (placementId) where view rows of this run may exist, as JSON. */
  placed: string;
  /** The version the views were last brought to. */
  placedV: string;
};

type ViewEntity = {
  partitionKey: string;
  rowKey: string;
  v: string;
  status: string;
  kind: string;
  route: string;
  s: string;
  t: string;
};

type KnownEntry = EntryEntity & { etag: string };

type CounterEntity = { partitionKey: string; rowKey: string; route: string; kind: string } & Partial<Record<RunStatus, number>>;

/** Text past this many characters is not searched (a batch of thousands of files). */
export const MAX_SEARCH_TEXT = 8000;
const MAX_WRITE_ATTEMPTS = 12;
/** Bulk writes (recordNew) try a transaction this often before going run by run. */
const BULK_WRITE_ATTEMPTS = 4;
/** An entity-group transaction holds at most 100 operations. */
const MAX_TRANSACTION_ACTIONS = 100;

function groupBy<T>(items: T[], key: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const k = key(item);
    const group = groups.get(k);
    if (group) group.push(item);
    else groups.set(k, [item]);
  }
  return groups;
}

function chunked<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

function isStatus(err: unknown, ...codes: number[]): boolean {
  return codes.includes(classifyAzureError(err).statusCode ?? 0);
}

async function pause(attempt: number): Promise<void> {
  // Writers that met on a row try again a little apart.
  await new Promise((resolve) => setTimeout(resolve, Math.min(200, 5 * 2 ** attempt) * (0.5 + Math.random())));
}

/** A list query on the index (times inclusive, in ms). */
export interface IndexListQuery {
  kinds?: RunKind[];
  routes?: string[];
  statuses?: RunStatus[];
  fromMs?: number;
  toMs?: number;
  /** Lower-case text to find (contains), matched over a bounded number of rows per request. */
  text?: string;
  pageSize: number;
  /** Row key of the last run already handed out (or searched past): the page holds older runs only. */
  after?: string;
}

export interface IndexListPage {
  runs: RunSummary[];
  /** Row key to pass as `after` for the next page; absent on the last. */
  next?: string;
  /** A read budget ran out before the page was full (text search, or Azure answering in parts). */
  partial?: { searchedBackToMs: number };
  tableRequests: number;
}

export interface IndexCountQuery {
  kinds?: RunKind[];
  routes?: string[];
  fromMs?: number;
  toMs?: number;
  text?: string;
}

export type IndexCounts = Pick<RunCounts, 'total' | 'byStatus' | 'partial' | 'completeSince'> & { tableRequests: number; note?: string };

/** How many view rows a text search reads per request (each stream), and how many requests at most. */
export const TEXT_SCAN_ROWS = 1000;
/** Rows a count reads from the views (text filters, partial days) before it says it is partial. */
export const COUNT_SCAN_ROWS = 5000;
/** Requests one stream makes at most (Azure may answer a query over several partitions in parts). */
const MAX_REQUESTS_PER_STREAM = 6;

export interface BackfillState {
  state: 'running' | 'complete';
  /** Instances created up to this time are being backfilled (the first backfill's start). */
  upTo: string;
  /** The instance store's continuation token where the backfill goes on. */
  position?: string;
  instancesRead: number;
  runsWritten: number;
  startedAt: string;
  completedAt?: string;
}

const META_PARTITION = 'meta';
const BACKFILL_ROW = 'backfill';

export class RunIndex {
  constructor(readonly tables: RunIndexTables) {}

  private view(name: ViewName): TableClient {
    return this.tables[name];
  }

  private async readEntry(runId: string): Promise<TableEntityResult<EntryEntity> | undefined> {
    try {
      return await this.tables.entries.getEntity<EntryEntity>(entryPartition(runId), entryRowKey(runId));
    } catch (err) {
      if (isStatus(err, 404)) return undefined;
      rethrowClassified(err, `Reading run ${runId} from the run index`);
    }
  }

  private async readCounter(partitionKey: string, rowKey: string): Promise<TableEntityResult<CounterEntity> | undefined> {
    try {
      return await this.tables.entries.getEntity<CounterEntity>(partitionKey, rowKey);
    } catch (err) {
      if (isStatus(err, 404)) return undefined;
      rethrowClassified(err, `Reading counter ${rowKey} of the run index`);
    }
  }

  /** Counter rows of one entry partition by row key (absent ones missing), in one query per 14 keys (Azure allows 15 comparisons a filter). */
  private async readCounters(partitionKey: string, rowKeys: string[]): Promise<Map<string, TableEntityResult<CounterEntity>>> {
    const rows = new Map<string, TableEntityResult<CounterEntity>>();
    await Promise.all(
      chunked(rowKeys, 14).map(async (keys) => {
        const filter = `PartitionKey eq ${odataString(partitionKey)} and (${keys.map((k) => `RowKey eq ${odataString(k)}`).join(' or ')})`;
        try {
          for await (const row of this.tables.entries.listEntities<CounterEntity>({ queryOptions: { filter } })) rows.set(row.rowKey, row);
        } catch (err) {
          rethrowClassified(err, 'Reading counters of the run index');
        }
      }),
    );
    return rows;
  }

  /** The run's entry as the index holds it, or undefined. */
  async get(runId: string): Promise<{ summary: RunSummary; version: string; text: string } | undefined> {
    const e = await this.readEntry(runId);
    return e ? { summary: JSON.parse(e.s) as RunSummary, version: e.v, text: e.t } : undefined;
  }

  /**
   * Writes a run's state if it is newer than what the index has, then brings the views up to date.
   * Safe to repeat, to run concurrently with other writers of the run, and to resume after a crash.
   */
  async record(update: RunIndexUpdate): Promise<RecordOutcome> {
    const runId = update.summary.runId;
    const pk = entryPartition(runId);
    let outcome: RecordOutcome | undefined;
    let known: KnownEntry | undefined;
    for (let attempt = 1; attempt <= MAX_WRITE_ATTEMPTS && !outcome; attempt++) {
      // The counter rows are read with the entry, guessing the run's creation day from this writer; a
      // guess proved wrong by the entry costs one more read.
      const guessMs = Date.parse(update.summary.createdAt);
      const guess = Number.isNaN(guessMs) ? [] : counterKeys(update.summary.route, update.summary.kind, guessMs);
      const [entry, ...guessed] = await Promise.all([this.readEntry(runId), ...guess.map((k) => this.readCounter(pk, k))]);
      if (entry && !isNewerVersion(update.version, entry.v)) {
        outcome = { applied: false, version: entry.v };
        break;
      }
      const createdAt = entry?.createdAt ?? update.summary.createdAt;
      const createdMs = Date.parse(createdAt);
      if (Number.isNaN(createdMs)) throw new Error(`Run ${runId} has no creation time to index it by ('${createdAt}').`);
      // A run's route and kind never change; the entry's win over a writer that knows less.
      const route = entry?.route ?? update.summary.route ?? NO_ROUTE;
      const kind = entry?.kind ?? update.summary.kind;
      const summary: RunSummary = { ...update.summary, createdAt, route: route === NO_ROUTE ? undefined : route, kind };
      // A new entry says where its view rows will be from the start (see project).
      const placed = entry?.placed ?? JSON.stringify(viewPlacements({ route: summary.route, status: summary.status, kind }, createdMs).map(placementId));
      const entity = entryEntityOf(summary, update.text, update.version, placed, entry?.placedV ?? '');
      const actions: TransactionAction[] = [entry ? ['update', entity, 'Replace', { etag: entry.etag }] : ['create', entity]];
      if (entry?.status !== summary.status) {
        const keys = counterKeys(route === NO_ROUTE ? undefined : route, kind, createdMs);
        const counters = keys.every((k, i) => k === guess[i]) ? guessed : await Promise.all(keys.map((k) => this.readCounter(pk, k)));
        keys.forEach((rowKey, i) => {
          const c = counters[i];
          const next: CounterEntity = { partitionKey: pk, rowKey, route, kind };
          for (const st of RUN_STATUSES) if (c?.[st]) next[st] = c[st];
          if (entry) next[entry.status] = Math.max(0, (next[entry.status] ?? 0) - 1);
          next[summary.status] = (next[summary.status] ?? 0) + 1;
          actions.push(c ? ['update', next, 'Replace', { etag: c.etag }] : ['create', next]);
        });
      }
      try {
        const response = await this.tables.entries.submitTransaction(actions);
        outcome = { applied: true, version: update.version };
        const etag = response.getResponseForEntity(entity.rowKey)?.etag;
        if (etag) known = { ...entity, etag };
      } catch (err) {
        // Another writer changed the entry or a counter since we read them: read again.
        if (!isStatus(err, 409, 412)) rethrowClassified(err, `Writing run ${runId} to the run index`);
        await pause(attempt);
      }
    }
    if (!outcome) throw new TransientError(`Writing run ${runId} to the run index: still contended after ${MAX_WRITE_ATTEMPTS} attempts; try again.`);
    await this.project(runId, known);
    return outcome;
  }

  /**
   * Writes many runs new to the index at once (the run-start timer's Pending runs): their entries and
   * the counters they add to in one transaction per entry partition (the counters' increments summed,
   * so a burst of runs on one route meets on its counter rows once, not once per run), their view rows
   * in one transaction per view partition, and their `placedV` marks in one per entry partition. The
   * guarantees are record()'s: an entry says where its view rows will be before any is written, and
   * whatever this cannot finish in bulk (a run already in the index, a transaction refused after a
   * few tries, a mark whose entry changed meanwhile) it finishes run by run through record() and
   * project(). Resolves once every run is written; rejects only when a run could not be.
   */
  async recordNew(updates: RunIndexUpdate[]): Promise<void> {
    const planned = updates.map((update) => {
      const createdMs = Date.parse(update.summary.createdAt);
      if (Number.isNaN(createdMs)) throw new Error(`Run ${update.summary.runId} has no creation time to index it by ('${update.summary.createdAt}').`);
      const route = update.summary.route ?? NO_ROUTE;
      const summary: RunSummary = { ...update.summary, route: route === NO_ROUTE ? undefined : route };
      const placements = viewPlacements({ route: summary.route, status: summary.status, kind: summary.kind }, createdMs);
      const entity = entryEntityOf(summary, update.text, update.version, JSON.stringify(placements.map(placementId)), '');
      return { update, entity, placements, counters: counterKeys(summary.route, summary.kind, createdMs) };
    });
    type Planned = (typeof planned)[number];
    const fallBack = new Set<Planned>();
    const written: Array<Planned & { etag: string }> = [];
    // Entries and counters: chunks of one entry partition that fit a transaction (100 actions).
    const chunks: Planned[][] = [];
    for (const group of groupBy(planned, (p) => p.entity.partitionKey).values()) {
      let chunk: Planned[] = [];
      let keys = new Set<string>();
      for (const p of group) {
        const more = p.counters.filter((k) => !keys.has(k));
        if (chunk.length && chunk.length + 1 + keys.size + more.length > MAX_TRANSACTION_ACTIONS) {
          chunks.push(chunk);
          chunk = [];
          keys = new Set();
        }
        chunk.push(p);
        for (const k of p.counters) keys.add(k);
      }
      if (chunk.length) chunks.push(chunk);
    }
    await Promise.all(
      chunks.map(async (chunk) => {
        const pk = chunk[0].entity.partitionKey;
        for (let attempt = 1; attempt <= BULK_WRITE_ATTEMPTS; attempt++) {
          const increments = new Map<string, { route: string; kind: string; byStatus: Partial<Record<RunStatus, number>> }>();
          for (const p of chunk) {
            for (const k of p.counters) {
              const inc = increments.get(k) ?? { route: p.entity.route, kind: p.entity.kind, byStatus: {} };
              inc.byStatus[p.entity.status] = (inc.byStatus[p.entity.status] ?? 0) + 1;
              increments.set(k, inc);
            }
          }
          const found = await this.readCounters(pk, [...increments.keys()]);
          const current = [...increments.keys()].map((k) => found.get(k));
          const actions: TransactionAction[] = chunk.map((p) => ['create', p.entity]);
          [...increments].forEach(([rowKey, inc], i) => {
            const c = current[i];
            const next: CounterEntity = { partitionKey: pk, rowKey, route: inc.route, kind: inc.kind };
            for (const st of RUN_STATUSES) if (c?.[st]) next[st] = c[st];
            for (const [st, n] of Object.entries(inc.byStatus) as Array<[RunStatus, number]>) next[st] = (next[st] ?? 0) + n;
            actions.push(c ? ['update', next, 'Replace', { etag: c.etag }] : ['create', next]);
          });
          try {
            const response = await this.tables.entries.submitTransaction(actions);
            for (const p of chunk) {
              const etag = response.getResponseForEntity(p.entity.rowKey)?.etag;
              if (etag) written.push({ ...p, etag });
              else fallBack.add(p);
            }
            return;
          } catch (err) {
            // A counter another writer changed (try again), or an entry that exists (the runs go one by one).
            if (!isStatus(err, 409, 412)) rethrowClassified(err, `Writing ${chunk.length} runs to the run index`);
            if (attempt < BULK_WRITE_ATTEMPTS) await pause(attempt);
          }
        }
        for (const p of chunk) fallBack.add(p);
      }),
    );
    // View rows, one transaction per view partition; a run whose rows or mark did not all land is projected alone.
    const unfinished = new Set<Planned>();
    const rows = written.flatMap((w) => w.placements.map((placement) => ({ w, placement })));
    await Promise.all(
      [...groupBy(rows, (r) => placementId(r.placement)).values()].flatMap((group) =>
        chunked(group, MAX_TRANSACTION_ACTIONS).map(async (part) => {
          try {
            await this.view(part[0].placement.view).submitTransaction(part.map(({ w, placement }) => ['upsert', viewEntityOf(w.entity, placement), 'Replace']));
          } catch {
            for (const { w } of part) unfinished.add(w);
          }
        }),
      ),
    );
    const marks = written.filter((w) => !unfinished.has(w));
    await Promise.all(
      [...groupBy(marks, (w) => w.entity.partitionKey).values()].flatMap((group) =>
        chunked(group, MAX_TRANSACTION_ACTIONS).map(async (part) => {
          try {
            await this.tables.entries.submitTransaction(part.map((w) => ['update', { partitionKey: w.entity.partitionKey, rowKey: w.entity.rowKey, placedV: w.entity.v }, 'Merge', { etag: w.etag }]));
          } catch {
            // An entry another writer changed since (its orchestration, already running): project() sees to it.
            for (const w of part) unfinished.add(w);
          }
        }),
      ),
    );
    const failures: string[] = [];
    await Promise.all([
      ...[...fallBack].map((p) => this.record(p.update).then(() => undefined, (err: Error) => void failures.push(`${p.update.summary.runId}: ${err.message}`))),
      ...[...unfinished].map((w) => this.project(w.update.summary.runId, undefined, w.placements).catch((err: Error) => void failures.push(`${w.update.summary.runId}: ${err.message}`))),
    ]);
    if (failures.length) throw new TransientError(`Writing ${failures.length} of ${updates.length} runs to the run index failed (${failures.slice(0, 3).join('; ')}).`);
  }

  /**
   * Brings the run's view rows to what its entry says; a no-op when they already are. `known`: the entry
   * as just written. `alreadyWritten`: view rows this writer wrote from an older state of the entry (they
   * may have landed after another writer's, so they are written again or removed).
   */
  async project(runId: string, known?: KnownEntry, alreadyWritten: ViewPlacement[] = []): Promise<void> {
    const pk = entryPartition(runId);
    const rk = entryRowKey(runId);
    let written = alreadyWritten;
    for (let attempt = 1; attempt <= MAX_WRITE_ATTEMPTS; attempt++) {
      const entry = attempt === 1 && known ? known : await this.readEntry(runId);
      if (!entry) return;
      const current = viewPlacements({ route: entry.route === NO_ROUTE ? undefined : entry.route, status: entry.status, kind: entry.kind }, Date.parse(entry.createdAt));
      const currentIds = new Set(current.map(placementId));
      // Rows this writer put where the entry (changed meanwhile by another writer) no longer wants them.
      const own = written.filter((p) => !currentIds.has(placementId(p)));
      if (own.length) await Promise.all(own.map((p) => this.deleteViewRow(p, entry.createdAt, runId)));
      // Rows this writer wrote may have landed after the other writer's: write them again.
      const rewrite = written.length > 0;
      written = [];
      if (entry.placedV === entry.v && !rewrite) return;
      const placed = new Set<string>(JSON.parse(entry.placed) as string[]);
      let etag = entry.etag;
      try {
        const missing = [...currentIds].filter((id) => !placed.has(id));
        if (missing.length) {
          // Say where rows are about to be before writing them, so a crash leaves them findable.
          const r = await this.tables.entries.updateEntity({ partitionKey: pk, rowKey: rk, placed: JSON.stringify([...placed, ...missing]) }, 'Merge', { etag });
          if (!r.etag) throw new Error(`The run index did not return an ETag for run ${runId}'s entry.`);
          etag = r.etag;
        }
        written = current;
        await Promise.all(current.map((p) => this.view(p.view).upsertEntity(viewEntityOf(entry, p), 'Replace')));
        const stale = [...placed].filter((id) => !currentIds.has(id)).map(parsePlacementId);
        await Promise.all(stale.map((p) => this.deleteViewRow(p, entry.createdAt, runId)));
        await this.tables.entries.updateEntity({ partitionKey: pk, rowKey: rk, placed: JSON.stringify([...currentIds]), placedV: entry.v }, 'Merge', { etag });
        return;
      } catch (err) {
        if (!isStatus(err, 412, 409)) rethrowClassified(err, `Writing the run index views of run ${runId}`);
        await pause(attempt);
      }
    }
    throw new TransientError(`Writing the run index views of run ${runId}: still contended after ${MAX_WRITE_ATTEMPTS} attempts; try again.`);
  }

  private async deleteViewRow(p: ViewPlacement, createdAt: string, runId: string): Promise<void> {
    try {
      await this.view(p.view).deleteEntity(p.partitionKey, viewRowKey(Date.parse(createdAt), runId));
    } catch (err) {
      if (!isStatus(err, 404)) rethrowClassified(err, `Removing run ${runId} from the run index view ${p.view}`);
    }
  }

  // ---- reading --------------------------------------------------------------------------------

  /**
   * One page of runs, newest first. Picks the view whose partitions hold the narrowest set (status,
   * route, kind, or all runs), one stream per value of a multi-valued filter; filters the view does
   * not cover go to the service. Each stream reads the newest month's partition first (one request,
   * usually enough), then older months in one query.
   */
  async list(q: IndexListQuery, now = Date.now()): Promise<IndexListPage> {
    const counter = { requests: 0 };
    const { view, values } = chooseView(q);
    const filter = serviceFilter(q, view);
    const upperMs = Math.min(q.toMs ?? now, now);
    const need = q.text ? TEXT_SCAN_ROWS : q.pageSize + 1;
    const streams = await Promise.all(values.map((value) => this.readStream(view, value, { upperMs, fromMs: q.fromMs, after: q.after, filter, need, text: q.text }, counter)));
    // Every stream is complete down to its bound; together, down to the highest of those bounds.
    const bound = streams.filter((s) => s.more).map((s) => s.lastRowKey!).sort()[0];
    const merged = streams
      .flatMap((s) => s.rows)
      .filter((r) => bound === undefined || r.rowKey <= bound)
      .sort((a, b) => (a.rowKey < b.rowKey ? -1 : a.rowKey > b.rowKey ? 1 : 0));
    const seen = new Set<string>();
    const matches = merged.filter((r) => (seen.has(r.rowKey) ? false : (seen.add(r.rowKey), !q.text || r.t.includes(q.text))));
    const page = matches.slice(0, q.pageSize);
    const runs = page.map((r) => JSON.parse(r.s) as RunSummary);
    if (matches.length > q.pageSize) return { runs, next: page.at(-1)!.rowKey, tableRequests: counter.requests };
    // A stream stopped at its read budget before the page was full: say how far back this page looked.
    if (bound !== undefined) return { runs, next: bound, partial: { searchedBackToMs: parseViewRowKey(bound).createdMs }, tableRequests: counter.requests };
    return { runs, tableRequests: counter.requests };
  }

  /** Reads one value's partitions of a view, newest first, up to `need` rows after `after`. */
  private async readStream(
    view: ViewName,
    value: string | undefined,
    o: { upperMs: number; fromMs?: number; after?: string; filter: string; need: number; text?: string },
    counter: { requests: number },
  ): Promise<{ rows: Array<TableEntityResult<ViewEntity>>; more: boolean; lastRowKey?: string }> {
    const table = this.view(view);
    const topMonth = utcMonth(o.after ? Math.min(o.upperMs, parseViewRowKey(o.after).createdMs) : o.upperMs);
    const fromMonth = o.fromMs !== undefined ? utcMonth(o.fromMs) : undefined;
    if (fromMonth && fromMonth > topMonth) return { rows: [], more: false };
    const lowerRowKey = [rowKeyAtOrBefore(o.upperMs), o.after].filter((k): k is string => !!k).sort().at(-1)!;
    const rowRange = `RowKey ${o.after && o.after >= rowKeyAtOrBefore(o.upperMs) ? 'gt' : 'ge'} ${odataString(lowerRowKey)}${o.fromMs !== undefined ? ` and RowKey lt ${odataString(rowKeyPast(o.fromMs))}` : ''}`;
    const extra = o.filter ? ` and ${o.filter}` : '';
    const newest = viewPartitionKey(view, value, topMonth);
    const rows: Array<TableEntityResult<ViewEntity>> = [];
    let more = false;
    let requests = 0;
    const run = async (filter: string): Promise<void> => {
      // The service answers at most 1,000 rows a request.
      const pages = table.listEntities<ViewEntity>({ queryOptions: { filter } }).byPage({ maxPageSize: Math.min(1000, o.need - rows.length) });
      for (;;) {
        if (requests >= MAX_REQUESTS_PER_STREAM) {
          more = true;
          return;
        }
        requests++;
        counter.requests++;
        let page: IteratorResult<Array<TableEntityResult<ViewEntity>> & { continuationToken?: string }>;
        try {
          page = await pages.next();
        } catch (err) {
          rethrowClassified(err, `Listing runs from the run index (${view})`);
        }
        if (page.done) return;
        rows.push(...page.value);
        if (rows.length >= o.need) {
          more = true;
          return;
        }
        if (!page.value.continuationToken) return;
      }
    };
    await run(`PartitionKey eq ${odataString(newest)} and ${rowRange}${extra}`);
    // Older months, unless the range starts in the newest one.
    if (!more && fromMonth !== topMonth) {
      // Older months: their rows are all older than the newest month's, so only `from` bounds them.
      const oldest = viewPartitionKey(view, value, fromMonth ?? '000000');
      const older = `PartitionKey gt ${odataString(newest)} and PartitionKey le ${odataString(oldest)}${o.fromMs !== undefined ? ` and RowKey lt ${odataString(rowKeyPast(o.fromMs))}` : ''}${extra}`;
      await run(older);
    }
    if (rows.length > o.need) rows.length = o.need;
    return { rows, more, lastRowKey: rows.at(-1)?.rowKey };
  }

  /**
   * Counts by status (status filters do not apply: counts show all). Without text: from counter rows,
   * one range query per entry shard for each period granularity the time range needs, plus view rows
   * for partial days at its ends. With text: view rows, up to a budget.
   */
  async count(q: IndexCountQuery, now = Date.now()): Promise<IndexCounts> {
    const counter = { requests: 0 };
    const byStatus: Partial<Record<RunStatus, number>> = {};
    let total = 0;
    const add = (status: RunStatus, n: number): void => {
      if (!n) return;
      byStatus[status] = (byStatus[status] ?? 0) + n;
      total += n;
    };
    const wanted = (route: string, kind: string): boolean => (!q.routes || q.routes.includes(route)) && (!q.kinds || q.kinds.includes(kind as RunKind));
    if (q.text) {
      const scan = await this.scanForCount(q, q.fromMs, Math.min(q.toMs ?? now, now), counter);
      for (const [s, n] of Object.entries(scan.byStatus)) add(s as RunStatus, n!);
      return { total, byStatus, ...(scan.completeSinceMs !== undefined ? { partial: true as const, completeSince: new Date(scan.completeSinceMs).toISOString() } : {}), tableRequests: counter.requests };
    }
    const ranges: Array<{ ge: string; lt: string }> = [];
    const edges: Array<{ fromMs: number; toMs: number }> = [];
    if (q.fromMs === undefined && q.toMs === undefined) {
      ranges.push({ ge: ALL_TIME_COUNTERS, lt: `${ALL_TIME_COUNTERS}~` });
    } else {
      const plan = planCount(q.fromMs ?? 0, Math.min(q.toMs ?? now, now));
      if (plan.months) ranges.push(counterRange(MONTH_COUNTERS, plan.months.first, plan.months.last));
      for (const d of plan.days) ranges.push(counterRange(DAY_COUNTERS, d.first, d.last));
      edges.push(...plan.edges);
    }
    const counterReads = entryPartitions().flatMap((pk) =>
      ranges.map(async (r) => {
        const filter = `PartitionKey eq ${odataString(pk)} and RowKey ge ${odataString(r.ge)} and RowKey lt ${odataString(r.lt)}`;
        try {
          for await (const page of this.tables.entries.listEntities<CounterEntity>({ queryOptions: { filter } }).byPage({ maxPageSize: 1000 })) {
            counter.requests++;
            for (const row of page) if (wanted(row.route, row.kind)) for (const s of RUN_STATUSES) add(s, Number(row[s] ?? 0));
          }
        } catch (err) {
          rethrowClassified(err, 'Reading run counts from the run index');
        }
      }),
    );
    const edgeReads = edges.map((e) => this.scanForCount(q, e.fromMs, e.toMs, counter));
    const [, scans] = await Promise.all([Promise.all(counterReads), Promise.all(edgeReads)]);
    let note: string | undefined;
    for (const scan of scans) {
      for (const [s, n] of Object.entries(scan.byStatus)) add(s as RunStatus, n!);
      if (scan.completeSinceMs !== undefined) note = `More than ${COUNT_SCAN_ROWS} runs were created in a partial day at an end of the range; give whole UTC days for exact counts.`;
    }
    return { total, byStatus, ...(note ? { partial: true as const, note } : {}), tableRequests: counter.requests };
  }

  /** Counts matching view rows created in [fromMs, toMs], newest first, up to COUNT_SCAN_ROWS. */
  private async scanForCount(q: IndexCountQuery, fromMs: number | undefined, toMs: number, counter: { requests: number }): Promise<{ byStatus: Partial<Record<RunStatus, number>>; completeSinceMs?: number }> {
    const { view, values } = chooseView({ routes: q.routes, kinds: q.kinds, pageSize: 0 });
    const filter = serviceFilter({ routes: q.routes, kinds: q.kinds }, view);
    const byStatus: Partial<Record<RunStatus, number>> = {};
    let completeSinceMs: number | undefined;
    const perStream = Math.max(1, Math.floor(COUNT_SCAN_ROWS / values.length));
    await Promise.all(
      values.map(async (value) => {
        const stream = await this.readStream(view, value, { upperMs: toMs, fromMs, filter, need: perStream }, counter);
        for (const r of stream.rows) if (!q.text || r.t.includes(q.text)) byStatus[r.status as RunStatus] = (byStatus[r.status as RunStatus] ?? 0) + 1;
        if (stream.more && stream.lastRowKey) {
          const since = parseViewRowKey(stream.lastRowKey).createdMs;
          completeSinceMs = completeSinceMs === undefined ? since : Math.max(completeSinceMs, since);
        }
      }),
    );
    return { byStatus, completeSinceMs };
  }

  // ---- backfill state -------------------------------------------------------------------------

  async backfillState(): Promise<(BackfillState & { etag: string }) | undefined> {
    try {
      const e = await this.tables.entries.getEntity<{ state: string }>(META_PARTITION, BACKFILL_ROW);
      return { ...(JSON.parse(e.state) as BackfillState), etag: e.etag };
    } catch (err) {
      if (isStatus(err, 404)) return undefined;
      rethrowClassified(err, 'Reading the run index backfill state');
    }
  }

  /** Saves the backfill state if nobody else did since `etag` (undefined: only if there is none); false if somebody did. */
  async saveBackfillState(state: BackfillState, etag: string | undefined): Promise<boolean> {
    try {
      const entity = { partitionKey: META_PARTITION, rowKey: BACKFILL_ROW, state: JSON.stringify(state) };
      if (etag) await this.tables.entries.updateEntity(entity, 'Replace', { etag });
      else await this.tables.entries.createEntity(entity);
      return true;
    } catch (err) {
      if (isStatus(err, 409, 412)) return false;
      rethrowClassified(err, 'Saving the run index backfill state');
    }
  }

  /** View rows of runs in statuses from which they still move (for the maintenance pass), across all months. */
  async activeRuns(maxRows: number): Promise<ActiveRunRow[]> {
    const out: ActiveRunRow[] = [];
    for (const status of ['Pending', 'Running', 'AwaitingApproval', 'Suspended'] as const) {
      const filter = `PartitionKey ge ${odataString(`${status}~`)} and PartitionKey lt ${odataString(`${status}~~`)}`;
      try {
        for await (const row of this.tables.byStatus.listEntities<ViewEntity>({ queryOptions: { filter, select: ['PartitionKey', 'RowKey', 'v', 'status'] } })) {
          const { runId, createdMs } = parseViewRowKey(row.rowKey);
          out.push({ runId, createdMs, status: row.status as RunStatus, version: row.v, partitionKey: row.partitionKey, rowKey: row.rowKey, etag: row.etag });
          if (out.length >= maxRows) return out;
        }
      } catch (err) {
        rethrowClassified(err, 'Reading unfinished runs from the run index');
      }
    }
    return out;
  }

  /** Deletes a byStatus row unless it was written again since it was read. */
  async removeViewRowIfUnchanged(row: ActiveRunRow): Promise<boolean> {
    try {
      await this.tables.byStatus.deleteEntity(row.partitionKey, row.rowKey, { etag: row.etag });
      return true;
    } catch (err) {
      if (isStatus(err, 404, 412)) return false;
      rethrowClassified(err, `Removing a stray run index row of run ${row.runId}`);
    }
  }
}

export interface ActiveRunRow {
  runId: string;
  createdMs: number;
  status: RunStatus;
  version: string;
  partitionKey: string;
  rowKey: string;
  etag: string;
}

function entryEntityOf(summary: RunSummary, text: string, version: string, placed: string, placedV: string): EntryEntity {
  return {
    partitionKey: entryPartition(summary.runId),
    rowKey: entryRowKey(summary.runId),
    v: version,
    createdAt: summary.createdAt,
    status: summary.status,
    kind: summary.kind,
    route: summary.route ?? NO_ROUTE,
    s: JSON.stringify(summary),
    t: text.slice(0, MAX_SEARCH_TEXT),
    placed,
    placedV,
  };
}

function viewEntityOf(entry: Pick<EntryEntity, 'v' | 'createdAt' | 'status' | 'kind' | 'route' | 's' | 't'> & { s: string }, p: ViewPlacement): ViewEntity {
  const runId = (JSON.parse(entry.s) as RunSummary).runId;
  return { partitionKey: p.partitionKey, rowKey: viewRowKey(Date.parse(entry.createdAt), runId), v: entry.v, status: entry.status, kind: entry.kind, route: entry.route, s: entry.s, t: entry.t };
}

/**
 * Every row a run new to the index has once written and projected: its entry, its view rows and the
 * counter rows it adds one to. For loading many runs at once (the benchmark's seed) with the shapes
 * record() writes.
 */
export function rowsOfNewRun(update: RunIndexUpdate): { entry: EntryEntity; views: Array<{ view: ViewName; row: ViewEntity }>; counters: string[] } {
  const createdMs = Date.parse(update.summary.createdAt);
  const placements = viewPlacements({ route: update.summary.route, status: update.summary.status, kind: update.summary.kind }, createdMs);
  const entry = entryEntityOf(update.summary, update.text, update.version, JSON.stringify(placements.map(placementId)), update.version);
  return { entry, views: placements.map((p) => ({ view: p.view, row: viewEntityOf(entry, p) })), counters: counterKeys(update.summary.route, update.summary.kind, createdMs) };
}

/** The view a query reads, and the values (one stream each) it reads it for. */
export function chooseView(q: Pick<IndexListQuery, 'statuses' | 'routes' | 'kinds'> & { pageSize: number }): { view: ViewName; values: Array<string | undefined> } {
  const FINISHED: RunStatus[] = ['Completed', 'Failed', 'ValidationFailed', 'Terminated', 'Promoted', 'Rejected', 'RolledBack'];
  // A route's runs in a finished status: the route's partitions are smaller than the status's.
  if (q.statuses && !(q.routes && q.statuses.every((s) => FINISHED.includes(s)))) return { view: 'byStatus', values: q.statuses };
  if (q.routes) return { view: 'byRoute', values: q.routes };
  if (q.kinds) return { view: 'byKind', values: q.kinds };
  return { view: 'byTime', values: [undefined] };
}

/** The filters the chosen view does not cover, as an OData filter for the service. */
export function serviceFilter(q: Pick<IndexListQuery, 'statuses' | 'routes' | 'kinds'>, view: ViewName): string {
  const anyOf = (property: string, values: readonly string[] | undefined): string | undefined => (values?.length ? `(${values.map((v) => `${property} eq ${odataString(v)}`).join(' or ')})` : undefined);
  return [view !== 'byStatus' ? anyOf('status', q.statuses) : undefined, view !== 'byRoute' ? anyOf('route', q.routes) : undefined, view !== 'byKind' ? anyOf('kind', q.kinds) : undefined].filter(Boolean).join(' and ');
}

let shared: { hub: string; index: Promise<RunIndex> } | undefined;

/** The index of this app's task hub (BATCHPILOT_TASK_HUB) in the runtime storage account; tables created on first use. */
export function appRunIndex(env: NodeJS.ProcessEnv = process.env): Promise<RunIndex> {
  const hub = (env.BATCHPILOT_TASK_HUB ?? '').trim();
  if (!hub) return Promise.reject(new Error('BATCHPILOT_TASK_HUB is not set: the run index is kept per task hub.'));
  if (shared?.hub !== hub) {
    const names = runIndexTableNames(hub);
    const index = (async () => {
      const [entries, byTime, byRoute, byStatus, byKind] = await Promise.all([names.entries, names.byTime, names.byRoute, names.byStatus, names.byKind].map((n) => readyRuntimeTable(n)));
      return new RunIndex({ entries, byTime, byRoute, byStatus, byKind });
    })();
    index.catch(() => {
      if (shared?.index === index) shared = undefined;
    });
    shared = { hub, index };
  }
  return shared.index;
}

export { invertedMonth };
