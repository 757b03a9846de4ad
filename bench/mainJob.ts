// Benchmarks of the main job on the local stack, each measured in this run:
// - coalescing: 1,000 files burst into one partition → jobs submitted, and time from the last file to
//   the job's submission (the Logic Apps recipe submits one job per blob);
// - control-plane calls per job against job duration (1, 10, 60 minutes of job time, compressed by
//   TIME_COMPRESSION: poll intervals and job time shrink alike), with events flowing and without, and
//   the ratio to a fixed 120 s poll (Data Factory template) and a 15 s poll (CI scripts);
// - detection: time from the job's completion to the run noticing it;
// - history events per run against job duration (flat, not linear, thanks to continue-as-new).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { BlobServiceClient } from '@azure/storage-blob';
import { startLocalStack, RunningLocalStack, FREE_PORTS, EVENTS_TOPIC, INPUT_CONTAINER, EVENT_SUBSCRIPTIONS_FILE } from '../src/local/stack/localStack';
import { startAzurite } from '@batchpilot/local-platform';
import { generateChurnCsv } from '@batchpilot/azureml-emulator';
import type { BenchOptions, BenchSection, BenchRow } from './benchSection';

/** One real second stands for this many seconds of job time and polling. */
const TIME_COMPRESSION = 300;
const BURST_FILES = Number(process.env.BENCH_BURST_FILES ?? 1000);
const JOB_MINUTES = [1, 10, 60];

const routes = (k: number): string => `
routes:
  - name: burst
    trigger: { storageAccounts: [devstoreaccount1], container: input, pathPrefix: burst/ }
    batching: { mode: window, quietPeriodInSeconds: 2, maxFiles: 5000, maxWaitInSeconds: 600 }
    target: { endpoint: churn-scoring, overrides: { miniBatchSize: 100 } }
    wait: { pollMinIntervalInSeconds: 1, pollMaxIntervalInSeconds: 10, timeoutInMinutes: 30 }
  - name: calls
    trigger: { storageAccounts: [devstoreaccount1], container: input, pathPrefix: calls/ }
    target: { endpoint: churn-scoring }
    wait: { pollMinIntervalInSeconds: ${15 / k}, pollMaxIntervalInSeconds: ${600 / k}, timeoutInMinutes: 600 }
`;

interface RunEvent {
  type: string;
  time?: string;
  data: { runId: string; inputs: string[]; jobName?: string; polls?: number; eventsSeen?: number };
}

