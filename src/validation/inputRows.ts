// Counts the rows a run's inputs hold, to compare with the rows the job predicted: CSV files with a
// header line, given as a list of blobs or as every blob under a folder prefix. Each file streams
// through the same record scanner as the outputs (quoted line breaks do not count as rows), a few
// files at a time.
import type { ContainerClient } from '@azure/storage-blob';
import { folderPrefix, listBlobNames, openBlob } from './blobReading';
import { CsvRecordScanner } from './csvRecordScanner';

/** The run's inputs: named blobs, or all blobs under a folder. */
export type InputSelection = { container: ContainerClient; blobNames: string[] } | { container: ContainerClient; prefix: string };

export interface CountInputRowsOptions {
  /** Whether each file starts with a header line (not a row). Default true. */
  header?: boolean;
  delimiter?: string;
  quote?: string;
  /** Files read at once. Default 4. */
  concurrency?: number;
  abortSignal?: AbortSignal;
}

export interface InputRowCount {
  rows: number;
  files: number;
  bytes: number;
  /** Named inputs that no longer exist (a prefix listing never reports any). */
  missing: string[];
  /** Files whose last quoted field never closes, as "name (line N)". */
  malformed: string[];
}

/** Folder listings skip markers and hidden files (`_SUCCESS`, `_manifest.json`, `.keep`): they are not data. */
function isDataBlob(name: string): boolean {
  const base = name.slice(name.lastIndexOf('/') + 1);
  return base !== '' && !base.startsWith('_') && !base.startsWith('.');
}

export async function countInputRows(inputs: InputSelection, options: CountInputRowsOptions = {}): Promise<InputRowCount> {
  const { container } = inputs;
  const names = 'blobNames' in inputs
    ? [...inputs.blobNames]
    : (await listBlobNames(container, folderPrefix(inputs.prefix), { abortSignal: options.abortSignal })).filter(isDataBlob);
  const result: InputRowCount = { rows: 0, files: 0, bytes: 0, missing: [], malformed: [] };
  let next = 0;
  let failed = false;
  const worker = async (): Promise<void> => {
    while (next < names.length && !failed) {
      const name = names[next++];
      const blob = await openBlob(container, name, { abortSignal: options.abortSignal });
      if (!blob) {
        result.missing.push(name);
        continue;
      }
      const scanner = new CsvRecordScanner({ delimiter: options.delimiter, quote: options.quote });
      for await (const chunk of blob.chunks) scanner.write(chunk);
      const summary = scanner.end();
      const headerLines = options.header === false ? 0 : Math.min(1, summary.records);
      result.rows += summary.records - headerLines;
      result.files++;
      result.bytes += summary.bytes;
      if (summary.unterminatedQuoteLine !== undefined) result.malformed.push(`${name} (line ${summary.unterminatedQuoteLine})`);
    }
  };
  const workers = Array.from({ length: Math.max(1, Math.min(options.concurrency ?? 4, names.length)) }, () =>
    worker().catch((err: unknown) => {
      // One failure ends the count: the other workers stop taking files instead of reading on for nothing.
      failed = true;
      throw err;
    }),
  );
  await Promise.all(workers);
  result.missing.sort();
  result.malformed.sort();
  return result;
}
