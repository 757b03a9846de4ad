// The model flow's orchestrations: promoteModel (registration → candidate → comparison → gate →
// promotion), its scoring step scoreSideBySide, and rollbackModel (an operator restores the previous
// default).
import * as df from 'durable-functions';
import { PROMOTE_MODEL, promoteModel } from '../src/orchestrations/promoteModel';
import { ROLLBACK_MODEL, rollbackModel } from '../src/orchestrations/rollbackModel';
import { SCORE_SIDE_BY_SIDE, scoreSideBySide } from '../src/orchestrations/scoreSideBySide';

df.app.orchestration(PROMOTE_MODEL, promoteModel);
df.app.orchestration(SCORE_SIDE_BY_SIDE, scoreSideBySide);
df.app.orchestration(ROLLBACK_MODEL, rollbackModel);
