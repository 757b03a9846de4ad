// The run-start timer: every two seconds, starts the runs the storage intake accepted
// (src/events/acceptedRuns.ts). The Functions host skips a tick while the previous one still runs, so
// one pass at a time works through a burst.
import { app, InvocationContext, Timer } from '@azure/functions';
import * as df from 'durable-functions';
import { durableClientFor } from '../src/azure/durableClient';
import type * as AcceptedRuns from '../src/events/acceptedRuns';

// The starting code (and the run index it writes) is loaded by the first tick, not at startup.
const load = (): typeof AcceptedRuns => require('../src/events/acceptedRuns') as typeof AcceptedRuns;

app.timer('startAcceptedRuns', {
  schedule: '*/2 * * * * *',
  extraInputs: [df.input.durableClient()],
  handler: async (_timer: Timer, context: InvocationContext) => {
    const report = await load().startAcceptedRuns(durableClientFor(context), context);
    if (report.due > 0) context.log(JSON.stringify({ ...report, message: 'Started accepted runs.' }));
  },
});
