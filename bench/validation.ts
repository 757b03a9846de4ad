// Validation throughput on a large predictions file, against the fastest anything could go: a raw
// download of the same blob from the same Azurite in the same run. Also the peak memory while
// validating, which must not grow with the file (validation streams). Size: BENCH_VALIDATION_MB
// (default 1024; 128 with --quick); the file is generated and uploaded as a stream, never held in
// memory. Downloads and validations run in a child process that does nothing else (validationWorker.ts).
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { BlobServiceClient, type BlockBlobClient } from '@azure/storage-blob';
import { startAzurite } from '@batchpilot/local-platform';
import type { ValidationRulesInput } from '../src/validation';
import type { BenchOptions, BenchRow, BenchSection } from './benchSection';
import { RESULT_PREFIX, type WorkerFigures, type WorkerRequest } from './validationWorker';

const MB = 1024 * 1024;
const LABELS = ['churn', 'stay', 'review'];

/** One predictions row as a batch deployment's append_row output writes it: id, score, label, source file. */
function row(i: number): string {
  const score = ((i * 7919) % 10000) / 10000;
  return `${String(i).padStart(10, '0')},${score.toFixed(4)},${LABELS[i % 3]},input-${String(i % 500).padStart(4, '0')}.csv\n`;
}

/** Streams `targetBytes` of rows into a blob (generated block by block); returns the rows and bytes written. */
async function uploadPredictions(blob: BlockBlobClient, targetBytes: number): Promise<{ rows: number; bytes: number }> {
  let rows = 0;
  let bytes = 0;
  const source = new Readable({
    read() {
      if (bytes >= targetBytes) {
        this.push(null);
        return;
      }
      let block = '';
      while (block.length < 4 * MB && bytes + block.length < targetBytes) block += row(++rows);
      bytes += block.length;
      this.push(Buffer.from(block, 'latin1'));
    },
  });
  await blob.uploadStream(source, 8 * MB, 4, { blobHTTPHeaders: { blobContentType: 'text/csv' } });
  return { rows, bytes };
}

const WORKER = path.join(__dirname, 'validationWorker.js');

