// How an entity works through its queue: operations run in arrival order as one batch per step; a
// lock (critical section of an orchestration) admits only its holder's operations until released,
// and is acquired entity by entity in the order the SDK sorted them, the last one answering the
// orchestration. Pure: the engine invokes the entity function and commits.
import type { Envelope, EntityRecord, InstanceMessage } from './instanceModel';
import type { EntityBatchItem, EntityBatchResult } from './functionInvocations';
import { entitySchedulerId, type OutboundMessage } from './episodeOutcome';

const MAX_OPERATIONS_PER_BATCH = 50;
const REMEMBERED_REQUEST_IDS = 200;

type EntityOperation = Extract<InstanceMessage, { type: 'EntityOperation' }>;

export function parseEntityId(instanceId: string): { name: string; key: string } | undefined {
  const at = instanceId.indexOf('@', 1);
  if (!instanceId.startsWith('@') || at < 0) return undefined;
  return { name: instanceId.slice(1, at), key: instanceId.slice(at + 1) };
}

export function isEntityInstanceId(instanceId: string): boolean {
  return parseEntityId(instanceId) !== undefined;
}

export interface EntityStepPlan {
  /** Envelopes this step commits (run, forwarded or dropped). */
  consumed: Envelope[];
  /** Operations to run now, in order. */
  operations: Array<{ envelope: Envelope; operation: EntityOperation }>;
  record: EntityRecord;
  outbound: OutboundMessage[];
}

function blocked(record: EntityRecord, op: EntityOperation): boolean {
  return record.lockedBy !== undefined && op.lock !== 'release' && op.parentInstanceId !== record.lockedBy;
}

/** True when some pending envelope can be processed now (others wait for a lock to be released). */
export function entityHasWork(record: EntityRecord, pending: Envelope[]): boolean {
  return pending.some((e) => e.message.type !== 'EntityOperation' || !blocked(record, e.message));
}

export function planEntityStep(entityId: string, current: EntityRecord, pending: Envelope[]): EntityStepPlan {
  const record: EntityRecord = structuredClone(current);
  const consumed: Envelope[] = [];
  const operations: EntityStepPlan['operations'] = [];
  const outbound: OutboundMessage[] = [];
  for (const envelope of pending) {
    const m = envelope.message;
    if (m.type !== 'EntityOperation') {
      consumed.push(envelope);
      continue;
    }
    if (blocked(record, m)) continue;
    if (m.lock) {
      // Lock changes apply between batches, so operations already taken run under the old lock state.
      if (operations.length > 0) break;
      consumed.push(envelope);
      if (m.lock === 'release') {
        if (record.lockedBy === m.parentInstanceId) {
          record.lockedBy = undefined;
          record.lockRequestId = undefined;
        }
        continue;
      }
      record.lockedBy = m.parentInstanceId;
      record.lockRequestId = m.requestId;
      const rest = m.lockSet ?? [];
      if (rest.length > 0) {
        outbound.push({
          target: rest[0],
          envelopeId: `lock-${m.requestId}-${rest[0]}`,
          message: { ...m, lockSet: rest.slice(1) },
        });
      } else if (m.parentInstanceId) {
        outbound.push({ target: m.parentInstanceId, envelopeId: `granted-${m.requestId}`, message: { type: 'LockGranted', requestId: m.requestId, entityId } });
      }
      continue;
    }
    consumed.push(envelope);
    if (record.recentRequestIds.includes(m.requestId)) continue;
    operations.push({ envelope, operation: m });
    if (operations.length >= MAX_OPERATIONS_PER_BATCH) break;
  }
  return { consumed, operations, record, outbound };
}

export function toBatchItems(plan: EntityStepPlan): EntityBatchItem[] {
  return plan.operations.map(({ operation }) => ({ id: operation.requestId, name: operation.operation, input: operation.input, signal: operation.signal }));
}

function errorMessageOf(result: string | undefined, operation: string, entityId: string): string {
  if (result) {
    try {
      const parsed = JSON.parse(result) as unknown;
      if (typeof parsed === 'string' && parsed) return parsed;
      if (parsed && typeof parsed === 'object' && typeof (parsed as { message?: unknown }).message === 'string') return (parsed as { message: string }).message;
    } catch {
      // Not JSON: fall through to the generic message.
    }
  }
  return `Operation '${operation}' on entity '${entityId}' failed.`;
}

/** Applies the entity function's results: new state, answers to callers, signals it sent. */
export function applyEntityResults(entityId: string, plan: EntityStepPlan, outcome: { ok: true; result: EntityBatchResult } | { ok: false; message: string }): void {
  const record = plan.record;
  plan.operations.forEach(({ operation }, i) => {
    record.recentRequestIds.push(operation.requestId);
    if (operation.signal || !operation.parentInstanceId) return;
    const answer = (message: InstanceMessage): void => {
      plan.outbound.push({ target: operation.parentInstanceId!, envelopeId: `response-${operation.requestId}`, message });
    };
    if (!outcome.ok) {
      answer({ type: 'EntityResponse', requestId: operation.requestId, exceptionType: 'Error', errorMessage: outcome.message });
      return;
    }
    const r = outcome.result.results[i];
    if (r?.isError) answer({ type: 'EntityResponse', requestId: operation.requestId, exceptionType: 'Error', errorMessage: errorMessageOf(r.result, operation.operation, entityId) });
    else answer({ type: 'EntityResponse', requestId: operation.requestId, result: r?.result });
  });
  if (record.recentRequestIds.length > REMEMBERED_REQUEST_IDS) record.recentRequestIds.splice(0, record.recentRequestIds.length - REMEMBERED_REQUEST_IDS);
  if (!outcome.ok) return;
  record.exists = outcome.result.entityExists;
  record.state = outcome.result.entityExists ? outcome.result.entityState : undefined;
  outcome.result.signals.forEach((signal, i) => {
    const target = entitySchedulerId(signal.target.name, signal.target.key);
    const requestId = `${plan.operations[0]?.operation.requestId ?? entityId}-signal-${i}`;
    plan.outbound.push({
      target,
      envelopeId: `op-${requestId}`,
      message: { type: 'EntityOperation', requestId, operation: signal.name, input: signal.input || undefined, signal: true },
    });
  });
}
