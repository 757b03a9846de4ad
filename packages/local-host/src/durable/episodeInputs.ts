// Turns an instance's pending messages into the new history events of its next episode, in the order
// the SDK must replay them. Completions answer open tasks (stale or duplicate ones are dropped); the
// events after which the SDK allocates a task ID by itself (a retried task's failure allocates its
// retry timer, a retry timer with attempts left allocates the next attempt) go last, so the engine
// knows exactly which IDs those are: the SDK numbers first what user code yields, then these.
import { FailureDetails, HistoryEvent, historyEvent } from './historyEvents';
import type { Envelope, InstanceState, OpenTask, ReplayState } from './instanceModel';
import { HTTP_ACTIVITY_NAME, HttpPoll, httpPollAfter } from './durableHttp';

/** What the engine must do with the ID the SDK allocates while replaying one of the batch's last events. */
export type AllocationSlot =
  | { kind: 'retryTimer'; root: number }
  | { kind: 'retryAttempt'; root: number }
  /** A callHttp answered 202 + Location: the SDK allocates a timer, then the follow-up call. */
  | { kind: 'httpPoll'; poll: HttpPoll };

export interface PreparedEpisode {
  now: Date;
  isFirstEpisode: boolean;
  /** OrchestratorStarted, ExecutionStarted (first episode), then the batch. */
  newEvents: HistoryEvent[];
  /** One per allocating event, in history order. */
  allocations: AllocationSlot[];
  /** Messages this episode commits (applied or dropped): removed from the inbox with the commit. */
  consumed: Envelope[];
  /** Replay state after the batch is applied (a copy; the instance's own is untouched until commit). */
  replay: ReplayState;
}

export interface PrepareOptions {
  /** Durable (inbox) messages per episode: bounded so one table transaction commits them all. */
  maxDurableMessages: number;
  /** In-memory completions per episode. */
  maxMessages: number;
}

function takeOpen<K extends OpenTask['kind']>(replay: ReplayState, id: number, kind: K): Extract<OpenTask, { kind: K }> | undefined {
  const open = replay.openTasks[String(id)];
  if (!open || open.kind !== kind) return undefined;
  delete replay.openTasks[String(id)];
  return open as Extract<OpenTask, { kind: K }>;
}

function findOpenByRequest(replay: ReplayState, requestId: string, kind: 'entityCall' | 'entityLock'): [string, OpenTask] | undefined {
  return Object.entries(replay.openTasks).find(([, t]) => t.kind === kind && t.requestId === requestId);
}

/** The pending messages an episode takes (control messages are handled by the engine before). */
export function selectBatch(pending: Envelope[], options: PrepareOptions): Envelope[] {
  const batch: Envelope[] = [];
  let durable = 0;
  for (const envelope of pending) {
    if (batch.length >= options.maxMessages) break;
    if (envelope.durable) {
      if (durable >= options.maxDurableMessages) continue;
      durable++;
    }
    batch.push(envelope);
  }
  return batch;
}

/**
 * A copy of the replay state an episode may change without touching the committed one: the maps and
 * lists it adds to or deletes from are copied, and the retry trackers (whose counters it updates); the
 * recorded actions and open tasks themselves are only ever replaced, so they are shared.
 */
export function copyReplayState(replay: ReplayState): ReplayState {
  const retries: ReplayState['retries'] = {};
  for (const key in replay.retries) retries[key] = { ...replay.retries[key] };
  const copy: ReplayState = { nextTaskId: replay.nextTaskId, actions: replay.actions.slice(), openTasks: { ...replay.openTasks }, retries };
  if (replay.heldLocks) copy.heldLocks = replay.heldLocks.slice();
  if (replay.retryTaskIds) copy.retryTaskIds = replay.retryTaskIds.slice();
  return copy;
}

