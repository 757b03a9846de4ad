// Deciding what a model registration means: which model route takes it (the first whose model name
// glob, workspace and tag filters all match), or why none does. Tags may be missing from an event;
// then the caller looks them up and asks again, rather than guessing.
import type { ModelRoute } from '../config/routes';
import { matchesGlob } from '../domain/pathGlobs';
import type { ModelRegistration } from './modelRegistrations';
import { clip } from '../domain/untrustedText';

export type ModelRouteDecision =
  | { matched: true; route: ModelRoute; workspaceId: string }
  | { matched: false; reason: string }
  /** A route matches on name and workspace but filters on tags the event did not carry. */
  | { matched: 'needsTags'; route: ModelRoute; workspaceId: string };

function tagsMatch(filters: Record<string, string>, tags: Record<string, string>): string | undefined {
  for (const [key, wanted] of Object.entries(filters)) {
    if (!(key in tags)) return `tag '${key}' is missing`;
    if (wanted !== '*' && tags[key] !== wanted) return `tag '${key}' is '${clip(tags[key])}', not '${wanted}'`;
  }
  return undefined;
}

export function matchModelRoute(registration: ModelRegistration, routes: readonly ModelRoute[], defaultWorkspaceId: string): ModelRouteDecision {
  const reasons: string[] = [];
  for (const route of routes) {
    const workspaceId = route.target.workspaceId ?? defaultWorkspaceId;
    if (!matchesGlob(registration.modelName, route.trigger.modelName)) {
      reasons.push(`${route.name}: model '${registration.modelName}' does not match '${route.trigger.modelName}'`);
      continue;
    }
    if (registration.workspaceId && registration.workspaceId.toLowerCase() !== workspaceId.toLowerCase()) {
      reasons.push(`${route.name}: the event comes from workspace ${clip(registration.workspaceId)}, not ${workspaceId}`);
      continue;
    }
    const filters = route.trigger.tags;
    if (Object.keys(filters).length > 0) {
      if (!registration.tags) return { matched: 'needsTags', route, workspaceId };
      const mismatch = tagsMatch(filters, registration.tags);
      if (mismatch) {
        reasons.push(`${route.name}: ${mismatch}`);
        continue;
      }
    }
    return { matched: true, route, workspaceId };
  }
  return { matched: false, reason: reasons.length ? `no model route takes it (${reasons.join('; ')})` : 'no model routes are configured' };
}
