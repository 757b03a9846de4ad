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
// The file is read line by line as it streams; a long job's log is never held whole, and neither is
// one line of it: each chunk is scanned once for line ends, a line is buffered up to a cap (the rest of
// an overlong line is dropped and counted), and only the latest stop reasons are kept.
import { StringDecoder } from 'node:string_decoder';

/** Progress lines are short; the head of a longer one (e.g. a summary listing every failed file) holds its figures. */
export const DEFAULT_MAX_LINE_LENGTH = 16 * 1024;
/** A log that repeats its stop reason stays a bounded summary; the latest ones say how the job ended. */
export const DEFAULT_MAX_STOP_REASONS = 50;

export interface JobProgressLogParserOptions {
  /** Characters of a line that are read; the rest of a longer line is dropped and counted in `truncatedLines`. */
  maxLineLength?: number;
  /** Stop reasons kept (the latest); older ones are counted in `stopReasonsOmitted`. */
  maxStopReasons?: number;
}

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
  /** "Progress update stopped for reasons: [...]" (Azure ML) and "Job status: ..." (emulator); the latest ones. */
  stopReasons: string[];
  /** Older stop reasons not kept in `stopReasons`. */
  stopReasonsOmitted: number;
  /** Lines read. */
  lines: number;
  /** Lines longer than the parser's cap: only their head was read. */
  truncatedLines: number;
}

// An optional leading timestamp ("2021-04-15T22:03:32.226929 ", "2020-08-07 07:39:58,396|INFO|") and level.
const TIMESTAMP = /^\s*\[?\d{4}-\d{2}-\d{2}[T ][\d:.,]+(?:Z|[+-]\d{2}:?\d{2})?\]?\s*(?:\|\s*[A-Z]+\s*\|)?\s*(?:-\s*)?/;
const num = '(\\d+(?:,\\d{3})*)';

const AZUREML_RULES: Array<{ pattern: RegExp; apply(m: RegExpExecArray, s: JobProgressSummary, addStopReason: (reason: string) => void): void }> = [
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
    apply(m, _s, addStopReason) {
      for (const reason of m[1].replace(/^\[|\]$/g, '').split(/['"],\s*['"]/)) {
        const cleaned = reason.replace(/^['"]|['"]$/g, '').trim();
        if (cleaned) addStopReason(cleaned);
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
  readonly #summary: JobProgressSummary = { dialect: 'unknown', allProcessed: false, stopReasons: [], stopReasonsOmitted: 0, lines: 0, truncatedLines: 0 };
  readonly #maxLineLength: number;
  readonly #maxStopReasons: number;
  #decoder = new StringDecoder('utf8');
  /** The current line so far, in pieces (joined once, at its end) and never longer than the cap in total. */
  #pieces: string[] = [];
  #buffered = 0;
  /** The current line went past the cap: the rest of it, up to its end, is skipped. */
  #overlong = false;

  constructor(options: JobProgressLogParserOptions = {}) {
    this.#maxLineLength = positiveWhole(options.maxLineLength ?? DEFAULT_MAX_LINE_LENGTH, 'maxLineLength');
    this.#maxStopReasons = positiveWhole(options.maxStopReasons ?? DEFAULT_MAX_STOP_REASONS, 'maxStopReasons');
  }

  /** Characters of the current, unfinished line held in memory (at most the line cap). */
  get bufferedLineLength(): number {
    return this.#buffered;
  }

  /** Feeds raw bytes of a log file; call endFile() after each file. */
  write(chunk: Buffer): void {
    const text = this.#decoder.write(chunk);
    let start = 0;
    for (let end = text.indexOf('\n'); end !== -1; end = text.indexOf('\n', start)) {
      this.#hold(text, start, end);
      this.#endLine();
      start = end + 1;
    }
    this.#hold(text, start, text.length);
  }

  /** Flushes the last line of the current file. */
  endFile(): void {
    const rest = this.#decoder.end();
    this.#hold(rest, 0, rest.length);
    this.#decoder = new StringDecoder('utf8');
    if (this.#buffered > 0 || this.#overlong) this.#endLine();
  }

  /** Reads one line (without its line end); a line longer than the cap is read up to the cap. */
  addLine(rawLine: string): void {
    if (rawLine.length > this.#maxLineLength) this.#readLine(rawLine.slice(0, this.#maxLineLength), true);
    else this.#readLine(rawLine, false);
  }

  result(): JobProgressSummary {
    if (this.#buffered > 0 || this.#overlong) this.endFile();
    return { ...this.#summary, stopReasons: [...this.#summary.stopReasons] };
  }

  #hold(text: string, from: number, to: number): void {
    if (this.#overlong || to <= from) return;
    const room = this.#maxLineLength - this.#buffered;
    if (to - from > room) {
      this.#overlong = true;
      to = from + room;
    }
    if (to > from) {
      this.#pieces.push(text.slice(from, to));
      this.#buffered += to - from;
    }
  }

  #endLine(): void {
    const line = this.#pieces.length === 1 ? this.#pieces[0] : this.#pieces.join('');
    const truncated = this.#overlong;
    this.#pieces = [];
    this.#buffered = 0;
    this.#overlong = false;
    this.#readLine(line, truncated);
  }

  #addStopReason(reason: string): void {
    const reasons = this.#summary.stopReasons;
    reasons.push(reason);
    if (reasons.length > this.#maxStopReasons) {
      reasons.shift();
      this.#summary.stopReasonsOmitted++;
    }
  }

  #readLine(rawLine: string, truncated: boolean): void {
    const s = this.#summary;
    s.lines++;
    if (truncated) s.truncatedLines++;
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
      this.#addStopReason(`Job status: ${status[1]}`);
      return;
    }
    // One Azure ML line may carry several facts (older releases append "There are N tasks with M items").
    let recognised = false;
    for (const rule of AZUREML_RULES) {
      const m = rule.pattern.exec(line);
      if (m) {
        s.dialect = 'azureml';
        rule.apply(m, s, (reason) => this.#addStopReason(reason));
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
}

function positiveWhole(value: number, name: string): number {
  if (!Number.isInteger(value) || value < 1) throw new RangeError(`JobProgressLogParser: ${name} must be a whole number of at least 1; got ${value}.`);
  return value;
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
