// The end of every run: its CloudEvent on the route's topic, and its run record — the audit evidence —
// as JSON in the runs container, one blob per run (rewritten idempotently if the activity repeats).
import type { InvocationContext } from '@azure/functions';
import { asActivityResult } from './activityResults';
import type { ActivityResult, AnnounceRunInput, WriteRunRecordInput, WriteRunRecordOutput } from './contracts';
import { appSettings } from './runtimeConfig';
import { publishCloudEvents } from '../azure/eventPublisher';
import { blobServiceFor } from '../azure/storageClients';
import { rethrowClassified } from '../azure/errorClassification';

export const EVENT_SOURCE = '/batchpilot';

export async function announceRun(input: AnnounceRunInput, context: InvocationContext): Promise<ActivityResult<{ id: string }>> {
  return asActivityResult(context, input.runId, `Announcing ${input.type}`, async () => {
    const endpoint = input.topicEndpoint ?? appSettings().eventsTopicEndpoint;
    // One event per run and outcome: the ID is stable, so subscribers can drop a repeated send.
    const id = `${input.runId}:${input.type}`;
    await publishCloudEvents(endpoint, [{ id, type: input.type, source: EVENT_SOURCE, subject: input.subject, data: input.data }]);
    context.log(JSON.stringify({ runId: input.runId, jobName: input.data.jobName, message: `Published ${input.type}.` }));
    return { id };
  });
}

let containerReady: Promise<unknown> | undefined;

export async function writeRunRecord(input: WriteRunRecordInput, context: InvocationContext): Promise<ActivityResult<WriteRunRecordOutput>> {
  return asActivityResult(context, input.runId, 'Writing the run record', async () => {
    const settings = appSettings();
    const container = blobServiceFor(settings.dataStorage).getContainerClient(settings.runsContainer);
    containerReady ??= container.createIfNotExists().catch((err) => {
      containerReady = undefined;
      throw err;
    });
    const blobName = `${input.routeName}/${input.runId}.json`;
    const body = JSON.stringify({ schema: 'batchpilot.runRecord/1', ...input.record }, null, 2);
    try {
      await containerReady;
      await container.getBlockBlobClient(blobName).upload(body, Buffer.byteLength(body), { blobHTTPHeaders: { blobContentType: 'application/json' } });
    } catch (err) {
      rethrowClassified(err, `Writing run record ${settings.runsContainer}/${blobName}`);
    }
    context.log(JSON.stringify({ runId: input.runId, message: `Wrote run record ${settings.runsContainer}/${blobName}.` }));
    return { container: settings.runsContainer, blobName };
  });
}
