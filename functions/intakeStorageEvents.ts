// Event Grid trigger for the data account's BlobCreated events (subscription created by infra/).
import { app, InvocationContext } from '@azure/functions';
import * as df from 'durable-functions';
import { intakeStorageEvent } from '../src/events/storageIntake';
import { durableClientFor } from '../src/azure/durableClient';

app.eventGrid('intakeStorageEvents', {
  extraInputs: [df.input.durableClient()],
  handler: async (event: unknown, context: InvocationContext) => {
    await intakeStorageEvent(event, durableClientFor(context), context);
  },
});
