// Where runs keep their score samples for the drift rule, and how a baseline is put together: each run
// that measured drift writes `<route>/<runId>.scores.json` to the runs container; a later run of the
// route pools the samples of the latest completed runs the measurements table lists.
import type { ContainerClient } from '@azure/storage-blob';
import type { ScoreProfile } from '../domain/scoreDistributions';
import type { RunMeasurementStore } from '../azure/runMeasurementStore';
import { rethrowClassified } from '../azure/errorClassification';
import type { DriftBaseline } from './scoreDrift';

/** A profile is a few hundred kB at most (PROFILE_SAMPLE_SIZE numbers); anything larger is not one of ours. */
const MAX_PROFILE_BYTES = 4 * 1024 * 1024;

export function scoreProfileBlobName(route: string, runId: string): string {
  return `${route}/${runId}.scores.json`;
}

/** Writes the run's profile; returns `<container>/<blob>`, what the run's measurements point to. */
export async function writeScoreProfile(runs: ContainerClient, route: string, profile: ScoreProfile): Promise<string> {
  const blobName = scoreProfileBlobName(route, profile.runId);
  const body = JSON.stringify({ schema: 'batchpilot.scoreProfile/1', route, ...profile });
  try {
    await runs.createIfNotExists();
    await runs.getBlockBlobClient(blobName).upload(body, Buffer.byteLength(body), { blobHTTPHeaders: { blobContentType: 'application/json' } });
  } catch (err) {
    rethrowClassified(err, `Writing the score profile ${runs.containerName}/${blobName}`);
  }
  return `${runs.containerName}/${blobName}`;
}

async function readProfile(runs: ContainerClient, reference: string): Promise<ScoreProfile | undefined> {
  const blobName = reference.startsWith(`${runs.containerName}/`) ? reference.slice(runs.containerName.length + 1) : reference;
  try {
    const blob = runs.getBlockBlobClient(blobName);
    const props = await blob.getProperties();
    if ((props.contentLength ?? 0) > MAX_PROFILE_BYTES) return undefined;
    const parsed = JSON.parse((await blob.downloadToBuffer()).toString('utf8')) as Partial<ScoreProfile>;
    return Array.isArray(parsed.sample) && parsed.sample.every((x) => typeof x === 'number' && Number.isFinite(x)) ? (parsed as ScoreProfile) : undefined;
  } catch (err) {
    // A profile purged or never finished is left out of the baseline, not a reason to fail this run.
    if ((err as { statusCode?: number }).statusCode === 404 || err instanceof SyntaxError) return undefined;
    rethrowClassified(err, `Reading the score profile ${runs.containerName}/${blobName}`);
  }
}

/** The pooled scores of the route's latest `count` completed runs that kept a profile (excluding this run). */
export async function loadDriftBaseline(store: RunMeasurementStore, runs: ContainerClient, route: string, count: number, excludeRunId: string): Promise<DriftBaseline> {
  const latest = await store.latestProfiled(route, count, excludeRunId);
  const profiles = await Promise.all(latest.map(async (l) => ({ ref: l, profile: await readProfile(runs, l.profile) })));
  const baseline: DriftBaseline = { scores: [], runs: [] };
  for (const { ref, profile } of profiles) {
    if (!profile || profile.sample.length === 0) continue;
    for (const x of profile.sample) baseline.scores.push(x);
    baseline.runs.push({ runId: ref.runId, finishedAt: ref.finishedAt, scores: profile.sample.length });
  }
  return baseline;
}
