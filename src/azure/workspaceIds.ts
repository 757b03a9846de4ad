// Azure ML workspace resource IDs, taken apart once.
import { PermanentError } from './errorClassification';

export interface WorkspaceRef {
  subscriptionId: string;
  resourceGroup: string;
  workspace: string;
  id: string;
}

export function parseWorkspaceId(id: string): WorkspaceRef {
  const m = /^\/subscriptions\/([^/]+)\/resourceGroups\/([^/]+)\/providers\/Microsoft\.MachineLearningServices\/workspaces\/([^/]+)\/?$/i.exec(id);
  if (!m) throw new PermanentError(`'${id}' is not an Azure ML workspace resource ID (/subscriptions/<id>/resourceGroups/<rg>/providers/Microsoft.MachineLearningServices/workspaces/<name>).`);
  return { subscriptionId: m[1], resourceGroup: m[2], workspace: m[3], id };
}
