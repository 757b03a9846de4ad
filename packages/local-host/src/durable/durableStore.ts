// Persistence for the durable engine in Azure Table storage (Azurite locally), three tables per task hub:
//   <hub>Journal   — the commit journal (commitJournal.ts): each step's record (the instance's new state,
//                    its latest history events, the inbox messages it consumed, the messages it sends),
//                    many steps per transaction. A step is committed when its record is there.
//   <hub>Instances — one row per instance: its state and latest history events (the tail), and the
//                    status fields queries filter on. Rows follow the journal from memory, a few dozen
//                    instances per transaction (partitions are 16 shards of the instance IDs), once an
//                    instance has been quiet for a moment or when someone reads: a burst of steps of one
//                    instance becomes one write.
//   <hub>History   — one partition per instance: history rows of the current execution older than the
//                    tail (`h|<execution>|<first event seq>`), the inbox of messages not yet applied
//                    (`i|<message>`) and the outbox of large batches of messages for other instances
//                    (`o|<version>|<part>`). History and outbox rows are written ahead of the record that
//                    refers to them, so they only count once it is committed.
// Payloads too large for a row (long strings, and states or messages whose JSON stays long) live in the
// `<hub>-largemessages` blob container (payloadBlobs.ts): every value is encoded before the row or record
// holding it is written, so each row stays under the entity limit and each record under a journal entry.
// Few requests, because Azurite's cost grows with requests and operations. After a crash, start-up
// writes what the journal holds to the instance rows (the newest record of each instance wins), deletes
// the inbox messages those records consumed, and hands back the messages to deliver again.
import { TableClient, TableEntity, TransactionAction, odata } from '@azure/data-tables';
import type { HistoryEvent } from './historyEvents';
import type { Envelope, InstanceState, LoadedInstance, RuntimeStatus } from './instanceModel';
import { isTerminal } from './instanceModel';
import type { OutboundMessage } from './episodeOutcome';
import { CommitJournal, MAX_RECORD_BYTES } from './commitJournal';
import { TableTransactions } from './tableTransactions';
import { PayloadBlobs } from './payloadBlobs';
import {
  MAX_ROW_TEXT_CHARS,
  MAX_TRANSACTION_BYTES,
  MAX_TRANSACTION_OPS,
  PayloadTooLargeError,
  escapeTableKey,
  isTooLargeForStorage,
  packText,
  transactionBatches,
  unescapeTableKey,
  unpackText,
} from './tablePayloads';

const SEQ_DIGITS = 8;
/** JSON characters per history or outbox row (packText chunks them under the entity size limit). */
const ROW_JSON_CHARS = 400000;
/**
 * Tail size (JSON characters) beyond which a commit moves the tail into history rows. Records carry only
 * new events and the row is written rarely, so the tail can be long; the row's limit bounds it.
 */
const TAIL_JSON_CHARS = 300000;
/** Outbound messages (JSON characters) beyond which they go to outbox rows instead of the record. */
const OUTBOUND_INLINE_CHARS = 64000;
/**
 * Instance-row partitions: transactions group rows of one partition, and Azurite finds a row among
 * those of its partition, so a few partitions keep both batches large and look-ups short.
 */
const SHARDS = 4;
/**
 * When an instance's row is written: a finished instance's soon; a running one's once its oldest
 * unwritten commit is MAX_DELAY old, so the steps of a busy instance make one write every few seconds
 * and start-up replays little (as the Durable Task providers that keep a commit log checkpoint
 * periodically). Due times are rounded up to GATHER, so rows due about together share transactions.
 */
const CHECKPOINT_GATHER_IN_MS = 50;
const CHECKPOINT_MAX_DELAY_IN_MS = 5000;
const CHECKPOINT_TRANSACTIONS_IN_FLIGHT = 2;
const RETRY_IN_MS = 1000;
/**
 * Encoded JSON beyond which a value goes to a blob whole: a state (room for it and a tail in one row, and
 * for many in a journal entry), a history event or a message (room for many in one row).
 */
const STATE_INLINE_CHARS = 100000;
const ITEM_INLINE_CHARS = 60000;
/**
 * How long a state blob superseded by a newer instance row is kept: a reader that had just read the
 * older row can still fetch it.
 */
const SUPERSEDED_BLOB_GRACE_IN_MS = 60000;
/** The state row of the layout before the journal (History table, RowKey 'state'), migrated at start-up. */
const OLD_STATE_ROW = 'state';

export interface InstanceCommit {
  /** The state to store; the store sets its `flushedEvents`. */
  state: InstanceState;
  /** The current execution's whole history after this commit (`state.historyCount` events). */
  history: HistoryEvent[];
  /** Inbox envelopes applied or dropped by this commit. */
  consumed: Envelope[];
  outbound: OutboundMessage[];
  /** The history was rewritten rather than appended to (rewind): the record carries all of its tail. */
  rewritten?: boolean;
}

/** What a commit leaves for the engine to finish once its messages are delivered. */
export interface CommitReceipt {
  /** Outbox rows holding the messages (large batches only), to delete once delivered. */
  outboxRowKeys: string[];
  /** Call once every outbound message arrived in its target's inbox. */
  delivered(): void;
}

export interface OutboxEntry {
  owner: string;
  rowKey: string;
  version: number;
  messages: OutboundMessage[];
}

/** Messages of journal records found at start-up, to deliver again (at least once). */
export interface RecoveredMessages {
  owner: string;
  outbound: OutboundMessage[];
  receipt: CommitReceipt;
}

export interface InstanceQuery {
  runtimeStatus?: RuntimeStatus[];
  createdTimeFrom?: Date;
  createdTimeTo?: Date;
  instanceIdPrefix?: string;
  kind?: 'orchestration' | 'entity';
  /** Entity name (lower-case) for entity listings. */
  entityName?: string;
}

export interface InstanceSummary {
  instanceId: string;
  kind: 'orchestration' | 'entity';
  name: string;
  runtimeStatus: RuntimeStatus;
  createdTime: string;
  lastUpdatedTime: string;
  input?: string;
  output?: string;
  customStatus?: string;
}

