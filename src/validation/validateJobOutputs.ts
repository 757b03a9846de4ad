// The validation step of a scoring run: given where a finished Azure ML batch job wrote its outputs
// (and what it read), stream them from storage, apply the route's rules and say — check by check and
// in one line — whether the run delivered. Missing or unreadable-as-expected outputs are validation
// failures with a reason; storage trouble is thrown as TransientError / PermanentError for the
// activity's retry policy. Nothing is ever loaded whole, whatever the size of the predictions.
import type { ContainerClient } from '@azure/storage-blob';
import { folderPrefix, getBlobSize, listBlobNames, openBlob } from './blobReading';
import { countInputRows, type InputRowCount, type InputSelection } from './inputRows';
import { failedFileFigures, JobProgressLogParser, type JobProgressSummary } from './jobProgressLog';
import { PredictionsAnalyzer, type LineProblem, type PredictionsAnalysis } from './predictionsAnalysis';
import { DEFAULT_PREDICTIONS_FILE, parseValidationRules, predictionsFileOf, type ValidationRules, type ValidationRulesInput } from '../config/validationRules';
import type { OutputFileState, ValidationCheck, ValidationReport } from './validationReport';
import { checkDrift, DriftBaseline, ScoreDriftMeter } from './scoreDrift';
import type { ScoreProfile } from '../domain/scoreDistributions';

export interface JobOutputsLocation {
  container: ContainerClient;
  /** The job's output folder inside the container ('' for the root). */
  prefix: string;
}

export interface ValidateJobOutputsOptions {
  outputs: JobOutputsLocation;
  /** What the job read, to compare row counts; omit when unknown (the row-count check is then skipped). */
  inputs?: InputSelection;
  /** The route's `validation:` section (parsed or raw); omitted = every default. */
  rules?: ValidationRulesInput;
  /**
   * The job's output file name when it is not `predictions.csv` (a deployment's or route's
   * outputFileName): it then stands in for that default in expectedFiles and as the predictions file.
   */
  outputFileName?: string;
  /** For the rules' drift check: the run (it seeds the kept sample) and the baseline of earlier runs' scores. */
  drift?: { runId: string; baseline?: DriftBaseline };
  abortSignal?: AbortSignal;
}

/** The report, and the sample of scores this run keeps for later baselines when the rules check drift. */
export type ValidationOutcome = ValidationReport & { scoreProfile?: ScoreProfile };

interface PredictionsResult {
  bytes: number;
  analysis: PredictionsAnalysis;
  drift?: ScoreDriftMeter;
}

interface JobLogResult {
  files: string[];
  bytes: number;
  summary: JobProgressSummary;
}

/**
 * Validates a job's outputs against the rules. Resolves with a report whether validation passed or
 * failed; rejects only when storage could not be read (TransientError: retry; PermanentError: e.g. no
 * permission) or the rules themselves are invalid (ValidationRulesError), or on abort.
 */
