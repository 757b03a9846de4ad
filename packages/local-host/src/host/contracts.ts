// The seams between the local host's parts: how the durable engine and the HTTP front door reach the
// app's registered functions, and how the engine plugs its RPC routes into the host's server.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RpcBindingInfo, RpcInvocationResponse, RpcParameterBinding, RpcTypedData } from './functionsCoreTypes';

export interface RegisteredFunction {
  /** The function's name as registered (`app.http('name', ...)`, `df.app.activity('name', ...)`). */
  name: string;
  /** Binding name → binding info, as the library produced it (trigger first, `direction`, `type`, options). */
  bindings: Record<string, RpcBindingInfo & Record<string, unknown>>;
  /** The trigger binding's name and lower-cased type, e.g. `orchestrationtrigger`, `httptrigger`. */
  triggerName: string;
  triggerType: string;
  retryOptions?: unknown;
}

export interface InvocationRequest {
  /** One entry per input binding the host fills (the trigger and any extra inputs). */
  inputData: RpcParameterBinding[];
  triggerMetadata?: Record<string, RpcTypedData>;
  /**
   * Values binding expressions (`{name}`) may use, beyond the properties of a JSON trigger payload,
   * which the host adds itself: e.g. a queue message's Id and DequeueCount, a blob path's parameters.
   */
  bindingData?: Record<string, unknown>;
}

export type InvocationOutcome =
  | { ok: true; response: RpcInvocationResponse }
  | { ok: false; error: Error };

/** Runs registered functions the way the Functions host and Node worker do (hooks included). */
export interface FunctionInvoker {
  list(): RegisteredFunction[];
  get(name: string): RegisteredFunction | undefined;
  invoke(name: string, request: InvocationRequest): Promise<InvocationOutcome>;
}

/** A part of the host that serves HTTP under a path prefix (e.g. the durable RPC routes). */
export interface RouteHandler {
  /** Path prefix this handler owns, e.g. `/runtime/webhooks/durabletask/`. */
  prefix: string;
  handle(req: IncomingMessage, res: ServerResponse, body: Buffer): Promise<void>;
}

/**
 * Fills a non-trigger input binding the host does not know itself (e.g. `durableClient`): the host asks
 * the provider registered for the binding's type (lower-cased) whenever it invokes a function with it.
 */
export interface InputBindingProvider {
  /** Lower-cased binding type, e.g. `durableclient`. */
  type: string;
  /** `bindingData`: what the binding's expressions may use. Undefined data binds as null. */
  provide(fn: RegisteredFunction, bindingName: string, binding: Record<string, unknown>, bindingData: Record<string, unknown>): RpcTypedData | undefined | Promise<RpcTypedData | undefined>;
}

/**
 * Delivers what a function set on an output binding of one type (e.g. `blob`, `queue`), after the
 * function succeeded; a rejection fails the invocation.
 */
export interface OutputBindingWriter {
  /** Lower-cased binding type. */
  type: string;
  write(fn: RegisteredFunction, bindingName: string, binding: Record<string, unknown>, value: RpcTypedData, bindingData: Record<string, unknown>): Promise<void>;
}

/** Something the host starts after the app is loaded and its server listens, and stops on shutdown. */
export interface HostService {
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** What the host needs from a durable engine (src/durable). */
export interface DurableEngineHandle extends HostService {
  routeHandler: RouteHandler;
  durableClientProvider: InputBindingProvider;
  setBaseUrl(url: string): void;
  /** True when nothing runs or waits to run (steps, starts, activities) and status queries see every change so far; timers set for later do not count. */
  idle(): Promise<boolean>;
}

export interface DurableEngineFactoryArgs {
  invoker: FunctionInvoker;
  connectionString: string;
  taskHubName: string;
  maxConcurrentActivityFunctions?: number;
  maxConcurrentOrchestratorFunctions?: number;
  /** The durabletask_extension system key, for the management URLs handed to clients. */
  systemKey: string;
  /** Whether a key given to the management routes opens them (the durabletask_extension system key or the master key). */
  authorizesKey(given: string | undefined): boolean;
  log(level: 'debug' | 'information' | 'warning' | 'error', message: string): void;
}

export type DurableEngineFactory = (args: DurableEngineFactoryArgs) => DurableEngineHandle;
