// The job progress overview is read for failed and total input files, in Azure ML's own wording and in
// the local emulator's, whatever the chunking of the download.
import { failedFileFigures, JobProgressLogParser, parseJobProgressLog } from '../../src/validation/jobProgressLog';

const AZUREML_RUNNING = [
  '2024-03-01T10:00:01.101010 Start the simulator.',
  '2024-03-01T10:00:03.202020 The overviewer on 10.0.0.4 started.',
  '2024-03-01T10:00:04.303030 Start scheduling.',
  '2024-03-01T10:00:20.404040 Scheduling finished. Scheduled 4 mini batches with 40 items in 16 seconds.',
  '2024-03-01T10:00:20.505050 No task has been processed yet.',
  '2024-03-01T10:01:30.606060 Processed 3 of 4 mini batches in 0:01:10. Estimate remaining 0:00:23.',
  '2024-03-01T10:01:55.707070 All 4 mini batches have been processed.',
  "2024-03-01T10:01:55.808080 Progress update stopped for reasons: ['All 4 mini batches have been processed.'].",
].join('\n');

const AZUREML_SUMMARY =
  '2024-03-01T10:01:56.909090 There are 4 mini batches with 40 items. Processed 4 mini batches containing 40 items, 37 succeeded, 3 failed. The error threshold is 5. ';

const OLDER_AZUREML = [
  '2021-04-15T22:03:32.226929 Start the simulator.',
  '2021-04-15T22:03:54.767763 Scheduling finished. Scheduled 276 mini batches in 22 seconds. There are 276 tasks with 551 items.',
  '2021-04-15T22:20:53.233813 Processed 117 of 276 mini batches in 5:02:14. Estimated remaining time 19:25:59.',
].join('\n');

const EMULATOR = [
  '2024-03-01T10:00:00.000Z Job batchjob-1 started on endpoint churn (deployment blue).',
  '2024-03-01T10:00:00.100Z Mini-batches: 4 of up to 10 file(s); concurrency 2 (1 instance(s) × 2 per instance); error threshold -1; max retries 0.',
  '2024-03-01T10:00:01.000Z Mini-batch 2 failed after 1 attempt(s); failed file(s): c.csv, d.csv; error: boom',
  '2024-03-01T10:00:02.000Z Scoring finished: 3 mini-batch(es) succeeded, 1 failed; peak concurrent mini-batches 2.',
  '2024-03-01T10:00:02.100Z Summary: files 40, mini-batches 4 (succeeded 3, failed 1), failed files 2 (c.csv, d.csv), rows 380.',
  '2024-03-01T10:00:02.200Z Job status: Completed.',
].join('\n');

