// Applies what one orchestrator episode returned, as the Durable Task extension does: checks that the
// replayed actions match the recorded ones (a changed orchestrator fails with the expected and actual
// step), numbers every newly yielded task exactly as the SDK does, turns new actions into history
// events and work (activities, timers, sub-orchestrations, entity messages), schedules retries, and
// settles the instance's status, output and custom status. Pure: the engine persists and acts.
import { createHash } from 'node:crypto';
import { FailureDetails, HistoryEvent, historyEvent } from './historyEvents';
import type { Envelope, InstanceMessage, InstanceState, OpenTask, RecordedAction, ReplayState, RuntimeStatus } from './instanceModel';
import { ActionType, OrchestratorAction, OrchestratorState, WireFailureDetails, cumulativeActions, describeAction, leafActions } from './orchestratorActions';
import type { PreparedEpisode } from './episodeInputs';
import { nextRetry, validateRetryOptions } from './retryPolicy';
import { HTTP_ACTIVITY_NAME, httpActivityInput, releasedHttpPolls } from './durableHttp';

export type SdkOutcome =
  | { kind: 'state'; state: OrchestratorState }
  /** The orchestrator threw (state present when the SDK reported it) or could not be invoked. */
  | { kind: 'failed'; message: string; stack?: string; state?: OrchestratorState };

export interface ActivityWork {
  taskId: number;
  name: string;
  input?: string;
}

export interface TimerWork {
  timerId: number;
  fireAt: string;
}

/** A message for another instance: committed in the sender's outbox, then delivered. */
export interface OutboundMessage {
  target: string;
  envelopeId: string;
  message: InstanceMessage;
}

export interface EpisodeWork {
  activities: ActivityWork[];
  timers: TimerWork[];
  cancelTimers: number[];
  outbound: OutboundMessage[];
  /** Messages to this instance itself, e.g. the failure of a retry attempt after retryTimeout. */
  selfMessages: Envelope[];
}

export interface EpisodeDecision {
  events: HistoryEvent[];
  replay: ReplayState;
  status: RuntimeStatus;
  output?: string;
  customStatus?: string;
  failureDetails?: FailureDetails;
  continueAsNew?: { input?: string };
  work: EpisodeWork;
}

const SUMMARY_LIMIT = 300;

function hashOf(description: string): string {
  return createHash('sha1').update(description).digest('base64').slice(0, 16);
}

/** An action as recorded. A description that fits the summary is its own record; a longer one is hashed. */
function summarize(action: OrchestratorAction): RecordedAction {
  const description = describeAction(action);
  if (description.length <= SUMMARY_LIMIT) return { hash: '', summary: description, taskIds: [] };
  return { hash: hashOf(description), summary: `${description.slice(0, SUMMARY_LIMIT)}…`, taskIds: [] };
}

/** Whether a replayed action is the one recorded (histories recorded with a hash for every action included). */
function sameAction(expected: RecordedAction, actual: OrchestratorAction): { same: boolean; actual: RecordedAction } {
  const replayed = summarize(actual);
  if (replayed.hash === '' && (expected.hash === '' || expected.summary.length <= SUMMARY_LIMIT)) return { same: replayed.summary === expected.summary, actual: replayed };
  return { same: (replayed.hash || hashOf(replayed.summary)) === expected.hash, actual: replayed };
}

