// The local analogue of a batch deployment's score.py: a CommonJS module exporting `init(modelDir,
// context)` and `run(miniBatch, context)`. The emulator downloads the deployment's code asset from
// storage and loads the entry script here, each job with its own module instance (as each Azure ML
// worker process imports score.py afresh), so module-level state never leaks between jobs.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vm from 'node:vm';
import { createRequire } from 'node:module';

export interface ScoringContext {
  jobName: string;
  endpointName: string;
  deploymentName: string;
  /** Literal inputs of a pipeline-component deployment (and of any job that was given some). */
  literals: Record<string, string>;
  /** The deployment's environment variables. */
  environment: Record<string, string>;
  /** Writes a line to the job's user log. */
  log(message: string): void;
}

export interface MiniBatchContext extends ScoringContext {
  miniBatchIndex: number;
  /** 1 on the first try, 2 on the first retry... */
  attempt: number;
}

/** What `run` may return: one element per output row (string, array of cells, or object of cells). */
export type ScoringRow = string | number | boolean | null | Array<string | number | boolean | null> | Record<string, string | number | boolean | null>;

export interface ScoringModule {
  init?(modelDir: string | undefined, context: ScoringContext): unknown;
  /** Receives local paths of the mini-batch's files, like score.py's `run(mini_batch)`. */
  run(miniBatch: string[], context: MiniBatchContext): ScoringRow[] | Promise<ScoringRow[]>;
}

export class ScoringModuleError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ScoringModuleError';
  }
}

/** Loads a scoring module from a file; throws ScoringModuleError naming what is wrong with it. */
export function loadScoringModule(entryScript: string): ScoringModule {
  if (!fs.existsSync(entryScript)) throw new ScoringModuleError(`The scoring script '${path.basename(entryScript)}' is not in the deployment's code.`);
  const source = fs.readFileSync(entryScript, 'utf8');
  const module = { exports: {} as Record<string, unknown> };
  let wrapper: unknown;
  try {
    wrapper = vm.runInThisContext(`(function (exports, require, module, __filename, __dirname) {${source}\n})`, { filename: entryScript });
  } catch (e) {
    throw new ScoringModuleError(`The scoring script '${path.basename(entryScript)}' does not parse: ${(e as Error).message}`);
  }
  (wrapper as (...args: unknown[]) => void).call(module.exports, module.exports, createRequire(entryScript), module, entryScript, path.dirname(entryScript));
  const exported = module.exports;
  if (typeof exported.run !== 'function') {
    throw new ScoringModuleError(`The scoring script '${path.basename(entryScript)}' must export a run(miniBatch) function.`);
  }
  if (exported.init !== undefined && typeof exported.init !== 'function') {
    throw new ScoringModuleError(`The scoring script '${path.basename(entryScript)}' exports an init that is not a function.`);
  }
  return exported as unknown as ScoringModule;
}

function csvCell(value: string | number | boolean | null): string {
  if (value === null) return '';
  const text = String(value);
  return /[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** One line of the append_row output file. */
export function formatRow(row: ScoringRow): string {
  if (Array.isArray(row)) return row.map(csvCell).join(',');
  if (row !== null && typeof row === 'object') return Object.values(row).map(csvCell).join(',');
  return row === null ? '' : String(row);
}
