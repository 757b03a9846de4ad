// The fault hooks the soak drives, each against the real service it sits in front of: the storage
// fault proxy (Storage's own 503 ServerBusy, and a write that happens although its answer is lost),
// the Event Grid topic's publish faults and its 1..D deliveries per event, and the Azure ML emulator's
// lost responses (a job created though its invoke "failed") and lost job events.
import { BlobServiceClient, StorageRetryPolicyType } from '@azure/storage-blob';
import { TableClient } from '@azure/data-tables';
import { EventGridPublisherClient } from '@azure/eventgrid';
import { startStorageFaultProxy, RunningStorageFaultProxy, clientOptionsTrusting, requestTrusting, testAzurite, uniqueName, waitUntil } from '@batchpilot/local-platform';
import { startTestEventGrid, TestEventGrid, startWebhookReceiver, WebhookReceiver, ReceivedRequest } from '@batchpilot/eventgrid-emulator';
import { LocalAzureMl, startLocalAzureMl, SampleWorkspace, seedSampleWorkspace } from '@batchpilot/azureml-emulator';

const TOPIC = 'fault-hooks';

describe('the storage fault proxy', () => {
  const proxies: RunningStorageFaultProxy[] = [];
  afterAll(async () => {
    await Promise.all(proxies.map((p) => p.stop()));
  });

  async function through(faults: Parameters<typeof startStorageFaultProxy>[0]['faults']): Promise<{ viaProxy: BlobServiceClient; direct: BlobServiceClient; proxy: RunningStorageFaultProxy }> {
    const azurite = testAzurite();
    const proxy = await startStorageFaultProxy({ upstreamPort: azurite.blobPort, faults, seed: 3 });
    proxies.push(proxy);
    const direct = BlobServiceClient.fromConnectionString(azurite.connectionString);
    const viaProxy = new BlobServiceClient(`${proxy.origin}/devstoreaccount1`, direct.credential, { retryOptions: { maxTries: 1, retryPolicyType: StorageRetryPolicyType.FIXED } });
    return { viaProxy, direct, proxy };
  }

  it('passes requests through untouched when no fault is drawn', async () => {
    const { viaProxy, direct } = await through({});
    const container = uniqueName('faults');
    await direct.getContainerClient(container).create();
    await viaProxy.getContainerClient(container).getBlockBlobClient('a.txt').upload('hello', 5);
    expect((await direct.getContainerClient(container).getBlobClient('a.txt').downloadToBuffer()).toString()).toBe('hello');
  });

  it("throttles as Storage does, with 503 ServerBusy and Retry-After, and writes nothing", async () => {
    const { viaProxy, direct, proxy } = await through({ throttleFraction: 1, retryAfterInSeconds: 2 });
    const container = uniqueName('faults');
    await direct.getContainerClient(container).create();
    type StorageFailure = { statusCode?: number; code?: string; response?: { headers: { get(n: string): string | undefined } } };
    const error = await viaProxy.getContainerClient(container).getBlockBlobClient('b.txt').upload('x', 1).then(
      () => ({}) as StorageFailure,
      (e: unknown) => e as StorageFailure,
    );
    expect(error).toMatchObject({ statusCode: 503, code: 'ServerBusy' });
    expect(error.response?.headers.get('retry-after')).toBe('2');
    expect(await direct.getContainerClient(container).getBlobClient('b.txt').exists()).toBe(false);
    expect(proxy.stats()).toMatchObject({ requests: 1, throttled: 1 });
  });

  it('carries out a write whose answer it then loses: the client sees a reset, the blob is there', async () => {
    const { viaProxy, direct, proxy } = await through({ dropResponseFraction: 1 });
    const container = uniqueName('faults');
    await direct.getContainerClient(container).create();
    await expect(viaProxy.getContainerClient(container).getBlockBlobClient('c.txt').upload('written', 7)).rejects.toThrow();
    expect((await direct.getContainerClient(container).getBlobClient('c.txt').downloadToBuffer()).toString()).toBe('written');
    expect(proxy.stats()).toMatchObject({ droppedResponses: 1 });
  });
});

