// The function app on a Flex Consumption plan (Linux, Node 20), running as the user-assigned identity:
// host storage, deployment package, Application Insights and every Azure service the code calls are
// reached with that identity. App settings are exactly the settings src/config/settings.ts lists
// (test/contract/infra.test.ts holds them together): storage connections in their identity-based
// form (NAME__blobServiceUri, __credential, __clientId), and nothing the Flex plan takes elsewhere
// (the runtime and its version are functionAppConfig.runtime, not FUNCTIONS_WORKER_RUNTIME or
// FUNCTIONS_EXTENSION_VERSION; the package location is functionAppConfig.deployment). App Service
// authentication (Easy Auth) stands in front of every HTTP call: the operator API sees only signed-in
// Entra ID principals, whose app roles (Reader, Operator) it reads from the headers the platform sets.

param name string
param planName string
param location string
param tags object = {}

@description('Resource ID and client ID of the user-assigned identity the app runs as.')
param identityId string
param identityClientId string

@description('The runtime storage account (AzureWebJobsStorage and the deployment container).')
param runtimeStorageAccountName string
param deploymentContainerName string

param applicationInsightsName string

@description('Blob endpoint of the data storage account (inputs, outputs, run records).')
param dataBlobServiceUri string

@description('Endpoint of the custom topic batchpilot publishes its events to.')
param eventsTopicEndpoint string

@description('Resource ID of the Azure ML workspace routes use by default.')
param mlWorkspaceId string

@description('Routes file shipped in the app package, relative to the app root.')
param routesPath string

param taskHubName string
param runsContainerName string
param auditContainerName string
param operatorReadOnly bool

@description('Client ID of the Entra ID app registration that defines the Reader and Operator app roles (infra/DEPLOY.md). Empty: no identity provider, so authentication cannot succeed and the operator API answers 401 to everyone.')
param operatorAppClientId string

@minValue(1)
@maxValue(1000)
param maximumInstanceCount int

@allowed([512, 2048, 4096])
param instanceMemoryMB int

@description('Subnet (delegated to Microsoft.App/environments) for virtual network integration; empty for none.')
param virtualNetworkSubnetId string = ''

@description('Endpoint of the Durable Task Scheduler that keeps orchestration state; empty keeps it in AzureWebJobsStorage.')
param durableTaskSchedulerEndpoint string = ''

resource runtimeStorage 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: runtimeStorageAccountName
}

resource applicationInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: applicationInsightsName
}

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    tier: 'FlexConsumption'
    name: 'FC1'
  }
  properties: {
    reserved: true
  }
}

resource functionApp 'Microsoft.Web/sites@2024-04-01' = {
  name: name
  location: location
  // azd finds the service's deployment target by this tag (azure.yaml service 'api').
  tags: union(tags, { 'azd-service-name': 'api' })
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityId}': {}
    }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    virtualNetworkSubnetId: empty(virtualNetworkSubnetId) ? null : virtualNetworkSubnetId
    siteConfig: {
      minTlsVersion: '1.2'
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${runtimeStorage.properties.primaryEndpoints.blob}${deploymentContainerName}'
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identityId
          }
        }
      }
      scaleAndConcurrency: {
        maximumInstanceCount: maximumInstanceCount
        instanceMemoryMB: instanceMemoryMB
      }
      runtime: {
        name: 'node'
        version: '20'
      }
    }
  }
}

// Deployments authenticate with Microsoft Entra ID (azd uses the signed-in identity); no publishing
// user names and passwords.
resource ftpPublishing 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: functionApp
  name: 'ftp'
  properties: {
    allow: false
  }
}

resource scmPublishing 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: functionApp
  name: 'scm'
  properties: {
    allow: false
  }
}

