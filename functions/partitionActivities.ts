import * as df from 'durable-functions';
import { ACTIVITY } from '../src/activities/contracts';
import { closePartitionBatch, peekPartition, startScoringRun } from '../src/activities/partitionActivities';

df.app.activity(ACTIVITY.peekPartition, { handler: peekPartition });
df.app.activity(ACTIVITY.closePartitionBatch, { handler: closePartitionBatch });
df.app.activity(ACTIVITY.startScoringRun, { extraInputs: [df.input.durableClient()], handler: startScoringRun });
