// The reading half of the comparison: streams the baseline's predictions file, then the candidate's,
// from Blob Storage chunk by chunk through the CSV record scanner, and hands each row to the pure
// PredictionsComparison. A missing file is a permanent failure naming the file (validation ran before
// and should have caught it); storage trouble is classified for the activity's retry policy.
import type { ContainerClient } from '@azure/storage-blob';
import { PermanentError } from '../azure/errorClassification';
import { CsvRecordScanner, splitCsvRecord } from './csvRecordScanner';
import { folderPrefix, openBlob } from './blobReading';
import type { ComparisonRules } from '../config/comparisonRules';
import { ComparisonReport, PredictionSide, PredictionsComparison } from '../model/predictionComparison';

export interface PredictionsLocation {
  container: ContainerClient;
  /** The job's output folder. */
  prefix: string;
}

export interface ComparePredictionFilesOptions {
  baseline: PredictionsLocation;
  candidate: PredictionsLocation;
  /** Relative to each output folder. */
  predictionsFile: string;
  rules: ComparisonRules;
  abortSignal?: AbortSignal;
}

async function feed(side: PredictionSide, location: PredictionsLocation, file: string, rules: ComparisonRules, comparison: PredictionsComparison, abortSignal?: AbortSignal): Promise<void> {
  const blobName = folderPrefix(location.prefix) + file;
  const blob = await openBlob(location.container, blobName, { abortSignal });
  if (!blob) throw new PermanentError(`The ${side}'s predictions file '${blobName}' is missing from container '${location.container.containerName}', so the two deployments cannot be compared.`);
  let headerSeen = !rules.header;
  const scanner = new CsvRecordScanner({
    delimiter: rules.delimiter,
    quote: rules.quote,
    recordText: 'all',
    onRecord: (line, _fields, text) => {
      const cells = text === undefined ? [] : splitCsvRecord(text, rules.delimiter, rules.quote);
      if (!headerSeen) {
        headerSeen = true;
        comparison.header(side, cells);
        return;
      }
      if (side === 'baseline') comparison.baselineRow(cells, line);
      else comparison.candidateRow(cells, line);
    },
  });
  for await (const chunk of blob.chunks) scanner.write(chunk);
  const summary = scanner.end();
  if (summary.unterminatedQuoteLine !== undefined) {
    throw new PermanentError(`The ${side}'s predictions file '${blobName}' has a quoted field opened on line ${summary.unterminatedQuoteLine} that is never closed.`);
  }
}

/** Compares the two jobs' predictions; the baseline is read first and held by key, the candidate streamed past it. */
export async function comparePredictionFiles(options: ComparePredictionFilesOptions): Promise<ComparisonReport> {
  const comparison = new PredictionsComparison(options.rules);
  await feed('baseline', options.baseline, options.predictionsFile, options.rules, comparison, options.abortSignal);
  await feed('candidate', options.candidate, options.predictionsFile, options.rules, comparison, options.abortSignal);
  return comparison.finish();
}
