// Where finished runs' measurements are kept for the operator API's route health and the drift rule's
// baselines: the `<hub>RunMeasurements` table in runtime storage, one partition per route, row keys
// newest first (inverted finish time, then the run ID), so "the route's runs since T" and "the route's
// latest completed runs" are each one range query of one partition. Writing is an upsert keyed by the
// run, so a repeated write after a crash changes nothing.
import type { TableClient } from '@azure/data-tables';
import type { RunMeasurements } from '../domain/runMeasurements';
import { rethrowClassified } from './errorClassification';
import { readyRuntimeTable } from './storageClients';
import { odataString } from './runIndexKeys';

const MAX_TIME = 8_640_000_000_000_000;
/** Rows one health read takes at most per route (a route running once a minute for a week is ~10,000). */
export const MAX_MEASUREMENTS_PER_READ = 20_000;
/** Completed runs a drift baseline looks back through for runs that kept their scores. */
export const MAX_BASELINE_CANDIDATES = 500;

type MeasurementEntity = { partitionKey: string; rowKey: string; m: string; outcome: string; finishedAt: string; profile?: string };

/** The table's name for a task hub: each hub (each app, each test stack) keeps its own. */
export function runMeasurementsTableName(taskHub: string): string {
  if (!/^[A-Za-z][A-Za-z0-9]{2,44}$/.test(taskHub)) throw new Error(`Task hub name '${taskHub}' is not 3-45 letters and digits starting with a letter; the run measurements table is named after it.`);
  return `${taskHub}RunMeasurements`;
}

function invertedTime(iso: string): string {
  const ms = Date.parse(iso);
  if (!Number.isFinite(ms)) throw new Error(`'${iso}' is not a time: a run's measurements need its finish time.`);
  return String(MAX_TIME - ms).padStart(16, '0');
}

function partitionOf(route: string): string {
  return `route~${route}`;
}

export class RunMeasurementStore {
  constructor(private readonly table: TableClient) {}

  async record(m: RunMeasurements): Promise<void> {
    const entity: MeasurementEntity = {
      partitionKey: partitionOf(m.route),
      rowKey: `${invertedTime(m.finishedAt)}~${m.runId}`,
      m: JSON.stringify(m),
      outcome: m.outcome,
      finishedAt: m.finishedAt,
      ...(m.scoreProfile ? { profile: m.scoreProfile } : {}),
    };
    try {
      await this.table.upsertEntity(entity, 'Replace');
    } catch (err) {
      rethrowClassified(err, `Recording the measurements of run ${m.runId}`);
    }
  }

  /** The route's runs that finished at or after `since`, newest first, at most `limit`. */
  async listSince(route: string, since: Date, limit = MAX_MEASUREMENTS_PER_READ): Promise<{ runs: RunMeasurements[]; truncated: boolean }> {
    const upTo = `${invertedTime(since.toISOString())}~\uffff`;
    const filter = `PartitionKey eq ${odataString(partitionOf(route))} and RowKey le ${odataString(upTo)}`;
    const runs: RunMeasurements[] = [];
    try {
      for await (const page of this.table.listEntities<MeasurementEntity>({ queryOptions: { filter, select: ['m'] } }).byPage({ maxPageSize: 1000 })) {
        for (const e of page) {
          if (runs.length >= limit) return { runs, truncated: true };
          runs.push(JSON.parse(e.m) as RunMeasurements);
        }
      }
    } catch (err) {
      rethrowClassified(err, `Reading the measurements of route ${route}`);
    }
    return { runs, truncated: false };
  }

  /**
   * The route's latest completed runs that kept a score profile, newest first (the drift rule's baseline).
   * Looks at most MAX_BASELINE_CANDIDATES completed runs back, so a rule added to a long-running route
   * does not read its whole history before its first profiles exist.
   */
  async latestProfiled(route: string, count: number, excludeRunId?: string): Promise<Array<{ runId: string; profile: string; finishedAt: string }>> {
    const filter = `PartitionKey eq ${odataString(partitionOf(route))} and outcome eq 'Completed'`;
    const found: Array<{ runId: string; profile: string; finishedAt: string }> = [];
    let looked = 0;
    try {
      for await (const page of this.table.listEntities<MeasurementEntity>({ queryOptions: { filter, select: ['RowKey', 'profile', 'finishedAt'] } }).byPage({ maxPageSize: 100 })) {
        for (const e of page) {
          if (++looked > MAX_BASELINE_CANDIDATES) return found;
          const runId = e.rowKey.slice(e.rowKey.indexOf('~') + 1);
          if (!e.profile || runId === excludeRunId) continue;
          found.push({ runId, profile: e.profile, finishedAt: e.finishedAt });
          if (found.length >= count) return found;
        }
      }
    } catch (err) {
      rethrowClassified(err, `Reading the drift baseline of route ${route}`);
    }
    return found;
  }
}

let shared: { hub: string; store: Promise<RunMeasurementStore> } | undefined;

/** The measurements of this app's task hub (BATCHPILOT_TASK_HUB), table created on first use. */
export function appRunMeasurements(env: NodeJS.ProcessEnv = process.env): Promise<RunMeasurementStore> {
  const hub = (env.BATCHPILOT_TASK_HUB ?? '').trim();
  if (!hub) return Promise.reject(new Error('BATCHPILOT_TASK_HUB is not set: run measurements are kept per task hub.'));
  if (shared?.hub !== hub) {
    const store = readyRuntimeTable(runMeasurementsTableName(hub)).then((t) => new RunMeasurementStore(t));
    store.catch(() => {
      if (shared?.store === store) shared = undefined;
    });
    shared = { hub, store };
  }
  return shared.store;
}
