// The end of every run: its run record — the audit evidence — as JSON in the runs container, one blob
// per run (rewritten idempotently if the activity repeats), and its CloudEvent on the route's topic,
// noted in the record once the topic has taken it.
import type { InvocationContext } from '@azure/functions';
import type { BlobServiceClient } from '@azure/storage-blob';
import { asActivityResult } from './activityResults';
import { outcomeEventId } from './contracts';
import type { ActivityResult, AnnounceRunInput, AnnounceRunOutput, RunAnnouncement, WriteRunRecordInput, WriteRunRecordOutput } from './contracts';
import { appSettings } from '../config/runtimeConfig';
import { publishCloudEvents } from '../azure/eventPublisher';
import { blobServiceFor } from '../azure/storageClients';
import { classifyAzureError, rethrowClassified } from '../azure/errorClassification';

export const EVENT_SOURCE = '/batchpilot';
const RECORD_SCHEMA = 'batchpilot.runRecord/1';
/** Another writer between our read and our write is retried this many times. */
const NOTE_ATTEMPTS = 3;

export async function announceRun(input: AnnounceRunInput, context: InvocationContext): Promise<ActivityResult<AnnounceRunOutput>> {
  return asActivityResult(context, input.runId, `Announcing ${input.type}`, async () => {
    const endpoint = input.topicEndpoint ?? appSettings().eventsTopicEndpoint;
    // One event per run and outcome: the ID is stable, so subscribers can drop a repeated send.
    const id = input.eventId ?? outcomeEventId(input.runId, input.type);
    await publishCloudEvents(endpoint, [{ id, type: input.type, source: EVENT_SOURCE, subject: input.subject, data: input.data }]);
    const sentAt = new Date().toISOString();
    context.log(JSON.stringify({ runId: input.runId, jobName: input.data.jobName, eventId: id, message: `Published ${input.type}.` }));
    if (!input.noteIn) return { id, sentAt, recordNoted: false };
    const { container, blobName, attempts } = input.noteIn;
    try {
      await noteAnnouncement(blobServiceFor(appSettings().dataStorage), container, blobName, { state: 'sent', eventId: id, type: input.type, sentAt, attempts });
      return { id, sentAt, recordNoted: true };
    } catch (err) {
      // The event is out: failing here would send it again. The orchestration rewrites the record instead.
      const problem = `Noting the sent event in run record ${container}/${blobName} failed: ${classifyAzureError(err).message}`;
      context.warn(JSON.stringify({ runId: input.runId, eventId: id, message: problem }));
      return { id, sentAt, recordNoted: false, recordProblem: problem };
    }
  });
}

/** Sets the record's `announcement`, keeping the rest as written; conditional on the version read. */
async function noteAnnouncement(service: BlobServiceClient, container: string, blobName: string, announcement: RunAnnouncement): Promise<void> {
  const blob = service.getContainerClient(container).getBlockBlobClient(blobName);
  for (let attempt = 1; ; attempt++) {
    const read = await blob.download();
    const chunks: Buffer[] = [];
    for await (const chunk of read.readableStreamBody as AsyncIterable<Buffer>) chunks.push(chunk);
    const record = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
    const body = JSON.stringify({ ...record, announcement }, null, 2);
    try {
      await blob.upload(body, Buffer.byteLength(body), { blobHTTPHeaders: { blobContentType: 'application/json' }, conditions: { ifMatch: read.etag } });
      return;
    } catch (err) {
      if (classifyAzureError(err).statusCode !== 412 || attempt >= NOTE_ATTEMPTS) throw err;
    }
  }
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
    const body = JSON.stringify({ schema: RECORD_SCHEMA, ...input.record }, null, 2);
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
