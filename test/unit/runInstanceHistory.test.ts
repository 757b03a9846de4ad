// A run's history is read where the app's durable client sends its own status queries: the in-instance
// RPC listener when the binding has one (Azure), the keyed management URL otherwise (the local host),
// and never the app's public host name, which App Service authentication guards.
import { readInstance } from '../../src/operator/runInstances';
import { API_PREFIX, RecordingDurableApi, SYSTEM_KEY } from '../support/recordingDurableApi';

let api: RecordingDurableApi;

beforeAll(async () => {
  api = await RecordingDurableApi.start();
  api.instances.set('bp-daily-1/../x?y#z', { name: 'scoreBlobRun', runtimeStatus: 'Completed' });
});

afterAll(() => api.stop());

beforeEach(() => api.clear());

describe('reading a run with its history', () => {
  it('asks the RPC listener, without a key, when the binding has an rpcBaseUrl', async () => {
    const status = await readInstance(api.client({ rpc: true }), 'bp-daily-1/../x?y#z', { history: true });
    expect(status?.runtimeStatus).toBe('Completed');
    expect(api.requests).toHaveLength(1);
    const [req] = api.requests;
    expect(req.path).toBe(`${API_PREFIX}/instances/${encodeURIComponent('bp-daily-1/../x?y#z')}`);
    expect(req.query.get('code')).toBeNull();
    expect(req.query.get('showHistory')).toBe('true');
  });

  it('asks the keyed management URL when the binding has no rpcBaseUrl', async () => {
    await readInstance(api.client(), 'bp-daily-1/../x?y#z', { history: true });
    expect(api.requests).toHaveLength(1);
    const [req] = api.requests;
    expect(req.path).toBe(`${API_PREFIX}/instances/${encodeURIComponent('bp-daily-1/../x?y#z')}`);
    expect(req.query.get('code')).toBe(SYSTEM_KEY);
    expect(req.query.get('showHistoryOutput')).toBe('true');
  });

  it('answers undefined for an instance that does not exist', async () => {
    expect(await readInstance(api.client({ rpc: true }), 'bp-none', { history: true })).toBeUndefined();
  });
});
