// Reads a batch job's progress overview (`logs/job_progress_overview*.txt`) for what validation needs:
// how many input files (items) there were and how many failed. Two dialects are understood:
// - Azure ML's (ParallelRunStep / batch endpoints): timestamped sentences such as
//   "Scheduling finished. Scheduled 4 mini batches with 40 items in 3 seconds.",
//   "Processed 3 of 4 mini batches in 0:01:02. Estimate remaining 0:00:20.",
//   "All 4 mini batches have been processed." and the end-of-job summary
//   "There are 4 mini batches with 40 items. Processed 4 mini batches containing 40 items, 38 succeeded, 2 failed. ...";
// - the local Azure ML emulator's, which ends with
//   "Summary: files 40, mini-batches 4 (succeeded 3, failed 1), failed files 2 (a.csv, b.csv), rows 380.";
// plus plain "failed files: 2" / "total files = 40" lines, so hand-written logs in tests read naturally.
// The file is read line by line as it streams; a long job's log is never held whole.
import { StringDecoder } from 'node:string_decoder';

export interface JobProgressSummary {
  /** Which dialect the figures came from ('unknown' when no line was recognised). */
  dialect: 'azureml' | 'emulator' | 'keyValue' | 'unknown';
  totalMiniBatches?: number;
  processedMiniBatches?: number;
  succeededMiniBatches?: number;
  failedMiniBatches?: number;
  /** Items are input files for file inputs (uri_folder / uri_file), rows for tabular inputs. */
  totalItems?: number;
  processedItems?: number;
  succeededItems?: number;
  failedItems?: number;
  /** Output rows the job says it wrote (emulator). */
  rowsWritten?: number;
  errorThreshold?: number;
  /** Set once the log says every mini batch was processed. */
  allProcessed: boolean;
  /** "Progress update stopped for reasons: [...]" (Azure ML) and "Job status: ..." (emulator). */
  stopReasons: string[];
  /** Lines read. */
  lines: number;
}

// An optional leading timestamp ("2021-04-15T22:03:32.226929 ", "2020-08-07 07:39:58,396|INFO|") and level.
const TIMESTAMP = /^\s*\[?\d{4}-\d{2}-\d{2}[T ][\d:.,]+(?:Z|[+-]\d{2}:?\d{2})?\]?\s*(?:\|\s*[A-Z]+\s*\|)?\s*(?:-\s*)?/;
const num = '(\\d+(?:,\\d{3})*)';

