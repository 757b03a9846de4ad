// batchpilot on Azure, for `azd up`: a resource group with the function app (Flex Consumption), its
// managed identity, runtime and data storage, Event Grid topics and subscriptions, monitoring, a Durable
// Task Scheduler if asked for, and the role assignments that tie them together, plus role assignments
// on the existing Azure ML workspace.
// No keys, connection strings with keys, SAS or passwords anywhere: every caller uses Entra ID.
// How to deploy, and what each parameter is for: infra/DEPLOY.md.

targetScope = 'subscription'

@minLength(1)
@maxLength(64)
@description('Name of the azd environment; names and tags of every resource derive from it.')
param environmentName string

@minLength(1)
@description('Region of the resource group, the function app and the resources batchpilot creates (a region that offers Flex Consumption).')
@metadata({
  azd: {
    type: 'location'
  }
})
param location string

@description('Resource group to create; rg-<environmentName> when empty.')
param resourceGroupName string = ''

@description('Object ID of the person (or pipeline) running azd: gets data access to upload inputs and read results. Empty for none.')
param principalId string = ''

@allowed(['User', 'ServicePrincipal', 'Group'])
param principalType string = 'User'

@description('Resource ID of the existing Azure ML workspace: /subscriptions/<id>/resourceGroups/<rg>/providers/Microsoft.MachineLearningServices/workspaces/<name>.')
param mlWorkspaceId string

@description('Resource ID of an existing data storage account to use instead of creating one. Empty to create one.')
param existingDataStorageAccountId string = ''

@description('Resource ID of the data account\'s system topic if it already has one (Azure allows one per source). It needs a system-assigned identity for dead-lettering.')
param existingStorageSystemTopicId string = ''

@description('Resource ID of the workspace\'s system topic if it already has one (Azure allows one per source). It needs a system-assigned identity for dead-lettering.')
param existingWorkspaceSystemTopicId string = ''

@description('Principal ID of the identity your Azure ML compute clusters use to read inputs and write outputs; gets read access to the input container and write access to the output container. Empty to manage that yourself (see the BATCHPILOT_ML_COMPUTE_ACCESS_NOTE output).')
param mlComputePrincipalId string = ''

param inputContainerName string = 'input'
param outputContainerName string = 'output'
param runsContainerName string = 'runs'

@description('Container for the operator audit trail (BATCHPILOT_AUDIT_CONTAINER): write-once records under a time-based immutability policy.')
param auditContainerName string = 'audit'

@minValue(1)
@maxValue(146000)
@description('Days each audit record is kept immutable (no overwrite, no delete).')
param auditRetentionInDays int = 365

@description('Overrides the storage subscription\'s subject prefix from eventSubscriptions.json, e.g. /blobServices/default/containers/input/blobs/landing/.')
param storageEventsSubjectBeginsWith string = ''

@description('Overrides the storage subscription\'s subject suffix from eventSubscriptions.json, e.g. .csv.')
param storageEventsSubjectEndsWith string = ''

@description('Create the Event Grid subscriptions. They need the functions deployed, so the postdeploy hook sets this for a second provision; leave it false otherwise.')
param deployEventSubscriptions bool = false

@description('Virtual network integration for the app and private endpoints for its storage and events topic.')
param enablePrivateNetworking bool = false

@description('Routes file in the app package, relative to the app root (BATCHPILOT_ROUTES_PATH).')
param routesPath string = 'routes.yaml'

@description('Durable Functions task hub name (BATCHPILOT_TASK_HUB): letters and digits, starting with a letter.')
param taskHubName string = 'batchpilot'

@description('Where Durable Functions keeps orchestration state: storage (the runtime storage account) or dts (a Durable Task Scheduler). See infra/DEPLOY.md.')
@allowed(['storage', 'dts'])
param durableBackend string = 'storage'

@allowed(['Consumption', 'Dedicated'])
param durableTaskSchedulerSku string = 'Consumption'

@description('Capacity units of a Dedicated scheduler.')
@minValue(1)
@maxValue(3)
param durableTaskSchedulerCapacity int = 1

@description('Make the operator API refuse every change (BATCHPILOT_OPERATOR_READ_ONLY).')
param operatorReadOnly bool = false

@description('Client ID of the Entra ID app registration with the Reader and Operator app roles, which App Service authentication signs operators in with (infra/DEPLOY.md). Empty: the operator API answers 401 to everyone.')
param operatorAppClientId string = ''

