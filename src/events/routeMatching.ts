// Deciding what a blob arrival means: which route it belongs to (or why none), whether it is an
// input, a partition's marker, or to be ignored, and the partition it falls in.
import * as posix from 'node:path/posix';
import type { BlobRoute } from '../config/routes';
import type { BlobArrival } from './storageEvents';
import { BlobLocation, BlobUrlError, parseBlobUrl } from './blobUrls';
import { matchesGlob } from './pathGlobs';

export type ArrivalRole = 'input' | 'marker';

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
export function matchRoute(arrival: BlobArrival, routes: readonly BlobRoute[], pathStyleOrigins: readonly string[]): RouteDecision {
  let location: BlobLocation;
  try {
    location = parseBlobUrl(arrival.url, pathStyleOrigins);
  } catch (err) {
    return { matched: false, reason: (err as BlobUrlError).message };
  }
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
    if (!location.blobPath.startsWith(t.pathPrefix)) {
      reasons.push(`${route.name}: path does not start with '${t.pathPrefix}'`);
      continue;
    }
    if (!t.apis.includes(arrival.api)) {
      reasons.push(`${route.name}: api ${arrival.api} is not one of ${t.apis.join(', ')}`);
      continue;
    }
    const base = posix.basename(location.blobPath);
    const marker = markerName(route);
    if (marker && base === marker) {
      return { matched: true, route, location, role: 'marker', partition: partitionOf(route, location.blobPath) };
    }
    const rel = location.blobPath.slice(t.pathPrefix.length);
    if (t.ignore.some((g) => matchesGlob(location.blobPath, g) || matchesGlob(rel, g))) {
      reasons.push(`${route.name}: ${location.blobPath} matches an ignored pattern`);
      continue;
    }
    if (t.pathGlob && !matchesGlob(rel, t.pathGlob)) {
      reasons.push(`${route.name}: ${rel} does not match ${t.pathGlob}`);
      continue;
    }
    return { matched: true, route, location, role: 'input', partition: partitionOf(route, location.blobPath) };
  }
  return { matched: false, reason: reasons.length ? `no route takes it (${reasons.join('; ')})` : 'no routes are configured' };
}
