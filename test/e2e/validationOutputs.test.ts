// Validating a finished job's outputs in Blob Storage (Azurite): every rule either passes or fails with
// a reason that names the file, the line and the limit, and the report lands next to the outputs.
import { BlobServiceClient, type ContainerClient } from '@azure/storage-blob';
import { testAzurite, uniqueName } from '@batchpilot/local-platform';
import { validateJobOutputs, writeValidationReport, ExistingOutputError, type ValidationReport, type ValidationRulesInput } from '../../src/validation';

let service: BlobServiceClient;
let outputs: ContainerClient;
let inputs: ContainerClient;

beforeAll(async () => {
  service = BlobServiceClient.fromConnectionString(testAzurite().connectionString);
  outputs = service.getContainerClient(uniqueName('outputs'));
  inputs = service.getContainerClient(uniqueName('inputs'));
  await outputs.create();
  await inputs.create();
});

afterAll(async () => {
  await outputs.deleteIfExists();
  await inputs.deleteIfExists();
});

async function put(container: ContainerClient, name: string, content: string | Buffer): Promise<void> {
  const body = typeof content === 'string' ? Buffer.from(content, 'utf8') : content;
  await container.getBlockBlobClient(name).upload(body, body.length);
}

/** A run folder with its own name, so tests never see each other's blobs. */
function runFolder(): string {
  return `runs/${uniqueName('run')}/`;
}

/** Two input CSVs with a header line, 5 and 3 data rows (one with a quoted line break). */
async function putInputs(folder: string): Promise<string[]> {
  const a = `${folder}a.csv`;
  const b = `${folder}b.csv`;
  await put(inputs, a, 'id,tenure,notes\n1,3,x\n2,5,y\n3,1,"multi\nline"\n4,2,z\n5,9,w\n');
  await put(inputs, b, 'id,tenure,notes\r\n6,1,a\r\n7,2,b\r\n8,3,c\r\n');
  return [a, b];
}

function predictionRows(count: number, score = (i: number) => (i % 10) / 10): string {
  let text = '';
  for (let i = 1; i <= count; i++) text += `${i},${score(i)},input.csv\n`;
  return text;
}

function emulatorLog(files: number, failedFiles: number): string {
  return [
    '2024-03-01T10:00:00.000Z Job started.',
    `2024-03-01T10:00:02.100Z Summary: files ${files}, mini-batches 2 (succeeded ${failedFiles ? 1 : 2}, failed ${failedFiles ? 1 : 0}), failed files ${failedFiles}, rows 8.`,
    '2024-03-01T10:00:02.200Z Job status: Completed.',
    '',
  ].join('\n');
}

function check(report: ValidationReport, name: string): ValidationReport['checks'][number] {
  const found = report.checks.find((c) => c.name === name);
  if (!found) throw new Error(`no ${name} check in ${JSON.stringify(report.checks)}`);
  return found;
}

