// What one pass over a predictions file finds: its rows, its header, rows whose cell count differs
// from the expected one, rows the route's JSON Schema rejects, and structural damage (a quote never
// closed, a record too long to be a row, bytes that are not UTF-8). Fed chunk by chunk from a download; only the first few
// offending lines are kept (with their line numbers), the counts are always complete.
import { CsvRecordScanner, splitCsvRecord, type CsvScanSummary } from './csvRecordScanner';
import { coerceCell, compileRowSchema, type CellKind, type CompiledRowSchema, type RowValue } from '../config/rowSchema';
import type { ValidationRules } from '../config/validationRules';
import type { ScoreDriftMeter } from './scoreDrift';

export interface LineProblem {
  line: number;
  reason: string;
}

export interface PredictionsAnalysis {
  scan: CsvScanSummary;
  /** Data rows (records after the header, when there is one). */
  rows: number;
  /** Header cells (trimmed), when the rules say the file has a header and it is not empty. */
  header?: string[];
  /** Cells every row should have, and where that number came from. */
  expectedColumns?: number;
  expectedColumnsFrom?: 'rules' | 'header' | 'first row';
  columnMismatches: number;
  columnMismatchSamples: LineProblem[];
  /** Rows checked against the row schema, and those that failed it. */
  schemaChecked: number;
  schemaViolations: number;
  schemaViolationSamples: LineProblem[];
}

/** Streams a predictions file through the rules' CSV dialect and checks. */
export class PredictionsAnalyzer {
  readonly #rules: ValidationRules['predictions'];
  readonly #maxSamples: number;
  readonly #scanner: CsvRecordScanner;
  readonly #schema: CompiledRowSchema | undefined;
  #columnNames: string[] | undefined;
  /** Per named column, what its cells convert to before validation (see coerceCell). */
  #columnKinds: CellKind[] = [];
  #expectedColumns: number | undefined;
  #expectedColumnsFrom: PredictionsAnalysis['expectedColumnsFrom'];
  #header: string[] | undefined;
  /** Records before the data rows (the header). */
  #headerRecords = 0;
  #columnMismatches = 0;
  readonly #columnMismatchSamples: LineProblem[] = [];
  #schemaChecked = 0;
  #schemaViolations = 0;
  readonly #schemaViolationSamples: LineProblem[] = [];
  readonly #drift: ScoreDriftMeter | undefined;

  /** `drift`: fed the cells of every data row (the drift rule's score column). */
  constructor(rules: ValidationRules, drift?: ScoreDriftMeter) {
    this.#drift = drift;
    this.#rules = rules.predictions;
    this.#maxSamples = rules.maxReportedFailures;
    this.#schema = rules.rowSchema ? compileRowSchema(rules.rowSchema) : undefined;
    this.#columnNames = this.#rules.columns;
    if (this.#rules.columnCount !== undefined || this.#rules.columns) {
      this.#expectedColumns = this.#rules.columnCount ?? this.#rules.columns?.length;
      this.#expectedColumnsFrom = 'rules';
    }
    this.#scanner = new CsvRecordScanner({
      delimiter: this.#rules.delimiter,
      quote: this.#rules.quote,
      recordText: this.#schema || drift ? 'all' : this.#rules.header ? 'first' : 'none',
      // Batch outputs are UTF-8 text; anything else would be read wrongly by whoever reads them next.
      checkUtf8: true,
      onRecord: (line, fieldCount, text) => this.#onRecord(line, fieldCount, text),
    });
    // Rows with the expected cells need no per-row look when no schema reads them: the scanner counts them.
    if (!drift) this.#scanner.countQuietly(this.#expectedColumns);
    else if (!this.#rules.header) drift.useColumnNames(this.#columnNames);
  }

  write(chunk: Buffer): void {
    this.#scanner.write(chunk);
  }

  end(): PredictionsAnalysis {
    const scan = this.#scanner.end();
    return {
      scan,
      rows: scan.records - this.#headerRecords,
      header: this.#header,
      expectedColumns: this.#expectedColumns,
      expectedColumnsFrom: this.#expectedColumnsFrom,
      columnMismatches: this.#columnMismatches,
      columnMismatchSamples: this.#columnMismatchSamples,
      schemaChecked: this.#schemaChecked,
      schemaViolations: this.#schemaViolations,
      schemaViolationSamples: this.#schemaViolationSamples,
    };
  }

  #onRecord(line: number, fieldCount: number, text: string | undefined): void {
    if (this.#rules.header && this.#header === undefined) {
      this.#header = text === undefined ? [] : splitCsvRecord(text, this.#rules.delimiter, this.#rules.quote).map((h) => h.trim());
      this.#columnNames ??= this.#header;
      this.#headerRecords = 1;
      this.#drift?.useColumnNames(this.#columnNames);
      if (this.#expectedColumns === undefined) {
        this.#expectedColumns = fieldCount;
        this.#expectedColumnsFrom = 'header';
        if (!this.#drift) this.#scanner.countQuietly(fieldCount);
      }
      return;
    }
    if (this.#drift?.wantsCells && text !== undefined) this.#drift.addRecord(text, this.#rules.delimiter, this.#rules.quote);
    if (this.#expectedColumns === undefined) {
      this.#expectedColumns = fieldCount;
      this.#expectedColumnsFrom = 'first row';
      if (!this.#drift) this.#scanner.countQuietly(fieldCount);
    } else if (fieldCount !== this.#expectedColumns) {
      this.#columnMismatches++;
      if (this.#columnMismatchSamples.length < this.#maxSamples) {
        this.#columnMismatchSamples.push({ line, reason: `has ${fieldCount} column${fieldCount === 1 ? '' : 's'}` });
      }
    }
    if (this.#schema && text !== undefined) {
      this.#schemaChecked++;
      const reason = this.#schema.check(this.#rowValue(text));
      if (reason !== undefined) {
        this.#schemaViolations++;
        if (this.#schemaViolationSamples.length < this.#maxSamples) this.#schemaViolationSamples.push({ line, reason });
      }
    }
  }

  #rowValue(text: string): RowValue {
    const schema = this.#schema as CompiledRowSchema;
    const cells = splitCsvRecord(text, this.#rules.delimiter, this.#rules.quote);
    const names = this.#columnNames;
    if (!names) return cells.map((cell, i) => coerceCell(cell, schema.kindOfIndex(i)));
    if (this.#columnKinds.length !== names.length) this.#columnKinds = names.map((name) => schema.kindOfColumn(name));
    const row: Record<string, unknown> = {};
    // Missing cells stay absent (so `required` reports them); extra cells are the column check's business.
    const n = Math.min(names.length, cells.length);
    for (let i = 0; i < n; i++) row[names[i]] = coerceCell(cells[i], this.#columnKinds[i]);
    return row;
  }
}
