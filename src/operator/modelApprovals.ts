// Raising an approver's decision on a promotion run that waits at its manual gate — the call the
// operator API makes when someone approves or rejects a candidate. It refuses, with an error the API
// can map to a status code, a decision that is malformed or meant for a run that is not awaiting
// approval (unknown, finished, or still scoring), so a click never lands silently in the wrong place.
import type { DurableClient, DurableOrchestrationStatus } from 'durable-functions';
import { APPROVAL_EVENT, ApprovalDecision, AWAITING_APPROVAL } from '../orchestrations/promoteModel';

export type ModelApprovalErrorCode = 'InvalidDecision' | 'RunNotFound' | 'NotAwaitingApproval';

export class ModelApprovalError extends Error {
  constructor(readonly code: ModelApprovalErrorCode, message: string, readonly instanceId: string) {
    super(message);
    this.name = 'ModelApprovalError';
  }

  /** The HTTP status an API answers with. */
  get statusCode(): 400 | 404 | 409 {
    return this.code === 'InvalidDecision' ? 400 : this.code === 'RunNotFound' ? 404 : 409;
  }
}

export interface ModelApprovalInput {
  approved: boolean;
  /** Who decided (the signed-in operator). */
  by: string;
  reason?: string;
}

export interface SubmittedModelApproval {
  instanceId: string;
  decision: ApprovalDecision;
}

function httpStatusIn(err: unknown): number | undefined {
  const m = /HTTP (\d{3}) response|status code: (\d{3})/.exec((err as Error)?.message ?? '');
  return m ? Number(m[1] ?? m[2]) : undefined;
}

/** The phase a promotion run shows, when it is one. */
export function promotionPhaseOf(status: Pick<DurableOrchestrationStatus, 'customStatus'>): string | undefined {
  const custom = status.customStatus as { phase?: unknown } | null | undefined;
  return typeof custom?.phase === 'string' ? custom.phase : undefined;
}

export async function submitModelApproval(client: DurableClient, instanceId: string, input: ModelApprovalInput): Promise<SubmittedModelApproval> {
  if (typeof input?.approved !== 'boolean') throw new ModelApprovalError('InvalidDecision', 'approved must be true or false.', instanceId);
  if (typeof input.by !== 'string' || !input.by.trim()) throw new ModelApprovalError('InvalidDecision', 'by must name who decides.', instanceId);
  if (input.reason !== undefined && typeof input.reason !== 'string') throw new ModelApprovalError('InvalidDecision', 'reason must be text.', instanceId);
  let status: DurableOrchestrationStatus;
  try {
    status = await client.getStatus(instanceId, { showHistory: false, showInput: false });
  } catch (err) {
    if (httpStatusIn(err) === 404) throw new ModelApprovalError('RunNotFound', `There is no run '${instanceId}'.`, instanceId);
    throw err;
  }
  const phase = promotionPhaseOf(status);
  if (String(status.runtimeStatus) !== 'Running' || phase !== AWAITING_APPROVAL) {
    throw new ModelApprovalError(
      'NotAwaitingApproval',
      `Run '${instanceId}' is not awaiting approval (it is ${String(status.runtimeStatus)}${phase ? `, phase '${phase}'` : ''}); a decision can only be given while a model promotion waits at its manual gate.`,
      instanceId,
    );
  }
  const decision: ApprovalDecision = { approved: input.approved, by: input.by.trim(), reason: input.reason?.trim() || undefined, at: new Date().toISOString() };
  await client.raiseEvent(instanceId, APPROVAL_EVENT, decision);
  return { instanceId, decision };
}
