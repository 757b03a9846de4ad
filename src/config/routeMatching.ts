// Deciding what a blob arrival means: which route it belongs to (or why none), whether it is an
// input, a partition's marker, or to be ignored, and the partition it falls in. The intake asks it of
// every storage event, the coalescer of the files in a marked folder, the operator API of a blob it is
// asked to start a run for.
import * as posix from 'node:path/posix';
import type { BlobRoute } from './routes';
import { BlobLocation, BlobUrlError, parseBlobUrl } from '../domain/blobUrls';
import { pathRefusal } from './routePaths';
import { clip } from '../domain/untrustedText';

export type ArrivalRole = 'input' | 'marker';

/** What route matching reads of an arrival (a BlobArrival from src/events/storageEvents.ts has both). */
export interface BlobToMatch {
  url: string;
  /** The Storage API that committed the blob (`data.api`). */
  api: string;
}

export type RouteDecision =
  | { matched: true; route: BlobRoute; location: BlobLocation; role: ArrivalRole; partition: string }
  | { matched: false; reason: string };

function markerName(route: BlobRoute): string | undefined {
  return route.batching.mode === 'marker' ? route.batching.markerName : undefined;
}

export function partitionOf(route: BlobRoute, blobPath: string): string {
  if (route.batching.mode === 'perFile') return blobPath;
  if (route.batching.partitionBy === 'route') return '';
  const dir = posix.dirname(blobPath);
  return dir === '.' ? '' : dir;
}

/** Matches an arrival against the routes, in order; the first route that takes it wins. */
export function matchRoute(arrival: BlobToMatch, routes: readonly BlobRoute[], pathStyleOrigins: readonly string[]): RouteDecision {
  let location: BlobLocation;
  try {
    location = parseBlobUrl(arrival.url, pathStyleOrigins);
  } catch (err) {
    return { matched: false, reason: (err as BlobUrlError).message };
  }
  // Container and account names are short by now (parseBlobUrl checked them); the path, up to 1024
  // characters, is quoted once, clipped, not once per route.
  const reasons: string[] = [];
  for (const route of routes) {
    const t = route.trigger;
    if (location.container !== t.container) {
      reasons.push(`${route.name}: container ${location.container} is not ${t.container}`);
      continue;
    }
    if (!t.storageAccounts.includes(location.account)) {
      reasons.push(`${route.name}: account ${location.account} is not in its allow-list`);
      continue;
    }
    if (!t.apis.includes(arrival.api)) {
      reasons.push(`${route.name}: api ${clip(arrival.api, 60)} is not one of ${t.apis.join(', ')}`);
      continue;
    }
    const marker = markerName(route);
    if (marker && location.blobPath.startsWith(t.pathPrefix) && posix.basename(location.blobPath) === marker) {
      return { matched: true, route, location, role: 'marker', partition: partitionOf(route, location.blobPath) };
    }
    const refusal = pathRefusal(route, location.blobPath);
    if (refusal) {
      reasons.push(`${route.name}: ${refusal}`);
      continue;
    }
    return { matched: true, route, location, role: 'input', partition: partitionOf(route, location.blobPath) };
  }
  if (!reasons.length) return { matched: false, reason: 'no routes are configured' };
  return { matched: false, reason: `no route takes '${clip(location.blobPath)}' (${reasons.join('; ')})` };
}
