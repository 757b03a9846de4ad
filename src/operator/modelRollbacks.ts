// Starting a rollback of a batch endpoint's latest promotion — the call the operator API makes. It
// checks the promotion ledger first, so an operator asking for a rollback that cannot happen (nothing
// promoted, already rolled back) hears why at once; the rollback run itself checks the endpoint again
// before changing anything. The run's ID derives from the promotion it undoes: asking twice starts one.
import type { DurableClient, DurableOrchestrationStatus } from 'durable-functions';
import { appRoutes, appSettings } from '../config/runtimeConfig';
import { instanceExists } from '../azure/runStarter';
import { ROLLBACK_MODEL, RollbackModelInput } from '../orchestrations/rollbackModel';
import { readLedger } from '../azure/promotionLedger';
import { rollbackTargetOf } from '../model/ledgerEntries';
import { rollbackRunId } from '../model/modelRunIds';

export class ModelRollbackError extends Error {
  constructor(readonly code: 'InvalidRequest' | 'NothingToRollBack', message: string) {
    super(message);
    this.name = 'ModelRollbackError';
  }

  get statusCode(): 400 | 409 {
    return this.code === 'InvalidRequest' ? 400 : 409;
  }
}

export interface ModelRollbackRequest {
  endpoint: string;
  /** Default: the app's workspace (BATCHPILOT_ML_WORKSPACE_ID). */
  workspaceId?: string;
  requestedBy: string;
  reason: string;
}

export interface StartedModelRollback {
  instanceId: string;
  /** False when this rollback was already asked for (its run exists). */
  started: boolean;
  /** The deployment that will become the default again, and the one it replaces. */
  target: string;
  current: string;
  promotionRunId: string;
  status?: DurableOrchestrationStatus;
}

export async function startModelRollback(client: DurableClient, request: ModelRollbackRequest): Promise<StartedModelRollback> {
  if (typeof request?.endpoint !== 'string' || !request.endpoint) throw new ModelRollbackError('InvalidRequest', 'endpoint must name a batch endpoint.');
  if (typeof request.requestedBy !== 'string' || !request.requestedBy.trim()) throw new ModelRollbackError('InvalidRequest', 'requestedBy must name who asks for the rollback.');
  if (typeof request.reason !== 'string' || !request.reason.trim()) throw new ModelRollbackError('InvalidRequest', 'reason must say why: it is kept in the run record.');
  const settings = appSettings();
  const workspaceId = request.workspaceId ?? settings.workspaceId;
  const found = rollbackTargetOf(await readLedger(workspaceId, request.endpoint), request.endpoint);
  if (!found.ok) throw new ModelRollbackError('NothingToRollBack', found.reason);
  const instanceId = rollbackRunId(workspaceId, request.endpoint, found.promotion.runId);
  const common = { instanceId, target: found.target, current: found.current, promotionRunId: found.promotion.runId };
  if (await instanceExists(client, instanceId)) {
    return { ...common, started: false, status: await client.getStatus(instanceId, { showHistory: false, showInput: false }) };
  }
  const route = appRoutes().modelRoutes.find((r) => r.name === found.promotion.routeName);
  const input: RollbackModelInput = {
    runId: instanceId,
    workspaceId,
    endpoint: request.endpoint,
    promotionRunId: found.promotion.runId,
    routeName: found.promotion.routeName,
    topicEndpoint: route?.events.topicEndpoint ?? settings.eventsTopicEndpoint,
    typePrefix: route?.events.typePrefix ?? 'Batchpilot',
    keepReplacedDeploymentsForDays: route?.keepReplacedDeploymentsForDays ?? 30,
    eventsRetry: route?.events.retry,
    requestedBy: request.requestedBy.trim(),
    reason: request.reason.trim(),
    requestedAt: new Date().toISOString(),
  };
  try {
    await client.startNew(ROLLBACK_MODEL, { instanceId, input });
  } catch (err) {
    // Asked twice at the same moment: the other request started it.
    if (!/409/.test((err as Error).message)) throw err;
    return { ...common, started: false };
  }
  return { ...common, started: true };
}
