// The demo: a folder of sample customer CSVs dropped into storage, closed by a _SUCCESS marker, scored as
// one Azure ML batch job on the local stack; resolves with the run's completion or failure event.
import { BlobServiceClient } from '@azure/storage-blob';
import { RunningLocalStack, EVENTS_TOPIC, INPUT_CONTAINER } from './localStack';
import { generateChurnInputFiles } from '@batchpilot/azureml-emulator';

const DEMO_FILES = 8;
const DEMO_ROWS_PER_FILE = 40;
const DEMO_TIMEOUT_IN_MS = 5 * 60_000;

export interface RunEventData {
  runId: string;
  outcome: string;
  reason?: string;
  jobName?: string;
  output?: string;
  validation?: { passed: boolean; summary: string; report?: string };
  inputs?: string[];
  startedAt?: string;
  finishedAt?: string;
  durationInSeconds?: number;
}

/** A run's duration as people read it: milliseconds under a second (a local run is often that quick), else seconds. */
export function formatRunDuration(durationInMs: number): string {
  if (durationInMs < 1000) return `${durationInMs} ms`;
  if (durationInMs < 60_000) return `${(durationInMs / 1000).toFixed(1)} s`;
  return `${Math.floor(durationInMs / 60_000)} min ${Math.round((durationInMs % 60_000) / 1000)} s`;
}

/**
 * The demo's closing summary. The duration comes from the run's start and finish: the event's
 * whole-second durationInSeconds reads "0 s" for the sub-second runs of the local stack.
 */
export function describeDemoOutcome(result: { type: string; data: RunEventData }, topic: string = EVENTS_TOPIC): string[] {
  const d = result.data;
  const runInMs = d.startedAt && d.finishedAt ? Date.parse(d.finishedAt) - Date.parse(d.startedAt) : Number.NaN;
  return [
    `Outcome:     ${d.outcome}${d.reason ? ` — ${d.reason}` : ''}`,
    `Run:         ${d.runId}`,
    `Azure ML job: ${d.jobName ?? '(none)'}`,
    `Outputs:     ${d.output ?? '(none)'}`,
    `Validation:  ${d.validation ? `${d.validation.passed ? 'passed' : 'FAILED'} — ${d.validation.summary}` : '(no rules)'}`,
    `Event:       ${result.type} received from topic ${topic}`,
    `Duration:    ${Number.isFinite(runInMs) ? formatRunDuration(runInMs) : '?'}`,
  ];
}

export async function runDemo(stack: RunningLocalStack, options: { folder?: string; timeoutInMs?: number; say?: (line: string) => void } = {}): Promise<{ type: string; data: RunEventData }> {
  const say = options.say ?? ((line: string) => process.stdout.write(line + '\n'));
  const folder = options.folder ?? `demo/${new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '')}`;
  const container = BlobServiceClient.fromConnectionString(stack.dataConnectionString).getContainerClient(INPUT_CONTAINER);
  const files = generateChurnInputFiles({ files: DEMO_FILES, rowsPerFile: DEMO_ROWS_PER_FILE, seed: Date.now() % 100000 });
  say(`Uploading ${files.length} CSV files (${files.length * DEMO_ROWS_PER_FILE} customers) to ${INPUT_CONTAINER}/${folder}/ ...`);
  for (const f of files) await container.getBlockBlobClient(`${folder}/${f.name}`).upload(f.content, Buffer.byteLength(f.content));
  say(`Uploading the marker ${INPUT_CONTAINER}/${folder}/_SUCCESS: the folder is complete.`);
  const before = stack.eventGrid.published(EVENTS_TOPIC).length;
  await container.getBlockBlobClient(`${folder}/_SUCCESS`).upload('', 0);

  const deadline = Date.now() + (options.timeoutInMs ?? DEMO_TIMEOUT_IN_MS);
  let lastPhase = '';
  for (;;) {
    const fresh = stack.eventGrid.published(EVENTS_TOPIC).slice(before);
    const mine = fresh.map((p) => p.event as { type?: string; data?: RunEventData }).find((e) => (e.data?.inputs ?? []).some((u) => u.includes(`/${folder}/`)));
    if (mine?.type && mine.data) return { type: mine.type, data: mine.data };
    const jobs = stack.azureMl.publishedEvents().filter((e) => e.eventType === 'Microsoft.MachineLearningServices.RunStatusChanged');
    const latest = jobs.at(-1) as { data?: { runId?: string; runStatus?: string } } | undefined;
    const phase = latest?.data ? `job ${latest.data.runId}: ${latest.data.runStatus}` : 'waiting for the job to be submitted';
    if (phase !== lastPhase) say(`  ... ${phase}`);
    lastPhase = phase;
    if (Date.now() > deadline) throw new Error(`No completion or failure event for ${folder} within ${Math.round((options.timeoutInMs ?? DEMO_TIMEOUT_IN_MS) / 1000)} s.`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

