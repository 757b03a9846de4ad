import * as df from 'durable-functions';
import { ACTIVITY } from '../src/activities/contracts';
import { indexRun } from '../src/activities/runIndexActivities';

df.app.activity(ACTIVITY.indexRun, { handler: indexRun });