export async function validateJobOutputs(options: ValidateJobOutputsOptions): Promise<ValidationOutcome> {
  const startedAt = Date.now();
  const rules = withOutputFileName(parseValidationRules(options.rules ?? {}), options.outputFileName);
  const container = options.outputs.container;
  const prefix = folderPrefix(options.outputs.prefix);
  const predictionsFile = predictionsFileOf(rules);
  const expected = [...new Set([...rules.expectedFiles, predictionsFile])];

  // The reads run side by side; the first failure stops the others rather than letting them stream on.
  const stop = new AbortController();
  const abortSignal = stop.signal;
  const callerAbort = (): void => stop.abort(options.abortSignal?.reason);
  if (options.abortSignal?.aborted) callerAbort();
  else options.abortSignal?.addEventListener('abort', callerAbort, { once: true });
  const guard = <T>(work: Promise<T>): Promise<T> =>
    work.catch((err: unknown) => {
      stop.abort();
      throw err;
    });

  const reads = Promise.all([
    guard(readPredictions(container, prefix + predictionsFile, rules, abortSignal, rules.drift ? new ScoreDriftMeter(rules.drift, options.drift?.runId ?? prefix, options.drift?.baseline) : undefined)),
    guard(Promise.all(expected.filter((f) => f !== predictionsFile).map(async (f) => [f, await getBlobSize(container, prefix + f, { abortSignal })] as const))),
    guard(rules.maxFailedFileRatio !== undefined ? readJobLog(container, prefix, rules.jobLog.path, abortSignal) : Promise.resolve(undefined)),
    guard(
      rules.rowCount.matchInputs && options.inputs
        ? countInputRows(options.inputs, { header: rules.rowCount.inputHeader, delimiter: rules.rowCount.inputDelimiter, abortSignal })
        : Promise.resolve(undefined),
    ),
  ]);
  let results: Awaited<typeof reads>;
  try {
    results = await reads;
  } finally {
    options.abortSignal?.removeEventListener('abort', callerAbort);
  }
  const [predictions, otherSizes, jobLog, inputs] = results;

  const sizes = new Map<string, number | undefined>(otherSizes);
  sizes.set(predictionsFile, predictions?.bytes);
  const files: OutputFileState[] = expected.map((name) => {
    const bytes = sizes.get(name);
    return bytes === undefined ? { name, present: false } : { name, present: true, bytes };
  });

  const context: CheckContext = { rules, container, prefix, predictionsFile, files, predictions, jobLog, inputs, inputsGiven: options.inputs !== undefined };
  const checks = [
    checkOutputsPresent(context),
    rules.nonEmpty ? checkOutputsNonEmpty(context) : undefined,
    predictions ? checkCsvWellFormed(context, predictions) : undefined,
    rules.predictions.header ? checkHeader(context) : undefined,
    checkColumnCount(context),
    rules.rowCount.matchInputs ? checkRowCount(context) : undefined,
    rules.maxFailedFileRatio !== undefined ? checkFailedFileRatio(context, rules.maxFailedFileRatio) : undefined,
    rules.rowSchema ? checkRowSchema(context) : undefined,
    predictions?.drift ? checkDrift(predictions.drift.findings(), predictionsFile) : undefined,
  ].filter((c): c is ValidationCheck => c !== undefined);

  const figures = jobLog ? failedFileFigures(jobLog.summary, inputs?.files) : undefined;
  const failed = checks.filter((c) => !c.passed);
  const drift = predictions?.drift?.findings();
  const report: ValidationOutcome = {
    passed: failed.length === 0,
    summary: '',
    failureReason: failed[0]?.detail,
    checks,
    counts: {
      predictionRows: predictions?.analysis.rows,
      inputRows: inputs?.rows,
      inputFiles: inputs?.files,
      failedFiles: figures?.unit === 'files' ? figures.failed : undefined,
      totalFiles: figures?.unit === 'files' ? figures.total : undefined,
      bytesRead: (predictions?.analysis.scan.bytes ?? 0) + (inputs?.bytes ?? 0) + (jobLog?.bytes ?? 0),
    },
    outputs: { container: container.containerName, prefix, predictionsFile, files },
    jobLog: jobLog && jobLog.files.length ? { files: jobLog.files, dialect: jobLog.summary.dialect } : undefined,
    ...(drift ? { drift } : {}),
    validatedAt: new Date(startedAt).toISOString(),
    durationInMs: Date.now() - startedAt,
    ...(predictions?.drift ? { scoreProfile: predictions.drift.profile() } : {}),
  };
  report.summary = summarize(report, failed);
  return report;
}

function withOutputFileName(rules: ValidationRules, outputFileName: string | undefined): ValidationRules {
  const usesDefault = rules.expectedFiles.length === 1 && rules.expectedFiles[0] === DEFAULT_PREDICTIONS_FILE && rules.predictions.file === undefined;
  if (!outputFileName || outputFileName === DEFAULT_PREDICTIONS_FILE || !usesDefault) return rules;
  return parseValidationRules({ ...rules, expectedFiles: [outputFileName] });
}

async function readPredictions(container: ContainerClient, blobName: string, rules: ValidationRules, abortSignal: AbortSignal, drift?: ScoreDriftMeter): Promise<PredictionsResult | undefined> {
  const blob = await openBlob(container, blobName, { abortSignal });
  if (!blob) return undefined;
  const analyzer = new PredictionsAnalyzer(rules, drift);
  for await (const chunk of blob.chunks) analyzer.write(chunk);
  return { bytes: blob.contentLength, analysis: analyzer.end(), drift };
}

