// Payloads larger than a table row (issue 16.2): a fan-out over 2,700 items whose orchestration input
// and custom status are hundreds of KB, whose activity inputs add up to megabytes of state, and one of
// whose activity results is ~700 KB, completes with the right result, also when the host is killed
// (SIGKILL) half-way. The engine keeps such payloads in the task hub's large-messages container;
// purging the instance deletes them.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BlobServiceClient } from '@azure/storage-blob';
import { startDurableHost, waitForStatus, DurableHost } from './durableHarness';
import { PACKAGE_ROOT } from '../support/packageRoot';
import { testAzurite, uniqueName } from '@batchpilot/local-platform';

const hub = uniqueName('offload');
const artifacts = path.join(PACKAGE_ROOT, 'test', 'artifacts', hub);
const activityLog = path.join(artifacts, 'activities.log');
const CATALOG_CHARS = 500_000;
const DESCRIPTION_CHARS = 700_000;

function filler(seed: string, chars: number): string {
  const unit = `${seed}:abcdefghijklmnopqrstuvwxyz0123456789|`;
  return unit.repeat(Math.ceil(chars / unit.length)).slice(0, chars);
}

function completedActivities(): number {
  return fs.existsSync(activityLog) ? fs.readFileSync(activityLog, 'utf8').split('\n').filter(Boolean).length : 0;
}

async function blobsOf(instanceId: string): Promise<string[]> {
  const container = BlobServiceClient.fromConnectionString(testAzurite().connectionString).getContainerClient(`${hub}-largemessages`);
  if (!(await container.exists())) return [];
  const names: string[] = [];
  for await (const blob of container.listBlobsFlat({ prefix: `${encodeURIComponent(instanceId)}/` })) names.push(blob.name);
  return names;
}

let first: DurableHost | undefined;
let second: DurableHost | undefined;
afterAll(async () => {
  await first?.host.kill();
  await second?.host.kill();
});

it('fans out 2,700 items with large inputs and a 700 KB result, across a SIGKILL, and purge deletes the blobs', async () => {
  fs.mkdirSync(artifacts, { recursive: true });
  const env = { ACTIVITY_LOG: activityLog };
  first = await startDurableHost('durable-large', { hub, env });
  const input = { items: 2700, attributeChars: 2048, catalogChars: CATALOG_CHARS, catalog: filler('catalog', CATALOG_CHARS), largeIndex: 3, descriptionChars: DESCRIPTION_CHARS, delayInMs: 15 };
  const id = await first.client.startNew('CatalogFanOut', { instanceId: 'catalog-1', input });

  // Half-way: the large result is in, most items are not.
  const deadline = Date.now() + 180_000;
  while (completedActivities() < 600 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  expect(completedActivities()).toBeGreaterThanOrEqual(600);
  expect(completedActivities()).toBeLessThan(2700);
  await first.host.kill('SIGKILL');
  first = undefined;

  second = await startDurableHost('durable-large', { hub, env });
  const status = await waitForStatus(second.client, id, undefined, { timeoutInMs: 300_000, showHistory: false });
  expect(status.runtimeStatus).toBe('Completed');
  const output = status.output as Record<string, unknown>;
  expect({ ...output, description: undefined }).toEqual({
    items: 2700,
    inOrder: true,
    attributesIntact: true,
    catalogIntact: true,
    descriptionChars: DESCRIPTION_CHARS,
    descriptionIntact: true,
    description: undefined,
  });
  expect(output.description).toBe(filler('d3', DESCRIPTION_CHARS));
  expect((status.input as { catalog: string }).catalog).toBe(input.catalog);
  expect(status.customStatus).toEqual({ phase: 'done' });

  expect((await blobsOf(id)).length).toBeGreaterThan(0);
  await second.client.purgeInstanceHistory(id);
  expect(await blobsOf(id)).toEqual([]);
  await expect(second.client.getStatus(id)).rejects.toThrow(/404/);
});
