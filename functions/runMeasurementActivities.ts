// A run's measurements. Their code is loaded by the first call, not at startup.
import * as df from 'durable-functions';
import { ACTIVITY } from '../src/activities/contracts';
import type * as RunMeasurements from '../src/activities/runMeasurementActivities';

const loadRunMeasurements = (): typeof RunMeasurements => require('../src/activities/runMeasurementActivities') as typeof RunMeasurements;

df.app.activity(ACTIVITY.recordRunMeasurements, { handler: (...args: Parameters<typeof RunMeasurements.recordRunMeasurements>) => loadRunMeasurements().recordRunMeasurements(...args) });
