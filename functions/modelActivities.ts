// The model flow's activities: deployments, validation data, the comparison and the promotion ledger.
import * as df from 'durable-functions';
import { ACTIVITY } from '../src/activities/contracts';
import { deployModelCandidate, readModelRollbackTarget, recordModelLedgerEntry, resolveModelCandidate, switchDefaultDeployment } from '../src/activities/modelDeploymentActivities';
import { compareModelPredictions, resolveValidationData } from '../src/activities/modelComparisonActivities';

df.app.activity(ACTIVITY.resolveModelCandidate, { handler: resolveModelCandidate });
df.app.activity(ACTIVITY.deployModelCandidate, { handler: deployModelCandidate });
df.app.activity(ACTIVITY.resolveValidationData, { handler: resolveValidationData });
df.app.activity(ACTIVITY.compareModelPredictions, { handler: compareModelPredictions });
df.app.activity(ACTIVITY.switchDefaultDeployment, { handler: switchDefaultDeployment });
df.app.activity(ACTIVITY.recordModelLedgerEntry, { handler: recordModelLedgerEntry });
df.app.activity(ACTIVITY.readModelRollbackTarget, { handler: readModelRollbackTarget });
