// Coalescing steps: read a partition's open arrivals, close a batch (idempotently), and start the
// batch's scoring run exactly once.
import type { InvocationContext } from '@azure/functions';
import { asActivityResult } from './activityResults';
import type { ActivityResult, ClosedBatch, ClosePartitionBatchInput, PartitionSnapshot, PeekPartitionInput, StartScoringRunInput } from './contracts';
import { claimForBatch, closeBatch, readOpenPartition } from '../azure/arrivalLedger';
import { arrivalKey } from '../domain/instanceIds';
import { matchRoute } from '../config/routeMatching';
import { startRunOnce } from '../azure/runStarter';
import { durableClientFor } from '../azure/durableClient';
import { appRoutes, appSettings } from '../config/runtimeConfig';
import { blobServiceFor, pathStyleOriginsOf } from '../azure/storageClients';
import { PermanentError, rethrowClassified, TransientError } from '../azure/errorClassification';
import { parseBlobUrl, siblingBlobUrl } from '../domain/blobUrls';
import { manifestEntries, manifestLimits } from './manifestEntries';
import { clip } from '../domain/untrustedText';
import type { BlobRoute } from '../config/routes';

export async function peekPartition(input: PeekPartitionInput, context: InvocationContext): Promise<ActivityResult<PartitionSnapshot>> {
  return asActivityResult(context, undefined, `Reading partition ${input.routeName}/${clip(input.partition)}`, async () => {
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
  return asActivityResult(context, input.runId, `Closing batch ${input.batchNumber} of ${input.routeName}/${clip(input.partition)}`, async () => {
    const taken = await closeBatch(input.routeName, input.partition, input.batchNumber, input.runId, input.upTo);
    const marker = taken.find((a) => a.role === 'marker');
    let files: ClosedBatch['files'] = taken.filter((a) => a.role === 'input').map((a) => ({ url: a.url, blobPath: a.blobPath, eTag: a.eTag, contentLength: a.contentLength })).sort((a, b) => a.blobPath.localeCompare(b.blobPath));
    let refusal: string | undefined;
    if (marker && input.markerIsManifest) {
      try {
        files = await filesOfManifest(marker.url, manifestRoute(input));
      } catch (err) {
        // A manifest that cannot be honoured fails the batch's run (one failure event, one record), not the coalescer.
        if (!(err instanceof PermanentError)) throw err;
        refusal = err.message;
      }
    } else if (marker) {
      // The marker says the folder is complete: files whose BlobCreated has not reached us yet are in it too.
      const known = new Set(files.map((f) => arrivalKey(f.url, f.eTag)));
      files = [...files, ...(await unrecordedFolderInputs(input.routeName, input.partition, marker.url)).filter((f) => !known.has(arrivalKey(f.url, f.eTag)))].sort((a, b) => a.blobPath.localeCompare(b.blobPath));
    }
    if (marker && !refusal && files.length > 0) {
      // Late events for these versions must find them taken, not open a second batch that scores them again.
      const claimed = await claimForBatch(input.routeName, input.partition, input.batchNumber, input.runId, files.map((f) => ({ ...f, key: arrivalKey(f.url, f.eTag) })), input.markerIsManifest === true);
      const kept = new Set(claimed.map((c) => c.key));
      files = files.filter((f) => kept.has(arrivalKey(f.url, f.eTag)));
    }
    context.log(JSON.stringify({ runId: input.runId, message: `Closed batch ${input.batchNumber} with ${files.length} file(s)${marker ? ' and its marker' : ''}.` }));
    const firstArrivalAt = taken.map((a) => a.arrivedAt).filter(Boolean).sort()[0];
    return { batchNumber: input.batchNumber, runId: input.runId, files, markerUrl: marker?.url, refusal, firstArrivalAt };
  });
}

/** The route whose filters and limits a manifest is held to: as the coalescer knew it, else as configured now. */
function manifestRoute(input: ClosePartitionBatchInput): BlobRoute {
  const route = input.route ?? appRoutes().routes.find((r) => r.name === input.routeName);
  if (!route) throw new PermanentError(`Route ${input.routeName} is no longer configured, so its manifest cannot be checked.`);
  return route;
}

const MANIFEST_LOOKUP_CONCURRENCY = 16;

/**
 * The files a manifest marker names (see manifestEntries for what it may name). The manifest is read
 * only when it is within the route's size cap, as the version that was measured; every named file must
 * exist: a manifest naming a missing file fails the batch.
 */
async function filesOfManifest(markerUrl: string, route: BlobRoute): Promise<ClosedBatch['files']> {
  const settings = appSettings();
  const marker = parseBlobUrl(markerUrl, pathStyleOriginsOf(settings.dataStorage));
  const container = blobServiceFor(settings.dataStorage).getContainerClient(marker.container);
  const blob = container.getBlobClient(marker.blobPath);
  const { maxSizeInBytes } = manifestLimits(route);
  let text: string;
  try {
    const props = await blob.getProperties();
    const size = props.contentLength ?? 0;
    if (size > maxSizeInBytes) {
      throw new PermanentError(`The manifest ${clip(marker.blobPath)} is ${size} bytes; route ${route.name} reads manifests of at most ${maxSizeInBytes} bytes (batching.maxManifestSizeInBytes).`);
    }
    text = size === 0 ? '' : (await blob.downloadToBuffer(0, undefined, { conditions: { ifMatch: props.etag } })).toString('utf8');
  } catch (err) {
    if (err instanceof PermanentError) throw err;
    if ((err as { statusCode?: number }).statusCode === 412) throw new TransientError(`The manifest ${clip(marker.blobPath)} changed while it was read; reading it again.`);
    rethrowClassified(err, `Reading the manifest ${marker.container}/${clip(marker.blobPath)}`);
  }
  const paths = manifestEntries(text, marker.blobPath, route);
  const files: ClosedBatch['files'] = new Array(paths.length);
  let next = 0;
  const lookUp = async (): Promise<void> => {
    for (let i = next++; i < paths.length; i = next++) {
      const blobPath = paths[i];
      let props;
      try {
        props = await container.getBlobClient(blobPath).getProperties();
      } catch (err) {
        if ((err as { statusCode?: number }).statusCode === 404) throw new PermanentError(`The manifest ${clip(marker.blobPath)} names ${clip(blobPath.slice(blobPath.lastIndexOf('/') + 1))}, which does not exist.`);
        rethrowClassified(err, `Reading ${marker.container}/${clip(blobPath)}`);
      }
      files[i] = { url: siblingBlobUrl(marker, blobPath), blobPath, eTag: props.etag ?? '', contentLength: props.contentLength };
    }
  };
  await Promise.all(Array.from({ length: Math.min(MANIFEST_LOOKUP_CONCURRENCY, paths.length) }, lookUp));
  return files;
}

/**
 * The folder partition's input files in storage now (as the intake would classify them), recorded or
 * not: those the ledger lacks were written before the marker and their events are still on the way.
 * A listing cannot tell which operation wrote a blob, so the route's first accepted one stands in.
 */
async function unrecordedFolderInputs(routeName: string, partition: string, markerUrl: string): Promise<ClosedBatch['files']> {
  const settings = appSettings();
  const route = appRoutes().routes.find((r) => r.name === routeName);
  // A route-wide partition holds the route's whole history; listing it at every close would cost as
  // much, so only folder partitions are completed from storage.
  if (!route || route.batching.mode !== 'marker' || route.batching.partitionBy !== 'folder') return [];
  const origins = pathStyleOriginsOf(settings.dataStorage);
  const marker = parseBlobUrl(markerUrl, origins);
  const container = blobServiceFor(settings.dataStorage).getContainerClient(marker.container);
  const prefix = partition ? `${partition}/` : '';
  const found: ClosedBatch['files'] = [];
  try {
    for await (const blob of container.listBlobsFlat({ prefix })) {
      const url = siblingBlobUrl(marker, blob.name);
      const decision = matchRoute({ api: route.trigger.apis[0], url }, appRoutes().routes, origins);
      if (!decision.matched || decision.route.name !== routeName || decision.role !== 'input' || decision.partition !== partition) continue;
      found.push({ url: decision.location.url, blobPath: decision.location.blobPath, eTag: blob.properties.etag ?? '', contentLength: blob.properties.contentLength });
    }
  } catch (err) {
    rethrowClassified(err, `Listing ${marker.container}/${prefix}`);
  }
  return found;
}

export async function startScoringRun(input: StartScoringRunInput, context: InvocationContext): Promise<ActivityResult<{ started: boolean }>> {
  return asActivityResult(context, input.runId, `Starting run ${input.runId}`, async () => {
    const client = durableClientFor(context);
    return { started: await startRunOnce(client, input.orchestration, input.runId, input.input, context) };
  });
}
