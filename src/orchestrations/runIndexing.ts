// How runs write their state to the run index (operator lists and counts): an `indexRun` activity when
// they start, when their status changes (a model run waiting for, then past, its approval) and when they
// end. The index is never on a run's critical path: a write that fails after a few quick retries is
// logged and the run goes on; the next write, or the index's maintenance pass, brings the entry up to
// date. The version of each write is the orchestration's replay-safe clock plus a sequence number, so a
// replayed, repeated or late write never moves the run backwards in the index.
import type { OrchestrationContext, Task } from 'durable-functions';
import { ACTIVITY, attemptActivity, IndexRunInput, INDEX_RETRY } from '../activities/contracts';
import type { RunLog } from './replaySafeLog';

/** Input files the index is told about (the rest are counted, not listed or searched). */
const INDEXED_FILES = 20;

/** What the index needs of a run's input: names, targets and the first few files, never the whole batch. */
export function indexableInput(input: Record<string, unknown>): Record<string, unknown> {
  const files = Array.isArray(input.files) ? (input.files as Array<Record<string, unknown>>) : undefined;
  const route = input.route && typeof input.route === 'object' ? (input.route as { name?: unknown; target?: { endpoint?: unknown } }) : undefined;
  const picked: Record<string, unknown> = {
    runId: input.runId,
    route: route ? { name: route.name, target: route.target ? { endpoint: route.target.endpoint } : undefined } : undefined,
    routeName: input.routeName,
    endpoint: input.endpoint,
    model: input.model && typeof input.model === 'object' ? { name: (input.model as { name?: unknown }).name, version: (input.model as { version?: unknown }).version } : undefined,
    folderUrl: input.folderUrl,
    rerunOf: input.rerunOf,
    files: files?.slice(0, INDEXED_FILES).map((f) => ({ url: f.url, blobPath: f.blobPath })),
    fileCount: files?.length,
  };
  return Object.fromEntries(Object.entries(picked).filter(([, v]) => v !== undefined));
}

export interface RunIndexer {
  /** Writes the run's state now; returns when the index took it or gave up (never throws). */
  write(runtimeStatus: IndexRunInput['runtimeStatus'], state?: { customStatus?: Record<string, unknown>; output?: unknown }): Generator<Task, void, unknown>;
}

export function runIndexer(context: OrchestrationContext, orchestration: string, runId: string, input: Record<string, unknown>, log: RunLog): RunIndexer {
  const indexed = indexableInput(input);
  let lastAt = '';
  let seq = 0;
  return {
    *write(runtimeStatus, state = {}) {
      const at = context.df.currentUtcDateTime.toISOString();
      seq = at === lastAt ? seq + 1 : 0;
      lastAt = at;
      const write: IndexRunInput = { runId, orchestration, runtimeStatus, at, seq, input: indexed, ...(state.output !== undefined ? { output: state.output } : {}), ...(state.customStatus ? { customStatus: state.customStatus } : {}) };
      const attempt = yield* attemptActivity(context, ACTIVITY.indexRun, write, INDEX_RETRY);
      const problem = attempt.ok ? undefined : attempt.message;
      if (problem) log(`The run index did not take this run's state (${runtimeStatus}); the next write or the index maintenance will: ${problem}`, { failureClass: 'index' });
    },
  };
}
