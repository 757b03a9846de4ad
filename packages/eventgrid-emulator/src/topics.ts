// What an Event Grid topic is to the emulator: custom topics the app publishes to, and system topics
// (a storage account, an Azure ML workspace) whose events the emulator raises itself. Resource IDs
// have Azure's shape so that `topic`/`source` fields and filters read as they do in Azure.

import type { EventSchemaName } from './eventShapes';

/** The local stand-in for an Azure subscription ID and resource group; the same IDs appear in every event. */
export interface LocalAzureScope {
  subscriptionId: string;
  resourceGroup: string;
}

export const DEFAULT_LOCAL_SCOPE: LocalAzureScope = {
  subscriptionId: '00000000-0000-0000-0000-000000000000',
  resourceGroup: 'batchpilot-local',
};

export type TopicKind = 'custom' | 'system';

export interface TopicDefinition {
  /** How subscriptions and inspection name the topic: a custom topic's name, or a system topic's name (`storage`, `workspace`). */
  name: string;
  kind: TopicKind;
  /** The schema publishers use. System topics publish in the Event Grid schema. */
  inputSchema: EventSchemaName;
  /** The `topic` (Event Grid schema) / `source` (CloudEvents) of the events: the topic's or source resource's ARM ID. */
  resourceId: string;
}

export function customTopicResourceId(scope: LocalAzureScope, topicName: string): string {
  return `/subscriptions/${scope.subscriptionId}/resourceGroups/${scope.resourceGroup}/providers/Microsoft.EventGrid/topics/${topicName}`;
}

export function storageAccountResourceId(scope: LocalAzureScope, accountName: string): string {
  return `/subscriptions/${scope.subscriptionId}/resourceGroups/${scope.resourceGroup}/providers/Microsoft.Storage/storageAccounts/${accountName}`;
}

export function workspaceResourceId(scope: LocalAzureScope, workspaceName: string): string {
  return `/subscriptions/${scope.subscriptionId}/resourceGroups/${scope.resourceGroup}/providers/Microsoft.MachineLearningServices/workspaces/${workspaceName}`;
}

/** Azure's rule for custom topic names (3–50 characters: letters, digits and '-'; reserved prefixes refused). */
export function checkTopicName(name: string): string | undefined {
  if (!/^[A-Za-z0-9-]{3,50}$/.test(name)) {
    return `Topic name '${name}' must be between 3 and 50 characters in length and use only letters, digits and '-'.`;
  }
  if (/^(microsoft-|eventgrid-|system-)/i.test(name)) {
    return `Topic name '${name}' must not start with the reserved words 'Microsoft-', 'EventGrid-' or 'System-'.`;
  }
  return undefined;
}
