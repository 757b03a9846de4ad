// The model flow's orchestrations: promoteModel (registration → candidate → comparison → gate →
// promotion) and rollbackModel (an operator restores the previous default).
import * as df from 'durable-functions';
import { PROMOTE_MODEL, promoteModel } from '../src/orchestrations/promoteModel';
import { ROLLBACK_MODEL, rollbackModel } from '../src/orchestrations/rollbackModel';

df.app.orchestration(PROMOTE_MODEL, promoteModel);
df.app.orchestration(ROLLBACK_MODEL, rollbackModel);
