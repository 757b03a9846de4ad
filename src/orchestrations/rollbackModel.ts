// rollbackModel: an operator undoes the latest promotion on a batch endpoint. Reads like the runbook:
// check what the promotion recorded (the previous default still exists, still serves the model it
// served, and the endpoint's default is still the one the promotion set) → make the previous default
// the default again → record the rollback → run record (who asked, why, what changed) → announce
// Model.RolledBack, or Model.RollbackFailed with the reason when a check refuses; a refused rollback
// leaves the endpoint as it was. Started through startModelRollback (src/operator/modelRollbacks.ts). The
// record and the event outlast a storage or topic outage (runEnding).
import type { OrchestrationContext, Task } from 'durable-functions';
import { ACTIVITY, ActivityFailedError, callActivity, ModelRollbackTarget, RunAnnouncement, SwitchedDefaultDeployment, WriteRunRecordOutput } from '../activities/contracts';
import type { LedgerEntry } from '../model/ledgerEntries';
import { replaySafeLog } from './replaySafeLog';
import { endRun, RunEnding, RunEndingRetry } from './runEnding';
import { measureRun } from './runMeasuring';
import { runIndexer } from './runIndexing';

export const ROLLBACK_MODEL = 'rollbackModel';

export interface RollbackModelInput {
  runId: string;
  workspaceId: string;
  endpoint: string;
  /** The promotion being undone: the rollback is refused if a newer change has happened since. */
  promotionRunId: string;
  /** The model route of that promotion (run records and events are kept per route). */
  routeName: string;
  topicEndpoint: string;
  typePrefix: string;
  keepReplacedDeploymentsForDays: number;
  requestedBy: string;
  reason: string;
  requestedAt: string;
  /** The model route's events.retry (defaults when absent). */
  eventsRetry?: RunEndingRetry;
  /** Set when the run continued as new while ending (a long storage or topic outage): it resumes there. */
  ending?: RunEnding<RollbackModelResult>;
}

/** A refused or failed rollback is `Failed` (announced as Model.RollbackFailed). */
export type RollbackOutcome = 'RolledBack' | 'Failed';

export interface RollbackModelResult {
  runId: string;
  outcome: RollbackOutcome;
  reason?: string;
  restored?: string;
  replaced?: string;
  eventType: string;
  record?: WriteRunRecordOutput;
  announcement?: RunAnnouncement;
}

export function* rollbackModel(context: OrchestrationContext): Generator<Task, RollbackModelResult | undefined, unknown> {
  const input = context.df.getInput() as RollbackModelInput;
  const { runId, workspaceId, endpoint } = input;
  const startedAt = context.df.currentUtcDateTime.toISOString();
  const log = replaySafeLog(context, { runId, route: input.routeName, endpoint });
  const index = runIndexer(context, ROLLBACK_MODEL, runId, input as unknown as Record<string, unknown>, log);
  const finish = (ending: RunEnding<RollbackModelResult>) =>
    endRun(context, ending, {
      input,
      status: (phase, extra) => {
        const r = ending.result;
        context.df.setCustomStatus({ phase, outcome: r.outcome, endpoint, ...(phase === 'done' ? { reason: r.reason, restored: r.restored } : {}), ...extra });
      },
      log,
      finished: (r) => ({ message: r.outcome === 'RolledBack' ? `Restored '${r.restored}' as the default of ${endpoint} (requested by ${input.requestedBy}).` : `Rollback failed: ${r.reason}` }),
      index,
    });
  if (input.ending) return yield* finish(input.ending);
  yield* index.write('Running', { customStatus: { phase: 'checking promotion' } });

  let target: ModelRollbackTarget | undefined;
  let switched: SwitchedDefaultDeployment | undefined;
  let outcome: RollbackOutcome = 'Failed';
  let failure: string | undefined;
  let warning: string | undefined;
  try {
    context.df.setCustomStatus({ phase: 'checking promotion', endpoint, promotionRunId: input.promotionRunId, requestedBy: input.requestedBy });
    target = yield* callActivity(context, ACTIVITY.readModelRollbackTarget, { workspaceId, endpoint, promotionRunId: input.promotionRunId });

    context.df.setCustomStatus({ phase: 'restoring default', endpoint, from: target.current, to: target.target });
    switched = yield* callActivity(context, ACTIVITY.switchDefaultDeployment, { runId, workspaceId, endpoint, expectedCurrent: target.current, to: target.target, expectedModel: target.targetModel });
    outcome = 'RolledBack';

    const at = context.df.currentUtcDateTime;
    const entry: LedgerEntry = {
      kind: 'rollback',
      workspaceId,
      endpoint,
      at: at.toISOString(),
      runId,
      routeName: input.routeName,
      fromDeployment: target.current,
      toDeployment: target.target,
      fromModel: target.promotion.toModel,
      toModel: target.targetModel,
      modelName: target.promotion.modelName,
      modelVersion: target.promotion.modelVersion,
      keepUntil: new Date(at.getTime() + input.keepReplacedDeploymentsForDays * 86_400_000).toISOString(),
      by: input.requestedBy,
      reason: input.reason,
      rollbackOf: input.promotionRunId,
    };
    try {
      yield* callActivity(context, ACTIVITY.recordModelLedgerEntry, entry);
    } catch (err) {
      warning = `The rollback was made but not recorded in the promotion ledger: ${(err as Error).message}`;
      log(warning, { failureClass: 'permanent' });
    }
  } catch (err) {
    failure = err instanceof ActivityFailedError ? err.failure.message : (err as Error).message;
    log(`Rollback refused: ${failure}`, { failureClass: err instanceof ActivityFailedError ? 'permanent' : 'exhausted-retries' });
  }

  const eventType = `${input.typePrefix}.Model.${outcome === 'RolledBack' ? 'RolledBack' : 'RollbackFailed'}`;
  const finishedAt = context.df.currentUtcDateTime.toISOString();
  const summary = {
    runId,
    route: input.routeName,
    kind: 'modelRollback',
    outcome,
    reason: failure,
    requestedBy: input.requestedBy,
    requestReason: input.reason,
    requestedAt: input.requestedAt,
    workspaceId,
    endpoint,
    rollbackOf: input.promotionRunId,
    model: target ? { name: target.promotion.modelName, version: target.promotion.modelVersion, id: target.promotion.toModel } : undefined,
    restoredDeployment: switched?.current,
    restoredModel: target?.targetModel,
    replacedDeployment: switched ? target?.current : undefined,
    warning,
    startedAt,
    finishedAt,
  };
  return yield* finish({
    runId,
    routeName: input.routeName,
    topicEndpoint: input.topicEndpoint,
    eventType,
    subject: `routes/${input.routeName}/runs/${runId}`,
    summary,
    retry: input.eventsRetry,
    result: { runId, outcome, reason: failure, restored: switched?.current, replaced: switched ? target?.current : undefined, eventType },
    measurements: measureRun({ runId, route: input.routeName, kind: 'rollback', outcome, startedAt, finishedAt }),
  });
}
