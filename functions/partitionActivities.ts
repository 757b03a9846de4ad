// The coalescer's activities. Their code is loaded by the first call, not at startup.
import * as df from 'durable-functions';
import { ACTIVITY } from '../src/activities/contracts';
import type * as PartitionActivities from '../src/activities/partitionActivities';

const loadPartitionActivities = (): typeof PartitionActivities => require('../src/activities/partitionActivities') as typeof PartitionActivities;

df.app.activity(ACTIVITY.peekPartition, { handler: (...args: Parameters<typeof PartitionActivities.peekPartition>) => loadPartitionActivities().peekPartition(...args) });
df.app.activity(ACTIVITY.closePartitionBatch, { handler: (...args: Parameters<typeof PartitionActivities.closePartitionBatch>) => loadPartitionActivities().closePartitionBatch(...args) });
df.app.activity(ACTIVITY.startScoringRun, { extraInputs: [df.input.durableClient()], handler: (...args: Parameters<typeof PartitionActivities.startScoringRun>) => loadPartitionActivities().startScoringRun(...args) });
