// The app settings an in-process test needs for loadSettings() to pass: endpoints that are never
// called, the local development storage, and a task hub name. Tests add or replace what they check.
export const UNIT_APP_SETTINGS: Readonly<Record<string, string>> = {
  BATCHPILOT_ROUTES_PATH: 'routes.yaml',
  BATCHPILOT_TASK_HUB: 'unitHub',
  BATCHPILOT_ARM_ENDPOINT: 'https://127.0.0.1:7443',
  BATCHPILOT_ML_WORKSPACE_ID: '/subscriptions/s/resourceGroups/rg/providers/Microsoft.MachineLearningServices/workspaces/ws',
  BATCHPILOT_EVENTS_TOPIC_ENDPOINT: 'https://127.0.0.1:7444/topics/t/api/events',
  BATCHPILOT_DATA_STORAGE: 'UseDevelopmentStorage=true',
};
