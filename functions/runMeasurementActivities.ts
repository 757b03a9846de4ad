import * as df from 'durable-functions';
import { ACTIVITY } from '../src/activities/contracts';
import { recordRunMeasurements } from '../src/activities/runMeasurementActivities';

df.app.activity(ACTIVITY.recordRunMeasurements, { handler: recordRunMeasurements });
