// Accepted runs: the storage intake's durable hand-off. A BlobCreated event on a perFile route is
// answered once its run is written here (one insert-if-absent, keyed by the run's deterministic ID);
// the run-start timer (src/events/acceptedRuns.ts) starts what is here and removes it once started. So
// a burst of events is acknowledged at the rate a table takes inserts, not the rate runs can start, and
// a crash between the two leaves a row the next tick starts: nothing accepted is lost, and since the
// start itself is idempotent (src/azure/runStarter.ts), nothing starts twice. Kept in the runtime
// storage account, one table per task hub (`<hub>AcceptedRuns`, beside the run index's `<hub>Runs`).
import { createHash } from 'node:crypto';
import type { TableClient } from '@azure/data-tables';
import { readyRuntimeTable } from './storageClients';
import { rethrowClassified } from './errorClassification';
import { odataString } from './runIndexKeys';

/** The table of a task hub's accepted runs: apps sharing a storage account never start each other's runs. */
export function acceptedRunsTableName(taskHub: string): string {
  return `${taskHub}AcceptedRuns`;
}
/** Rows are spread over this many partitions (a single partition takes about 2,000 writes/s in Azure). */
const PARTITIONS = 16;
/** A table string property holds 32K UTF-16 characters; a run input longer than this is started at once instead. */
export const MAX_ACCEPTED_INPUT_CHARS = 30_000;
/** Run IDs this process accepted (or saw accepted), so repeated deliveries are answered without a request. */
const RECENT_LIMIT = 20_000;

export interface AcceptedRun {
  runId: string;
  orchestration: string;
  input: unknown;
  acceptedAt: string;
  eventId?: string;
  /** Failed start attempts so far, and when the next one may be made. */
  attempts: number;
  nextAttemptAt?: string;
  lastError?: string;
}

interface AcceptedRunEntity {
  partitionKey: string;
  rowKey: string;
  orchestration: string;
  input: string;
  acceptedAt: string;
  eventId?: string;
  attempts?: number;
  nextAttemptAt?: string;
  lastError?: string;
}

export type Acceptance = 'accepted' | 'duplicate' | 'too-large';

function partitionOf(runId: string): string {
  return `p${(createHash('sha256').update(runId).digest()[0] % PARTITIONS).toString(16)}`;
}

function keyOf(row: { partitionKey: string; rowKey: string }): { partitionKey: string; rowKey: string } {
  return { partitionKey: row.partitionKey, rowKey: row.rowKey };
}

/** Table key order (partition, then row; ordinal string comparison, as the service sorts). */
function keyOrder(a: { partitionKey: string; rowKey: string }, b: { partitionKey: string; rowKey: string }): number {
  const by = (x: string, y: string): number => (x < y ? -1 : x > y ? 1 : 0);
  return by(a.partitionKey, b.partitionKey) || by(a.rowKey, b.rowKey);
}

function acceptedRunOf(row: AcceptedRunEntity): AcceptedRun {
  let input: unknown;
  try {
    input = JSON.parse(row.input);
  } catch {
    input = undefined;
  }
  return { runId: row.rowKey, orchestration: row.orchestration, input, acceptedAt: row.acceptedAt, eventId: row.eventId, attempts: row.attempts ?? 0, nextAttemptAt: row.nextAttemptAt, lastError: row.lastError };
}

