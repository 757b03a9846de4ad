// "Score this blob" / "score this folder" from an operator: the blob (or every blob under the folder)
// is read from the data account, matched against the routes exactly as a BlobCreated event would be
// (same allow-lists, prefixes, globs and ignore patterns; only the event's API name is not checked), and
// the run is planned by the same functions as the intake, so a blob version an event already scored
// maps to the run that exists. A folder on a window/marker route becomes one run over the folder.
import { createHash } from 'node:crypto';
import type { DurableClient } from 'durable-functions';
import type { InvocationContext } from '@azure/functions';
import { OperatorError } from './operatorHttp';
import { appRoutes, appSettings } from '../config/runtimeConfig';
import type { BlobRoute } from '../config/routes';
import { blobServiceFor, pathStyleOriginsOf } from '../azure/storageClients';
import { BlobLocation, siblingBlobUrl } from '../domain/blobUrls';
import { matchRoute, RouteDecision } from '../config/routeMatching';
import type { BlobArrival } from '../events/storageEvents';
import { planFileRun, routeTargets } from '../events/storageIntake';
import { startRunOnce } from '../azure/runStarter';
import { RUN_ID_PREFIX } from '../domain/runIds';
import { SCORE_BLOB_RUN, ScoreBlobRunInput } from '../orchestrations/scoreBlobRun';

/** Stands in for the event's API name: operator starts are not uploads, so any route's API list takes them. */
const OPERATOR_API = 'BatchpilotOperatorStart';
const MAX_FOLDER_BLOBS = 5000;
const MAX_RUNS_PER_START = 100;

export interface StartRequest {
  /** `<container>/<path>` of one blob. */
  blob?: string;
  /** `<container>/<folder>/` of a folder. */
  folder?: string;
}

export interface PlannedStart {
  route: string;
  runId: string;
  input: ScoreBlobRunInput;
  files: string[];
}

export interface StartOutcome {
  started: Array<{ runId: string; route: string; files: number }>;
  alreadyExisting: Array<{ runId: string; route: string }>;
}

function splitContainer(path: string, field: string): { container: string; rest: string } {
  const clean = path.trim().replace(/^\/+/, '');
  const slash = clean.indexOf('/');
  if (slash <= 0) throw new OperatorError(400, 'InvalidPath', `${field} '${path}' must start with the container: <container>/<path>.`);
  const container = clean.slice(0, slash);
  if (!/^[a-z0-9](?!.*--)[a-z0-9-]{1,61}[a-z0-9]$/.test(container)) throw new OperatorError(400, 'InvalidPath', `'${container}' in ${field} is not a container name.`);
  const rest = clean.slice(slash + 1);
  if (rest.split('/').some((s) => s === '.' || s === '..')) throw new OperatorError(400, 'InvalidPath', `${field} must not contain . or .. segments.`);
  return { container, rest };
}

/** Routes widened to take the operator's stand-in API name; decisions are mapped back to the real route. */
function decide(url: string, eTag: string, contentLength: number | undefined): RouteDecision {
  const routes = appRoutes().routes;
  const widened = routes.map((r) => ({ ...r, trigger: { ...r.trigger, apis: [...r.trigger.apis, OPERATOR_API] } }));
  const arrival: BlobArrival = { eventId: '', eventType: 'operator', eventTime: new Date().toISOString(), subject: '', source: '', api: OPERATOR_API, url, eTag, contentLength };
  const decision = matchRoute(arrival, widened, pathStyleOriginsOf(appSettings().dataStorage));
  if (!decision.matched) return decision;
  return { ...decision, route: routes.find((r) => r.name === decision.route.name)! };
}

function folderRunId(route: BlobRoute, folderUrl: string, files: Array<{ url: string; eTag: string }>): string {
  const digest = createHash('sha256').update([folderUrl, ...files.map((f) => `${f.url}\u0000${f.eTag.replace(/^"|"$/g, '')}`)].join('\u0000')).digest('hex').slice(0, 24);
  return `${RUN_ID_PREFIX.blob}${route.name}-${digest}-op`;
}

async function planBlob(blobPath: string): Promise<PlannedStart[]> {
  const { container, rest } = splitContainer(blobPath, 'blob');
  if (!rest || rest.endsWith('/')) throw new OperatorError(400, 'InvalidPath', `blob '${blobPath}' names a folder; pass it as 'folder' instead.`);
  const client = blobServiceFor(appSettings().dataStorage).getContainerClient(container).getBlobClient(rest);
  let props;
  try {
    props = await client.getProperties();
  } catch (err) {
    if ((err as { statusCode?: number }).statusCode === 404) throw new OperatorError(404, 'BlobNotFound', `There is no blob '${rest}' in container '${container}' of the data account.`);
    throw err;
  }
  const decision = decide(client.url, props.etag ?? '', props.contentLength);
  if (!decision.matched) throw new OperatorError(400, 'NoRouteMatches', `No route scores '${blobPath}': ${decision.reason}.`);
  if (decision.role === 'marker') throw new OperatorError(400, 'IsAMarker', `'${blobPath}' is the marker of route '${decision.route.name}', not an input; start a run for its folder instead.`);
  if (decision.route.batching.mode !== 'perFile') {
    const folder = `${container}/${decision.partition || decision.route.trigger.pathPrefix.replace(/\/+$/, '')}/`;
    throw new OperatorError(400, 'RouteGathersFolders', `Route '${decision.route.name}' scores folders (${decision.route.batching.mode} batching), not single files: start a run for the folder '${folder}' instead.`);
  }
  const { runId, input } = planFileRun(decision.route, decision.location, { eTag: props.etag ?? '', contentLength: props.contentLength }, []);
  return [{ route: decision.route.name, runId, input, files: [decision.location.blobPath] }];
}

