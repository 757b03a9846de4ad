// The sub-orchestrations an orchestration may call, by name, with the input each takes and the result it
// returns, so a call checks both as callActivity does for activities. Type-only imports: loading this
// module loads no orchestration.
import type { OrchestrationContext, Task } from 'durable-functions';
import type { RunBatchJobInput, RunBatchJobResult } from './runBatchJob';
import type { ScoreSideBySideInput, ScoreSideBySideResult } from './scoreSideBySide';

export interface SubOrchestrations {
  runBatchJob: { input: RunBatchJobInput; result: RunBatchJobResult };
  scoreSideBySide: { input: ScoreSideBySideInput; result: ScoreSideBySideResult };
}

export type SubOrchestrationName = keyof SubOrchestrations;

declare const resultType: unique symbol;
/** A scheduled sub-orchestration that remembers (in its type only) what it returns. */
export type SubOrchestrationTask<R> = Task & { readonly [resultType]?: R };

/** Schedules a sub-orchestration without waiting: yield it, or wait for several with `whenAll`. */
export function subOrchestration<N extends SubOrchestrationName>(context: OrchestrationContext, name: N, input: SubOrchestrations[N]['input'], instanceId: string): SubOrchestrationTask<SubOrchestrations[N]['result']> {
  return context.df.callSubOrchestrator(name, input, instanceId);
}

/** Runs a sub-orchestration to its end and returns its result. Use with `yield*`. */
export function* callSubOrchestration<N extends SubOrchestrationName>(context: OrchestrationContext, name: N, input: SubOrchestrations[N]['input'], instanceId: string): Generator<Task, SubOrchestrations[N]['result'], unknown> {
  return (yield subOrchestration(context, name, input, instanceId)) as SubOrchestrations[N]['result'];
}

/** Waits for all of `tasks` (in parallel) and returns their results in order. Use with `yield*`. */
export function* whenAll<R>(context: OrchestrationContext, tasks: ReadonlyArray<SubOrchestrationTask<R>>): Generator<Task, R[], unknown> {
  return (yield context.df.Task.all([...tasks])) as R[];
}
