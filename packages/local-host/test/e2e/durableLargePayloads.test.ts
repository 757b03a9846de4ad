// Large results in the durable engine's storage: a fan-in whose results together exceed what one Table
// storage transaction carries (4 MiB) is committed in several, and completes; a single result too
// large for a table row is kept in a blob, and the instance completes.
import { startDurableHost, waitForStatus, DurableHost } from './durableHarness';

let d: DurableHost;
beforeAll(async () => {
  d = await startDurableHost('durable-basics');
});
afterAll(async () => {
  await d?.host.kill();
});

it('fans in 1,000 activity results of 10 KB each (10 MB of history) and completes', async () => {
  const id = await d.client.startNew('FanOutLargeResults', { input: { count: 1000, chars: 10 * 1024 } });
  const status = await waitForStatus(d.client, id, undefined, { timeoutInMs: 90_000, showHistory: false });
  expect(d.host.logs.filter((l) => l.message.includes(id) && /retrying/.test(l.message)).map((l) => l.message)).toEqual([]);
  expect(status.runtimeStatus).toBe('Completed');
  expect(status.output).toEqual({ count: 1000, chars: 1000 * 10 * 1024, intact: true });
});

it('completes when an activity result is larger than a table row (it is kept in a blob)', async () => {
  const id = await d.client.startNew('FanOutLargeResults', { input: { count: 2, chars: 1024 * 1024 } });
  const status = await waitForStatus(d.client, id, undefined, { timeoutInMs: 90_000, showHistory: false });
  expect(status.runtimeStatus).toBe('Completed');
  expect(status.output).toEqual({ count: 2, chars: 2 * 1024 * 1024, intact: true });
});
