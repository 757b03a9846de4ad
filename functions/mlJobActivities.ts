// The Azure ML job activities. Their code is loaded by the first call, not at startup.
import * as df from 'durable-functions';
import { ACTIVITY } from '../src/activities/contracts';
import type * as MlJobs from '../src/activities/mlJobActivities';

const loadMlJobs = (): typeof MlJobs => require('../src/activities/mlJobActivities') as typeof MlJobs;

df.app.activity(ACTIVITY.resolveBatchEndpoint, { handler: (...args: Parameters<typeof MlJobs.resolveBatchEndpoint>) => loadMlJobs().resolveBatchEndpoint(...args) });
df.app.activity(ACTIVITY.adoptOrSubmitJob, { handler: (...args: Parameters<typeof MlJobs.adoptOrSubmitJob>) => loadMlJobs().adoptOrSubmitJob(...args) });
df.app.activity(ACTIVITY.getBatchJobStatus, { handler: (...args: Parameters<typeof MlJobs.getBatchJobStatus>) => loadMlJobs().getBatchJobStatus(...args) });
df.app.activity(ACTIVITY.cancelBatchJob, { handler: (...args: Parameters<typeof MlJobs.cancelBatchJob>) => loadMlJobs().cancelBatchJob(...args) });
