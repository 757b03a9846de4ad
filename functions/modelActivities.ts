// The model flow's activities: deployments, validation data, the comparison and the promotion ledger.
// Their code is loaded by the first call, not at startup.
import * as df from 'durable-functions';
import { ACTIVITY } from '../src/activities/contracts';
import type * as Deployments from '../src/activities/modelDeploymentActivities';
import type * as Comparison from '../src/activities/modelComparisonActivities';

const loadDeployments = (): typeof Deployments => require('../src/activities/modelDeploymentActivities') as typeof Deployments;
const loadComparison = (): typeof Comparison => require('../src/activities/modelComparisonActivities') as typeof Comparison;

df.app.activity(ACTIVITY.resolveModelCandidate, { handler: (...args: Parameters<typeof Deployments.resolveModelCandidate>) => loadDeployments().resolveModelCandidate(...args) });
df.app.activity(ACTIVITY.deployModelCandidate, { handler: (...args: Parameters<typeof Deployments.deployModelCandidate>) => loadDeployments().deployModelCandidate(...args) });
df.app.activity(ACTIVITY.resolveValidationData, { handler: (...args: Parameters<typeof Comparison.resolveValidationData>) => loadComparison().resolveValidationData(...args) });
df.app.activity(ACTIVITY.compareModelPredictions, { handler: (...args: Parameters<typeof Comparison.compareModelPredictions>) => loadComparison().compareModelPredictions(...args) });
df.app.activity(ACTIVITY.switchDefaultDeployment, { handler: (...args: Parameters<typeof Deployments.switchDefaultDeployment>) => loadDeployments().switchDefaultDeployment(...args) });
df.app.activity(ACTIVITY.recordModelLedgerEntry, { handler: (...args: Parameters<typeof Deployments.recordModelLedgerEntry>) => loadDeployments().recordModelLedgerEntry(...args) });
df.app.activity(ACTIVITY.readModelRollbackTarget, { handler: (...args: Parameters<typeof Deployments.readModelRollbackTarget>) => loadDeployments().readModelRollbackTarget(...args) });
