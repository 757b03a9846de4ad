// The model intake: one ModelRegistered event in, at most one promotion run out. The registration is
// matched against the model routes (name glob, workspace, tag filters — tags looked up in the workspace
// when the event did not carry them); the run's instance ID derives from the workspace, model name and
// version, so repeated deliveries, in either schema or casing, find the run that already exists.
// Events that match nothing are logged with the reason and dropped; failures to act on a matched event
// throw, so Event Grid retries and nothing is lost.
import type { InvocationContext } from '@azure/functions';
import type { DurableClient } from 'durable-functions';
import { appRoutes, appSettings } from '../config/runtimeConfig';
import { workspaceClient } from '../azure/workspaceClient';
import { classifyAzureError } from '../azure/errorClassification';
import { startRunOnce } from '../azure/runStarter';
import { PROMOTE_MODEL, PromoteModelInput } from '../orchestrations/promoteModel';
import type { ModelRegistration } from './modelRegistrations';
import { matchModelRoute } from './modelRouteMatching';
import { modelRunId } from '../model/modelRunIds';
import { clip } from '../domain/untrustedText';

export type ModelIntakeOutcome = { action: 'dropped'; reason: string } | { action: 'started' | 'duplicate'; runId: string };

export async function intakeModelRegistration(registration: ModelRegistration, client: DurableClient, context: InvocationContext): Promise<ModelIntakeOutcome> {
  const settings = appSettings();
  const routes = appRoutes().modelRoutes;
  const model = `${registration.modelName}:${registration.modelVersion}`;
  // Event IDs are the sender's; quoted short in log lines.
  const eventId = clip(registration.eventId, 100);
  let decision = matchModelRoute(registration, routes, settings.workspaceId);
  if (decision.matched === 'needsTags') {
    try {
      const version = await workspaceClient(decision.workspaceId).getModelVersion(registration.modelName, registration.modelVersion);
      registration = { ...registration, tags: version.tags };
    } catch (err) {
      // A version deleted since it was registered has nothing to promote; anything else is retried.
      if (classifyAzureError(err).statusCode !== 404) throw err;
      const reason = `model ${model} no longer exists in the workspace`;
      context.log(JSON.stringify({ eventId, model, message: `No run: ${reason}` }));
      return { action: 'dropped', reason };
    }
    decision = matchModelRoute(registration, routes, settings.workspaceId);
  }
  if (decision.matched !== true) {
    const reason = decision.matched === false ? decision.reason : 'the model version has no tags';
    context.log(JSON.stringify({ eventId, model, message: `No run: ${reason}` }));
    return { action: 'dropped', reason };
  }
  const { route, workspaceId } = decision;
  const runId = modelRunId(workspaceId, registration.modelName, registration.modelVersion);
  const input: PromoteModelInput = {
    runId,
    route,
    workspaceId,
    topicEndpoint: route.events.topicEndpoint ?? settings.eventsTopicEndpoint,
    model: { name: registration.modelName, version: registration.modelVersion, tags: registration.tags },
    trigger: { kind: 'modelRegistered', eventIds: [registration.eventId], eventTime: registration.eventTime },
  };
  const started = await startRunOnce(client, PROMOTE_MODEL, runId, input, context);
  context.log(JSON.stringify({ eventId, runId, route: route.name, model, message: started ? `Started promotion run for ${model}.` : `Promotion run for ${model} already exists (duplicate delivery).` }));
  return { action: started ? 'started' : 'duplicate', runId };
}
