// The engine's record of one orchestration or entity instance — what is persisted in its state row and
// kept in memory while it runs — and the messages that drive it (the Durable Task "work items").
import type { FailureDetails, HistoryEvent } from './historyEvents';
import type { WireRetryOptions } from './orchestratorActions';

export type RuntimeStatus = 'Pending' | 'Running' | 'Completed' | 'ContinuedAsNew' | 'Failed' | 'Canceled' | 'Terminated' | 'Suspended';

export const RUNTIME_STATUSES: readonly RuntimeStatus[] = ['Pending', 'Running', 'Completed', 'ContinuedAsNew', 'Failed', 'Canceled', 'Terminated', 'Suspended'];

export function isTerminal(status: RuntimeStatus): boolean {
  return status === 'Completed' || status === 'Failed' || status === 'Terminated' || status === 'Canceled';
}

/** What a retried activity or sub-orchestration calls each attempt. */
export interface RetryTarget {
  kind: 'activity' | 'subOrchestration';
  name: string;
  input?: string;
  instanceId?: string;
}

/**
 * A `callActivityWithRetry` / `callSubOrchestratorWithRetry` in progress. The SDK allocates a timer ID
 * after every failed attempt and a new task ID after every retry timer with attempts left, so the
 * engine mirrors its counter to answer with the IDs it will expect.
 */
export interface RetryTracker {
  options: WireRetryOptions;
  target: RetryTarget;
  /** Failed attempts so far. */
  failures: number;
  firstAttemptAt: string;
  lastFailure?: FailureDetails;
  /** Set once retryTimeout passed: remaining attempts fail without running (the SDK has no other way to stop). */
  timedOut?: boolean;
}

/** Recorded per top-level action: what replay must reproduce, and the task IDs of its leaves. */
export interface RecordedAction {
  /** Hash of describeAction(): compared on replay. */
  hash: string;
  /** describeAction(), shortened: what a non-determinism message names. */
  summary: string;
  taskIds: Array<number | null>;
}

/** A scheduled step waiting for its completion event, by task ID. */
export type OpenTask =
  /** `waitsForTimer`: a callHttp poll, dispatched when that timer fires (the 202 pattern). */
  | { kind: 'activity'; name: string; input?: string; retryOf?: number; action?: string; waitsForTimer?: number }
  | { kind: 'timer'; fireAt: string; retryOf?: number; canceled?: boolean; action?: string }
  | { kind: 'subOrchestration'; name: string; instanceId: string; input?: string; retryOf?: number; action?: string }
  | { kind: 'entityCall'; entityId: string; operation: string; requestId: string; action?: string }
  | { kind: 'entityLock'; entityIds: string[]; requestId: string; action?: string };

/** The engine's mirror of the SDK's replay state for the current execution. */
export interface ReplayState {
  /** The SDK's next sequence number (task ID) after the last committed episode. */
  nextTaskId: number;
  /** Each top-level action already seen, to detect a changed orchestrator and find its tasks' IDs. */
  actions: RecordedAction[];
  /** Tasks waiting for their completion, by task ID (`action`: a hash of the leaf action's JSON). */
  openTasks: Record<string, OpenTask>;
  retries: Record<string, RetryTracker>;
  /** Entities this instance holds locks on (critical section), in lock order. */
  heldLocks?: string[];
  /** Task IDs of retried tasks, their attempts and retry timers (rewind leaves those alone). */
  retryTaskIds?: number[];
}

export interface ParentLink {
  instanceId: string;
  executionId: string;
  taskScheduledId: number;
  name: string;
}

/** Entity-specific state: the serialized entity state and lock bookkeeping. */
export interface EntityRecord {
  exists: boolean;
  state?: string;
  /** Orchestration instance holding the lock, if any. */
  lockedBy?: string;
  /** Lock request being served: who asked and which entities remain to be locked after this one. */
  lockRequestId?: string;
  /** Recently processed request IDs, so a redelivered operation runs once. */
  recentRequestIds: string[];
}

export interface InstanceState {
  instanceId: string;
  kind: 'orchestration' | 'entity';
  /** Function name (orchestrator or entity). */
  name: string;
  /** The version the orchestration was started with (context.df.version), if any. */
  orchestrationVersion?: string;
  executionId: string;
  runtimeStatus: RuntimeStatus;
  /** Serialized JSON, as given to the orchestrator. */
  input?: string;
  output?: string;
  customStatus?: string;
  failureDetails?: FailureDetails;
  createdTime: string;
  lastUpdatedTime: string;
  completedTime?: string;
  parent?: ParentLink;
  /** Number of committed history events of the current execution. */
  historyCount: number;
  /** How many of them are in history rows; the rest (the tail) travel in the state row. */
  flushedEvents?: number;
  /** Episodes run in the current execution (0 before the first). */
  episodes: number;
  replay: ReplayState;
  entity?: EntityRecord;
  /** Incremented by every commit; outbox rows written ahead of a commit carry the version they belong to. */
  version: number;
  /** Suspended status remembers what to return to. */
  statusBeforeSuspend?: RuntimeStatus;
}

export function newReplayState(): ReplayState {
  return { nextTaskId: 0, actions: [], openTasks: {}, retries: {} };
}

/** Messages delivered to an instance. Durable ones are stored in its inbox until an episode commits them. */
export type InstanceMessage =
  | { type: 'ExecutionStarted'; name: string; orchestrationVersion?: string; input?: string; executionId: string; parent?: ParentLink }
  | { type: 'EventRaised'; name: string; input?: string }
  | { type: 'Terminate'; reason?: string }
  | { type: 'Suspend'; reason?: string }
  | { type: 'Resume'; reason?: string }
  | { type: 'TaskCompleted'; executionId: string; taskId: number; result: string }
  | { type: 'TaskFailed'; executionId: string; taskId: number; failure: FailureDetails }
  | { type: 'TimerFired'; executionId: string; timerId: number; fireAt: string }
  | { type: 'SubOrchestrationCompleted'; executionId: string; taskId: number; result: string }
  | { type: 'SubOrchestrationFailed'; executionId: string; taskId: number; failure: FailureDetails }
  | { type: 'EntityResponse'; requestId: string; result?: string; exceptionType?: string; errorMessage?: string }
  | { type: 'LockGranted'; requestId: string; entityId: string }
  /** Wakes a rewound instance so it replays; adds nothing to the history. */
  | { type: 'Rewound'; reason?: string }
  | {
      type: 'EntityOperation';
      requestId: string;
      operation: string;
      input?: string;
      signal: boolean;
      /** The orchestration to answer (calls and lock requests). */
      parentInstanceId?: string;
      /** Lock protocol: `lock` asks this entity to lock for parentInstanceId then forward to `lockSet`; `release` unlocks. */
      lock?: 'acquire' | 'release';
      lockSet?: string[];
      scheduledTime?: string;
    };

export interface Envelope {
  /** Unique within the target: the inbox row key, and what dedupes a redelivery. */
  id: string;
  message: InstanceMessage;
  /** True when the message is in the inbox table (false for in-memory completions of this process). */
  durable: boolean;
  receivedAt: string;
  /** performance.now() when an in-process completion arrived (not persisted): for latency figures. */
  receivedAtMs?: number;
}

export interface LoadedInstance {
  state: InstanceState;
  history: HistoryEvent[];
  pending: Envelope[];
}
