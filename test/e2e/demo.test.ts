// The README's first command runs this demo: a folder of sample CSVs closed by a _SUCCESS marker is
// scored as one job, validated, recorded and announced.
import { startTestStack } from '../support/testStack';
import { demoRoutesYaml, RunningLocalStack } from '../../src/local/stack/localStack';
import { describeDemoOutcome, formatRunDuration, runDemo } from '../../src/local/stack/demo';

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
  // The job scored the eight CSVs, not the _SUCCESS marker beside them.
  expect(result.data.validation?.summary).toMatch(/0 of 8 files failed/);
  expect(lines.join('\n')).toMatch(/Uploading the marker/);
  // The printed duration is the run's own, from its start and finish, to the millisecond, not rounded to 0 s.
  const runInMs = Date.parse(result.data.finishedAt ?? '') - Date.parse(result.data.startedAt ?? '');
  expect(runInMs).toBeGreaterThan(0);
  const duration = describeDemoOutcome(result).find((l) => l.startsWith('Duration:'));
  expect(duration).toBe(`Duration:    ${formatRunDuration(runInMs)}`);
  expect([formatRunDuration(550), formatRunDuration(12_345), formatRunDuration(252_000)]).toEqual(['550 ms', '12.3 s', '4 min 12 s']);
});
