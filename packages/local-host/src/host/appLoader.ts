// Loads a Functions app folder the way the Node worker does — settings from local.settings.json,
// `@azure/functions-core` provided, the entry files from package.json `main` required — and runs its
// registered functions with the worker's invocation sequence (input bindings, arguments,
// preInvocation hooks, the callback, postInvocation hooks, response), then delivers the output
// bindings the host serves and reports those it cannot.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomUUID } from 'node:crypto';
import { globSync } from 'glob';
import { installFunctionsCore, FunctionsCoreRegistry, CapturedFunction } from './functionsCore';
import type { CoreInvocationContext, RpcInvocationResponse, RpcLogCategory, RpcLogLevel, RpcParameterBinding, RpcTypedData } from './functionsCoreTypes';
import type { FunctionInvoker, InputBindingProvider, InvocationOutcome, InvocationRequest, OutputBindingWriter, RegisteredFunction } from './contracts';
import { payloadBindingData } from './bindingExpressions';
import { createHostLogger, HostLogger } from './hostLog';

export interface HostJson {
  version?: string;
  extensions?: {
    http?: { routePrefix?: string; maxRequestBodySize?: number };
    durableTask?: { hubName?: string; maxConcurrentActivityFunctions?: number; maxConcurrentOrchestratorFunctions?: number; [k: string]: unknown };
    [k: string]: unknown;
  };
  [k: string]: unknown;
}

export interface LoadFunctionAppOptions {
  /** Settings applied on top of local.settings.json (and of the environment). */
  settings?: Record<string, string>;
  logger?: HostLogger;
}

export class AppLoadError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AppLoadError';
  }
}

function readJson<T>(file: string, what: string): T | undefined {
  if (!fs.existsSync(file)) return undefined;
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8').replace(/^\uFEFF/, '')) as T;
  } catch (err) {
    throw new AppLoadError(`${what} (${file}) is not valid JSON: ${(err as Error).message}`);
  }
}

/** Replaces `%NAME%` with the setting's value, as the host does for host.json and binding expressions. */
export function resolveSettingReferences(value: string, env: NodeJS.ProcessEnv = process.env): string {
  return value.replace(/%([^%]+)%/g, (whole, name: string) => {
    const v = env[name];
    if (v === undefined) throw new AppLoadError(`The setting '${name}' referenced as '${whole}' is not defined.`);
    return v;
  });
}

function toRegistered(fn: CapturedFunction): RegisteredFunction {
  const bindings = fn.metadata.bindings;
  const trigger = Object.entries(bindings).find(([, b]) => /trigger$/i.test(String(b.type ?? '')));
  if (!trigger) throw new AppLoadError(`Function "${fn.metadata.name}" has no trigger binding.`);
  return {
    name: fn.metadata.name,
    bindings,
    triggerName: trigger[0],
    triggerType: String(trigger[1].type).toLowerCase(),
    retryOptions: fn.metadata.retryOptions,
  };
}

export class LoadedApp implements FunctionInvoker {
  readonly #registry: FunctionsCoreRegistry;
  readonly #providers = new Map<string, InputBindingProvider>();
  readonly #writers = new Map<string, OutputBindingWriter>();
  readonly #needsBindingData = new Map<string, boolean>();
  readonly #registered = new Map<string, RegisteredFunction>();

  constructor(
    readonly appDir: string,
    readonly hostJson: HostJson,
    readonly entryFiles: string[],
    registry: FunctionsCoreRegistry,
    readonly logger: HostLogger,
  ) {
    this.#registry = registry;
    for (const [key, fn] of registry.functions) this.#registered.set(key, toRegistered(fn));
  }

