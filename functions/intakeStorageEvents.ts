// Event Grid trigger for the data account's BlobCreated events (subscription created by infra/). The
// intake code (and its event schemas) is loaded by the first event, not at startup.
import { app, InvocationContext } from '@azure/functions';
import * as df from 'durable-functions';
import type * as StorageIntake from '../src/events/storageIntake';

const load = (): typeof StorageIntake => require('../src/events/storageIntake') as typeof StorageIntake;
import { durableClientFor } from '../src/azure/durableClient';

app.eventGrid('intakeStorageEvents', {
  extraInputs: [df.input.durableClient()],
  handler: async (event: unknown, context: InvocationContext) => {
    await load().intakeStorageEvent(event, () => durableClientFor(context), context);
  },
});
