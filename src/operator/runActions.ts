// What operators may do to runs, each recorded in the audit log before it happens and again with its
// outcome: terminate (the instance, its sub-runs, then the Azure ML job — in that order, so nothing is
// left waiting that would resubmit a job it sees cancelled), rerun (a new run with the same input,
// linked by `rerunOf`), approve or reject a model run at its gate, and purge old history.
import type { DurableClient } from 'durable-functions';
import type { ActionResult, Actor, OperatorAction, RunSummary } from './operatorApiTypes';
import { FINISHED_STATUSES } from './operatorApiTypes';
import { OperatorError } from './operatorHttp';
import { auditLog, PendingAudit } from './auditLog';
import { InstanceStatus, isTerminalRuntimeStatus, readInstance } from './runInstances';
import { isAwaitingApproval, summariseRun } from './runSummaries';
import { summariseHistory } from './historySteps';
import { jobsOfSubRun, MAX_SUB_RUN_DEPTH, runNotFound, subRunIdsOf } from './runDetails';
import { runQueryCache } from './runQueries';
import { requestRollback, sendApprovalDecision } from './modelGate';
import { workspaceClient } from '../azure/workspaceClient';
import { appSettings } from '../config/runtimeConfig';
import { isTerminalJobStatus } from '../domain/jobStatuses';
import { MAX_RERUNS, rerunBaseOf, rerunId } from '../domain/runIds';
import { instanceExists } from '../azure/runStarter';
import { indexRunStarting, recordInstance } from '../activities/runIndexActivities';
import { appRunIndex } from '../azure/runIndex';

export interface ActionCaller {
  client: DurableClient;
  actor: Actor;
  reason: string;
  log: (message: string, fields?: Record<string, unknown>) => void;
}

/** Runs `act` between the pending and the final audit record; a failure is recorded, then rethrown. */
export async function audited(caller: ActionCaller, action: OperatorAction, runId: string | undefined, request: Record<string, unknown>, act: (audit: PendingAudit) => Promise<{ result: Record<string, unknown>; createdRuns?: string[] }>): Promise<ActionResult> {
  const audit = await auditLog().begin({ action, by: caller.actor, reason: caller.reason, runId, request });
  let outcome: { result: Record<string, unknown>; createdRuns?: string[] };
  try {
    outcome = await act(audit);
  } catch (err) {
    await audit.failed(err instanceof OperatorError ? `${err.code}: ${err.message}` : (err as Error).message).catch(() => undefined);
    throw err;
  } finally {
    // Lists and counts shared across requests would show the runs as they were before.
    runQueryCache.clear();
  }
  await audit.succeeded(outcome.result, outcome.createdRuns ?? []);
  caller.log(`Operator ${action}${runId ? ` of ${runId}` : ''} by ${caller.actor.name}: ${caller.reason}`, { runId, auditId: audit.id });
  return { action, auditId: audit.id, ...(runId ? { runId } : {}), ...outcome.result };
}

async function requireRun(client: DurableClient, runId: string, history = false): Promise<{ run: InstanceStatus; status: RunSummary }> {
  const run = await readInstance(client, runId, { history });
  const summary = run ? summariseRun(run) : undefined;
  if (!run) throw runNotFound(runId);
  if (!summary) throw new OperatorError(404, 'NotARun', `'${runId}' is not a batchpilot run (it is an instance of ${run.name}); act on the run it belongs to.`);
  return { run, status: summary };
}

function refuseFinished(runId: string, status: string, action: string): never {
  throw new OperatorError(409, 'RunFinished', `Run '${runId}' has already finished (${status}); there is nothing to ${action}.${action === 'terminate' ? '' : ' Rerun it to try again.'}`);
}

export interface TerminateResult {
  terminated: string[];
  cancelledJobs: string[];
  jobsAlreadyFinished: string[];
  jobCancelFailures: Array<{ jobName: string; error: string }>;
}

