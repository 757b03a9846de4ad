// Run index tables on the test run's Azurite, each client noting every HTTP request it sends (so tests
// count Table requests, never time) and able to fail chosen requests (a writer dying between writes).
import { TableClient } from '@azure/data-tables';
import type { PipelinePolicy, PipelineRequest } from '@azure/core-rest-pipeline';
import { RunIndex, RunIndexTables } from '../../src/azure/runIndex';
import { runIndexTableNames } from '../../src/azure/runIndexKeys';
import { testAzurite, uniqueName } from '@batchpilot/local-platform';

export interface TableRequest {
  table: keyof RunIndexTables;
  method: string;
  url: string;
}

export interface CountingIndex {
  index: RunIndex;
  hub: string;
  requests: TableRequest[];
  /** Makes the next request for which `when` holds fail as a dropped connection would. */
  failNext(when: (r: TableRequest) => boolean): void;
  /** Runs `action` (another writer, say) before the next request for which `when` holds is sent. */
  beforeNext(when: (r: TableRequest) => boolean, action: () => Promise<unknown>): void;
}

export async function countingRunIndex(hub = uniqueName('ix')): Promise<CountingIndex> {
  const requests: TableRequest[] = [];
  const failures: Array<(r: TableRequest) => boolean> = [];
  const interludes: Array<{ when: (r: TableRequest) => boolean; action: () => Promise<unknown> }> = [];
  const names = runIndexTableNames(hub);
  const client = (table: keyof RunIndexTables): TableClient => {
    const policy: PipelinePolicy = {
      name: 'countRunIndexRequests',
      sendRequest: async (request: PipelineRequest, next) => {
        const r = { table, method: request.method, url: request.url };
        requests.push(r);
        const i = failures.findIndex((f) => f(r));
        if (i >= 0) {
          failures.splice(i, 1);
          throw Object.assign(new Error('socket hang up (injected: the writer died here)'), { code: 'ECONNRESET' });
        }
        const j = interludes.findIndex((x) => x.when(r));
        if (j >= 0) await interludes.splice(j, 1)[0].action();
        return next(request);
      },
    };
    return TableClient.fromConnectionString(testAzurite().connectionString, names[table], { allowInsecureConnection: true, additionalPolicies: [{ policy, position: 'perRetry' }], retryOptions: { maxRetries: 0 } });
  };
  const tables: RunIndexTables = { entries: client('entries'), byTime: client('byTime'), byRoute: client('byRoute'), byStatus: client('byStatus'), byKind: client('byKind') };
  await Promise.all(Object.values(tables).map((t: TableClient) => t.createTable()));
  requests.length = 0;
  return { index: new RunIndex(tables), hub, requests, failNext: (when) => failures.push(when), beforeNext: (when, action) => interludes.push({ when, action }) };
}
