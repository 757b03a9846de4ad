// Large payloads in the durable engine's storage, against Azurite: PayloadBlobs replaces long strings
// (and values whose JSON stays long) by references to blobs that exist once encoding returns, resolves
// them back unchanged, writes the same blob when the same value is encoded again, and purges by
// instance. The store commits a step whose state, input and result are far larger than a table row; a
// process that dies before writing the instance row leaves a journal from which another rebuilds it.
import { TableClient } from '@azure/data-tables';
import { DurableStore } from '../../src/durable/durableStore';
import { PayloadBlobs } from '../../src/durable/payloadBlobs';
import { HistoryEvent, historyEvent } from '../../src/durable/historyEvents';
import { InstanceState, newReplayState } from '../../src/durable/instanceModel';
import { MAX_ROW_TEXT_CHARS, unpackText } from '../../src/durable/tablePayloads';
import { testAzurite, uniqueName, waitUntil } from '@batchpilot/local-platform';

const HOUR_IN_MS = 3_600_000;

async function blobNames(blobs: PayloadBlobs, instanceId: string): Promise<string[]> {
  const names: string[] = [];
  for await (const b of blobs.container.listBlobsFlat({ prefix: PayloadBlobs.prefixOf(instanceId) })) names.push(b.name);
  return names.sort();
}

it('offloads long strings and long values to blobs, resolves them unchanged, and purges by instance', async () => {
  const blobs = new PayloadBlobs(testAzurite().connectionString, uniqueName('blobs'));
  await blobs.initialize();
  const value = { small: 'x', long: `"${'L'.repeat(100_000)}"`, nested: [{ deep: 'é'.repeat(40_000) }, 7], n: 3 };
  // The synchronous path gives text only for values that need no blob.
  expect(blobs.plainJson({ small: 'x', n: 3 })).toBe('{"small":"x","n":3}');
  expect(blobs.plainJson(value)).toBeUndefined();
  expect(blobs.plainJson({ items: 'i'.repeat(200) }, 100)).toBeUndefined();
  const encoded = await blobs.encode('inst/1', value);
  expect(encoded.json.length).toBeLessThan(1000);
  expect(encoded.wholeBlob).toBeUndefined();
  // The blobs are there by the time the reference is handed out.
  const written = await blobNames(blobs, 'inst/1');
  expect(written).toHaveLength(2);
  expect(await new PayloadBlobs(testAzurite().connectionString, blobs.container.containerName.replace(/-largemessages$/, '')).parse(encoded.json)).toEqual(value);

  // Encoding the same value again (a retried step) refers to the same blobs.
  expect((await blobs.encode('inst/1', value)).json).toBe(encoded.json);
  expect(await blobNames(blobs, 'inst/1')).toEqual(written);

  // Thousands of short strings: the JSON stays long once no string is, so the value goes whole.
  const many = { items: Array.from({ length: 3000 }, (_, i) => `${'i'.repeat(2000)}${i}`) };
  const whole = await blobs.encode('inst/10', many, 100_000);
  expect(whole.wholeBlob).toBeDefined();
  expect(whole.json.length).toBeLessThan(200);
  expect(await blobs.parse(whole.json)).toEqual(many);

  expect(await blobs.purge('inst/1')).toBe(2);
  expect(await blobNames(blobs, 'inst/1')).toEqual([]);
  expect(await blobNames(blobs, 'inst/10')).toHaveLength(1);
});

