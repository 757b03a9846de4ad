// Benchmarks of the run index (src/azure/runIndex.ts), each measured in this run:
// - queries with 100,000 runs in the index, on an Azurite of its own: p50 and p99 of the first page of
//   the list, filtered lists, and counts (goal: list p99 under 200 ms). The runs are a year of them,
//   seeded with the rows the index writes, in batch transactions of 100.
// - intake: BlobCreated events per second `intakeStorageEvents` accepts on a perFile route, each event
//   delivered 3 times, through the local host's Event Grid webhook on the local stack (goal: 500/s on 2
//   cores), in batches of the size the storage subscription delivers (infra/eventSubscriptions.json),
//   then one event per POST for comparison. An event is accepted once its run is handed on
//   (src/azure/runAcceptance.ts); the run-start timer starts the accepted runs beside the intake, and the
//   time until all have started is printed too.
// The machine may be shared: the load average is printed with the figures.
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { randomUUID } from 'node:crypto';
import { TableClient, TransactionAction } from '@azure/data-tables';
import { startAzurite } from '@batchpilot/local-platform';
import { destinationFunctionName, loadEventGridLocalConfig } from '@batchpilot/eventgrid-emulator';
import { EVENT_SUBSCRIPTIONS_FILE, FREE_PORTS, INPUT_CONTAINER, RunningLocalStack, startLocalStack } from '../src/local/stack/localStack';
import { IndexListQuery, RunIndex, RunIndexTables, rowsOfNewRun } from '../src/azure/runIndex';
import { entryPartition, indexVersion, runIndexTableNames, VIEW_NAMES } from '../src/azure/runIndexKeys';
import { FINISHED_STATUSES, RunKind, RunStatus, RunSummary } from '../src/operator/operatorApiTypes';
import { acceptedRunsWaiting } from '../src/local/stack/stackClients';
import type { BenchRow, BenchSection } from './benchSection';

const RUNS = Number(process.env.BENCH_INDEX_RUNS ?? 100_000);
const SAMPLES = Number(process.env.BENCH_INDEX_SAMPLES ?? 200);
const INTAKE_EVENTS = Number(process.env.BENCH_INTAKE_EVENTS ?? 1500);
const INTAKE_CONCURRENCY = Number(process.env.BENCH_INTAKE_CONCURRENCY ?? 48);
const LIST_P99_GOAL_IN_MS = 200;
const INTAKE_GOAL_PER_SECOND = 500;
const INTAKE_DRAIN_LIMIT_IN_MS = 300_000;
const YEAR_IN_MS = 365 * 86_400_000;

const ROUTES = ['daily-scoring', 'hourly-scoring', 'eu-scoring', 'us-scoring', 'apac-scoring', 'backfill', 'churn-models', 'rare-route'];