describe('validateJobOutputs', () => {
  it('passes outputs that meet every rule, with counts and a one-line summary', async () => {
    const folder = runFolder();
    const inputNames = await putInputs(`in/${folder}`);
    await put(outputs, `${folder}predictions.csv`, predictionRows(8));
    await put(outputs, `${folder}logs/job_progress_overview.txt`, emulatorLog(2, 0));
    const rules: ValidationRulesInput = {
      predictions: { columns: ['id', 'score', 'file'] },
      maxFailedFileRatio: 0.1,
      rowSchema: { type: 'object', properties: { id: { type: 'integer' }, score: { type: 'number', minimum: 0, maximum: 1 } }, required: ['id', 'score'] },
    };
    const report = await validateJobOutputs({ outputs: { container: outputs, prefix: folder }, inputs: { container: inputs, blobNames: inputNames }, rules });

    expect(report.checks.map((c) => [c.name, c.passed, c.skipped ?? false])).toEqual([
      ['outputsPresent', true, false],
      ['outputsNonEmpty', true, false],
      ['csvWellFormed', true, false],
      ['columnCount', true, false],
      ['rowCount', true, false],
      ['failedFileRatio', true, false],
      ['rowSchema', true, false],
    ]);
    expect(report.passed).toBe(true);
    expect(report.failureReason).toBeUndefined();
    expect(report.counts).toMatchObject({ predictionRows: 8, inputRows: 8, inputFiles: 2, failedFiles: 0, totalFiles: 2 });
    expect(report.counts.bytesRead).toBeGreaterThan(0);
    expect(report.summary).toBe('Validation passed: predictions.csv has 8 rows for 8 input rows; 0 of 2 files failed; 7 checks passed.');
    expect(check(report, 'rowCount').detail).toBe('predictions.csv has 8 rows, one per input row (8 input rows in 2 files)');
    expect(report.outputs).toEqual({ container: outputs.containerName, prefix: folder, predictionsFile: 'predictions.csv', files: [{ name: 'predictions.csv', present: true, bytes: expect.any(Number) }] });
    expect(report.jobLog).toEqual({ files: ['logs/job_progress_overview.txt'], dialect: 'emulator' });
  });

  it('fails with the missing file named and the checks that need it skipped', async () => {
    const folder = runFolder();
    await put(outputs, `${folder}logs/job_progress_overview.txt`, emulatorLog(2, 0));
    const report = await validateJobOutputs({
      outputs: { container: outputs, prefix: folder },
      inputs: { container: inputs, blobNames: await putInputs(`in/${folder}`) },
      rules: { rowSchema: { type: 'object' }, predictions: { header: true } },
    });
    expect(report.passed).toBe(false);
    expect(report.failureReason).toBe(`expected output file predictions.csv is missing from container '${outputs.containerName}' under '${folder}'`);
    expect(report.summary).toBe(`Validation failed: ${report.failureReason}.`);
    expect(report.checks.filter((c) => !c.passed).map((c) => c.name)).toEqual(['outputsPresent']);
    expect(check(report, 'rowCount')).toMatchObject({ passed: true, skipped: true });
    expect(check(report, 'rowSchema')).toMatchObject({ passed: true, skipped: true });
  });

  it('fails on each missing expected file, naming all of them', async () => {
    const folder = runFolder();
    await put(outputs, `${folder}predictions.csv`, predictionRows(2));
    const report = await validateJobOutputs({ outputs: { container: outputs, prefix: folder }, rules: { expectedFiles: ['predictions.csv', 'summary.json', 'metrics/auc.txt'] } });
    expect(report.failureReason).toBe(`expected output files summary.json, metrics/auc.txt are missing from container '${outputs.containerName}' under '${folder}'`);
  });

  it("checks the job's own output file name when the rules keep the default", async () => {
    const folder = runFolder();
    await put(outputs, `${folder}scores.csv`, predictionRows(4));
    const report = await validateJobOutputs({ outputs: { container: outputs, prefix: folder }, outputFileName: 'scores.csv' });
    expect(report.passed).toBe(true);
    expect(report.outputs.predictionsFile).toBe('scores.csv');
    const named = await validateJobOutputs({ outputs: { container: outputs, prefix: folder }, outputFileName: 'scores.csv', rules: { expectedFiles: ['summary.json'] } });
    expect(named.failureReason).toMatch(/^expected output file summary\.json is missing/);
  });

  it('fails an empty predictions file as empty', async () => {
    const folder = runFolder();
    await put(outputs, `${folder}predictions.csv`, '');
    const report = await validateJobOutputs({ outputs: { container: outputs, prefix: folder } });
    expect(report.passed).toBe(false);
    expect(report.failureReason).toBe('output file predictions.csv is empty (0 bytes)');
  });

  it('fails a predictions file that holds only a header as having no rows', async () => {
    const folder = runFolder();
    await put(outputs, `${folder}predictions.csv`, 'id,score\n');
    const report = await validateJobOutputs({ outputs: { container: outputs, prefix: folder }, rules: { predictions: { header: true } } });
    expect(report.failureReason).toBe('predictions.csv has no prediction rows (only a header line)');
  });

  it('fails when prediction rows differ from input rows, saying by how much', async () => {
    const folder = runFolder();
    await put(outputs, `${folder}predictions.csv`, predictionRows(7));
    const report = await validateJobOutputs({ outputs: { container: outputs, prefix: folder }, inputs: { container: inputs, blobNames: await putInputs(`in/${folder}`) } });
    expect(report.passed).toBe(false);
    expect(report.failureReason).toBe('predictions.csv has 7 rows for 8 input rows in 2 files: 1 fewer; no difference is allowed');
    expect(report.counts).toMatchObject({ predictionRows: 7, inputRows: 8 });
  });

  it('passes a row difference within an absolute or a percentage tolerance, and fails one beyond it', async () => {
    const folder = runFolder();
    const inputNames = await putInputs(`in/${folder}`);
    await put(outputs, `${folder}predictions.csv`, predictionRows(9));
    const run = (rowCount: ValidationRulesInput['rowCount']): Promise<ValidationReport> =>
      validateJobOutputs({ outputs: { container: outputs, prefix: folder }, inputs: { container: inputs, blobNames: inputNames }, rules: { rowCount } });

    const absolute = await run({ toleranceRows: 1 });
    expect(absolute.passed).toBe(true);
    expect(check(absolute, 'rowCount').detail).toBe('predictions.csv has 9 rows for 8 input rows in 2 files: 1 more; the allowed difference is 1');

    const byPercent = await run({ tolerancePercent: 25 });
    expect(byPercent.passed).toBe(true);
    expect(check(byPercent, 'rowCount').detail).toBe('predictions.csv has 9 rows for 8 input rows in 2 files: 1 more; the allowed difference is 2 (25% of the input rows)');

    const tooTight = await run({ tolerancePercent: 10 });
    expect(tooTight.passed).toBe(false);
    expect(tooTight.failureReason).toBe('predictions.csv has 9 rows for 8 input rows in 2 files: 1 more; no difference is allowed');
  });

  it('counts input rows from every data blob under a folder, skipping markers', async () => {
    const folder = runFolder();
    await putInputs(`in/${folder}`);
    await put(inputs, `in/${folder}_SUCCESS`, '');
    await put(inputs, `in/${folder}.keep`, 'x\n');
    await put(outputs, `${folder}predictions.csv`, predictionRows(8));
    const report = await validateJobOutputs({ outputs: { container: outputs, prefix: folder }, inputs: { container: inputs, prefix: `in/${folder}` } });
    expect(report.passed).toBe(true);
    expect(report.counts).toMatchObject({ inputRows: 8, inputFiles: 2 });
  });

  it('fails the row comparison when a named input no longer exists', async () => {
    const folder = runFolder();
    await put(outputs, `${folder}predictions.csv`, predictionRows(8));
    const names = [...(await putInputs(`in/${folder}`)), `in/${folder}gone.csv`];
    const report = await validateJobOutputs({ outputs: { container: outputs, prefix: folder }, inputs: { container: inputs, blobNames: names } });
    expect(report.failureReason).toBe(`cannot compare row counts: input blob in/${folder}gone.csv no longer exists`);
  });

  it('skips the row comparison when the run gave no inputs', async () => {
    const folder = runFolder();
    await put(outputs, `${folder}predictions.csv`, predictionRows(3));
    const report = await validateJobOutputs({ outputs: { container: outputs, prefix: folder } });
    expect(report.passed).toBe(true);
    expect(check(report, 'rowCount')).toEqual({ name: 'rowCount', passed: true, skipped: true, detail: 'the run gave no inputs, so prediction rows were not compared with input rows' });
  });

  it('fails a header that differs from the expected columns, naming the first difference', async () => {
    const folder = runFolder();
    await put(outputs, `${folder}scores.csv`, 'id,scroe,file\n1,0.5,a.csv\n');
    const report = await validateJobOutputs({
      outputs: { container: outputs, prefix: folder },
      rules: { expectedFiles: ['scores.csv'], predictions: { header: true, columns: ['id', 'score', 'file'] } },
    });
    expect(report.passed).toBe(false);
    expect(report.failureReason).toBe(`the header of scores.csv is "id,scroe,file" but the rules expect "id,score,file" (column 2 is 'scroe' where 'score' was expected)`);
  });

  it('fails rows with a different number of columns, listing the first lines', async () => {
    const folder = runFolder();
    await put(outputs, `${folder}predictions.csv`, '1,0.1,a\n2,0.2\n3,0.3,c\n4,0.4,d,extra\n5,"0.5, quoted",e\n6\n');
    const report = await validateJobOutputs({ outputs: { container: outputs, prefix: folder }, rules: { predictions: { columnCount: 3 }, maxReportedFailures: 2 } });
    const columns = check(report, 'columnCount');
    expect(columns.passed).toBe(false);
    expect(columns.detail).toBe('3 of 6 rows of predictions.csv do not have 3 columns (as the rules require); first: line 2 has 2 columns');
    expect(columns.samples).toEqual(['line 2: has 2 columns', 'line 4: has 4 columns']);
  });

  it('compares every row with the first row when the rules name no column count', async () => {
    const folder = runFolder();
    await put(outputs, `${folder}predictions.csv`, '1;a\n2;b\n3;c;d\n');
    const report = await validateJobOutputs({ outputs: { container: outputs, prefix: folder }, rules: { predictions: { delimiter: ';' } } });
    expect(report.failureReason).toBe('1 of 3 rows of predictions.csv do not have 2 columns (as the first row has); first: line 3 has 3 columns');
  });

  it('fails when the job log reports more failed files than allowed', async () => {
    const folder = runFolder();
    await put(outputs, `${folder}predictions.csv`, predictionRows(8));
    await put(outputs, `${folder}logs/job_progress_overview.txt`, emulatorLog(10, 3));
    const report = await validateJobOutputs({ outputs: { container: outputs, prefix: folder }, rules: { maxFailedFileRatio: 0.1 } });
    expect(report.passed).toBe(false);
    expect(report.failureReason).toBe('the job log reports 3 of 10 input files failed (30%), above the allowed 10%');
    expect(report.counts).toMatchObject({ failedFiles: 3, totalFiles: 10 });
  });

  it("reads Azure ML's rotated overview files and their end-of-job summary", async () => {
    const folder = runFolder();
    await put(outputs, `${folder}predictions.csv`, predictionRows(8));
    await put(outputs, `${folder}logs/job_progress_overview.2024030110.txt`, '2024-03-01T10:00:20.404040 Scheduling finished. Scheduled 4 mini batches with 40 items in 16 seconds.\n');
    await put(
      outputs,
      `${folder}logs/job_progress_overview.2024030111.txt`,
      '2024-03-01T11:01:56.909090 There are 4 mini batches with 40 items. Processed 4 mini batches containing 40 items, 38 succeeded, 2 failed. The error threshold is 5. \n',
    );
    const report = await validateJobOutputs({ outputs: { container: outputs, prefix: folder }, rules: { maxFailedFileRatio: 0.05 } });
    expect(report.passed).toBe(true);
    expect(check(report, 'failedFileRatio').detail).toBe('the job log reports 2 of 40 input files failed (5%), within the allowed 5%');
    expect(report.jobLog).toEqual({ files: ['logs/job_progress_overview.2024030110.txt', 'logs/job_progress_overview.2024030111.txt'], dialect: 'azureml' });
  });

  it('fails or skips the failed-file check when the job log is missing, as the rules say', async () => {
    const folder = runFolder();
    await put(outputs, `${folder}predictions.csv`, predictionRows(8));
    const strict = await validateJobOutputs({ outputs: { container: outputs, prefix: folder }, rules: { maxFailedFileRatio: 0.1 } });
    expect(strict.failureReason).toBe(
      `the job log logs/job_progress_overview.txt is missing from container '${outputs.containerName}' under '${folder}', so the failed-file ratio (at most 10%) cannot be checked`,
    );
    const lenient = await validateJobOutputs({ outputs: { container: outputs, prefix: folder }, rules: { maxFailedFileRatio: 0.1, jobLog: { whenUnavailable: 'skip' } } });
    expect(lenient.passed).toBe(true);
    expect(check(lenient, 'failedFileRatio')).toMatchObject({ skipped: true });
  });

  it('fails rows that break the row schema, with line numbers for the first few and the full count', async () => {
    const folder = runFolder();
    await put(outputs, `${folder}predictions.csv`, predictionRows(20, (i) => (i % 5 === 0 ? 1.5 : 0.5)).replace('7,0.5,', '7,high,'));
    const report = await validateJobOutputs({
      outputs: { container: outputs, prefix: folder },
      rules: {
        predictions: { columns: ['id', 'score', 'file'] },
        rowSchema: { type: 'object', properties: { score: { type: 'number', maximum: 1 } } },
        maxReportedFailures: 3,
      },
    });
    const schema = check(report, 'rowSchema');
    expect(schema.passed).toBe(false);
    expect(schema.detail).toBe("5 of 20 rows of predictions.csv do not match the row schema; first: line 5: column 'score' must be <= 1 (value 1.5)");
    expect(schema.samples).toEqual([
      "line 5: column 'score' must be <= 1 (value 1.5)",
      'line 7: column \'score\' must be number (value "high")',
      "line 10: column 'score' must be <= 1 (value 1.5)",
    ]);
  });

  it('fails a predictions file whose quoted field never closes', async () => {
    const folder = runFolder();
    await put(outputs, `${folder}predictions.csv`, '1,0.5,a\n2,"0.5,b\n3,0.5,c\n');
    const report = await validateJobOutputs({ outputs: { container: outputs, prefix: folder } });
    expect(report.failureReason).toBe('the quoted field that opens on line 2 of predictions.csv is never closed, so the rest of the file reads as one cell');
  });

  it('lists every failed check in the summary after the first reason', async () => {
    const folder = runFolder();
    await put(outputs, `${folder}predictions.csv`, '1,2\n3\n');
    const report = await validateJobOutputs({ outputs: { container: outputs, prefix: folder }, inputs: { container: inputs, blobNames: await putInputs(`in/${folder}`) } });
    expect(report.summary).toBe('Validation failed: 1 of 2 rows of predictions.csv do not have 2 columns (as the first row has); first: line 2 has 1 column (and 1 more failed check: rowCount).');
  });

  it('rejects invalid rules before reading anything', async () => {
    await expect(validateJobOutputs({ outputs: { container: outputs, prefix: 'x' }, rules: { rowCont: {} } as unknown as ValidationRulesInput })).rejects.toThrow(
      /validation: unknown field 'rowCont'/,
    );
  });

  it('stops when its abort signal fires', async () => {
    const folder = runFolder();
    await put(outputs, `${folder}predictions.csv`, predictionRows(10));
    await expect(validateJobOutputs({ outputs: { container: outputs, prefix: folder }, abortSignal: AbortSignal.abort() })).rejects.toMatchObject({ name: 'AbortError' });
  });
});

