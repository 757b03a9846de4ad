// The promotion ledger: per batch endpoint, every change batchpilot made to which deployment serves it —
// promotions (candidate became the default, the previous default kept for rollback), rollbacks, and
// candidates discarded after a rejection or failure — plus the deletions the cleanup timer made. It is
// what a rollback restores from and what the cleanup reads to know what it may delete and when. One
// Table storage partition per endpoint in the runtime account; rows sort newest first. Writes are
// upserts keyed by time and run, so an activity that repeats after a crash writes the same row again.
import { createHash } from 'node:crypto';
import type { TableClient } from '@azure/data-tables';
import { readyRuntimeTable } from './storageClients';
import { rethrowClassified } from './errorClassification';
import type { LedgerEntry } from '../model/ledgerEntries';

export const PROMOTIONS_TABLE = 'BatchpilotPromotions';

interface LedgerEntity extends LedgerEntry {
  partitionKey: string;
  rowKey: string;
}

const MAX_TIME = 9_999_999_999_999;

export function ledgerPartitionKey(workspaceId: string, endpoint: string): string {
  return `${endpoint.toLowerCase()}~${createHash('sha256').update(workspaceId.toLowerCase()).digest('hex').slice(0, 16)}`;
}

/** Newest first: inverted milliseconds, then the run, then the kind (one row per run and kind). */
function rowKeyOf(entry: LedgerEntry): string {
  const inverted = String(MAX_TIME - new Date(entry.at).getTime()).padStart(13, '0');
  return `${inverted}~${entry.runId}~${entry.kind}~${entry.fromDeployment ?? ''}`;
}

function table(): Promise<TableClient> {
  return readyRuntimeTable(PROMOTIONS_TABLE);
}

export async function recordLedgerEntry(entry: LedgerEntry): Promise<void> {
  const t = await table();
  const row: LedgerEntity = { partitionKey: ledgerPartitionKey(entry.workspaceId, entry.endpoint), rowKey: rowKeyOf(entry), ...entry };
  // Table storage refuses undefined properties' absence no differently from null: drop them.
  for (const k of Object.keys(row) as Array<keyof LedgerEntity>) if (row[k] === undefined) delete row[k];
  try {
    await t.upsertEntity(row, 'Replace');
  } catch (err) {
    rethrowClassified(err, `Recording the ${entry.kind} on batch endpoint '${entry.endpoint}'`);
  }
}

/** The endpoint's ledger, newest first. */
export async function readLedger(workspaceId: string, endpoint: string): Promise<LedgerEntry[]> {
  const t = await table();
  const pk = ledgerPartitionKey(workspaceId, endpoint);
  const out: LedgerEntry[] = [];
  try {
    for await (const row of t.listEntities<LedgerEntity>({ queryOptions: { filter: `PartitionKey eq '${pk.replace(/'/g, "''")}'` } })) {
      const { partitionKey: _pk, rowKey: _rk, ...rest } = row as LedgerEntity & { etag?: string; timestamp?: string };
      delete (rest as { etag?: string }).etag;
      delete (rest as { timestamp?: string }).timestamp;
      out.push(rest as LedgerEntry);
    }
  } catch (err) {
    rethrowClassified(err, `Reading the promotion ledger of batch endpoint '${endpoint}'`);
  }
  return out.sort((a, b) => (a.at < b.at ? 1 : a.at > b.at ? -1 : 0));
}