/** A GUID-shaped ID derived from its parts: redelivered or replayed requests keep the same ID. */
export function deterministicGuid(...parts: Array<string | number>): string {
  const h = createHash('sha1').update(parts.join('\u0001')).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-${((parseInt(h[16], 16) & 0x3) | 0x8).toString(16)}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** Activity inputs: the SDK has already JSON-encoded strings; everything else is still a value. */
export function serializeActivityInput(input: unknown): string | undefined {
  if (input === undefined) return undefined;
  return typeof input === 'string' ? input : JSON.stringify(input);
}

export function serializeValue(value: unknown): string | undefined {
  return value === undefined ? undefined : JSON.stringify(value);
}

export function entitySchedulerId(name: string, key: string): string {
  return `@${name.toLowerCase()}@${key}`;
}

export function toFailureDetails(wire: WireFailureDetails | undefined, fallback: { message: string; stack?: string; type?: string }): FailureDetails {
  if (wire && (wire.ErrorMessage !== undefined || wire.ErrorType !== undefined)) {
    return {
      ErrorType: wire.ErrorType ?? 'Error',
      ErrorMessage: wire.ErrorMessage ?? '',
      StackTrace: wire.StackTrace,
      IsNonRetriable: wire.IsNonRetriable,
      Properties: wire.Properties,
      InnerFailure: wire.InnerFailure ? toFailureDetails(wire.InnerFailure, { message: '' }) : undefined,
    };
  }
  return { ErrorType: fallback.type ?? 'Error', ErrorMessage: fallback.message, StackTrace: fallback.stack };
}

/** A leaf's JSON (hashed when long), to recognise an already scheduled task yielded again inside Task.any/all. */
function leafKey(a: OrchestratorAction): string {
  const { isCanceled: _ignored, ...rest } = a;
  const json = JSON.stringify(rest);
  return json.length <= 64 ? json : createHash('sha1').update(json).digest('base64').slice(0, 20);
}

export function childInstanceId(parentInstanceId: string, taskId: number): string {
  return `${parentInstanceId}:${taskId.toString().padStart(4, '0')}`;
}

export function decideEpisode(instance: InstanceState, prepared: PreparedEpisode, outcome: SdkOutcome): EpisodeDecision {
  const replay = prepared.replay;
  const now = prepared.now;
  const nowIso = now.toISOString();
  const events: HistoryEvent[] = [...prepared.newEvents];
  const work: EpisodeWork = { activities: [], timers: [], cancelTimers: [], outbound: [], selfMessages: [] };
  const recorded = replay.actions;
  const recordedBefore = recorded.length;
  const base = { replay, work };

  const fail = (message: string, details: FailureDetails): EpisodeDecision => {
    events.push(historyEvent.executionCompleted(now, 'Failed', JSON.stringify(message), details), historyEvent.orchestratorCompleted(now));
    return { ...base, events, status: 'Failed', output: JSON.stringify(message), failureDetails: details, customStatus: instance.customStatus };
  };
  const failedMessage = (m: string): string => `Orchestrator function '${instance.name}' failed: ${m}`;

  if (outcome.kind === 'failed' && !outcome.state) {
    return fail(failedMessage(outcome.message), toFailureDetails(undefined, { message: outcome.message, stack: outcome.stack }));
  }
  const sdkState = (outcome as { state: OrchestratorState }).state;
  const actions = cumulativeActions(sdkState);

  // Replay must reproduce every recorded step, in order, before anything new.
  for (let i = 0; i < recordedBefore; i++) {
    const expected = recorded[i];
    const actual = actions[i];
    if (actual === undefined) {
      if (outcome.kind === 'failed') break;
      const m =
        `Non-deterministic orchestrator detected: step ${i + 1} of '${instance.name}' (instance '${instance.instanceId}') ` +
        `was ${expected.summary} when the history was recorded, but the orchestrator ${sdkState.isDone ? 'now completes' : 'now waits'} without scheduling it. ` +
        'Orchestrator code must not change while instances are in flight; use a new orchestrator name or version for changed logic.';
      return fail(m, { ErrorType: 'NonDeterministicOrchestrationException', ErrorMessage: m });
    }
    const { same, actual: replayed } = sameAction(expected, actual);
    if (!same) {
      const m =
        `Non-deterministic orchestrator detected: step ${i + 1} of '${instance.name}' (instance '${instance.instanceId}') ` +
        `was ${expected.summary} when the history was recorded, but replay now produced ${replayed.summary}. ` +
        'Orchestrator code must not change while instances are in flight; use a new orchestrator name or version for changed logic.';
      return fail(m, { ErrorType: 'NonDeterministicOrchestrationException', ErrorMessage: m });
    }
    // A timer yielded earlier may have been cancelled since (timer.cancel() after Task.any).
    const leaves = leafActions(actual);
    expected.taskIds.forEach((id, j) => {
      const leaf = leaves[j];
      if (id === null || !leaf || leaf.actionType !== ActionType.CreateTimer || !leaf.isCanceled) return;
      const open = replay.openTasks[String(id)];
      if (open?.kind === 'timer' && !open.canceled) {
        delete replay.openTasks[String(id)];
        work.cancelTimers.push(id);
      }
    });
  }

  if (outcome.kind === 'failed') {
    return fail(failedMessage(outcome.message), toFailureDetails(sdkState.failureDetails, { message: outcome.message, stack: outcome.stack }));
  }

  let counter = replay.nextTaskId;
  const openBefore = new Map<string, number[]>();
  for (const [id, task] of Object.entries(replay.openTasks)) {
    if (!task.action) continue;
    const list = openBefore.get(task.action) ?? [];
    list.push(Number(id));
    openBefore.set(task.action, list);
  }
  let continueAsNew: { input?: string } | undefined;
  let protocolError: string | undefined;

  const open = (id: number, task: OpenTask): void => {
    replay.openTasks[String(id)] = task;
    if ('retryOf' in task && task.retryOf !== undefined) (replay.retryTaskIds ??= []).push(id);
  };

  const startChild = (id: number, name: string, childId: string, input: string | undefined, version?: string): void => {
    events.push(historyEvent.subOrchestrationCreated(now, id, name, childId, input));
    work.outbound.push({
      target: childId,
      envelopeId: `start-${deterministicGuid(instance.instanceId, instance.executionId, id)}`,
      message: {
        type: 'ExecutionStarted',
        name,
        orchestrationVersion: version,
        input,
        executionId: deterministicGuid('execution', instance.instanceId, instance.executionId, id),
        parent: { instanceId: instance.instanceId, executionId: instance.executionId, taskScheduledId: id, name: instance.name },
      },
    });
  };

  const sendEntityOperation = (id: number, entityId: string, operation: string, input: unknown, signal: boolean): string => {
    const requestId = deterministicGuid('entity', instance.instanceId, instance.executionId, id);
    const serialized = serializeValue(input);
    events.push(historyEvent.eventSent(now, id, entityId, 'op', JSON.stringify({ id: requestId, op: operation, signal, input: serialized, parent: instance.instanceId })));
    work.outbound.push({
      target: entityId,
      envelopeId: `op-${requestId}`,
      message: { type: 'EntityOperation', requestId, operation, input: serialized, signal, parentInstanceId: signal ? undefined : instance.instanceId, scheduledTime: nowIso },
    });
    return requestId;
  };

  /** Schedules one new leaf; returns its task ID, or null for steps without one (external events). */
  const scheduleLeaf = (leaf: OrchestratorAction): number | null => {
    const key = leafKey(leaf);
    switch (leaf.actionType) {
      case ActionType.WaitForExternalEvent:
        return null;
      case ActionType.CallActivity:
      case ActionType.CallActivityWithRetry: {
        const id = counter++;
        const input = serializeActivityInput(leaf.input);
        const name = String(leaf.functionName);
        events.push(historyEvent.taskScheduled(now, id, name, input));
        if (leaf.actionType === ActionType.CallActivityWithRetry) {
          const invalid = validateRetryOptions(leaf.retryOptions);
          if (invalid) protocolError = `callActivityWithRetry('${name}'): ${invalid}.`;
          replay.retries[String(id)] = { options: leaf.retryOptions!, target: { kind: 'activity', name, input }, failures: 0, firstAttemptAt: nowIso };
          open(id, { kind: 'activity', name, input, retryOf: id, action: key });
        } else open(id, { kind: 'activity', name, input, action: key });
        work.activities.push({ taskId: id, name, input });
        return id;
      }
      case ActionType.CreateTimer: {
        const id = counter++;
        const fireAt = new Date(String(leaf.fireAt)).toISOString();
        events.push(historyEvent.timerCreated(now, id, fireAt));
        if (!leaf.isCanceled) {
          open(id, { kind: 'timer', fireAt, action: key });
          work.timers.push({ timerId: id, fireAt });
        }
        return id;
      }
      case ActionType.CallSubOrchestrator:
      case ActionType.CallSubOrchestratorWithRetry: {
        const id = counter++;
        const name = String(leaf.functionName);
        const input = serializeValue(leaf.input);
        const childId = leaf.instanceId || childInstanceId(instance.instanceId, id);
        if (leaf.actionType === ActionType.CallSubOrchestratorWithRetry) {
          const invalid = validateRetryOptions(leaf.retryOptions);
          if (invalid) protocolError = `callSubOrchestratorWithRetry('${name}'): ${invalid}.`;
          replay.retries[String(id)] = {
            options: leaf.retryOptions!,
            target: { kind: 'subOrchestration', name, input, instanceId: leaf.instanceId || undefined },
            failures: 0,
            firstAttemptAt: nowIso,
          };
          open(id, { kind: 'subOrchestration', name, instanceId: childId, input, retryOf: id, action: key });
        } else open(id, { kind: 'subOrchestration', name, instanceId: childId, input, action: key });
        startChild(id, name, childId, input, leaf.version);
        return id;
      }
      case ActionType.CallEntity: {
        const id = counter++;
        const entityId = String(leaf.instanceId);
        const requestId = sendEntityOperation(id, entityId, String(leaf.operation), leaf.input, false);
        open(id, { kind: 'entityCall', entityId, operation: String(leaf.operation), requestId, action: key });
        return id;
      }
      case ActionType.LockEntities: {
        const id = counter++;
        const entityIds = (leaf.lockSet ?? []).map((e) => entitySchedulerId(e.name, e.key));
        const requestId = String(leaf.lockRequestId);
        events.push(historyEvent.eventSent(now, id, entityIds[0] ?? '', 'op', JSON.stringify({ id: requestId, op: null, lockset: entityIds, parent: instance.instanceId })));
        open(id, { kind: 'entityLock', entityIds, requestId, action: key });
        if (entityIds.length > 0) {
          work.outbound.push({
            target: entityIds[0],
            envelopeId: `lock-${requestId}-${entityIds[0]}`,
            message: { type: 'EntityOperation', requestId, operation: '__lock', signal: false, parentInstanceId: instance.instanceId, lock: 'acquire', lockSet: entityIds.slice(1) },
          });
        }
        return id;
      }
      case ActionType.CallHttp: {
        const id = counter++;
        const input = httpActivityInput(leaf.httpRequest);
        events.push(historyEvent.taskScheduled(now, id, HTTP_ACTIVITY_NAME, input));
        open(id, { kind: 'activity', name: HTTP_ACTIVITY_NAME, input, action: key });
        work.activities.push({ taskId: id, name: HTTP_ACTIVITY_NAME, input });
        return id;
      }
      default:
        protocolError = `The orchestrator yielded an action the engine does not know: ${describeAction(leaf)}.`;
        return null;
    }
  };

  for (let i = recordedBefore; i < actions.length; i++) {
    const action = actions[i];
    const entry = summarize(action);
    switch (action.actionType) {
      case ActionType.ContinueAsNew:
        continueAsNew = { input: serializeActivityInput(action.input) };
        break;
      case ActionType.SignalEntity: {
        const id = counter++;
        sendEntityOperation(id, String(action.instanceId), String(action.operation), action.input, true);
        entry.taskIds.push(id);
        break;
      }
      case ActionType.ReleaseEntities: {
        for (const entityId of replay.heldLocks ?? []) {
          const id = counter++;
          entry.taskIds.push(id);
          events.push(historyEvent.eventSent(now, id, entityId, 'release', JSON.stringify({ id: deterministicGuid('release', instance.instanceId, instance.executionId, id), releasedBy: instance.instanceId })));
          work.outbound.push({
            target: entityId,
            envelopeId: `release-${deterministicGuid(instance.instanceId, instance.executionId, id)}`,
            message: { type: 'EntityOperation', requestId: deterministicGuid('release', instance.instanceId, instance.executionId, id), operation: '__release', signal: true, parentInstanceId: instance.instanceId, lock: 'release' },
          });
        }
        replay.heldLocks = undefined;
        break;
      }
      case ActionType.WhenAll:
      case ActionType.WhenAny: {
        const claimed = new Set<number>();
        for (const leaf of leafActions(action)) {
          const again = openBefore.get(leafKey(leaf))?.find((id) => !claimed.has(id));
          if (again !== undefined) {
            claimed.add(again);
            entry.taskIds.push(again);
          } else entry.taskIds.push(scheduleLeaf(leaf));
        }
        break;
      }
      default:
        entry.taskIds.push(scheduleLeaf(action));
    }
    recorded.push(entry);
  }

  if (protocolError) {
    return fail(failedMessage(protocolError), { ErrorType: 'InvalidOperationException', ErrorMessage: protocolError });
  }

  // The IDs the SDK allocated itself while replaying the batch's last events (see episodeInputs).
  for (const slot of prepared.allocations) {
    const id = counter++;
    if (slot.kind === 'httpPoll') {
      // The poll's timer, then the poll itself, which goes out when the timer fires.
      const pollId = counter++;
      const fireAt = new Date(now.getTime() + slot.poll.delayInMs).toISOString();
      events.push(historyEvent.timerCreated(now, id, fireAt));
      open(id, { kind: 'timer', fireAt });
      work.timers.push({ timerId: id, fireAt });
      open(pollId, { kind: 'activity', name: HTTP_ACTIVITY_NAME, input: slot.poll.input, waitsForTimer: id });
      continue;
    }
    const tracker = replay.retries[String(slot.root)];
    if (!tracker) continue;
    if (slot.kind === 'retryTimer') {
      const decision = nextRetry(tracker.options, tracker.failures, now.getTime() - Date.parse(tracker.firstAttemptAt));
      if (!decision.retry && decision.why === 'retryTimeoutElapsed') tracker.timedOut = true;
      const fireAt = new Date(now.getTime() + (decision.retry ? decision.delayInMs : 0)).toISOString();
      events.push(historyEvent.timerCreated(now, id, fireAt));
      open(id, { kind: 'timer', fireAt, retryOf: slot.root });
      work.timers.push({ timerId: id, fireAt });
      continue;
    }
    const target = tracker.target;
    const lastFailure = tracker.lastFailure ?? { ErrorType: 'Error', ErrorMessage: 'The task failed.' };
    if (target.kind === 'activity') {
      events.push(historyEvent.taskScheduled(now, id, target.name, target.input));
      open(id, { kind: 'activity', name: target.name, input: target.input, retryOf: slot.root });
      if (tracker.timedOut) {
        work.selfMessages.push({ id: `retry-timeout-${id}`, durable: false, receivedAt: nowIso, message: { type: 'TaskFailed', executionId: instance.executionId, taskId: id, failure: lastFailure } });
      } else work.activities.push({ taskId: id, name: target.name, input: target.input });
    } else {
      const childId = target.instanceId ?? childInstanceId(instance.instanceId, id);
      open(id, { kind: 'subOrchestration', name: target.name, instanceId: childId, input: target.input, retryOf: slot.root });
      if (tracker.timedOut) {
        events.push(historyEvent.subOrchestrationCreated(now, id, target.name, childId, target.input));
        work.selfMessages.push({ id: `retry-timeout-${id}`, durable: false, receivedAt: nowIso, message: { type: 'SubOrchestrationFailed', executionId: instance.executionId, taskId: id, failure: lastFailure } });
      } else startChild(id, target.name, childId, target.input);
    }
  }
  replay.nextTaskId = counter;
  for (const poll of releasedHttpPolls(replay, prepared.newEvents)) {
    events.push(historyEvent.taskScheduled(now, poll.taskId, HTTP_ACTIVITY_NAME, poll.input));
    work.activities.push(poll);
  }

  const customStatus = serializeValue(sdkState.customStatus);
  if (continueAsNew) {
    events.push(historyEvent.orchestratorCompleted(now));
    return { ...base, events, status: 'ContinuedAsNew', customStatus, continueAsNew };
  }
  if (sdkState.isDone) {
    const output = serializeValue(sdkState.output);
    events.push(historyEvent.executionCompleted(now, 'Completed', output), historyEvent.orchestratorCompleted(now));
    return { ...base, events, status: 'Completed', output, customStatus };
  }
  events.push(historyEvent.orchestratorCompleted(now));
  return { ...base, events, status: 'Running', customStatus };
}
