// The local Functions host as a library: start it in-process or as a child process (the CLI,
// `batchpilot-host`), drive it from tests, and reach the durable engine's pieces that benchmarks and
// embedders use. README.md beside src/ says what it serves and how it differs from Azure.
export { startLocalHost, DEFAULT_LOCAL_HOST_PORT } from './host/localHost';
export type { LocalHostOptions, RunningLocalHost } from './host/localHost';
export { spawnLocalHost, LOCAL_HOST_CLI } from './host/hostProcess';
export type { HostChild, HostProcessOptions } from './host/hostProcess';
export { startHostProcess } from './host/localHostProcess';
export type { HostLogLine, HostProcess, StartHostOptions } from './host/localHostProcess';
export { loadFunctionApp, LoadedApp, AppLoadError } from './host/appLoader';
export { installFunctionsCore } from './host/functionsCore';
export { createHostLogger } from './host/hostLog';
export type { HostLogEntry, HostLogger, HostLogLevel } from './host/hostLog';
export type { FunctionKeys, AuthLevel } from './host/functionKeys';
export { createDurableEngine, DurableEngine, DURABLE_TASK_ROUTE_PREFIX } from './durable';
export type { DurableEngineOptions, EngineObserver, LocalDurableEngine } from './durable';
export { ManagementUrlBuilder, INSTANCE_ID_PLACEHOLDER } from './durable/managementUrls';
export { invokeActivity, invokeOrchestrator } from './durable/functionInvocations';
export { HistoryEventType, historyEvent } from './durable/historyEvents';
export type { HistoryEvent } from './durable/historyEvents';
export type { InstanceState, RuntimeStatus } from './durable/instanceModel';
export { startDurableHost, statusWithHistory, waitForStatus, historyOf } from './host/durableHarness';
export type { DurableHost, DurableHostOptions, HistoryEntry } from './host/durableHarness';
