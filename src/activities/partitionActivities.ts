// Coalescing steps: read a partition's open arrivals, close a batch (idempotently), and start the
// batch's scoring run exactly once.
import type { InvocationContext } from '@azure/functions';
import { asActivityResult } from './activityResults';
import type { ActivityResult, ClosedBatch, ClosePartitionBatchInput, PartitionSnapshot, PeekPartitionInput, StartScoringRunInput } from './contracts';
import { closeBatch, readOpenPartition } from '../azure/arrivalLedger';
import { startRunOnce } from '../events/runStarter';
import { durableClientFor } from '../azure/durableClient';
import { appSettings } from './runtimeConfig';
import { blobServiceFor, pathStyleOriginsOf } from '../azure/storageClients';
import { PermanentError, rethrowClassified } from '../azure/errorClassification';
import { parseBlobUrl, siblingBlobUrl } from '../events/blobUrls';

export async function peekPartition(input: PeekPartitionInput, context: InvocationContext): Promise<ActivityResult<PartitionSnapshot>> {
  return asActivityResult(context, undefined, `Reading partition ${input.routeName}/${input.partition}`, async () => {
    const open = await readOpenPartition(input.routeName, input.partition);
    const times = open.inputs.map((a) => a.arrivedAt).sort();
    const marker = open.markers[0];
    return {
      pending: open.inputs.length,
      firstArrivalAt: times[0],
      lastArrivalAt: times.at(-1),
      markerSeen: open.markers.length > 0,
      markerUrl: marker?.url,
      markerArrivedAt: marker?.arrivedAt,
      nextBatchNumber: open.nextBatchNumber,
    };
  });
}

export async function closePartitionBatch(input: ClosePartitionBatchInput, context: InvocationContext): Promise<ActivityResult<ClosedBatch>> {
  return asActivityResult(context, input.runId, `Closing batch ${input.batchNumber} of ${input.routeName}/${input.partition}`, async () => {
    const taken = await closeBatch(input.routeName, input.partition, input.batchNumber, input.runId, input.upTo);
    const marker = taken.find((a) => a.role === 'marker');
    let files: ClosedBatch['files'] = taken.filter((a) => a.role === 'input').map((a) => ({ url: a.url, blobPath: a.blobPath, eTag: a.eTag, contentLength: a.contentLength })).sort((a, b) => a.blobPath.localeCompare(b.blobPath));
    let refusal: string | undefined;
    if (marker && input.markerIsManifest) {
      try {
        files = await filesOfManifest(marker.url);
      } catch (err) {
        // A manifest that cannot be honoured fails the batch's run (one failure event, one record), not the coalescer.
        if (!(err instanceof PermanentError)) throw err;
        refusal = err.message;
      }
    }
    context.log(JSON.stringify({ runId: input.runId, message: `Closed batch ${input.batchNumber} with ${files.length} file(s)${marker ? ' and its marker' : ''}.` }));
    return { batchNumber: input.batchNumber, runId: input.runId, files, markerUrl: marker?.url, refusal };
  });
}

/**
 * The files a manifest marker names: JSON `{"files": ["a.csv", ...]}` or one path per line, relative to
 * the marker's folder. Every named file must exist: a manifest naming a missing file fails the batch.
 */
async function filesOfManifest(markerUrl: string): Promise<ClosedBatch['files']> {
  const settings = appSettings();
  const marker = parseBlobUrl(markerUrl, pathStyleOriginsOf(settings.dataStorage));
  const container = blobServiceFor(settings.dataStorage).getContainerClient(marker.container);
  let text: string;
  try {
    text = (await container.getBlobClient(marker.blobPath).downloadToBuffer()).toString('utf8');
  } catch (err) {
    rethrowClassified(err, `Reading the manifest ${marker.container}/${marker.blobPath}`);
  }
  let names: unknown;
  try {
    names = /^\s*\{/.test(text) ? (JSON.parse(text) as { files?: unknown }).files : text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
  } catch (err) {
    throw new PermanentError(`The manifest ${marker.blobPath} is not valid JSON: ${(err as Error).message}`);
  }
  if (!Array.isArray(names) || names.length === 0 || names.some((n) => typeof n !== 'string' || !n || n.includes('..') || n.startsWith('/'))) {
    throw new PermanentError(`The manifest ${marker.blobPath} must list files relative to its folder: {"files": ["part-1.csv", ...]} or one path per line.`);
  }
  const folder = marker.blobPath.includes('/') ? marker.blobPath.slice(0, marker.blobPath.lastIndexOf('/') + 1) : '';
  const files: ClosedBatch['files'] = [];
  for (const name of names as string[]) {
    const blobPath = folder + name;
    let props;
    try {
      props = await container.getBlobClient(blobPath).getProperties();
    } catch (err) {
      if ((err as { statusCode?: number }).statusCode === 404) throw new PermanentError(`The manifest ${marker.blobPath} names ${name}, which does not exist.`);
      rethrowClassified(err, `Reading ${marker.container}/${blobPath}`);
    }
    files.push({ url: siblingBlobUrl(marker, blobPath), blobPath, eTag: props.etag ?? '', contentLength: props.contentLength });
  }
  return files;
}

export async function startScoringRun(input: StartScoringRunInput, context: InvocationContext): Promise<ActivityResult<{ started: boolean }>> {
  return asActivityResult(context, input.runId, `Starting run ${input.runId}`, async () => {
    const client = durableClientFor(context);
    return { started: await startRunOnce(client, input.orchestration, input.runId, input.input, context) };
  });
}
