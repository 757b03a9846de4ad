// One Azure ML workspace client per workspace for the process, built on first use with the app's
// identity and ARM endpoint: activities, the model intake, the cleanup timer and the operator API all
// talk to workspaces through it, so their connections and token caches are shared.
import { appSettings } from '../config/runtimeConfig';
import { appCredential } from './credentials';
import { MlWorkspaceClient } from './mlWorkspace';
import { parseWorkspaceId } from './workspaceIds';

const clients = new Map<string, MlWorkspaceClient>();

export function workspaceClient(workspaceId: string): MlWorkspaceClient {
  let c = clients.get(workspaceId);
  if (!c) {
    c = new MlWorkspaceClient(parseWorkspaceId(workspaceId), { armEndpoint: appSettings().armEndpoint, credential: appCredential() });
    clients.set(workspaceId, c);
  }
  return c;
}
