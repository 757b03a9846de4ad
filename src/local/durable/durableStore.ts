// Persistence for the durable engine in Azure Table storage (Azurite locally), one pair of tables per
// task hub:
//   <hub>History   — one partition per instance holding, atomically per commit (an entity-group
//                    transaction): the authoritative `state` row, the history of the current execution
//                    (its latest events — the tail — inside the state row, older ones in rows
//                    `h|<execution>|<first event seq>` written when the tail grows), the inbox of
//                    messages not yet applied (`i|<message>`) and the outbox of messages for other
//                    instances not yet delivered (`o|<version>|<part>`, one row per commit).
//   <hub>Instances — one row per instance with its status, for queries (what operators and
//                    getStatusBy read): a projection of the state row, written after commits and
//                    repaired at start-up from the state rows' versions.
// Few rows and requests, because Azurite's cost grows with requests, operations and partition size: an
// episode that only appends a few events is one entity upsert. A commit larger than one transaction
// writes its history and outbox rows ahead; they only count once the state row (written last, with
// the inbox deletions) says so.
import { TableClient, TableEntity, TransactionAction, odata } from '@azure/data-tables';
import type { HistoryEvent } from './historyEvents';
import type { Envelope, InstanceState, LoadedInstance, RuntimeStatus } from './instanceModel';
import { isTerminal } from './instanceModel';
import type { OutboundMessage } from './episodeOutcome';
import { escapeTableKey, packText, unescapeTableKey, unpackText } from './tablePayloads';

const STATE_ROW = 'state';
const MAX_TRANSACTION_OPS = 100;
const SEQ_DIGITS = 8;
/** JSON characters per history or outbox row (packText chunks them under the entity size limit). */
const ROW_JSON_CHARS = 400000;
/** Tail size (JSON characters) beyond which a commit moves the tail into a history row. */
const TAIL_JSON_CHARS = 48000;

export interface InstanceCommit {
  /** The state to store; the store sets its `flushedEvents`. */
  state: InstanceState;
  /** The current execution's whole history after this commit (`state.historyCount` events). */
  history: HistoryEvent[];
  /** Inbox envelopes applied or dropped by this commit. */
  consumed: Envelope[];
  outbound: OutboundMessage[];
}

export interface OutboxEntry {
  owner: string;
  rowKey: string;
  version: number;
  messages: OutboundMessage[];
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

type Row = TableEntity<Record<string, unknown>>;

function historyRowKey(executionId: string, seq: number): string {
  return `h|${executionId}|${String(seq).padStart(SEQ_DIGITS, '0')}`;
}

function inboxRowKey(envelopeId: string): string {
  return `i|${escapeTableKey(envelopeId)}`;
}

function outboxRowKey(version: number, part: number): string {
  return `o|${String(version).padStart(10, '0')}|${part}`;
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

function chunkList<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

function isNotFound(err: unknown): boolean {
  return (err as { statusCode?: number }).statusCode === 404;
}

/**
 * The history rows of one execution, in order, up to the committed count. Rows are taken only where
 * they continue the sequence: rows past the count (a commit that never completed) or overlapping it
 * (left over from before a rewind rewrote the history) are ignored.
 */
function committedHistory(stateRow: Record<string, unknown>, state: InstanceState, rows: Array<Record<string, unknown>>): HistoryEvent[] {
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
  events.push(...(JSON.parse(unpackText(stateRow, 'Tail') ?? '[]') as HistoryEvent[]));
  return events.slice(0, state.historyCount);
}

export class DurableStore {
  readonly history: TableClient;
  readonly instances: TableClient;

  constructor(connectionString: string, readonly taskHubName: string) {
    const options = { allowInsecureConnection: true };
    this.history = TableClient.fromConnectionString(connectionString, `${taskHubName}History`, options);
    this.instances = TableClient.fromConnectionString(connectionString, `${taskHubName}Instances`, options);
  }

  async initialize(): Promise<void> {
    await Promise.all([this.history.createTable(), this.instances.createTable()]);
  }

  // ---- rows ---------------------------------------------------------------------------------------

  #stateRow(state: InstanceState, tailJson = '[]'): Row {
    const row: Row = {
      partitionKey: escapeTableKey(state.instanceId),
      rowKey: STATE_ROW,
      Kind: state.kind,
      Name: state.name,
      RuntimeStatus: state.runtimeStatus,
      Terminal: isTerminal(state.runtimeStatus),
      Version: state.version,
      ExecutionId: state.executionId,
    };
    packText(row, 'State', JSON.stringify(state), `The state of instance '${state.instanceId}'`);
    packText(row, 'Tail', tailJson, `The latest history events of instance '${state.instanceId}'`);
    return row;
  }

  #historyRows(instanceId: string, executionId: string, firstSeq: number, events: HistoryEvent[]): Row[] {
    let seq = firstSeq;
    return groupJson(events.map((e) => JSON.stringify(e))).map((group) => {
      const row: Row = { partitionKey: escapeTableKey(instanceId), rowKey: historyRowKey(executionId, seq), First: seq, Count: group.length };
      packText(row, 'Events', `[${group.join(',')}]`, `History events of instance '${instanceId}'`);
      seq += group.length;
      return row;
    });
  }