@minValue(1)
@maxValue(1000)
param maximumInstanceCount int = 100

@allowed([512, 2048, 4096])
param instanceMemoryMB int = 2048

@description('Email address alerts go to (failed runs, validation failures, stuck runs, SLO burn, dead-lettered events); empty: none.')
param alertEmail string = ''

var abbrs = loadJsonContent('abbreviations.json')
var resourceToken = toLower(uniqueString(subscription().id, environmentName, location))
var tags = {
  'azd-env-name': environmentName
}
var rgName = !empty(resourceGroupName) ? resourceGroupName : '${abbrs.resourcesResourceGroups}${environmentName}'

// Topics and subscriptions declared once for Azure and the local emulator.
var eventGridDeclarations = loadJsonContent('eventSubscriptions.json')
var storageSubscriptions = filter(eventGridDeclarations.subscriptions, s => s.topic == 'storage')
var workspaceSubscriptions = filter(eventGridDeclarations.subscriptions, s => s.topic == 'workspace')
// Every declared subscription dead-letters to the same container (the contract test checks it).
var deadLetterContainerName = eventGridDeclarations.subscriptions[0].deadLetterDestination.properties.blobContainerName

var runtimeStorageAccountName = '${abbrs.storageStorageAccounts}func${resourceToken}'
var deploymentContainerName = 'app-package-${take(resourceToken, 7)}'

// Resource IDs are split the same way whether a resource is new (its ID is computed here) or existing
// (given by parameter): /subscriptions/{2}/resourceGroups/{4}/providers/{6}/{7}/{8}.
var useExistingDataAccount = !empty(existingDataStorageAccountId)
var newDataAccountId = '/subscriptions/${subscription().subscriptionId}/resourceGroups/${rgName}/providers/Microsoft.Storage/storageAccounts/${abbrs.storageStorageAccounts}data${resourceToken}'
var dataAccountId = useExistingDataAccount ? existingDataStorageAccountId : newDataAccountId
var dataAccountParts = split(dataAccountId, '/')
var dataAccountName = dataAccountParts[8]
// storage.bicep creates accounts with standard DNS endpoints, so a new account's blob endpoint is known.
var newDataBlobServiceUri = 'https://${dataAccountName}.blob.${environment().suffixes.storage}/'

var workspaceParts = split(mlWorkspaceId, '/')

var useDurableTaskScheduler = durableBackend == 'dts'
var durableTaskSchedulerName = '${abbrs.durableTaskSchedulers}${resourceToken}'

var createStorageSystemTopic = empty(existingStorageSystemTopicId)
var newStorageSystemTopicId = '/subscriptions/${subscription().subscriptionId}/resourceGroups/${rgName}/providers/Microsoft.EventGrid/systemTopics/${abbrs.eventGridSystemTopics}data-${resourceToken}'
var storageSystemTopicId = createStorageSystemTopic ? newStorageSystemTopicId : existingStorageSystemTopicId
var storageTopicParts = split(storageSystemTopicId, '/')

var createWorkspaceSystemTopic = empty(existingWorkspaceSystemTopicId)
var newWorkspaceSystemTopicId = '/subscriptions/${subscription().subscriptionId}/resourceGroups/${rgName}/providers/Microsoft.EventGrid/systemTopics/${abbrs.eventGridSystemTopics}ml-${resourceToken}'
var workspaceSystemTopicId = createWorkspaceSystemTopic ? newWorkspaceSystemTopicId : existingWorkspaceSystemTopicId
var workspaceTopicParts = split(workspaceSystemTopicId, '/')

resource rg 'Microsoft.Resources/resourceGroups@2024-03-01' = {
  name: rgName
  location: location
  tags: tags
}

resource mlWorkspace 'Microsoft.MachineLearningServices/workspaces@2024-04-01' existing = {
  name: workspaceParts[8]
  scope: resourceGroup(workspaceParts[2], workspaceParts[4])
}

resource existingDataAccount 'Microsoft.Storage/storageAccounts@2023-05-01' existing = if (useExistingDataAccount) {
  name: dataAccountName
  scope: resourceGroup(dataAccountParts[2], dataAccountParts[4])
}

resource existingStorageSystemTopic 'Microsoft.EventGrid/systemTopics@2025-02-15' existing = if (!createStorageSystemTopic) {
  name: storageTopicParts[8]
  scope: resourceGroup(storageTopicParts[2], storageTopicParts[4])
}