export interface DurableStoreOptions {
  /** A background write (instance rows, journal clean-up) failed; it is retried. */
  onError?(what: string, err: unknown): void;
  /** An instance's row caught up with its last commit: it may leave memory. */
  onClean?(instanceId: string): void;
  /** How long a running instance's row may lag its last commit (default CHECKPOINT_MAX_DELAY_IN_MS). */
  maxRowDelayInMs?: number;
  /** How long a state blob is kept once a newer row supersedes it (default SUPERSEDED_BLOB_GRACE_IN_MS). */
  supersededBlobGraceInMs?: number;
}

type Row = TableEntity<Record<string, unknown>>;

/**
 * A journal record as stored. `e` holds the history events from position `b` on: the events this
 * commit added, on top of the instance's previous record or row (same execution); when `b` is at most
 * the state's flushedEvents, `e` is the whole tail and the record stands alone.
 */
interface JournalRecord {
  i: string;
  v: number;
  /** The state, opened when it was stored as a blob whole (see openRecord). */
  s: InstanceState;
  /** The state's stored JSON (a blob reference when large), set when the record is read. */
  sj?: string;
  b: number;
  e: HistoryEvent[];
  c: string[];
  o: OutboundMessage[];
}

/** An instance whose row lags its journal records: what the row must become. */
interface PendingRow {
  instanceId: string;
  version: number;
  fields: Record<string, unknown>;
  stateJson: string;
  /** The row's tail: `history` from `from` on (the commit's own copy of the history; never changed). */
  history: HistoryEvent[];
  from: number;
  /** Inbox rows consumed since the last row write, to delete with it. */
  consumed: string[];
  /** The blob holding the state whole, when it is large. */
  stateBlob?: string;
  /** When the row started lagging, and when the last commit came (epoch ms). */
  dirtySince: number;
  lastCommitAt: number;
  /** After a failed write: not before this time (epoch ms). */
  retryAt?: number;
}

interface FlushWaiter {
  targets: Map<string, number>;
  resolve: () => void;
  reject: (err: Error) => void;
}

function historyRowKey(executionId: string, seq: number): string {
  return `h|${executionId}|${String(seq).padStart(SEQ_DIGITS, '0')}`;
}

function inboxRowKey(envelopeId: string): string {
  return `i|${escapeTableKey(envelopeId)}`;
}

function outboxRowKey(version: number, part: number): string {
  return `o|${String(version).padStart(10, '0')}|${part}`;
}

/** The partition of an instance's row: a hash of its (escaped) ID over SHARDS partitions. */
function shardOf(escapedId: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < escapedId.length; i++) {
    h ^= escapedId.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return `s${((h >>> 0) % SHARDS).toString(16)}`;
}

/**
 * Each history event's stored JSON (large payloads as blob references), made once by the commit that
 * records it (DurableStore.#encodeEvents): an instance's tail travels in every record of its execution,
 * and events do not change once recorded (IsPlayed aside, which loading sets again). Events without an
 * entry are ones read back from storage in their stored form (start-up), whose plain JSON is that form.
 */
type EventJsonCache = WeakMap<HistoryEvent, string>;

function eventJson(cache: EventJsonCache, e: HistoryEvent): string {
  let json = cache.get(e);
  if (json === undefined) {
    json = JSON.stringify(e);
    cache.set(e, json);
  }
  return json;
}

function eventsChars(cache: EventJsonCache, events: HistoryEvent[], from: number, to = events.length): number {
  let chars = 0;
  for (let i = from; i < to; i++) chars += eventJson(cache, events[i]).length + 1;
  return chars;
}

function eventsJson(cache: EventJsonCache, events: HistoryEvent[], from: number): string {
  if (from >= events.length) return '[]';
  let json = `[${eventJson(cache, events[from])}`;
  for (let i = from + 1; i < events.length; i++) json += `,${eventJson(cache, events[i])}`;
  return `${json}]`;
}

/** Splits JSON items into groups that fit one row each. */
function groupJson(items: string[]): string[][] {
  const groups: string[][] = [];
  let group: string[] = [];
  let size = 0;
  for (const json of items) {
    if (group.length > 0 && size + json.length + 1 > ROW_JSON_CHARS) {
      groups.push(group);
      group = [];
      size = 0;
    }
    group.push(json);
    size += json.length + 1;
  }
  if (group.length > 0) groups.push(group);
  return groups;
}

function statusOf(err: unknown): number | undefined {
  return (err as { statusCode?: number }).statusCode;
}

function isNotFound(err: unknown): boolean {
  return statusOf(err) === 404;
}

/** The fields of an instance row besides its state and tail: what queries filter and list. */
function rowFields(state: InstanceState): Record<string, unknown> {
  const fields: Record<string, unknown> = {
    InstanceId: state.instanceId,
    Kind: state.kind,
    Name: state.name,
    RuntimeStatus: state.runtimeStatus,
    Terminal: isTerminal(state.runtimeStatus),
    Version: state.version,
    ExecutionId: state.executionId,
    CreatedTime: new Date(state.createdTime),
    LastUpdatedTime: new Date(state.lastUpdatedTime),
  };
  if (state.completedTime) fields.CompletedTime = new Date(state.completedTime);
  return fields;
}

/**
 * An instance's state (a large one opened from its blob, its long strings still references), the
 * state's stored JSON, and its tail as stored.
 */
interface StoredRow {
  state: InstanceState;
  stateJson: string;
  tail: HistoryEvent[];
}

/**
 * An instance's state and tail from its row and the journal records newer than it: records stand alone
 * or add events to what came before (see JournalRecord).
 */
function applyRecords(row: StoredRow | undefined, records: JournalRecord[]): StoredRow | undefined {
  let state = row?.state;
  let stateJson = row?.stateJson;
  const events = new Map<number, HistoryEvent>();
  row?.tail.forEach((e, j) => events.set((row.state.flushedEvents ?? 0) + j, e));
  for (const r of records) {
    if (state && r.v < state.version) continue;
    if (r.b <= (r.s.flushedEvents ?? 0) || r.s.executionId !== state?.executionId) events.clear();
    r.e.forEach((e, j) => events.set(r.b + j, e));
    state = r.s;
    stateJson = r.sj ?? JSON.stringify(r.s);
  }
  if (!state || stateJson === undefined) return undefined;
  const tail: HistoryEvent[] = [];
  for (let i = state.flushedEvents ?? 0; i < state.historyCount; i++) {
    const e = events.get(i);
    if (!e) throw new Error(`The commit journal lacks history event ${i} of instance '${state.instanceId}' (version ${state.version}).`);
    tail.push(e);
  }
  return { state, stateJson, tail };
}