async function planFolder(folderPath: string): Promise<PlannedStart[]> {
  const { container, rest } = splitContainer(folderPath.endsWith('/') ? folderPath : `${folderPath}/`, 'folder');
  const prefix = rest.replace(/\/+$/, '');
  if (!prefix) throw new OperatorError(400, 'InvalidPath', `folder '${folderPath}' must name a folder inside the container.`);
  const containerClient = blobServiceFor(appSettings().dataStorage).getContainerClient(container);
  const matched: Array<{ decision: Extract<RouteDecision, { matched: true }>; eTag: string; contentLength?: number }> = [];
  const unmatched: string[] = [];
  let listed = 0;
  try {
    for await (const b of containerClient.listBlobsFlat({ prefix: `${prefix}/` })) {
      if (++listed > MAX_FOLDER_BLOBS) throw new OperatorError(400, 'FolderTooLarge', `Folder '${folderPath}' holds more than ${MAX_FOLDER_BLOBS} blobs; start runs for smaller folders.`);
      const decision = decide(containerClient.getBlobClient(b.name).url, b.properties.etag ?? '', b.properties.contentLength);
      if (decision.matched && decision.role === 'input') matched.push({ decision, eTag: b.properties.etag ?? '', contentLength: b.properties.contentLength });
      else if (!decision.matched && unmatched.length < 3) unmatched.push(`${b.name}: ${decision.reason}`);
    }
  } catch (err) {
    if ((err as { statusCode?: number }).statusCode === 404) throw new OperatorError(404, 'ContainerNotFound', `There is no container '${container}' in the data account.`);
    throw err;
  }
  if (listed === 0) throw new OperatorError(404, 'FolderEmpty', `There are no blobs under '${container}/${prefix}/'.`);
  if (matched.length === 0) throw new OperatorError(400, 'NoRouteMatches', `No blob under '${container}/${prefix}/' is an input of any route${unmatched.length ? ` (${unmatched.join('; ')})` : ''}.`);
  const routeNames = [...new Set(matched.map((m) => m.decision.route.name))];
  if (routeNames.length > 1) throw new OperatorError(400, 'SeveralRoutes', `The blobs under '${container}/${prefix}/' belong to several routes (${routeNames.join(', ')}); start a run for a folder of one route.`);
  const route = matched[0].decision.route;
  if (route.batching.mode === 'perFile') {
    if (matched.length > MAX_RUNS_PER_START) throw new OperatorError(400, 'FolderTooLarge', `Route '${route.name}' scores files one by one and the folder holds ${matched.length}; at most ${MAX_RUNS_PER_START} runs start at once — pick a smaller folder.`);
    return matched.map((m) => {
      const { runId, input } = planFileRun(route, m.decision.location, { eTag: m.eTag, contentLength: m.contentLength }, []);
      return { route: route.name, runId, input, files: [m.decision.location.blobPath] };
    });
  }
  const like: BlobLocation = matched[0].decision.location;
  const folderUrl = `${siblingBlobUrl(like, prefix)}/`;
  const files = matched.map((m) => ({ url: m.decision.location.url, blobPath: m.decision.location.blobPath, eTag: m.eTag, contentLength: m.contentLength })).sort((a, b) => a.blobPath.localeCompare(b.blobPath));
  const runId = folderRunId(route, folderUrl, files);
  // The same partition naming as the gatherer's batches, so {partition} in output paths reads alike.
  const partition = route.batching.partitionBy === 'route' ? '' : prefix;
  const input: ScoreBlobRunInput = { runId, route, ...routeTargets(route), trigger: { kind: 'blob', eventIds: [], partition }, files, folderUrl };
  return [{ route: route.name, runId, input, files: files.map((f) => f.blobPath) }];
}

export async function planStart(request: StartRequest): Promise<PlannedStart[]> {
  if (!!request.blob === !!request.folder) throw new OperatorError(400, 'InvalidStart', "Give exactly one of 'blob' (<container>/<path>) or 'folder' (<container>/<folder>/).");
  return request.blob ? planBlob(request.blob) : planFolder(request.folder!);
}

export async function startPlanned(client: DurableClient, plans: PlannedStart[], context: InvocationContext): Promise<StartOutcome> {
  const outcome: StartOutcome = { started: [], alreadyExisting: [] };
  for (const p of plans) {
    if (await startRunOnce(client, SCORE_BLOB_RUN, p.runId, p.input, context)) outcome.started.push({ runId: p.runId, route: p.route, files: p.files.length });
    else outcome.alreadyExisting.push({ runId: p.runId, route: p.route });
  }
  return outcome;
}
