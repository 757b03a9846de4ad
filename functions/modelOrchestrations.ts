import * as df from 'durable-functions';
import { PROMOTE_MODEL, promoteModel } from '../src/orchestrations/promoteModel';
import { ROLLBACK_MODEL, rollbackModel } from '../src/orchestrations/rollbackModel';

df.app.orchestration(PROMOTE_MODEL, promoteModel);
df.app.orchestration(ROLLBACK_MODEL, rollbackModel);
