// Writes the MLTable file that lists a batch's exact input files (input mode List), in the runs
// container, so a job scores those files and nothing else that sits in the same folder.
import type { InvocationContext } from '@azure/functions';
import { stringify as toYaml } from 'yaml';
import { asActivityResult } from './activityResults';
import type { ActivityResult, WriteInputTableInput, WrittenInputTable } from './contracts';
import { appSettings } from '../config/runtimeConfig';
import { blobServiceFor } from '../azure/storageClients';
import { rethrowClassified } from '../azure/errorClassification';

export async function writeInputTable(input: WriteInputTableInput, context: InvocationContext): Promise<ActivityResult<WrittenInputTable>> {
  return asActivityResult(context, input.runId, 'Writing the input list', async () => {
    const settings = appSettings();
    const container = blobServiceFor(settings.dataStorage).getContainerClient(settings.runsContainer);
    const folder = `mltables/${input.routeName}/${input.runId}/`;
    const body = toYaml({ type: 'mltable', paths: input.files.map((f) => ({ file: f.url })) });
    try {
      await container.createIfNotExists();
      await container.getBlockBlobClient(`${folder}MLTable`).upload(body, Buffer.byteLength(body), { blobHTTPHeaders: { blobContentType: 'application/x-yaml' } });
    } catch (err) {
      rethrowClassified(err, `Writing ${settings.runsContainer}/${folder}MLTable`);
    }
    context.log(JSON.stringify({ runId: input.runId, message: `Listed ${input.files.length} input file(s) in ${settings.runsContainer}/${folder}MLTable.` }));
    return { folderUrl: `${container.url}/${folder}`, files: input.files.length };
  });
}
