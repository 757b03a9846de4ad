// Alerts that page when a route is unhealthy: scheduled query rules over the run metrics batchpilot
// sends to Application Insights (src/azure/runTelemetry.ts names them; every metric carries route, kind
// and outcome), and metric alerts on the Event Grid system topics for dead-lettered deliveries. They
// notify one action group, with an email receiver when alertEmail is given. The query rules run with a
// user-assigned identity of their own, which rbac.bicep lets read the Application Insights component
// (Monitoring Reader) and nothing else.

param location string
param tags object = {}
param identityName string
param actionGroupName string
param applicationInsightsId string
@description('Event Grid system topics whose dead-lettered deliveries page (storage and workspace events).')
param systemTopicIds string[]
@description('Where alerts are emailed; empty: the action group has no receiver until one is added.')
param alertEmail string = ''
@description('A route whose success-rate error budget burns faster than this many times its allowance (over 6 hours) pages.')
param burnRateThreshold int = 2
param namePrefix string

// A user-assigned identity, so the role that lets the rules read telemetry is granted once, in rbac.bicep.
resource alertsIdentity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: identityName
  location: location
  tags: tags
}

resource actionGroup 'Microsoft.Insights/actionGroups@2023-01-01' = {
  name: actionGroupName
  location: 'Global'
  tags: tags
  properties: {
    groupShortName: 'batchpilot'
    enabled: true
    emailReceivers: empty(alertEmail) ? [] : [
      {
        name: 'operators'
        emailAddress: alertEmail
        useCommonAlertSchema: true
      }
    ]
  }
}

// KQL over customMetrics: OpenTelemetry counters and histograms arrive with `value` (the sum over the
// export interval) and `valueCount`; dimensions in customDimensions.
var runsMetric = 'batchpilot.runs'
var stuckMetric = 'batchpilot.runs.stuck'

var queries = [
  {
    name: 'failed-runs'
    description: 'A run ended Failed (blob, model or rollback run): its record and event say why.'
    severity: 1
    windowSize: 'PT15M'
    evaluationFrequency: 'PT5M'
    threshold: 0
    query: 'customMetrics | where name == "${runsMetric}" | extend route = tostring(customDimensions.route), kind = tostring(customDimensions.kind), outcome = tostring(customDimensions.outcome) | where outcome in ("Failed", "RollbackFailed") | summarize failedRuns = sum(value) by route, kind'
    measure: 'failedRuns'
    dimensions: [ 'route', 'kind' ]
  }
  {
    name: 'validation-failures'
    description: 'A job finished but its outputs failed validation (missing files, row counts, failed files, schema, drift with action fail).'
    severity: 2
    windowSize: 'PT15M'
    evaluationFrequency: 'PT5M'
    threshold: 0
    query: 'customMetrics | where name == "${runsMetric}" | extend route = tostring(customDimensions.route), kind = tostring(customDimensions.kind), outcome = tostring(customDimensions.outcome), validation = tostring(customDimensions.validation) | where outcome == "ValidationFailed" or validation == "failed" | summarize validationFailures = sum(value) by route, kind'
    measure: 'validationFailures'
    dimensions: [ 'route', 'kind' ]
  }
  {
    name: 'stuck-runs'
    description: 'Runs still unfinished an hour past their route timeout, as the run index maintenance pass counts them every 5 minutes.'
    severity: 1
    windowSize: 'PT15M'
    evaluationFrequency: 'PT15M'
    threshold: 0
    query: 'customMetrics | where name == "${stuckMetric}" | extend route = tostring(customDimensions.route) | summarize stuckRuns = max(value / valueCount) by route'
    measure: 'stuckRuns'
    dimensions: [ 'route' ]
  }
  {
    name: 'slo-burn-rate'
    description: 'A route spends its success-rate error budget more than ${burnRateThreshold} times as fast as its slo allows, over the last 6 hours.'
    severity: 2
    windowSize: 'PT6H'
    evaluationFrequency: 'PT30M'
    threshold: burnRateThreshold
    query: 'customMetrics | where name == "${runsMetric}" and isnotempty(customDimensions.slo_success_rate) | extend route = tostring(customDimensions.route), objective = todouble(customDimensions.slo_success_rate), ok = tostring(customDimensions.outcome) in ("Completed", "Promoted", "RolledBack") | summarize total = sum(value), failed = sumif(value, not(ok)), objective = max(objective) by route | where total > 0 and objective < 1 | extend burnRate = (failed / total) / (1 - objective)'
    measure: 'burnRate'
    dimensions: [ 'route' ]
  }
]

resource queryRules 'Microsoft.Insights/scheduledQueryRules@2023-12-01' = [for q in queries: {
  name: '${namePrefix}-${q.name}'
  location: location
  tags: tags
  kind: 'LogAlert'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${alertsIdentity.id}': {}
    }
  }
  properties: {
    displayName: 'batchpilot: ${q.name}'
    description: q.description
    severity: q.severity
    enabled: true
    scopes: [ applicationInsightsId ]
    evaluationFrequency: q.evaluationFrequency
    windowSize: q.windowSize
    autoMitigate: true
    criteria: {
      allOf: [
        {
          query: q.query
          timeAggregation: 'Maximum'
          metricMeasureColumn: q.measure
          dimensions: [for d in q.dimensions: {
            name: d
            operator: 'Include'
            values: [ '*' ]
          }]
          operator: 'GreaterThan'
          threshold: q.threshold
          failingPeriods: {
            numberOfEvaluationPeriods: 1
            minFailingPeriodsToAlert: 1
          }
        }
      ]
    }
    actions: {
      actionGroups: [ actionGroup.id ]
    }
  }
}]

// Dead-lettered deliveries: events Event Grid gave up on (intake down or refusing for 24 h), kept in the
// dead-letter container. A metric of the topic itself, so no query and no identity is involved.
resource deadLetters 'Microsoft.Insights/metricAlerts@2018-03-01' = [for (topicId, i) in systemTopicIds: {
  name: '${namePrefix}-dead-lettered-events-${i}'
  location: 'global'
  tags: tags
  properties: {
    description: 'Event Grid dead-lettered deliveries of ${last(split(topicId, '/'))}: the runs they would have started never started. Replay them from the dead-letter container.'
    severity: 1
    enabled: true
    scopes: [ topicId ]
    evaluationFrequency: 'PT5M'
    windowSize: 'PT15M'
    autoMitigate: true
    criteria: {
      'odata.type': 'Microsoft.Azure.Monitor.SingleResourceMultipleMetricCriteria'
      allOf: [
        {
          criterionType: 'StaticThresholdCriterion'
          name: 'deadLettered'
          metricName: 'DeadLetteredCount'
          metricNamespace: 'Microsoft.EventGrid/systemTopics'
          timeAggregation: 'Total'
          operator: 'GreaterThan'
          threshold: 0
        }
      ]
    }
    actions: [
      {
        actionGroupId: actionGroup.id
      }
    ]
  }
}]

output identityPrincipalId string = alertsIdentity.properties.principalId
output actionGroupId string = actionGroup.id
output queryRuleNames string[] = [for (q, i) in queries: queryRules[i].name]
