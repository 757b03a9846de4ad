// Which blob paths a route takes as inputs: under its prefix, not matching an ignore pattern, and
// matching its glob. The intake asks it of every arrival and the manifest reader of every entry, so
// an event and a manifest are held to the same filters.
import type { BlobRoute } from './routes';
import { matchesGlob } from '../domain/pathGlobs';

/** Why a blob name is not one of the route's inputs by its path, or undefined when it is. */
export function pathRefusal(route: BlobRoute, blobPath: string): string | undefined {
  const t = route.trigger;
  if (!blobPath.startsWith(t.pathPrefix)) return `path does not start with '${t.pathPrefix}'`;
  const rel = blobPath.slice(t.pathPrefix.length);
  const ignored = t.ignore.find((g) => matchesGlob(blobPath, g) || matchesGlob(rel, g));
  if (ignored) return `path matches the ignored pattern '${ignored}'`;
  if (t.pathGlob && !matchesGlob(rel, t.pathGlob)) return `path does not match '${t.pathGlob}'`;
  return undefined;
}
