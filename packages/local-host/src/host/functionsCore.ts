// Provides the `@azure/functions-core` module that the Azure Functions Node worker makes available to
// an app at run time. `@azure/functions` requires it lazily; serving it here (by hooking module
// resolution) lets the unmodified app register its functions and hooks with the local host.
import Module = require('node:module');
import { randomUUID } from 'node:crypto';
import type { CoreFunctionMetadata, FunctionCallback, HookCallback, HookData, ProgrammingModel } from './functionsCoreTypes';

export const FUNCTIONS_CORE_MODULE_ID = '@azure/functions-core';
export const LOCAL_WORKER_VERSION = '3.10.1-batchpilot-local';
export const LOCAL_HOST_VERSION = '4.1037.0';

export interface CapturedFunction {
  functionId: string;
  metadata: CoreFunctionMetadata;
  callback: FunctionCallback;
}

export type HookName = 'preInvocation' | 'postInvocation' | 'appStart' | 'appTerminate' | 'log';
const HOOK_NAMES: readonly HookName[] = ['preInvocation', 'postInvocation', 'appStart', 'appTerminate', 'log'];

class CoreDisposable {
  #callOnDispose: (() => unknown) | undefined;
  constructor(callOnDispose: () => unknown) {
    this.#callOnDispose = callOnDispose;
  }
  static from(...likes: { dispose: () => unknown }[]): CoreDisposable {
    return new CoreDisposable(() => likes.forEach((l) => l.dispose()));
  }
  dispose(): unknown {
    const fn = this.#callOnDispose;
    this.#callOnDispose = undefined;
    return fn?.();
  }
}

/** What the app registered through `@azure/functions-core`, in registration order. */
export class FunctionsCoreRegistry {
  readonly functions = new Map<string, CapturedFunction>();
  readonly hooks: Record<HookName, HookCallback[]> = { preInvocation: [], postInvocation: [], appStart: [], appTerminate: [], log: [] };
  readonly appHookData: HookData = {};
  programmingModel: ProgrammingModel | undefined;
  /** Set once the app has finished loading: the real worker refuses registrations after that. */
  locked = false;

  moduleExports(): Record<string, unknown> {
    const registry = this;
    return {
      version: LOCAL_WORKER_VERSION,
      hostVersion: LOCAL_HOST_VERSION,
      Disposable: CoreDisposable,
      registerFunction(metadata: CoreFunctionMetadata, callback: FunctionCallback): CoreDisposable {
        if (registry.locked) {
          throw new Error(`A function can only be registered during app startup (function "${metadata?.name}").`);
        }
        if (!metadata || typeof metadata.name !== 'string' || !metadata.bindings) {
          throw new Error('registerFunction needs metadata with a name and bindings.');
        }
        const key = metadata.name.toLowerCase();
        if (registry.functions.has(key)) {
          throw new Error(`A function with the name "${metadata.name}" has already been registered.`);
        }
        if (typeof callback !== 'function') throw new Error(`Function "${metadata.name}" was registered without a callback.`);
        registry.functions.set(key, { functionId: metadata.functionId ?? randomUUID(), metadata, callback });
        return new CoreDisposable(() => {
          if (registry.locked) throw new Error('Functions cannot be removed after app startup.');
          registry.functions.delete(key);
        });
      },
      registerHook(hookName: string, callback: HookCallback): CoreDisposable {
        if (!HOOK_NAMES.includes(hookName as HookName)) {
          const err = new RangeError(`Unrecognized hook "${hookName}".`);
          (err as Error & { isAzureFunctionsSystemError?: boolean }).isAzureFunctionsSystemError = true;
          throw err;
        }
        const list = registry.hooks[hookName as HookName];
        list.push(callback);
        return new CoreDisposable(() => {
          const i = list.indexOf(callback);
          if (i >= 0) list.splice(i, 1);
        });
      },
      setProgrammingModel(model: ProgrammingModel): void {
        registry.programmingModel = model;
      },
      getProgrammingModel(): ProgrammingModel | undefined {
        return registry.programmingModel;
      },
      log(level: string, category: string, message: string): void {
        process.stdout.write(`[${level}] [${category}] ${message}\n`);
      },
    };
  }
}

let installed: FunctionsCoreRegistry | undefined;

type ResolveFilename = (request: string, parent: unknown, isMain: boolean, options?: unknown) => string;

/**
 * Makes `require('@azure/functions-core')` return this process's registry. One app per process, as
 * with the real worker: calling it twice returns the same registry.
 */
export function installFunctionsCore(): FunctionsCoreRegistry {
  if (installed) return installed;
  const registry = new FunctionsCoreRegistry();
  const mod = Module as unknown as { _resolveFilename: ResolveFilename; _cache: Record<string, unknown> };
  const original = mod._resolveFilename;
  mod._resolveFilename = function resolveWithFunctionsCore(this: unknown, request, parent, isMain, options) {
    if (request === FUNCTIONS_CORE_MODULE_ID) return FUNCTIONS_CORE_MODULE_ID;
    return original.call(this, request, parent, isMain, options);
  };
  const coreModule = new Module(FUNCTIONS_CORE_MODULE_ID);
  coreModule.filename = FUNCTIONS_CORE_MODULE_ID;
  coreModule.loaded = true;
  coreModule.exports = registry.moduleExports();
  mod._cache[FUNCTIONS_CORE_MODULE_ID] = coreModule;
  installed = registry;
  return registry;
}
