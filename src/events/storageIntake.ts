// The storage intake: one BlobCreated event in, at most one accepted run (perFile: handed on to the
// run-start timer, src/events/acceptedRuns.ts) or one ledger entry (window and marker routes) out.
// Events that match nothing are logged with the reason and dropped (Event Grid must not retry them);
// failures to act on a matched event throw, so Event Grid retries and nothing is lost.
import type { InvocationContext } from '@azure/functions';
import type { DurableClient } from 'durable-functions';
import { parseStorageEvent } from './storageEvents';
import { matchRoute } from '../config/routeMatching';
import { arrivalKey, blobRunId, partitionCoalescerId } from '../domain/instanceIds';
import { BlobLocation, siblingBlobUrl } from '../domain/blobUrls';
import { clip } from '../domain/untrustedText';
import { startRunOnce, wakeOrStart } from '../azure/runStarter';
import { appRoutes, appSettings } from '../config/runtimeConfig';
import type { BlobRoute } from '../config/routes';
import { pathStyleOriginsOf } from '../azure/storageClients';
import { recordArrival } from '../azure/arrivalLedger';
import { appRunAcceptance } from '../azure/runAcceptance';
import { SCORE_BLOB_RUN, ScoreBlobRunInput } from '../orchestrations/scoreBlobRun';
import { ARRIVAL_EVENT, ArrivalWakeUp, COALESCE_PARTITION, CoalescePartitionInput } from '../orchestrations/coalescePartition';

export type IntakeOutcome =
  | { action: 'dropped'; reason: string }
  | { action: 'accepted' | 'started' | 'duplicate'; runId: string }
  | { action: 'recorded' | 'duplicate-arrival'; coalescerId: string; wake: 'woken' | 'started' };

/** Where a route's runs go: the route's own workspace and topic, or the app's defaults. */
export function routeTargets(route: BlobRoute): { workspaceId: string; topicEndpoint: string } {
  const settings = appSettings();
  return { workspaceId: route.target.workspaceId ?? settings.workspaceId, topicEndpoint: route.events.topicEndpoint ?? settings.eventsTopicEndpoint };
}

/**
 * The run one blob version makes on a perFile route: its deterministic ID and input. The intake and the
 * operator API's "start a run for this blob" share it, so both name the same blob version's run alike.
 */
export function planFileRun(route: BlobRoute, location: BlobLocation, version: { eTag: string; contentLength?: number }, eventIds: string[], arrivedAt?: string): { runId: string; input: ScoreBlobRunInput } {
  const runId = blobRunId(route.name, location.url, version.eTag);
  const input: ScoreBlobRunInput = {
    runId,
    route,
    ...routeTargets(route),
    trigger: { kind: 'blob', eventIds, ...(arrivedAt ? { firstArrivalAt: arrivedAt } : {}) },
    files: [{ url: location.url, blobPath: location.blobPath, eTag: version.eTag, contentLength: version.contentLength }],
  };
  return { runId, input };
}

/** An event's time when it is one (the storage event's eventTime is when the blob was written). */
function validTime(text: string | undefined): string | undefined {
  const ms = text ? Date.parse(text) : NaN;
  return Number.isFinite(ms) ? new Date(ms).toISOString() : undefined;
}

/** The folder a window/marker partition's runs read as UriFolder input (with a trailing slash). */
export function partitionFolderUrl(route: BlobRoute, like: BlobLocation, partition: string): string {
  const folder = partition || route.trigger.pathPrefix.replace(/\/+$/, '');
  return folder ? `${siblingBlobUrl(like, folder)}/` : siblingBlobUrl(like, '').replace(/\/?$/, '/');
}

/** `client` is called only when a Durable client is needed: a perFile run is handed on without one. */
export async function intakeStorageEvent(event: unknown, client: () => DurableClient, context: InvocationContext): Promise<IntakeOutcome> {
  const parsed = parseStorageEvent(event);
  const rawId = (event as { id?: unknown } | null)?.id;
  const eventId = rawId === undefined ? undefined : clip(rawId, 100);
  if (!parsed.ok) {
    context.warn(JSON.stringify({ eventId, message: `Dropped event: ${parsed.reason}` }));
    return { action: 'dropped', reason: parsed.reason };
  }
  const settings = appSettings();
  const decision = matchRoute(parsed.arrival, appRoutes().routes, pathStyleOriginsOf(settings.dataStorage));
  if (!decision.matched) {
    context.log(JSON.stringify({ eventId, url: clip(parsed.arrival.url), message: `No run: ${decision.reason}` }));
    return { action: 'dropped', reason: decision.reason };
  }
  const { route, location, role, partition } = decision;
  const { workspaceId, topicEndpoint } = routeTargets(route);

  if (route.batching.mode === 'perFile') {
    if (role !== 'input') return { action: 'dropped', reason: 'markers mean nothing on a perFile route' };
    const { runId, input } = planFileRun(route, location, { eTag: parsed.arrival.eTag, contentLength: parsed.arrival.contentLength }, [parsed.arrival.eventId], validTime(parsed.arrival.eventTime) ?? new Date().toISOString());
    const acceptance = await appRunAcceptance().accept({ runId, orchestration: SCORE_BLOB_RUN, input, eventId: parsed.arrival.eventId });
    if (acceptance === 'accepted') {
      context.log(JSON.stringify({ eventId, runId, message: `Accepted: ${SCORE_BLOB_RUN} starts within seconds.` }));
      return { action: 'accepted', runId };
    }
    if (acceptance === 'duplicate') {
      context.log(JSON.stringify({ eventId, runId, message: 'Run already accepted: duplicate delivery, nothing started.' }));
      return { action: 'duplicate', runId };
    }
    // An input too long for the accepted-runs table (a route with very many rules): started here, as it was before the hand-off.
    const started = await startRunOnce(client(), SCORE_BLOB_RUN, runId, input, context);
    return { action: started ? 'started' : 'duplicate', runId };
  }

  const fresh = await recordArrival(route.name, partition, arrivalKey(location.url, parsed.arrival.eTag), {
    url: location.url,
    blobPath: location.blobPath,
    eTag: parsed.arrival.eTag,
    contentLength: parsed.arrival.contentLength,
    role,
    arrivedAt: new Date().toISOString(),
    eventId: parsed.arrival.eventId,
  });
  const coalescerId = partitionCoalescerId(route.name, partition);
  const coalesceInput: CoalescePartitionInput = {
    route,
    partition,
    folderUrl: partitionFolderUrl(route, location, partition),
    workspaceId,
    topicEndpoint,
    runIdPrefix: coalescerId.replace(/^bpc-/, 'bp-'),
  };
  const wakeUp: ArrivalWakeUp = { role };
  const wake = await wakeOrStart(client(), COALESCE_PARTITION, coalescerId, ARRIVAL_EVENT, coalesceInput, wakeUp);
  context.log(JSON.stringify({ eventId, coalescerId, url: clip(location.url), message: fresh ? `Recorded ${role} for partition '${clip(partition)}'.` : 'Arrival already recorded (duplicate delivery).' }));
  return { action: fresh ? 'recorded' : 'duplicate-arrival', coalescerId, wake };
}
