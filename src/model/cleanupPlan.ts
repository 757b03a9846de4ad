// Which of an endpoint's deployments the cleanup may delete, decided from the promotion ledger and the
// endpoint as it is now. Pure, so every rule is unit-tested: a deployment is deleted only when
// batchpilot replaced or discarded it, its keep period has passed, it is neither the current default
// nor the rollback target, nothing has changed it since and it still serves the model it was replaced
// with (a newer run may be reusing a slot), and no operation is running on it. Everything else is kept, with the reason.
import type { LedgerEntry } from './ledgerEntries';
import { rollbackTargetOf } from './ledgerEntries';

export interface DeploymentState {
  name: string;
  provisioningState?: string;
  /** systemData.lastModifiedAt, when Azure ML reports it. */
  lastModifiedAt?: string;
  /** The model (ARM ID) it serves now. */
  model?: string;
}

export interface CleanupDecision {
  deployment: string;
  action: 'delete' | 'keep';
  reason: string;
  /** The ledger entry that replaced or discarded it. */
  entry?: LedgerEntry;
}

const SETTLED = new Set(['succeeded', 'failed', 'canceled']);

function same(a: string | undefined, b: string | undefined): boolean {
  return a !== undefined && b !== undefined && a.toLowerCase() === b.toLowerCase();
}

/** The newest ledger entry that says something about this deployment, and what it says. */
function lastWord(ledger: readonly LedgerEntry[], deployment: string): { entry: LedgerEntry; role: 'becameDefault' | 'replaced' | 'discarded' | 'deleted' } | undefined {
  for (const entry of ledger) {
    if ((entry.kind === 'promotion' || entry.kind === 'rollback') && same(entry.toDeployment, deployment)) return { entry, role: 'becameDefault' };
    if ((entry.kind === 'promotion' || entry.kind === 'rollback') && same(entry.fromDeployment, deployment)) return { entry, role: 'replaced' };
    if (entry.kind === 'discard' && same(entry.fromDeployment, deployment)) return { entry, role: 'discarded' };
    if (entry.kind === 'cleanup' && same(entry.fromDeployment, deployment)) return { entry, role: 'deleted' };
  }
  return undefined;
}

/** `ledger` newest first (as readLedger returns it); `now` from the caller's clock. */
export function planDeploymentCleanup(ledger: readonly LedgerEntry[], deployments: readonly DeploymentState[], currentDefault: string | undefined, now: Date): CleanupDecision[] {
  const rollback = rollbackTargetOf(ledger, '');
  const rollbackTarget = rollback.ok ? rollback.target : undefined;
  return deployments.map((d): CleanupDecision => {
    const keep = (reason: string, entry?: LedgerEntry): CleanupDecision => ({ deployment: d.name, action: 'keep', reason, entry });
    if (same(d.name, currentDefault)) return keep('it is the current default');
    if (same(d.name, rollbackTarget)) return keep('it is the rollback target of the latest promotion');
    const word = lastWord(ledger, d.name);
    if (!word) return keep('batchpilot did not replace or discard it');
    const { entry, role } = word;
    if (role === 'becameDefault') return keep(`it became the default at ${entry.at} (run ${entry.runId})`, entry);
    if (role === 'deleted') return keep(`it was deleted at ${entry.at} and has been created again since`, entry);
    if (d.lastModifiedAt && new Date(d.lastModifiedAt).getTime() > new Date(entry.at).getTime()) return keep(`it changed at ${d.lastModifiedAt}, after it was ${role} at ${entry.at}: a newer run uses it`, entry);
    if (entry.fromModel && d.model && !same(d.model, entry.fromModel)) return keep(`it serves ${d.model}, not ${entry.fromModel} which was ${role}: a newer run uses it`, entry);
    if (d.provisioningState && !SETTLED.has(d.provisioningState.toLowerCase())) return keep(`an operation is running on it (${d.provisioningState})`, entry);
    if (!entry.keepUntil) return keep(`the ${entry.kind} that ${role} it recorded no keep period`, entry);
    if (now.getTime() < new Date(entry.keepUntil).getTime()) return keep(`it is kept until ${entry.keepUntil}`, entry);
    return { deployment: d.name, action: 'delete', reason: `it was ${role} at ${entry.at} (run ${entry.runId}) and its keep period ended at ${entry.keepUntil}`, entry };
  });
}