resource existingWorkspaceSystemTopic 'Microsoft.EventGrid/systemTopics@2025-02-15' existing = if (!createWorkspaceSystemTopic) {
  name: workspaceTopicParts[8]
  scope: resourceGroup(workspaceTopicParts[2], workspaceTopicParts[4])
}

module identity 'app/identity.bicep' = {
  name: 'identity'
  scope: rg
  params: {
    name: '${abbrs.managedIdentityUserAssignedIdentities}api-${resourceToken}'
    location: location
    tags: tags
  }
}

module monitoring 'app/monitoring.bicep' = {
  name: 'monitoring'
  scope: rg
  params: {
    logAnalyticsName: '${abbrs.operationalInsightsWorkspaces}${resourceToken}'
    applicationInsightsName: '${abbrs.insightsComponents}${resourceToken}'
    location: location
    tags: tags
  }
}

module alerts 'app/alerts.bicep' = {
  name: 'alerts'
  scope: rg
  params: {
    location: location
    tags: tags
    namePrefix: 'bp-${resourceToken}'
    identityName: '${abbrs.managedIdentityUserAssignedIdentities}alerts-${resourceToken}'
    actionGroupName: 'ag-batchpilot-${resourceToken}'
    applicationInsightsId: monitoring.outputs.applicationInsightsId
    systemTopicIds: [storageSystemTopicId, workspaceSystemTopicId]
    alertEmail: alertEmail
  }
  dependsOn: [
    eventGrid
  ]
}

module runtimeStorage 'app/storage.bicep' = {
  name: 'runtime-storage'
  scope: rg
  params: {
    name: runtimeStorageAccountName
    location: location
    tags: tags
    publicNetworkAccess: enablePrivateNetworking ? 'Disabled' : 'Enabled'
  }
}

module runtimeContainers 'app/containers.bicep' = {
  name: 'runtime-containers'
  scope: rg
  params: {
    accountName: runtimeStorage.outputs.name
    containerNames: [
      deploymentContainerName
    ]
  }
}

// The data account stays reachable from outside the virtual network even with private networking:
// data producers and Azure ML compute write and read it (infra/DEPLOY.md).
module dataStorage 'app/storage.bicep' = if (!useExistingDataAccount) {
  name: 'data-storage'
  scope: rg
  params: {
    name: dataAccountName
    location: location
    tags: tags
  }
}

module dataContainers 'app/containers.bicep' = {
  name: 'data-containers-${resourceToken}'
  scope: resourceGroup(dataAccountParts[2], dataAccountParts[4])
  params: {
    accountName: dataAccountName
    containerNames: union([inputContainerName, outputContainerName, runsContainerName], [deadLetterContainerName])
  }
  dependsOn: [
    dataStorage
  ]
}

// Its own container, so that a retention policy can make its records immutable without touching runs.
module auditContainer 'app/auditContainer.bicep' = {
  name: 'audit-container-${resourceToken}'
  scope: resourceGroup(dataAccountParts[2], dataAccountParts[4])
  params: {
    accountName: dataAccountName
    containerName: auditContainerName
    retentionInDays: auditRetentionInDays
  }
  dependsOn: [
    dataStorage
  ]
}

module eventGrid 'app/eventGrid.bicep' = {
  name: 'event-grid'
  scope: rg
  params: {
    location: location
    tags: tags
    eventsTopicName: '${abbrs.eventGridDomainsTopics}${resourceToken}'
    enablePrivateNetworking: enablePrivateNetworking
    createStorageSystemTopic: createStorageSystemTopic
    storageSystemTopicName: storageTopicParts[8]
    storageAccountId: dataAccountId
    storageAccountLocation: useExistingDataAccount ? existingDataAccount.location : location
    createWorkspaceSystemTopic: createWorkspaceSystemTopic
    workspaceSystemTopicName: workspaceTopicParts[8]
    workspaceId: mlWorkspaceId
    workspaceLocation: mlWorkspace.location
  }
  dependsOn: [
    dataStorage
  ]
}

module network 'app/network.bicep' = if (enablePrivateNetworking) {
  name: 'network'
  scope: rg
  params: {
    location: location
    tags: tags
    virtualNetworkName: '${abbrs.networkVirtualNetworks}${resourceToken}'
    resourceToken: resourceToken
    runtimeStorageAccountId: runtimeStorage.outputs.id
    dataStorageAccountId: dataAccountId
    eventsTopicId: eventGrid.outputs.eventsTopicId
  }
  dependsOn: [
    dataStorage
  ]
}

