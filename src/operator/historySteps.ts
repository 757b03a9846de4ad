// A run's Durable history, summarised as the steps an operator reads: activities, timers, external
// events and sub-runs, each with start, end, duration and how it ended. Reads the condensed history
// the Durable HTTP API answers (scheduling merged into completions: FunctionName, ScheduledTime,
// Result, Reason/Details/FailureDetails). batchpilot's activities report permanent failures as results
// (`{ ok: false, message }`) and its job sub-run as an outcome, so those count as failures here too.
import type { RunStep, StepStatus } from './operatorApiTypes';
import { ACTIVITY } from '../activities/contracts';

type Json = Record<string, unknown>;

function obj(v: unknown): Json | undefined {
  return v && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : undefined;
}
function str(v: unknown): string | undefined {
  return typeof v === 'string' && v ? v : undefined;
}

function parsed(v: unknown): unknown {
  if (typeof v !== 'string') return v;
  try {
    return JSON.parse(v);
  } catch {
    return v;
  }
}

function durationOf(start: string | undefined, end: string | undefined): number | undefined {
  if (!start || !end) return undefined;
  const d = Date.parse(end) - Date.parse(start);
  return Number.isFinite(d) && d >= 0 ? d : undefined;
}

function brief(value: unknown, max = 160): string | undefined {
  if (value === undefined || value === null) return undefined;
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** The failure a history entry reports, if any. */
function failureOf(e: Json): string | undefined {
  const details = obj(e.FailureDetails);
  const fromFailure = str(e.Reason) ?? str(details?.ErrorMessage) ?? str(e.Details);
  if (fromFailure) return fromFailure;
  const result = obj(parsed(e.Result));
  if (result?.ok === false) return str(result.message) ?? 'The step reported a failure.';
  return undefined;
}

/** A sub-run's result that ended in anything but success (runBatchJob's outcome, a run's outcome). */
function subRunFailureOf(result: unknown): string | undefined {
  const r = obj(parsed(result));
  if (!r) return undefined;
  const outcome = str(r.outcome);
  if (outcome && !['Completed', 'Promoted', 'Succeeded'].includes(outcome)) return str(r.message) ?? str(r.reason) ?? `Ended ${outcome}.`;
  if (r.ok === false) return str(r.message) ?? 'The sub-run reported a failure.';
  return undefined;
}

const BOOKKEEPING: ReadonlySet<string> = new Set([ACTIVITY.indexRun, ACTIVITY.recordRunMeasurements]);
const PENDING_TYPES = new Set(['TaskScheduled', 'SubOrchestrationInstanceCreated', 'TimerCreated']);

export function summariseHistory(history: readonly unknown[]): RunStep[] {
  // The run index's writes and the run's measurements are bookkeeping: they never decide how a run
  // goes, so they are not its steps.
  const entries = history.map(obj).filter((e): e is Json => !!e && !BOOKKEEPING.has(String(e.FunctionName)));
  let lastCompletion = -1;
  entries.forEach((e, i) => {
    if (!PENDING_TYPES.has(String(e.EventType))) lastCompletion = i;
  });
  const steps: RunStep[] = [];
  entries.forEach((e, i) => {
    const type = String(e.EventType);
    const at = str(e.Timestamp);
    const name = str(e.FunctionName) ?? str(e.Name) ?? type;
    const push = (step: RunStep): void => {
      steps.push({ ...step, durationInMs: step.durationInMs ?? durationOf(step.startedAt, step.endedAt) });
    };
    switch (type) {
      case 'TaskCompleted':
      case 'TaskFailed': {
        const failure = failureOf(e);
        push({ kind: 'activity', name, status: failure ? 'failed' : 'completed', startedAt: str(e.ScheduledTime), endedAt: at, failure, detail: brief(e.Input) });
        return;
      }
      case 'TaskScheduled':
        push({ kind: 'activity', name, status: 'running', startedAt: at, detail: brief(e.Input) });
        return;
      case 'SubOrchestrationInstanceCompleted':
      case 'SubOrchestrationInstanceFailed': {
        const failure = type === 'SubOrchestrationInstanceFailed' ? failureOf(e) ?? 'The sub-run failed.' : subRunFailureOf(e.Result);
        push({ kind: 'subRun', name, status: failure ? 'failed' : 'completed', startedAt: str(e.ScheduledTime), endedAt: at, failure, instanceId: str(e.InstanceId) });
        return;
      }
      case 'SubOrchestrationInstanceCreated':
        push({ kind: 'subRun', name, status: 'running', startedAt: at, instanceId: str(e.InstanceId) });
        return;
      case 'TimerCreated': {
        // A timer that lost a race (the event came first) is never answered: it is not waiting.
        const status: StepStatus = i < lastCompletion ? 'completed' : 'waiting';
        push({ kind: 'timer', name: 'timer', status, startedAt: at, endedAt: status === 'waiting' ? undefined : at, detail: str(e.FireAt) ? `until ${e.FireAt}${status === 'completed' ? ' (superseded)' : ''}` : undefined });
        return;
      }
      case 'TimerFired':
        push({ kind: 'timer', name: 'timer', status: 'completed', startedAt: str(e.ScheduledTime), endedAt: at, detail: str(e.FireAt) ? `until ${e.FireAt}` : undefined });
        return;
      case 'EventRaised':
        push({ kind: 'event', name, status: 'completed', startedAt: at, endedAt: at, detail: 'received' });
        return;
      case 'EventSent':
        push({ kind: 'event', name, status: 'completed', startedAt: at, endedAt: at, detail: `sent to ${str(e.InstanceId) ?? 'another instance'}` });
        return;
      case 'ExecutionSuspended':
      case 'ExecutionResumed':
        push({ kind: 'event', name: type === 'ExecutionSuspended' ? 'suspended' : 'resumed', status: 'completed', startedAt: at, endedAt: at, detail: str(e.Reason) });
        return;
      case 'ExecutionTerminated': {
        const reason = brief(parsed(e.Input), 500);
        push({ kind: 'run', name: 'terminated', status: 'terminated', startedAt: at, endedAt: at, failure: reason ? `Terminated: ${reason}` : 'Terminated.' });
        return;
      }
      case 'ExecutionCompleted': {
        const failure = String(e.OrchestrationStatus) === 'Failed' ? failureOf(e) ?? 'The orchestration failed.' : undefined;
        if (failure) push({ kind: 'run', name: 'orchestration', status: 'failed', startedAt: at, endedAt: at, failure });
        return;
      }
      case 'ContinueAsNew':
        push({ kind: 'run', name: 'continued as new', status: 'completed', startedAt: at, endedAt: at });
        return;
      default:
        return;
    }
  });
  // Work still open when the run was terminated was abandoned with it.
  if (entries.some((e) => e.EventType === 'ExecutionTerminated')) {
    for (const s of steps) if (s.status === 'running' || s.status === 'waiting') s.status = 'terminated';
  }
  // A failed attempt that the retry policy followed with another attempt of the same activity.
  steps.forEach((s, i) => {
    if (s.status === 'failed' && s.kind === 'activity' && steps.slice(i + 1).some((later) => later.kind === 'activity' && later.name === s.name)) s.retried = true;
  });
  return steps;
}

/** The step whose failure ended the run: the last failure no retry replaced (looking into sub-runs). */
export function failingStep(steps: readonly RunStep[]): RunStep | undefined {
  return [...steps].reverse().find((s) => (s.status === 'failed' || s.status === 'terminated') && !s.retried && s.failure);
}
