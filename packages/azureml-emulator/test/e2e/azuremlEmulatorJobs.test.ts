// The Azure ML emulator really runs batch jobs: it reads input files from Azurite, scores them in
// mini-batches with the deployment's model and scoring module, retries and counts failures against
// the error threshold, and writes predictions and a progress log where Azure would, moving the job
// through Azure's status values and announcing each change.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { generateChurnInputFiles } from '../../src/sample/churnModel';
import { SampleWorkspace, seedSampleWorkspace } from '../../src/sampleWorkspace';
import { uniqueName, waitUntil } from '@batchpilot/local-platform';
import { LocalAzureMl, MANAGEMENT_SCOPE, startLocalAzureMl } from '../../src/testing/localAzureMl';

describe('Azure ML emulator batch jobs', () => {
  let ml: LocalAzureMl;
  let sample: SampleWorkspace;

  beforeAll(async () => {
    ml = await startLocalAzureMl();
    sample = await seedSampleWorkspace(ml.emulator, { credential: ml.issuer.credential(), ca: ml.ca, updateIntervalInMs: 20 });
  });
  afterAll(async () => {
    await ml?.stop();
  });

  function invokeBody(inputUri: string, extra: Record<string, unknown> = {}, outputUri?: string, inputType = 'UriFolder'): unknown {
    return {
      properties: {
        InputData: { churn_data: { JobInputType: inputType, Uri: inputUri } },
        ...(outputUri ? { OutputData: { score: { JobOutputType: 'UriFile', Uri: outputUri } } } : {}),
        ...extra,
      },
    };
  }

  async function runJob(body: unknown, deployment?: string): Promise<{ name: string; status: string }> {
    const response = await ml.invoke(sample.endpointName, body, { deployment });
    expect(response.status).toBe(200);
    const name = (response.json as { name: string }).name;
    const job = await ml.waitForJob(name);
    return { name, status: job.properties.status ?? '' };
  }

  async function deployFixture(deploymentName: string, scriptFile: string, properties: Record<string, unknown> = {}): Promise<void> {
    const codeName = `fixture-${deploymentName}`;
    const script = path.basename(scriptFile);
    await ml.container.getBlockBlobClient(`code/${codeName}/1/${script}`).uploadFile(scriptFile);
    const code = await ml.arm.codeVersions.createOrUpdate(ml.emulator.resourceGroup, ml.emulator.workspaceName, codeName, '1', {
      properties: { codeUri: `azureml://datastores/workspaceblobstore/paths/code/${codeName}/1/` },
    });
    await ml.arm.batchDeployments.beginCreateOrUpdateAndWait(ml.emulator.resourceGroup, ml.emulator.workspaceName, sample.endpointName, deploymentName, {
      location: ml.emulator.location,
      properties: { model: { referenceType: 'Id', assetId: sample.modelIds.v1 }, codeConfiguration: { codeId: code.id!, scoringScript: script }, ...properties },
    }, { updateIntervalInMs: 20 });
  }

  it('scores 50 CSV files in 5 mini-batches of 10 with instanceCount × maxConcurrencyPerInstance in flight, one prediction row per input row', async () => {
    const folder = uniqueName('in50');
    const inputUri = await ml.uploadFolder(folder, generateChurnInputFiles({ files: 50, rowsPerFile: 4, seed: 3 }));
    const output = `results/${folder}/predictions.csv`;
    const job = await runJob(invokeBody(inputUri, { MiniBatchSize: 10, Compute: { InstanceCount: 2 } }, `azureml://datastores/workspaceblobstore/paths/${output}`));
    expect(job.status).toBe('Completed');
    const predictions = (await ml.readText(output)).trim().split('\n');
    expect(predictions).toHaveLength(50 * 4);
    expect(predictions[0]).toMatch(/^part-000\.csv,C000001,0\.\d{4},[01],1$/);
    const log = await ml.readText(`results/${folder}/logs/job_progress_overview.txt`);
    expect(log).toContain('Mini-batches: 5 of up to 10 file(s); concurrency 4 (2 instance(s) × 2 per instance)');
    expect(log).toContain('peak concurrent mini-batches 4');
    const report = ml.emulator.jobReport(job.name)!;
    expect(report.counters).toMatchObject({ miniBatches: 5, miniBatchesSucceeded: 5, miniBatchesFailed: 0, inputFiles: 50, rowsWritten: 200, peakConcurrentMiniBatches: 4 });
    expect(report.statusHistory.map((s) => s.status)).toEqual(['NotStarted', 'Preparing', 'Running', 'Finalizing', 'Completed']);
  });

  it('fails the job when a poisoned file makes a mini-batch fail and errorThreshold is 0', async () => {
    const folder = uniqueName('poison0');
    const inputUri = await ml.uploadFolder(folder, generateChurnInputFiles({ files: 50, rowsPerFile: 2, poisonedFileIndex: 17 }));
    const job = await runJob(invokeBody(inputUri, { MiniBatchSize: 10, ErrorThreshold: 0, RetrySettings: { MaxRetries: 1 } }, `azureml://datastores/workspaceblobstore/paths/results/${folder}/predictions.csv`));
    expect(job.status).toBe('Failed');
    const report = ml.emulator.jobReport(job.name)!;
    expect(report.failureReason).toContain('part-017.csv line 3: monthly_charges');
    const log = await ml.readText(`results/${folder}/logs/job_progress_overview.txt`);
    expect(log).toMatch(/Mini-batch 1 failed after 2 attempt\(s\); failed file\(s\): part-010\.csv, .*part-017\.csv/);
    expect(log).toContain('exceed the error threshold of 0');
    expect(await ml.container.getBlobClient(`results/${folder}/predictions.csv`).exists()).toBe(false);
  });

  it('completes the job despite the poisoned file when errorThreshold is -1, and the log says which file failed', async () => {
    const folder = uniqueName('poisonm1');
    const inputUri = await ml.uploadFolder(folder, generateChurnInputFiles({ files: 50, rowsPerFile: 2, poisonedFileIndex: 17 }));
    const job = await runJob(invokeBody(inputUri, { MiniBatchSize: 10, ErrorThreshold: -1 }, `azureml://datastores/workspaceblobstore/paths/results/${folder}/predictions.csv`));
    expect(job.status).toBe('Completed');
    const log = await ml.readText(`results/${folder}/logs/job_progress_overview.txt`);
    expect(log).toContain('error: part-017.csv line 3: monthly_charges \'n/a\' is not a number');
    expect(log).toMatch(/failed files 10 \(part-010\.csv, .*part-017\.csv.*\)/);
    expect((await ml.readText(`results/${folder}/predictions.csv`)).trim().split('\n')).toHaveLength(40 * 2);
  });

  it('writes a progress log with the figures of the run (the app reads it: test/e2e/validationEmulatorOutputs.test.ts at the repository root)', async () => {
    const folder = uniqueName('logread');
    const inputUri = await ml.uploadFolder(folder, generateChurnInputFiles({ files: 12, rowsPerFile: 1, poisonedFileIndex: 4 }));
    const job = await runJob(invokeBody(inputUri, { MiniBatchSize: 5, ErrorThreshold: -1 }, `azureml://datastores/workspaceblobstore/paths/results/${folder}/predictions.csv`));
    expect(job.status).toBe('Completed');
    const log = await ml.readText(`results/${folder}/logs/job_progress_overview.txt`);
    expect(log).toContain('Scheduling finished. Scheduled 3 mini batches with 12 items.');
    expect(log).toContain('There are 3 mini batches with 12 items. Processed 3 mini batches containing 12 items, 7 succeeded, 5 failed. The error threshold is -1.');
  });

  it('fails a job whose scoring script is missing from the deployment\'s code, saying so', async () => {
    await ml.arm.batchDeployments.beginCreateOrUpdateAndWait(ml.emulator.resourceGroup, ml.emulator.workspaceName, sample.endpointName, 'noscript', {
      location: ml.emulator.location,
      properties: { model: { referenceType: 'Id', assetId: sample.modelIds.v1 }, codeConfiguration: { codeId: sample.codeId, scoringScript: 'missing.js' } },
    }, { updateIntervalInMs: 20 });
    const job = await runJob(invokeBody(sample.sampleInputUri), 'noscript');
    expect(job.status).toBe('Failed');
    expect(ml.emulator.jobReport(job.name)!.failureReason).toContain("The scoring script 'missing.js' is not in the deployment's code.");
    expect(ml.emulator.jobReport(job.name)!.statusHistory.map((h) => h.status)).toEqual(['NotStarted', 'Preparing', 'Failed']);
  });

  it('retries a failed mini-batch up to maxRetries times before counting it as failed', async () => {
    await deployFixture('flaky', path.join(__dirname, '../fixtures/flaky_score.js'), { miniBatchSize: 2, errorThreshold: 0, retrySettings: { maxRetries: 2, timeout: 'PT30S' } });
    const folder = uniqueName('flaky');
    const inputUri = await ml.uploadFolder(folder, generateChurnInputFiles({ files: 6, rowsPerFile: 1 }));
    const retried = await runJob(invokeBody(inputUri), 'flaky');
    expect(retried.status).toBe('Completed');
    expect(ml.emulator.jobReport(retried.name)!.counters).toMatchObject({ miniBatches: 3, attempts: 6, miniBatchesFailed: 0, rowsWritten: 6 });

    const noRetries = await runJob(invokeBody(inputUri, { RetrySettings: { MaxRetries: 0 } }), 'flaky');
    expect(noRetries.status).toBe('Failed');
    expect(ml.emulator.jobReport(noRetries.name)!.failureReason).toContain('transient failure in mini-batch');
  });

  it('writes no predictions file for a SummaryOnly deployment, only the progress log', async () => {
    await deployFixture('summary', path.join(__dirname, '../../src/sample/churn_score.js'), { outputAction: 'SummaryOnly' });
    const folder = uniqueName('summary');
    const inputUri = await ml.uploadFolder(folder, generateChurnInputFiles({ files: 3, rowsPerFile: 2 }));
    const job = await runJob(invokeBody(inputUri, {}, `azureml://datastores/workspaceblobstore/paths/results/${folder}/predictions.csv`), 'summary');
    expect(job.status).toBe('Completed');
    expect(await ml.container.getBlobClient(`results/${folder}/predictions.csv`).exists()).toBe(false);
    expect(await ml.readText(`results/${folder}/logs/job_progress_overview.txt`)).toContain('Job status: Completed.');
  });

  it('reads inputs named as a data asset, a single file, an https blob URL and an Azurite URL', async () => {
    const folder = uniqueName('forms');
    await ml.uploadFolder(folder, generateChurnInputFiles({ files: 2, rowsPerFile: 3 }));
    const blobPath = `${ml.emulator.defaultDatastoreContainer}/${folder}`;
    const forms: Array<[string, string, number]> = [
      [sample.sampleDataAsset, 'UriFolder', sample.sampleRows],
      [`azureml://datastores/workspaceblobstore/paths/${folder}/part-001.csv`, 'UriFile', 3],
      [`https://devstoreaccount1.blob.core.windows.net/${blobPath}/`, 'UriFolder', 6],
      [`${ml.container.url.replace(/\/[^/]+$/, '')}/${blobPath}/part-000.csv`, 'UriFile', 3],
    ];
    for (const [uri, type, rows] of forms) {
      const output = `results/${uniqueName('form')}/predictions.csv`;
      const job = await runJob(invokeBody(uri, {}, `azureml://datastores/workspaceblobstore/paths/${output}`, type));
      expect({ uri, status: job.status }).toEqual({ uri, status: 'Completed' });
      expect((await ml.readText(output)).trim().split('\n')).toHaveLength(rows);
    }
  });

  it('runs the deployment the azureml-model-deployment header names, else the endpoint default', async () => {
    const folder = uniqueName('header');
    const inputUri = await ml.uploadFolder(folder, generateChurnInputFiles({ files: 1, rowsPerFile: 5 }));
    for (const [deployment, modelVersion] of [[undefined, '1'], ['churn-v2', '2']] as const) {
      const output = `results/${uniqueName('hdr')}/predictions.csv`;
      const job = await runJob(invokeBody(inputUri, {}, `azureml://datastores/workspaceblobstore/paths/${output}`), deployment);
      expect(ml.emulator.jobReport(job.name)!.deploymentName).toBe(deployment ?? 'churn-v1');
      const versions = new Set((await ml.readText(output)).trim().split('\n').map((line) => line.split(',').pop()));
      expect([...versions]).toEqual([modelVersion]);
    }
  });

  it('passes literal inputs of a pipeline-component deployment to its scoring step', async () => {
    const rg = ml.emulator.resourceGroup;
    const componentId = `${ml.emulator.workspaceId}/components/churn-scoring-pipeline/versions/1`;
    const token = ml.issuer.issue(MANAGEMENT_SCOPE).token;
    const put = (url: string, body: unknown): ReturnType<LocalAzureMl['request']> =>
      ml.request(`${ml.emulator.armBaseUrl}${url}?api-version=2024-04-01`, { method: 'PUT', token, body: JSON.stringify(body) });
    expect((await put(componentId, {
      properties: {
        componentSpec: {
          type: 'pipeline',
          inputs: { customers: { type: 'uri_folder' }, score_threshold: { type: 'number', default: 0.5 }, model: { type: 'custom_model', default: 'azureml:churn:2' } },
          jobs: { score: { type: 'parallel', input_data: '${{parent.inputs.customers}}', task: { type: 'run_function', code: sample.codeId, entry_script: sample.scoringScript } } },
        },
      },
    })).status).toBe(201);
    expect((await put(`${ml.emulator.workspaceId}/batchEndpoints/${sample.endpointName}/deployments/pipeline`, {
      location: ml.emulator.location,
      properties: { deploymentConfiguration: { deploymentConfigurationType: 'PipelineComponent', componentId: { referenceType: 'Id', assetId: componentId }, tags: { kind: 'pipeline' } } },
    })).status).toBe(201);
    // Provisioning takes the emulator's operation delay, as a PUT's 201 says (provisioningState Creating).
    await waitUntil(async () => (await ml.arm.batchDeployments.get(rg, ml.emulator.workspaceName, sample.endpointName, 'pipeline')).properties.provisioningState === 'Succeeded', 'the pipeline deployment to provision');
    const folder = uniqueName('pipeline');
    const inputUri = await ml.uploadFolder(folder, generateChurnInputFiles({ files: 2, rowsPerFile: 4 }));
    for (const [threshold, label] of [['0', '1'], ['1', '0']] as const) {
      const output = `results/${uniqueName('pl')}/predictions.csv`;
      const job = await runJob({
        properties: {
          InputData: { customers: { JobInputType: 'UriFolder', Uri: inputUri }, score_threshold: { JobInputType: 'Literal', Value: threshold } },
          OutputData: { scores: { JobOutputType: 'UriFile', Uri: `azureml://datastores/workspaceblobstore/paths/${output}` } },
        },
      }, 'pipeline');
      expect(job.status).toBe('Completed');
      const rows = (await ml.readText(output)).trim().split('\n').map((line) => line.split(','));
      expect(rows).toHaveLength(8);
      expect(new Set(rows.map((r) => r[3]))).toEqual(new Set([label]));
      expect(new Set(rows.map((r) => r[4]))).toEqual(new Set(['2']));
      const armJob = await ml.arm.jobs.get(rg, ml.emulator.workspaceName, job.name);
      expect(armJob.properties.tags).toMatchObject({ kind: 'pipeline' });
    }
  });

  it('announces every status change with RunStatusChanged, and completion with RunCompleted', async () => {
    const folder = uniqueName('events');
    const inputUri = await ml.uploadFolder(folder, generateChurnInputFiles({ files: 2, rowsPerFile: 2 }));
    const job = await runJob(invokeBody(inputUri, { Tags: { batchpilotRunId: folder } }));
    const events = ml.emulator.publishedEvents().filter((e) => e.data.runId === job.name);
    expect(events.map((e) => `${e.eventType.split('.').pop()}:${String(e.data.runStatus ?? '')}`)).toEqual([
      'RunStatusChanged:Preparing', 'RunStatusChanged:Running', 'RunStatusChanged:Finalizing', 'RunStatusChanged:Completed', 'RunCompleted:',
    ]);
    expect(events[3].data.runTags).toEqual({ batchpilotRunId: folder });
    expect(events[3].data.runProperties).toMatchObject({ StartTimeUtc: expect.any(String), EndTimeUtc: expect.any(String) });
  });

  it('serves a Studio page for each job at its services.Studio.endpoint', async () => {
    const inputUri = await ml.uploadFolder(uniqueName('studio'), generateChurnInputFiles({ files: 1, rowsPerFile: 1 }));
    const job = await runJob(invokeBody(inputUri));
    const armJob = await ml.arm.jobs.get(ml.emulator.resourceGroup, ml.emulator.workspaceName, job.name);
    const page = await ml.request(String(armJob.properties.services?.Studio?.endpoint));
    expect(page.status).toBe(200);
    expect(page.text).toContain(`${job.name}</h1>`);
    expect(page.text).toContain('Completed');
  });
});