it('commits a step larger than any row, and another process rebuilds it from the journal and blobs', async () => {
  const { connectionString } = testAzurite();
  const hub = uniqueName('bigstep');
  const at = new Date(Date.UTC(2026, 0, 1));
  const input = JSON.stringify({ catalog: 'c'.repeat(500_000) });
  const result = JSON.stringify('r'.repeat(700_000));
  const replay = newReplayState();
  for (let i = 0; i < 2700; i++) replay.openTasks[String(i + 1)] = { kind: 'activity', name: 'Enrich', input: JSON.stringify({ index: i, attributes: 'a'.repeat(2048) })};
  const history: HistoryEvent[] = [
    historyEvent.orchestratorStarted(at),
    historyEvent.executionStarted(at, { name: 'Catalog', input, instanceId: 'catalog', executionId: 'e1' }),
    historyEvent.taskScheduled(at, 0, 'Describe', '"x"'),
    historyEvent.orchestratorCompleted(at),
    historyEvent.orchestratorStarted(at),
    historyEvent.taskCompleted(at, 0, result),
    ...Array.from({ length: 2700 }, (_, i) => historyEvent.taskScheduled(at, i + 1, 'Enrich', (replay.openTasks[String(i + 1)] as { input: string }).input)),
    historyEvent.orchestratorCompleted(at),
  ];
  const state: InstanceState = {
    instanceId: 'catalog', kind: 'orchestration', name: 'Catalog', executionId: 'e1', runtimeStatus: 'Running', input,
    customStatus: JSON.stringify({ head: 'h'.repeat(200_000) }), createdTime: at.toISOString(), lastUpdatedTime: at.toISOString(),
    historyCount: history.length, episodes: 2, replay, version: 1,
  };
  const expected = JSON.parse(JSON.stringify(state)) as InstanceState;

  const first = new DurableStore(connectionString, hub, { maxRowDelayInMs: HOUR_IN_MS });
  await first.initialize();
  await first.recoverJournal();
  await first.commit({ state, history, consumed: [], outbound: [] });
  // `first` dies here: the instance row was never written.

  const reader = await new DurableStore(connectionString, hub).readStateAndHistory('catalog');
  expect({ ...reader!.state, flushedEvents: undefined }).toEqual({ ...expected, flushedEvents: undefined });
  expect(reader!.history.map((e) => e.Result ?? e.Input)).toEqual(history.map((e) => e.Result ?? e.Input));

  const second = new DurableStore(connectionString, hub);
  await second.initialize();
  await second.recoverJournal();
  const loaded = await second.loadInstance('catalog');
  expect(loaded!.state.input).toBe(input);
  expect(loaded!.state.replay).toEqual(expected.replay);
  expect(loaded!.history.find((e) => e.Result !== undefined)?.Result).toBe(result);
  expect(loaded!.history).toHaveLength(history.length);

  // The row itself stays small: the payloads are in blobs.
  const rows = TableClient.fromConnectionString(connectionString, `${hub}Instances`, { allowInsecureConnection: true });
  for await (const row of rows.listEntities<Record<string, unknown>>()) expect((unpackText(row, 'State') ?? '').length + (unpackText(row, 'Tail') ?? '').length).toBeLessThan(MAX_ROW_TEXT_CHARS);

  expect(await second.purgeInstance('catalog')).toBe(true);
  expect(await blobNames(second.blobs, 'catalog')).toEqual([]);
  await second.close();
});

it('deletes the blob of a large state once a newer instance row supersedes it', async () => {
  const { connectionString } = testAzurite();
  const store = new DurableStore(connectionString, uniqueName('supersede'), { maxRowDelayInMs: 0, supersededBlobGraceInMs: 0 });
  await store.initialize();
  await store.recoverJournal();
  const at = new Date(Date.UTC(2026, 0, 1)).toISOString();
  const replay = newReplayState();
  // 200 pending inputs of 1 KB: no string is long, the state's JSON is, so it goes whole.
  for (let i = 0; i < 200; i++) replay.openTasks[String(i)] = { kind: 'activity', name: 'Enrich', input: 'p'.repeat(1024) + i};
  const history = [historyEvent.orchestratorStarted(new Date(at))];
  const step = (version: number): InstanceState => ({
    instanceId: 'grows', kind: 'orchestration', name: 'Grows', executionId: 'e1', runtimeStatus: 'Running', createdTime: at, lastUpdatedTime: at,
    historyCount: history.length, episodes: version, replay: { ...replay, nextTaskId: version }, version,
  });
  for (let v = 1; v <= 3; v++) {
    await store.commit({ state: step(v), history, consumed: [], outbound: [] });
    await store.flush(['grows']);
  }
  await waitUntil(async () => (await blobNames(store.blobs, 'grows')).length === 1, 'the superseded state blobs to be deleted');
  expect((await store.readState('grows'))?.replay.nextTaskId).toBe(3);
  await store.close();
});
