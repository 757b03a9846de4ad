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
  const doing = `Closing batch ${batchNumber} of ${route}/${clip(partition)}`;
  // Only this partition's coalescer moves rows or the state, so a write refused for its condition (412)
  // or for existing (409) is one of ours whose answer was lost and which the SDK retried: read again
  // and finish what is still to do. Rows a crashed earlier attempt assigned to this batch stay in it.
  for (let attempt = 1; ; attempt++) {
    const open = (await listPartition(route, partition, 'batch eq 0')).filter((r) => !upTo || r.arrivedAt <= upTo);
    try {
      for (let i = 0; i < open.length; i += 99) {
        const chunk = open.slice(i, i + 99);
        await t.submitTransaction(chunk.map((r) => ['update', { partitionKey: pk, rowKey: r.rowKey, batch: batchNumber, runId }, 'Merge', { etag: r.etag }]));
      }
      break;
    } catch (err) {
      if (!isStatus(err, 412) || attempt >= MAX_OWN_WRITE_REPEATS) rethrowClassified(err, doing);
    }
  }
  const newState: StateEntity = { partitionKey: pk, rowKey: 'state', partition, route, nextBatchNumber: batchNumber + 1 };
  for (let attempt = 1, current = state; ; attempt++, current = await readState(route, partition)) {
    if ((current?.nextBatchNumber ?? 1) > batchNumber) break;
    try {
      if (current) await t.updateEntity(newState, 'Replace', { etag: current.etag });
      else await t.createEntity(newState);
      break;
    } catch (err) {
      if (!(isStatus(err, 412) || isStatus(err, 409)) || attempt >= MAX_OWN_WRITE_REPEATS) rethrowClassified(err, doing);
    }
  }
  return (await listPartition(route, partition, `batch eq ${batchNumber}`)).map((r) => ({ url: r.url, blobPath: r.blobPath, eTag: r.eTag, contentLength: r.contentLength, role: r.role, arrivedAt: r.arrivedAt, eventId: r.eventId, batch: batchNumber, runId }));
}

/** How often a ledger write whose answer was lost is read back and finished before giving up. */
const MAX_OWN_WRITE_REPEATS = 5;

export interface ClaimedFile {
  /** Ledger key of the blob version (the intake's arrival key). */
  key: string;
  url: string;
  blobPath: string;
  eTag: string;
  contentLength?: number;
}

/**
 * Puts blob versions into batch `batchNumber` whether or not their events have arrived: a marker closes
 * its folder as it is, so a BlobCreated that reaches the intake after the marker (Event Grid keeps no
 * order) finds its version already recorded and starts nothing. Versions another batch took stay in
 * that batch and are left out of the answer unless `keepTakenElsewhere` (a manifest names its files
 * outright). Idempotent: claiming again returns the same versions.
 */
export async function claimForBatch(route: string, partition: string, batchNumber: number, runId: string, files: ClaimedFile[], keepTakenElsewhere = false): Promise<ClaimedFile[]> {
  const t = await table();
  const pk = ledgerPartitionKey(route, partition);
  const kept: ClaimedFile[] = [];
  for (const f of files) {
    const rowKey = `a~${f.key}`;
    for (let attempt = 1; ; attempt++) {
      try {
        await t.createEntity<ArrivalEntity>({
          partitionKey: pk, rowKey, url: f.url, blobPath: f.blobPath, eTag: f.eTag, contentLength: f.contentLength,
          role: 'input', arrivedAt: new Date().toISOString(), eventId: `claimed-by-${runId}`, batch: batchNumber, runId,
        });
        kept.push(f);
        break;
      } catch (err) {
        if (!isStatus(err, 409)) rethrowClassified(err, `Claiming ${f.blobPath} for batch ${batchNumber} of ${route}/${partition}`);
      }
      let row: TableEntityResult<ArrivalEntity>;
      try {
        row = await t.getEntity<ArrivalEntity>(pk, rowKey);
      } catch (err) {
        rethrowClassified(err, `Reading the arrival of ${f.blobPath} in ${route}/${partition}`);
      }
      if (row.batch !== 0) {
        if (row.batch === batchNumber || keepTakenElsewhere) kept.push(f);
        break;
      }
      try {
        // Its event arrived meanwhile and left it open: it is this batch's now.
        await t.updateEntity({ partitionKey: pk, rowKey, batch: batchNumber, runId }, 'Merge', { etag: row.etag });
        kept.push(f);
        break;
      } catch (err) {
        if (!isStatus(err, 412) || attempt >= MAX_OWN_WRITE_REPEATS) rethrowClassified(err, `Claiming ${f.blobPath} for batch ${batchNumber} of ${route}/${partition}`);
      }
    }
  }
  return kept;
}
