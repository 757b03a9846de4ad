// One line per run, derived from its Durable instance: kind, the status an operator means (a blob run
// whose job failed completes its orchestration but is Failed), route, inputs, job, why it did not
// complete. Pure functions over the instance status, shared by the list, the counts and the run page.
import { FINISHED_STATUSES, RUN_STATUSES, RunStatus, RunSummary } from './operatorApiTypes';
import { InstanceStatus, runKindOf } from './runInstances';

type Json = Record<string, unknown>;

function obj(v: unknown): Json | undefined {
  return v && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : undefined;
}
function str(v: unknown): string | undefined {
  return typeof v === 'string' && v ? v : undefined;
}

/** True when the run's custom status says it waits for an operator's approval. */
export function isAwaitingApproval(customStatus: unknown): boolean {
  const cs = obj(customStatus);
  if (!cs) return false;
  return cs.awaitingApproval === true || /awaiting approval/i.test(String(cs.phase ?? ''));
}

export function runStatusOf(s: Pick<InstanceStatus, 'runtimeStatus' | 'output' | 'customStatus'>): RunStatus {
  switch (s.runtimeStatus) {
    case 'Completed': {
      const outcome = str(obj(s.output)?.outcome);
      const known = RUN_STATUSES.find((k) => k === outcome);
      return known && FINISHED_STATUSES.includes(known) ? known : 'Completed';
    }
    case 'Failed':
      return 'Failed';
    case 'Terminated':
    case 'Canceled':
      return 'Terminated';
    case 'Pending':
      return 'Pending';
    case 'Suspended':
      return 'Suspended';
    default:
      return isAwaitingApproval(s.customStatus) ? 'AwaitingApproval' : 'Running';
  }
}

/** A blob URL as an operator reads it: `<container>/<path>`, decoded. */
export function displayPath(url: string): string {
  try {
    const u = new URL(url);
    const segments = u.pathname.split('/').slice(1).map((s) => decodeURIComponent(s));
    // Path-style endpoints (Azurite) put the account first.
    const pathStyle = !/\.(blob|dfs)\.core\./i.test(u.hostname);
    return (pathStyle ? segments.slice(1) : segments).join('/');
  } catch {
    return url;
  }
}

function modelOf(input: Json | undefined): { name: string; version?: string } | undefined {
  if (!input) return undefined;
  const m = obj(input.model);
  const name = str(m?.name) ?? str(input.modelName);
  if (!name) return undefined;
  const version = m?.version ?? input.modelVersion;
  return { name, version: version === undefined || version === null ? undefined : String(version) };
}

function failureText(output: unknown): string | undefined {
  if (typeof output === 'string') return output;
  const o = obj(output);
  return str(o?.reason) ?? str(o?.message);
}

/** The run's summary, or undefined when the instance is not a run (a sub-run, a gatherer). */
export function summariseRun(s: InstanceStatus): RunSummary | undefined {
  const kind = runKindOf(s.name, s.instanceId);
  if (!kind) return undefined;
  const input = obj(s.input);
  const output = obj(s.output);
  const cs = obj(s.customStatus);
  const files = Array.isArray(input?.files) ? (input!.files as unknown[]).map(obj).filter((f): f is Json => !!f) : [];
  const paths = files.map((f) => str(f.blobPath) ?? displayPath(String(f.url ?? '')));
  const container = files.length ? displayPath(String(files[0].url ?? '')).split('/')[0] : undefined;
  const status = runStatusOf(s);
  const folderUrl = str(input?.folderUrl);
  return {
    runId: s.instanceId,
    kind,
    orchestration: s.name,
    status,
    runtimeStatus: s.runtimeStatus,
    phase: str(cs?.phase),
    route: str(obj(input?.route)?.name) ?? str(input?.routeName) ?? str(output?.route),
    createdAt: s.createdTime,
    lastUpdatedAt: s.lastUpdatedTime,
    inputs: paths.slice(0, 5).map((p) => (container && !p.startsWith(`${container}/`) ? `${container}/${p}` : p)),
    // The run index is told about the first few files of a large batch and how many there are.
    inputCount: typeof input?.fileCount === 'number' ? input.fileCount : paths.length,
    folder: folderUrl ? displayPath(folderUrl) : undefined,
    model: modelOf(input),
    endpoint: str(input?.endpoint) ?? str(obj(obj(input?.route)?.target)?.endpoint),
    jobName: str(output?.jobName) ?? str(cs?.jobName),
    reason: FINISHED_STATUSES.includes(status) && status !== 'Completed' && status !== 'Promoted' ? failureText(s.output) : undefined,
    rerunOf: str(input?.rerunOf),
  };
}

/** Lower-case text a `q` filter searches: IDs, route, blob paths and URLs, job, model. */
export function searchableText(s: InstanceStatus, summary: RunSummary): string {
  const input = obj(s.input);
  const files = Array.isArray(input?.files) ? (input!.files as unknown[]).map(obj) : [];
  const parts = [
    summary.runId,
    summary.route,
    summary.jobName,
    summary.folder,
    str(input?.folderUrl),
    summary.rerunOf,
    summary.model ? `${summary.model.name}:${summary.model.version ?? ''}` : undefined,
    summary.endpoint,
    ...files.flatMap((f) => [str(f?.blobPath), str(f?.url), str(f?.url) ? displayPath(String(f!.url)) : undefined]),
  ];
  return parts.filter(Boolean).join('\n').toLowerCase();
}