describe('writeValidationReport', () => {
  it('writes validation-report.json next to the outputs and leaves the outputs untouched', async () => {
    const folder = runFolder();
    const predictions = predictionRows(3);
    await put(outputs, `${folder}predictions.csv`, predictions);
    const report = await validateJobOutputs({ outputs: { container: outputs, prefix: folder } });
    const written = await writeValidationReport(outputs, folder, report);

    expect(written.blobName).toBe(`${folder}validation-report.json`);
    const stored = JSON.parse((await outputs.getBlobClient(written.blobName).downloadToBuffer()).toString('utf8')) as ValidationReport;
    expect(stored).toEqual(report);
    expect((await outputs.getBlobClient(`${folder}predictions.csv`).downloadToBuffer()).toString('utf8')).toBe(predictions);
    const names: string[] = [];
    for await (const blob of outputs.listBlobsFlat({ prefix: folder })) names.push(blob.name);
    expect(names.sort()).toEqual([`${folder}predictions.csv`, `${folder}validation-report.json`]);
  });

  it('replaces its own earlier report when the step runs again', async () => {
    const folder = runFolder();
    await put(outputs, `${folder}predictions.csv`, predictionRows(3));
    const first = await validateJobOutputs({ outputs: { container: outputs, prefix: folder } });
    await writeValidationReport(outputs, folder, first);
    const second = { ...first, summary: 'second attempt' };
    await writeValidationReport(outputs, folder, second);
    const stored = JSON.parse((await outputs.getBlobClient(`${folder}validation-report.json`).downloadToBuffer()).toString('utf8')) as ValidationReport;
    expect(stored.summary).toBe('second attempt');
  });

  it("refuses to overwrite a job's own file of the same name", async () => {
    const folder = runFolder();
    await put(outputs, `${folder}validation-report.json`, '{"written":"by the scoring script"}');
    const report = await validateJobOutputs({ outputs: { container: outputs, prefix: folder }, rules: { nonEmpty: false, expectedFiles: ['validation-report.json'] } });
    await expect(writeValidationReport(outputs, folder, report)).rejects.toBeInstanceOf(ExistingOutputError);
    expect((await outputs.getBlobClient(`${folder}validation-report.json`).downloadToBuffer()).toString('utf8')).toBe('{"written":"by the scoring script"}');
  });
});