async function until<T>(probe: () => T | undefined | Promise<T | undefined>, what: string, timeoutInMs = 300_000): Promise<T> {
  const deadline = Date.now() + timeoutInMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

function runEventFor(stack: RunningLocalStack, pathPart: string): RunEvent | undefined {
  return stack.eventGrid
    .published(EVENTS_TOPIC)
    .map((p) => p.event as unknown as RunEvent)
    .find((e) => (e.data.inputs ?? []).some((u) => u.includes(pathPart)));
}

async function historyLength(stack: RunningLocalStack, instanceId: string): Promise<number> {
  const keys = JSON.parse(fs.readFileSync(stack.host!.keysFile, 'utf8')) as { systemKeys: Record<string, string> };
  const res = await fetch(`${stack.hostUrl}/runtime/webhooks/durabletask/instances/${encodeURIComponent(instanceId)}?showHistory=true&code=${encodeURIComponent(keys.systemKeys.durabletask_extension)}`);
  const body = (await res.json()) as { historyEvents?: unknown[]; history?: unknown[] };
  return (body.historyEvents ?? body.history ?? []).length;
}

async function burstCoalescing(stack: RunningLocalStack, rows: BenchRow[]): Promise<void> {
  const container = BlobServiceClient.fromConnectionString(stack.dataConnectionString).getContainerClient(INPUT_CONTAINER);
  const content = generateChurnCsv({ rows: 2, seed: 1 });
  const names = Array.from({ length: BURST_FILES }, (_, i) => `burst/day1/part-${String(i).padStart(4, '0')}.csv`);
  let next = 0;
  await Promise.all(Array.from({ length: 32 }, async () => {
    while (next < names.length) await container.getBlockBlobClient(names[next++]).upload(content, content.length);
  }));
  const lastFileAt = Date.now();
  const event = await until(() => runEventFor(stack, '/burst/day1/'), 'the burst run');
  await new Promise((r) => setTimeout(r, 3000));
  const runs = stack.eventGrid.published(EVENTS_TOPIC).map((p) => p.event as unknown as RunEvent).filter((e) => (e.data.inputs ?? []).some((u) => u.includes('/burst/day1/')));
  const report = event.data.jobName ? stack.azureMl.jobReport(event.data.jobName) : undefined;
  const submittedAt = report ? new Date(report.statusHistory[0].at).getTime() : NaN;
  rows.push({
    name: `jobs for ${BURST_FILES} files in one partition`,
    value: runs.length,
    unit: 'jobs',
    note: `inputs in the job: ${event.data.inputs.length}; the Logic Apps recipe: ${BURST_FILES} jobs (one per blob)`,
    goal: { kind: 'max', target: 1, label: 'coalescing: jobs per closed batch' },
  });
  rows.push({ name: 'last file → job submitted', value: (submittedAt - lastFileAt) / 1000, unit: 's', note: 'includes the 2 s quiet period of the window' });
}

async function callsPerJob(stack: RunningLocalStack, rows: BenchRow[], eventsFlowing: boolean): Promise<void> {
  const container = BlobServiceClient.fromConnectionString(stack.dataConnectionString).getContainerClient(INPUT_CONTAINER);
  const label = eventsFlowing ? 'events flowing' : 'events lost (poll only)';
  const historyByMinutes = new Map<number, number>();
  for (const minutes of eventsFlowing ? JOB_MINUTES : [60]) {
    const name = `calls/${eventsFlowing ? 'ev' : 'poll'}-${minutes}m.csv`;
    stack.azureMl.holdJobs();
    const before = stack.azureMl.faultStats().requests;
    const body = generateChurnCsv({ rows: 5, seed: minutes });
    await container.getBlockBlobClient(name).upload(body, body.length);
    const submitted = await until(() => stack.azureMl.publishedEvents().find((e) => e.eventType === 'Microsoft.MachineLearningServices.RunStatusChanged' && (e.data as { runStatus?: string }).runStatus === 'Preparing' && !seenJobs.has(String((e.data as { runId?: string }).runId)) ? e : undefined), 'job submission');
    const jobName = String((submitted.data as { runId?: string }).runId);
    seenJobs.add(jobName);
    await new Promise((r) => setTimeout(r, (minutes * 60_000) / TIME_COMPRESSION));
    const releasedAt = Date.now();
    stack.azureMl.releaseJobs();
    const event = await until(() => runEventFor(stack, `/${name}`), `the ${minutes}-minute run`);
    const noticedAt = Date.now();
    const calls = stack.azureMl.faultStats().requests - before;
    const report = stack.azureMl.jobReport(jobName)!;
    const at = (status: string): number => new Date(report.statusHistory.find((h) => h.status === status)!.at).getTime();
    // The job's own last steps (scoring, finalizing) are not batchpilot's detection time.
    const completedAt = releasedAt + (at('Completed') - at('Running'));
    const perHour = calls / (minutes / 60);
    rows.push({
      name: `${minutes}-min job, ${label}: calls`,
      value: calls,
      unit: 'calls',
      note: `${perHour.toFixed(1)}/job-hour; polls ${event.data.polls}, events ${event.data.eventsSeen}`,
      // A 60-minute job's calls are its calls per job-hour.
      goal: eventsFlowing && minutes === 60 ? { kind: 'max', target: 12, label: 'control-plane calls per job-hour (60-minute job, events flowing)' } : undefined,
    });
    if (minutes === 60) {
      rows.push({ name: `60-min job, ${label}: vs 120 s fixed poll`, value: calls / (3600 / 120 + 2), unit: '×', note: `Data Factory template: ${3600 / 120 + 2} calls` });
      rows.push({ name: `60-min job, ${label}: vs 15 s poll`, value: calls / (3600 / 15 + 2), unit: '×', note: `CI scripts: ${3600 / 15 + 2} calls` });
    }
    rows.push({
      name: `${minutes}-min job, ${label}: detection`,
      value: Math.max(0, (noticedAt - completedAt) / 1000) * (eventsFlowing ? 1 : TIME_COMPRESSION),
      unit: eventsFlowing ? 's' : 's of job time',
      note: 'job Completed → run event published (record written first); probed every 25 ms',
      goal: eventsFlowing ? { kind: 'max', target: 5, label: `detection of a ${minutes}-minute job's completion with events flowing` } : undefined,
    });
    const events = (await historyLength(stack, `${event.data.runId}:job`)) + (await historyLength(stack, event.data.runId));
    rows.push({ name: `${minutes}-min job, ${label}: history events`, value: events, unit: 'events', note: 'job instance (current generation) + run instance' });
    if (eventsFlowing) historyByMinutes.set(minutes, events);
  }
  const shortest = historyByMinutes.get(JOB_MINUTES[0]);
  const longest = historyByMinutes.get(JOB_MINUTES[JOB_MINUTES.length - 1]);
  if (eventsFlowing && shortest && longest) {
    rows.push({
      name: `history: ${JOB_MINUTES[JOB_MINUTES.length - 1]}-min job / ${JOB_MINUTES[0]}-min job`,
      value: longest / shortest,
      unit: '×',
      note: `flat, not linear: a ${JOB_MINUTES[JOB_MINUTES.length - 1] / JOB_MINUTES[0]}× longer job`,
      goal: { kind: 'max', target: 2, label: 'flat history (events of a 60-minute job vs a 1-minute job)' },
    });
  }
}

const seenJobs = new Set<string>();

export async function benchMainJob(_options: BenchOptions): Promise<BenchSection> {
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'batchpilot-bench-'));
  const azurite = await startAzurite({ blobPort: 0, queuePort: 0, tablePort: 0 });
  const stack = await startLocalStack({ ports: FREE_PORTS, azurite, stateDir, routesYaml: routes(TIME_COMPRESSION), persistAzurite: false, taskHub: 'benchmain' });
  const rows: BenchRow[] = [];
  try {
    await burstCoalescing(stack, rows);
    await callsPerJob(stack, rows, true);
    const events = JSON.parse(fs.readFileSync(EVENT_SUBSCRIPTIONS_FILE, 'utf8')) as { subscriptions: Array<{ name: string; topic: string }> };
    for (const s of events.subscriptions.filter((x) => x.topic === 'workspace')) stack.eventGrid.deleteSubscription(s.name);
    await callsPerJob(stack, rows, false);
  } finally {
    await stack.stop();
    await azurite.stop();
    fs.rmSync(stateDir, { recursive: true, force: true });
  }
  return { title: `Main job (local stack; job time compressed ${TIME_COMPRESSION}×)`, rows };
}