/** Runs the measuring process and returns its figures. */
async function measure(request: WorkerRequest): Promise<WorkerFigures> {
  const child = spawn(process.execPath, [WORKER, JSON.stringify(request)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (err += c.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  const line = out.split('\n').find((l) => l.startsWith(RESULT_PREFIX));
  if (code !== 0 || !line) throw new Error(`The validation benchmark worker failed (exit ${code}):\n${err}${out}`);
  return JSON.parse(line.slice(RESULT_PREFIX.length)) as WorkerFigures;
}

function best<T>(runs: T[], key: (run: T) => number): T {
  return runs.reduce((a, b) => (key(b) < key(a) ? b : a));
}

export async function benchValidation(options: BenchOptions): Promise<BenchSection> {
  const sizeInMb = Number(process.env.BENCH_VALIDATION_MB ?? (options.quick ? 128 : 1024));
  if (!Number.isFinite(sizeInMb) || sizeInMb <= 0) throw new Error(`BENCH_VALIDATION_MB must be a positive number of megabytes; got '${process.env.BENCH_VALIDATION_MB}'.`);
  const azurite = await startAzurite({ blobPort: 0, queuePort: 0, tablePort: 0 });
  try {
    const container = BlobServiceClient.fromConnectionString(azurite.connectionString).getContainerClient('bench-validation');
    await container.create();
    const prefix = 'runs/bench/';
    const blobName = `${prefix}predictions.csv`;
    const uploaded = await uploadPredictions(container.getBlockBlobClient(blobName), sizeInMb * MB);
    const log = `Summary: files 500, mini-batches 50 (succeeded 50, failed 0), failed files 0, rows ${uploaded.rows}.\nJob status: Completed.\n`;
    await container.getBlockBlobClient(`${prefix}logs/job_progress_overview.txt`).upload(log, log.length);

    const structure: ValidationRulesInput = { predictions: { columns: ['id', 'score', 'label', 'file'] }, maxFailedFileRatio: 0.01 };
    const withSchema: ValidationRulesInput = {
      ...structure,
      rowSchema: {
        type: 'object',
        properties: { id: { type: 'integer', minimum: 0 }, score: { type: 'number', minimum: 0, maximum: 1 }, label: { enum: LABELS }, file: { type: 'string' } },
        required: ['id', 'score', 'label', 'file'],
      },
    };

    // The drift rule against a baseline of 25,000 scores from the same distribution (5 runs' kept samples).
    const withDrift: ValidationRulesInput = { ...structure, drift: { column: 'score', statistic: 'both', action: 'fail' } };

    // Measured in a process of its own that does only this (see validationWorker.ts).
    const { raw, plain, schema, drift, idleRssInMb } = await measure({ connectionString: azurite.connectionString, container: 'bench-validation', prefix, blobName, structure, withSchema, withDrift, driftBaselineSize: 25_000, rounds: 2 });
    for (const run of [...plain, schema, drift]) {
      if (!run.passed) throw new Error(`The benchmark's predictions failed validation: ${run.summary}`);
    }
    const rawBest = best(raw, (r) => r.seconds);
    const plainBest = best(plain, (r) => r.seconds);
    if (plainBest.rows !== uploaded.rows || schema.rows !== uploaded.rows) {
      throw new Error(`Validation counted ${plainBest.rows} / ${schema.rows} rows; ${uploaded.rows} were written.`);
    }
    const sizeMb = uploaded.bytes / MB;
    const rawMbPerSecond = sizeMb / rawBest.seconds;
    const plainMbPerSecond = sizeMb / plainBest.seconds;
    const schemaMbPerSecond = sizeMb / schema.seconds;
    const driftMbPerSecond = sizeMb / drift.seconds;
    const rows: BenchRow[] = [
      { name: 'predictions file', value: sizeMb, unit: 'MB', note: `${uploaded.rows} rows` },
      { name: 'raw download', value: rawMbPerSecond, unit: 'MB/s', note: `best of 2; ${(rawBest.cpuSeconds / (sizeMb / 1024)).toFixed(1)} CPU s per GB in this process` },
      { name: 'validation: rows, columns, job log', value: plainMbPerSecond, unit: 'MB/s', note: `best of 2; ${(plainBest.cpuSeconds / (sizeMb / 1024)).toFixed(1)} CPU s per GB` },
      { name: 'validation / raw download', value: plainMbPerSecond / rawMbPerSecond, unit: 'x', goal: { kind: 'min', target: 0.8, label: `validation of a ${Math.round(sizeMb)} MB predictions file as a share of a raw download` } },
      { name: 'validation with row schema', value: schemaMbPerSecond, unit: 'MB/s', note: `${(schema.cpuSeconds / (sizeMb / 1024)).toFixed(1)} CPU s per GB` },
      { name: 'with row schema / raw download', value: schemaMbPerSecond / rawMbPerSecond, unit: 'x' },
      { name: 'peak RSS during validation', value: Math.max(...plain.map((r) => r.peakRssInMb)), unit: 'MB', note: `whole measuring process; ${plainBest.rssBeforeInMb.toFixed(0)} MB before, ${idleRssInMb.toFixed(0)} MB once loaded`, goal: { kind: 'max', target: 150, label: `validation peak RSS on a ${Math.round(sizeMb)} MB file` } },
      { name: 'peak RSS with row schema', value: schema.peakRssInMb, unit: 'MB', note: `${schema.rssBeforeInMb.toFixed(0)} MB before` },
      { name: 'validation with drift (PSI + KS)', value: driftMbPerSecond, unit: 'MB/s', note: `${(drift.cpuSeconds / (sizeMb / 1024)).toFixed(1)} CPU s per GB; PSI ${drift.drift?.psi}, KS ${drift.drift?.ks} against 25,000 baseline scores` },
      { name: 'with drift / raw download', value: driftMbPerSecond / rawMbPerSecond, unit: 'x' },
      { name: 'with drift / without', value: driftMbPerSecond / plainMbPerSecond, unit: 'x' },
      { name: 'peak RSS with drift', value: drift.peakRssInMb, unit: 'MB', note: `${drift.rssBeforeInMb.toFixed(0)} MB before; memory does not grow with the file (bins + a 5,000-score sample)` },
    ];
    return { title: `Validation of a ${Math.round(sizeMb)} MB predictions file (streamed from Azurite to a process of its own)`, rows };
  } finally {
    await azurite.stop();
  }
}
