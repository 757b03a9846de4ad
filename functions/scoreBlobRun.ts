import * as df from 'durable-functions';
import { SCORE_BLOB_RUN, scoreBlobRun } from '../src/orchestrations/scoreBlobRun';

df.app.orchestration(SCORE_BLOB_RUN, scoreBlobRun);
