import * as df from 'durable-functions';
import { ACTIVITY } from '../src/activities/contracts';
import { validateRunOutputs } from '../src/activities/validationActivities';

df.app.activity(ACTIVITY.validateRunOutputs, { handler: validateRunOutputs });
