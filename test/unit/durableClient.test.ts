// The app's Durable client: hostile instance IDs, event names and reasons stay data in the management
// URL, for both kinds of binding (the local host's keyed management URLs and the extension's RPC base).
import { API_PREFIX, RecordingDurableApi } from '../support/recordingDurableApi';
import { UnsafeDurableIdError, withEncodedIds } from '../../src/azure/durableClient';

const HOSTILE_IDS = [
  'bp-x/terminate?reason=x#',
  'bp-x:job/terminate?reason=hostile#',
  '../instances/victim/terminate',
  'x/../victim',
  'a?b=c',
  'a#b',
  'a%2Fb',
  'a\\b',
  "$&$'$`",
  '%',
  ' spaced id ',
  'ünïcödé-🚀-ИД',
  'x'.repeat(5000),
];

let api: RecordingDurableApi;
beforeAll(async () => {
  api = await RecordingDurableApi.start();
});
afterAll(async () => {
  await api?.stop();
});
beforeEach(() => api.clear());

describe.each([
  ['the local host binding (keyed management URLs)', false],
  ['the extension binding (RPC base URL)', true],
])('with %s', (_what, rpc) => {
  const client = () => withEncodedIds(api.client({ rpc }));
  const instancePath = (id: string) => `${API_PREFIX}/instances/${encodeURIComponent(id)}`;

  it.each(HOSTILE_IDS.map((id) => [id.length > 40 ? `${id.slice(0, 20)}… (${id.length} chars)` : id, id]))('keeps the instance ID %s one path segment in every call', async (_label, id) => {
    api.instances.set(id, { name: 'runBatchJob', runtimeStatus: 'Running' });
    const c = client();
    const status = await c.getStatus(id);
    expect(status.instanceId).toBe(id);
    await c.raiseEvent(id, 'JobStatusChanged', { a: 1 });
    await c.terminate(id, 'because?x=1#y');
    await c.suspend(id, 'pause/now');
    await c.resume(id, 'go & on');
    await c.rewind(id, '../retry');
    await c.purgeInstanceHistory(id);
    await c.startNew('runBatchJob', { instanceId: id, input: { x: 1 } });
    expect(api.requests.map((r) => [r.method, r.path])).toEqual([
      ['GET', instancePath(id)],
      ['POST', `${instancePath(id)}/raiseEvent/JobStatusChanged`],
      ['POST', `${instancePath(id)}/terminate`],
      ['POST', `${instancePath(id)}/suspend`],
      ['POST', `${instancePath(id)}/resume`],
      ['POST', `${instancePath(id)}/rewind`],
      ['DELETE', instancePath(id)],
      ['POST', `${API_PREFIX}/orchestrators/runBatchJob/${encodeURIComponent(id)}`],
    ]);
    expect(api.requests.slice(2, 6).map((r) => r.query.get('reason'))).toEqual(['because?x=1#y', 'pause/now', 'go & on', '../retry']);
  });

  it('refuses the IDs no encoding keeps in place (empty, . and ..) without sending anything', async () => {
    const c = client();
    for (const id of ['', '.', '..']) {
      await expect(c.getStatus(id)).rejects.toThrow(UnsafeDurableIdError);
      await expect(c.raiseEvent(id, 'E', 1)).rejects.toThrow(/cannot be used with the Durable client/);
      await expect(c.terminate(id, 'r')).rejects.toThrow(UnsafeDurableIdError);
      await expect(c.startNew('runBatchJob', { instanceId: id })).rejects.toThrow(UnsafeDurableIdError);
    }
    await expect(c.raiseEvent('ok', '..', 1)).rejects.toThrow(/Event name/);
    expect(api.requests).toEqual([]);
  });

  it('encodes event names and entity IDs, and wraps a client only once', async () => {
    const c = client();
    api.instances.set('run-1', { name: 'x', runtimeStatus: 'Running' });
    await c.raiseEvent('run-1', 'Approval/../../terminate?', 1);
    expect(api.requests[0].path).toBe(`${instancePath('run-1')}/raiseEvent/${encodeURIComponent('Approval/../../terminate?')}`);
    expect(withEncodedIds(c)).toBe(c);
    await withEncodedIds(c).getStatus('a/b').catch(() => undefined);
    expect(api.requests[1].path).toBe(instancePath('a/b'));
  });

  it('builds management links from the encoded ID and keeps the ID itself as given', () => {
    const links = client().createHttpManagementPayload('bp-x/terminate?#');
    expect(links.id).toBe('bp-x/terminate?#');
    expect(links.terminatePostUri).toContain(`/instances/${encodeURIComponent('bp-x/terminate?#')}/terminate?`);
    expect(new URL(links.statusQueryGetUri).pathname).toBe(`${API_PREFIX}/instances/${encodeURIComponent('bp-x/terminate?#')}`);
  });
});

describe('the library itself', () => {
  // Why the wrapper exists, and a tripwire: should durable-functions start encoding IDs, the wrapper
  // would encode twice and must go.
  it('puts an instance ID into the URL as it is, so a hostile ID changes the operation', async () => {
    const raw = api.client({ rpc: true });
    api.instances.set('victim', { name: 'x', runtimeStatus: 'Running' });
    await raw.raiseEvent('victim/terminate?reason=x#', 'JobStatusChanged', {}).catch(() => undefined);
    expect(api.requests[0]).toMatchObject({ method: 'POST', path: `${API_PREFIX}/instances/victim/terminate` });
  });
});
