// Writing runs to the run index (src/azure/runIndex.ts): the `indexRun` activity orchestrations call as
// their state changes, and what starters (intake, coalescer, model intake, operator starts and reruns)
// and operator actions write directly. Every writer describes the run the way the operator API
// summarises a Durable instance (src/operator/runSummaries.ts), so the index and the instance store
// say the same thing about a run.
import type { InvocationContext } from '@azure/functions';
import { asActivityResult } from './activityResults';
import type { ActivityResult, IndexRunInput, IndexRunOutput } from './contracts';
import { appRunIndex, RecordOutcome, RunIndex } from '../azure/runIndex';
import { indexVersion } from '../azure/runIndexKeys';
import { classifyAzureError } from '../azure/errorClassification';
import type { InstanceStatus } from '../operator/runInstances';
import { searchableText, summariseRun } from '../operator/runSummaries';

/** Records what an instance (real, or as a writer sees it) says about a run; undefined when it is not a run. */
export async function recordInstance(index: RunIndex, status: InstanceStatus, atMs: number, seq = 0): Promise<RecordOutcome | undefined> {
  const summary = summariseRun(status);
  if (!summary) return undefined;
  return index.record({ summary, text: searchableText(status, summary), version: indexVersion(summary.status, atMs, seq) });
}

export async function indexRun(input: IndexRunInput, context: InvocationContext): Promise<ActivityResult<IndexRunOutput>> {
  return asActivityResult(context, input.runId, 'Writing the run to the run index', async () => {
    const atMs = Date.parse(input.at);
    const outcome = await recordInstance(
      await appRunIndex(),
      { name: input.orchestration, instanceId: input.runId, runtimeStatus: input.runtimeStatus, createdTime: input.at, lastUpdatedTime: input.at, input: input.input, output: input.output ?? null, customStatus: input.customStatus ?? null },
      atMs,
      input.seq,
    );
    if (!outcome) throw new Error(`'${input.runId}' (${input.orchestration}) is not a run the index keeps.`);
    return outcome;
  });
}

type Log = Pick<InvocationContext, 'warn'>;

/**
 * Announces a run about to be started (Pending), before its instance exists: the orchestration cannot
 * write before it has started, and a run the index took first cannot be missed by an orchestration that
 * starts at once. A failure is logged, never thrown: the orchestration's own first write indexes it.
 */
export async function indexRunStarting(orchestration: string, runId: string, input: unknown, log: Log, index?: RunIndex): Promise<void> {
  const now = Date.now();
  try {
    await recordInstance(index ?? (await appRunIndex()), { name: orchestration, instanceId: runId, runtimeStatus: 'Pending', createdTime: new Date(now).toISOString(), lastUpdatedTime: new Date(now).toISOString(), input, output: null, customStatus: null }, now);
  } catch (err) {
    log.warn(JSON.stringify({ runId, failureClass: 'index', message: `The run index did not take the starting run; its orchestration will index it: ${classifyAzureError(err).message}` }));
  }
}

/**
 * indexRunStarting for many runs at once (the run-start timer's): one bulk write (RunIndex.recordNew)
 * instead of one contended write per run. A failure is logged, never thrown, as there.
 */
export async function indexRunsStarting(runs: Array<{ orchestration: string; runId: string; input: unknown }>, log: Log, index?: RunIndex): Promise<void> {
  if (runs.length === 0) return;
  const now = Date.now();
  const at = new Date(now).toISOString();
  try {
    const updates = runs.flatMap((r) => {
      const status: InstanceStatus = { name: r.orchestration, instanceId: r.runId, runtimeStatus: 'Pending', createdTime: at, lastUpdatedTime: at, input: r.input, output: null, customStatus: null };
      const summary = summariseRun(status);
      return summary ? [{ summary, text: searchableText(status, summary), version: indexVersion(summary.status, now, 0) }] : [];
    });
    await (index ?? (await appRunIndex())).recordNew(updates);
  } catch (err) {
    log.warn(JSON.stringify({ runs: runs.length, failureClass: 'index', message: `The run index did not take all ${runs.length} starting runs; their orchestrations will index them: ${classifyAzureError(err).message}` }));
  }
}