/** Characters a table key cannot hold (/, \, #, ?, control characters): run IDs never have them. */
// eslint-disable-next-line no-control-regex -- control characters are what this pattern is for
const NOT_IN_TABLE_KEYS = /[/\\#?\u0000-\u001f\u007f-\u009f]/;

function checkedKey(runId: string): string {
  if (!runId || runId.length > 512 || NOT_IN_TABLE_KEYS.test(runId)) throw new Error(`The run ID '${runId.slice(0, 100)}' cannot be a table key.`);
  return runId;
}

function isStatus(err: unknown, status: number): boolean {
  return (err as { statusCode?: number }).statusCode === status;
}

export class RunAcceptance {
  /** runId → whether this process's insert was the first (a promise while the insert is under way). */
  readonly #recent = new Map<string, Promise<boolean>>();
  /** Where due() goes on reading: the key of the last row it read. */
  #cursor: { partitionKey: string; rowKey: string } | undefined;

  constructor(private readonly table: () => Promise<TableClient>) {}

  /**
   * Writes the run to be started; 'duplicate' when it was accepted before (by this process, or by any
   * while its row is still there). Resolves only once the row is stored, so a caller that answers its
   * event after this has handed the run on. Concurrent deliveries of one event share one insert.
   */
  async accept(run: { runId: string; orchestration: string; input: unknown; eventId?: string }): Promise<Acceptance> {
    // A run too large to accept is never remembered, so a remembered ID is a duplicate whatever its input.
    const known = this.#recent.get(run.runId);
    if (known) {
      // Refreshes its place: the most recently seen IDs are the ones kept.
      this.#recent.delete(run.runId);
      this.#recent.set(run.runId, known);
      await known;
      return 'duplicate';
    }
    const input = JSON.stringify(run.input);
    if (input.length > MAX_ACCEPTED_INPUT_CHARS) return 'too-large';
    const acceptedAt = new Date().toISOString();
    // Due at once: the run-start tick reads rows by nextAttemptAt.
    const inserted = this.#insert({ partitionKey: partitionOf(run.runId), rowKey: checkedKey(run.runId), orchestration: run.orchestration, input, acceptedAt, nextAttemptAt: acceptedAt, ...(run.eventId ? { eventId: run.eventId } : {}) });
    this.#recent.set(run.runId, inserted);
    if (this.#recent.size > RECENT_LIMIT) this.#recent.delete(this.#recent.keys().next().value as string);
    // A failed insert is forgotten, so the event's redelivery tries again.
    inserted.catch(() => {
      if (this.#recent.get(run.runId) === inserted) this.#recent.delete(run.runId);
    });
    return (await inserted) ? 'accepted' : 'duplicate';
  }

  async #insert(entity: AcceptedRunEntity): Promise<boolean> {
    const t = await this.table();
    try {
      await t.createEntity(entity);
      return true;
    } catch (err) {
      // 409: accepted before; or our own insert, whose answer was lost, retried by the SDK. Either way the row is there.
      if (isStatus(err, 409)) return false;
      rethrowClassified(err, `Accepting run ${entity.rowKey}`);
    }
  }

  /** Every accepted run not yet started, oldest first: a whole-table read (tests use it; the run-start tick reads with due()). */
  async pending(): Promise<AcceptedRun[]> {
    const t = await this.table();
    const runs: AcceptedRun[] = [];
    try {
      for await (const row of t.listEntities<AcceptedRunEntity>()) runs.push(acceptedRunOf(row));
    } catch (err) {
      rethrowClassified(err, 'Reading the accepted runs');
    }
    return runs.sort((a, b) => a.acceptedAt.localeCompare(b.acceptedAt) || a.runId.localeCompare(b.runId));
  }

  /**
   * Up to `limit` runs whose start is due at `now`, read onward (in key order) from where the previous
   * call stopped and starting over at the table's end: a round costs the same however many runs wait,
   * and every waiting run comes up within one sweep, whatever keeps arriving before it.
   */
  async due(now: Date, limit: number): Promise<AcceptedRun[]> {
    const t = await this.table();
    const from = this.#cursor;
    const at = now.toISOString();
    let rows = await this.#dueAfter(t, from, at, limit);
    if (rows.length < limit && from) {
      // The end of the table: on from its start, up to where this call began.
      const before = (await this.#dueAfter(t, undefined, at, limit - rows.length)).filter((r) => keyOrder(r, from) <= 0);
      rows = [...rows, ...before];
      this.#cursor = before.length ? keyOf(before[before.length - 1]) : undefined;
    } else {
      this.#cursor = rows.length ? keyOf(rows[rows.length - 1]) : undefined;
    }
    return rows.map(acceptedRunOf);
  }

  async #dueAfter(t: TableClient, after: { partitionKey: string; rowKey: string } | undefined, now: string, limit: number): Promise<AcceptedRunEntity[]> {
    // ISO times compare as strings. 'not later than now' rather than 'at or before now', so a row without
    // the property (none is written so now) would still count as due.
    const isDue = `not (nextAttemptAt gt ${odataString(now)})`;
    const pk = after && odataString(after.partitionKey);
    const filter = after ? `(PartitionKey gt ${pk} or (PartitionKey eq ${pk} and RowKey gt ${odataString(after.rowKey)})) and ${isDue}` : isDue;
    const rows: AcceptedRunEntity[] = [];
    try {
      // Pages follow each other until `limit` rows (the service may answer a page short, with a continuation).
      for await (const page of t.listEntities<AcceptedRunEntity>({ queryOptions: { filter } }).byPage({ maxPageSize: limit })) {
        rows.push(...page);
        if (rows.length >= limit) break;
      }
    } catch (err) {
      rethrowClassified(err, 'Reading the accepted runs due to start');
    }
    return rows.slice(0, limit);
  }

  /** Removes a started run's row (gone already is fine: another tick removed it). */
  async started(runId: string): Promise<void> {
    const t = await this.table();
    try {
      await t.deleteEntity(partitionOf(runId), checkedKey(runId));
    } catch (err) {
      if (!isStatus(err, 404)) rethrowClassified(err, `Removing the started run ${runId} from the accepted runs`);
    }
  }

  /** started() for many runs: one transaction per partition, row by row where one fails (a row already gone). */
  async startedMany(runIds: string[]): Promise<void> {
    const t = await this.table();
    const byPartition = new Map<string, string[]>();
    for (const id of runIds) {
      const pk = partitionOf(id);
      const ids = byPartition.get(pk) ?? [];
      ids.push(checkedKey(id));
      byPartition.set(pk, ids);
    }
    await Promise.all(
      [...byPartition].flatMap(([pk, ids]) => {
        const parts: string[][] = [];
        for (let i = 0; i < ids.length; i += 100) parts.push(ids.slice(i, i + 100));
        return parts.map(async (part) => {
          try {
            await t.submitTransaction(part.map((rowKey) => ['delete', { partitionKey: pk, rowKey }]));
          } catch {
            await Promise.all(part.map((id) => this.started(id)));
          }
        });
      }),
    );
  }

  /** Records a failed start, and when the next attempt may be made. */
  async failed(run: AcceptedRun, error: string, nextAttemptAt: Date): Promise<void> {
    const t = await this.table();
    try {
      await t.updateEntity({ partitionKey: partitionOf(run.runId), rowKey: checkedKey(run.runId), attempts: run.attempts + 1, nextAttemptAt: nextAttemptAt.toISOString(), lastError: error.slice(0, 2000) }, 'Merge');
    } catch (err) {
      // Gone meanwhile: started by another tick. Anything else: the attempt count is behind, which only shortens a wait.
      if (!isStatus(err, 404)) rethrowClassified(err, `Recording the failed start of ${run.runId}`);
    }
  }
}

let shared: { hub: string; acceptance: RunAcceptance } | undefined;

/** The accepted runs of this app's task hub (BATCHPILOT_TASK_HUB), in the runtime storage account. */
export function appRunAcceptance(env: NodeJS.ProcessEnv = process.env): RunAcceptance {
  const hub = (env.BATCHPILOT_TASK_HUB ?? '').trim();
  if (!hub) throw new Error('BATCHPILOT_TASK_HUB is not set: runs are accepted per task hub.');
  if (shared?.hub !== hub) shared = { hub, acceptance: new RunAcceptance(() => readyRuntimeTable(acceptedRunsTableName(hub))) };
  return shared.acceptance;
}
