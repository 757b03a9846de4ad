// The one logger orchestrations use. An orchestrator function runs again from the top on every wake-up
// (replay), so a plain context.log would repeat each line once per replay; this one writes a JSON line
// only when the orchestration is past its recorded history, i.e. once per step.
import type { OrchestrationContext } from 'durable-functions';

export type RunLog = (message: string, extra?: Record<string, unknown>) => void;

/**
 * A logger whose lines carry `fields` (or what `fields()` says at the time, for values that change
 * during the run), then the call's extra fields, then the message.
 */
export function replaySafeLog(context: OrchestrationContext, fields: Record<string, unknown> | (() => Record<string, unknown>)): RunLog {
  return (message, extra = {}) => {
    if (context.df.isReplaying) return;
    context.log(JSON.stringify({ ...(typeof fields === 'function' ? fields() : fields), ...extra, message }));
  };
}
