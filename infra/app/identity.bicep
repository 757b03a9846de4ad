// The user-assigned managed identity the function app runs as: host storage, Flex deployment storage,
// Application Insights, Azure ML, the data account and the events topic all see this one principal.
// User-assigned (not system-assigned) so that its role assignments exist before the app first starts.

param name string
param location string
param tags object = {}

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: name
  location: location
  tags: tags
}

output id string = identity.id
output name string = identity.name
output principalId string = identity.properties.principalId
output clientId string = identity.properties.clientId
