// What an orchestrator episode returns: durable-functions' OrchestratorState (isDone, output, custom
// status and the cumulative action list), parsed from the invocation's return value or from the
// `$OutOfProcData$` tail of a failed episode's error message.
import type { RpcTypedData } from '../host/functionsCoreTypes';

/** durable-functions' ActionType numbering. */
export enum ActionType {
  CallActivity = 0,
  CallActivityWithRetry = 1,
  CallSubOrchestrator = 2,
  CallSubOrchestratorWithRetry = 3,
  ContinueAsNew = 4,
  CreateTimer = 5,
  WaitForExternalEvent = 6,
  CallEntity = 7,
  CallHttp = 8,
  SignalEntity = 9,
  WhenAny = 11,
  WhenAll = 12,
  LockEntities = 13,
  ReleaseEntities = 14,
}

/** RetryOptions as the SDK serialises them (only the first two are always present). */
export interface WireRetryOptions {
  firstRetryIntervalInMilliseconds: number;
  maxNumberOfAttempts: number;
  backoffCoefficient?: number;
  maxRetryIntervalInMilliseconds?: number;
  retryTimeoutInMilliseconds?: number;
}

export interface WireEntityId {
  name: string;
  key: string;
}

/** One action, flat as it arrives in JSON; which fields are set depends on `actionType`. */
export interface OrchestratorAction {
  actionType: ActionType;
  functionName?: string;
  /** Activity inputs arrive pre-serialised when they are strings (the SDK JSON-encodes strings); others raw. */
  input?: unknown;
  retryOptions?: WireRetryOptions;
  instanceId?: string;
  version?: string;
  fireAt?: string;
  isCanceled?: boolean;
  externalEventName?: string;
  reason?: string;
  operation?: string;
  compoundActions?: OrchestratorAction[];
  httpRequest?: unknown;
  lockRequestId?: string;
  lockSet?: WireEntityId[];
}

export interface WireFailureDetails {
  ErrorType?: string;
  ErrorMessage?: string;
  StackTrace?: string;
  IsNonRetriable?: boolean;
  Properties?: Record<string, unknown>;
  InnerFailure?: WireFailureDetails;
}

export interface OrchestratorState {
  isDone: boolean;
  /** V2+ schemas: one list holding every action since the execution started (or `[[]]`). */
  actions: OrchestratorAction[][];
  output?: unknown;
  error?: string;
  customStatus?: unknown;
  schemaVersion?: number;
  failureDetails?: WireFailureDetails;
}

const OUT_OF_PROC_DATA_LABEL = '\n\n$OutOfProcData$:';

export class OrchestratorProtocolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OrchestratorProtocolError';
  }
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function toOrchestratorState(value: unknown, what: string): OrchestratorState {
  if (!isRecord(value) || typeof value.isDone !== 'boolean' || !Array.isArray(value.actions)) {
    throw new OrchestratorProtocolError(
      `${what} did not return an orchestrator state (isDone, actions). Is it registered with df.app.orchestration and written as a generator function?`,
    );
  }
  for (const group of value.actions) {
    if (!Array.isArray(group)) throw new OrchestratorProtocolError(`${what} returned an action list that is not a list of lists.`);
  }
  return value as unknown as OrchestratorState;
}

/** Reads the OrchestratorState the library serialised as the invocation's return value. */
export function parseOrchestratorReturnValue(data: RpcTypedData | null | undefined, what: string): OrchestratorState {
  let text: string | null | undefined = data?.json ?? data?.string;
  if (text == null && data?.bytes) text = Buffer.from(data.bytes).toString('utf8');
  if (text == null) throw new OrchestratorProtocolError(`${what} returned nothing; an orchestrator must return its state to the host.`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new OrchestratorProtocolError(`${what} returned a value that is not JSON.`);
  }
  return toOrchestratorState(parsed, what);
}

/** A failed episode's error: the user's message, and the state the SDK appended after the label. */
export function parseOrchestratorFailure(error: Error): { message: string; state?: OrchestratorState } {
  const at = error.message.indexOf(OUT_OF_PROC_DATA_LABEL);
  if (at < 0) return { message: error.message };
  const message = error.message.slice(0, at);
  try {
    const state = toOrchestratorState(JSON.parse(error.message.slice(at + OUT_OF_PROC_DATA_LABEL.length)), 'The orchestrator');
    return { message, state };
  } catch {
    return { message };
  }
}

/** All actions of the episode, in the order the orchestrator first yielded them. */
export function cumulativeActions(state: OrchestratorState): OrchestratorAction[] {
  return state.actions.flat();
}

/** The scheduled leaves of an action (compound actions contribute their children, depth first). */
export function leafActions(action: OrchestratorAction): OrchestratorAction[] {
  if (action.actionType === ActionType.WhenAll || action.actionType === ActionType.WhenAny) {
    return (action.compoundActions ?? []).flatMap(leafActions);
  }
  return [action];
}

function entityLabel(a: OrchestratorAction): string {
  return `'${a.instanceId ?? '?'}' operation '${a.operation ?? '?'}'`;
}

/**
 * How an action reads in a message, and what replay compares: the kind of step and its target, never
 * inputs or timer deadlines (the Durable Task Framework compares names, not arguments).
 */
export function describeAction(a: OrchestratorAction): string {
  switch (a.actionType) {
    case ActionType.CallActivity:
      return `CallActivity '${a.functionName}'`;
    case ActionType.CallActivityWithRetry:
      return `CallActivityWithRetry '${a.functionName}'`;
    case ActionType.CallSubOrchestrator:
      return `CallSubOrchestrator '${a.functionName}'${a.instanceId ? ` (instance '${a.instanceId}')` : ''}`;
    case ActionType.CallSubOrchestratorWithRetry:
      return `CallSubOrchestratorWithRetry '${a.functionName}'${a.instanceId ? ` (instance '${a.instanceId}')` : ''}`;
    case ActionType.ContinueAsNew:
      return 'ContinueAsNew';
    case ActionType.CreateTimer:
      return 'CreateTimer';
    case ActionType.WaitForExternalEvent:
      return `WaitForExternalEvent '${a.externalEventName}'`;
    case ActionType.CallEntity:
      return `CallEntity ${entityLabel(a)}`;
    case ActionType.SignalEntity:
      return `SignalEntity ${entityLabel(a)}`;
    case ActionType.CallHttp:
      return 'CallHttp';
    case ActionType.LockEntities:
      return `LockEntities [${(a.lockSet ?? []).map((e) => `@${e.name.toLowerCase()}@${e.key}`).join(', ')}]`;
    case ActionType.ReleaseEntities:
      return 'ReleaseEntities';
    case ActionType.WhenAll:
      return `Task.all [${(a.compoundActions ?? []).map(describeAction).join(', ')}]`;
    case ActionType.WhenAny:
      return `Task.any [${(a.compoundActions ?? []).map(describeAction).join(', ')}]`;
    default:
      return `action type ${String(a.actionType)}`;
  }
}
