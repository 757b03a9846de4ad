// The model flow's surface for other parts of the app (the operator API): raise an approver's decision
// on a promotion run waiting at its gate, start a rollback of an endpoint's latest promotion, and the
// names and shapes their runs use.
export { submitModelApproval, ModelApprovalError, promotionPhaseOf, type ModelApprovalInput, type ModelApprovalErrorCode, type SubmittedModelApproval } from './approvals';
export { startModelRollback, ModelRollbackError, type ModelRollbackRequest, type StartedModelRollback } from './rollbackStarter';
export { modelRunId, rollbackRunId } from './modelRunIds';
export { readLedger, rollbackTargetOf, type LedgerEntry } from '../azure/promotionLedger';
export { APPROVAL_EVENT, AWAITING_APPROVAL, PROMOTE_MODEL, type ApprovalDecision, type GateDecision, type ModelRunOutcome, type PromoteModelInput, type PromoteModelResult } from '../orchestrations/promoteModel';
export { ROLLBACK_MODEL, type RollbackModelInput, type RollbackModelResult, type RollbackOutcome } from '../orchestrations/rollbackModel';