/**
 * The history rows of one execution, in order, up to the committed count. Rows are taken only where
 * they continue the sequence: rows past the count (a commit that never completed) or overlapping it
 * (left over from before a rewind rewrote the history) are ignored.
 */
function committedHistory(tailJson: string, state: InstanceState, rows: Array<Record<string, unknown>>): HistoryEvent[] {
  const flushed = state.flushedEvents ?? 0;
  const byFirst = new Map<number, Record<string, unknown>>();
  for (const row of rows) byFirst.set(Number(row.First), row);
  const events: HistoryEvent[] = [];
  while (events.length < flushed) {
    const row = byFirst.get(events.length);
    if (!row) throw new Error(`The history row at event ${events.length} of instance '${state.instanceId}' is missing.`);
    events.push(...(JSON.parse(unpackText(row, 'Events') ?? '[]') as HistoryEvent[]));
  }
  events.length = Math.min(events.length, flushed);
  events.push(...(JSON.parse(tailJson) as HistoryEvent[]));
  return events.slice(0, state.historyCount);
}

export class DurableStore {
  readonly history: TableClient;
  readonly instances: TableClient;
  readonly #journal: CommitJournal;
  readonly #transactions: TableTransactions;
  readonly blobs: PayloadBlobs;
  readonly #eventJson: EventJsonCache = new WeakMap();
  /** Per instance: state blobs written by commits whose row is not written yet, oldest first. */
  readonly #stateBlobs = new Map<string, Array<{ version: number; name: string }>>();
  readonly #onError: (what: string, err: unknown) => void;
  readonly #onClean: (instanceId: string) => void;
  readonly #maxRowDelayInMs: number;
  readonly #supersededBlobGraceInMs: number;

  // Instance rows that lag the journal, and those being written (one write per instance at a time).
  readonly #pending = new Map<string, PendingRow>();
  readonly #writing = new Map<string, PendingRow>();
  readonly #urgent = new Set<string>();
  #transactionsInFlight = 0;
  #timer: NodeJS.Timeout | undefined;
  #timerAt = 0;
  readonly #flushWaiters: FlushWaiter[] = [];
  #stopped = false;

  // What keeps journal entries: records whose instance row is older, messages not yet delivered.
  readonly #openPerEntry = new Map<number, number>();
  readonly #unapplied = new Map<string, Array<{ seq: number; version: number }>>();
  readonly #entriesOf = new Map<string, Set<number>>();
  readonly #membersOf = new Map<number, string[]>();
  readonly #toTrim: number[] = [];
  #trimming: Promise<void> | undefined;
  readonly #releaseWaiters = new Map<string, Array<() => void>>();
  /** Per instance in memory: the execution and history length its last record covers. */
  readonly #journaled = new Map<string, { executionId: string; count: number; flushed: number; tailChars: number }>();

  constructor(connectionString: string, readonly taskHubName: string, options: DurableStoreOptions = {}) {
    const clientOptions = { allowInsecureConnection: true };
    this.history = TableClient.fromConnectionString(connectionString, `${taskHubName}History`, clientOptions);
    this.instances = TableClient.fromConnectionString(connectionString, `${taskHubName}Instances`, clientOptions);
    this.#transactions = new TableTransactions(connectionString);
    this.blobs = new PayloadBlobs(connectionString, taskHubName);
    this.#journal = new CommitJournal(TableClient.fromConnectionString(connectionString, `${taskHubName}Journal`, clientOptions), this.#transactions);
    this.#onError = options.onError ?? (() => undefined);
    this.#onClean = options.onClean ?? (() => undefined);
    this.#maxRowDelayInMs = options.maxRowDelayInMs ?? CHECKPOINT_MAX_DELAY_IN_MS;
    this.#supersededBlobGraceInMs = options.supersededBlobGraceInMs ?? SUPERSEDED_BLOB_GRACE_IN_MS;
  }

