// The run index's maintenance timer (src/operator/runIndexBackfill.ts): goes on with the backfill of
// runs from before the index until it is complete, then checks runs the index shows unfinished against
// their instances, and counts each route's runs stuck past their timeout for the alert. Also at
// startup, so a new deployment's index is ready at once: the steps are idempotent and cheap once there is nothing to do (a read of the backfill state, the unfinished runs).
import { app, InvocationContext, Timer } from '@azure/functions';
import * as df from 'durable-functions';
import { durableClientFor } from '../src/azure/durableClient';
import type * as RunIndex from '../src/azure/runIndex';
import type * as Backfill from '../src/operator/runIndexBackfill';
import type * as RouteHealth from '../src/operator/routeHealth';

// Loaded by the first pass, not at startup.
const load = (): typeof RunIndex & typeof Backfill & typeof RouteHealth => ({
  ...(require('../src/azure/runIndex') as typeof RunIndex),
  ...(require('../src/operator/runIndexBackfill') as typeof Backfill),
  ...(require('../src/operator/routeHealth') as typeof RouteHealth),
});

app.timer('maintainRunIndex', {
  schedule: '0 */5 * * * *',
  runOnStartup: true,
  extraInputs: [df.input.durableClient()],
  handler: async (_timer: Timer, context: InvocationContext) => {
    const { appRunIndex, backfillRunIndex, maintainRunIndex, reportStuckRuns } = load();
    const client = durableClientFor(context);
    const index = await appRunIndex();
    const backfill = await backfillRunIndex(client, index, { timeBudgetInMs: 60_000 });
    const report = await maintainRunIndex(client, index);
    // The stuck-runs alert (infra/app/alerts.bicep) reads what this pass counts.
    const stuckRuns = await reportStuckRuns(index);
    context.log(JSON.stringify({ backfill: { state: backfill.state, instancesRead: backfill.instancesRead, runsWritten: backfill.runsWritten }, ...report, stuckRuns, message: 'Run index maintenance done.' }));
  },
});
