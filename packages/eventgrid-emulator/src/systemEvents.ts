// What a system event source (the ML emulator for the workspace topic) hands the Event Grid emulator,
// and how Event Grid stamps it: the source's resource ID as `topic`, an id and eventTime when missing,
// metadataVersion "1". The ML emulator builds the event bodies itself (mlSystemEvents.ts of @batchpilot/azureml-emulator)
// from test/contracts/eventgrid/Microsoft.MachineLearningServices examples.

import type { EventGridEvent } from './eventShapes';

export interface SystemEventInput {
  eventType: string;
  subject: string;
  data?: unknown;
  id?: string;
  eventTime?: string;
  /** Storage and ML events carry "" here, as the contract examples show. */
  dataVersion?: string;
  /** The source resource ID; defaults to the system topic's (e.g. the workspace's) resource ID. */
  topic?: string;
}

export function stampSystemEvent(input: SystemEventInput, topicResourceId: string, id: string, eventTime: string): EventGridEvent {
  return {
    topic: input.topic ?? topicResourceId,
    subject: input.subject,
    eventType: input.eventType,
    eventTime: input.eventTime ?? eventTime,
    id: input.id ?? id,
    data: input.data,
    dataVersion: input.dataVersion ?? '',
    metadataVersion: '1',
  };
}
