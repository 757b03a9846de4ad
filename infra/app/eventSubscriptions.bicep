// The Event Grid subscriptions on one system topic, built from infra/eventSubscriptions.json (the file
// the local Event Grid emulator reads too), each delivering to a function of the deployed app.
// Event Grid refuses an AzureFunction destination whose function does not exist yet, so main.bicep
// deploys this module only when deployEventSubscriptions is true, which the postdeploy hook sets
// (infra/hooks/postdeploy.sh, .ps1) after `azd deploy` has published the code.
// Dead-lettering uses the system topic's managed identity, never a storage key.

@description('Name of the system topic in this resource group that the subscriptions attach to.')
param systemTopicName string

@description('The declarations from eventSubscriptions.json for this topic (ARM property names).')
param subscriptions array

@description('Resource ID of the function app; a destination is {functionAppId}/functions/{functionName}.')
param functionAppId string

@description('Resource ID of the storage account that holds the dead-letter container.')
param deadLetterStorageAccountId string

@description('Overrides the declared subject prefix filter when not empty (e.g. to watch a folder of the input container).')
param subjectBeginsWithOverride string = ''

@description('Overrides the declared subject suffix filter when not empty (e.g. \'.csv\').')
param subjectEndsWithOverride string = ''

resource systemTopic 'Microsoft.EventGrid/systemTopics@2025-02-15' existing = {
  name: systemTopicName
}

resource eventSubscriptions 'Microsoft.EventGrid/systemTopics/eventSubscriptions@2025-02-15' = [for declared in subscriptions: {
  parent: systemTopic
  name: declared.name
  properties: {
    destination: {
      endpointType: 'AzureFunction'
      properties: {
        resourceId: '${functionAppId}/functions/${declared.destination.properties.functionName}'
        maxEventsPerBatch: declared.destination.properties.?maxEventsPerBatch ?? 1
        preferredBatchSizeInKilobytes: declared.destination.properties.?preferredBatchSizeInKilobytes ?? 64
      }
    }
    eventDeliverySchema: declared.?eventDeliverySchema ?? 'EventGridSchema'
    filter: {
      includedEventTypes: declared.filter.includedEventTypes
      subjectBeginsWith: empty(subjectBeginsWithOverride) ? (declared.filter.?subjectBeginsWith ?? '') : subjectBeginsWithOverride
      subjectEndsWith: empty(subjectEndsWithOverride) ? (declared.filter.?subjectEndsWith ?? '') : subjectEndsWithOverride
      isSubjectCaseSensitive: declared.filter.?isSubjectCaseSensitive ?? false
      enableAdvancedFilteringOnArrays: declared.filter.?enableAdvancedFilteringOnArrays ?? false
      advancedFilters: declared.filter.?advancedFilters ?? []
    }
    retryPolicy: {
      maxDeliveryAttempts: declared.retryPolicy.maxDeliveryAttempts
      eventTimeToLiveInMinutes: declared.retryPolicy.eventTimeToLiveInMinutes
    }
    deadLetterWithResourceIdentity: {
      identity: {
        type: 'SystemAssigned'
      }
      deadLetterDestination: {
        endpointType: 'StorageBlob'
        properties: {
          resourceId: deadLetterStorageAccountId
          blobContainerName: declared.deadLetterDestination.properties.blobContainerName
        }
      }
    }
  }
}]

output subscriptionNames array = [for (declared, i) in subscriptions: eventSubscriptions[i].name]
