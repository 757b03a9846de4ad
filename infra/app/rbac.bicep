// Every role assignment batchpilot makes, and the only file that declares one. main.bicep deploys this
// module once per resource group that holds a scope (batchpilot's own group, the data account's, the
// Azure ML workspace's) and passes the assignments for that group as a table: who, which role, on
// what, and why. Roles are built-in roles named below; each assignment is named
// guid(scope, principal, role), so re-provisioning finds the same assignment instead of adding one.

// Built-in role definition IDs, from Microsoft's "Azure built-in roles" reference.
var roleIds = {
  storageBlobDataOwner: 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'
  storageBlobDataContributor: 'ba92f5b4-2d11-453d-a403-e96b0029c9fe'
  storageBlobDataReader: '2a2b9908-6ea1-4ae2-8e65-a410df84e7d1'
  storageQueueDataContributor: '974c5e8b-45b9-4653-ba55-5f855dd0fb88'
  storageTableDataContributor: '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3'
  azureMLDataScientist: 'f6c7c914-8db3-469d-8ca1-694a8f32e121'
  eventGridDataSender: 'd5a91429-5739-47e2-a06b-3470a27159e7'
  monitoringMetricsPublisher: '3913510d-42f4-4e42-8a64-420c390055eb'
  monitoringReader: '43d0d8ad-25c7-4714-9337-8ba259a9fe05'
  durableTaskDataContributor: '0ad04412-c4d5-4796-b79c-f76d14c8d402'
  durableTaskDataReader: 'd6a5505f-6ebb-45a4-896e-ac8274cfc0ac'
}

type roleName = 'storageBlobDataOwner' | 'storageBlobDataContributor' | 'storageBlobDataReader' | 'storageQueueDataContributor' | 'storageTableDataContributor' | 'azureMLDataScientist' | 'eventGridDataSender' | 'monitoringMetricsPublisher' | 'monitoringReader' | 'durableTaskDataContributor' | 'durableTaskDataReader'

type principalKind = 'ServicePrincipal' | 'User' | 'Group' | 'ForeignGroup' | 'Device'

@description('A role on a whole storage account.')
type accountRole = {
  account: string
  principalId: string
  principalType: principalKind
  role: roleName
  reason: string
}

@description('A role on one blob container: the narrowest scope Azure RBAC offers for blob data.')
type containerRole = {
  account: string
  container: string
  principalId: string
  principalType: principalKind
  role: roleName
  reason: string
}

@description('A role on one resource named by `resource` (a workspace, a topic, an Application Insights component, a scheduler/taskHub).')
type resourceRole = {
  resource: string
  principalId: string
  principalType: principalKind
  role: roleName
  reason: string
}

param storageAccountRoles accountRole[] = []
param containerRoles containerRole[] = []
param workspaceRoles resourceRole[] = []
param eventGridTopicRoles resourceRole[] = []
param applicationInsightsRoles resourceRole[] = []
param durableTaskHubRoles resourceRole[] = []

resource accounts 'Microsoft.Storage/storageAccounts@2023-05-01' existing = [for assignment in storageAccountRoles: {
  name: assignment.account
}]

resource accountAssignments 'Microsoft.Authorization/roleAssignments@2022-04-01' = [for (assignment, i) in storageAccountRoles: {
  name: guid(accounts[i].id, assignment.principalId, roleIds[assignment.role])
  scope: accounts[i]
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleIds[assignment.role])
    principalId: assignment.principalId
    principalType: assignment.principalType
    description: assignment.reason
  }
}]

resource containers 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' existing = [for assignment in containerRoles: {
  name: '${assignment.account}/default/${assignment.container}'
}]

resource containerAssignments 'Microsoft.Authorization/roleAssignments@2022-04-01' = [for (assignment, i) in containerRoles: {
  name: guid(containers[i].id, assignment.principalId, roleIds[assignment.role])
  scope: containers[i]
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleIds[assignment.role])
    principalId: assignment.principalId
    principalType: assignment.principalType
    description: assignment.reason
  }
}]

resource workspaces 'Microsoft.MachineLearningServices/workspaces@2024-04-01' existing = [for assignment in workspaceRoles: {
  name: assignment.resource
}]

resource workspaceAssignments 'Microsoft.Authorization/roleAssignments@2022-04-01' = [for (assignment, i) in workspaceRoles: {
  name: guid(workspaces[i].id, assignment.principalId, roleIds[assignment.role])
  scope: workspaces[i]
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleIds[assignment.role])
    principalId: assignment.principalId
    principalType: assignment.principalType
    description: assignment.reason
  }
}]

resource topics 'Microsoft.EventGrid/topics@2025-02-15' existing = [for assignment in eventGridTopicRoles: {
  name: assignment.resource
}]

resource topicAssignments 'Microsoft.Authorization/roleAssignments@2022-04-01' = [for (assignment, i) in eventGridTopicRoles: {
  name: guid(topics[i].id, assignment.principalId, roleIds[assignment.role])
  scope: topics[i]
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleIds[assignment.role])
    principalId: assignment.principalId
    principalType: assignment.principalType
    description: assignment.reason
  }
}]

resource components 'Microsoft.Insights/components@2020-02-02' existing = [for assignment in applicationInsightsRoles: {
  name: assignment.resource
}]

resource componentAssignments 'Microsoft.Authorization/roleAssignments@2022-04-01' = [for (assignment, i) in applicationInsightsRoles: {
  name: guid(components[i].id, assignment.principalId, roleIds[assignment.role])
  scope: components[i]
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleIds[assignment.role])
    principalId: assignment.principalId
    principalType: assignment.principalType
    description: assignment.reason
  }
}]

resource taskHubs 'Microsoft.DurableTask/schedulers/taskHubs@2025-11-01' existing = [for assignment in durableTaskHubRoles: {
  name: assignment.resource
}]

resource taskHubAssignments 'Microsoft.Authorization/roleAssignments@2022-04-01' = [for (assignment, i) in durableTaskHubRoles: {
  name: guid(taskHubs[i].id, assignment.principalId, roleIds[assignment.role])
  scope: taskHubs[i]
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleIds[assignment.role])
    principalId: assignment.principalId
    principalType: assignment.principalType
    description: assignment.reason
  }
}]
