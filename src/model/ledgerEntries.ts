// What the promotion ledger holds, with no I/O: one entry per change batchpilot made to which deployment
// serves a batch endpoint (promotion, rollback, discarded candidate, cleanup deletion), and what a
// rollback would restore from the newest entries. The table that stores them is src/azure/promotionLedger.ts.

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
