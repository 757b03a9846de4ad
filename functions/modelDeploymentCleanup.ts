// Timer: once a day, delete the deployments model promotions replaced or discarded once their route's
// keep period has passed (never the current default nor the rollback target).
import { app, InvocationContext, Timer } from '@azure/functions';
import type * as DeploymentCleanup from '../src/activities/deploymentCleanup';

// Loaded by the first pass, not at startup.
const load = (): typeof DeploymentCleanup => require('../src/activities/deploymentCleanup') as typeof DeploymentCleanup;

app.timer('cleanupModelDeployments', {
  schedule: '0 30 3 * * *',
  handler: async (_timer: Timer, context: InvocationContext) => {
    const results = await load().cleanUpReplacedDeployments(context);
    context.log(JSON.stringify({ message: `Deployment cleanup: ${results.reduce((n, r) => n + r.deleted.length, 0)} deleted on ${results.length} endpoint(s).` }));
  },
});
