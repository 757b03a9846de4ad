// Event Grid topics: the custom topic batchpilot publishes its own completion and failure events to
// (CloudEvents 1.0, Entra-only publishing), and the system topics that raise the events batchpilot
// reacts to: one on the data storage account, one on the Azure ML workspace. Azure allows one system
// topic per source, so a source that already has one is given by ID in main.bicep and not created here.
// System topics get a system-assigned identity: event subscriptions dead-letter with it
// (deadLetterWithResourceIdentity), and rbac.bicep lets it write the dead-letter container.
// The subscriptions themselves are in eventSubscriptions.bicep: they need the functions deployed first.

param location string
param tags object = {}

@description('Name of the custom topic for batchpilot\'s own events.')
param eventsTopicName string

@description('Public network access to the events topic; private networking publishes through a private endpoint.')
param enablePrivateNetworking bool = false

@description('Create the system topic on the data storage account (false when one already exists).')
param createStorageSystemTopic bool
param storageSystemTopicName string
param storageAccountId string
param storageAccountLocation string

@description('Create the system topic on the Azure ML workspace (false when one already exists).')
param createWorkspaceSystemTopic bool
param workspaceSystemTopicName string
param workspaceId string
param workspaceLocation string

resource eventsTopic 'Microsoft.EventGrid/topics@2025-02-15' = {
  name: eventsTopicName
  location: location
  tags: tags
  properties: {
    inputSchema: 'CloudEventSchemaV1_0'
    // Publishers authenticate with Entra ID (EventGrid Data Sender), never with access keys.
    disableLocalAuth: true
    publicNetworkAccess: enablePrivateNetworking ? 'Disabled' : 'Enabled'
  }
}

// A system topic lives in the source's region, which may differ from the app's.
resource storageSystemTopic 'Microsoft.EventGrid/systemTopics@2025-02-15' = if (createStorageSystemTopic) {
  name: storageSystemTopicName
  location: storageAccountLocation
  tags: tags
  identity: {
    type: 'SystemAssigned'
  }
  properties: {
    source: storageAccountId
    topicType: 'Microsoft.Storage.StorageAccounts'
  }
}

resource workspaceSystemTopic 'Microsoft.EventGrid/systemTopics@2025-02-15' = if (createWorkspaceSystemTopic) {
  name: workspaceSystemTopicName
  location: workspaceLocation
  tags: tags
  identity: {
    type: 'SystemAssigned'
  }
  properties: {
    source: workspaceId
    topicType: 'Microsoft.MachineLearningServices.Workspaces'
  }
}

output eventsTopicId string = eventsTopic.id
output eventsTopicName string = eventsTopic.name
output eventsTopicEndpoint string = eventsTopic.properties.endpoint
output storageSystemTopicPrincipalId string = createStorageSystemTopic ? storageSystemTopic.identity.principalId : ''
output workspaceSystemTopicPrincipalId string = createWorkspaceSystemTopic ? workspaceSystemTopic.identity.principalId : ''
