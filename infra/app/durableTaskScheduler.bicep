// The Durable Task Scheduler, Microsoft's managed backend for Durable Functions, with batchpilot's task
// hub. main.bicep deploys it only when BATCHPILOT_DURABLE_BACKEND is dts; otherwise orchestration state
// stays in the runtime storage account. The scheduler has no keys: callers authenticate with Entra ID
// and need a Durable Task data role on the task hub (rbac.bicep).

param name string
param location string
param tags object = {}

@description('Task hub name: the name host.json gives extensions.durableTask.hubName (%BATCHPILOT_TASK_HUB%).')
param taskHubName string

@description('Consumption bills per dispatched action; Dedicated reserves capacity units (infra/DEPLOY.md).')
@allowed(['Consumption', 'Dedicated'])
param skuName string

@description('Capacity units of a Dedicated scheduler; a Consumption scheduler takes none.')
@minValue(1)
@maxValue(3)
param capacity int = 1

// An empty list would refuse every caller. Flex Consumption has no fixed outbound addresses, so the
// default admits any IPv4 address and leaves the decision to Entra ID and the task hub role.
@description('Addresses (IPv4, IPv6 or CIDR) that may reach the scheduler at all.')
param ipAllowlist array = ['0.0.0.0/0']

resource scheduler 'Microsoft.DurableTask/schedulers@2025-11-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    ipAllowlist: ipAllowlist
    sku: {
      name: skuName
      capacity: skuName == 'Dedicated' ? capacity : null
    }
  }
}

resource taskHub 'Microsoft.DurableTask/schedulers/taskHubs@2025-11-01' = {
  parent: scheduler
  name: taskHubName
}

output name string = scheduler.name
output endpoint string = scheduler.properties.endpoint
output taskHubName string = taskHub.name
output dashboardUrl string = taskHub.properties.dashboardUrl