describe('the storage fault proxy in front of a shared table endpoint', () => {
  let proxy: RunningStorageFaultProxy;
  afterAll(async () => {
    await proxy?.stop();
  });

  it("strikes only the tables it is told about, their transactions included, and leaves the others' requests alone", async () => {
    const azurite = testAzurite();
    const faulty = uniqueName('Faulty');
    const other = uniqueName('Other');
    proxy = await startStorageFaultProxy({
      upstreamPort: azurite.tablePort,
      faults: { throttleFraction: 1 },
      appliesTo: ({ url, body }) => (url.split('?')[0].endsWith('/$batch') ? body.toString('utf8') : decodeURIComponent(url)).toLowerCase().includes(`/${faulty.toLowerCase()}`),
    });
    const viaProxy = azurite.connectionString.replace(`TableEndpoint=http://127.0.0.1:${azurite.tablePort}/`, `TableEndpoint=http://127.0.0.1:${proxy.port}/`);
    const options = { allowInsecureConnection: true, retryOptions: { maxRetries: 0 } };
    for (const name of [faulty, other]) await TableClient.fromConnectionString(azurite.connectionString, name, { allowInsecureConnection: true }).createTable();
    const others = TableClient.fromConnectionString(viaProxy, other, options);
    await others.createEntity({ partitionKey: 'p', rowKey: '1', v: 1 });
    await others.submitTransaction([['create', { partitionKey: 'p', rowKey: '2', v: 2 }]]);
    const faults = TableClient.fromConnectionString(viaProxy, faulty, options);
    await expect(faults.createEntity({ partitionKey: 'p', rowKey: '1' })).rejects.toMatchObject({ statusCode: 503 });
    await expect(faults.submitTransaction([['create', { partitionKey: 'p', rowKey: '2' }]])).rejects.toMatchObject({ statusCode: 503 });
    expect(proxy.stats()).toMatchObject({ throttled: 2, requests: 2 });
  });
});

describe('Event Grid publish faults and repeated deliveries', () => {
  const envs: TestEventGrid[] = [];
  const receivers: WebhookReceiver[] = [];
  afterAll(async () => {
    await Promise.all(envs.map((e) => e.stop()));
    await Promise.all(receivers.map((r) => r.close()));
  });

  async function topic(options: Parameters<typeof startTestEventGrid>[0]): Promise<{ env: TestEventGrid; hook: WebhookReceiver; post(ids: string[]): ReturnType<typeof requestTrusting> }> {
    const env = await startTestEventGrid({ topics: [{ name: TOPIC, inputSchema: 'EventGridSchema' }], ...options });
    envs.push(env);
    const hook = await startWebhookReceiver();
    receivers.push(hook);
    await env.eventGrid.addSubscription({ name: 'hook', topic: TOPIC, destination: { endpointType: 'WebHook', properties: { endpointUrl: hook.url } } });
    const post = (ids: string[]): ReturnType<typeof requestTrusting> =>
      requestTrusting(env.certificate.ca, env.eventGrid.topicEndpoint(TOPIC) + '?api-version=2018-01-01', {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'aeg-sas-key': env.eventGrid.topicKey(TOPIC) },
        body: JSON.stringify(ids.map((id) => ({ id, eventType: 'Test.Fault', subject: `s/${id}`, dataVersion: '1', eventTime: new Date().toISOString(), data: {} }))),
      });
    return { env, hook, post };
  }

  const ids = (requests: ReceivedRequest[]): string[] => requests.flatMap((r) => (JSON.parse(r.body) as Array<{ id: string }>).map((e) => e.id));

  it('answers a throttled publish 429 with Retry-After and keeps none of its events', async () => {
    const { env, post } = await topic({ publishFaults: { seed: 1, http: { throttleFraction: 1, retryAfterInSeconds: 3 } } });
    const res = await post(['t1']);
    expect(res.status).toBe(429);
    expect(res.headers['retry-after']).toBe('3');
    expect(env.eventGrid.published(TOPIC)).toHaveLength(0);
    expect(env.eventGrid.publishFaultStats()).toMatchObject({ throttled: 1 });
  });

  it('keeps the events of a publish whose answer it loses, so a retrying publisher sends them twice', async () => {
    const { env, post } = await topic({ publishFaults: { seed: 1, http: { dropResponseFraction: 1 } } });
    await expect(post(['r1'])).rejects.toThrow(/socket hang up|ECONNRESET/);
    expect(env.eventGrid.published(TOPIC).map((p) => (p.event as { id: string }).id)).toEqual(['r1']);
  });

  it('lets the real publisher client through a share of faults by retrying', async () => {
    const { env, hook } = await topic({ publishFaults: { seed: 4, http: { throttleFraction: 0.3, serverErrorFraction: 0.3, serverErrorStatuses: [503], retryAfterInSeconds: 0 } } });
    const client = new EventGridPublisherClient(env.eventGrid.topicEndpoint(TOPIC), 'EventGrid', env.issuer.credential(), { ...clientOptionsTrusting(env.certificate.ca), retryOptions: { maxRetries: 10, retryDelayInMs: 10 } });
    for (const id of ['p1', 'p2', 'p3', 'p4']) await client.send([{ id, eventType: 'Test.Fault', subject: id, dataVersion: '1', data: {} }]);
    await env.eventGrid.idle();
    expect([...new Set(ids(hook.notifications()))].sort()).toEqual(['p1', 'p2', 'p3', 'p4']);
    expect(env.eventGrid.publishFaultStats().throttled + env.eventGrid.publishFaultStats().serverErrors).toBeGreaterThan(0);
  });

  it('delivers every event 1 to D times, and some more than once', async () => {
    const { env, hook, post } = await topic({ delivery: { maxDeliveriesPerEvent: 3, seed: 5 } });
    const sent = Array.from({ length: 30 }, (_, i) => `d${i}`);
    expect((await post(sent)).status).toBe(200);
    await env.eventGrid.idle();
    const counts = new Map<string, number>();
    for (const id of ids(hook.notifications())) counts.set(id, (counts.get(id) ?? 0) + 1);
    expect([...counts.keys()].sort()).toEqual([...sent].sort());
    expect(Math.min(...counts.values())).toBe(1);
    expect(Math.max(...counts.values())).toBe(3);
    expect(env.eventGrid.deliveries('hook').filter((d) => d.duplicate).length).toBe([...counts.values()].reduce((a, n) => a + n - 1, 0));
  });

  it('refuses a delivery count below one', async () => {
    await expect(startTestEventGrid({ delivery: { maxDeliveriesPerEvent: 0 } })).rejects.toThrow(/maxDeliveriesPerEvent must be a whole number of at least 1/);
  });
});

