// The instance status JSON the Durable extension's HTTP API answers with (what DurableClient.getStatus
// builds a DurableOrchestrationStatus from), including the condensed history timeline: scheduling
// events are merged into their completions (FunctionName, ScheduledTime), episode markers dropped.
import { HistoryEvent, HistoryEventType, historyEventTypeName } from './historyEvents';
import type { InstanceState } from './instanceModel';
import type { InstanceSummary } from './durableStore';

export interface StatusViewOptions {
  showHistory?: boolean;
  showHistoryOutput?: boolean;
  showInput?: boolean;
}

/** Parses serialized JSON for display; text that is not JSON is shown as is. */
export function parseForDisplay(text: string | undefined): unknown {
  if (text === undefined || text === '') return null;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** The extension's timestamp format: ISO 8601 to the second, UTC (`2024-01-31T08:15:00Z`). */
export function extensionTime(iso: string): string {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : `${d.toISOString().slice(0, 19)}Z`;
}

export function statusView(state: InstanceState | InstanceSummary, history: HistoryEvent[] | undefined, options: StatusViewOptions): Record<string, unknown> {
  const view: Record<string, unknown> = {
    name: state.name,
    instanceId: state.instanceId,
    runtimeStatus: state.runtimeStatus,
    input: options.showInput === false ? null : parseForDisplay(state.input),
    customStatus: parseForDisplay(state.customStatus),
    output: parseForDisplay(state.output),
    createdTime: extensionTime(state.createdTime),
    lastUpdatedTime: extensionTime(state.lastUpdatedTime),
  };
  // Only `historyEvents`, as the extension answers: durable-functions' DurableOrchestrationStatus reads
  // `history` and so drops it (azure-functions-durable-js#620), in Azure and here alike.
  if (options.showHistory && history) view.historyEvents = historyTimeline(history, !!options.showHistoryOutput, options.showInput !== false);
  return view;
}

function failureFields(e: HistoryEvent): Record<string, unknown> {
  return { Reason: e.Reason, Details: e.Details, FailureDetails: e.FailureDetails };
}

export function historyTimeline(history: HistoryEvent[], showOutput: boolean, showInput: boolean): Array<Record<string, unknown>> {
  const scheduled = new Map<number, HistoryEvent>();
  const answered = new Set<number>();
  for (const e of history) {
    if (e.EventType === HistoryEventType.TaskScheduled || e.EventType === HistoryEventType.SubOrchestrationInstanceCreated || e.EventType === HistoryEventType.TimerCreated) scheduled.set(e.EventId, e);
    const answeredId = e.TaskScheduledId ?? e.TimerId;
    if (answeredId !== undefined) answered.add(answeredId);
  }
  const out: Array<Record<string, unknown>> = [];
  for (const e of history) {
    const base: Record<string, unknown> = { EventType: historyEventTypeName(e.EventType), Timestamp: e.Timestamp };
    switch (e.EventType) {
      case HistoryEventType.OrchestratorStarted:
      case HistoryEventType.OrchestratorCompleted:
        continue;
      case HistoryEventType.TaskScheduled:
      case HistoryEventType.SubOrchestrationInstanceCreated:
      case HistoryEventType.TimerCreated:
        if (answered.has(e.EventId)) continue;
        out.push({
          ...base,
          EventId: e.EventId,
          FunctionName: e.Name,
          InstanceId: e.InstanceId,
          FireAt: e.FireAt,
          ...(showInput && e.Input !== undefined ? { Input: parseForDisplay(e.Input) } : {}),
        });
        continue;
      case HistoryEventType.TaskCompleted:
      case HistoryEventType.TaskFailed:
      case HistoryEventType.SubOrchestrationInstanceCompleted:
      case HistoryEventType.SubOrchestrationInstanceFailed: {
        const s = scheduled.get(e.TaskScheduledId ?? -1);
        out.push({
          ...base,
          TaskScheduledId: e.TaskScheduledId,
          FunctionName: s?.Name,
          InstanceId: s?.InstanceId,
          ScheduledTime: s?.Timestamp,
          ...(showInput && s?.Input !== undefined ? { Input: parseForDisplay(s.Input) } : {}),
          ...(e.Result !== undefined && showOutput ? { Result: parseForDisplay(e.Result) } : {}),
          ...(e.EventType === HistoryEventType.TaskFailed || e.EventType === HistoryEventType.SubOrchestrationInstanceFailed ? failureFields(e) : {}),
        });
        continue;
      }
      case HistoryEventType.TimerFired:
        out.push({ ...base, TimerId: e.TimerId, FireAt: e.FireAt, ScheduledTime: scheduled.get(e.TimerId ?? -1)?.Timestamp });
        continue;
      case HistoryEventType.ExecutionStarted:
        out.push({ ...base, FunctionName: e.Name, ...(showInput ? { Input: parseForDisplay(e.Input) } : {}) });
        continue;
      case HistoryEventType.ExecutionCompleted:
        out.push({ ...base, OrchestrationStatus: e.OrchestrationStatus, ...(showOutput ? { Result: parseForDisplay(e.Result) } : {}), ...(e.FailureDetails ? { FailureDetails: e.FailureDetails } : {}) });
        continue;
      case HistoryEventType.ExecutionTerminated:
        out.push({ ...base, Input: parseForDisplay(e.Input) });
        continue;
      case HistoryEventType.EventRaised:
        out.push({ ...base, Name: e.Name, ...(showOutput ? { Input: parseForDisplay(e.Input) } : {}) });
        continue;
      case HistoryEventType.EventSent:
        out.push({ ...base, EventId: e.EventId, Name: e.Name, InstanceId: e.InstanceId, ...(showOutput ? { Input: parseForDisplay(e.Input) } : {}) });
        continue;
      default:
        out.push({ ...base, ...(e.Name !== undefined ? { Name: e.Name } : {}), ...(e.Reason !== undefined ? { Reason: e.Reason } : {}) });
    }
  }
  return out;
}
