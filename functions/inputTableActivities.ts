import * as df from 'durable-functions';
import { ACTIVITY } from '../src/activities/contracts';
import { writeInputTable } from '../src/activities/inputTableActivities';

df.app.activity(ACTIVITY.writeInputTable, { handler: writeInputTable });
