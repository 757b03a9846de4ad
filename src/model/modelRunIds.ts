// Durable instance IDs of the model flow, derived from what the run is about, never random: the same
// model version in the same workspace always maps to the same promotion run (so a repeated or
// re-cased ModelRegistered starts nothing new), and rolling back one promotion always maps to the same
// rollback run. The readable part lets operators recognise a run; the digest keeps IDs distinct.
import { createHash } from 'node:crypto';
import { RUN_ID_PREFIX } from '../domain/runIds';

function digest(...parts: string[]): string {
  return createHash('sha256').update(parts.join('\u0000')).digest('hex').slice(0, 12);
}

function readable(text: string, max: number): string {
  return text.replace(/[^A-Za-z0-9_.-]/g, '-').slice(0, max);
}

/** The promotion run of one model version. */
export function modelRunId(workspaceId: string, modelName: string, modelVersion: string): string {
  return `${RUN_ID_PREFIX.model}${readable(modelName, 60)}-v${readable(modelVersion, 20)}-${digest(workspaceId.toLowerCase(), modelName, modelVersion)}`;
}

/** The rollback of the promotion made by `promotionRunId` on an endpoint. */
export function rollbackRunId(workspaceId: string, endpoint: string, promotionRunId: string): string {
  return `${RUN_ID_PREFIX.rollback}${readable(endpoint.toLowerCase(), 40)}-${digest(workspaceId.toLowerCase(), endpoint.toLowerCase(), promotionRunId)}`;
}
