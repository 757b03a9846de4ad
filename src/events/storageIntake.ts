// The storage intake: one BlobCreated event in, at most one run (perFile) or one ledger entry (window
// and marker routes) out. Events that match nothing are logged with the reason and dropped (Event
// Grid must not retry them); failures to act on a matched event throw, so Event Grid retries and
// nothing is lost.
import type { InvocationContext } from '@azure/functions';
import type { DurableClient } from 'durable-functions';
import { parseStorageEvent } from './storageEvents';
import { matchRoute } from './routeMatching';
import { arrivalKey, blobRunId, partitionCoalescerId } from './instanceIds';
import { siblingBlobUrl } from './blobUrls';
import { startRunOnce, wakeOrStart } from './runStarter';
import { appRoutes, appSettings } from '../activities/runtimeConfig';
import { pathStyleOriginsOf } from '../azure/storageClients';
import { recordArrival } from '../azure/arrivalLedger';
import { SCORE_BLOB_RUN, ScoreBlobRunInput } from '../orchestrations/scoreBlobRun';
import { ARRIVAL_EVENT, COALESCE_PARTITION, CoalescePartitionInput } from '../orchestrations/coalescePartition';

export type IntakeOutcome =
  | { action: 'dropped'; reason: string }
  | { action: 'started' | 'duplicate'; runId: string }
  | { action: 'recorded' | 'duplicate-arrival'; coalescerId: string; wake: 'woken' | 'started' };

export async function intakeStorageEvent(event: unknown, client: DurableClient, context: InvocationContext): Promise<IntakeOutcome> {
  const parsed = parseStorageEvent(event);
  const eventId = (event as { id?: unknown })?.id;
  if (!parsed.ok) {
    context.warn(JSON.stringify({ eventId, message: `Dropped event: ${parsed.reason}` }));
    return { action: 'dropped', reason: parsed.reason };
  }
  const settings = appSettings();
  const decision = matchRoute(parsed.arrival, appRoutes().routes, pathStyleOriginsOf(settings.dataStorage));
  if (!decision.matched) {
    context.log(JSON.stringify({ eventId, url: parsed.arrival.url, message: `No run: ${decision.reason}` }));
    return { action: 'dropped', reason: decision.reason };
  }
  const { route, location, role, partition } = decision;
  const workspaceId = route.target.workspaceId ?? settings.workspaceId;
  const topicEndpoint = route.events.topicEndpoint ?? settings.eventsTopicEndpoint;

  if (route.batching.mode === 'perFile') {
    if (role !== 'input') return { action: 'dropped', reason: 'markers mean nothing on a perFile route' };
    const runId = blobRunId(route.name, location.url, parsed.arrival.eTag);
    const input: ScoreBlobRunInput = {
      runId,
      route,
      workspaceId,
      topicEndpoint,
      trigger: { kind: 'blob', eventIds: [parsed.arrival.eventId] },
      files: [{ url: location.url, blobPath: location.blobPath, eTag: parsed.arrival.eTag, contentLength: parsed.arrival.contentLength }],
    };
    const started = await startRunOnce(client, SCORE_BLOB_RUN, runId, input, context);
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
  const folder = partition || route.trigger.pathPrefix.replace(/\/+$/, '');
  const coalesceInput: CoalescePartitionInput = {
    route,
    partition,
    folderUrl: folder ? `${siblingBlobUrl(location, folder)}/` : siblingBlobUrl(location, '').replace(/\/?$/, '/'),
    workspaceId,
    topicEndpoint,
    runIdPrefix: coalescerId.replace(/^bpc-/, 'bp-'),
  };
  const wake = await wakeOrStart(client, COALESCE_PARTITION, coalescerId, ARRIVAL_EVENT, coalesceInput);
  context.log(JSON.stringify({ eventId, coalescerId, url: location.url, message: fresh ? `Recorded ${role} for partition '${partition}'.` : 'Arrival already recorded (duplicate delivery).' }));
  return { action: fresh ? 'recorded' : 'duplicate-arrival', coalescerId, wake };
}
