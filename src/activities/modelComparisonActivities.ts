// The data steps of a model promotion: turn the route's validation data (a datastore folder, an https
// folder or a registered data asset) into the job input both deployments score — and into a blob folder
// URL validation can count input rows in — and compare the two jobs' predictions, writing the full
// comparison report next to the run record in the runs container.
import type { InvocationContext } from '@azure/functions';
import { asActivityResult } from './activityResults';
import type { ActivityResult, CompareModelPredictionsInput, ComparisonVerdict, ResolvedValidationData, ResolveValidationDataInput } from './contracts';
import { appSettings } from '../config/runtimeConfig';
import { workspaceClient } from '../azure/workspaceClient';
import type { JobInputSpec } from '../azure/batchScoring';
import { PermanentError, rethrowClassified } from '../azure/errorClassification';
import { accountNameOf, blobServiceFor, pathStyleOriginsOf } from '../azure/storageClients';
import { parseBlobUrl } from '../domain/blobUrls';
import { comparePredictionFiles } from '../validation/comparePredictionFiles';

const DATASTORE_URI = /^azureml:\/\/datastores\/([^/]+)\/paths\/(.*)$/;
const DATA_ASSET = /^azureml:([^:]+):([^:]+)$/;

/** The blob folder URL behind an azureml://datastores/... or https URI, when it is on the data account. */
async function folderUrlOf(workspaceId: string, uri: string, context: InvocationContext, runId: string): Promise<string | undefined> {
  const settings = appSettings();
  const account = accountNameOf(settings.dataStorage);
  const onDatastore = DATASTORE_URI.exec(uri);
  if (onDatastore) {
    const datastore = await workspaceClient(workspaceId).getBlobDatastore(onDatastore[1]);
    if (datastore.accountName !== account) {
      context.log(JSON.stringify({ runId, message: `Validation data is on storage account '${datastore.accountName}', not '${account}': prediction rows will not be compared with input rows.` }));
      return undefined;
    }
    const folder = onDatastore[2].replace(/^\/+/, '').replace(/\/*$/, '/');
    return `${blobServiceFor(settings.dataStorage).getContainerClient(datastore.containerName).url}/${folder.split('/').map(encodeURIComponent).join('/')}`;
  }
  try {
    const location = parseBlobUrl(uri.replace(/\/*$/, '/_'), pathStyleOriginsOf(settings.dataStorage));
    return location.account === account ? uri.replace(/\/*$/, '/') : undefined;
  } catch {
    return undefined;
  }
}

export async function resolveValidationData(input: ResolveValidationDataInput, context: InvocationContext): Promise<ActivityResult<ResolvedValidationData>> {
  return asActivityResult(context, input.runId, 'Resolving the validation data', async () => {
    const data = input.data;
    if (data.type === 'uri_folder') {
      const uri = data.uri.replace(/\/*$/, '/');
      return { input: { jobInputType: 'UriFolder', uri }, inputFolderUrl: await folderUrlOf(input.workspaceId, uri, context, input.runId) };
    }
    const asset = DATA_ASSET.exec(data.asset);
    if (!asset) throw new PermanentError(`'${data.asset}' does not name a data asset version (azureml:<name>:<version>).`);
    const version = await workspaceClient(input.workspaceId).getDataVersion(asset[1], asset[2]);
    const type = version.dataType.toLowerCase();
    const jobInputType: 'UriFolder' | 'UriFile' | 'MLTable' = type === 'uri_file' ? 'UriFile' : type === 'mltable' ? 'MLTable' : 'UriFolder';
    const jobInput: JobInputSpec = { jobInputType, uri: data.asset };
    return { input: jobInput, inputFolderUrl: jobInputType === 'UriFolder' ? await folderUrlOf(input.workspaceId, version.dataUri, context, input.runId) : undefined };
  });
}

let runsContainerReady: Promise<unknown> | undefined;

export async function compareModelPredictions(input: CompareModelPredictionsInput, context: InvocationContext): Promise<ActivityResult<ComparisonVerdict>> {
  return asActivityResult(context, input.runId, 'Comparing the candidate with the baseline', async () => {
    const settings = appSettings();
    const service = blobServiceFor(settings.dataStorage);
    const account = accountNameOf(settings.dataStorage);
    const ws = workspaceClient(input.workspaceId);
    const locate = async (side: 'baseline' | 'candidate') => {
      const output = input[side].output;
      const datastore = await ws.getBlobDatastore(output.datastore);
      if (datastore.accountName !== account) {
        throw new PermanentError(`The ${side}'s outputs are on datastore '${datastore.name}' in storage account '${datastore.accountName}', but batchpilot can read only '${account}' (BATCHPILOT_DATA_STORAGE).`);
      }
      return { container: service.getContainerClient(datastore.containerName), prefix: output.path };
    };
    const [baseline, candidate] = [await locate('baseline'), await locate('candidate')];
    const report = await comparePredictionFiles({ baseline, candidate, predictionsFile: input.predictionsFile, rules: input.rules });

    const runs = service.getContainerClient(settings.runsContainer);
    runsContainerReady ??= runs.createIfNotExists().catch((err) => {
      runsContainerReady = undefined;
      throw err;
    });
    const blobName = `${input.routeName}/${input.runId}.comparison.json`;
    const body = JSON.stringify(
      {
        schema: 'batchpilot.comparisonReport/1',
        runId: input.runId,
        model: input.model,
        baseline: { deployment: input.baseline.deployment, jobName: input.baseline.jobName, output: input.baseline.output.uri },
        candidate: { deployment: input.candidate.deployment, jobName: input.candidate.jobName, output: input.candidate.output.uri },
        predictionsFile: input.predictionsFile,
        ...report,
      },
      null,
      2,
    );
    try {
      await runsContainerReady;
      await runs.getBlockBlobClient(blobName).upload(body, Buffer.byteLength(body), { blobHTTPHeaders: { blobContentType: 'application/json' } });
    } catch (err) {
      rethrowClassified(err, `Writing the comparison report ${settings.runsContainer}/${blobName}`);
    }
    context.log(JSON.stringify({ runId: input.runId, passed: report.passed, message: report.summary }));
    return {
      passed: report.passed,
      summary: report.summary,
      failureReason: report.failureReason,
      checks: report.checks,
      counts: report.counts,
      metrics: report.metrics,
      reportBlob: `${settings.runsContainer}/${blobName}`,
    };
  });
}
