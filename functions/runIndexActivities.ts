// Indexing a run's state changes. Its code is loaded by the first call, not at startup.
import * as df from 'durable-functions';
import { ACTIVITY } from '../src/activities/contracts';
import type * as RunIndexActivities from '../src/activities/runIndexActivities';

const loadRunIndexActivities = (): typeof RunIndexActivities => require('../src/activities/runIndexActivities') as typeof RunIndexActivities;

df.app.activity(ACTIVITY.indexRun, { handler: (...args: Parameters<typeof RunIndexActivities.indexRun>) => loadRunIndexActivities().indexRun(...args) });
