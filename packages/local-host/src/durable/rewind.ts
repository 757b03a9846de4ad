// Rewind of a failed orchestration: its failure and the failed activities and sub-orchestrations that
// caused it are taken out of the history, those tasks are opened again (activities run again, failed
// sub-orchestrations are rewound too) and the orchestrator replays from there. Supported when the
// failure ended the orchestration; if the orchestrator caught a failure and went on scheduling work,
// forgetting the failure would change its past, so rewind is refused.
import { HistoryEvent, HistoryEventType } from './historyEvents';
import type { InstanceState, OpenTask } from './instanceModel';
import { EngineRequestError } from './engineErrors';

export interface RewindPlan {
  state: InstanceState;
  history: HistoryEvent[];
  activities: Array<{ taskId: number; name: string; input?: string }>;
  failedChildren: string[];
}

const SCHEDULING = new Set([HistoryEventType.TaskScheduled, HistoryEventType.TimerCreated, HistoryEventType.SubOrchestrationInstanceCreated, HistoryEventType.EventSent]);

export function rewindHistory(state: InstanceState, history: HistoryEvent[], now: Date, reason?: string): RewindPlan {
  const retryIds = new Set(state.replay.retryTaskIds ?? []);
  const failed = history.filter(
    (e) =>
      (e.EventType === HistoryEventType.TaskFailed || e.EventType === HistoryEventType.SubOrchestrationInstanceFailed) &&
      e.TaskScheduledId !== undefined &&
      !retryIds.has(e.TaskScheduledId),
  );
  const firstFailure = failed.length > 0 ? history.indexOf(failed[0]) : -1;
  if (firstFailure >= 0 && history.slice(firstFailure).some((e) => SCHEDULING.has(e.EventType))) {
    throw new EngineRequestError(
      412,
      `Instance '${state.instanceId}' cannot be rewound: its orchestrator handled a failed task and scheduled more work afterwards. Start a new instance instead.`,
    );
  }
  const openTasks: Record<string, OpenTask> = { ...state.replay.openTasks };
  const activities: RewindPlan['activities'] = [];
  const failedChildren: string[] = [];
  const nowIso = now.toISOString();
  for (const f of failed) {
    const id = f.TaskScheduledId!;
    const scheduled = history.find((e) => e.EventId === id && (e.EventType === HistoryEventType.TaskScheduled || e.EventType === HistoryEventType.SubOrchestrationInstanceCreated));
    if (!scheduled) continue;
    if (scheduled.EventType === HistoryEventType.TaskScheduled) {
      openTasks[String(id)] = { kind: 'activity', name: String(scheduled.Name), input: scheduled.Input };
      activities.push({ taskId: id, name: String(scheduled.Name), input: scheduled.Input });
    } else {
      openTasks[String(id)] = { kind: 'subOrchestration', name: String(scheduled.Name), instanceId: String(scheduled.InstanceId), input: scheduled.Input };
      failedChildren.push(String(scheduled.InstanceId));
    }
  }
  const dropped = new Set<HistoryEvent>(failed);
  const kept = history.filter((e) => !dropped.has(e) && !(e.EventType === HistoryEventType.ExecutionCompleted && e.OrchestrationStatus === 'Failed'));
  kept.push({ EventType: HistoryEventType.GenericEvent, EventId: -1, IsPlayed: false, Timestamp: nowIso, Name: 'Rewound', Reason: reason ?? '' });
  return {
    state: {
      ...state,
      runtimeStatus: 'Running',
      output: undefined,
      failureDetails: undefined,
      completedTime: undefined,
      lastUpdatedTime: nowIso,
      historyCount: kept.length,
      replay: { ...state.replay, openTasks },
    },
    history: kept,
    activities,
    failedChildren,
  };
}
