// The second half of the storage intake: starts the runs the intake accepted (src/azure/runAcceptance.ts),
// a round at a time (read onward through the table, so each round costs the same), and removes each
// once its instance exists. Run by the `startAcceptedRuns` timer every two seconds; a tick that finds
// nothing costs one or two table reads. A start that fails is tried again later with a growing wait,
// so a fault never drops a run and a run that cannot start (its orchestration unknown, its input
// unreadable) does not hold up the others.
import type { InvocationContext } from '@azure/functions';
import type { DurableClient } from 'durable-functions';
import { startRunsOnce } from '../azure/runStarter';
import { AcceptedRun, appRunAcceptance, RunAcceptance } from '../azure/runAcceptance';
import { classifyAzureError } from '../azure/errorClassification';
import { SCORE_BLOB_RUN } from '../orchestrations/scoreBlobRun';

/** Orchestrations an accepted run may name: what the intake accepts. */
export const ACCEPTED_ORCHESTRATIONS: ReadonlySet<string> = new Set([SCORE_BLOB_RUN]);
/** Starts made at once: each start and the first steps of its run take their share of the machine, so the intake keeps most of it. */
export const START_CONCURRENCY = 16;
/** How long one tick goes on reading newly accepted runs before it leaves the rest to the next. */
const TICK_BUDGET_IN_MS = 30_000;
/** Runs indexed and started together; a bulk index write covers them all. */
const ROUND_SIZE = 200;
const FIRST_RETRY_IN_MS = 2_000;
const MAX_RETRY_IN_MS = 5 * 60_000;

export interface StartReport {
  /** Accepted runs this tick found due and tried to start. */
  due: number;
  started: number;
  /** Runs whose instance already existed (a repeated delivery accepted after its run had started). */
  existing: number;
  failed: number;
}

export function retryDelayInMs(attempts: number): number {
  return Math.min(MAX_RETRY_IN_MS, FIRST_RETRY_IN_MS * 2 ** Math.min(attempts, 20));
}

function startProblem(run: AcceptedRun): string | undefined {
  if (!ACCEPTED_ORCHESTRATIONS.has(run.orchestration)) return `its orchestration '${run.orchestration.slice(0, 100)}' is not one the intake starts`;
  if (run.input === undefined) return 'its stored input is not JSON';
  return undefined;
}

export async function startAcceptedRuns(client: DurableClient, context: InvocationContext, options: { acceptance?: RunAcceptance; now?: () => number; budgetInMs?: number } = {}): Promise<StartReport> {
  const acceptance = options.acceptance ?? appRunAcceptance();
  const now = options.now ?? Date.now;
  const until = now() + (options.budgetInMs ?? TICK_BUDGET_IN_MS);
  const report: StartReport = { due: 0, started: 0, existing: 0, failed: 0 };
  const tried = new Set<string>();
  // Rounds: what arrives while a round runs is read by the next, so a burst keeps one tick busy
  // (the host skips the ticks that fall meanwhile) until it is through or the budget is spent.
  while (now() < until) {
    // A round is the runs due now, at most ROUND_SIZE of them: indexed together, then started. However
    // many wait, a round reads only what it starts.
    const batch = (await acceptance.due(new Date(now()), ROUND_SIZE)).filter((r) => !tried.has(r.runId));
    if (batch.length === 0) break;
    report.due += batch.length;
    for (const run of batch) tried.add(run.runId);
    const startable: AcceptedRun[] = [];
    for (const run of batch) {
      const problem = startProblem(run);
      if (problem) await failed(run, new Error(`Accepted run ${run.runId} cannot start: ${problem}.`));
      else startable.push(run);
    }
    const outcomes = await startRunsOnce(client, startable, context, START_CONCURRENCY);
    const done: string[] = [];
    for (const [i, o] of outcomes.entries()) {
      if (o.outcome === 'failed') await failed(startable[i], o.error);
      else {
        report[o.outcome]++;
        done.push(o.runId);
      }
    }
    try {
      await acceptance.startedMany(done);
    } catch (err) {
      // Their rows stay: the next tick finds their instances and removes them.
      context.warn(JSON.stringify({ runs: done.length, message: `Started runs could not be removed from the accepted runs: ${(err as Error).message}` }));
    }
  }
  return report;

  async function failed(run: AcceptedRun, err: unknown): Promise<void> {
    report.failed++;
    const message = classifyAzureError(err).message;
    const retryAt = new Date(now() + retryDelayInMs(run.attempts));
    context.warn(JSON.stringify({ runId: run.runId, attempts: run.attempts + 1, retryAt: retryAt.toISOString(), message: `Starting the accepted run failed; it is tried again: ${message}` }));
    try {
      await acceptance.failed(run, message, retryAt);
    } catch (recordErr) {
      // The next tick tries it again at once: no worse than a shorter wait.
      context.warn(JSON.stringify({ runId: run.runId, message: `The failed start could not be recorded: ${(recordErr as Error).message}` }));
    }
  }
}
