// The durable HTTP API where a client can tell it apart from the Durable extension's: purge answers,
// status timestamps and headers, the history array, entity operation times and empty 404/410 bodies.
import { EntityId } from 'durable-functions';
import { startDurableHost, waitForStatus, DurableHost } from './durableHarness';
import { waitUntil } from '@batchpilot/local-platform';

let d: DurableHost;

beforeAll(async () => {
  d = await startDurableHost('durable-http');
});

afterAll(async () => {
  await d?.host.kill();
});

const EXTENSION_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;

async function startApproval(instanceId: string): Promise<string> {
  const id = await d.client.startNew('approveOrder', { instanceId, input: { customer: 'contoso', items: 3 } });
  await waitForStatus(d.client, id, (s) => s.runtimeStatus === 'Running' && s.customStatus === 'awaiting approval');
  return id;
}

describe('purge', () => {
  it('purges a running instance with 200 and a PurgeHistoryResult, as the Azure Storage provider does', async () => {
    const id = await startApproval('purge-running');
    const res = await d.call(`/instances/${id}`, { method: 'DELETE' });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ instancesDeleted: 1 });
    await expect(d.client.getStatus(id)).rejects.toThrow(/404/);
    // The purged instance does not come back when an event arrives for it.
    await expect(d.client.raiseEvent(id, 'Approval', true)).rejects.toThrow(/No instance with ID/);
    expect((await d.client.purgeInstanceHistory(id)).instancesDeleted).toBe(0);
  });

  it('refuses to purge by filter without createdTimeFrom, with the extension message', async () => {
    const res = await d.call(`/instances/?runtimeStatus=Completed`, { method: 'DELETE' });
    expect(res.status).toBe(400);
    expect(await res.json()).toBe("Please provide value for 'createdTimeFrom' parameter.");
  });
});

describe('status', () => {
  it('formats createdTime and lastUpdatedTime without fractional seconds, in one and in a query', async () => {
    const from = new Date(Date.now() - 2000);
    const id = await startApproval('times-1');
    const one = (await (await d.call(`/instances/${id}`)).json()) as { createdTime: string; lastUpdatedTime: string };
    expect(one.createdTime).toMatch(EXTENSION_TIME);
    expect(one.lastUpdatedTime).toMatch(EXTENSION_TIME);
    const list = (await (await d.call(`/instances/?createdTimeFrom=${from.toISOString()}&instanceIdPrefix=times-`)).json()) as Array<{ createdTime: string; lastUpdatedTime: string }>;
    expect(list.length).toBeGreaterThan(0);
    for (const item of list) {
      expect(item.createdTime).toMatch(EXTENSION_TIME);
      expect(item.lastUpdatedTime).toMatch(EXTENSION_TIME);
    }
    await d.client.terminate(id, 'done');
  });

  it('answers a running instance with 202, its own URL as Location and Retry-After 5; a start with Retry-After 10', async () => {
    const start = await d.call(`/orchestrators/approveOrder`, { method: 'POST', body: JSON.stringify({ customer: 'fabrikam', items: 1 }) });
    expect(start.status).toBe(202);
    expect(start.headers.get('retry-after')).toBe('10');
    const { id, statusQueryGetUri } = (await start.json()) as { id: string; statusQueryGetUri: string };
    expect(start.headers.get('location')).toBe(statusQueryGetUri);
    await waitForStatus(d.client, id, (s) => s.runtimeStatus === 'Running');
    const asked = `${d.rpc}/instances/${id}?showInput=false`;
    const status = await d.call(asked.slice(d.rpc.length));
    expect(status.status).toBe(202);
    expect(status.headers.get('retry-after')).toBe('5');
    expect(status.headers.get('location')).toBe(asked);
    await d.client.terminate(id, 'done');
  });

  it('returns the history as one historyEvents array', async () => {
    const id = await startApproval('history-1');
    await d.client.raiseEvent(id, 'Approval', true);
    await waitForStatus(d.client, id);
    const body = (await (await d.call(`/instances/${id}?showHistory=true&showHistoryOutput=true`)).json()) as Record<string, unknown>;
    expect(Object.keys(body)).not.toContain('history');
    const events = body.historyEvents as Array<{ EventType: string; Result?: unknown }>;
    expect(events.map((e) => e.EventType)).toEqual(['ExecutionStarted', 'EventRaised', 'TaskCompleted', 'ExecutionCompleted']);
    expect(events[2].Result).toBe('reserved 3 for contoso');
  });
});

describe('entities', () => {
  it('moves lastOperationTime forward with every operation', async () => {
    const entity = new EntityId('Inventory', `shelf-${Date.now()}`);
    const listed = async (): Promise<{ lastOperationTime: string; state: number } | undefined> => {
      const list = (await (await d.call(`/entities/Inventory?fetchState=true`)).json()) as Array<{ entityId: { key: string }; lastOperationTime: string; state: number }>;
      return list.find((e) => e.entityId.key === entity.key);
    };
    const until = (state: number): Promise<{ lastOperationTime: string; state: number }> =>
      waitUntil(async () => {
        const found = await listed();
        return found?.state === state ? found : undefined;
      }, `entity ${entity.key} to reach state ${state}`);
    // Each operation's time is at or after the moment its signal was sent (same clock, no durations).
    const beforeRestock = Date.now();
    await d.client.signalEntity(entity, 'restock', 10);
    const first = await until(10);
    expect(Date.parse(first.lastOperationTime)).toBeGreaterThanOrEqual(beforeRestock);
    await new Promise((r) => setTimeout(r, 20));
    const beforeTake = Date.now();
    await d.client.signalEntity(entity, 'take', 4);
    const second = await until(6);
    expect(Date.parse(second.lastOperationTime)).toBeGreaterThanOrEqual(beforeTake);
  });
});

describe('not found and gone', () => {
  it('answers 404 with an empty body, as the extension does', async () => {
    const answers = await Promise.all([
      d.call(`/instances/no-such-instance`),
      d.call(`/instances/no-such-instance`, { method: 'DELETE' }),
      d.call(`/instances/no-such-instance/terminate`, { method: 'POST' }),
      d.call(`/instances/no-such-instance/raiseEvent/Approval`, { method: 'POST', body: 'true', headers: { 'content-type': 'application/json' } }),
      d.call(`/entities/Inventory/never-used`),
      d.call(`/nowhere`),
    ]);
    for (const res of answers) {
      expect(res.status).toBe(404);
      expect(await res.text()).toBe('');
    }
  });

  it('answers 410 with an empty body for an instance that has finished', async () => {
    const id = await startApproval('gone-1');
    await d.client.terminate(id, 'stop');
    await waitForStatus(d.client, id);
    const res = await d.call(`/instances/${id}/raiseEvent/Approval`, { method: 'POST', body: 'true', headers: { 'content-type': 'application/json' } });
    expect(res.status).toBe(410);
    expect(await res.text()).toBe('');
  });
});