describe('Azure ML emulator lost responses and lost job events', () => {
  let ml: LocalAzureMl;
  let sample: SampleWorkspace;
  beforeAll(async () => {
    ml = await startLocalAzureMl();
    sample = await seedSampleWorkspace(ml.emulator, { credential: ml.issuer.credential(), ca: ml.ca, updateIntervalInMs: 20, sampleFiles: 2, sampleRowsPerFile: 2 });
  });
  afterAll(async () => {
    await ml?.stop();
  });

  const body = (tag: string): unknown => ({ properties: { InputData: { d: { JobInputType: 'UriFolder', Uri: sample.sampleInputUri } }, Tags: { probe: tag } } });

  async function jobsTagged(tag: string): Promise<Array<{ name: string; status: string }>> {
    const found: Array<{ name: string; status: string }> = [];
    for await (const job of ml.arm.jobs.list(ml.emulator.resourceGroup, ml.emulator.workspaceName)) {
      if ((job.properties.tags as Record<string, string> | undefined)?.probe === tag) found.push({ name: job.name ?? '', status: job.properties.status ?? '' });
    }
    return found;
  }

  it('creates the job of an invoke whose answer is lost: the caller sees a reset, Azure ML has the job', async () => {
    const tag = uniqueName('lost');
    ml.emulator.setFaults({ http: { dropResponseFraction: 1, surfaces: ['dataPlane'] } });
    try {
      await expect(ml.invoke(sample.endpointName, body(tag))).rejects.toThrow(/socket hang up|ECONNRESET/);
    } finally {
      ml.emulator.setFaults({});
    }
    expect(await jobsTagged(tag)).toHaveLength(1);
  });

  it("publishes none of a job's status events when they are all lost, and the job still ends", async () => {
    const tag = uniqueName('quiet');
    ml.emulator.setFaults({ jobEvents: { lossFraction: 1 } });
    try {
      const before = ml.emulator.publishedEvents().length;
      const name = (((await ml.invoke(sample.endpointName, body(tag))).json) as { name: string }).name;
      await ml.waitForJob(name);
      await waitUntil(() => ml.emulator.faultStats().lostJobEvents >= 4, 'the job events to be dropped');
      expect(ml.emulator.publishedEvents().slice(before).filter((e) => JSON.stringify(e).includes(name))).toEqual([]);
    } finally {
      ml.emulator.setFaults({});
    }
  });
});
