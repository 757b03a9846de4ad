// Writes a validation report as `validation-report.json` in the job's output folder, where operators
// look for the outputs. It never replaces a job's own file: the report is created only if the name is
// free or holds an earlier report of ours (an activity repeated after a crash rewrites its own report).
import type { ContainerClient } from '@azure/storage-blob';
import { PermanentError } from '../azure/errorClassification';
import { folderPrefix, rethrowStorageError } from './blobReading';
import { VALIDATION_REPORT_FILE, type ValidationReport } from './validationReport';

/** Metadata that marks a blob as a report written by batchpilot (metadata keys are lower-case identifiers). */
const REPORT_MARKER = { batchpilotreport: 'validation' };

export interface WriteValidationReportOptions {
  /** Default `validation-report.json`. */
  fileName?: string;
  abortSignal?: AbortSignal;
}

export interface WrittenValidationReport {
  blobName: string;
  url: string;
}

function statusOf(err: unknown): number | undefined {
  const status = typeof err === 'object' && err !== null ? (err as { statusCode?: unknown }).statusCode : undefined;
  return typeof status === 'number' ? status : undefined;
}

export async function writeValidationReport(
  container: ContainerClient,
  prefix: string,
  report: ValidationReport,
  options: WriteValidationReportOptions = {},
): Promise<WrittenValidationReport> {
  const blobName = folderPrefix(prefix) + (options.fileName ?? VALIDATION_REPORT_FILE);
  const blob = container.getBlockBlobClient(blobName);
  const body = Buffer.from(`${JSON.stringify(report, null, 2)}\n`, 'utf8');
  const upload = (conditions: { ifNoneMatch?: string; ifMatch?: string }): Promise<unknown> =>
    blob.upload(body, body.length, {
      abortSignal: options.abortSignal,
      blobHTTPHeaders: { blobContentType: 'application/json; charset=utf-8' },
      metadata: REPORT_MARKER,
      conditions,
    });
  const doing = `writing the validation report '${blobName}' in container '${container.containerName}'`;
  try {
    await upload({ ifNoneMatch: '*' });
    return { blobName, url: blob.url };
  } catch (err) {
    // 409/412: the name is taken. Ours from an earlier attempt may be replaced; a job's own file may not.
    if (statusOf(err) !== 409 && statusOf(err) !== 412) rethrowStorageError(err, doing, options.abortSignal);
  }
  for (let attempt = 1; ; attempt++) {
    try {
      const existing = await blob.getProperties({ abortSignal: options.abortSignal });
      if (existing.metadata?.batchpilotreport !== REPORT_MARKER.batchpilotreport) {
        throw new ExistingOutputError(blobName, container.containerName);
      }
      await upload({ ifMatch: existing.etag });
      return { blobName, url: blob.url };
    } catch (err) {
      if (err instanceof ExistingOutputError) throw err;
      // 412: the report changed since it was read. When a write's answer is lost, the SDK's retry meets
      // the report that very write stored; read it again and, while it is still ours, replace it again.
      if (statusOf(err) === 412 && attempt < 3) continue;
      rethrowStorageError(err, doing, options.abortSignal);
    }
  }
}

/** The report's name is already used by one of the job's outputs; the report is not written over it. Permanent: retrying cannot free the name. */
export class ExistingOutputError extends PermanentError {
  constructor(readonly blobName: string, readonly containerName: string) {
    super(
      `Not writing the validation report: '${blobName}' in container '${containerName}' already exists and is not a batchpilot report ` +
        `(it may be one of the job's outputs). Choose another report file name.`,
      { statusCode: 409 },
    );
    this.name = 'ExistingOutputError';
  }
}