module durableTaskScheduler 'app/durableTaskScheduler.bicep' = if (useDurableTaskScheduler) {
  name: 'durable-task-scheduler'
  scope: rg
  params: {
    name: durableTaskSchedulerName
    location: location
    tags: tags
    taskHubName: taskHubName
    skuName: durableTaskSchedulerSku
    capacity: durableTaskSchedulerCapacity
  }
}

module functionApp 'app/functionApp.bicep' = {
  name: 'function-app'
  scope: rg
  params: {
    name: '${abbrs.webSitesFunctions}${resourceToken}'
    planName: '${abbrs.webServerFarms}${resourceToken}'
    location: location
    tags: tags
    identityId: identity.outputs.id
    identityClientId: identity.outputs.clientId
    runtimeStorageAccountName: runtimeStorage.outputs.name
    deploymentContainerName: deploymentContainerName
    applicationInsightsName: monitoring.outputs.applicationInsightsName
    dataBlobServiceUri: useExistingDataAccount ? existingDataAccount.properties.primaryEndpoints.blob : newDataBlobServiceUri
    eventsTopicEndpoint: eventGrid.outputs.eventsTopicEndpoint
    mlWorkspaceId: mlWorkspaceId
    routesPath: routesPath
    taskHubName: taskHubName
    runsContainerName: runsContainerName
    auditContainerName: auditContainerName
    operatorReadOnly: operatorReadOnly
    operatorAppClientId: operatorAppClientId
    maximumInstanceCount: maximumInstanceCount
    instanceMemoryMB: instanceMemoryMB
    virtualNetworkSubnetId: enablePrivateNetworking ? network.outputs.appSubnetId : ''
    durableTaskSchedulerEndpoint: useDurableTaskScheduler ? durableTaskScheduler.outputs.endpoint : ''
  }
  // The host starts as soon as the app exists: let it find its permissions in place.
  dependsOn: [
    runtimeContainers
    dataContainers
    auditContainer
    rbac
    rbacData
    rbacWorkspace
  ]
}

// Who may do what, least privilege. Principals:
var appPrincipalId = identity.outputs.principalId
var storageTopicPrincipalId = createStorageSystemTopic ? eventGrid.outputs.storageSystemTopicPrincipalId : existingStorageSystemTopic.identity.principalId
var workspaceTopicPrincipalId = createWorkspaceSystemTopic ? eventGrid.outputs.workspaceSystemTopicPrincipalId : existingWorkspaceSystemTopic.identity.principalId

// The runtime account: AzureWebJobsStorage (host state; Durable task hub queues, tables, blobs and
// leases, created at run time, hence account scope) and the Flex deployment package.
var runtimeAccountRoles = [
  {
    account: runtimeStorageAccountName
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
    role: 'storageBlobDataContributor'
    reason: 'AzureWebJobsStorage: host and Durable Functions blobs and leases'
  }
  {
    account: runtimeStorageAccountName
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
    role: 'storageQueueDataContributor'
    reason: 'AzureWebJobsStorage: Durable Functions control and work-item queues'
  }
  {
    account: runtimeStorageAccountName
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
    role: 'storageTableDataContributor'
    reason: 'AzureWebJobsStorage: Durable Functions instance and history tables, the arrivals and promotions ledgers, and the run index (<task hub>Runs* tables)'
  }
]

var runtimeContainerRoles = [
  {
    account: runtimeStorageAccountName
    container: deploymentContainerName
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
    role: 'storageBlobDataOwner'
    reason: 'Flex Consumption deployment storage: the platform writes and reads the app package as this identity'
  }
]

