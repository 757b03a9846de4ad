// Event Grid trigger for the Azure ML workspace's events: job status changes wake the run waiting
// for the job (model registrations are routed here too). The intake code (and its event schemas) is
// loaded by the first event, not at startup.
import { app, InvocationContext } from '@azure/functions';
import * as df from 'durable-functions';
import type * as MlIntake from '../src/events/mlIntake';

const load = (): typeof MlIntake => require('../src/events/mlIntake') as typeof MlIntake;
import { durableClientFor } from '../src/azure/durableClient';

app.eventGrid('intakeMlEvents', {
  extraInputs: [df.input.durableClient()],
  handler: async (event: unknown, context: InvocationContext) => {
    await load().intakeMlEvent(event, durableClientFor(context), context);
  },
});
