// The README's first command runs this demo: a folder of sample CSVs closed by a _SUCCESS marker is
// scored as one job, validated, recorded and announced.
import { startTestStack } from '../support/testStack';
import { demoRoutesYaml, RunningLocalStack } from '../../src/local/stack/localStack';
import { runDemo } from '../../src/local/stack/demo';

let stack: RunningLocalStack;
beforeAll(async () => {
  stack = await startTestStack(demoRoutesYaml());
}, 120_000);
afterAll(async () => {
  await stack?.stop();
});

it('runs the demo to a completed, validated run and its completion event', async () => {
  const lines: string[] = [];
  const result = await runDemo(stack, { say: (l) => lines.push(l), timeoutInMs: 90_000 });
  expect(result.type).toBe('Batchpilot.Demo.Run.Completed');
  expect(result.data.outcome).toBe('Completed');
  expect(result.data.jobName).toMatch(/\S/);
  expect(result.data.validation).toMatchObject({ passed: true });
  expect(result.data.validation?.summary).toMatch(/320 rows for 320 input rows/);
  expect(lines.join('\n')).toMatch(/Uploading the marker/);
});
