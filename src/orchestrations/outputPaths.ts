// Where a run's job writes: the route's outputPath template filled in. One filler for blob runs
// ({partition}) and model runs ({model}, {version}); a placeholder whose value the run does not have is
// left as it is. Values from outside (partitions are blob folders, model names come from the registry)
// are reduced to characters that are safe in a datastore path.
export interface OutputPathValues {
  runId: string;
  route: string;
  /** The run's clock (context.df.currentUtcDateTime): {date} is its UTC day. */
  date: Date;
  /** Blob runs: the partition folder ('' for a whole route, written as `all`). */
  partition?: string;
  /** Model runs: the registered model's name and version. */
  model?: string;
  version?: string;
}

const unsafeInName = /[^A-Za-z0-9._-]/g;
const unsafeInFolder = /[^A-Za-z0-9._/-]/g;

export function fillOutputPath(template: string, v: OutputPathValues): string {
  let path = template.replace(/\{runId\}/g, v.runId).replace(/\{route\}/g, v.route);
  if (v.partition !== undefined) path = path.replace(/\{partition\}/g, v.partition.replace(unsafeInFolder, '_') || 'all');
  if (v.model !== undefined) path = path.replace(/\{model\}/g, v.model.replace(unsafeInName, '_'));
  if (v.version !== undefined) path = path.replace(/\{version\}/g, v.version.replace(unsafeInName, '_'));
  return path.replace(/\{date\}/g, v.date.toISOString().slice(0, 10)).replace(/^\/+|\/+$/g, '');
}