// The data account, container by container. Optional principals (the person running azd, the ML
// compute identity) are dropped when not given.
var dataContainerRoles = filter([
  {
    account: dataAccountName
    container: inputContainerName
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
    role: 'storageBlobDataReader'
    reason: 'batchpilot reads the files that arrive, never changes them'
  }
  {
    account: dataAccountName
    container: outputContainerName
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
    role: 'storageBlobDataContributor'
    reason: 'batchpilot validates scoring outputs and writes reports next to them'
  }
  {
    account: dataAccountName
    container: runsContainerName
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
    role: 'storageBlobDataContributor'
    reason: 'batchpilot writes and purges run records'
  }
  {
    account: dataAccountName
    container: auditContainerName
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
    role: 'storageBlobDataContributor'
    reason: 'batchpilot appends operator audit records; the immutability policy refuses overwrites and deletes'
  }
  {
    account: dataAccountName
    container: deadLetterContainerName
    principalId: storageTopicPrincipalId
    principalType: 'ServicePrincipal'
    role: 'storageBlobDataContributor'
    reason: 'Event Grid dead-letters undeliverable storage events with the system topic identity'
  }
  {
    account: dataAccountName
    container: deadLetterContainerName
    principalId: workspaceTopicPrincipalId
    principalType: 'ServicePrincipal'
    role: 'storageBlobDataContributor'
    reason: 'Event Grid dead-letters undeliverable Azure ML events with the system topic identity'
  }
  {
    account: dataAccountName
    container: inputContainerName
    principalId: mlComputePrincipalId
    principalType: 'ServicePrincipal'
    role: 'storageBlobDataReader'
    reason: 'Azure ML compute reads batch inputs given as URLs or credential-less datastores'
  }
  {
    account: dataAccountName
    container: outputContainerName
    principalId: mlComputePrincipalId
    principalType: 'ServicePrincipal'
    role: 'storageBlobDataContributor'
    reason: 'Azure ML compute writes predictions to the output path batchpilot chooses'
  }
  {
    account: dataAccountName
    container: inputContainerName
    principalId: principalId
    principalType: principalType
    role: 'storageBlobDataContributor'
    reason: 'the person running azd uploads input files'
  }
  {
    account: dataAccountName
    container: outputContainerName
    principalId: principalId
    principalType: principalType
    role: 'storageBlobDataReader'
    reason: 'the person running azd reads scoring outputs'
  }
  {
    account: dataAccountName
    container: runsContainerName
    principalId: principalId
    principalType: principalType
    role: 'storageBlobDataReader'
    reason: 'the person running azd reads run records'
  }
  {
    account: dataAccountName
    container: auditContainerName
    principalId: principalId
    principalType: principalType
    role: 'storageBlobDataReader'
    reason: 'the person running azd reads the operator audit trail'
  }
  {
    account: dataAccountName
    container: deadLetterContainerName
    principalId: principalId
    principalType: principalType
    role: 'storageBlobDataReader'
    reason: 'the person running azd inspects dead-lettered events'
  }
], assignment => !empty(assignment.principalId))

var workspaceRoles = [
  {
    resource: workspaceParts[8]
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
    role: 'azureMLDataScientist'
    reason: 'batchpilot invokes batch endpoints, follows and cancels jobs, reads models and updates deployments'
  }
]

var eventGridTopicRoles = [
  {
    resource: eventGrid.outputs.eventsTopicName
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
    role: 'eventGridDataSender'
    reason: 'batchpilot publishes its completion and failure events'
  }
]

var applicationInsightsRoles = [
  {
    resource: monitoring.outputs.applicationInsightsName
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
    role: 'monitoringMetricsPublisher'
    reason: 'Application Insights accepts telemetry only from Entra identities (local auth disabled)'
  }
  {
    resource: monitoring.outputs.applicationInsightsName
    principalId: alerts.outputs.identityPrincipalId
    principalType: 'ServicePrincipal'
    role: 'monitoringReader'
    reason: 'the alert rules (alerts.bicep) query the run metrics with their own identity'
  }
]

// The scheduler's task hub (dts backend only), the narrowest scope the Durable Task roles take.
var durableTaskHubRoles = useDurableTaskScheduler ? filter([
  {
    resource: '${durableTaskSchedulerName}/${taskHubName}'
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
    role: 'durableTaskDataContributor'
    reason: 'Durable Functions runs the orchestrations, and batchpilot starts, queries, signals, terminates and purges them'
  }
  {
    resource: '${durableTaskSchedulerName}/${taskHubName}'
    principalId: principalId
    principalType: principalType
    role: 'durableTaskDataReader'
    reason: 'the person running azd follows orchestrations on the task hub dashboard'
  }
], assignment => !empty(assignment.principalId)) : []

module rbac 'app/rbac.bicep' = {
  name: 'rbac'
  scope: rg
  params: {
    storageAccountRoles: runtimeAccountRoles
    containerRoles: runtimeContainerRoles
    eventGridTopicRoles: eventGridTopicRoles
    applicationInsightsRoles: applicationInsightsRoles
    durableTaskHubRoles: durableTaskHubRoles
  }
  dependsOn: [
    runtimeContainers
    durableTaskScheduler
  ]
}