export function prepareEpisode(state: InstanceState, history: HistoryEvent[], batch: Envelope[], now: Date): PreparedEpisode {
  const replay = copyReplayState(state.replay);
  const ordinary: HistoryEvent[] = [];
  const allocating: Array<{ event: HistoryEvent; slot: AllocationSlot }> = [];
  const consumed: Envelope[] = [];
  const isFirstEpisode = history.length === 0;
  const execution = state.executionId;

  const failRetry = (root: number, event: HistoryEvent, failure: FailureDetails): void => {
    const tracker = replay.retries[String(root)];
    tracker.failures++;
    tracker.lastFailure = failure;
    allocating.push({ event, slot: { kind: 'retryTimer', root } });
  };

  for (const envelope of batch) {
    consumed.push(envelope);
    const m = envelope.message;
    switch (m.type) {
      case 'TaskCompleted': {
        if (m.executionId !== execution) break;
        const open = takeOpen(replay, m.taskId, 'activity');
        if (!open) break;
        if (open.retryOf !== undefined) delete replay.retries[String(open.retryOf)];
        const event = historyEvent.taskCompleted(now, m.taskId, m.result);
        const poll = open.name === HTTP_ACTIVITY_NAME ? httpPollAfter(open.input, m.result) : undefined;
        if (poll) allocating.push({ event, slot: { kind: 'httpPoll', poll } });
        else ordinary.push(event);
        break;
      }
      case 'TaskFailed': {
        if (m.executionId !== execution) break;
        const open = takeOpen(replay, m.taskId, 'activity');
        if (!open) break;
        const event = historyEvent.taskFailed(now, m.taskId, m.failure);
        if (open.retryOf !== undefined && replay.retries[String(open.retryOf)]) failRetry(open.retryOf, event, m.failure);
        else ordinary.push(event);
        break;
      }
      case 'SubOrchestrationCompleted': {
        if (m.executionId !== execution) break;
        const open = takeOpen(replay, m.taskId, 'subOrchestration');
        if (!open) break;
        if (open.retryOf !== undefined) delete replay.retries[String(open.retryOf)];
        ordinary.push(historyEvent.subOrchestrationCompleted(now, m.taskId, m.result));
        break;
      }
      case 'SubOrchestrationFailed': {
        if (m.executionId !== execution) break;
        const open = takeOpen(replay, m.taskId, 'subOrchestration');
        if (!open) break;
        const event = historyEvent.subOrchestrationFailed(now, m.taskId, m.failure);
        if (open.retryOf !== undefined && replay.retries[String(open.retryOf)]) failRetry(open.retryOf, event, m.failure);
        else ordinary.push(event);
        break;
      }
      case 'TimerFired': {
        if (m.executionId !== execution) break;
        const open = takeOpen(replay, m.timerId, 'timer');
        if (!open || open.canceled) break;
        const event = historyEvent.timerFired(now, m.timerId, open.fireAt);
        const tracker = open.retryOf !== undefined ? replay.retries[String(open.retryOf)] : undefined;
        if (open.retryOf !== undefined && tracker) {
          // The SDK schedules another attempt only while attempts remain; otherwise it fails the task.
          if (tracker.failures < tracker.options.maxNumberOfAttempts) allocating.push({ event, slot: { kind: 'retryAttempt', root: open.retryOf } });
          else {
            delete replay.retries[String(open.retryOf)];
            ordinary.push(event);
          }
        } else ordinary.push(event);
        break;
      }
      case 'EventRaised':
        ordinary.push(historyEvent.eventRaised(now, m.name, m.input));
        break;
      case 'EntityResponse': {
        const found = findOpenByRequest(replay, m.requestId, 'entityCall');
        if (!found) break;
        delete replay.openTasks[found[0]];
        const response: Record<string, string> = { result: m.result ?? (m.exceptionType ? JSON.stringify(m.errorMessage ?? 'The entity operation failed.') : '') };
        if (m.exceptionType) response.exceptionType = m.exceptionType;
        ordinary.push(historyEvent.eventRaised(now, m.requestId, JSON.stringify(response)));
        break;
      }
      case 'LockGranted': {
        const found = findOpenByRequest(replay, m.requestId, 'entityLock');
        if (!found || found[1].kind !== 'entityLock') break;
        delete replay.openTasks[found[0]];
        replay.heldLocks = found[1].entityIds;
        ordinary.push(historyEvent.eventRaised(now, m.requestId, 'null'));
        break;
      }
      default:
        // ExecutionStarted is implied by the first episode; control messages never reach an episode.
        break;
    }
  }

  const newEvents: HistoryEvent[] = [historyEvent.orchestratorStarted(now)];
  if (isFirstEpisode) {
    newEvents.push(
      historyEvent.executionStarted(now, {
        name: state.name,
        version: state.orchestrationVersion,
        input: state.input,
        instanceId: state.instanceId,
        executionId: execution,
        parent: state.parent
          ? {
              Name: state.parent.name,
              TaskScheduleId: state.parent.taskScheduledId,
              OrchestrationInstance: { InstanceId: state.parent.instanceId, ExecutionId: state.parent.executionId },
            }
          : undefined,
      }),
    );
  }
  newEvents.push(...ordinary, ...allocating.map((a) => a.event));
  return { now, isFirstEpisode, newEvents, allocations: allocating.map((a) => a.slot), consumed, replay };
}