function load(): string {
  return os.loadavg().map((l) => l.toFixed(2)).join(' / ');
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

/** A deterministic mix: most runs are blob runs on busy routes that completed; a few wait, fail or run. */
function runAt(i: number, now: number): RunSummary {
  const createdMs = now - Math.floor(((RUNS - i) / RUNS) * YEAR_IN_MS);
  const r = (i * 2654435761) % 1000;
  const kind: RunKind = r < 950 ? 'blob' : r < 990 ? 'model' : 'rollback';
  const route = kind === 'blob' ? (r % 97 === 3 ? 'rare-route' : ROUTES[r % 6]) : 'churn-models';
  const recent = RUNS - i < 200;
  const status: RunStatus = recent && r % 3 === 0 ? (kind === 'model' ? 'AwaitingApproval' : 'Running') : kind === 'model' ? (r % 2 ? 'Promoted' : 'Rejected') : kind === 'rollback' ? 'RolledBack' : r % 20 === 0 ? 'Failed' : r % 33 === 0 ? 'ValidationFailed' : 'Completed';
  const runId = `${kind === 'blob' ? 'bp' : kind === 'model' ? 'bpm' : 'bpr'}-${route}-${i.toString(16).padStart(12, '0')}`;
  const createdAt = new Date(createdMs).toISOString();
  const file = `input/${route}/${createdAt.slice(0, 10)}/part-${i % 50}.csv`;
  return {
    runId,
    kind,
    orchestration: kind === 'blob' ? 'scoreBlobRun' : kind === 'model' ? 'promoteModel' : 'rollbackModel',
    status,
    runtimeStatus: FINISHED_STATUSES.includes(status) ? 'Completed' : 'Running',
    phase: FINISHED_STATUSES.includes(status) ? 'done' : status === 'AwaitingApproval' ? 'awaiting approval' : 'running job',
    route,
    createdAt,
    lastUpdatedAt: new Date(createdMs + 240_000).toISOString(),
    inputs: kind === 'blob' ? [file] : [],
    inputCount: kind === 'blob' ? 1 : 0,
    ...(kind === 'blob' ? { endpoint: 'churn-scoring', jobName: `job-${i.toString(36)}` } : { model: { name: 'churn', version: String(i % 40) }, endpoint: 'churn-scoring' }),
    ...(status === 'Failed' ? { reason: 'The Azure ML job ended Failed.' } : {}),
  };
}

async function seed(tables: RunIndexTables, now: number): Promise<number> {
  const started = Date.now();
  const batches = new Map<string, { table: TableClient; actions: TransactionAction[] }>();
  const counters = new Map<string, { partitionKey: string; rowKey: string; route: string; kind: string } & Partial<Record<RunStatus, number>>>();
  const pending: Array<{ table: TableClient; actions: TransactionAction[] }> = [];
  const add = (table: TableClient, name: string, entity: { partitionKey: string; rowKey: string }): void => {
    const key = `${name}/${entity.partitionKey}`;
    let b = batches.get(key);
    if (!b) batches.set(key, (b = { table, actions: [] }));
    b.actions.push(['create', entity]);
    if (b.actions.length === 100) {
      pending.push(b);
      batches.delete(key);
    }
  };
  for (let i = 0; i < RUNS; i++) {
    const summary = runAt(i, now);
    const rows = rowsOfNewRun({ summary, text: [summary.runId, summary.route, summary.jobName, ...summary.inputs].filter(Boolean).join('\n').toLowerCase(), version: indexVersion(summary.status, Date.parse(summary.lastUpdatedAt)) });
    add(tables.entries, 'entries', rows.entry);
    for (const v of rows.views) add(tables[v.view], v.view, v.row);
    for (const rowKey of rows.counters) {
      const partitionKey = entryPartition(summary.runId);
      const key = `${partitionKey}/${rowKey}`;
      const c = counters.get(key) ?? { partitionKey, rowKey, route: summary.route!, kind: summary.kind };
      c[summary.status] = (c[summary.status] ?? 0) + 1;
      counters.set(key, c);
    }
  }
  pending.push(...batches.values());
  batches.clear();
  for (const c of counters.values()) add(tables.entries, 'counters', c);
  pending.push(...batches.values());
  let next = 0;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (next < pending.length) {
        const b = pending[next++];
        await b.table.submitTransaction(b.actions);
      }
    }),
  );
  return (Date.now() - started) / 1000;
}