const AZUREML_RULES: Array<{ pattern: RegExp; apply(m: RegExpExecArray, s: JobProgressSummary): void }> = [
  {
    pattern: new RegExp(`There are ${num} mini batches with ${num} items\\. Processed ${num} mini batches containing ${num} items, ${num} succeeded, ${num} failed\\.(?: The error threshold is (-?\\d+)\\.)?`, 'i'),
    apply(m, s) {
      s.totalMiniBatches = toInt(m[1]);
      s.totalItems = toInt(m[2]);
      s.processedMiniBatches = toInt(m[3]);
      s.processedItems = toInt(m[4]);
      s.succeededItems = toInt(m[5]);
      s.failedItems = toInt(m[6]);
      if (m[7] !== undefined) s.errorThreshold = Number(m[7]);
    },
  },
  {
    pattern: new RegExp(`Scheduling finished\\. Scheduled ${num} mini batches(?: with ${num} items)?`, 'i'),
    apply(m, s) {
      s.totalMiniBatches = toInt(m[1]);
      if (m[2] !== undefined) s.totalItems = toInt(m[2]);
    },
  },
  {
    // Older releases: "... in 22 seconds. There are 276 tasks with 551 items."
    pattern: new RegExp(`There are ${num} tasks with ${num} items`, 'i'),
    apply(m, s) {
      s.totalMiniBatches = toInt(m[1]);
      s.totalItems = toInt(m[2]);
    },
  },
  {
    pattern: new RegExp(`Processed ${num} of ${num} mini batches`, 'i'),
    apply(m, s) {
      s.processedMiniBatches = toInt(m[1]);
      s.totalMiniBatches = toInt(m[2]);
    },
  },
  {
    pattern: new RegExp(`All ${num} mini batches have been processed`, 'i'),
    apply(m, s) {
      s.totalMiniBatches = toInt(m[1]);
      s.processedMiniBatches = toInt(m[1]);
      s.allProcessed = true;
    },
  },
  {
    pattern: /Progress update stopped for reasons:\s*(.*?)\.?\s*$/i,
    apply(m, s) {
      for (const reason of m[1].replace(/^\[|\]$/g, '').split(/['"],\s*['"]/)) {
        const cleaned = reason.replace(/^['"]|['"]$/g, '').trim();
        if (cleaned) s.stopReasons.push(cleaned);
      }
    },
  },
];

const EMULATOR_SUMMARY = new RegExp(
  `Summary: files ${num}, mini-batches ${num} \\(succeeded ${num}, failed ${num}\\), failed files ${num}(?: \\(.*\\))?(?:, rows ${num})?`,
  'i',
);
const EMULATOR_STATUS = /Job status:\s*(.+?)\.?\s*$/i;

/** "failed files: 3", "Total items = 40", "mini batches failed: 1". */
const KEY_VALUE = /^([A-Za-z][A-Za-z _-]{1,40}?)\s*[:=]\s*(\d+(?:,\d{3})*)\s*$/;
const KEY_VALUE_FIELDS: Record<string, keyof JobProgressSummary> = {
  totalfiles: 'totalItems',
  files: 'totalItems',
  totalitems: 'totalItems',
  items: 'totalItems',
  inputfiles: 'totalItems',
  failedfiles: 'failedItems',
  filesfailed: 'failedItems',
  faileditems: 'failedItems',
  itemsfailed: 'failedItems',
  succeededfiles: 'succeededItems',
  succeededitems: 'succeededItems',
  processedfiles: 'processedItems',
  processeditems: 'processedItems',
  totalminibatches: 'totalMiniBatches',
  minibatches: 'totalMiniBatches',
  failedminibatches: 'failedMiniBatches',
  minibatchesfailed: 'failedMiniBatches',
  succeededminibatches: 'succeededMiniBatches',
  processedminibatches: 'processedMiniBatches',
  rows: 'rowsWritten',
  rowswritten: 'rowsWritten',
  errorthreshold: 'errorThreshold',
};

function toInt(text: string): number {
  return Number(text.replace(/,/g, ''));
}

/** Accumulates lines of one or more overview files (rotations in order); later lines win. */
export class JobProgressLogParser {
  readonly #summary: JobProgressSummary = { dialect: 'unknown', allProcessed: false, stopReasons: [], lines: 0 };
  #decoder = new StringDecoder('utf8');
  #partial = '';

  /** Feeds raw bytes of a log file; call endFile() after each file. */
  write(chunk: Buffer): void {
    const text = this.#partial + this.#decoder.write(chunk);
    const lines = text.split('\n');
    this.#partial = lines.pop() ?? '';
    for (const line of lines) this.addLine(line);
  }

  /** Flushes the last line of the current file. */
  endFile(): void {
    const rest = this.#partial + this.#decoder.end();
    this.#partial = '';
    this.#decoder = new StringDecoder('utf8');
    if (rest !== '') this.addLine(rest);
  }

  addLine(rawLine: string): void {
    const s = this.#summary;
    s.lines++;
    const line = rawLine.replace(/\r$/, '').replace(TIMESTAMP, '').trim();
    if (line === '') return;

    const summary = EMULATOR_SUMMARY.exec(line);
    if (summary) {
      s.dialect = 'emulator';
      s.totalItems = toInt(summary[1]);
      s.totalMiniBatches = toInt(summary[2]);
      s.succeededMiniBatches = toInt(summary[3]);
      s.failedMiniBatches = toInt(summary[4]);
      s.processedMiniBatches = s.succeededMiniBatches + s.failedMiniBatches;
      s.failedItems = toInt(summary[5]);
      s.succeededItems = s.totalItems - s.failedItems;
      if (summary[6] !== undefined) s.rowsWritten = toInt(summary[6]);
      return;
    }
    const status = EMULATOR_STATUS.exec(line);
    if (status) {
      if (s.dialect === 'unknown') s.dialect = 'emulator';
      s.stopReasons.push(`Job status: ${status[1]}`);
      return;
    }
    // One Azure ML line may carry several facts (older releases append "There are N tasks with M items").
    let recognised = false;
    for (const rule of AZUREML_RULES) {
      const m = rule.pattern.exec(line);
      if (m) {
        s.dialect = 'azureml';
        rule.apply(m, s);
        recognised = true;
      }
    }
    if (recognised) return;
    const kv = KEY_VALUE.exec(line);
    if (kv) {
      const field = KEY_VALUE_FIELDS[kv[1].toLowerCase().replace(/[^a-z]/g, '')];
      if (field) {
        if (s.dialect === 'unknown') s.dialect = 'keyValue';
        (s as unknown as Record<string, number>)[field] = toInt(kv[2]);
      }
    }
  }

  result(): JobProgressSummary {
    if (this.#partial !== '') this.endFile();
    return { ...this.#summary, stopReasons: [...this.#summary.stopReasons] };
  }
}

/** Parses a whole log held in memory (tests, small logs). */
export function parseJobProgressLog(text: string): JobProgressSummary {
  const parser = new JobProgressLogParser();
  for (const line of text.split('\n')) parser.addLine(line);
  return parser.result();
}

export interface FailedFileFigures {
  failed: number;
  total: number;
  /** What the figures count: files (items) as the job reported them, or mini batches as a fallback. */
  unit: 'files' | 'mini batches';
}

/**
 * The failed-file figures a summary supports, or undefined when it does not say how many failed.
 * `inputFileCount` (from the run's own input list) stands in for the total when the log omits it.
 */
export function failedFileFigures(summary: JobProgressSummary, inputFileCount?: number): FailedFileFigures | undefined {
  if (summary.failedItems !== undefined) {
    const total = summary.totalItems ?? summary.processedItems ?? inputFileCount;
    if (total !== undefined) return { failed: summary.failedItems, total, unit: 'files' };
  }
  if (summary.failedMiniBatches !== undefined && summary.totalMiniBatches !== undefined) {
    return { failed: summary.failedMiniBatches, total: summary.totalMiniBatches, unit: 'mini batches' };
  }
  return undefined;
}
