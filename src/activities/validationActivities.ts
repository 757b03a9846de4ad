// Validating a finished job's outputs: find where the output datastore keeps them, stream them
// against the route's rules (src/validation), and write the report next to the outputs.
import type { InvocationContext } from '@azure/functions';
import { asActivityResult } from './activityResults';
import type { ActivityResult, ValidateRunOutputsInput, ValidationVerdict } from './contracts';
import { appSettings } from '../config/runtimeConfig';
import { workspaceClient } from '../azure/workspaceClient';
import { accountNameOf, blobServiceFor, pathStyleOriginsOf } from '../azure/storageClients';
import { PermanentError } from '../azure/errorClassification';
import { parseBlobUrl } from '../domain/blobUrls';
import { loadDriftBaseline, validateJobOutputs, writeScoreProfile, writeValidationReport, type DriftBaseline, type InputSelection } from '../validation';
import { appRunMeasurements } from '../azure/runMeasurementStore';

export async function validateRunOutputs(input: ValidateRunOutputsInput, context: InvocationContext): Promise<ActivityResult<ValidationVerdict>> {
  return asActivityResult(context, input.runId, `Validating the outputs of job ${input.jobName}`, async () => {
    const settings = appSettings();
    const service = blobServiceFor(settings.dataStorage);
    const datastore = await workspaceClient(input.workspaceId).getBlobDatastore(input.output.datastore);
    const account = accountNameOf(settings.dataStorage);
    if (datastore.accountName !== account) {
      throw new PermanentError(`Outputs are on datastore '${datastore.name}' in storage account '${datastore.accountName}', but batchpilot can read only '${account}' (BATCHPILOT_DATA_STORAGE).`);
    }
    const outputs = { container: service.getContainerClient(datastore.containerName), prefix: input.output.path };
    const origins = pathStyleOriginsOf(settings.dataStorage);
    let inputs: InputSelection | undefined;
    const files = input.inputs.map((f) => parseBlobUrl(f.url, origins));
    if (files.length > 0 && files.every((f) => f.container === files[0].container && f.account === account)) {
      inputs = { container: service.getContainerClient(files[0].container), blobNames: files.map((f) => f.blobPath) };
    } else if (input.inputFolderUrl) {
      const folder = parseBlobUrl(input.inputFolderUrl.replace(/\/+$/, '/_'), origins);
      inputs = { container: service.getContainerClient(folder.container), prefix: folder.blobPath.replace(/_$/, '') };
    }
    const drift = input.rules.drift;
    const runs = service.getContainerClient(settings.runsContainer);
    // A route's baseline is its own latest completed runs; a model run's sides (no route given) have none.
    const baseline: DriftBaseline | undefined = drift && input.routeName ? await loadDriftBaseline(await appRunMeasurements(), runs, input.routeName, drift.baselineRuns, input.runId) : undefined;
    const { scoreProfile, ...report } = await validateJobOutputs({ outputs, inputs, rules: input.rules, outputFileName: input.outputFileName, drift: drift ? { runId: input.runId, baseline } : undefined });
    const written = await writeValidationReport(outputs.container, outputs.prefix, report);
    const reportBlob = `${datastore.containerName}/${written.blobName}`;
    const profile = scoreProfile && scoreProfile.count > 0 && input.routeName ? await writeScoreProfile(runs, input.routeName, scoreProfile) : undefined;
    context.log(JSON.stringify({ runId: input.runId, jobName: input.jobName, passed: report.passed, drift: report.drift ? { psi: report.drift.psi, ks: report.drift.ks, detected: report.drift.detected } : undefined, message: report.summary }));
    return {
      passed: report.passed,
      summary: report.summary,
      failureReason: report.failureReason,
      counts: report.counts,
      checks: report.checks,
      reportBlob,
      ...(report.drift ? { drift: { ...report.drift, ...(profile ? { profile } : {}) } } : {}),
    };
  });
}
