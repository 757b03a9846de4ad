// One storage account reachable only with Microsoft Entra ID: shared keys (and so SAS signed with
// them) are disabled, blobs are never public, TLS 1.2 at least. Used for the runtime account
// (AzureWebJobsStorage and the Flex deployment package) and for a new data account; containers are
// created by containers.bicep, which also serves an existing data account.

param name string
param location string
param tags object = {}

@description('Disabled when private networking is on and nothing outside the virtual network needs the account.')
@allowed(['Enabled', 'Disabled'])
param publicNetworkAccess string = 'Enabled'

resource account 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: name
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: {
    name: 'Standard_LRS'
  }
  properties: {
    allowSharedKeyAccess: false
    defaultToOAuthAuthentication: true
    allowBlobPublicAccess: false
    allowCrossTenantReplication: false
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    dnsEndpointType: 'Standard'
    publicNetworkAccess: publicNetworkAccess
    networkAcls: {
      // Event Grid (dead-lettering with its managed identity) is a trusted service and passes.
      bypass: 'AzureServices'
      defaultAction: publicNetworkAccess == 'Enabled' ? 'Allow' : 'Deny'
    }
  }
}

output id string = account.id
output name string = account.name
output blobEndpoint string = account.properties.primaryEndpoints.blob
output queueEndpoint string = account.properties.primaryEndpoints.queue
output tableEndpoint string = account.properties.primaryEndpoints.table
