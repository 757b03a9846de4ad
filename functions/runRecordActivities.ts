import * as df from 'durable-functions';
import { ACTIVITY } from '../src/activities/contracts';
import { announceRun, writeRunRecord } from '../src/activities/runRecordActivities';

df.app.activity(ACTIVITY.announceRun, { handler: announceRun });
df.app.activity(ACTIVITY.writeRunRecord, { handler: writeRunRecord });