async function measure(label: string, rows: BenchRow[], op: () => Promise<unknown>, goalInMs?: number): Promise<void> {
  for (let i = 0; i < 5; i++) await op();
  const times: number[] = [];
  for (let i = 0; i < SAMPLES; i++) {
    const t = process.hrtime.bigint();
    await op();
    times.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  times.sort((a, b) => a - b);
  const p99 = percentile(times, 99);
  rows.push({ name: `${label}: p50`, value: percentile(times, 50), unit: 'ms' });
  rows.push({ name: `${label}: p99`, value: p99, unit: 'ms', note: goalInMs ? `goal < ${goalInMs} ms: ${p99 < goalInMs ? 'goal met' : 'goal missed'}` : undefined });
}

async function benchQueries(rows: BenchRow[]): Promise<void> {
  const azurite = await startAzurite({ blobPort: 0, queuePort: 0, tablePort: 0 });
  try {
    const names = runIndexTableNames('benchindex');
    const client = (name: string): TableClient => TableClient.fromConnectionString(azurite.connectionString, name, { allowInsecureConnection: true });
    const tables = { entries: client(names.entries), ...Object.fromEntries(VIEW_NAMES.map((v) => [v, client(names[v])])) } as RunIndexTables;
    await Promise.all(Object.values(tables).map((t: TableClient) => t.createTable()));
    const now = Date.now();
    const seconds = await seed(tables, now);
    rows.push({ name: `seeded ${RUNS} runs (a year)`, value: seconds, unit: 's', note: `${RUNS * 5} rows and the counters, batches of 100; load ${load()}` });
    const index = new RunIndex(tables);
    const list = (q: Partial<IndexListQuery>) => () => index.list({ pageSize: 50, ...q }, now);
    const requests = async (q: Partial<IndexListQuery>): Promise<number> => (await index.list({ pageSize: 50, ...q }, now)).tableRequests;
    await measure('list, first page of 50', rows, list({}), LIST_P99_GOAL_IN_MS);
    const second = (await index.list({ pageSize: 50 }, now)).next;
    await measure('list, second page of 50', rows, list({ after: second }), LIST_P99_GOAL_IN_MS);
    await measure('list route=eu-scoring', rows, list({ routes: ['eu-scoring'] }), LIST_P99_GOAL_IN_MS);
    await measure('list status=Failed', rows, list({ statuses: ['Failed'] }), LIST_P99_GOAL_IN_MS);
    await measure('list route=rare-route&status=Failed', rows, list({ routes: ['rare-route'], statuses: ['Failed'] }), LIST_P99_GOAL_IN_MS);
    await measure('list kind=rollback', rows, list({ kinds: ['rollback'] }), LIST_P99_GOAL_IN_MS);
    await measure('list last 7 days', rows, list({ fromMs: now - 7 * 86_400_000 }), LIST_P99_GOAL_IN_MS);
    await measure('list q=part-7.csv (text)', rows, list({ text: 'part-7.csv' }));
    rows.push({ name: 'Table requests: list / route / rare route+status / text', value: await requests({}), unit: 'req', note: `${await requests({ routes: ['eu-scoring'] })} / ${await requests({ routes: ['rare-route'], statuses: ['Failed'] })} / ${await requests({ text: 'part-7.csv' })}` });
    await measure('counts, all runs', rows, () => index.count({}, now));
    await measure('counts route=eu-scoring', rows, () => index.count({ routes: ['eu-scoring'] }, now));
    await measure('counts last 30 days (partial ends)', rows, () => index.count({ fromMs: now - 30 * 86_400_000 }, now));
    const all = await index.count({}, now);
    rows.push({ name: 'counts: runs counted', value: all.total, unit: 'runs', note: `${all.tableRequests} Table requests (one per entry shard); load ${load()}` });
  } finally {
    await azurite.stop();
  }
}

/** Events per delivery of the storage intake's subscription, as infra/ creates it and the emulator delivers. */
function intakeBatchSize(): number {
  const config = loadEventGridLocalConfig(EVENT_SUBSCRIPTIONS_FILE);
  const subscription = config.subscriptions.find((s) => s.destination.endpointType === 'AzureFunction' && destinationFunctionName(s.destination.properties) === 'intakeStorageEvents');
  if (!subscription || subscription.destination.endpointType !== 'AzureFunction') throw new Error(`${EVENT_SUBSCRIPTIONS_FILE} has no subscription for intakeStorageEvents.`);
  return subscription.destination.properties.maxEventsPerBatch ?? 1;
}

/** POSTs `body` to the webhook over a kept-alive connection; whether it was answered 2xx. A load generator cheap on CPU: the host and Azurite share the machine with it. */
function post(agent: http.Agent, url: URL, body: string): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'POST', agent, headers: { 'content-type': 'application/json', 'aeg-event-type': 'Notification', 'content-length': Buffer.byteLength(body) } }, (res) => {
      res.resume();
      res.on('end', () => resolve((res.statusCode ?? 0) >= 200 && (res.statusCode ?? 0) < 300));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/**
 * One pass: INTAKE_EVENTS new BlobCreated events, each delivered three times (the copies spread through
 * the stream, as Event Grid's at-least-once delivery may), `batchSize` events to a POST,
 * INTAKE_CONCURRENCY POSTs at a time; `goal` marks the pass the goal is judged on.
 * Then waits until every accepted run has started. Rows: the intake's rate, and the starts'.
 */
async function intakePass(stack: RunningLocalStack, agent: http.Agent, label: string, batchSize: number, goal: boolean, rows: BenchRow[]): Promise<void> {
  const keys = JSON.parse(fs.readFileSync(stack.host!.keysFile, 'utf8')) as { systemKeys: Record<string, string> };
  const hook = new URL(`${stack.hostUrl}/runtime/webhooks/eventgrid?functionName=intakeStorageEvents&code=${encodeURIComponent(keys.systemKeys.eventgrid_extension)}`);
  const blobEndpoint = /BlobEndpoint=([^;]+)/.exec(stack.dataConnectionString)![1].replace(/\/$/, '');
  const pass = randomUUID().slice(0, 8);
  const events = Array.from({ length: INTAKE_EVENTS }, (_, i) => ({
    topic: '/subscriptions/00000000-0000-4000-8000-0000000b47c4/resourceGroups/batchpilot-local/providers/Microsoft.Storage/storageAccounts/devstoreaccount1',
    subject: `/blobServices/default/containers/${INPUT_CONTAINER}/blobs/rate/${pass}/file-${i}.csv`,
    eventType: 'Microsoft.Storage.BlobCreated',
    id: randomUUID(),
    data: { api: 'PutBlob', requestId: randomUUID(), eTag: `0x8DC${i.toString(16).padStart(13, '0').toUpperCase()}`, contentType: 'text/csv', contentLength: 120, blobType: 'BlockBlob', url: `${blobEndpoint}/${INPUT_CONTAINER}/rate/${pass}/file-${i}.csv`, sequencer: String(i).padStart(48, '0') },
    dataVersion: '',
    metadataVersion: '1',
    eventTime: new Date().toISOString(),
  }));
  const deliveries = events.flatMap((e, i) => [{ e, at: i }, { e, at: i + INTAKE_EVENTS * 0.1 }, { e, at: i + INTAKE_EVENTS * 0.4 }]).sort((a, b) => a.at - b.at).map((d) => d.e);
  const bodies: string[] = [];
  for (let i = 0; i < deliveries.length; i += batchSize) bodies.push(JSON.stringify(deliveries.slice(i, i + batchSize)));
  let next = 0;
  let failures = 0;
  const started = Date.now();
  await Promise.all(
    Array.from({ length: INTAKE_CONCURRENCY }, async () => {
      while (next < bodies.length) if (!(await post(agent, hook, bodies[next++]))) failures++;
    }),
  );
  const seconds = (Date.now() - started) / 1000;
  const perSecond = INTAKE_EVENTS / seconds;
  const waitingAtAnswer = await acceptedRunsWaiting(stack);
  const verdict = goal ? `goal ≥ ${INTAKE_GOAL_PER_SECOND}/s on 2 cores: ${perSecond >= INTAKE_GOAL_PER_SECOND ? 'goal met' : 'goal missed'}; ` : '';
  rows.push({
    name: `intake ${label}: ${INTAKE_EVENTS} events × 3 deliveries`,
    value: perSecond,
    unit: 'events/s',
    note: `${verdict}${batchSize} event(s) per POST; ${(deliveries.length / seconds).toFixed(0)} deliveries/s, ${failures} POSTs refused; ${waitingAtAnswer} accepted runs not yet started at the last answer; ${os.cpus().length} cores, load ${load()}`,
  });
  // The hand-off's other side: until every accepted run has started (its row gone), timed from the first delivery.
  let waiting = waitingAtAnswer;
  while (waiting > 0 && Date.now() - started < INTAKE_DRAIN_LIMIT_IN_MS) {
    await new Promise((r) => setTimeout(r, 250));
    waiting = await acceptedRunsWaiting(stack);
  }
  const drainSeconds = (Date.now() - started) / 1000;
  rows.push({
    name: `intake ${label}: accepted runs started`,
    value: (INTAKE_EVENTS - waiting) / drainSeconds,
    unit: 'runs/s',
    note: `${INTAKE_EVENTS - waiting} of ${INTAKE_EVENTS} started ${drainSeconds.toFixed(1)} s after the first delivery (each start indexes the run and its first steps run beside the others); load ${load()}`,
  });
}

async function benchIntake(rows: BenchRow[]): Promise<void> {
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'batchpilot-bench-intake-'));
  const azurite = await startAzurite({ blobPort: 0, queuePort: 0, tablePort: 0 });
  const stack = await startLocalStack({
    ports: FREE_PORTS,
    azurite,
    stateDir,
    persistAzurite: false,
    taskHub: 'benchintake',
    routesYaml: `
routes:
  - name: rate
    trigger: { storageAccounts: [devstoreaccount1], container: input, pathPrefix: rate/ }
    target: { endpoint: churn-scoring }
    wait: { pollMinIntervalInSeconds: 600, pollMaxIntervalInSeconds: 600, timeoutInMinutes: 600 }
`,
  });
  const agent = new http.Agent({ keepAlive: true, maxSockets: INTAKE_CONCURRENCY });
  try {
    // Jobs wait: the runs started hold their place without scoring while the intake is measured.
    stack.azureMl.holdJobs();
    // As the subscription delivers (the goal), then one event per POST for comparison.
    const batchSize = intakeBatchSize();
    await intakePass(stack, agent, `(subscription: ${batchSize} per delivery)`, batchSize, true, rows);
    if (batchSize !== 1) await intakePass(stack, agent, '(1 per delivery)', 1, false, rows);
  } finally {
    agent.destroy();
    await stack.stop();
    await azurite.stop();
    fs.rmSync(stateDir, { recursive: true, force: true });
  }
}

export async function benchRunIndex(): Promise<BenchSection> {
  const rows: BenchRow[] = [];
  if (process.env.BENCH_INDEX_SKIP_QUERIES !== '1') await benchQueries(rows);
  if (process.env.BENCH_INDEX_SKIP_INTAKE !== '1') await benchIntake(rows);
  return { title: `Run index (${RUNS} runs on Azurite) and intake`, rows };
}
