// What a manifest marker names, checked as strictly as the arrivals it stands in for: its entries are
// blob names relative to its folder, each one must be a name the intake would accept from an event and
// an input of the route (prefix, glob, ignore patterns), none twice, and no more than the route allows.
// A manifest that breaks any of this fails its batch's run with the reason (PermanentError).
import * as posix from 'node:path/posix';
import type { BlobRoute } from '../config/routes';
import { DEFAULT_MAX_MANIFEST_FILES, DEFAULT_MAX_MANIFEST_SIZE_IN_BYTES } from '../config/routeDefaults';
import { PermanentError } from '../azure/errorClassification';
import { blobNameProblem } from '../domain/blobUrls';
import { pathRefusal } from '../config/routePaths';
import { clip } from '../domain/untrustedText';

const SHOWN_PROBLEMS = 3;

/**
 * The manifest limits of a route. A route recorded before the limits existed (the input of a coalescer
 * that was already running) has none of its own and gets the defaults.
 */
export function manifestLimits(route: BlobRoute): { maxSizeInBytes: number; maxFiles: number } {
  const b = route.batching as Partial<Extract<BlobRoute['batching'], { mode: 'marker' }>>;
  return { maxSizeInBytes: b.maxManifestSizeInBytes ?? DEFAULT_MAX_MANIFEST_SIZE_IN_BYTES, maxFiles: b.maxManifestFiles ?? DEFAULT_MAX_MANIFEST_FILES };
}

function listedNames(text: string, manifest: string): unknown[] {
  if (/^\s*\{/.test(text)) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (err) {
      throw new PermanentError(`The manifest ${manifest} is not valid JSON: ${clip((err as Error).message)}`);
    }
    const files = (parsed as { files?: unknown }).files;
    if (!Array.isArray(files)) throw new PermanentError(`The manifest ${manifest} must list file names: {"files": ["part-1.csv", ...]} or one name per line.`);
    return files;
  }
  return text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
}

/** The blob names (full paths in the container) a manifest at `manifestPath` lists for `route`. */
export function manifestEntries(text: string, manifestPath: string, route: BlobRoute): string[] {
  const manifest = clip(manifestPath);
  const names = listedNames(text, manifest);
  if (names.length === 0) throw new PermanentError(`The manifest ${manifest} lists no files.`);
  const { maxFiles } = manifestLimits(route);
  if (names.length > maxFiles) {
    throw new PermanentError(`The manifest ${manifest} names ${names.length} files; route ${route.name} accepts at most ${maxFiles} (batching.maxManifestFiles). Split the folder or raise the limit.`);
  }
  if (names.some((n) => typeof n !== 'string' || n.length === 0)) {
    throw new PermanentError(`The manifest ${manifest} must list file names (non-empty strings) relative to its folder: {"files": ["part-1.csv", ...]} or one name per line.`);
  }
  const folder = posix.dirname(manifestPath) === '.' ? '' : `${posix.dirname(manifestPath)}/`;
  const problems: string[] = [];
  const seen = new Set<string>();
  const paths: string[] = [];
  for (const name of names as string[]) {
    const blobPath = folder + name;
    const problem = name.startsWith('/')
      ? 'names must be relative to its folder'
      : (blobNameProblem(blobPath) ??
        (blobPath === manifestPath ? 'the manifest names itself' : seen.has(blobPath) ? `names ${clip(name)} twice` : pathRefusal(route, blobPath)));
    if (problem) problems.push(`'${clip(name)}': ${problem}`);
    seen.add(blobPath);
    paths.push(blobPath);
  }
  if (problems.length > 0) {
    const more = problems.length > SHOWN_PROBLEMS ? `; and ${problems.length - SHOWN_PROBLEMS} more` : '';
    throw new PermanentError(`The manifest ${manifest} names files route ${route.name} does not take as inputs: ${problems.slice(0, SHOWN_PROBLEMS).join('; ')}${more}.`);
  }
  return paths;
}
