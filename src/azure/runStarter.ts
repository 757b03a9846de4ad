// Starting a run exactly once for a deterministic instance ID: an existing instance (in any state)
// means a duplicate or repeated delivery, which starts nothing new.
import type { DurableClient } from 'durable-functions';
import type { InvocationContext } from '@azure/functions';
import { indexRunsStarting } from '../activities/runIndexActivities';

function httpStatusIn(err: unknown): number | undefined {
  const m = /HTTP (\d{3}) response|status code: (\d{3})/.exec((err as Error)?.message ?? '');
  return m ? Number(m[1] ?? m[2]) : undefined;
}

export async function instanceExists(client: DurableClient, instanceId: string): Promise<boolean> {
  try {
    await client.getStatus(instanceId, { showHistory: false, showInput: false });
    return true;
  } catch (err) {
    if (httpStatusIn(err) === 404) return false;
    throw err;
  }
}

/** Returns true when this call started the instance, false when it already existed. */
export async function startRunOnce(client: DurableClient, orchestration: string, instanceId: string, input: unknown, context: InvocationContext): Promise<boolean> {
  const [result] = await startRunsOnce(client, [{ orchestration, runId: instanceId, input }], context, 1);
  if (result.outcome === 'failed') throw result.error;
  return result.outcome === 'started';
}

export type StartOutcome = { runId: string } & ({ outcome: 'started' | 'existing' } | { outcome: 'failed'; error: unknown });

/**
 * startRunOnce for many runs, `concurrency` calls at a time: the runs with no instance yet are indexed
 * as Pending in one bulk write, then started. One run's failure is its own outcome, not the others'.
 */
export async function startRunsOnce(client: DurableClient, runs: Array<{ orchestration: string; runId: string; input: unknown }>, context: InvocationContext, concurrency: number): Promise<StartOutcome[]> {
  const outcomes = new Map<string, StartOutcome>();
  const fail = (runId: string, error: unknown): void => void outcomes.set(runId, { runId, outcome: 'failed', error });
  await eachAtMost(concurrency, runs, async (run) => {
    try {
      if (await instanceExists(client, run.runId)) {
        context.log(JSON.stringify({ runId: run.runId, message: 'Run already exists: duplicate delivery, nothing started.' }));
        outcomes.set(run.runId, { runId: run.runId, outcome: 'existing' });
      }
    } catch (err) {
      fail(run.runId, err);
    }
  });
  const fresh = runs.filter((r) => !outcomes.has(r.runId));
  // Before the starts, so each orchestration's own first write comes after it (as in startRunOnce).
  await indexRunsStarting(fresh, context);
  await eachAtMost(concurrency, fresh, async (run) => {
    try {
      await client.startNew(run.orchestration, { instanceId: run.runId, input: run.input });
      context.log(JSON.stringify({ runId: run.runId, message: `Started ${run.orchestration}.` }));
      outcomes.set(run.runId, { runId: run.runId, outcome: 'started' });
    } catch (err) {
      if (httpStatusIn(err) === 409) {
        context.log(JSON.stringify({ runId: run.runId, message: 'Run was started concurrently by another delivery.' }));
        outcomes.set(run.runId, { runId: run.runId, outcome: 'existing' });
      } else fail(run.runId, err);
    }
  });
  return runs.map((r) => outcomes.get(r.runId)!);
}

async function eachAtMost<T>(concurrency: number, items: T[], work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, async () => {
    while (next < items.length) await work(items[next++]);
  }));
}

/** Wakes an eternal instance, (re)starting it when it does not exist or is no longer running. */
export async function wakeOrStart(client: DurableClient, orchestration: string, instanceId: string, eventName: string, input: unknown, eventData: unknown = {}): Promise<'woken' | 'started'> {
  let running = false;
  try {
    const status = await client.getStatus(instanceId, { showHistory: false, showInput: false });
    running = ['Running', 'Pending', 'ContinuedAsNew', 'Suspended'].includes(String(status.runtimeStatus));
  } catch (err) {
    if (httpStatusIn(err) !== 404) throw err;
  }
  if (running) {
    await client.raiseEvent(instanceId, eventName, eventData);
    return 'woken';
  }
  try {
    await client.startNew(orchestration, { instanceId, input });
    return 'started';
  } catch (err) {
    if (httpStatusIn(err) !== 409) throw err;
    await client.raiseEvent(instanceId, eventName, eventData);
    return 'woken';
  }
}
