// Writing a run's input table (MLTable). Its code is loaded by the first call, not at startup.
import * as df from 'durable-functions';
import { ACTIVITY } from '../src/activities/contracts';
import type * as InputTable from '../src/activities/inputTableActivities';

const load = (): typeof InputTable => require('../src/activities/inputTableActivities') as typeof InputTable;

df.app.activity(ACTIVITY.writeInputTable, { handler: (...args: Parameters<typeof InputTable.writeInputTable>) => load().writeInputTable(...args) });
