// The local Event Grid emulator's public face: start it, a harness for tests (startTestEventGrid), a
// webhook receiver to subscribe, and the building blocks whose behaviour is held against Azure's
// published contracts (publish checks, event shapes, filters, the delivery policy, subscription files).
// Nothing here is deployed to Azure.
export { startEventGridEmulator, STORAGE_TOPIC, WORKSPACE_TOPIC, DEFAULT_WORKSPACE_NAME } from './eventGridEmulator';
export type {
  DeliveryOptions, EventGridEmulatorOptions, FunctionsHostTarget, PublishedEvent, RunningEventGridEmulator, SubscriptionInfo, SubscriptionState, TopicOutage,
} from './eventGridEmulator';
export { startWebhookReceiver } from './webhookReceiver';
export type { ReceivedRequest, Responder, ScriptedResponse, WebhookReceiver } from './webhookReceiver';
export { startTestEventGrid, testCertificate } from './testing/testEventGrid';
export type { TestEventGrid } from './testing/testEventGrid';
export { checkPublishBody, EVENT_GRID_AUDIENCE, MAX_EVENT_SIZE_IN_BYTES } from './publishRequests';
export { BLOB_CREATED, BLOB_DELETED, BlobSequencer, blobCreatedEvent, blobDeletedEvent } from './storageEvents';
export type { BlobChange } from './storageEvents';
export { toCloudEvent } from './eventShapes';
export type { CloudEvent, EventGridEvent, EventSchemaName, StoredEvent } from './eventShapes';
export { subscriptionValidationEvent, VALIDATION_EVENT_TYPE } from './validationHandshake';
export { stampSystemEvent } from './systemEvents';
export type { SystemEventInput } from './systemEvents';
export type { TopicDefinition } from './topics';
export { subscriptionFilterMatches } from './eventFilters';
export type { AdvancedFilter, SubscriptionFilter } from './eventFilters';
export { DOCUMENTED_RETRY_SCHEDULE_IN_MS, deadLetterReasonFor, deliveryOutcomeName, retryDelayInMs, verdictFor } from './deliveryPolicy';
export { destinationFunctionName, loadEventGridLocalConfig, parseEventGridLocalConfig } from './subscriptionDefinitions';
export type { EventGridLocalConfig, SubscriptionDefinition, TopicDeclaration } from './subscriptionDefinitions';
