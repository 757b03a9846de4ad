import * as df from 'durable-functions';
import { COALESCE_PARTITION, coalescePartition } from '../src/orchestrations/coalescePartition';

df.app.orchestration(COALESCE_PARTITION, coalescePartition);
