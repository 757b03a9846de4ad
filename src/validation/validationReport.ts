// The outcome of validating one job's outputs: per-check verdicts with human-readable details (these
// reach failure events and run records verbatim), the counts behind them, and a one-line summary. It
// is plain JSON, so it crosses the activity boundary and lands in storage unchanged.
import type { DriftFindings } from './scoreDrift';

export type ValidationCheckName =
  | 'outputsPresent'
  | 'outputsNonEmpty'
  | 'csvWellFormed'
  | 'header'
  | 'columnCount'
  | 'rowCount'
  | 'failedFileRatio'
  | 'rowSchema'
  | 'drift';

export interface ValidationCheck {
  name: ValidationCheckName;
  /** True when the check passed or could not apply (then `skipped` says so). */
  passed: boolean;
  skipped?: boolean;
  /** One sentence without a final period: what was found, on which file, against what limit. */
  detail: string;
  /** The first offending lines ("line 17: has 2 columns"), at most rules.maxReportedFailures. */
  samples?: string[];
}

export interface ValidationCounts {
  /** Data rows in the predictions file (header excluded). */
  predictionRows?: number;
  inputRows?: number;
  inputFiles?: number;
  /** Failed and total input files as the job log reports them. */
  failedFiles?: number;
  totalFiles?: number;
  /** Every byte downloaded: predictions, inputs and job log. */
  bytesRead: number;
}

export interface OutputFileState {
  /** Relative to the output folder. */
  name: string;
  present: boolean;
  bytes?: number;
}

export interface ValidationReport {
  passed: boolean;
  /** One line for logs, events and dashboards. */
  summary: string;
  /** The first failed check's detail, when validation failed. */
  failureReason?: string;
  checks: ValidationCheck[];
  counts: ValidationCounts;
  outputs: {
    container: string;
    /** The output folder ('' or ending in '/'). */
    prefix: string;
    predictionsFile: string;
    files: OutputFileState[];
  };
  /** The drift check's figures, when the rules have one. */
  drift?: DriftFindings;
  /** The job log files read, oldest first, and the dialect they were written in. */
  jobLog?: { files: string[]; dialect: string };
  validatedAt: string;
  durationInMs: number;
}

/** The file name of the report written next to the outputs. */
export const VALIDATION_REPORT_FILE = 'validation-report.json';
