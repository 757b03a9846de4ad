// Calls the app's durable functions through the host's FunctionInvoker with the trigger payloads the
// Durable extension sends — DurableOrchestrationBindingInfo, the activity input, the entity batch — and
// reads back what the library returns, so the unmodified `durable-functions` handlers run unchanged.
import type { FunctionInvoker, RegisteredFunction } from '../host/contracts';
import type { RpcTypedData } from '../host/functionsCoreTypes';
import type { FailureDetails, HistoryEvent } from './historyEvents';
import type { InstanceState } from './instanceModel';
import { OrchestratorProtocolError, parseOrchestratorFailure, parseOrchestratorReturnValue } from './orchestratorActions';
import type { SdkOutcome } from './episodeOutcome';
import { DEFAULT_HTTP_ASYNC_SLEEP_IN_MS } from './durableHttp';

/** The newest replay schema durable-functions 3.x speaks (V4: cumulative actions, entity locks). */
export const UPPER_SCHEMA_VERSION = 3;
/**
 * Timers shorter than this are one durable timer (the SDK splits longer ones into sub-timers the
 * engine would have to number); a century covers every real deadline.
 */
const MAXIMUM_SHORT_TIMER_DURATION = '36500.00:00:00';
const LONG_RUNNING_TIMER_INTERVAL = '3.00:00:00';

export class FunctionKindError extends Error {}

export function requireFunction(invoker: FunctionInvoker, name: string, triggerType: string, what: string): RegisteredFunction {
  const fn = invoker.get(name);
  if (!fn) throw new FunctionKindError(`The function '${name}' doesn't exist. Register it with ${what}.`);
  if (fn.triggerType !== triggerType) throw new FunctionKindError(`The function '${name}' is not ${what.replace(/^df\.app\./, 'an ')} function (its trigger is ${fn.triggerType}).`);
  return fn;
}

/**
 * The instance ID as trigger metadata, typed JSON: the library reads a `string` value as JSON when it
 * parses (an ID like "42" would reach the function as a number) and pays for an exception when it does not.
 */
function instanceIdMetadata(instanceId: string): Record<string, RpcTypedData> {
  return { instanceId: { json: JSON.stringify(instanceId) } };
}

function parseInput(input: string | undefined): unknown {
  if (input === undefined) return undefined;
  try {
    return JSON.parse(input);
  } catch {
    return input;
  }
}

/** Runs one orchestrator episode over `history` (already replayed events) plus `newEvents`. */
export async function invokeOrchestrator(invoker: FunctionInvoker, state: InstanceState, history: HistoryEvent[], newEvents: HistoryEvent[]): Promise<SdkOutcome> {
  let fn: RegisteredFunction;
  try {
    fn = requireFunction(invoker, state.name, 'orchestrationtrigger', 'df.app.orchestration');
  } catch (err) {
    return { kind: 'failed', message: (err as Error).message };
  }
  const binding = {
    history: history.length === 0 ? newEvents : history.concat(newEvents),
    input: parseInput(state.input),
    instanceId: state.instanceId,
    isReplaying: history.length > 0,
    parentInstanceId: state.parent?.instanceId,
    upperSchemaVersion: UPPER_SCHEMA_VERSION,
    upperSchemaVersionNew: UPPER_SCHEMA_VERSION,
    maximumShortTimerDuration: MAXIMUM_SHORT_TIMER_DURATION,
    longRunningTimerIntervalDuration: LONG_RUNNING_TIMER_INTERVAL,
    defaultHttpAsyncRequestSleepTimeMillseconds: DEFAULT_HTTP_ASYNC_SLEEP_IN_MS,
  };
  const outcome = await invoker.invoke(fn.name, {
    inputData: [{ name: fn.triggerName, data: { string: JSON.stringify(binding) } }],
    triggerMetadata: instanceIdMetadata(state.instanceId),
  });
  if (!outcome.ok) {
    const failure = parseOrchestratorFailure(outcome.error);
    // durable-functions 3.x puts a flag, not the error, before the label: the message is in state.error.
    const message = failure.state?.error ?? failure.message;
    const stack = failure.state?.failureDetails?.StackTrace ?? (failure.state ? undefined : outcome.error.stack);
    return { kind: 'failed', message, stack, state: failure.state };
  }
  try {
    return { kind: 'state', state: parseOrchestratorReturnValue(outcome.response.returnValue, `The orchestrator '${state.name}'`) };
  } catch (err) {
    if (err instanceof OrchestratorProtocolError) return { kind: 'failed', message: err.message };
    throw err;
  }
}

