// An orchestrator whose code changed between episodes is not silently mis-replayed: the instance fails
// with a message naming the step recorded in its history and the step the changed code produced.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { startDurableHost, waitForStatus, DurableHost } from './durableHarness';
import { PACKAGE_ROOT } from '../support/packageRoot';
import { uniqueName } from '@batchpilot/local-platform';

const hub = uniqueName('nondet');
const variantFile = path.join(PACKAGE_ROOT, 'test', 'artifacts', hub, 'variant.txt');
let d: DurableHost;

beforeAll(async () => {
  fs.mkdirSync(path.dirname(variantFile), { recursive: true });
  fs.writeFileSync(variantFile, 'a');
  d = await startDurableHost('durable-nondeterminism', { hub, env: { VARIANT_FILE: variantFile } });
});
afterAll(async () => {
  await d?.host.kill();
});

it('fails an instance whose orchestrator changed between episodes, naming expected and actual steps', async () => {
  const id = await d.client.startNew('ChangingOrchestrator');
  await waitForStatus(d.client, id, (s) => s.customStatus === 'waiting');
  fs.writeFileSync(variantFile, 'b');
  await d.client.raiseEvent(id, 'continue', null);
  const status = await waitForStatus(d.client, id);
  expect(status.runtimeStatus).toBe('Failed');
  const message = String(status.output);
  expect(message).toMatch(/Non-deterministic orchestrator detected/);
  expect(message).toContain("was CallActivity 'StepA' when the history was recorded");
  expect(message).toContain("replay now produced CallActivity 'StepB'");
  expect(message).toContain(`instance '${id}'`);
});

it('keeps running unchanged orchestrators normally', async () => {
  fs.writeFileSync(variantFile, 'b');
  const id = await d.client.startNew('ChangingOrchestrator');
  await waitForStatus(d.client, id, (s) => s.customStatus === 'waiting');
  await d.client.raiseEvent(id, 'continue', null);
  const status = await waitForStatus(d.client, id);
  expect(status.runtimeStatus).toBe('Completed');
  expect(status.output).toBe('b');
});
