// What the local host can serve of an app's bindings, said once at startup per function and binding:
// triggers it cannot run (the function never runs here), inputs it cannot fill (every call fails),
// outputs it cannot deliver (each call that sets one warns), and storage connections that are not
// configured. Nothing an app declares is dropped without a word.
import type { RegisteredFunction } from './contracts';
import type { HostLogger } from './hostLog';
import { checkStorageConnection, StorageService } from './storageConnections';

/** Lower-cased trigger types the host runs. */
export const SERVED_TRIGGERS = new Set(['httptrigger', 'timertrigger', 'eventgridtrigger', 'queuetrigger', 'blobtrigger', 'orchestrationtrigger', 'activitytrigger', 'entitytrigger']);

const STORAGE_SERVICE: Record<string, StorageService> = { blob: 'blob', blobtrigger: 'blob', queue: 'queue', queuetrigger: 'queue', table: 'table' };

export interface BindingServing {
  servesInput(type: string): boolean;
  servesOutput(type: string): boolean;
}

export interface BindingProblem {
  functionName: string;
  bindingName: string;
  type: string;
  level: 'warning' | 'error';
  message: string;
}

export function bindingProblems(functions: RegisteredFunction[], serving: BindingServing, env: NodeJS.ProcessEnv = process.env): BindingProblem[] {
  const problems: BindingProblem[] = [];
  for (const fn of functions) {
    for (const [name, binding] of Object.entries(fn.bindings)) {
      const type = String(binding.type ?? '');
      const lower = type.toLowerCase();
      const problem = (level: BindingProblem['level'], message: string): void => {
        problems.push({ functionName: fn.name, bindingName: name, type, level, message: `Function '${fn.name}': ${message}` });
      };
      if (name === fn.triggerName) {
        if (!SERVED_TRIGGERS.has(lower)) problem('error', `its ${type} trigger '${name}' cannot be served by the local host; the function will not run here.`);
      } else if (binding.direction === 'in' && !serving.servesInput(lower)) {
        problem('error', `input binding '${name}' (${type}) cannot be served by the local host; every call of the function fails.`);
      } else if (binding.direction === 'out' && !serving.servesOutput(lower)) {
        problem('warning', `output binding '${name}' (${type}) cannot be served by the local host; what the function sets on it is not delivered, and each call that sets it logs a warning.`);
      }
      const service = STORAGE_SERVICE[lower];
      if (service) {
        try {
          checkStorageConnection(binding.connection, service, env);
        } catch (err) {
          problem(name === fn.triggerName ? 'error' : 'warning', `binding '${name}' (${type}): ${(err as Error).message}`);
        }
      }
    }
  }
  return problems;
}

export function reportBindingProblems(problems: BindingProblem[], logger: HostLogger): void {
  for (const p of problems) logger({ level: p.level, category: 'host', functionName: p.functionName, message: p.message });
}
