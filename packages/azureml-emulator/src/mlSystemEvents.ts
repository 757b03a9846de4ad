// Azure ML system events as the workspace's Event Grid system topic carries them: ModelRegistered when
// a model version is created, RunStatusChanged on every job status change and RunCompleted when a job
// completes. Data fields follow test/contracts/eventgrid/Microsoft.MachineLearningServices examples.
import { createHash, randomUUID } from 'node:crypto';
import type { BatchJobRecord } from './workspaceStore';
import type { EventGridEventLike, JsonObject } from './wireTypes';

export const ML_EVENT_TYPES = {
  modelRegistered: 'Microsoft.MachineLearningServices.ModelRegistered',
  runCompleted: 'Microsoft.MachineLearningServices.RunCompleted',
  runStatusChanged: 'Microsoft.MachineLearningServices.RunStatusChanged',
} as const;

/** Azure gives each experiment a GUID; the emulator derives a stable one from the workspace and name. */
export function experimentIdOf(workspaceId: string, experimentName: string): string {
  const hex = createHash('sha256').update(`${workspaceId.toLowerCase()}|${experimentName}`).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-8${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

function envelope(workspaceId: string, subject: string, eventType: string, data: JsonObject, eventTime: string): EventGridEventLike {
  return { id: randomUUID(), topic: workspaceId, subject, eventType, eventTime, data, dataVersion: '', metadataVersion: '1' };
}

/**
 * The contract's example carries PascalCase keys (`ModelName`, `ModelVersion`...), which is what the
 * service sends; the version is a string because v2 model versions are strings.
 */
export function modelRegisteredEvent(
  workspaceId: string,
  model: { name: string; version: string; tags: Record<string, string>; properties: Record<string, string> },
  eventTime: string,
): EventGridEventLike {
  return envelope(workspaceId, `models/${model.name}:${model.version}`, ML_EVENT_TYPES.modelRegistered, {
    ModelName: model.name,
    ModelVersion: model.version,
    ModelTags: model.tags,
    ModelProperties: model.properties,
  }, eventTime);
}

function runData(workspaceId: string, job: BatchJobRecord): JsonObject {
  return {
    experimentId: experimentIdOf(workspaceId, job.experimentName),
    experimentName: job.experimentName,
    runId: job.name,
    runType: 'azureml.PipelineRun',
    runTags: job.tags,
    runProperties: job.properties,
  };
}

function runSubject(workspaceId: string, job: BatchJobRecord): string {
  return `experiments/${experimentIdOf(workspaceId, job.experimentName)}/runs/${job.name}`;
}

export function runStatusChangedEvent(workspaceId: string, job: BatchJobRecord, eventTime: string): EventGridEventLike {
  return envelope(workspaceId, runSubject(workspaceId, job), ML_EVENT_TYPES.runStatusChanged, { ...runData(workspaceId, job), runStatus: job.status }, eventTime);
}

export function runCompletedEvent(workspaceId: string, job: BatchJobRecord, eventTime: string): EventGridEventLike {
  return envelope(workspaceId, runSubject(workspaceId, job), ML_EVENT_TYPES.runCompleted, runData(workspaceId, job), eventTime);
}
