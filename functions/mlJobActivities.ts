import * as df from 'durable-functions';
import { ACTIVITY } from '../src/activities/contracts';
import { adoptOrSubmitJob, cancelBatchJob, getBatchJobStatus, resolveBatchEndpoint } from '../src/activities/mlJobActivities';

df.app.activity(ACTIVITY.resolveBatchEndpoint, { handler: resolveBatchEndpoint });
df.app.activity(ACTIVITY.adoptOrSubmitJob, { handler: adoptOrSubmitJob });
df.app.activity(ACTIVITY.getBatchJobStatus, { handler: getBatchJobStatus });
df.app.activity(ACTIVITY.cancelBatchJob, { handler: cancelBatchJob });