/**
 * Terminates a running run. Durable does not terminate sub-runs with their parent, and a job sub-run
 * that saw its job Canceled without being asked would resubmit it (preemption), so the sub-runs are
 * terminated before the jobs are cancelled.
 */
export async function terminateRun(caller: ActionCaller, runId: string): Promise<ActionResult> {
  const { run, status } = await requireRun(caller.client, runId, true);
  if (FINISHED_STATUSES.includes(status.status)) refuseFinished(runId, status.status, 'terminate');
  return audited(caller, 'terminate', runId, {}, async () => {
    const result: TerminateResult = { terminated: [], cancelledJobs: [], jobsAlreadyFinished: [], jobCancelFailures: [] };
    await caller.client.terminate(runId, caller.reason);
    result.terminated.push(runId);
    await indexTermination(caller, run);
    const workspaceId = String((run.input as { workspaceId?: unknown } | null)?.workspaceId ?? appSettings().workspaceId);
    const jobs: ReturnType<typeof jobsOfSubRun> = [];
    // Each sub-run is stopped before its own sub-runs are read, so none starts another behind this walk.
    const terminateSubRuns = async (parent: InstanceStatus, depth: number): Promise<void> => {
      for (const childId of subRunIdsOf(parent, summariseHistory(parent.history ?? []))) {
        const child = await readInstance(caller.client, childId);
        if (!child) continue;
        if (!isTerminalRuntimeStatus(child.runtimeStatus)) {
          await caller.client.terminate(childId, `Run ${runId} terminated by an operator: ${caller.reason}`);
          result.terminated.push(childId);
        }
        jobs.push(...jobsOfSubRun(child, workspaceId));
        if (depth >= MAX_SUB_RUN_DEPTH) continue;
        const withHistory = await readInstance(caller.client, childId, { history: true });
        if (withHistory) await terminateSubRuns(withHistory, depth + 1);
      }
    };
    await terminateSubRuns(run, 1);
    for (const job of jobs) {
      if (!job.workspaceId) continue;
      try {
        const ws = workspaceClient(job.workspaceId);
        const live = await ws.getJob(job.jobName);
        if (isTerminalJobStatus(live.status)) {
          result.jobsAlreadyFinished.push(job.jobName);
          continue;
        }
        await ws.cancelJob(job.jobName);
        result.cancelledJobs.push(job.jobName);
      } catch (err) {
        result.jobCancelFailures.push({ jobName: job.jobName, error: (err as Error).message });
      }
    }
    return { result: { ...result } };
  });
}

/** The run index learns of a termination here: the orchestration runs no more code to tell it. */
async function indexTermination(caller: ActionCaller, run: InstanceStatus): Promise<void> {
  const now = Date.now();
  try {
    await recordInstance(await appRunIndex(), { ...run, runtimeStatus: 'Terminated', output: caller.reason, lastUpdatedTime: new Date(now).toISOString() }, now);
  } catch (err) {
    caller.log(`The run index did not take the termination of ${run.instanceId}; its maintenance pass will: ${(err as Error).message}`, { runId: run.instanceId });
  }
}

/** `<runId>-r<n>`: reruns of one run are numbered; a rerun of a rerun counts on from the first run. */
async function nextRerunId(client: DurableClient, runId: string): Promise<string> {
  for (let n = 1; n <= MAX_RERUNS; n++) {
    const id = rerunId(runId, n);
    if (!(await instanceExists(client, id))) return id;
  }
  throw new OperatorError(409, 'TooManyReruns', `Run '${rerunBaseOf(runId)}' has been rerun ${MAX_RERUNS} times; start a fresh run instead.`);
}

/** A rerun is started by an operator, not by an arrival: its latency from arrival would measure the original's. */
function withoutArrival(input: Record<string, unknown>): Record<string, unknown> {
  const trigger = input.trigger;
  if (!trigger || typeof trigger !== 'object' || !('firstArrivalAt' in trigger)) return {};
  const { firstArrivalAt: _dropped, ...rest } = trigger as Record<string, unknown>;
  return { trigger: rest };
}

