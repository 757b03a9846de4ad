// The operator's side of the model flow (issue 5): approve/reject decisions for a promotion run waiting
// at its manual gate, and rollbacks of an endpoint's latest promotion. Both go through
// submitModelApproval (modelApprovals.ts) and startModelRollback (modelRollbacks.ts); their refusals
// become the operator API's 4xx answers.
import type { DurableClient } from 'durable-functions';
import { OperatorError } from './operatorHttp';
import { ModelApprovalError, submitModelApproval } from './modelApprovals';
import { ModelRollbackError, startModelRollback, StartedModelRollback } from './modelRollbacks';

export interface ApprovalDecision {
  approved: boolean;
  by: string;
  reason: string;
}

function asOperatorError(err: unknown): unknown {
  if (err instanceof ModelApprovalError || err instanceof ModelRollbackError) return new OperatorError(err.statusCode, err.code, err.message);
  return err;
}

export async function sendApprovalDecision(client: DurableClient, instanceId: string, decision: ApprovalDecision): Promise<void> {
  try {
    await submitModelApproval(client, instanceId, decision);
  } catch (err) {
    throw asOperatorError(err);
  }
}

export interface RollbackRequest {
  endpoint: string;
  workspaceId?: string;
  by: string;
  reason: string;
}

export async function requestRollback(client: DurableClient, request: RollbackRequest): Promise<StartedModelRollback> {
  try {
    return await startModelRollback(client, { endpoint: request.endpoint, workspaceId: request.workspaceId, requestedBy: request.by, reason: request.reason });
  } catch (err) {
    throw asOperatorError(err);
  }
}
