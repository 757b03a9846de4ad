// coalescePartition: gathers one partition's arrivals (window and marker routes) and closes them into
// batches, each started as exactly one scoring run. The arrivals ledger is the truth and is read at
// the start of every generation; the `ArrivalRecorded` event only wakes this instance and moves its
// timer, so a lost wake-up costs a timer tick, never a file, and a burst of arrivals costs episodes,
// not ledger reads. Idle partitions cost nothing (no timer while nothing is pending); history stays
// bounded (continue as new after every batch and every hundred wake-ups).
import type { OrchestrationContext, Task, TimerTask } from 'durable-functions';
import { ACTIVITY, callActivity, PartitionSnapshot } from '../activities/contracts';
import type { BlobRoute } from '../config/routes';
import { SCORE_BLOB_RUN, ScoreBlobRunInput } from './scoreBlobRun';
import { clip } from '../domain/untrustedText';
import { replaySafeLog } from './replaySafeLog';

export const COALESCE_PARTITION = 'coalescePartition';
export const ARRIVAL_EVENT = 'ArrivalRecorded';
const WAKEUPS_PER_GENERATION = 100;

export interface CoalescePartitionInput {
  route: BlobRoute;
  partition: string;
  /** URL of the partition folder (UriFolder input). */
  folderUrl: string;
  workspaceId: string;
  topicEndpoint: string;
  /** Run IDs for this partition's batches: `${runIdPrefix}-b<batch number>`. */
  runIdPrefix: string;
  batchesClosed?: number;
}

interface CloseDecision {
  close: boolean;
  why?: string;
  /** When to look again if not closing now. */
  wakeAt?: Date;
}

export function decideClose(route: BlobRoute, s: PartitionSnapshot, now: Date): CloseDecision {
  const b = route.batching;
  if (b.mode === 'perFile') return { close: s.pending > 0, why: 'per-file route' };
  const first = s.firstArrivalAt ? new Date(s.firstArrivalAt).getTime() : undefined;
  const last = s.lastArrivalAt ? new Date(s.lastArrivalAt).getTime() : undefined;
  const t = now.getTime();
  if (b.mode === 'marker') {
    if (s.markerSeen) return { close: true, why: `marker ${b.markerName} arrived` };
    const markerlessSince = first;
    if (markerlessSince === undefined) return { close: false };
    if (t - markerlessSince >= b.maxWaitInSeconds * 1000) return { close: true, why: `no marker within ${b.maxWaitInSeconds}s of the first file` };
    return { close: false, wakeAt: new Date(markerlessSince + b.maxWaitInSeconds * 1000) };
  }
  if (s.pending === 0 || first === undefined || last === undefined) return { close: false };
  if (s.pending >= b.maxFiles) return { close: true, why: `${s.pending} files reached maxFiles ${b.maxFiles}` };
  if (t - last >= b.quietPeriodInSeconds * 1000) return { close: true, why: `quiet for ${b.quietPeriodInSeconds}s` };
  if (t - first >= b.maxWaitInSeconds * 1000) return { close: true, why: `open for maxWaitInSeconds ${b.maxWaitInSeconds}` };
  return { close: false, wakeAt: new Date(Math.min(last + b.quietPeriodInSeconds * 1000, first + b.maxWaitInSeconds * 1000)) };
}

/** What the intake says when it wakes the coalescer. */
export interface ArrivalWakeUp {
  role: 'input' | 'marker';
}

/** When the partition must be looked at again, given what has arrived; undefined = only on arrival. */
export function nextCheckAt(route: BlobRoute, firstArrival: number | undefined, lastArrival: number | undefined): number | undefined {
  const b = route.batching;
  if (b.mode === 'perFile' || firstArrival === undefined || lastArrival === undefined) return undefined;
  if (b.mode === 'marker') return firstArrival + b.maxWaitInSeconds * 1000;
  return Math.min(lastArrival + b.quietPeriodInSeconds * 1000, firstArrival + b.maxWaitInSeconds * 1000);
}

export function* coalescePartition(context: OrchestrationContext): Generator<Task, void, unknown> {
  const input = context.df.getInput() as CoalescePartitionInput;
  const { route, partition } = input;
  const log = replaySafeLog(context, { route: route.name, partition: clip(partition) });

  // Every generation starts from the ledger, the truth; wake-ups in between only move timers.
  const snapshot = yield* callActivity(context, ACTIVITY.peekPartition, { routeName: route.name, partition });
  const now = context.df.currentUtcDateTime;
  const decision = decideClose(route, snapshot, now);
  context.df.setCustomStatus({ phase: decision.close ? 'closing batch' : 'gathering', pending: snapshot.pending, markerSeen: snapshot.markerSeen, nextBatchNumber: snapshot.nextBatchNumber, batchesClosed: input.batchesClosed ?? 0 });
  if (decision.close) {
    const runId = `${input.runIdPrefix}-b${snapshot.nextBatchNumber}`;
    const batch = yield* callActivity(context, ACTIVITY.closePartitionBatch, { routeName: route.name, partition, batchNumber: snapshot.nextBatchNumber, runId, upTo: now.toISOString(), markerIsManifest: route.batching.mode === 'marker' && route.batching.manifest, route });
    log(`Closing batch ${batch.batchNumber} with ${batch.files.length} file(s): ${decision.why}.`, { runId });
    if (batch.files.length > 0 || batch.refusal) {
      const runInput: ScoreBlobRunInput = {
        runId,
        route,
        workspaceId: input.workspaceId,
        topicEndpoint: input.topicEndpoint,
        trigger: { kind: 'blob', eventIds: [], partition, batchNumber: batch.batchNumber, markerUrl: batch.markerUrl, ...(batch.firstArrivalAt ? { firstArrivalAt: batch.firstArrivalAt } : {}) },
        files: batch.files,
        folderUrl: input.folderUrl,
        refusal: batch.refusal,
      };
      yield* callActivity(context, ACTIVITY.startScoringRun, { runId, orchestration: SCORE_BLOB_RUN, input: runInput });
    }
    context.df.continueAsNew({ ...input, batchesClosed: (input.batchesClosed ?? 0) + 1 });
    return;
  }

  let pending = snapshot.pending;
  let first = snapshot.firstArrivalAt ? new Date(snapshot.firstArrivalAt).getTime() : undefined;
  let last = snapshot.lastArrivalAt ? new Date(snapshot.lastArrivalAt).getTime() : undefined;
  let timer: TimerTask | undefined;
  for (let wakeups = 0; wakeups < WAKEUPS_PER_GENERATION; wakeups++) {
    const dueAt = nextCheckAt(route, first, last);
    // One timer at a time: when arrivals push the deadline later, the running timer fires early and
    // is re-armed, instead of a new timer per arrival.
    if (dueAt !== undefined && !timer) timer = context.df.createTimer(new Date(dueAt));
    const arrival = context.df.waitForExternalEvent(ARRIVAL_EVENT);
    const winner = timer ? yield context.df.Task.any([arrival, timer]) : yield arrival;
    const at = context.df.currentUtcDateTime.getTime();
    if (timer && winner === timer) {
      timer = undefined;
      if (dueAt !== undefined && at >= dueAt) break;
      continue;
    }
    const wake = arrival.result as ArrivalWakeUp | undefined;
    if (!wake || wake.role === 'marker') break;
    pending += 1;
    first ??= at;
    last = at;
    if (route.batching.mode === 'window' && pending >= route.batching.maxFiles) break;
  }
  timer?.cancel();
  context.df.continueAsNew(input);
}
