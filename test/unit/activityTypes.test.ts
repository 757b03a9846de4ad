// Activity and sub-orchestration calls are typed from the implementations (src/activities/contracts.ts,
// src/orchestrations/subOrchestrations.ts): a wrong input or a misread output does not compile. The
// checks below are compile-time — each @ts-expect-error must meet the error it expects, or ts-jest and
// `tsc -p tsconfig.test.json` fail this file — and the runtime part checks the map stays type-only.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as ts from 'typescript';
import type { OrchestrationContext } from 'durable-functions';
import { ACTIVITY, attemptActivity, callActivity, OutputLocation } from '../../src/activities/contracts';
import { callSubOrchestration } from '../../src/orchestrations/subOrchestrations';
import { RUN_BATCH_JOB, RunBatchJobInput } from '../../src/orchestrations/runBatchJob';

const output: OutputLocation = { datastore: 'workspaceblobstore', path: 'out', uri: 'azureml://datastores/workspaceblobstore/paths/out/' };

// Never run: it only has to compile (or fail to, where marked).
export function* typedCalls(context: OrchestrationContext, jobInput: RunBatchJobInput, maybeOutput: OutputLocation | undefined) {
  const verdict = yield* callActivity(context, ACTIVITY.validateRunOutputs, { runId: 'r', workspaceId: 'w', output, inputs: [], rules: {} as never, jobName: 'j' });
  const passed: boolean = verdict.passed;
  // @ts-expect-error The output of a validation is a verdict, not a run record location.
  const blobName: string = verdict.blobName;

  // @ts-expect-error An optional output location is not an output location: the caller must handle its absence.
  yield* callActivity(context, ACTIVITY.validateRunOutputs, { runId: 'r', workspaceId: 'w', output: maybeOutput, inputs: [], rules: {} as never, jobName: 'j' });
  // @ts-expect-error peekPartition takes a route name and a partition.
  yield* callActivity(context, ACTIVITY.peekPartition, { routeName: 'r' });
  // @ts-expect-error Activities are named from ACTIVITY.
  yield* callActivity(context, 'noSuchActivity', {});

  const polled = yield* attemptActivity(context, ACTIVITY.getBatchJobStatus, { workspaceId: 'w', jobName: 'j', runId: 'r' });
  const status: string | undefined = polled.ok ? polled.value.status : undefined;

  const job = yield* callSubOrchestration(context, RUN_BATCH_JOB, jobInput, 'r:job');
  // @ts-expect-error Only a completed job is sure to have written an output.
  const written: OutputLocation = job.output;
  const completedOutput: OutputLocation | undefined = job.outcome === 'Completed' ? job.output : undefined;
  // @ts-expect-error runBatchJob's input is a RunBatchJobInput.
  yield* callSubOrchestration(context, RUN_BATCH_JOB, { runId: 'r' }, 'r:job');
  return { passed, blobName, status, written, completedOutput };
}

describe('typed activity calls', () => {
  it('compiles only correct inputs and outputs (see the @ts-expect-error lines above)', () => {
    expect(typeof typedCalls).toBe('function');
  });

  it('keeps the activity map type-only: compiled, the contracts load no activity implementation', () => {
    const source = fs.readFileSync(path.resolve(__dirname, '..', '..', 'src', 'activities', 'contracts.ts'), 'utf8');
    const compiled = ts.transpileModule(source, { compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022 } }).outputText;
    expect(compiled.match(/require\("[^"]+"\)/g)).toEqual(['require("durable-functions")']);
  });
});
