// What the cleanup may delete: replaced and discarded deployments past their keep period, never the
// current default, never the rollback target, never one a newer run has touched or that is busy; and
// what a rollback would restore, read from the promotion ledger.
import { planDeploymentCleanup } from '../../src/model/cleanupPlan';
import { LedgerEntry, rollbackTargetOf } from '../../src/model/ledgerEntries';

const WS = '/subscriptions/s/resourceGroups/r/providers/Microsoft.MachineLearningServices/workspaces/w';
const DAY = 86_400_000;
const T0 = new Date('2026-01-01T00:00:00Z').getTime();
const at = (days: number): string => new Date(T0 + days * DAY).toISOString();

function entry(kind: LedgerEntry['kind'], day: number, from: string, to?: string, keepDays = 30): LedgerEntry {
  return { kind, workspaceId: WS, endpoint: 'ep', at: at(day), runId: `run-${kind}-${day}`, routeName: 'r', fromDeployment: from, toDeployment: to, keepUntil: at(day + keepDays) };
}

/** base → v1 on day 0, v1 → v2 on day 10, candidate v3 rejected on day 20; newest first, as readLedger returns it. */
const LEDGER: LedgerEntry[] = [entry('discard', 20, 'v3'), entry('promotion', 10, 'v1', 'v2'), entry('promotion', 0, 'base', 'v1')];
const DEPLOYMENTS = [{ name: 'base' }, { name: 'v1' }, { name: 'v2' }, { name: 'v3' }, { name: 'hand-made' }].map((d) => ({ ...d, provisioningState: 'Succeeded', lastModifiedAt: at(-1) }));

const decisions = (ledger: LedgerEntry[], deployments = DEPLOYMENTS, current = 'v2', day = 100) =>
  Object.fromEntries(planDeploymentCleanup(ledger, deployments, current, new Date(T0 + day * DAY)).map((d) => [d.deployment, `${d.action}: ${d.reason}`]));

describe('deployment cleanup plan', () => {
  it('deletes what was replaced or discarded once kept long enough, and keeps the default, the rollback target and what batchpilot never touched', () => {
    expect(decisions(LEDGER)).toEqual({
      base: expect.stringMatching(/^delete: it was replaced at 2026-01-01T00:00:00.000Z \(run run-promotion-0\) and its keep period ended at 2026-01-31/),
      v1: 'keep: it is the rollback target of the latest promotion',
      v2: 'keep: it is the current default',
      v3: expect.stringMatching(/^delete: it was discarded at 2026-01-21/),
      'hand-made': 'keep: batchpilot did not replace or discard it',
    });
  });

  it('keeps replaced deployments until their keep period has passed', () => {
    expect(decisions(LEDGER, DEPLOYMENTS, 'v2', 35)).toMatchObject({ base: expect.stringMatching(/^delete/), v3: expect.stringMatching(/^keep: it is kept until 2026-02-20/) });
  });

  it('keeps the current default even when the ledger says it was replaced (someone switched back by hand)', () => {
    expect(decisions(LEDGER, DEPLOYMENTS, 'base')).toMatchObject({ base: 'keep: it is the current default', v2: expect.stringMatching(/^keep: it became the default/) });
  });

  it('after a rollback, keeps the restored default and deletes the rolled-back candidate once its keep period ends', () => {
    const ledger = [entry('rollback', 40, 'v2', 'v1'), ...LEDGER];
    expect(decisions(ledger, DEPLOYMENTS, 'v1')).toMatchObject({ v1: 'keep: it is the current default', v2: expect.stringMatching(/^delete: it was replaced at 2026-02-10/), base: expect.stringMatching(/^delete/) });
  });

  it('keeps a deployment a newer run has changed since it was replaced (a reused slot), and one with an operation running', () => {
    const deployments = DEPLOYMENTS.map((d) => (d.name === 'base' ? { ...d, lastModifiedAt: at(50) } : d.name === 'v3' ? { ...d, provisioningState: 'Updating' } : d));
    expect(decisions(LEDGER, deployments)).toMatchObject({ base: expect.stringMatching(/^keep: it changed at .*a newer run uses it/), v3: 'keep: an operation is running on it (Updating)' });
  });

  it('keeps a slot that serves another model than the one discarded (a newer run redeployed it before the discard was recorded)', () => {
    const ledger = [{ ...entry('discard', 20, 'v3'), fromModel: 'models/m/versions/3' }, ...LEDGER.slice(1)];
    const deployments = DEPLOYMENTS.map((d) => (d.name === 'v3' ? { ...d, model: 'models/m/versions/4' } : d));
    expect(decisions(ledger, deployments)).toMatchObject({ v3: 'keep: it serves models/m/versions/4, not models/m/versions/3 which was discarded: a newer run uses it' });
    expect(decisions(ledger, DEPLOYMENTS.map((d) => (d.name === 'v3' ? { ...d, model: 'models/m/versions/3' } : d)))).toMatchObject({ v3: expect.stringMatching(/^delete/) });
  });

  it('deletes a deployment whose provisioning failed once its keep period ends', () => {
    const deployments = DEPLOYMENTS.map((d) => (d.name === 'v3' ? { ...d, provisioningState: 'Failed' } : d));
    expect(decisions(LEDGER, deployments)).toMatchObject({ v3: expect.stringMatching(/^delete/) });
  });

  it('keeps a deployment created again after the cleanup deleted it', () => {
    const ledger = [entry('cleanup', 60, 'base'), ...LEDGER];
    expect(decisions(ledger)).toMatchObject({ base: expect.stringMatching(/^keep: it was deleted at .* and has been created again since/) });
  });
});

describe('rollback target', () => {
  it('is the previous default of the latest promotion', () => {
    expect(rollbackTargetOf(LEDGER, 'ep')).toMatchObject({ ok: true, target: 'v1', current: 'v2', promotion: { runId: 'run-promotion-10' } });
  });

  it('is refused once the latest promotion was rolled back, and when nothing was promoted', () => {
    expect(rollbackTargetOf([entry('rollback', 40, 'v2', 'v1'), ...LEDGER], 'ep')).toMatchObject({ ok: false, reason: expect.stringMatching(/already rolled back \(to 'v1'/) });
    expect(rollbackTargetOf([entry('discard', 1, 'v9')], 'ep')).toMatchObject({ ok: false, reason: expect.stringMatching(/has not promoted any deployment on batch endpoint 'ep'/) });
  });
});