// One entry per setting in src/config/settings.ts, in its order; the settings of one Durable backend
// only with that backend. Storage connections are the identity-based variants Azure Functions reads
// instead of a connection string: Durable Functions needs the blob, queue and table services of
// AzureWebJobsStorage.
var appSettings = union({
  AzureWebJobsStorage__blobServiceUri: runtimeStorage.properties.primaryEndpoints.blob
  AzureWebJobsStorage__queueServiceUri: runtimeStorage.properties.primaryEndpoints.queue
  AzureWebJobsStorage__tableServiceUri: runtimeStorage.properties.primaryEndpoints.table
  AzureWebJobsStorage__credential: 'managedidentity'
  AzureWebJobsStorage__clientId: identityClientId
  BATCHPILOT_TASK_HUB: taskHubName
  // Application Insights refuses local (key) authentication: the connection string only says where to
  // send telemetry, and the authentication string makes the app send it with its managed identity.
  APPLICATIONINSIGHTS_CONNECTION_STRING: applicationInsights.properties.ConnectionString
  APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'Authorization=AAD;ClientId=${identityClientId}'
  AZURE_CLIENT_ID: identityClientId
  BATCHPILOT_ROUTES_PATH: routesPath
  BATCHPILOT_ARM_ENDPOINT: environment().resourceManager
  BATCHPILOT_ML_WORKSPACE_ID: mlWorkspaceId
  BATCHPILOT_EVENTS_TOPIC_ENDPOINT: eventsTopicEndpoint
  BATCHPILOT_DATA_STORAGE__blobServiceUri: dataBlobServiceUri
  BATCHPILOT_DATA_STORAGE__credential: 'managedidentity'
  BATCHPILOT_DATA_STORAGE__clientId: identityClientId
  BATCHPILOT_RUNS_CONTAINER: runsContainerName
  BATCHPILOT_AUDIT_CONTAINER: auditContainerName
  BATCHPILOT_OPERATOR_READ_ONLY: operatorReadOnly ? 'true' : 'false'
  // A function key alone proves nothing about who calls: only a signed-in Operator may change runs.
  BATCHPILOT_OPERATOR_KEY_ROLE: 'Reader'
}, durableTaskSchedulerSettings)

// The Durable Task Scheduler backend is switched on by overriding host.json's durableTask section
// (AzureFunctionsJobHost__<path>), so one host.json serves both backends and the local stack. The
// connection string says where the scheduler is and which identity to use; it holds no secret.
var durableTaskSchedulerSettings = !empty(durableTaskSchedulerEndpoint) ? {
  AzureFunctionsJobHost__extensions__durableTask__storageProvider__type: 'azureManaged'
  AzureFunctionsJobHost__extensions__durableTask__storageProvider__connectionStringName: 'DURABLE_TASK_SCHEDULER_CONNECTION_STRING'
  DURABLE_TASK_SCHEDULER_CONNECTION_STRING: 'Endpoint=${durableTaskSchedulerEndpoint};Authentication=ManagedIdentity;ClientID=${identityClientId}'
} : {}

// The whole set: settings added by hand in the portal are removed on the next provision.
resource appSettingsConfig 'Microsoft.Web/sites/config@2024-04-01' = {
  parent: functionApp
  name: 'appsettings'
  properties: appSettings
}

// Built-in authentication. With it on, the platform removes x-ms-client-principal* headers a client
// sends, sets its own for the signed-in caller, and injects WEBSITE_AUTH_ENABLED=True, the one signal
// the app trusts principal headers on (never set here: the contract test keeps it out of infra/).
// Excluded: Event Grid's deliveries to the Event Grid webhook (they carry the extension's system key
// and no Entra token) and the dashboard's page and assets (no data; the page offers the sign-in).
var entraIdProvider = {
  azureActiveDirectory: {
    enabled: true
    registration: {
      openIdIssuer: '${environment().authentication.loginEndpoint}${tenant().tenantId}/v2.0'
      clientId: operatorAppClientId
    }
    validation: {
      // ID tokens (browser sign-in) carry the client ID, access tokens for api://<client ID>/.default the URI.
      allowedAudiences: [
        operatorAppClientId
        'api://${operatorAppClientId}'
      ]
    }
  }
}

resource authentication 'Microsoft.Web/sites/config@2024-04-01' = {
  parent: functionApp
  name: 'authsettingsV2'
  properties: {
    platform: {
      enabled: true
    }
    globalValidation: {
      requireAuthentication: true
      unauthenticatedClientAction: 'Return401'
      excludedPaths: [
        '/runtime/webhooks/eventgrid'
        '/api/ops/dashboard'
        '/api/ops/dashboard/'
        '/api/ops/dashboard/index.html'
        '/api/ops/dashboard/dashboard.js'
        '/api/ops/dashboard/dashboard.css'
      ]
    }
    identityProviders: empty(operatorAppClientId) ? {} : entraIdProvider
    login: {
      tokenStore: {
        enabled: false
      }
    }
    httpSettings: {
      requireHttps: true
    }
  }
  // Two site configuration updates at once can conflict; one after the other.
  dependsOn: [
    appSettingsConfig
  ]
}

output id string = functionApp.id
output name string = functionApp.name
output defaultHostName string = functionApp.properties.defaultHostName