  async initialize(): Promise<void> {
    await Promise.all([this.history.createTable(), this.instances.createTable(), this.#journal.table.createTable(), this.blobs.initialize()]);
    await this.#migrateStateRows();
  }

  /** Stops background writes after writing what is pending (best effort). */
  async close(): Promise<void> {
    await this.flush().catch((err: unknown) => this.#onError('Writing instance rows at shutdown', err));
    this.#stopped = true;
    await this.#trimming;
    if (this.#timer) clearTimeout(this.#timer);
    this.#transactions.close();
  }

  // ---- rows ---------------------------------------------------------------------------------------

  #instanceRow(p: PendingRow): Row {
    const key = escapeTableKey(p.instanceId);
    const row: Row = { partitionKey: shardOf(key), rowKey: key, ...p.fields };
    packText(row, 'State', p.stateJson, `The state of instance '${p.instanceId}'`);
    packText(row, 'Tail', eventsJson(this.#eventJson, p.history, p.from), `The latest history events of instance '${p.instanceId}'`);
    return row;
  }

  #historyRows(instanceId: string, executionId: string, firstSeq: number, events: HistoryEvent[]): Row[] {
    let seq = firstSeq;
    return groupJson(events.map((e) => eventJson(this.#eventJson, e))).map((group) => {
      const row: Row = { partitionKey: escapeTableKey(instanceId), rowKey: historyRowKey(executionId, seq), First: seq, Count: group.length };
      packText(row, 'Events', `[${group.join(',')}]`, `History events of instance '${instanceId}'`);
      seq += group.length;
      return row;
    });
  }

  async #inboxRow(instanceId: string, envelope: Envelope): Promise<Row> {
    const row: Row = { partitionKey: escapeTableKey(instanceId), rowKey: inboxRowKey(envelope.id), ReceivedAt: envelope.receivedAt, MessageType: envelope.message.type };
    packText(row, 'Message', (await this.blobs.encode(instanceId, envelope, ITEM_INLINE_CHARS)).json, `A message for instance '${instanceId}'`);
    return row;
  }

  /** Rows of outbound messages, given as their encoded JSON. */
  #outboxRows(owner: string, version: number, outboundJson: string[]): Row[] {
    return groupJson(outboundJson).map((group, part) => {
      const row: Row = { partitionKey: escapeTableKey(owner), rowKey: outboxRowKey(version, part), Version: version, Count: group.length };
      packText(row, 'Messages', `[${group.join(',')}]`, `Messages from instance '${owner}'`);
      return row;
    });
  }

  // ---- commits ------------------------------------------------------------------------------------

  /**
   * Commits one step of an instance: rows too large for the record are written ahead (in transactions
   * that respect the service's limits), then the record goes into the journal with other instances'
   * records. Resolves once the step is durable. Throws PayloadTooLargeError when something in it can
   * never be stored, whatever the retries: the caller fails the instance instead.
   */
  async commit(commit: InstanceCommit): Promise<CommitReceipt> {
    const { state, history } = commit;
    const id = state.instanceId;
    if (history.length !== state.historyCount) throw new Error(`Commit of '${id}' has ${history.length} history events but the state says ${state.historyCount}.`);
    let flushed = Math.min(state.flushedEvents ?? 0, history.length);
    // Blobs first: everything below refers to them.
    await this.#encodeEvents(id, history, flushed);
    // Events already in this instance's previous record need not travel again, nor be measured again.
    const before = this.#journaled.get(id);
    const continues = before !== undefined && !commit.rewritten && before.executionId === state.executionId && before.count <= history.length;
    let tailChars = continues && before.flushed === flushed ? before.tailChars + eventsChars(this.#eventJson, history, before.count) : eventsChars(this.#eventJson, history, flushed);
    const ahead: Row[] = [];
    // A long tail goes to history rows (the state beside it is at most STATE_INLINE_CHARS).
    if (tailChars > TAIL_JSON_CHARS) {
      ahead.push(...this.#historyRows(id, state.executionId, flushed, history.slice(flushed)));
      flushed = history.length;
      tailChars = 0;
    }
    state.flushedEvents = flushed;
    const encodedState = await this.blobs.encode(id, state, STATE_INLINE_CHARS);
    const stateJson = encodedState.json;
    if (stateJson.length + Math.min(tailChars, TAIL_JSON_CHARS) > MAX_ROW_TEXT_CHARS) throw new PayloadTooLargeError(`The state of instance '${id}'`, stateJson.length);
    const messagesJson = await Promise.all(commit.outbound.map(async (o) => (await this.blobs.encode(id, o, ITEM_INLINE_CHARS)).json));
    let outboundJson = `[${messagesJson.join(',')}]`;
    let outboxRowKeys: string[] = [];
    if (outboundJson.length > OUTBOUND_INLINE_CHARS) {
      const rows = this.#outboxRows(id, state.version, messagesJson);
      ahead.push(...rows);
      outboxRowKeys = rows.map((r) => r.rowKey);
      outboundJson = '[]';
    }
    if (ahead.length > 0) await this.#writeAhead(id, ahead);

    const base = continues ? Math.max(before.count, flushed) : flushed;
    const consumed: string[] = [];
    for (const e of commit.consumed) if (e.durable) consumed.push(e.id);
    const record = `{"i":${JSON.stringify(id)},"v":${state.version},"s":${stateJson},"b":${base},"e":${eventsJson(this.#eventJson, history, base)},"c":${JSON.stringify(consumed)},"o":${outboundJson}}`;
    if (Buffer.byteLength(record) > MAX_RECORD_BYTES) throw new PayloadTooLargeError(`A step of instance '${id}'`, record.length);
    const seq = await this.#journal.append(record);
    this.#journaled.set(id, { executionId: state.executionId, count: history.length, flushed, tailChars });

    const now = Date.now();
    if (encodedState.wholeBlob) {
      const written = this.#stateBlobs.get(id);
      const blob = { version: state.version, name: encodedState.wholeBlob };
      if (written) written.push(blob);
      else this.#stateBlobs.set(id, [blob]);
    }
    this.#markPending({ instanceId: id, version: state.version, fields: rowFields(state), stateJson, stateBlob: encodedState.wholeBlob, history, from: flushed, consumed, dirtySince: now, lastCommitAt: now });
    this.#addRecord(seq, id, state.version);
    const inline = outboxRowKeys.length === 0 && commit.outbound.length > 0;
    if (inline) this.#openPerEntry.set(seq, (this.#openPerEntry.get(seq) ?? 0) + 1);
    return { outboxRowKeys, delivered: inline ? this.#once(() => this.#release(seq)) : () => undefined };
  }

  /** Stores the large payloads of events not encoded yet (from `from` on) and keeps their stored JSON. */
  async #encodeEvents(instanceId: string, history: HistoryEvent[], from: number): Promise<void> {
    const work: Array<Promise<void>> = [];
    for (let i = from; i < history.length; i++) {
      const e = history[i];
      if (this.#eventJson.has(e)) continue;
      // Nearly every event needs no blob: its JSON is kept at once, without a promise per event.
      const plain = this.blobs.plainJson(e, ITEM_INLINE_CHARS);
      if (plain !== undefined) this.#eventJson.set(e, plain);
      else work.push(this.blobs.encode(instanceId, e, ITEM_INLINE_CHARS).then((encoded) => void this.#eventJson.set(e, encoded.json)));
    }
    await Promise.all(work);
  }

  /**
   * The instance's row now holds `version`: state blobs of older versions are referred to by nothing
   * start-up reads (it skips records older than the row), and go after a grace period.
   */
  #supersedeStateBlobs(instanceId: string, version: number, stateBlob: string | undefined): void {
    const written = this.#stateBlobs.get(instanceId);
    if (!written) return;
    const old = written.filter((b) => b.version < version && b.name !== stateBlob).map((b) => b.name);
    const kept = written.filter((b) => b.version >= version);
    if (kept.length === 0) this.#stateBlobs.delete(instanceId);
    else this.#stateBlobs.set(instanceId, kept);
    if (old.length === 0) return;
    setTimeout(() => {
      this.blobs.delete(old).catch((err: unknown) => this.#onError(`Deleting superseded state blobs of instance '${instanceId}'`, err));
    }, this.#supersededBlobGraceInMs).unref();
  }

  async #writeAhead(instanceId: string, rows: Row[]): Promise<void> {
    const batches = transactionBatches(rows.map((r): TransactionAction => ['upsert', r, 'Replace']));
    try {
      await Promise.all(batches.map((b) => this.#transactions.submit(this.history, b)));
    } catch (err) {
      if (isTooLargeForStorage(err)) throw PayloadTooLargeError.refusedByStorage(`A step of instance '${instanceId}'`, err);
      throw err;
    }
  }

  #once(fn: () => void): () => void {
    let done = false;
    return () => {
      if (done) return;
      done = true;
      fn();
    };
  }

  /** Creates an instance's row directly (entities); false when one exists already. */
  async createInstance(state: InstanceState): Promise<boolean> {
    const stateJson = (await this.blobs.encode(state.instanceId, state, STATE_INLINE_CHARS)).json;
    const row = this.#instanceRow({ instanceId: state.instanceId, version: state.version, fields: rowFields(state), stateJson, history: [], from: 0, consumed: [], dirtySince: 0, lastCommitAt: 0 });
    try {
      await this.instances.createEntity(row);
    } catch (err) {
      if (statusOf(err) === 409) return false;
      throw err;
    }
    return true;
  }

  async appendInbox(instanceId: string, envelope: Envelope): Promise<void> {
    await this.history.upsertEntity(await this.#inboxRow(instanceId, envelope), 'Replace');
  }

  async deleteOutbox(owner: string, rowKey: string): Promise<void> {
    try {
      await this.history.deleteEntity(escapeTableKey(owner), rowKey);
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }

  /** Deletes history rows of executions other than the current one (after continueAsNew). */
  async deleteOtherExecutions(instanceId: string, currentExecutionId: string): Promise<void> {
    const pk = escapeTableKey(instanceId);
    const stale: TransactionAction[] = [];
    for await (const row of this.history.listEntities({
      queryOptions: { filter: odata`PartitionKey eq ${pk} and RowKey ge 'h|' and RowKey lt 'h}'`, select: ['RowKey'] },
    })) {
      if (!String(row.rowKey).startsWith(`h|${currentExecutionId}|`)) stale.push(['delete', { partitionKey: pk, rowKey: String(row.rowKey) }]);
    }
    for (const batch of transactionBatches(stale)) await this.history.submitTransaction(batch);
  }

  /**
   * Deletes every row of an instance (history, inbox, outbox, its instance row), then its blobs (rows
   * first: a crash in between leaves blobs nothing refers to, which purging again deletes). The caller makes sure
   * the journal holds nothing of it any more (see `released`), or start-up would bring it back.
   */
  async purgeInstance(instanceId: string): Promise<boolean> {
    const pk = escapeTableKey(instanceId);
    const rows: TransactionAction[] = [];
    for await (const row of this.history.listEntities({ queryOptions: { filter: odata`PartitionKey eq ${pk}`, select: ['RowKey'] } })) {
      rows.push(['delete', { partitionKey: pk, rowKey: String(row.rowKey) }]);
    }
    for (const batch of transactionBatches(rows)) await this.history.submitTransaction(batch);
    let found = rows.length > 0;
    try {
      await this.instances.deleteEntity(shardOf(pk), pk);
      found = true;
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
    this.#stateBlobs.delete(instanceId);
    if ((await this.blobs.purge(instanceId)) > 0) found = true;
    return found;
  }

  // ---- instance rows following the journal ---------------------------------------------------------

  #markPending(p: PendingRow): void {
    const previous = this.#pending.get(p.instanceId);
    if (previous) {
      p.consumed = previous.consumed.length ? previous.consumed.concat(p.consumed) : p.consumed;
      p.dirtySince = previous.dirtySince;
    }
    this.#pending.set(p.instanceId, p);
    this.#wake(this.#due(p));
  }

  /** When a pending row should be written (epoch ms). */
  #due(p: PendingRow): number {
    const at = p.fields.Terminal ? p.lastCommitAt : p.dirtySince + this.#maxRowDelayInMs;
    const wanted = this.#urgent.has(p.instanceId) ? 0 : Math.ceil(at / CHECKPOINT_GATHER_IN_MS + 1) * CHECKPOINT_GATHER_IN_MS;
    return Math.max(p.retryAt ?? 0, wanted);
  }

  /** True when the instance's row reflects its last commit (it may leave memory). */
  isClean(instanceId: string): boolean {
    return !this.#pending.has(instanceId) && !this.#writing.has(instanceId);
  }

  /** Resolves once the rows of the given instances (default: all) reflect every commit made so far. */
  flush(instanceIds?: Iterable<string>): Promise<void> {
    const targets = new Map<string, number>();
    for (const id of instanceIds ?? new Set([...this.#pending.keys(), ...this.#writing.keys()])) {
      const version = this.#pending.get(id)?.version ?? this.#writing.get(id)?.version;
      if (version === undefined) continue;
      targets.set(id, version);
      this.#urgent.add(id);
    }
    if (targets.size === 0) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      this.#flushWaiters.push({ targets, resolve, reject });
      this.#wake(0);
    });
  }

  /** Runs the row writer at `at` (epoch ms) at the latest. */
  #wake(at: number): void {
    if (this.#stopped) return;
    if (this.#timer && this.#timerAt <= at) return;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timerAt = at;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#pump();
    }, Math.max(0, at - Date.now()));
    this.#timer.unref();
  }

  #pump(): void {
    if (this.#stopped || this.#transactionsInFlight >= CHECKPOINT_TRANSACTIONS_IN_FLIGHT) return;
    const now = Date.now();
    let next = Infinity;
    const byShard = new Map<string, PendingRow[]>();
    for (const p of this.#pending.values()) {
      if (this.#writing.has(p.instanceId)) continue;
      const due = this.#due(p);
      if (due > now) {
        next = Math.min(next, due);
        continue;
      }
      const shard = shardOf(escapeTableKey(p.instanceId));
      const list = byShard.get(shard) ?? [];
      list.push(p);
      byShard.set(shard, list);
    }
    const shards = [...byShard.values()].sort((a, b) => b.length - a.length);
    while (this.#transactionsInFlight < CHECKPOINT_TRANSACTIONS_IN_FLIGHT && shards.length > 0) {
      const candidates = shards.shift()!;
      const batch: PendingRow[] = [];
      let bytes = 0;
      for (const p of candidates) {
        const size = (p.stateJson.length + eventsChars(this.#eventJson, p.history, p.from)) * 1.3 + 2048;
        if (batch.length > 0 && (batch.length >= MAX_TRANSACTION_OPS || bytes + size > MAX_TRANSACTION_BYTES)) {
          next = now;
          break;
        }
        batch.push(p);
        bytes += size;
      }
      for (const p of batch) {
        this.#pending.delete(p.instanceId);
        this.#writing.set(p.instanceId, p);
      }
      this.#transactionsInFlight++;
      void this.#writeRows(batch).finally(() => {
        this.#transactionsInFlight--;
        this.#pump();
      });
    }
    if (shards.length > 0) next = now;
    if (next !== Infinity && this.#transactionsInFlight < CHECKPOINT_TRANSACTIONS_IN_FLIGHT) this.#wake(next);
  }

  async #writeRows(batch: PendingRow[]): Promise<void> {
    try {
      const rows = batch.map((p): TransactionAction => ['upsert', this.#instanceRow(p), 'Replace']);
      await Promise.all([
        this.#transactions.submit(this.instances, rows),
        ...batch.filter((p) => p.consumed.length > 0).map((p) => this.#deleteInboxRows(p.instanceId, p.consumed)),
      ]);
    } catch (err) {
      const retryAt = Date.now() + RETRY_IN_MS;
      for (const p of batch) {
        this.#writing.delete(p.instanceId);
        const newer = this.#pending.get(p.instanceId);
        if (newer) {
          newer.consumed = p.consumed.concat(newer.consumed);
          newer.retryAt = retryAt;
        } else this.#pending.set(p.instanceId, { ...p, retryAt });
      }
      this.#onError(`Writing the rows of ${batch.length} instance(s) (${batch.map((p) => `'${p.instanceId}'`).slice(0, 3).join(', ')}${batch.length > 3 ? ', ...' : ''})`, err);
      for (let i = this.#flushWaiters.length - 1; i >= 0; i--) {
        const w = this.#flushWaiters[i];
        if (batch.some((p) => w.targets.has(p.instanceId))) {
          this.#flushWaiters.splice(i, 1);
          w.reject(err as Error);
        }
      }
      return;
    }
    for (const p of batch) {
      this.#writing.delete(p.instanceId);
      this.#supersedeStateBlobs(p.instanceId, p.version, p.stateBlob);
      this.#applied(p.instanceId, p.version);
      if (!this.#pending.has(p.instanceId)) {
        this.#urgent.delete(p.instanceId);
        // The next record stands alone: nothing to keep about this one.
        this.#journaled.delete(p.instanceId);
        this.#onClean(p.instanceId);
      }
    }
  }

  async #deleteInboxRows(instanceId: string, envelopeIds: string[]): Promise<void> {
    const pk = escapeTableKey(instanceId);
    const deletes = [...new Set(envelopeIds)].map((id): TransactionAction => ['delete', { partitionKey: pk, rowKey: inboxRowKey(id) }]);
    for (const batch of transactionBatches(deletes)) {
      try {
        await this.#transactions.submit(this.history, batch);
      } catch (err) {
        if (!isNotFound(err)) throw err;
        // Deleted before a crash already: the rest one by one.
        for (const [, entity] of batch) await this.history.deleteEntity(entity.partitionKey, entity.rowKey).catch((e: unknown) => {
          if (!isNotFound(e)) throw e;
        });
      }
    }
  }

  /** The instance's row now holds `version`: journal records up to it are applied. */
  #applied(instanceId: string, version: number): void {
    for (let i = this.#flushWaiters.length - 1; i >= 0; i--) {
      const w = this.#flushWaiters[i];
      const target = w.targets.get(instanceId);
      if (target !== undefined && target <= version) w.targets.delete(instanceId);
      if (w.targets.size === 0) {
        this.#flushWaiters.splice(i, 1);
        w.resolve();
      }
    }
    const records = this.#unapplied.get(instanceId);
    if (!records) return;
    const left = records.filter((r) => r.version > version);
    for (const r of records) if (r.version <= version) this.#release(r.seq);
    if (left.length > 0) this.#unapplied.set(instanceId, left);
    else this.#unapplied.delete(instanceId);
  }

  // ---- journal entries: kept while something in them is not applied or not delivered ----------------

  #addRecord(seq: number, instanceId: string, version: number): void {
    this.#openPerEntry.set(seq, (this.#openPerEntry.get(seq) ?? 0) + 1);
    const records = this.#unapplied.get(instanceId);
    if (records) records.push({ seq, version });
    else this.#unapplied.set(instanceId, [{ seq, version }]);
    this.#remember(seq, instanceId);
  }

  #remember(seq: number, instanceId: string): void {
    const entries = this.#entriesOf.get(instanceId);
    if (entries) entries.add(seq);
    else this.#entriesOf.set(instanceId, new Set([seq]));
    const members = this.#membersOf.get(seq);
    if (members) members.push(instanceId);
    else this.#membersOf.set(seq, [instanceId]);
  }

  #release(seq: number): void {
    const open = (this.#openPerEntry.get(seq) ?? 0) - 1;
    if (open > 0) {
      this.#openPerEntry.set(seq, open);
      return;
    }
    this.#openPerEntry.delete(seq);
    this.#toTrim.push(seq);
    this.#trim();
  }

  #trim(): void {
    if (this.#trimming || this.#toTrim.length === 0 || this.#stopped) return;
    this.#trimming = this.#trimEntries(this.#toTrim.splice(0)).finally(() => {
      this.#trimming = undefined;
      this.#trim();
    });
  }

  async #trimEntries(seqs: number[]): Promise<void> {
    try {
      await this.#journal.remove(seqs);
      for (const seq of seqs) {
        for (const id of this.#membersOf.get(seq) ?? []) {
          const entries = this.#entriesOf.get(id);
          entries?.delete(seq);
          if (entries && entries.size === 0) {
            this.#entriesOf.delete(id);
            for (const resolve of this.#releaseWaiters.get(id) ?? []) resolve();
            this.#releaseWaiters.delete(id);
          }
        }
        this.#membersOf.delete(seq);
      }
    } catch (err) {
      this.#toTrim.push(...seqs);
      if (this.#stopped) return;
      this.#onError('Deleting applied journal entries', err);
      await new Promise((r) => setTimeout(r, RETRY_IN_MS).unref());
    }
  }

  /** Resolves once no journal entry holds a record of the instance (so a purge is final). */
  async released(instanceId: string): Promise<void> {
    if (!this.#entriesOf.has(instanceId)) return;
    // Entries go once all their instances' rows are written: write everyone's now.
    await this.flush();
    if (!this.#entriesOf.has(instanceId)) return;
    await new Promise<void>((resolve) => {
      const list = this.#releaseWaiters.get(instanceId) ?? [];
      list.push(resolve);
      this.#releaseWaiters.set(instanceId, list);
    });
  }

  /**
   * Start-up: brings the instance rows up to the journal (the newest record of each instance, if newer
   * than its row), deletes the inbox messages the records consumed, and returns the records' messages
   * for the engine to deliver again; entries go once those are delivered.
   */
  async recoverJournal(): Promise<RecoveredMessages[]> {
    const entries = await this.#journal.readAll();
    if (entries.length === 0) return [];
    const records = new Map<string, JournalRecord[]>();
    const consumed = new Map<string, string[]>();
    for (const entry of entries) {
      for (const r of entry.records as JournalRecord[]) {
        const list = records.get(r.i);
        if (list) list.push(r);
        else records.set(r.i, [r]);
        if (r.c.length) consumed.set(r.i, (consumed.get(r.i) ?? []).concat(r.c));
      }
    }
    const rows = new Map<string, StoredRow>();
    const ids = [...records.keys()];
    for (let i = 0; i < ids.length; i += 16) {
      await Promise.all(ids.slice(i, i + 16).map(async (id) => {
        const row = await this.#instanceRowOf(id);
        if (row) rows.set(id, await this.#storedRow(row));
        await this.#openRecords(records.get(id)!, rows.get(id)?.state.version ?? 0);
      }));
    }
    const messages: RecoveredMessages[] = [];
    for (const entry of entries) {
      this.#openPerEntry.set(entry.seq, 1); // held until every record below is registered
      for (const r of entry.records as JournalRecord[]) {
        if (r.v > (rows.get(r.i)?.state.version ?? 0)) this.#addRecord(entry.seq, r.i, r.v);
        else this.#remember(entry.seq, r.i);
        if (r.o.length > 0) {
          this.#openPerEntry.set(entry.seq, (this.#openPerEntry.get(entry.seq) ?? 0) + 1);
          messages.push({ owner: r.i, outbound: await this.blobs.resolve(r.o), receipt: { outboxRowKeys: [], delivered: this.#once(() => this.#release(entry.seq)) } });
        }
      }
    }
    for (const [id, list] of records) {
      const row = rows.get(id);
      // Sorting is stable: a version written twice (a retried commit) keeps its journal order.
      const latest = applyRecords(row, list.sort((a, b) => a.v - b.v))!;
      if (latest.state.version > (row?.state.version ?? 0)) {
        const s = latest.state;
        this.#markPending({ instanceId: id, version: s.version, fields: rowFields(s), stateJson: latest.stateJson, history: latest.tail, from: 0, consumed: consumed.get(id) ?? [], dirtySince: 0, lastCommitAt: 0 });
      } else if (consumed.has(id)) {
        await this.#deleteInboxRows(id, consumed.get(id)!);
      }
    }
    await this.flush();
    for (const entry of entries) this.#release(entry.seq);
    return messages;
  }

  /** A row's state (opened when stored whole as a blob), its stored JSON and its tail as stored. */
  async #storedRow(row: Record<string, unknown>): Promise<StoredRow> {
    const stateJson = unpackText(row, 'State') ?? 'null';
    const state = await this.blobs.openWhole<InstanceState>(JSON.parse(stateJson) as InstanceState | string);
    return { state, stateJson, tail: JSON.parse(unpackText(row, 'Tail') ?? '[]') as HistoryEvent[] };
  }

  /** Opens the states of the records that a row of `rowVersion` does not supersede (see applyRecords). */
  async #openRecords(records: JournalRecord[], rowVersion: number): Promise<void> {
    await Promise.all(records.filter((r) => r.v >= rowVersion && r.sj === undefined).map(async (r) => {
      r.sj = JSON.stringify(r.s);
      r.s = await this.blobs.openWhole<InstanceState>(r.s as InstanceState | string);
    }));
  }

  /** Moves state rows of the layout before the journal (History, RowKey 'state') to instance rows. */
  async #migrateStateRows(): Promise<void> {
    for await (const old of this.history.listEntities<Record<string, unknown>>({ queryOptions: { filter: `RowKey eq '${OLD_STATE_ROW}'` } })) {
      const state = JSON.parse(unpackText(old, 'State') ?? 'null') as InstanceState | null;
      if (!state) continue;
      const pk = String(old.partitionKey);
      const tail = JSON.parse(unpackText(old, 'Tail') ?? '[]') as HistoryEvent[];
      await this.instances.upsertEntity(this.#instanceRow({ instanceId: state.instanceId, version: state.version, fields: rowFields(state), stateJson: JSON.stringify(state), history: tail, from: 0, consumed: [], dirtySince: 0, lastCommitAt: 0 }), 'Replace');
      await this.instances.deleteEntity(pk, '').catch((err: unknown) => {
        if (!isNotFound(err)) throw err;
      });
      await this.history.deleteEntity(pk, OLD_STATE_ROW);
    }
  }

  // ---- reads --------------------------------------------------------------------------------------

  async #instanceRowOf(instanceId: string): Promise<Record<string, unknown> | undefined> {
    const key = escapeTableKey(instanceId);
    try {
      return await this.instances.getEntity<Record<string, unknown>>(shardOf(key), key);
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  /** The state in the instance's row (the engine keeps rows current for instances not in memory). */
  async readState(instanceId: string): Promise<InstanceState | undefined> {
    const row = await this.#instanceRowOf(instanceId);
    return row ? this.blobs.parse<InstanceState>(unpackText(row, 'State') ?? 'null') : undefined;
  }

  /** State, committed history and inbox of an instance, from its row and its History partition. */
  async loadInstance(instanceId: string): Promise<LoadedInstance | undefined> {
    const pk = escapeTableKey(instanceId);
    const [row, partition] = await Promise.all([this.#instanceRowOf(instanceId), this.#partitionRows(pk)]);
    if (!row) return undefined;
    const state = await this.blobs.parse<InstanceState>(unpackText(row, 'State') ?? 'null');
    const history = await this.#historyOf(state, unpackText(row, 'Tail') ?? '[]', partition.history);
    const inbox = await this.blobs.resolve(partition.inbox);
    inbox.sort((a, b) => (a.receivedAt < b.receivedAt ? -1 : a.receivedAt > b.receivedAt ? 1 : 0));
    return { state, history, pending: inbox };
  }

  /**
   * The committed state and history of an instance as a reader outside the engine sees them (after a
   * crash, say): its row, or the journal's newest record of it when that is newer.
   */
  async readStateAndHistory(instanceId: string): Promise<{ state: InstanceState; history: HistoryEvent[] } | undefined> {
    const pk = escapeTableKey(instanceId);
    const [row, partition, entries] = await Promise.all([this.#instanceRowOf(instanceId), this.#partitionRows(pk), new CommitJournal(this.#journal.table, this.#transactions).readAll()]);
    const stored = row ? await this.#storedRow(row) : undefined;
    const records = entries.flatMap((e) => (e.records as JournalRecord[]).filter((r) => r.i === instanceId)).sort((a, b) => a.v - b.v);
    await this.#openRecords(records, stored?.state.version ?? 0);
    const latest = applyRecords(stored, records);
    if (!latest) return undefined;
    return { state: await this.blobs.resolve(latest.state), history: await this.#historyOf(latest.state, JSON.stringify(latest.tail), partition.history) };
  }

  async #historyOf(state: InstanceState, tailJson: string, rows: Array<Record<string, unknown>>): Promise<HistoryEvent[]> {
    const prefix = `h|${state.executionId}|`;
    const events = await this.blobs.resolve(committedHistory(tailJson, state, rows.filter((r) => String(r.rowKey).startsWith(prefix))));
    return events.map((e) => ({ ...e, IsPlayed: true }));
  }

  async #partitionRows(pk: string): Promise<{ history: Array<Record<string, unknown>>; inbox: Envelope[] }> {
    const history: Array<Record<string, unknown>> = [];
    const inbox: Envelope[] = [];
    for await (const row of this.history.listEntities<Record<string, unknown>>({ queryOptions: { filter: odata`PartitionKey eq ${pk}` } })) {
      const key = String(row.rowKey);
      if (key.startsWith('h|')) history.push(row);
      else if (key.startsWith('i|')) inbox.push(JSON.parse(unpackText(row, 'Message') ?? 'null') as Envelope);
    }
    return { history, inbox };
  }

  /** Instances that may have work: not terminal (entities never are). */
  async listActiveInstanceIds(): Promise<string[]> {
    const ids: string[] = [];
    for await (const row of this.instances.listEntities({ queryOptions: { filter: 'Terminal eq false', select: ['InstanceId'] } })) ids.push(String(row.InstanceId));
    return ids;
  }

  /** Instances with undelivered inbox rows although they are terminal (a start may be waiting there). */
  async listInstancesWithInbox(): Promise<string[]> {
    const ids = new Set<string>();
    for await (const row of this.history.listEntities({ queryOptions: { filter: `RowKey ge 'i|' and RowKey lt 'i}'`, select: ['PartitionKey'] } })) {
      ids.add(unescapeTableKey(String(row.partitionKey)));
    }
    return [...ids];
  }

  async listOutbox(): Promise<OutboxEntry[]> {
    const out: OutboxEntry[] = [];
    for await (const row of this.history.listEntities<Record<string, unknown>>({ queryOptions: { filter: `RowKey ge 'o|' and RowKey lt 'o}'` } })) {
      out.push({
        owner: unescapeTableKey(String(row.partitionKey)),
        rowKey: String(row.rowKey),
        version: Number(row.Version),
        messages: await this.blobs.parse<OutboundMessage[]>(unpackText(row, 'Messages') ?? '[]'),
      });
    }
    return out;
  }

  /** Every instance with a row, and the version its row holds. */
  async listStateVersions(): Promise<Map<string, number>> {
    const versions = new Map<string, number>();
    for await (const row of this.instances.listEntities({ queryOptions: { select: ['InstanceId', 'Version'] } })) {
      versions.set(String(row.InstanceId), Number(row.Version));
    }
    return versions;
  }

  #queryFilter(q: InstanceQuery): string {
    const parts: string[] = [];
    if (q.kind) parts.push(odata`Kind eq ${q.kind}`);
    if (q.entityName) parts.push(odata`Name eq ${q.entityName}`);
    if (q.runtimeStatus && q.runtimeStatus.length > 0) parts.push(`(${q.runtimeStatus.map((s) => odata`RuntimeStatus eq ${s}`).join(' or ')})`);
    if (q.createdTimeFrom) parts.push(odata`CreatedTime ge ${q.createdTimeFrom}`);
    if (q.createdTimeTo) parts.push(odata`CreatedTime le ${q.createdTimeTo}`);
    if (q.instanceIdPrefix) {
      const from = escapeTableKey(q.instanceIdPrefix);
      parts.push(odata`RowKey ge ${from} and RowKey lt ${from + '\uffff'}`);
    }
    return parts.join(' and ');
  }

  /** A page of instance rows (flush first to see every commit). */
  async queryInstances(q: InstanceQuery, pageSize: number, continuationToken?: string): Promise<{ items: InstanceSummary[]; continuationToken?: string }> {
    const filter = this.#queryFilter(q);
    const pages = this.instances.listEntities<Record<string, unknown>>({ queryOptions: filter ? { filter } : undefined }).byPage({ maxPageSize: pageSize, continuationToken });
    const page = await pages.next();
    if (page.done || !page.value) return { items: [] };
    const items = await Promise.all(page.value.map(async (row) => {
      const state = await this.blobs.parse<Partial<InstanceState>>(unpackText(row, 'State') ?? '{}');
      return {
        instanceId: String(row.InstanceId ?? unescapeTableKey(String(row.rowKey))),
        kind: (row.Kind as 'orchestration' | 'entity') ?? 'orchestration',
        name: String(row.Name ?? ''),
        runtimeStatus: row.RuntimeStatus as RuntimeStatus,
        createdTime: new Date(row.CreatedTime as string | Date).toISOString(),
        lastUpdatedTime: new Date(row.LastUpdatedTime as string | Date).toISOString(),
        input: state.input,
        output: state.output,
        customStatus: state.customStatus,
      };
    }));
    return { items, continuationToken: page.value.continuationToken };
  }
}