/** Reads the overview and its daily rotations (`name.<yyyymmddhh>.txt`), oldest first. */
async function readJobLog(container: ContainerClient, prefix: string, logPath: string, abortSignal: AbortSignal): Promise<JobLogResult> {
  const full = prefix + logPath;
  const slash = full.lastIndexOf('/');
  const folder = full.slice(0, slash + 1);
  const base = full.slice(slash + 1);
  const stem = base.replace(/\.txt$/i, '');
  const rotation = new RegExp(`^${escapeRegExp(stem)}(\\.[^/]+)?\\.txt$`, 'i');
  const names = base === stem
    ? [full]
    : (await listBlobNames(container, folder + stem, { abortSignal })).filter((n) => rotation.test(n.slice(folder.length))).sort();
  const parser = new JobProgressLogParser();
  const files: string[] = [];
  let bytes = 0;
  for (const name of names) {
    const blob = await openBlob(container, name, { abortSignal });
    if (!blob) continue;
    files.push(name.slice(prefix.length));
    for await (const chunk of blob.chunks) {
      bytes += chunk.length;
      parser.write(chunk);
    }
    parser.endFile();
  }
  return { files, bytes, summary: parser.result() };
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

interface CheckContext {
  rules: ValidationRules;
  container: ContainerClient;
  prefix: string;
  predictionsFile: string;
  files: OutputFileState[];
  predictions: PredictionsResult | undefined;
  jobLog: JobLogResult | undefined;
  inputs: InputRowCount | undefined;
  inputsGiven: boolean;
}

function plural(count: number, one: string, many = `${one}s`): string {
  return `${count} ${count === 1 ? one : many}`;
}

function percent(ratio: number): string {
  const value = ratio * 100;
  return `${Number.isInteger(value) ? value : value.toFixed(value < 1 ? 2 : 1)}%`;
}

function whereOutputs(c: CheckContext): string {
  return `container '${c.container.containerName}' under '${c.prefix === '' ? '/' : c.prefix}'`;
}

function lineSamples(problems: LineProblem[]): string[] {
  return problems.map((p) => `line ${p.line}: ${p.reason}`);
}

function skipped(name: ValidationCheck['name'], detail: string): ValidationCheck {
  return { name, passed: true, skipped: true, detail };
}

function checkOutputsPresent(c: CheckContext): ValidationCheck {
  const missing = c.files.filter((f) => !f.present).map((f) => f.name);
  if (missing.length === 0) {
    return { name: 'outputsPresent', passed: true, detail: `all expected output files are present: ${c.files.map((f) => f.name).join(', ')}` };
  }
  const what = missing.length === 1 ? `expected output file ${missing[0]} is` : `expected output files ${missing.join(', ')} are`;
  return { name: 'outputsPresent', passed: false, detail: `${what} missing from ${whereOutputs(c)}` };
}

function checkOutputsNonEmpty(c: CheckContext): ValidationCheck {
  const present = c.files.filter((f) => f.present);
  if (present.length === 0) return skipped('outputsNonEmpty', 'no expected output file is present to check for content');
  const empty = present.filter((f) => f.bytes === 0).map((f) => f.name);
  if (empty.length) {
    return { name: 'outputsNonEmpty', passed: false, detail: `output ${empty.length === 1 ? `file ${empty[0]} is` : `files ${empty.join(', ')} are`} empty (0 bytes)` };
  }
  const p = c.predictions;
  if (p && p.analysis.rows === 0) {
    const why = p.analysis.header !== undefined ? 'only a header line' : 'only blank lines';
    return { name: 'outputsNonEmpty', passed: false, detail: `${c.predictionsFile} has no prediction rows (${why})` };
  }
  const rows = p ? `; ${c.predictionsFile} has ${plural(p.analysis.rows, 'row')}` : '';
  return { name: 'outputsNonEmpty', passed: true, detail: `no expected output file is empty${rows}` };
}

function checkCsvWellFormed(c: CheckContext, p: PredictionsResult): ValidationCheck {
  const { scan } = p.analysis;
  const problems: string[] = [];
  if (scan.unterminatedQuoteLine !== undefined) {
    problems.push(`the quoted field that opens on line ${scan.unterminatedQuoteLine} of ${c.predictionsFile} is never closed, so the rest of the file reads as one cell`);
  }
  if (scan.oversizedRecords > 0) {
    problems.push(
      `${plural(scan.oversizedRecords, 'record')} of ${c.predictionsFile} ${scan.oversizedRecords === 1 ? 'is' : 'are'} longer than 1 MiB (first on line ${scan.oversizedRecordLines[0]}): no prediction row is that long, so line breaks are missing or the file is not CSV`,
    );
  }
  if (scan.invalidUtf8) {
    problems.push(`${c.predictionsFile} is not UTF-8 text (at byte offset ${scan.invalidUtf8.offset}, line ${scan.invalidUtf8.line}), so its cells cannot be read as they were written`);
  }
  if (problems.length) return { name: 'csvWellFormed', passed: false, detail: problems.join('; ') };
  return { name: 'csvWellFormed', passed: true, detail: `${c.predictionsFile} reads as CSV: ${plural(scan.records, 'record')} on ${plural(scan.lines, 'line')}` };
}

function checkHeader(c: CheckContext): ValidationCheck {
  const p = c.predictions;
  if (!p) return skipped('header', `${c.predictionsFile} is missing, so its header was not checked`);
  const header = p.analysis.header;
  if (header === undefined) return skipped('header', `${c.predictionsFile} is empty, so it has no header to check`);
  const expected = c.rules.predictions.columns;
  if (!expected) return { name: 'header', passed: true, detail: `${c.predictionsFile} has the header ${header.join(', ')} (the rules name no columns to compare it with)` };
  const same = header.length === expected.length && header.every((h, i) => h === expected[i]);
  if (same) return { name: 'header', passed: true, detail: `${c.predictionsFile} has the expected header ${expected.join(', ')}` };
  const at = expected.findIndex((name, i) => header[i] !== name);
  const first = at === -1
    ? `it has ${plural(header.length - expected.length, 'extra column')}`
    : header[at] === undefined
      ? `column ${at + 1} ('${expected[at]}') is absent`
      : `column ${at + 1} is '${header[at]}' where '${expected[at]}' was expected`;
  return {
    name: 'header',
    passed: false,
    detail: `the header of ${c.predictionsFile} is "${header.join(',')}" but the rules expect "${expected.join(',')}" (${first})`,
  };
}

function checkColumnCount(c: CheckContext): ValidationCheck | undefined {
  const p = c.predictions;
  if (!p || p.analysis.rows === 0 || p.analysis.expectedColumns === undefined) return undefined;
  const a = p.analysis;
  const expected = plural(a.expectedColumns ?? 0, 'column');
  const source = a.expectedColumnsFrom === 'rules' ? 'as the rules require' : a.expectedColumnsFrom === 'header' ? 'as the header has' : 'as the first row has';
  if (a.columnMismatches === 0) return { name: 'columnCount', passed: true, detail: `every row of ${c.predictionsFile} has ${expected}` };
  const first = a.columnMismatchSamples[0];
  return {
    name: 'columnCount',
    passed: false,
    detail: `${a.columnMismatches} of ${plural(a.rows, 'row')} of ${c.predictionsFile} do not have ${expected} (${source}); first: line ${first.line} ${first.reason}`,
    samples: lineSamples(a.columnMismatchSamples),
  };
}

function checkRowCount(c: CheckContext): ValidationCheck {
  if (!c.inputsGiven) return skipped('rowCount', 'the run gave no inputs, so prediction rows were not compared with input rows');
  const p = c.predictions;
  const inputs = c.inputs;
  if (!p || !inputs) return skipped('rowCount', `${c.predictionsFile} is missing, so its rows were not compared with the inputs`);
  if (inputs.missing.length) {
    return {
      name: 'rowCount',
      passed: false,
      detail: `cannot compare row counts: input ${inputs.missing.length === 1 ? `blob ${inputs.missing[0]} no longer exists` : `blobs ${inputs.missing.join(', ')} no longer exist`}`,
    };
  }
  const predicted = p.analysis.rows;
  const { toleranceRows, tolerancePercent } = c.rules.rowCount;
  const allowed = Math.max(toleranceRows, Math.floor((tolerancePercent / 100) * inputs.rows));
  const difference = Math.abs(predicted - inputs.rows);
  const inputsText = `${plural(inputs.rows, 'input row')} in ${plural(inputs.files, 'file')}`;
  if (difference === 0) return { name: 'rowCount', passed: true, detail: `${c.predictionsFile} has ${plural(predicted, 'row')}, one per input row (${inputsText})` };
  const allowance = allowed === 0
    ? 'no difference is allowed'
    : `the allowed difference is ${allowed}${tolerancePercent > 0 && allowed !== toleranceRows ? ` (${tolerancePercent}% of the input rows)` : ''}`;
  const direction = predicted < inputs.rows ? `${difference} fewer` : `${difference} more`;
  return {
    name: 'rowCount',
    passed: difference <= allowed,
    detail: `${c.predictionsFile} has ${plural(predicted, 'row')} for ${inputsText}: ${direction}; ${allowance}`,
  };
}

function checkFailedFileRatio(c: CheckContext, maxRatio: number): ValidationCheck {
  const log = c.jobLog;
  const limit = `the allowed ${percent(maxRatio)}`;
  const unavailable = (why: string): ValidationCheck =>
    c.rules.jobLog.whenUnavailable === 'skip'
      ? skipped('failedFileRatio', `${why}, so the failed-file ratio was not checked`)
      : { name: 'failedFileRatio', passed: false, detail: `${why}, so the failed-file ratio (at most ${percent(maxRatio)}) cannot be checked` };
  if (!log || log.files.length === 0) return unavailable(`the job log ${c.rules.jobLog.path} is missing from ${whereOutputs(c)}`);
  const figures = failedFileFigures(log.summary, c.inputs?.files);
  if (!figures) {
    const stopped = log.summary.stopReasons.length ? ` (it stops with: ${log.summary.stopReasons.join('; ')})` : '';
    return unavailable(`the job log ${c.rules.jobLog.path} does not say how many files failed${stopped}`);
  }
  const ratio = figures.total === 0 ? (figures.failed === 0 ? 0 : 1) : figures.failed / figures.total;
  const reported = `the job log reports ${figures.failed} of ${plural(figures.total, figures.unit === 'files' ? 'input file' : 'mini batch', figures.unit === 'files' ? 'input files' : 'mini batches')} failed (${percent(ratio)})`;
  if (ratio <= maxRatio) return { name: 'failedFileRatio', passed: true, detail: `${reported}, within ${limit}` };
  return { name: 'failedFileRatio', passed: false, detail: `${reported}, above ${limit}` };
}

function checkRowSchema(c: CheckContext): ValidationCheck {
  const p = c.predictions;
  if (!p) return skipped('rowSchema', `${c.predictionsFile} is missing, so no row was checked against the row schema`);
  const a = p.analysis;
  if (a.schemaViolations === 0) {
    const unchecked = a.rows - a.schemaChecked;
    // Rows too long to decode are csvWellFormed's failure; here they are only mentioned.
    const note = unchecked > 0 ? ` (${plural(unchecked, 'row')} too long to check)` : '';
    return { name: 'rowSchema', passed: true, detail: `${a.schemaChecked} of ${plural(a.rows, 'row')} of ${c.predictionsFile} match the row schema${note}` };
  }
  const first = a.schemaViolationSamples[0];
  return {
    name: 'rowSchema',
    passed: false,
    detail: `${a.schemaViolations} of ${plural(a.rows, 'row')} of ${c.predictionsFile} do not match the row schema; first: line ${first.line}: ${first.reason}`,
    samples: lineSamples(a.schemaViolationSamples),
  };
}

function summarize(report: ValidationReport, failed: ValidationCheck[]): string {
  if (failed.length) {
    const more = failed.length > 1 ? ` (and ${failed.length - 1} more failed check${failed.length > 2 ? 's' : ''}: ${failed.slice(1).map((f) => f.name).join(', ')})` : '';
    return `Validation failed: ${failed[0].detail}${more}.`;
  }
  const { counts } = report;
  const parts: string[] = [];
  if (counts.predictionRows !== undefined) {
    parts.push(`${report.outputs.predictionsFile} has ${plural(counts.predictionRows, 'row')}${counts.inputRows !== undefined ? ` for ${plural(counts.inputRows, 'input row')}` : ''}`);
  }
  if (counts.failedFiles !== undefined && counts.totalFiles !== undefined) parts.push(`${counts.failedFiles} of ${plural(counts.totalFiles, 'file')} failed`);
  const ran = report.checks.filter((c) => !c.skipped).length;
  return `Validation passed: ${parts.length ? `${parts.join('; ')}; ` : ''}${plural(ran, 'check')} passed.`;
}
