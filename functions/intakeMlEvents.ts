// Event Grid trigger for the Azure ML workspace's events: job status changes wake the run waiting
// for the job (model registrations are routed here too).
import { app, InvocationContext } from '@azure/functions';
import * as df from 'durable-functions';
import { intakeMlEvent } from '../src/events/mlIntake';
import { durableClientFor } from '../src/azure/durableClient';

app.eventGrid('intakeMlEvents', {
  extraInputs: [df.input.durableClient()],
  handler: async (event: unknown, context: InvocationContext) => {
    await intakeMlEvent(event, durableClientFor(context), context);
  },
});