/** An activity's return value as the JSON text TaskCompleted.Result carries. */
export function returnValueAsJson(data: RpcTypedData | null | undefined): string {
  if (!data) return 'null';
  if (data.json != null) return data.json;
  if (data.string != null) return JSON.stringify(data.string);
  if (data.int != null) return JSON.stringify(Number(data.int));
  if (data.double != null) return JSON.stringify(data.double);
  if (data.bytes != null) return JSON.stringify(Buffer.from(data.bytes).toString('base64'));
  if (data.stream != null) return JSON.stringify(Buffer.from(data.stream).toString('base64'));
  if (data.collectionString?.string) return JSON.stringify(data.collectionString.string);
  if (data.collectionDouble?.double) return JSON.stringify(data.collectionDouble.double);
  if (data.collectionSint64?.sint64) return JSON.stringify(data.collectionSint64.sint64.map(Number));
  return 'null';
}

/**
 * An activity's error as FailureDetails. When the app registered an exception properties provider,
 * durable-functions has already put the structured details (JSON) in the message.
 */
export function failureDetailsOf(error: Error): FailureDetails {
  try {
    const parsed = JSON.parse(error.message) as Record<string, unknown>;
    if (parsed && typeof parsed.errorType === 'string' && typeof parsed.errorMessage === 'string') {
      return {
        ErrorType: parsed.errorType,
        ErrorMessage: parsed.errorMessage,
        StackTrace: typeof parsed.stackTrace === 'string' ? parsed.stackTrace : error.stack,
        IsNonRetriable: parsed.isNonRetriable === true,
        Properties: (parsed.properties as Record<string, unknown> | undefined) ?? undefined,
      };
    }
  } catch {
    // An ordinary message.
  }
  return { ErrorType: error.name || 'Error', ErrorMessage: error.message, StackTrace: error.stack };
}

export type ActivityResult = { ok: true; result: string } | { ok: false; failure: FailureDetails };

export async function invokeActivity(invoker: FunctionInvoker, instanceId: string, name: string, input: string | undefined): Promise<ActivityResult> {
  let fn: RegisteredFunction;
  try {
    fn = requireFunction(invoker, name, 'activitytrigger', 'df.app.activity');
  } catch (err) {
    return { ok: false, failure: { ErrorType: 'FunctionNotFoundException', ErrorMessage: (err as Error).message } };
  }
  const outcome = await invoker.invoke(fn.name, {
    inputData: [{ name: fn.triggerName, data: input === undefined ? undefined : { string: input } }],
    triggerMetadata: instanceIdMetadata(instanceId),
  });
  if (!outcome.ok) return { ok: false, failure: failureDetailsOf(outcome.error) };
  return { ok: true, result: returnValueAsJson(outcome.response.returnValue) };
}

/** One operation of an entity batch, as the SDK's Entity handler reads it. */
export interface EntityBatchItem {
  id: string;
  name: string;
  input?: string;
  signal: boolean;
}

/** The SDK's EntityState: what an entity batch returns. */
export interface EntityBatchResult {
  entityExists: boolean;
  entityState?: string;
  results: Array<{ isError: boolean; duration?: number; startTime?: number; result?: string }>;
  signals: Array<{ target: { name: string; key: string }; name: string; input?: string; requestId?: string }>;
}

export async function invokeEntity(
  invoker: FunctionInvoker,
  entity: { name: string; key: string; exists: boolean; state?: string },
  batch: EntityBatchItem[],
): Promise<{ ok: true; result: EntityBatchResult } | { ok: false; message: string }> {
  let fn: RegisteredFunction;
  try {
    fn = requireFunction(invoker, entity.name, 'entitytrigger', 'df.app.entity');
  } catch (err) {
    return { ok: false, message: (err as Error).message };
  }
  const binding = { self: { name: entity.name, key: entity.key }, exists: entity.exists, state: entity.state, batch };
  const outcome = await invoker.invoke(fn.name, { inputData: [{ name: fn.triggerName, data: { string: JSON.stringify(binding) } }] });
  if (!outcome.ok) return { ok: false, message: outcome.error.message };
  const text = returnValueAsJson(outcome.response.returnValue);
  const value = JSON.parse(text) as EntityBatchResult | null;
  if (!value || !Array.isArray(value.results)) return { ok: false, message: `The entity function '${entity.name}' did not return an entity state; register it with df.app.entity.` };
  return { ok: true, result: { ...value, signals: value.signals ?? [] } };
}
