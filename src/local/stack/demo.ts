// The demo: a folder of sample customer CSVs dropped into storage, closed by a _SUCCESS marker, scored as
// one Azure ML batch job on the local stack; resolves with the run's completion or failure event.
import { BlobServiceClient } from '@azure/storage-blob';
import { RunningLocalStack, EVENTS_TOPIC, INPUT_CONTAINER } from './localStack';
import { generateChurnInputFiles } from '../azureml/sample/churnModel';

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
  durationInSeconds?: number;
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