  list(): RegisteredFunction[] {
    return [...this.#registered.values()];
  }

  get(name: string): RegisteredFunction | undefined {
    return this.#registered.get(name.toLowerCase());
  }

  addInputBindingProvider(provider: InputBindingProvider): void {
    this.#providers.set(provider.type.toLowerCase(), provider);
  }

  addOutputBindingWriter(writer: OutputBindingWriter): void {
    this.#writers.set(writer.type.toLowerCase(), writer);
  }

  /** Whether the host can fill an input binding of this (lower-cased) type. */
  servesInput(type: string): boolean {
    return this.#providers.has(type.toLowerCase());
  }

  /** Whether the host can deliver an output binding of this (lower-cased) type (`http` is the gateway's). */
  servesOutput(type: string): boolean {
    return type.toLowerCase() === 'http' || this.#writers.has(type.toLowerCase());
  }

  async runAppStartHooks(): Promise<void> {
    for (const hook of this.#registry.hooks.appStart) {
      await hook({ hookData: {}, appHookData: this.#registry.appHookData, functionAppDirectory: this.appDir });
    }
  }

  async runAppTerminateHooks(): Promise<void> {
    for (const hook of this.#registry.hooks.appTerminate) {
      await hook({ hookData: {}, appHookData: this.#registry.appHookData });
    }
  }

  async #extraInputs(fn: RegisteredFunction, given: RpcParameterBinding[], bindingData: Record<string, unknown>): Promise<RpcParameterBinding[]> {
    const extra: RpcParameterBinding[] = [];
    for (const [name, binding] of Object.entries(fn.bindings)) {
      if (name === fn.triggerName || binding.direction !== 'in' || given.some((g) => g.name === name)) continue;
      const provider = this.#providers.get(String(binding.type ?? '').toLowerCase());
      if (!provider) {
        throw new Error(`Function '${fn.name}' has an input binding '${name}' of type '${binding.type}', which the local host cannot serve; the function cannot run here.`);
      }
      extra.push({ name, data: await provider.provide(fn, name, binding, bindingData) });
    }
    return extra;
  }

  /** What binding expressions may use: the JSON trigger payload's properties, then what the trigger adds. */
  #bindingData(fn: RegisteredFunction, request: InvocationRequest): Record<string, unknown> {
    // Only functions with bindings beyond the trigger, HTTP and the durable client use it: orchestrator
    // payloads (the whole history) are not parsed for nothing.
    let needed = this.#needsBindingData.get(fn.name);
    if (needed === undefined) {
      needed = Object.entries(fn.bindings).some(([name, b]) => name !== fn.triggerName && !['http', 'durableclient'].includes(String(b.type ?? '').toLowerCase()));
      this.#needsBindingData.set(fn.name, needed);
    }
    if (!needed) return {};
    const trigger = request.inputData.find((i) => i.name === fn.triggerName)?.data;
    let fromPayload: Record<string, unknown> = {};
    if (trigger?.http) {
      const http = trigger.http;
      const body = http.body?.bytes ? Buffer.from(http.body.bytes).toString('utf8') : (http.body?.string ?? undefined);
      fromPayload = { ...payloadBindingData(body), Query: { ...(http.query ?? {}) }, Headers: { ...(http.headers ?? {}) }, ...(http.params ?? {}) };
    } else if (trigger) {
      fromPayload = payloadBindingData(trigger.string ?? trigger.json ?? undefined);
    }
    return { ...fromPayload, ...(request.bindingData ?? {}) };
  }

  /** Delivers the function's outputs; values set on bindings the host cannot serve are reported, never silently dropped. */
  async #writeOutputs(fn: RegisteredFunction, response: RpcInvocationResponse, bindingData: Record<string, unknown>, invocationId: string): Promise<void> {
    for (const [name, binding] of Object.entries(fn.bindings)) {
      if (binding.direction !== 'out') continue;
      const type = String(binding.type ?? '').toLowerCase();
      if (type === 'http') continue;
      const value: RpcTypedData | null | undefined = name === '$return' ? response.returnValue : response.outputData?.find((o) => o.name === name)?.data;
      if (!value || Object.values(value).every((v) => v === undefined || v === null)) continue;
      const writer = this.#writers.get(type);
      if (!writer) {
        this.logger({
          level: 'warning',
          category: 'host',
          functionName: fn.name,
          invocationId,
          message: `The value set on output binding '${name}' (${String(binding.type)}) was NOT delivered: the local host cannot serve ${String(binding.type)} bindings.`,
        });
        continue;
      }
      try {
        await writer.write(fn, name, binding, value, bindingData);
      } catch (err) {
        throw new Error(`Writing output binding '${name}' (${String(binding.type)}) failed: ${(err as Error).message}`, { cause: err });
      }
    }
  }

  async invoke(name: string, request: InvocationRequest): Promise<InvocationOutcome> {
    const fn = this.get(name);
    if (!fn) return { ok: false, error: new Error(`The function '${name}' does not exist.`) };
    const invocationId = randomUUID();
    // The lines the Functions host writes around every invocation; launchers (the soak's host killer)
    // read them to know which function is running.
    const instanceId = instanceIdOf(request.triggerMetadata?.instanceId);
    const startedAt = Date.now();
    this.logger({ level: 'information', category: 'host', functionName: fn.name, invocationId, message: `Executing 'Functions.${fn.name}' (Reason='${fn.triggerType}'${instanceId ? `, InstanceId=${instanceId}` : ''}, Id=${invocationId})` });
    const outcome = await this.#invoke(fn, request, invocationId);
    this.logger({ level: 'information', category: 'host', functionName: fn.name, invocationId, message: `Executed 'Functions.${fn.name}' (${outcome.ok ? 'Succeeded' : 'Failed'}, Id=${invocationId}, Duration=${Date.now() - startedAt}ms)` });
    return outcome;
  }

  async #invoke(fn: RegisteredFunction, request: InvocationRequest, invocationId: string): Promise<InvocationOutcome> {
    const captured = this.#registry.functions.get(fn.name.toLowerCase());
    if (!captured) return { ok: false, error: new Error(`The function '${fn.name}' does not exist.`) };
    const model = this.#registry.programmingModel;
    if (!model) return { ok: false, error: new Error('The app did not set a programming model (is @azure/functions v4 loaded?).') };

    const bindingData = this.#bindingData(fn, request);
    let extraInputs: RpcParameterBinding[];
    try {
      extraInputs = await this.#extraInputs(fn, request.inputData, bindingData);
    } catch (err) {
      return { ok: false, error: err instanceof Error ? err : new Error(String(err)) };
    }
    const registry = this.#registry;
    const logger = this.logger;
    let invocationContext: unknown;
    const coreCtx: CoreInvocationContext = {
      invocationId,
      request: {
        invocationId,
        functionId: captured.functionId,
        inputData: [...request.inputData, ...extraInputs],
        triggerMetadata: request.triggerMetadata ?? {},
      },
      metadata: { name: fn.name, functionId: captured.functionId, bindings: fn.bindings, directory: this.appDir },
      state: undefined,
      log(level: RpcLogLevel, category: RpcLogCategory, message: string) {
        for (const hook of registry.hooks.log) {
          try {
            void hook({ hookData: {}, appHookData: registry.appHookData, level, category, message, invocationContext });
          } catch {
            // A failing log hook must not break the invocation, as in the worker.
          }
        }
        logger({ level, category: category === 'customMetric' ? 'customMetric' : category, message, functionName: fn.name, invocationId });
      },
    };

    try {
      const invocationModel = model.getInvocationModel(coreCtx);
      const args = await invocationModel.getArguments();
      invocationContext = args.context;
      const hookData: Record<string, unknown> = {};
      const pre = { hookData, appHookData: registry.appHookData, invocationContext: args.context, inputs: args.inputs, functionCallback: captured.callback };
      coreCtx.state = 'preInvocationHooks';
      for (const hook of registry.hooks.preInvocation) await hook(pre);
      coreCtx.state = 'invocation';
      let result: unknown = null;
      let error: unknown = null;
      try {
        result = await invocationModel.invokeFunction(args.context, pre.inputs, pre.functionCallback);
      } catch (err) {
        error = err;
      }
      coreCtx.state = 'postInvocationHooks';
      const post = { hookData, appHookData: registry.appHookData, invocationContext: args.context, inputs: pre.inputs, result, error };
      for (const hook of registry.hooks.postInvocation) await hook(post);
      coreCtx.state = undefined;
      if (post.error) {
        const e = post.error instanceof Error ? post.error : new Error(String(post.error));
        return { ok: false, error: e };
      }
      const response = await invocationModel.getResponse(args.context, post.result);
      await this.#writeOutputs(fn, response, bindingData, invocationId);
      return { ok: true, response };
    } catch (err) {
      coreCtx.state = undefined;
      return { ok: false, error: err instanceof Error ? err : new Error(String(err)) };
    }
  }
}

/** A Durable function's instance ID from its trigger metadata (typed JSON, as the extension sends it, or a string). */
function instanceIdOf(data: { string?: string | null; json?: string | null } | undefined): string | undefined {
  if (typeof data?.string === 'string') return data.string;
  if (typeof data?.json !== 'string') return undefined;
  try {
    const id: unknown = JSON.parse(data.json);
    return typeof id === 'string' ? id : undefined;
  } catch {
    return undefined;
  }
}

/** Reads local.settings.json `Values` into the environment (existing variables win, as with Core Tools). */
export function applyLocalSettings(appDir: string, overrides: Record<string, string> = {}): Record<string, string> {
  const local = readJson<{ Values?: Record<string, unknown>; IsEncrypted?: boolean }>(path.join(appDir, 'local.settings.json'), 'local.settings.json');
  if (local?.IsEncrypted) throw new AppLoadError('local.settings.json is encrypted; the local host reads only unencrypted settings.');
  const applied: Record<string, string> = {};
  for (const [k, v] of Object.entries(local?.Values ?? {})) {
    if (v === null || v === undefined) continue;
    if (typeof v === 'object') throw new AppLoadError(`local.settings.json Values.${k} must be a string, number or boolean.`);
    if (process.env[k] === undefined) process.env[k] = String(v);
    applied[k] = process.env[k] as string;
  }
  for (const [k, v] of Object.entries(overrides)) {
    process.env[k] = v;
    applied[k] = v;
  }
  return applied;
}

export function resolveEntryFiles(appDir: string): string[] {
  const pkg = readJson<{ main?: unknown }>(path.join(appDir, 'package.json'), 'package.json');
  if (!pkg) throw new AppLoadError(`${appDir} has no package.json: the Node worker finds the app's entry files through its "main" field.`);
  if (typeof pkg.main !== 'string' || !pkg.main.trim()) {
    throw new AppLoadError(`package.json in ${appDir} needs a "main" field naming the entry file(s), e.g. "dist/src/functions/*.js".`);
  }
  const files = globSync(pkg.main, { cwd: appDir, absolute: true, nodir: true }).sort();
  if (files.length === 0) {
    throw new AppLoadError(`package.json "main" (${pkg.main}) matches no files in ${appDir}. Did you build the app (npm run build)?`);
  }
  return files;
}

/** Loads the app in `appDir` into this process. One app per process, like the real worker. */
export async function loadFunctionApp(appDir: string, options: LoadFunctionAppOptions = {}): Promise<LoadedApp> {
  const dir = path.resolve(appDir);
  const logger = options.logger ?? createHostLogger();
  const hostJson = readJson<HostJson>(path.join(dir, 'host.json'), 'host.json');
  if (!hostJson) throw new AppLoadError(`${dir} has no host.json: it is not a Functions app folder.`);
  if (hostJson.version !== '2.0') throw new AppLoadError(`host.json "version" must be "2.0" (found ${JSON.stringify(hostJson.version)}).`);
  applyLocalSettings(dir, options.settings);
  const registry = installFunctionsCore();
  if (registry.functions.size > 0 || registry.locked) throw new AppLoadError('An app is already loaded in this process; run one app per host process.');
  const entryFiles = resolveEntryFiles(dir);
  for (const file of entryFiles) {
    try {
      require(file);
    } catch (err) {
      throw new AppLoadError(`Loading entry file ${path.relative(dir, file)} failed: ${(err as Error).stack ?? err}`);
    }
  }
  if (!registry.programmingModel) {
    throw new AppLoadError('No programming model was set: the app must use @azure/functions v4 (it sets the model when it registers functions).');
  }
  await (registry.programmingModel as { getCapabilities?: (c: Record<string, string>) => Promise<unknown> }).getCapabilities?.({});
  registry.locked = true;
  const app = new LoadedApp(dir, hostJson, entryFiles, registry, logger);
  if (app.list().length === 0) logger({ level: 'warning', category: 'host', message: `No functions were registered by ${entryFiles.length} entry file(s).` });
  return app;
}