describe('Azure ML emulator injected job faults', () => {
  let ml: LocalAzureMl;
  let sample: SampleWorkspace;

  beforeAll(async () => {
    ml = await startLocalAzureMl();
    sample = await seedSampleWorkspace(ml.emulator, { credential: ml.issuer.credential(), ca: ml.ca, updateIntervalInMs: 20, sampleFiles: 4, sampleRowsPerFile: 2 });
  });
  afterAll(async () => {
    await ml?.stop();
  });

  async function runWithFault(fault: 'failFraction' | 'preemptFraction' | 'missingOutputsFraction'): Promise<{ name: string; status: string; output: string }> {
    ml.emulator.setFaults({ jobs: { [fault]: 1 } });
    const output = `results/${uniqueName('fault')}/predictions.csv`;
    const response = await ml.invoke(sample.endpointName, {
      properties: {
        InputData: { d: { JobInputType: 'UriFolder', Uri: sample.sampleInputUri } },
        OutputData: { score: { JobOutputType: 'UriFile', Uri: `azureml://datastores/workspaceblobstore/paths/${output}` } },
        MiniBatchSize: 1,
      },
    });
    ml.emulator.setFaults({});
    const name = (response.json as { name: string }).name;
    const job = await ml.waitForJob(name);
    return { name, status: job.properties.status ?? '', output };
  }

  it('fails a job whose node is lost', async () => {
    const job = await runWithFault('failFraction');
    expect(job.status).toBe('Failed');
    expect(ml.emulator.jobReport(job.name)!.failureReason).toMatch(/stopped responding/);
  });

  it('cancels a job whose low-priority compute is preempted', async () => {
    const job = await runWithFault('preemptFraction');
    expect(job.status).toBe('Canceled');
    expect(ml.emulator.jobReport(job.name)!.failureReason).toMatch(/preempted/);
  });

  it('completes a job without its predictions file when outputs go missing', async () => {
    const job = await runWithFault('missingOutputsFraction');
    expect(job.status).toBe('Completed');
    expect(await ml.container.getBlobClient(job.output).exists()).toBe(false);
    expect(await ml.readText(job.output.replace('predictions.csv', 'logs/job_progress_overview.txt'))).toContain('was not written');
  });
});

