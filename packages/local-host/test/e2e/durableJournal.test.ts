// The durable engine's commit journal against Azurite: a step is durable once its record is in the
// journal, even when the process dies before the instance rows follow. Records carry only the events a
// step added (the rest travel in rows written ahead or in earlier records); a new process rebuilds
// state and history from them, writes the rows, hands back the messages to deliver again, and the
// journal empties once those are delivered.
import { TableClient } from '@azure/data-tables';
import { DurableStore } from '../../src/durable/durableStore';
import { HistoryEvent, HistoryEventType, historyEvent } from '../../src/durable/historyEvents';
import { InstanceState, RuntimeStatus, newReplayState } from '../../src/durable/instanceModel';
import type { OutboundMessage } from '../../src/durable/episodeOutcome';
import { testAzurite, uniqueName, waitUntil } from '@batchpilot/local-platform';

const hub = uniqueName('journal');
const HOUR_IN_MS = 3_600_000;

function state(instanceId: string, version: number, historyCount: number, runtimeStatus: RuntimeStatus = 'Running'): InstanceState {
  const at = new Date(Date.UTC(2026, 0, 1, 0, 0, version)).toISOString();
  return { instanceId, kind: 'orchestration', name: 'Workflow', executionId: 'e1', runtimeStatus, createdTime: at, lastUpdatedTime: at, historyCount, episodes: version, replay: newReplayState(), version };
}

function episode(at: number, taskId: number, input: string, completed?: string): HistoryEvent[] {
  const now = new Date(Date.UTC(2026, 0, 1, 0, 0, at));
  return [
    historyEvent.orchestratorStarted(now),
    ...(completed === undefined ? [] : [historyEvent.taskCompleted(now, taskId - 1, completed)]),
    historyEvent.taskScheduled(now, taskId, 'Step', input),
    historyEvent.orchestratorCompleted(now),
  ];
}

/** Commits `steps` episodes of one instance as the engine does: each with the whole history so far. */
async function commitSteps(store: DurableStore, instanceId: string, steps: HistoryEvent[][], outbound: OutboundMessage[] = []): Promise<HistoryEvent[]> {
  let history: HistoryEvent[] = [];
  let flushedEvents: number | undefined;
  for (let v = 1; v <= steps.length; v++) {
    history = history.concat(steps[v - 1]);
    const next = { ...state(instanceId, v, history.length), flushedEvents };
    await store.commit({ state: next, history, consumed: [], outbound: v === steps.length ? outbound : [] });
    flushedEvents = next.flushedEvents;
  }
  return history;
}

function shape(events: HistoryEvent[]): Array<[HistoryEventType, number, string | undefined]> {
  return events.map((e) => [e.EventType, e.EventType === HistoryEventType.TaskCompleted ? e.TaskScheduledId! : e.EventId, e.Input ?? e.Result]);
}

it('rebuilds instances from the journal after the process died before writing their rows, then empties it', async () => {
  const { connectionString } = testAzurite();
  const first = new DurableStore(connectionString, hub, { maxRowDelayInMs: HOUR_IN_MS });
  await first.initialize();
  await first.recoverJournal();

  const small = await commitSteps(first, 'small', [episode(1, 0, '"a"'), episode(2, 1, '"b"', '"A"'), episode(3, 2, '"c"', '"B"')]);
  // A tail over the row's limit goes to a history row written ahead; the next record only adds events.
  // (Each payload stays under the length that would move it to a blob; twelve of them make the long tail.)
  const at1 = new Date(Date.UTC(2026, 0, 1, 0, 0, 1));
  const fanOut = [historyEvent.orchestratorStarted(at1), ...Array.from({ length: 12 }, (_, i) => historyEvent.taskScheduled(at1, i, 'Step', JSON.stringify(String.fromCharCode(97 + i).repeat(28_000)))), historyEvent.orchestratorCompleted(at1)];
  const big = await commitSteps(first, 'big', [fanOut, episode(2, 12, '"after"', '"done"')]);
  const message: OutboundMessage = { target: 'elsewhere', envelopeId: 'msg-1', message: { type: 'EventRaised', name: 'Ping', input: '1' } };
  await commitSteps(first, 'sender', [episode(1, 0, '"s"')], [message]);
  // `first` is abandoned here, as a killed process would be: its rows were never written.

  const reader = new DurableStore(connectionString, hub);
  const seen = await reader.readStateAndHistory('small');
  expect(seen?.state.version).toBe(3);
  expect(shape(seen!.history)).toEqual(shape(small));
  const seenBig = await reader.readStateAndHistory('big');
  expect(seenBig?.state.flushedEvents).toBe(fanOut.length);
  expect(shape(seenBig!.history)).toEqual(shape(big));

  const second = new DurableStore(connectionString, hub);
  await second.initialize();
  const messages = await second.recoverJournal();
  expect(messages.map((m) => [m.owner, m.outbound])).toEqual([['sender', [message]]]);
  for (const id of ['small', 'big', 'sender']) expect((await second.readState(id))?.version).toBe(id === 'small' ? 3 : id === 'big' ? 2 : 1);
  const loaded = await second.loadInstance('big');
  expect(shape(loaded!.history)).toEqual(shape(big));
  expect(loaded!.history.every((e) => e.IsPlayed)).toBe(true);

  // Everything in the journal is applied; the message keeps its entry until it is delivered.
  const journal = TableClient.fromConnectionString(connectionString, `${hub}Journal`, { allowInsecureConnection: true });
  const entries = async (): Promise<number> => {
    let n = 0;
    for await (const _row of journal.listEntities()) n++;
    return n;
  };
  expect(await entries()).toBeGreaterThan(0);
  messages[0].receipt.delivered();
  await waitUntil(async () => (await entries()) === 0, 'the journal to empty');

  // A later commit of a recovered instance stands alone in the journal (its rows are current).
  const more = small.concat(episode(4, 3, '"d"', '"C"'));
  await second.commit({ state: state('small', 4, more.length, 'Completed'), history: more, consumed: [], outbound: [] });
  await second.close();
  const after = await new DurableStore(connectionString, hub).readStateAndHistory('small');
  expect(after?.state.runtimeStatus).toBe('Completed');
  expect(shape(after!.history)).toEqual(shape(more));
});