  #inboxRow(instanceId: string, envelope: Envelope): Row {
    const row: Row = { partitionKey: escapeTableKey(instanceId), rowKey: inboxRowKey(envelope.id), ReceivedAt: envelope.receivedAt, MessageType: envelope.message.type };
    packText(row, 'Message', JSON.stringify(envelope), `A message for instance '${instanceId}'`);
    return row;
  }

  #outboxRows(owner: string, version: number, outbound: OutboundMessage[]): Row[] {
    return groupJson(outbound.map((o) => JSON.stringify(o))).map((group, part) => {
      const row: Row = { partitionKey: escapeTableKey(owner), rowKey: outboxRowKey(version, part), Version: version, Count: group.length };
      packText(row, 'Messages', `[${group.join(',')}]`, `Messages from instance '${owner}'`);
      return row;
    });
  }

  #projectionRow(state: InstanceState): Row {
    const row: Row = {
      partitionKey: escapeTableKey(state.instanceId),
      rowKey: '',
      InstanceId: state.instanceId,
      Kind: state.kind,
      Name: state.name,
      RuntimeStatus: state.runtimeStatus,
      CreatedTime: new Date(state.createdTime),
      LastUpdatedTime: new Date(state.lastUpdatedTime),
      ExecutionId: state.executionId,
      Version: state.version,
    };
    if (state.completedTime) row.CompletedTime = new Date(state.completedTime);
    packText(row, 'Input', state.input, `The input of instance '${state.instanceId}'`);
    packText(row, 'Output', state.output, `The output of instance '${state.instanceId}'`);
    packText(row, 'CustomStatus', state.customStatus, `The custom status of instance '${state.instanceId}'`);
    return row;
  }

  // ---- writes -------------------------------------------------------------------------------------

  async #transact(actions: TransactionAction[]): Promise<void> {
    if (actions.length === 0) return;
    await this.history.submitTransaction(actions);
  }

  /** Creates an instance's state row; false when one exists already (the caller decides what that means). */
  async createInstance(state: InstanceState, inbox: Envelope[] = []): Promise<boolean> {
    try {
      await this.#transact([['create', this.#stateRow(state)], ...inbox.map((e): TransactionAction => ['upsert', this.#inboxRow(state.instanceId, e), 'Replace'])]);
    } catch (err) {
      if ((err as { statusCode?: number }).statusCode === 409) return false;
      throw err;
    }
    return true;
  }

  /**
   * Commits one step of an instance: history and outbox rows, inbox deletions and the state row.
   * Returns the outbox row keys written, to delete once their messages are delivered.
   */
  async commit(commit: InstanceCommit): Promise<string[]> {
    const { state, history } = commit;
    if (history.length !== state.historyCount) throw new Error(`Commit of '${state.instanceId}' has ${history.length} history events but the state says ${state.historyCount}.`);
    let flushed = Math.min(state.flushedEvents ?? 0, history.length);
    let tail = history.slice(flushed);
    let tailJson = JSON.stringify(tail);
    let historyRows: Row[] = [];
    if (tailJson.length > TAIL_JSON_CHARS) {
      historyRows = this.#historyRows(state.instanceId, state.executionId, flushed, tail);
      flushed = history.length;
      tail = [];
      tailJson = '[]';
    }
    state.flushedEvents = flushed;
    const stateRow = this.#stateRow(state, tailJson);
    const outboxRows = this.#outboxRows(state.instanceId, state.version, commit.outbound);
    const deletes = commit.consumed.filter((e) => e.durable);
    if (historyRows.length === 0 && outboxRows.length === 0 && deletes.length === 0) {
      await this.history.upsertEntity(stateRow, 'Replace');
      return [];
    }
    const ahead: TransactionAction[] = [...historyRows.map((r): TransactionAction => ['upsert', r, 'Replace']), ...outboxRows.map((r): TransactionAction => ['upsert', r, 'Replace'])];
    const last: TransactionAction[] = [
      ['upsert', stateRow, 'Replace'],
      ...deletes.map((e): TransactionAction => ['delete', { partitionKey: escapeTableKey(state.instanceId), rowKey: inboxRowKey(e.id) }]),
    ];
    if (last.length > MAX_TRANSACTION_OPS) throw new Error(`A commit of instance '${state.instanceId}' consumes more inbox messages than one transaction holds.`);
    const room = MAX_TRANSACTION_OPS - last.length;
    const early = ahead.length > room ? ahead.slice(0, ahead.length - room) : [];
    const withState = ahead.slice(early.length);
    await Promise.all(chunkList(early, MAX_TRANSACTION_OPS).map((chunk) => this.#transact(chunk)));
    await this.#transact([...withState, ...last]);
    return outboxRows.map((r) => r.rowKey);
  }

  async appendInbox(instanceId: string, envelope: Envelope): Promise<void> {
    await this.history.upsertEntity(this.#inboxRow(instanceId, envelope), 'Replace');
  }

  async deleteOutbox(owner: string, rowKey: string): Promise<void> {
    try {
      await this.history.deleteEntity(escapeTableKey(owner), rowKey);
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }

  async writeProjection(state: InstanceState): Promise<void> {
    await this.instances.upsertEntity(this.#projectionRow(state), 'Replace');
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
    for (const chunk of chunkList(stale, MAX_TRANSACTION_OPS)) await this.#transact(chunk);
  }

  /** Deletes every row of an instance (history, state, inbox, outbox) and its projection. */
  async purgeInstance(instanceId: string): Promise<boolean> {
    const pk = escapeTableKey(instanceId);
    const rows: TransactionAction[] = [];
    for await (const row of this.history.listEntities({ queryOptions: { filter: odata`PartitionKey eq ${pk}`, select: ['RowKey'] } })) {
      rows.push(['delete', { partitionKey: pk, rowKey: String(row.rowKey) }]);
    }
    // The state row goes last, so an interrupted purge is retried by the next one.
    rows.sort((a, b) => Number(a[1].rowKey === STATE_ROW) - Number(b[1].rowKey === STATE_ROW));
    for (const chunk of chunkList(rows, MAX_TRANSACTION_OPS)) await this.#transact(chunk);
    let projection = false;
    try {
      await this.instances.deleteEntity(pk, '');
      projection = true;
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
    return rows.length > 0 || projection;
  }

  // ---- reads --------------------------------------------------------------------------------------

  async readState(instanceId: string): Promise<InstanceState | undefined> {
    try {
      const row = await this.history.getEntity<Record<string, unknown>>(escapeTableKey(instanceId), STATE_ROW);
      return JSON.parse(unpackText(row, 'State') ?? 'null') as InstanceState;
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  /** The committed state and history of the instance's current execution. */
  async readStateAndHistory(instanceId: string): Promise<{ state: InstanceState; history: HistoryEvent[] } | undefined> {
    const loaded = await this.loadInstance(instanceId);
    return loaded ? { state: loaded.state, history: loaded.history } : undefined;
  }

  /** State, committed history and inbox of an instance, in one partition scan. */
  async loadInstance(instanceId: string): Promise<LoadedInstance | undefined> {
    const pk = escapeTableKey(instanceId);
    let state: InstanceState | undefined;
    let stateRow: Record<string, unknown> = {};
    const historyRows: Array<Record<string, unknown>> = [];
    const inbox: Envelope[] = [];
    for await (const row of this.history.listEntities<Record<string, unknown>>({ queryOptions: { filter: odata`PartitionKey eq ${pk}` } })) {
      const key = String(row.rowKey);
      if (key === STATE_ROW) {
        state = JSON.parse(unpackText(row, 'State') ?? 'null') as InstanceState;
        stateRow = row;
      }
      else if (key.startsWith('h|')) historyRows.push(row);
      else if (key.startsWith('i|')) inbox.push(JSON.parse(unpackText(row, 'Message') ?? 'null') as Envelope);
    }
    if (!state) return undefined;
    const prefix = `h|${state.executionId}|`;
    const history = committedHistory(stateRow, state, historyRows.filter((r) => String(r.rowKey).startsWith(prefix))).map((e) => ({ ...e, IsPlayed: true }));
    inbox.sort((a, b) => (a.receivedAt < b.receivedAt ? -1 : a.receivedAt > b.receivedAt ? 1 : 0));
    return { state, history, pending: inbox };
  }

  /** Instances that may have work: not terminal (entities never are). */
  async listActiveInstanceIds(): Promise<string[]> {
    const ids: string[] = [];
    for await (const row of this.history.listEntities({ queryOptions: { filter: `RowKey eq '${STATE_ROW}' and Terminal eq false`, select: ['PartitionKey'] } })) {
      ids.push(unescapeTableKey(String(row.partitionKey)));
    }
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
        messages: JSON.parse(unpackText(row, 'Messages') ?? '[]') as OutboundMessage[],
      });
    }
    return out;
  }



  /** Versions of every projection row, to repair those a crash left behind their state row. */
  async listProjectionVersions(): Promise<Map<string, number>> {
    const versions = new Map<string, number>();
    for await (const row of this.instances.listEntities({ queryOptions: { select: ['PartitionKey', 'Version'] } })) {
      versions.set(unescapeTableKey(String(row.partitionKey)), Number(row.Version));
    }
    return versions;
  }

  async listStateVersions(): Promise<Map<string, number>> {
    const versions = new Map<string, number>();
    for await (const row of this.history.listEntities({ queryOptions: { filter: `RowKey eq '${STATE_ROW}'`, select: ['PartitionKey', 'Version'] } })) {
      versions.set(unescapeTableKey(String(row.partitionKey)), Number(row.Version));
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
      parts.push(odata`PartitionKey ge ${from} and PartitionKey lt ${from + '\uffff'}`);
    }
    return parts.join(' and ');
  }

  async queryInstances(q: InstanceQuery, pageSize: number, continuationToken?: string): Promise<{ items: InstanceSummary[]; continuationToken?: string }> {
    const filter = this.#queryFilter(q);
    const pages = this.instances.listEntities<Record<string, unknown>>({ queryOptions: filter ? { filter } : undefined }).byPage({ maxPageSize: pageSize, continuationToken });
    const page = await pages.next();
    if (page.done || !page.value) return { items: [] };
    const items = page.value.map((row) => ({
      instanceId: String(row.InstanceId ?? unescapeTableKey(String(row.partitionKey))),
      kind: (row.Kind as 'orchestration' | 'entity') ?? 'orchestration',
      name: String(row.Name ?? ''),
      runtimeStatus: row.RuntimeStatus as RuntimeStatus,
      createdTime: new Date(row.CreatedTime as string | Date).toISOString(),
      lastUpdatedTime: new Date(row.LastUpdatedTime as string | Date).toISOString(),
      input: unpackText(row, 'Input'),
      output: unpackText(row, 'Output'),
      customStatus: unpackText(row, 'CustomStatus'),
    }));
    return { items, continuationToken: page.value.continuationToken };
  }
}

