// The run-start timer: every two seconds, starts the runs the storage intake accepted
// (src/events/acceptedRuns.ts). The Functions host skips a tick while the previous one still runs, so
// one pass at a time works through a burst.
import { app, InvocationContext, Timer } from '@azure/functions';
import * as df from 'durable-functions';
import { durableClientFor } from '../src/azure/durableClient';
import { startAcceptedRuns } from '../src/events/acceptedRuns';

app.timer('startAcceptedRuns', {
  schedule: '*/2 * * * * *',
  extraInputs: [df.input.durableClient()],
  handler: async (_timer: Timer, context: InvocationContext) => {
    const report = await startAcceptedRuns(durableClientFor(context), context);
    if (report.due > 0) context.log(JSON.stringify({ ...report, message: 'Started accepted runs.' }));
  },
});
