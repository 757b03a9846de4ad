// A run's announcement and record. Their code is loaded by the first call, not at startup.
import * as df from 'durable-functions';
import { ACTIVITY } from '../src/activities/contracts';
import type * as RunRecords from '../src/activities/runRecordActivities';

const loadRunRecords = (): typeof RunRecords => require('../src/activities/runRecordActivities') as typeof RunRecords;

df.app.activity(ACTIVITY.announceRun, { handler: (...args: Parameters<typeof RunRecords.announceRun>) => loadRunRecords().announceRun(...args) });
df.app.activity(ACTIVITY.writeRunRecord, { handler: (...args: Parameters<typeof RunRecords.writeRunRecord>) => loadRunRecords().writeRunRecord(...args) });
