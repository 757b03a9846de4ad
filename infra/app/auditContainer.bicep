// The operator audit trail's container on the data account (new or existing): the app creates each
// record once and a time-based immutability policy keeps anyone, the app included, from overwriting or
// deleting it for the retention period. The policy is left unlocked, so an administrator can still
// shorten or remove it; locking it (infra/DEPLOY.md) is irreversible and is the owner's decision.

param accountName string
param containerName string

@minValue(1)
@maxValue(146000)
param retentionInDays int

resource account 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: accountName
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' existing = {
  parent: account
  name: 'default'
}

resource container 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: containerName
  properties: {
    publicAccess: 'None'
  }
}

resource retention 'Microsoft.Storage/storageAccounts/blobServices/containers/immutabilityPolicies@2023-05-01' = {
  parent: container
  name: 'default'
  properties: {
    immutabilityPeriodSinceCreationInDays: retentionInDays
    // Records are whole blobs written once; nothing is ever appended to one.
    allowProtectedAppendWrites: false
  }
}

output name string = container.name
