// The validation benchmark's measuring process (bench/validation.ts runs it as a child once the file is
// uploaded): a raw download of the predictions blob and validations of it, interleaved, in a process
// that does nothing else, so its memory is validation's own (a Functions worker validating a job's
// outputs) and not the benchmark's upload buffers.
import { BlobServiceClient, type ContainerClient } from '@azure/storage-blob';
import { validateJobOutputs, type ValidationRulesInput } from '../src/validation';

export const RESULT_PREFIX = 'VALIDATION_BENCH_RESULT ';
const MB = 1024 * 1024;

export interface WorkerRequest {
  connectionString: string;
  container: string;
  prefix: string;
  blobName: string;
  structure: ValidationRulesInput;
  withSchema: ValidationRulesInput;
  /** Rules with a drift check, and the baseline scores it compares with. */
  withDrift: ValidationRulesInput;
  /** Baseline scores to pool (generated here, spread like the file's: argv cannot carry them). */
  driftBaselineSize: number;
  rounds: number;
}

export interface TimedRun {
  seconds: number;
  cpuSeconds: number;
}

export interface ValidationRun extends TimedRun {
  rssBeforeInMb: number;
  peakRssInMb: number;
  rows: number;
  passed: boolean;
  summary: string;
  drift?: { psi?: number; ks?: number; detected: boolean };
}

export interface WorkerFigures {
  raw: Array<TimedRun & { bytes: number }>;
  plain: ValidationRun[];
  schema: ValidationRun;
  drift: ValidationRun;
  /** The process's RSS once loaded, before anything was read. */
  idleRssInMb: number;
}

function cpuSeconds(since: NodeJS.CpuUsage): number {
  const cpu = process.cpuUsage(since);
  return (cpu.user + cpu.system) / 1e6;
}

async function rawDownload(container: ContainerClient, blobName: string): Promise<TimedRun & { bytes: number }> {
  const cpuBefore = process.cpuUsage();
  const started = process.hrtime.bigint();
  const response = await container.getBlobClient(blobName).download();
  let bytes = 0;
  for await (const chunk of response.readableStreamBody as AsyncIterable<Buffer>) bytes += chunk.length;
  return { bytes, seconds: Number(process.hrtime.bigint() - started) / 1e9, cpuSeconds: cpuSeconds(cpuBefore) };
}

async function timedValidation(container: ContainerClient, prefix: string, rules: ValidationRulesInput, baseline?: number[]): Promise<ValidationRun> {
  const rssBefore = process.memoryUsage.rss();
  let peak = rssBefore;
  // Sampled on the event loop, which validation yields to between chunks.
  const sampler = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage.rss());
  }, 10);
  const cpuBefore = process.cpuUsage();
  const started = process.hrtime.bigint();
  try {
    const report = await validateJobOutputs({ outputs: { container, prefix }, rules, drift: baseline ? { runId: 'bench', baseline: { scores: baseline, runs: [{ runId: 'bench-baseline', scores: baseline.length }] } } : undefined });
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const cpu = cpuSeconds(cpuBefore);
    peak = Math.max(peak, process.memoryUsage.rss());
    return { seconds, cpuSeconds: cpu, rssBeforeInMb: rssBefore / MB, peakRssInMb: peak / MB, rows: report.counts.predictionRows ?? 0, passed: report.passed, summary: report.summary, drift: report.drift ? { psi: report.drift.psi, ks: report.drift.ks, detected: report.drift.detected } : undefined };
  } finally {
    clearInterval(sampler);
  }
}

async function main(): Promise<void> {
  const request = JSON.parse(process.argv[2]) as WorkerRequest;
  const container = BlobServiceClient.fromConnectionString(request.connectionString).getContainerClient(request.container);
  const idleRssInMb = process.memoryUsage.rss() / MB;
  // Interleaved, so a burst of load elsewhere on the machine hurts both alike.
  const raw: WorkerFigures['raw'] = [];
  const plain: ValidationRun[] = [];
  for (let i = 0; i < request.rounds; i++) {
    raw.push(await rawDownload(container, request.blobName));
    plain.push(await timedValidation(container, request.prefix, request.structure));
  }
  const schema = await timedValidation(container, request.prefix, request.withSchema);
  const baseline = Array.from({ length: request.driftBaselineSize }, (_, i) => ((i * 104_729 + 17) % 10_000) / 10_000);
  const drift = await timedValidation(container, request.prefix, request.withDrift, baseline);
  const figures: WorkerFigures = { raw, plain, schema, drift, idleRssInMb };
  process.stdout.write(`${RESULT_PREFIX}${JSON.stringify(figures)}\n`);
}

if (require.main === module) {
  main().catch((err: Error) => {
    process.stderr.write(`${err.stack ?? err}\n`);
    process.exit(1);
  });
}
