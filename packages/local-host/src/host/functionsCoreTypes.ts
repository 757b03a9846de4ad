// The subset of the Node worker's `@azure/functions-core` types the local host implements. The real
// declarations ship inside the worker; these mirror its published `types-core/index.d.ts`.
/* eslint-disable @typescript-eslint/no-explicit-any */

export type RpcLogLevel = 'trace' | 'debug' | 'information' | 'warning' | 'error' | 'critical' | 'none';
export type RpcLogCategory = 'user' | 'system' | 'customMetric';
export type RpcBindingDirection = 'in' | 'out' | 'inout';

export interface RpcBindingInfo {
  type?: string | null;
  direction?: RpcBindingDirection | null;
  dataType?: string | null;
}

export interface RpcHttpData {
  method?: string | null;
  url?: string | null;
  headers?: { [k: string]: string } | null;
  body?: RpcTypedData | null;
  params?: { [k: string]: string } | null;
  statusCode?: string | null;
  query?: { [k: string]: string } | null;
  enableContentNegotiation?: boolean | null;
  rawBody?: RpcTypedData | null;
  cookies?: unknown[] | null;
}

export interface RpcTypedData {
  string?: string | null;
  json?: string | null;
  bytes?: Uint8Array | null;
  stream?: Uint8Array | null;
  http?: RpcHttpData | null;
  int?: number | null;
  double?: number | null;
  collectionBytes?: { bytes?: Uint8Array[] | null } | null;
  collectionString?: { string?: string[] | null } | null;
  collectionDouble?: { double?: number[] | null } | null;
  collectionSint64?: { sint64?: number[] | null } | null;
}

export interface RpcParameterBinding {
  name?: string | null;
  data?: RpcTypedData | null;
}

export interface RpcException {
  source?: string | null;
  stackTrace?: string | null;
  message?: string | null;
}

export interface RpcInvocationRequest {
  invocationId?: string | null;
  functionId?: string | null;
  inputData?: RpcParameterBinding[] | null;
  triggerMetadata?: { [k: string]: RpcTypedData } | null;
  traceContext?: { traceParent?: string | null; traceState?: string | null; attributes?: { [k: string]: string } | null } | null;
  retryContext?: { retryCount?: number | null; maxRetryCount?: number | null; exception?: RpcException | null } | null;
}

export interface RpcInvocationResponse {
  invocationId?: string | null;
  outputData?: RpcParameterBinding[] | null;
  returnValue?: RpcTypedData | null;
  result?: { status?: 'failure' | 'success' | 'cancelled' | null; exception?: RpcException | null } | null;
}

export interface RpcFunctionMetadata {
  name?: string | null;
  directory?: string | null;
  scriptFile?: string | null;
  entryPoint?: string | null;
  bindings?: { [k: string]: RpcBindingInfo } | null;
  functionId?: string | null;
}

export interface CoreInvocationContext {
  invocationId: string;
  request: RpcInvocationRequest;
  metadata: RpcFunctionMetadata;
  state?: 'preInvocationHooks' | 'postInvocationHooks' | 'invocation';
  log(level: RpcLogLevel, category: RpcLogCategory, message: string): void;
}

export type FunctionCallback = (context: unknown, ...inputs: unknown[]) => unknown;

export interface InvocationArguments {
  context: unknown;
  inputs: unknown[];
}

export interface InvocationModel {
  getArguments(): Promise<InvocationArguments>;
  invokeFunction(context: unknown, inputs: unknown[], callback: FunctionCallback): Promise<unknown>;
  getResponse(context: unknown, result: unknown): Promise<RpcInvocationResponse>;
}

export interface ProgrammingModel {
  name: string;
  version: string;
  getInvocationModel(coreContext: CoreInvocationContext): InvocationModel;
  getCapabilities?(capabilities: Record<string, string>): Promise<Record<string, string>>;
}

export interface CoreFunctionMetadata {
  name: string;
  functionId?: string;
  bindings: { [name: string]: RpcBindingInfo & Record<string, any> };
  retryOptions?: unknown;
}

export type HookData = { [key: string]: any };
export type HookCallback = (context: any) => void | Promise<void>;
