// The run index's maintenance timer (src/operator/runIndexBackfill.ts): goes on with the backfill of
// runs from before the index until it is complete, then checks runs the index shows unfinished against
// their instances, and counts each route's runs stuck past their timeout for the alert. Also at
// startup, so a new deployment's index is ready at once: the steps are idempotent and cheap once there is nothing to do (a read of the backfill state, the unfinished runs).
import { app, InvocationContext, Timer } from '@azure/functions';
import * as df from 'durable-functions';
import { durableClientFor } from '../src/azure/durableClient';
import { appRunIndex } from '../src/azure/runIndex';
import { backfillRunIndex, maintainRunIndex } from '../src/operator/runIndexBackfill';
import { reportStuckRuns } from '../src/operator/routeHealth';

app.timer('maintainRunIndex', {
  schedule: '0 */5 * * * *',
  runOnStartup: true,
  extraInputs: [df.input.durableClient()],
  handler: async (_timer: Timer, context: InvocationContext) => {
    const client = durableClientFor(context);
    const index = await appRunIndex();
    const backfill = await backfillRunIndex(client, index, { timeBudgetInMs: 60_000 });
    const report = await maintainRunIndex(client, index);
    // The stuck-runs alert (infra/app/alerts.bicep) reads what this pass counts.
    const stuckRuns = await reportStuckRuns(index);
    context.log(JSON.stringify({ backfill: { state: backfill.state, instancesRead: backfill.instancesRead, runsWritten: backfill.runsWritten }, ...report, stuckRuns, message: 'Run index maintenance done.' }));
  },
});
