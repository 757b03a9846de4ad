// Filling and mending the run index from the Durable instance store.
// - Backfill: runs created before the index existed are written from their instances, page by page,
//   its position kept in the index, so it resumes where it stopped (the maintenance timer and `batchpilot
//   runs backfill-index` share it; two at once cannot both advance it). A run written since by its own
//   orchestration keeps the newer state: the backfill writes with the instance's last update as version.
// - Maintenance: runs the index shows as not finished but whose last write is old are checked against
//   their instance (an orchestration that failed without writing, one from before the index, a write
//   lost after its retries); a Pending run whose instance never appeared is recorded as failed to start;
//   a view row left in an active status by a writer that died between a late write and its clean-up is
//   removed. Bounded by the number of unfinished runs, not by history.
import type { DurableClient } from 'durable-functions';
import type { RunSummary } from './operatorApiTypes';
import { InstanceStatus, queryInstancePage, readInstance } from './runInstances';
import { summariseRun } from './runSummaries';
import { recordInstance } from '../activities/runIndexActivities';
import { BackfillState, RunIndex } from '../azure/runIndex';
import { BACKFILL_SEQ, indexVersion } from '../azure/runIndexKeys';

export interface BackfillOptions {
  /** Start no new page after this long (one page is always read; the state says where to go on). */
  timeBudgetInMs?: number;
  pageSize?: number;
  now?: () => number;
}

const WRITES_IN_FLIGHT = 16;

function lastUpdatedMs(s: InstanceStatus): number {
  const t = Date.parse(s.lastUpdatedTime || s.createdTime);
  return Number.isNaN(t) ? 0 : t;
}

async function inBatches<T>(items: readonly T[], size: number, work: (item: T) => Promise<void>): Promise<void> {
  for (let i = 0; i < items.length; i += size) await Promise.all(items.slice(i, i + size).map(work));
}

/** Backfills for up to the time budget; returns the state it left (complete once every run is in). */
export async function backfillRunIndex(client: DurableClient, index: RunIndex, options: BackfillOptions = {}): Promise<BackfillState> {
  const now = options.now ?? Date.now;
  const deadline = now() + (options.timeBudgetInMs ?? 20_000);
  let current = await index.backfillState();
  if (!current) {
    const at = new Date(now()).toISOString();
    const fresh: BackfillState = { state: 'running', upTo: at, instancesRead: 0, runsWritten: 0, startedAt: at };
    await index.saveBackfillState(fresh, undefined);
    current = await index.backfillState();
    if (!current) throw new Error('The run index backfill state was written but cannot be read back.');
  }
  for (let pages = 0; ; pages++) {
    const { etag, ...state } = current;
    // At least one page a call, however small the budget.
    if (state.state === 'complete' || (pages > 0 && now() >= deadline)) return state;
    const page = await queryInstancePage(client, { createdTimeTo: new Date(state.upTo) }, options.pageSize ?? 100, state.position);
    let written = 0;
    await inBatches(page.items, WRITES_IN_FLIGHT, async (s) => {
      const outcome = await recordInstance(index, s, lastUpdatedMs(s), BACKFILL_SEQ);
      if (outcome?.applied) written++;
    });
    const next: BackfillState = {
      ...state,
      position: page.continuationToken,
      instancesRead: state.instancesRead + page.items.length,
      runsWritten: state.runsWritten + written,
      ...(page.continuationToken ? {} : { state: 'complete' as const, completedAt: new Date(now()).toISOString() }),
    };
    // Someone else moved the backfill on meanwhile: leave the rest to them.
    if (!(await index.saveBackfillState(next, etag))) return (await index.backfillState()) ?? next;
    current = (await index.backfillState()) ?? { ...next, etag: '' };
  }
}

export interface MaintenanceOptions {
  now?: () => number;
  /** Unfinished runs whose index entry is older than this are checked against their instance. */
  staleAfterInMs?: number;
  /** A Pending run with no instance this long after it was announced never started. */
  neverStartedAfterInMs?: number;
  maxRuns?: number;
}

export interface MaintenanceReport {
  checked: number;
  updated: string[];
  neverStarted: string[];
  strayRowsRemoved: number;
}

export async function maintainRunIndex(client: DurableClient, index: RunIndex, options: MaintenanceOptions = {}): Promise<MaintenanceReport> {
  const now = (options.now ?? Date.now)();
  const staleAfter = options.staleAfterInMs ?? 5 * 60_000;
  const neverStartedAfter = options.neverStartedAfterInMs ?? 15 * 60_000;
  const report: MaintenanceReport = { checked: 0, updated: [], neverStarted: [], strayRowsRemoved: 0 };
  const active = await index.activeRuns(options.maxRuns ?? 1000);
  const byRun = new Map<string, typeof active>();
  for (const row of active) byRun.set(row.runId, [...(byRun.get(row.runId) ?? []), row]);
  await inBatches([...byRun.entries()], WRITES_IN_FLIGHT, async ([runId, rows]) => {
    const entry = await index.get(runId);
    if (!entry) return;
    // A row in an active status the entry has left: a late write from a writer that died after it.
    for (const row of rows.filter((r) => r.status !== entry.summary.status)) if (await index.removeViewRowIfUnchanged(row)) report.strayRowsRemoved++;
    if (!rows.some((r) => r.status === entry.summary.status)) return;
    const updatedMs = Date.parse(entry.summary.lastUpdatedAt);
    if (now - updatedMs < staleAfter) return;
    report.checked++;
    const instance = await readInstance(client, runId);
    if (!instance) {
      if (entry.summary.status === 'Pending' && now - Date.parse(entry.summary.createdAt) >= neverStartedAfter) {
        const summary: RunSummary = { ...entry.summary, status: 'Failed', runtimeStatus: 'Failed', lastUpdatedAt: new Date(now).toISOString(), reason: 'The run was announced but never started: no Durable instance with its ID exists. Start it again (POST /api/ops/runs or batchpilot runs start).' };
        if ((await index.record({ summary, text: entry.text, version: indexVersion('Failed', now) })).applied) report.neverStarted.push(runId);
      }
      return;
    }
    const summary = summariseRun(instance);
    if (!summary) return;
    if (summary.status === entry.summary.status && lastUpdatedMs(instance) <= updatedMs) return;
    if ((await recordInstance(index, instance, lastUpdatedMs(instance), BACKFILL_SEQ))?.applied) report.updated.push(runId);
  });
  return report;
}
