// The validation step's public surface: the `validation:` rules of a route, the entry point that checks
// a finished job's outputs against them, and the report it produces and writes next to the outputs.
export {
  DEFAULT_JOB_LOG_PATH,
  DEFAULT_PREDICTIONS_FILE,
  parseValidationRules,
  predictionsFileOf,
  validationRulesSchema,
  ValidationRulesError,
  type ValidationRules,
  type ValidationRulesInput,
} from '../config/validationRules';
export { validateJobOutputs, type JobOutputsLocation, type ValidateJobOutputsOptions, type ValidationOutcome } from './validateJobOutputs';
export { ScoreDriftMeter, checkDrift, type DriftBaseline, type DriftFindings } from './scoreDrift';
export { loadDriftBaseline, writeScoreProfile, scoreProfileBlobName } from './scoreProfiles';
export { ExistingOutputError, writeValidationReport, type WriteValidationReportOptions, type WrittenValidationReport } from './writeValidationReport';
export {
  VALIDATION_REPORT_FILE,
  type OutputFileState,
  type ValidationCheck,
  type ValidationCheckName,
  type ValidationCounts,
  type ValidationReport,
} from './validationReport';
export { countInputRows, type CountInputRowsOptions, type InputRowCount, type InputSelection } from './inputRows';
export { parseJobProgressLog, JobProgressLogParser, failedFileFigures, type JobProgressSummary, type FailedFileFigures } from './jobProgressLog';
export { CsvRecordScanner, splitCsvRecord, type CsvRecordScannerOptions, type CsvScanSummary, type RecordTextMode } from './csvRecordScanner';
