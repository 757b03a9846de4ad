// Validation of a run's outputs. Its code (and the schema libraries the rules are checked with) is
// loaded by the first validation, not when the app starts: cold start stays small.
import * as df from 'durable-functions';
import { ACTIVITY } from '../src/activities/contracts';
import type * as Validation from '../src/activities/validationActivities';

const load = (): typeof Validation => require('../src/activities/validationActivities') as typeof Validation;

df.app.activity(ACTIVITY.validateRunOutputs, { handler: (...args: Parameters<typeof Validation.validateRunOutputs>) => load().validateRunOutputs(...args) });