describe('job progress overview', () => {
  it("reads totals from Azure ML's scheduling and progress lines", () => {
    const summary = parseJobProgressLog(AZUREML_RUNNING);
    expect(summary).toMatchObject({ dialect: 'azureml', totalMiniBatches: 4, processedMiniBatches: 4, totalItems: 40, allProcessed: true });
    expect(summary.failedItems).toBeUndefined();
    expect(summary.stopReasons).toEqual(['All 4 mini batches have been processed.']);
    expect(failedFileFigures(summary)).toBeUndefined();
  });

  it("reads failed items from Azure ML's end-of-job summary", () => {
    const summary = parseJobProgressLog(`${AZUREML_RUNNING}\n${AZUREML_SUMMARY}\n`);
    expect(summary).toMatchObject({ totalItems: 40, processedItems: 40, succeededItems: 37, failedItems: 3, errorThreshold: 5 });
    expect(failedFileFigures(summary)).toEqual({ failed: 3, total: 40, unit: 'files' });
  });

  it('reads the older Azure ML scheduling wording', () => {
    expect(parseJobProgressLog(OLDER_AZUREML)).toMatchObject({ dialect: 'azureml', totalMiniBatches: 276, processedMiniBatches: 117, totalItems: 551 });
  });

  it("reads the emulator's summary line and job status", () => {
    const summary = parseJobProgressLog(EMULATOR);
    expect(summary).toMatchObject({
      dialect: 'emulator',
      totalItems: 40,
      failedItems: 2,
      totalMiniBatches: 4,
      failedMiniBatches: 1,
      succeededMiniBatches: 3,
      rowsWritten: 380,
      stopReasons: ['Job status: Completed'],
    });
    expect(failedFileFigures(summary)).toEqual({ failed: 2, total: 40, unit: 'files' });
  });

  it('reads plain key-value lines and falls back to the run\'s own input count for the total', () => {
    const summary = parseJobProgressLog('failed files: 1\nrows = 90\n');
    expect(summary).toMatchObject({ dialect: 'keyValue', failedItems: 1, rowsWritten: 90 });
    expect(failedFileFigures(summary, 10)).toEqual({ failed: 1, total: 10, unit: 'files' });
  });

  it('falls back to mini batches when only they are counted', () => {
    expect(failedFileFigures(parseJobProgressLog('total mini batches: 8\nfailed mini batches: 2\n'))).toEqual({ failed: 2, total: 8, unit: 'mini batches' });
  });

  it('gives the same figures when the log streams in odd chunks with CRLF line ends', () => {
    const bytes = Buffer.from(`${AZUREML_RUNNING}\r\n${AZUREML_SUMMARY}`.replace(/\n/g, '\r\n').replace(/\r\r/g, '\r'), 'utf8');
    const parser = new JobProgressLogParser();
    for (let i = 0; i < bytes.length; i += 7) parser.write(bytes.subarray(i, i + 7));
    parser.endFile();
    expect(parser.result()).toMatchObject({ totalItems: 40, failedItems: 3, allProcessed: true });
  });

  it('lets a later rotation of the log override an earlier one', () => {
    const parser = new JobProgressLogParser();
    parser.write(Buffer.from('Summary: files 10, mini-batches 2 (succeeded 1, failed 1), failed files 5, rows 50.'));
    parser.endFile();
    parser.write(Buffer.from('Summary: files 10, mini-batches 2 (succeeded 2, failed 0), failed files 0, rows 100.\n'));
    parser.endFile();
    expect(parser.result()).toMatchObject({ failedItems: 0, rowsWritten: 100 });
  });

  it('never buffers more than the line cap of a huge log without newlines, and still reads the lines after it', () => {
    const maxLineLength = 4096;
    const parser = new JobProgressLogParser({ maxLineLength });
    const chunk = Buffer.alloc(64 * 1024, 'x');
    let mostBuffered = 0;
    // 32 MB in one line, as a job that writes progress without line ends would leave it.
    for (let i = 0; i < 512; i++) {
      parser.write(chunk);
      mostBuffered = Math.max(mostBuffered, parser.bufferedLineLength);
    }
    parser.write(Buffer.from('\nSummary: files 10, mini-batches 2 (succeeded 2, failed 0), failed files 0, rows 100.\n'));
    parser.endFile();
    expect(mostBuffered).toBeLessThanOrEqual(maxLineLength);
    expect(parser.bufferedLineLength).toBe(0);
    expect(parser.result()).toMatchObject({ lines: 2, truncatedLines: 1, totalItems: 10, failedItems: 0, rowsWritten: 100 });
  });

  it('reads the head of an overlong line (a summary listing thousands of failed files) and counts it as truncated', () => {
    const failed = Array.from({ length: 5000 }, (_, i) => `input-${String(i).padStart(5, '0')}.csv`).join(', ');
    const summary = parseJobProgressLog(`Summary: files 9000, mini-batches 90 (succeeded 40, failed 50), failed files 5000 (${failed}), rows 4000.\nJob status: Completed.`);
    expect(summary).toMatchObject({ dialect: 'emulator', totalItems: 9000, failedItems: 5000, truncatedLines: 1, stopReasons: ['Job status: Completed'] });
  });

  it('keeps only the latest stop reasons, counting the ones it let go', () => {
    const parser = new JobProgressLogParser({ maxStopReasons: 5 });
    const lines = Array.from({ length: 10_000 }, (_, i) => `Progress update stopped for reasons: ['reason ${i}'].`);
    parser.write(Buffer.from(`${lines.join('\n')}\nJob status: Failed.\n`));
    parser.endFile();
    const summary = parser.result();
    expect(summary.stopReasons).toEqual(['reason 9996', 'reason 9997', 'reason 9998', 'reason 9999', 'Job status: Failed']);
    expect(summary.stopReasonsOmitted).toBe(9996);
  });

  it('caps stop reasons with the default limit too', () => {
    const summary = parseJobProgressLog(Array.from({ length: 5000 }, (_, i) => `Job status: attempt ${i}.`).join('\n'));
    expect(summary.stopReasons.length).toBeLessThan(5000);
    expect(summary.stopReasons.length + summary.stopReasonsOmitted).toBe(5000);
    expect(summary.stopReasons.at(-1)).toBe('Job status: attempt 4999');
  });

  it('recognises nothing in an unrelated text', () => {
    expect(parseJobProgressLog('hello\nworld')).toMatchObject({ dialect: 'unknown', lines: 2, stopReasons: [] });
  });
});
