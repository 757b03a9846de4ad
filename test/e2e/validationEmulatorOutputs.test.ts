// Validation reads what the local Azure ML emulator really writes — its append_row predictions file
// and its job progress log — the way it will read Azure's: a clean job passes, and a job that lost
// files to a bad input fails on the failed-file ratio and on the row count, with the figures.
import { generateChurnInputFiles, seedSampleWorkspace, type SampleWorkspace, startLocalAzureMl, type LocalAzureMl } from '@batchpilot/azureml-emulator';
import { validateJobOutputs, type ValidationRulesInput } from '../../src/validation';
import { uniqueName } from '@batchpilot/local-platform';

describe('validating the Azure ML emulator\'s outputs', () => {
  let ml: LocalAzureMl;
  let sample: SampleWorkspace;

  beforeAll(async () => {
    ml = await startLocalAzureMl();
    sample = await seedSampleWorkspace(ml.emulator, { credential: ml.issuer.credential(), ca: ml.ca, updateIntervalInMs: 20 });
  });
  afterAll(async () => {
    await ml?.stop();
  });

  /** Uploads input files, runs a job over the folder and returns where the inputs and outputs are. */
  async function scoreFolder(files: ReturnType<typeof generateChurnInputFiles>, settings: Record<string, unknown>): Promise<{ inputFolder: string; outputFolder: string }> {
    const inputFolder = uniqueName('vin');
    const outputFolder = `results/${uniqueName('vout')}/`;
    const inputUri = await ml.uploadFolder(inputFolder, files);
    const response = await ml.invoke(sample.endpointName, {
      properties: {
        InputData: { churn_data: { JobInputType: 'UriFolder', Uri: inputUri } },
        OutputData: { score: { JobOutputType: 'UriFile', Uri: `azureml://datastores/workspaceblobstore/paths/${outputFolder}predictions.csv` } },
        ...settings,
      },
    });
    expect(response.status).toBe(200);
    const job = await ml.waitForJob((response.json as { name: string }).name);
    expect(job.properties.status).toBe('Completed');
    return { inputFolder: `${inputFolder}/`, outputFolder };
  }

  const rules: ValidationRulesInput = { maxFailedFileRatio: 0.1, predictions: { columnCount: 5 } };

  it('passes a clean job: one prediction per input row, no failed files', async () => {
    const { inputFolder, outputFolder } = await scoreFolder(generateChurnInputFiles({ files: 20, rowsPerFile: 3, seed: 5 }), { MiniBatchSize: 5 });
    const report = await validateJobOutputs({ outputs: { container: ml.container, prefix: outputFolder }, inputs: { container: ml.container, prefix: inputFolder }, rules });
    expect(report.summary).toBe('Validation passed: predictions.csv has 60 rows for 60 input rows; 0 of 20 files failed; 6 checks passed.');
    expect(report.counts).toMatchObject({ predictionRows: 60, inputRows: 60, inputFiles: 20, failedFiles: 0, totalFiles: 20 });
  });

  it('fails a job that lost a mini-batch to a bad file, on the failed-file ratio and the row count', async () => {
    const { inputFolder, outputFolder } = await scoreFolder(generateChurnInputFiles({ files: 12, rowsPerFile: 2, poisonedFileIndex: 4 }), { MiniBatchSize: 5, ErrorThreshold: -1 });
    const report = await validateJobOutputs({ outputs: { container: ml.container, prefix: outputFolder }, inputs: { container: ml.container, prefix: inputFolder }, rules });
    expect(report.passed).toBe(false);
    expect(report.checks.filter((c) => !c.passed).map((c) => c.detail)).toEqual([
      'predictions.csv has 14 rows for 24 input rows in 12 files: 10 fewer; no difference is allowed',
      'the job log reports 5 of 12 input files failed (41.7%), above the allowed 10%',
    ]);
  });
});