export async function rerunRun(caller: ActionCaller, runId: string): Promise<ActionResult> {
  const { run, status } = await requireRun(caller.client, runId);
  if (!FINISHED_STATUSES.includes(status.status)) {
    throw new OperatorError(409, 'RunNotFinished', `Run '${runId}' is ${status.status}; terminate it first, or wait for it to finish, before rerunning it.`);
  }
  const original = run.input && typeof run.input === 'object' && !Array.isArray(run.input) ? (run.input as Record<string, unknown>) : undefined;
  if (!original) throw new OperatorError(409, 'NoInput', `Run '${runId}' has no input to repeat (it may have been purged).`);
  return audited(caller, 'rerun', runId, {}, async () => {
    for (let tries = 0; ; tries++) {
      const newRunId = await nextRerunId(caller.client, runId);
      const input = { ...original, ...('runId' in original ? { runId: newRunId } : {}), ...withoutArrival(original), rerunOf: runId };
      await indexRunStarting(run.name, newRunId, input, { warn: (m: string) => caller.log(m) });
      try {
        await caller.client.startNew(run.name, { instanceId: newRunId, input });
      } catch (err) {
        // Another operator took this number at the same moment: take the next one.
        if (tries < 3 && /409|already exists/i.test((err as Error).message)) continue;
        throw err;
      }
      return { result: { newRunId, rerunOf: runId, orchestration: run.name }, createdRuns: [newRunId] };
    }
  });
}

export async function decideApproval(caller: ActionCaller, runId: string, approved: boolean): Promise<ActionResult> {
  const action = approved ? 'approve' : 'reject';
  const { run, status } = await requireRun(caller.client, runId);
  if (FINISHED_STATUSES.includes(status.status)) refuseFinished(runId, status.status, action);
  if (!isAwaitingApproval(run.customStatus)) {
    throw new OperatorError(409, 'NotAwaitingApproval', `Run '${runId}' is ${status.status}${status.phase ? ` (${status.phase})` : ''}, not waiting for an approval; only model runs at a manual gate can be ${approved ? 'approved' : 'rejected'}.`);
  }
  return audited(caller, action, runId, { approved }, async () => {
    await sendApprovalDecision(caller.client, runId, { approved, by: caller.actor.name, reason: caller.reason });
    return { result: { approved, decisionSentAs: 'Approval event' } };
  });
}

export async function purgeHistory(caller: ActionCaller, before: Date): Promise<ActionResult> {
  return audited(caller, 'purge', undefined, { before: before.toISOString() }, async () => {
    const purged = await caller.client.purgeInstanceHistoryBy({
      createdTimeFrom: new Date(0),
      createdTimeTo: before,
      runtimeStatus: ['Completed', 'Failed', 'Terminated', 'Canceled'] as Parameters<DurableClient['purgeInstanceHistoryBy']>[0]['runtimeStatus'],
    });
    return { result: { before: before.toISOString(), instancesDeleted: purged?.instancesDeleted ?? 0, kept: 'Run records and audit records are kept; only Durable history was deleted.' } };
  });
}

/** Restores the default deployment an endpoint had before its latest promotion (the model flow's rollback run). */
export async function rollbackEndpoint(caller: ActionCaller, endpoint: string, workspaceId?: string): Promise<ActionResult> {
  if (!/^[A-Za-z][A-Za-z0-9-]{1,31}$/.test(endpoint)) throw new OperatorError(400, 'InvalidEndpoint', `'${endpoint}' is not a batch endpoint name (letters, digits and hyphens, 2-32 characters).`);
  return audited(caller, 'rollback', undefined, { endpoint, ...(workspaceId ? { workspaceId } : {}) }, async () => {
    const r = await requestRollback(caller.client, { endpoint, workspaceId, by: caller.actor.name, reason: caller.reason });
    return {
      result: { rollbackRunId: r.instanceId, started: r.started, restores: r.target, replaces: r.current, promotionRunId: r.promotionRunId },
      createdRuns: [r.instanceId, r.promotionRunId],
    };
  });
}