module rbacData 'app/rbac.bicep' = {
  name: 'rbac-data-${resourceToken}'
  scope: resourceGroup(dataAccountParts[2], dataAccountParts[4])
  params: {
    containerRoles: dataContainerRoles
  }
  dependsOn: [
    dataContainers
    auditContainer
  ]
}

module rbacWorkspace 'app/rbac.bicep' = {
  name: 'rbac-workspace-${resourceToken}'
  scope: resourceGroup(workspaceParts[2], workspaceParts[4])
  params: {
    workspaceRoles: workspaceRoles
  }
}

module storageEventSubscriptions 'app/eventSubscriptions.bicep' = if (deployEventSubscriptions) {
  name: 'event-subscriptions-storage-${resourceToken}'
  scope: resourceGroup(storageTopicParts[2], storageTopicParts[4])
  params: {
    systemTopicName: storageTopicParts[8]
    subscriptions: storageSubscriptions
    functionAppId: functionApp.outputs.id
    deadLetterStorageAccountId: dataAccountId
    subjectBeginsWithOverride: storageEventsSubjectBeginsWith
    subjectEndsWithOverride: storageEventsSubjectEndsWith
  }
  dependsOn: [
    eventGrid
    rbacData
  ]
}

module workspaceEventSubscriptions 'app/eventSubscriptions.bicep' = if (deployEventSubscriptions) {
  name: 'event-subscriptions-workspace-${resourceToken}'
  scope: resourceGroup(workspaceTopicParts[2], workspaceTopicParts[4])
  params: {
    systemTopicName: workspaceTopicParts[8]
    subscriptions: workspaceSubscriptions
    functionAppId: functionApp.outputs.id
    deadLetterStorageAccountId: dataAccountId
  }
  dependsOn: [
    eventGrid
    rbacData
  ]
}

// Azure ML batch jobs read inputs given as URLs (or from credential-less datastores) with the compute
// cluster's identity, not with batchpilot's: that identity needs read access to the input container.
var mlComputeAccessNeeded = 'Azure ML batch jobs read inputs given as URLs (or from credential-less datastores) with the compute cluster managed identity. Grant it Storage Blob Data Reader on ${dataAccountName}/${inputContainerName} and Storage Blob Data Contributor on ${dataAccountName}/${outputContainerName}, or set BATCHPILOT_ML_COMPUTE_PRINCIPAL_ID and run azd provision.'
var mlComputeAccessGranted = 'The Azure ML compute identity ${mlComputePrincipalId} reads ${dataAccountName}/${inputContainerName} and writes ${dataAccountName}/${outputContainerName}.'
var mlComputeAccessNote = empty(mlComputePrincipalId) ? mlComputeAccessNeeded : mlComputeAccessGranted

output AZURE_LOCATION string = location
output AZURE_TENANT_ID string = tenant().tenantId
output AZURE_RESOURCE_GROUP string = rg.name
output AZURE_FUNCTION_APP_NAME string = functionApp.outputs.name
output SERVICE_API_NAME string = functionApp.outputs.name
output SERVICE_API_URI string = 'https://${functionApp.outputs.defaultHostName}'
output APPLICATIONINSIGHTS_NAME string = monitoring.outputs.applicationInsightsName
output BATCHPILOT_DATA_STORAGE_ACCOUNT_NAME string = dataAccountName
output BATCHPILOT_INPUT_CONTAINER_NAME string = inputContainerName
output BATCHPILOT_OUTPUT_CONTAINER_NAME string = outputContainerName
output BATCHPILOT_RUNS_CONTAINER_NAME string = runsContainerName
output BATCHPILOT_AUDIT_CONTAINER_NAME string = auditContainer.outputs.name
output BATCHPILOT_DEAD_LETTER_CONTAINER_NAME string = deadLetterContainerName
output BATCHPILOT_EVENTS_TOPIC_NAME string = eventGrid.outputs.eventsTopicName
output BATCHPILOT_EVENTS_TOPIC_ID string = eventGrid.outputs.eventsTopicId
output BATCHPILOT_STORAGE_SYSTEM_TOPIC_ID string = storageSystemTopicId
output BATCHPILOT_WORKSPACE_SYSTEM_TOPIC_ID string = workspaceSystemTopicId
output BATCHPILOT_ML_COMPUTE_ACCESS_NOTE string = mlComputeAccessNote
output BATCHPILOT_DURABLE_TASK_HUB_DASHBOARD_URL string = useDurableTaskScheduler ? durableTaskScheduler.outputs.dashboardUrl : ''
