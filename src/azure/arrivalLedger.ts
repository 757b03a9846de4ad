// The arrivals ledger: one Table storage partition per (route, blob partition) records every input and
// marker that arrived, once (insert-if-absent, keyed by blob URL + eTag), and which closed batch took
// it. It is the truth the coalescer reads, so a lost wake-up event never loses a file and a
// duplicate delivery never adds one twice. Kept in the runtime storage account.
import { createHash } from 'node:crypto';
import type { TableClient, TableEntityResult } from '@azure/data-tables';
import { readyRuntimeTable } from './storageClients';
import { rethrowClassified } from './errorClassification';
import { clip } from '../domain/untrustedText';

export const ARRIVALS_TABLE = 'BatchpilotArrivals';

export interface ArrivalRecord {
  url: string;
  blobPath: string;
  eTag: string;
  contentLength?: number;
  role: 'input' | 'marker';
  arrivedAt: string;
  eventId: string;
  /** 0 while open; the batch number once a batch took it. */
  batch: number;
  runId?: string;
}

interface ArrivalEntity extends Omit<ArrivalRecord, 'contentLength' | 'runId'> {
  partitionKey: string;
  rowKey: string;
  contentLength?: number;
  runId?: string;
}

interface StateEntity {
  partitionKey: string;
  rowKey: 'state';
  partition: string;
  route: string;
  nextBatchNumber: number;
}

export function ledgerPartitionKey(route: string, partition: string): string {
  return `${route}~${createHash('sha256').update(partition).digest('hex').slice(0, 32)}`;
}

function table(): Promise<TableClient> {
  return readyRuntimeTable(ARRIVALS_TABLE);
}

function isStatus(err: unknown, status: number): boolean {
  return (err as { statusCode?: number }).statusCode === status;
}

/** Records an arrival; false when this blob version was already recorded (a duplicate delivery). */
export async function recordArrival(route: string, partition: string, key: string, arrival: Omit<ArrivalRecord, 'batch' | 'runId'>): Promise<boolean> {
  const t = await table();
  try {
    await t.createEntity<ArrivalEntity>({ partitionKey: ledgerPartitionKey(route, partition), rowKey: `a~${key}`, ...arrival, batch: 0 });
    return true;
  } catch (err) {
    if (isStatus(err, 409)) return false;
    rethrowClassified(err, `Recording arrival of ${clip(arrival.url)}`);
  }
}

async function listPartition(route: string, partition: string, filter: string): Promise<Array<TableEntityResult<ArrivalEntity>>> {
  const t = await table();
  const pk = ledgerPartitionKey(route, partition);
  const rows: Array<TableEntityResult<ArrivalEntity>> = [];
  try {
    for await (const row of t.listEntities<ArrivalEntity>({ queryOptions: { filter: `PartitionKey eq '${pk}' and RowKey ge 'a~' and RowKey lt 'a~~' and ${filter}` } })) rows.push(row);
  } catch (err) {
    rethrowClassified(err, `Reading the arrivals of ${route}/${clip(partition)}`);
  }
  return rows;
}

async function readState(route: string, partition: string): Promise<TableEntityResult<StateEntity> | undefined> {
  const t = await table();
  try {
    return await t.getEntity<StateEntity>(ledgerPartitionKey(route, partition), 'state');
  } catch (err) {
    if (isStatus(err, 404)) return undefined;
    rethrowClassified(err, `Reading the ledger state of ${route}/${clip(partition)}`);
  }
}

export interface OpenPartition {
  inputs: ArrivalRecord[];
  markers: ArrivalRecord[];
  nextBatchNumber: number;
}

export async function readOpenPartition(route: string, partition: string): Promise<OpenPartition> {
  const [rows, state] = await Promise.all([listPartition(route, partition, 'batch eq 0'), readState(route, partition)]);
  const toRecord = (r: ArrivalEntity): ArrivalRecord => ({ url: r.url, blobPath: r.blobPath, eTag: r.eTag, contentLength: r.contentLength, role: r.role, arrivedAt: r.arrivedAt, eventId: r.eventId, batch: r.batch, runId: r.runId });
  return {
    inputs: rows.filter((r) => r.role === 'input').map(toRecord),
    markers: rows.filter((r) => r.role === 'marker').map(toRecord),
    nextBatchNumber: state?.nextBatchNumber ?? 1,
  };
}

/**
 * Assigns the open arrivals (up to `upTo`, when given) to batch `batchNumber` and returns them.
 * Idempotent: run again after a crash, it returns what that batch already took.
 */
export async function closeBatch(route: string, partition: string, batchNumber: number, runId: string, upTo?: string): Promise<ArrivalRecord[]> {
  const t = await table();
  const pk = ledgerPartitionKey(route, partition);
  const state = await readState(route, partition);
  const next = state?.nextBatchNumber ?? 1;
  if (next > batchNumber) {
    return (await listPartition(route, partition, `batch eq ${batchNumber}`)).map((r) => ({ ...r, batch: batchNumber }));
  }
  if (next < batchNumber) throw new Error(`Batch ${batchNumber} of ${route}/${clip(partition)} cannot close before batch ${next}.`);
  // Rows a crashed earlier attempt already assigned to this batch stay in it.
  const taken = await listPartition(route, partition, `batch eq ${batchNumber}`);
  const open = (await listPartition(route, partition, 'batch eq 0')).filter((r) => !upTo || r.arrivedAt <= upTo);
  try {
    for (let i = 0; i < open.length; i += 99) {
      const chunk = open.slice(i, i + 99);
      await t.submitTransaction(chunk.map((r) => ['update', { partitionKey: pk, rowKey: r.rowKey, batch: batchNumber, runId }, 'Merge', { etag: r.etag }]));
    }
    const newState: StateEntity = { partitionKey: pk, rowKey: 'state', partition, route, nextBatchNumber: batchNumber + 1 };
    if (state) await t.updateEntity(newState, 'Replace', { etag: state.etag });
    else await t.createEntity(newState);
  } catch (err) {
    rethrowClassified(err, `Closing batch ${batchNumber} of ${route}/${clip(partition)}`);
  }
  return [...taken, ...open].map((r) => ({ url: r.url, blobPath: r.blobPath, eTag: r.eTag, contentLength: r.contentLength, role: r.role, arrivedAt: r.arrivedAt, eventId: r.eventId, batch: batchNumber, runId }));
}
