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

export const PROMOTIONS_TABLE = 'BatchpilotPromotions';

export type LedgerEntryKind = 'promotion' | 'rollback' | 'discard' | 'cleanup';

export interface LedgerEntry {
  kind: LedgerEntryKind;
  workspaceId: string;
  endpoint: string;
  /** When it happened (the orchestration's clock, so a repeated write is the same row). */
  at: string;
  /** The promotion or rollback run, or the cleanup pass. */
  runId: string;
  routeName: string;
  /** promotion/rollback: the deployment that stopped being the default; discard/cleanup: the deployment concerned. */
  fromDeployment?: string;
  /** promotion/rollback: the deployment that became the default. */
  toDeployment?: string;
  /** The model (ARM ID) each deployment served at the time. */
  fromModel?: string;
  toModel?: string;
  modelName?: string;
  modelVersion?: string;
  /** When `fromDeployment` may be deleted by the cleanup (unless it is the default or the rollback target). */
  keepUntil?: string;
  /** Who decided: 'auto', an approver, or the operator who rolled back. */
  by?: string;
  reason?: string;
  /** Rollback: the promotion run it undid. */
  rollbackOf?: string;
}

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

/** The latest change of the endpoint's default made by batchpilot (a promotion or a rollback). */
export function latestDefaultChange(ledger: readonly LedgerEntry[]): LedgerEntry | undefined {
  return ledger.find((e) => e.kind === 'promotion' || e.kind === 'rollback');
}

export type RollbackTarget =
  | { ok: true; promotion: LedgerEntry; target: string; current: string }
  | { ok: false; reason: string };

/** What a rollback would restore: the previous default recorded by the latest promotion, if not undone. */
export function rollbackTargetOf(ledger: readonly LedgerEntry[], endpoint: string): RollbackTarget {
  const latest = latestDefaultChange(ledger);
  if (!latest) return { ok: false, reason: `batchpilot has not promoted any deployment on batch endpoint '${endpoint}', so there is nothing to roll back.` };
  if (latest.kind === 'rollback') {
    return { ok: false, reason: `The latest promotion on batch endpoint '${endpoint}' was already rolled back (to '${latest.toDeployment}' by ${latest.by ?? 'an operator'} at ${latest.at}); there is no earlier default recorded to restore.` };
  }
  if (!latest.fromDeployment || !latest.toDeployment) return { ok: false, reason: `The latest promotion on batch endpoint '${endpoint}' (run ${latest.runId}) recorded no previous default.` };
  return { ok: true, promotion: latest, target: latest.fromDeployment, current: latest.toDeployment };
}
