// Optional private networking (main.bicep's enablePrivateNetworking, off by default): a virtual network
// whose app subnet the function app integrates with (Flex Consumption needs the subnet delegated to
// Microsoft.App/environments), and private endpoints with private DNS for what the app reaches:
// the runtime account's blob, queue and table services, the data account's blobs and the events topic.
// Not covered here: Azure ML (a private workspace brings its own network design) and Application
// Insights ingestion (Azure Monitor Private Link Scope); see infra/DEPLOY.md.

param location string
param tags object = {}
param virtualNetworkName string
param resourceToken string

param runtimeStorageAccountId string
param dataStorageAccountId string
param eventsTopicId string

var appSubnetName = 'snet-app'
var privateEndpointSubnetName = 'snet-private-endpoints'

var privateDnsZoneNames = [
  'privatelink.blob.${environment().suffixes.storage}'
  'privatelink.queue.${environment().suffixes.storage}'
  'privatelink.table.${environment().suffixes.storage}'
  'privatelink.eventgrid.azure.net'
]

// zone: index into privateDnsZoneNames.
var endpoints = [
  {
    name: 'runtime-blob'
    resourceId: runtimeStorageAccountId
    groupId: 'blob'
    zone: 0
  }
  {
    name: 'runtime-queue'
    resourceId: runtimeStorageAccountId
    groupId: 'queue'
    zone: 1
  }
  {
    name: 'runtime-table'
    resourceId: runtimeStorageAccountId
    groupId: 'table'
    zone: 2
  }
  {
    name: 'data-blob'
    resourceId: dataStorageAccountId
    groupId: 'blob'
    zone: 0
  }
  {
    name: 'events-topic'
    resourceId: eventsTopicId
    groupId: 'topic'
    zone: 3
  }
]

resource virtualNetwork 'Microsoft.Network/virtualNetworks@2023-11-01' = {
  name: virtualNetworkName
  location: location
  tags: tags
  properties: {
    addressSpace: {
      addressPrefixes: [
        '10.40.0.0/16'
      ]
    }
    subnets: [
      {
        name: appSubnetName
        properties: {
          addressPrefix: '10.40.1.0/24'
          delegations: [
            {
              name: 'flex-consumption'
              properties: {
                serviceName: 'Microsoft.App/environments'
              }
            }
          ]
        }
      }
      {
        name: privateEndpointSubnetName
        properties: {
          addressPrefix: '10.40.2.0/24'
          privateEndpointNetworkPolicies: 'Disabled'
        }
      }
    ]
  }
}

resource privateDnsZones 'Microsoft.Network/privateDnsZones@2020-06-01' = [for zoneName in privateDnsZoneNames: {
  name: zoneName
  location: 'global'
  tags: tags
}]

resource privateDnsZoneLinks 'Microsoft.Network/privateDnsZones/virtualNetworkLinks@2020-06-01' = [for (zoneName, i) in privateDnsZoneNames: {
  parent: privateDnsZones[i]
  name: '${virtualNetworkName}-link'
  location: 'global'
  tags: tags
  properties: {
    virtualNetwork: {
      id: virtualNetwork.id
    }
    registrationEnabled: false
  }
}]

resource privateEndpoints 'Microsoft.Network/privateEndpoints@2023-11-01' = [for endpoint in endpoints: {
  name: 'pep-${endpoint.name}-${resourceToken}'
  location: location
  tags: tags
  properties: {
    subnet: {
      id: resourceId('Microsoft.Network/virtualNetworks/subnets', virtualNetwork.name, privateEndpointSubnetName)
    }
    privateLinkServiceConnections: [
      {
        name: endpoint.name
        properties: {
          privateLinkServiceId: endpoint.resourceId
          groupIds: [
            endpoint.groupId
          ]
        }
      }
    ]
  }
}]

resource privateDnsZoneGroups 'Microsoft.Network/privateEndpoints/privateDnsZoneGroups@2023-11-01' = [for (endpoint, i) in endpoints: {
  parent: privateEndpoints[i]
  name: 'default'
  properties: {
    privateDnsZoneConfigs: [
      {
        name: replace(privateDnsZoneNames[endpoint.zone], '.', '-')
        properties: {
          privateDnsZoneId: privateDnsZones[endpoint.zone].id
        }
      }
    ]
  }
}]

output appSubnetId string = resourceId('Microsoft.Network/virtualNetworks/subnets', virtualNetwork.name, appSubnetName)
output virtualNetworkId string = virtualNetwork.id
