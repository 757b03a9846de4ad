import * as df from 'durable-functions';
import { RUN_BATCH_JOB, runBatchJob } from '../src/orchestrations/runBatchJob';

df.app.orchestration(RUN_BATCH_JOB, runBatchJob);
