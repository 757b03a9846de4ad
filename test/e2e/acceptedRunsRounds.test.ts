// The run-start tick reads what it starts: however many accepted runs wait, each round reads one page of
// due runs onward through the table, so a burst of N runs costs about N row reads, not N²/200. The
// reading goes round the table, so a waiting run comes up within one sweep whatever arrives before it,
// and runs waiting for a retry are skipped until their time.
import { TableClient } from '@azure/data-tables';
import type { PipelinePolicy } from '@azure/core-rest-pipeline';
import { InvocationContext } from '@azure/functions';
import type { DurableClient } from 'durable-functions';
import { testAzurite, uniqueName } from '@batchpilot/local-platform';
import { acceptedRunsTableName, RunAcceptance } from '../../src/azure/runAcceptance';
import { startAcceptedRuns } from '../../src/events/acceptedRuns';

interface CountingTable {
  acceptance: RunAcceptance;
  /** Entities the table's queries have returned so far. */
  rowsRead: () => number;
}

async function countingAcceptance(): Promise<CountingTable> {
  let rowsRead = 0;
  const counter: PipelinePolicy = {
    name: 'countRowsRead',
    sendRequest: async (request, next) => {
      const response = await next(request);
      if (request.method === 'GET' && response.bodyAsText) rowsRead += ((JSON.parse(response.bodyAsText) as { value?: unknown[] }).value ?? []).length;
      return response;
    },
  };
  const table = TableClient.fromConnectionString(testAzurite().connectionString, acceptedRunsTableName(uniqueName('acc')), { allowInsecureConnection: true });
  table.pipeline.addPolicy(counter);
  await table.createTable();
  return { acceptance: new RunAcceptance(async () => table), rowsRead: () => rowsRead };
}

/** A durable client with no instances yet, noting what it is asked to start. */
function startingClient(): { client: DurableClient; started: string[] } {
  const started: string[] = [];
  const known = new Set<string>();
  const client = {
    getStatus: async (id: string) => {
      if (!known.has(id)) throw new Error(`Instance ${id} not found: status code: 404`);
      return { instanceId: id };
    },
    startNew: async (_name: string, options: { instanceId: string }) => {
      started.push(options.instanceId);
      known.add(options.instanceId);
      return options.instanceId;
    },
  } as unknown as DurableClient;
  return { client, started };
}

const context = (): InvocationContext => new InvocationContext({ functionName: 'startAcceptedRuns', invocationId: 'test', logHandler: () => undefined });
const run = (i: number): { runId: string; orchestration: string; input: unknown } => ({ runId: `bp-rounds-${String(i).padStart(5, '0')}`, orchestration: 'scoreBlobRun', input: { runId: `bp-rounds-${i}` } });

describe('the run-start tick', () => {
  it('starts a burst of 1,000 accepted runs once each, reading each row about once', async () => {
    const { acceptance, rowsRead } = await countingAcceptance();
    for (let i = 0; i < 1000; i += 50) await Promise.all(Array.from({ length: 50 }, (_, k) => acceptance.accept(run(i + k))));
    const before = rowsRead();
    const { client, started } = startingClient();
    const report = await startAcceptedRuns(client, context(), { acceptance });
    expect(report).toMatchObject({ due: 1000, started: 1000, failed: 0 });
    expect(new Set(started).size).toBe(1000);
    expect(started).toHaveLength(1000);
    // Reading everything waiting in every round of 200 would be 1,000 + 800 + ... + 200 = 3,000 rows.
    expect(rowsRead() - before).toBeLessThanOrEqual(1000 + 200);
    expect(await acceptance.pending()).toEqual([]);
  });

  it('comes round to every due run within one sweep, skipping runs whose retry is not yet due', async () => {
    const { acceptance } = await countingAcceptance();
    const runs = Array.from({ length: 30 }, (_, i) => run(i));
    for (const r of runs) await acceptance.accept(r);
    const now = new Date();
    const waiting = (await acceptance.pending()).filter((r) => Number(r.runId.slice(-2)) % 5 === 0);
    for (const r of waiting) await acceptance.failed(r, 'injected', new Date(now.getTime() + 60_000));
    const seen: string[] = [];
    for (let call = 0; call < 3; call++) seen.push(...(await acceptance.due(now, 8)).map((r) => r.runId));
    // Three calls of 8 read 24 of the 24 due runs, each once, none of the 6 waiting.
    expect(seen).toHaveLength(24);
    expect(new Set(seen).size).toBe(24);
    expect(seen.filter((id) => waiting.some((w) => w.runId === id))).toEqual([]);
    // A run accepted meanwhile is read in the next sweep, after the runs of this one that are still due.
    const late = { ...run(99_999), runId: 'bp-rounds-00000-late' };
    await acceptance.accept(late);
    const next = (await acceptance.due(new Date(), 30)).map((r) => r.runId);
    expect(next).toHaveLength(25);
    expect(next).toContain(late.runId);
    // Once its retry is due, a waiting run is read like the others.
    expect((await acceptance.due(new Date(now.getTime() + 120_000), 40)).map((r) => r.runId)).toEqual(expect.arrayContaining(waiting.map((w) => w.runId)));
  });
});
