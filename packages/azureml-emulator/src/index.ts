// The local Azure ML emulator's public face: start it, seed the sample workspace, generate sample
// data, a harness for tests (startLocalAzureMl), and the types the local stack and tests use. Nothing
// here is deployed to Azure.
export { startAzureMlEmulator } from './azureMlEmulator';
export type { AzureMlEmulatorOptions, JobReport, RunningAzureMlEmulator } from './azureMlEmulator';
export type { FaultSettings, FaultStats, HttpFaultSettings, JobFaultSettings } from './faultInjection';
export { seedSampleWorkspace, SAMPLE_ENDPOINT_NAME } from './sampleWorkspace';
export type { SampleWorkspace, SeedSampleWorkspaceOptions } from './sampleWorkspace';
export { CHURN_CSV_HEADER, CHURN_MODEL_VERSIONS, generateChurnCsv, generateChurnInputFiles, poisonCsv } from './sample/churnModel';
export type { ChurnInputFile, ChurnModelWeights } from './sample/churnModel';
export { ML_EVENT_TYPES } from './mlSystemEvents';
export type { EventGridEventLike } from './wireTypes';
export { DEPLOYMENT_HEADER } from './batchInvoke';
export { FaultInjector } from './faultInjection';
export { churnScoringModuleSource } from './sample/churnModel';
export { startLocalAzureMl, ML_SCOPE, MANAGEMENT_SCOPE } from './testing/localAzureMl';
export type { LocalAzureMl } from './testing/localAzureMl';