describe('Azure ML emulator state', () => {
  it('keeps endpoints, assets and jobs across a restart when given a state directory', async () => {
    const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'azureml-state-'));
    const workspaceName = uniqueName('keep').slice(0, 20);
    const first = await startLocalAzureMl({ stateDir, workspaceName });
    let jobName: string;
    try {
      const sample = await seedSampleWorkspace(first.emulator, { credential: first.issuer.credential(), ca: first.ca, updateIntervalInMs: 20, sampleFiles: 1, sampleRowsPerFile: 1 });
      const response = await first.invoke(sample.endpointName, { properties: { InputData: { d: { JobInputType: 'UriFolder', Uri: sample.sampleInputUri } } } });
      jobName = (response.json as { name: string }).name;
      await first.waitForJob(jobName);
    } finally {
      await first.stop();
    }
    const second = await startLocalAzureMl({ stateDir, workspaceName });
    try {
      const endpoint = await second.arm.batchEndpoints.get(second.emulator.resourceGroup, workspaceName, 'churn-scoring');
      expect(endpoint.properties.defaults?.deploymentName).toBe('churn-v1');
      expect((await second.arm.jobs.get(second.emulator.resourceGroup, workspaceName, jobName)).properties.status).toBe('Completed');
      expect((await second.arm.modelVersions.get(second.emulator.resourceGroup, workspaceName, 'churn', '2')).properties.modelUri).toContain('models/churn/2/');
    } finally {
      await second.stop();
      fs.rmSync(stateDir, { recursive: true, force: true });
    }
  });
});
