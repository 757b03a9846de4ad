// The orchestration history the durable engine keeps and replays, in the wire shape the Durable Task
// Framework gives out-of-process SDKs (PascalCase fields, numeric `EventType`): durable-functions reads
// exactly these fields when it replays an orchestrator.

/** Numeric event types, as DurableTask.Core numbers them (and durable-functions' HistoryEventType). */
export enum HistoryEventType {
  ExecutionStarted = 0,
  ExecutionCompleted = 1,
  ExecutionFailed = 2,
  ExecutionTerminated = 3,
  TaskScheduled = 4,
  TaskCompleted = 5,
  TaskFailed = 6,
  SubOrchestrationInstanceCreated = 7,
  SubOrchestrationInstanceCompleted = 8,
  SubOrchestrationInstanceFailed = 9,
  TimerCreated = 10,
  TimerFired = 11,
  OrchestratorStarted = 12,
  OrchestratorCompleted = 13,
  EventSent = 14,
  EventRaised = 15,
  ContinueAsNew = 16,
  GenericEvent = 17,
  HistoryState = 18,
  ExecutionSuspended = 19,
  ExecutionResumed = 20,
}

/** Structured failure, as DurableTask.Core's FailureDetails serialises it. */
export interface FailureDetails {
  ErrorType: string;
  ErrorMessage: string;
  StackTrace?: string;
  IsNonRetriable?: boolean;
  Properties?: Record<string, unknown>;
  InnerFailure?: FailureDetails;
}

/**
 * One history event. A flat shape with optional fields, because that is how the events travel: each
 * type uses a subset (TaskScheduled: Name/Input; TaskCompleted: TaskScheduledId/Result; ...).
 */
export interface HistoryEvent {
  EventType: HistoryEventType;
  /** The task ID for scheduling events (TaskScheduled, TimerCreated, SubOrchestrationInstanceCreated, EventSent); -1 otherwise. */
  EventId: number;
  IsPlayed: boolean;
  /** ISO-8601 UTC. */
  Timestamp: string;
  Name?: string;
  Version?: string;
  /** Serialized JSON text (inputs are JSON strings on the wire). */
  Input?: string;
  /** Serialized JSON text. */
  Result?: string;
  TaskScheduledId?: number;
  TimerId?: number;
  FireAt?: string;
  Reason?: string;
  Details?: string;
  FailureDetails?: FailureDetails;
  InstanceId?: string;
  OrchestrationStatus?: string;
  OrchestrationInstance?: { InstanceId: string; ExecutionId: string };
  ParentInstance?: { Name?: string; TaskScheduleId: number; OrchestrationInstance: { InstanceId: string; ExecutionId: string } };
}

const NO_ID = -1;

function event(type: HistoryEventType, timestamp: Date, fields: Partial<HistoryEvent> = {}, eventId = NO_ID): HistoryEvent {
  return { EventType: type, EventId: eventId, IsPlayed: false, Timestamp: timestamp.toISOString(), ...fields };
}

export const historyEvent = {
  orchestratorStarted: (at: Date): HistoryEvent => event(HistoryEventType.OrchestratorStarted, at),
  orchestratorCompleted: (at: Date): HistoryEvent => event(HistoryEventType.OrchestratorCompleted, at),
  executionStarted: (
    at: Date,
    f: { name: string; version?: string; input?: string; instanceId: string; executionId: string; parent?: HistoryEvent['ParentInstance'] },
  ): HistoryEvent =>
    event(HistoryEventType.ExecutionStarted, at, {
      Name: f.name,
      Version: f.version,
      Input: f.input,
      OrchestrationInstance: { InstanceId: f.instanceId, ExecutionId: f.executionId },
      ParentInstance: f.parent,
    }),
  executionCompleted: (at: Date, status: string, result?: string, failure?: FailureDetails): HistoryEvent =>
    event(HistoryEventType.ExecutionCompleted, at, { OrchestrationStatus: status, Result: result, FailureDetails: failure }),
  executionTerminated: (at: Date, reason?: string): HistoryEvent => event(HistoryEventType.ExecutionTerminated, at, { Input: reason }),
  executionSuspended: (at: Date, reason?: string): HistoryEvent => event(HistoryEventType.ExecutionSuspended, at, { Reason: reason }),
  executionResumed: (at: Date, reason?: string): HistoryEvent => event(HistoryEventType.ExecutionResumed, at, { Reason: reason }),
  continueAsNew: (at: Date, input?: string): HistoryEvent => event(HistoryEventType.ContinueAsNew, at, { Result: input }),
  taskScheduled: (at: Date, id: number, name: string, input?: string): HistoryEvent =>
    event(HistoryEventType.TaskScheduled, at, { Name: name, Input: input }, id),
  taskCompleted: (at: Date, taskScheduledId: number, result: string): HistoryEvent =>
    event(HistoryEventType.TaskCompleted, at, { TaskScheduledId: taskScheduledId, Result: result }),
  taskFailed: (at: Date, taskScheduledId: number, failure: FailureDetails): HistoryEvent =>
    event(HistoryEventType.TaskFailed, at, { TaskScheduledId: taskScheduledId, ...failureFields(failure) }),
  timerCreated: (at: Date, id: number, fireAt: string): HistoryEvent => event(HistoryEventType.TimerCreated, at, { FireAt: fireAt }, id),
  timerFired: (at: Date, timerId: number, fireAt: string): HistoryEvent => event(HistoryEventType.TimerFired, at, { TimerId: timerId, FireAt: fireAt }),
  subOrchestrationCreated: (at: Date, id: number, name: string, instanceId: string, input?: string): HistoryEvent =>
    event(HistoryEventType.SubOrchestrationInstanceCreated, at, { Name: name, InstanceId: instanceId, Input: input }, id),
  subOrchestrationCompleted: (at: Date, taskScheduledId: number, result: string): HistoryEvent =>
    event(HistoryEventType.SubOrchestrationInstanceCompleted, at, { TaskScheduledId: taskScheduledId, Result: result }),
  subOrchestrationFailed: (at: Date, taskScheduledId: number, failure: FailureDetails): HistoryEvent =>
    event(HistoryEventType.SubOrchestrationInstanceFailed, at, { TaskScheduledId: taskScheduledId, ...failureFields(failure) }),
  eventRaised: (at: Date, name: string, input?: string): HistoryEvent => event(HistoryEventType.EventRaised, at, { Name: name, Input: input }),
  eventSent: (at: Date, id: number, instanceId: string, name: string, input: string): HistoryEvent =>
    event(HistoryEventType.EventSent, at, { InstanceId: instanceId, Name: name, Input: input }, id),
};

/** TaskFailed carries both the legacy Reason/Details pair and FailureDetails; the SDK prefers the latter. */
function failureFields(failure: FailureDetails): Partial<HistoryEvent> {
  return { Reason: failure.ErrorMessage, Details: failure.StackTrace ?? '', FailureDetails: failure };
}

/** Events the engine completes a scheduled task with, keyed by the task ID they answer. */
export function completedTaskId(e: HistoryEvent): number | undefined {
  switch (e.EventType) {
    case HistoryEventType.TaskCompleted:
    case HistoryEventType.TaskFailed:
    case HistoryEventType.SubOrchestrationInstanceCompleted:
    case HistoryEventType.SubOrchestrationInstanceFailed:
      return e.TaskScheduledId;
    case HistoryEventType.TimerFired:
      return e.TimerId;
    default:
      return undefined;
  }
}

export function historyEventTypeName(type: HistoryEventType): string {
  return HistoryEventType[type] ?? `Unknown${type}`;
}
