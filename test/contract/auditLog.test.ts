// The operator audit trail against the run's Azurite: each state of an action is its own write-once
// record (nothing is overwritten), the records form a hash chain that concurrent writers extend without
// forking, verification finds records that were changed, removed or replaced, and reading the newest
// records or one run's records costs a bounded number of storage calls however long the trail is.
import { ContainerClient, newPipeline, RequestPolicy, RequestPolicyFactory, StorageSharedKeyCredential, WebResource } from '@azure/storage-blob';
import { AuditLog } from '../../src/operator/auditLog';
import type { Actor } from '../../src/operator/operatorApiTypes';
import { testAzurite, uniqueName } from '@batchpilot/local-platform';

const OTTO: Actor = { name: 'otto@contoso.com', via: 'principal', id: 'oid-otto', roles: ['Operator'] };

interface Call {
  method: string;
  url: URL;
}

/** A container client on Azurite that notes every request it sends. */
function countingContainer(name: string, calls: Call[] = []): ContainerClient {
  const conn = testAzurite().connectionString;
  const accountName = /AccountName=([^;]+)/.exec(conn)![1];
  const accountKey = /AccountKey=([^;]+)/.exec(conn)![1];
  const blobEndpoint = /BlobEndpoint=([^;]+)/.exec(conn)![1].replace(/\/$/, '');
  const pipeline = newPipeline(new StorageSharedKeyCredential(accountName, accountKey));
  const counting: RequestPolicyFactory = {
    create: (next: RequestPolicy): RequestPolicy => ({
      sendRequest: (request: WebResource) => {
        calls.push({ method: request.method, url: new URL(request.url) });
        return next.sendRequest(request);
      },
    }),
  };
  pipeline.factories.unshift(counting);
  return new ContainerClient(`${blobEndpoint}/${name}`, pipeline);
}

async function freshLog(calls?: Call[]): Promise<{ log: AuditLog; container: ContainerClient }> {
  const container = countingContainer(uniqueName('audit'), calls);
  await container.create();
  return { log: new AuditLog(container), container };
}

async function allBlobs(container: ContainerClient): Promise<Array<{ name: string; body: Record<string, unknown> }>> {
  const out: Array<{ name: string; body: Record<string, unknown> }> = [];
  for await (const b of container.listBlobsFlat()) out.push({ name: b.name, body: JSON.parse((await container.getBlobClient(b.name).downloadToBuffer()).toString('utf8')) as Record<string, unknown> });
  return out;
}

async function act(log: AuditLog, n: number, runId = `bp-run-${n}`): Promise<string> {
  const pending = await log.begin({ action: 'rerun', by: OTTO, reason: `reason ${n}`, runId, request: { n } });
  await pending.succeeded({ newRunId: `${runId}-r1` }, [`${runId}-r1`]);
  return pending.id;
}

describe('the operator audit trail', () => {
  it('writes each state of an action as its own record: the pending record is still there, unchanged, after the outcome', async () => {
    const { log, container } = await freshLog();
    const pending = await log.begin({ action: 'terminate', by: OTTO, reason: 'wrong input', runId: 'bp-a', request: {} });
    const before = await allBlobs(container);
    await pending.failed('RunFinished: already done');
    const after = await allBlobs(container);
    for (const b of before) expect(after.find((a) => a.name === b.name)?.body).toEqual(b.body);
    const states = after.filter((b) => b.body.id === pending.id).map((b) => b.body.state ?? b.body.outcome);
    expect(new Set(states)).toEqual(new Set(['pending', 'failed']));
    expect(await log.listForRun('bp-a')).toEqual([expect.objectContaining({ id: pending.id, action: 'terminate', outcome: 'failed', error: 'RunFinished: already done', reason: 'wrong input', by: OTTO })]);
  });

  it('refuses to write over a record that exists, leaving it as it was', async () => {
    const { log, container } = await freshLog();
    await act(log, 1);
    const [first] = (await allBlobs(container)).filter((b) => b.name.startsWith('chain/') && b.body.seq === 1);
    const forged = { ...first.body, reason: 'rewritten afterwards' };
    await expect(log.writeOnce(first.name, forged)).resolves.toBe(false);
    expect((await allBlobs(container)).find((b) => b.name === first.name)?.body).toEqual(first.body);
  });

  it('chains every record to the one before it, and concurrent writers extend the chain without forking it', async () => {
    const { log, container } = await freshLog();
    const other = new AuditLog(container);
    const ids = await Promise.all(Array.from({ length: 16 }, (_, i) => act(i % 2 ? log : other, i)));
    const chain = (await allBlobs(container)).filter((b) => b.name.startsWith('chain/')).map((b) => b.body).sort((a, b) => Number(a.seq) - Number(b.seq));
    expect(chain.map((e) => e.seq)).toEqual(Array.from({ length: 32 }, (_, i) => i + 1));
    for (let i = 1; i < chain.length; i++) expect(chain[i].prevHash).toBe(chain[i - 1].hash);
    expect(new Set(chain.map((e) => e.id))).toEqual(new Set(ids));
    const report = await log.verify();
    expect(report).toMatchObject({ ok: true, checked: 32, headSeq: 32, problems: [] });
    expect(report.headHash).toBe(chain[31].hash);
  });

  it('detects a record changed, removed or replaced by a re-hashed forgery', async () => {
    const { log, container } = await freshLog();
    for (let i = 0; i < 4; i++) await act(log, i);
    const chain = (await allBlobs(container)).filter((b) => b.name.startsWith('chain/'));
    const at = (seq: number): { name: string; body: Record<string, unknown> } => chain.find((b) => b.body.seq === seq)!;
    const put = (name: string, body: unknown): Promise<unknown> => container.getBlockBlobClient(name).upload(JSON.stringify(body), Buffer.byteLength(JSON.stringify(body)));

    // Azurite has no immutability policy: write past the log as someone with the account key would.
    await put(at(3).name, { ...at(3).body, reason: 'nothing to see' });
    let report = await log.verify();
    expect(report.ok).toBe(false);
    expect(report.problems).toEqual([expect.objectContaining({ seq: 3, problem: expect.stringMatching(/content does not match its hash/) })]);

    await put(at(3).name, at(3).body);
    await container.getBlobClient(at(5).name).delete();
    report = await log.verify();
    expect(report.problems).toEqual([expect.objectContaining({ seq: 5, problem: expect.stringMatching(/missing/) }), expect.objectContaining({ seq: 6, problem: expect.stringMatching(/previous record/) })]);

    await put(at(5).name, at(5).body);
    expect((await log.verify()).ok).toBe(true);
    const forged: Record<string, unknown> = { ...at(7).body, reason: 'forged but re-hashed' };
    delete forged.hash;
    await put(at(7).name, { ...forged, hash: AuditLog.hashOf(forged) });
    report = await log.verify();
    expect(report.problems).toEqual([
      expect.objectContaining({ seq: 7, problem: expect.stringMatching(/the copy under run bp-run-3 differs from record 7/) }),
      expect.objectContaining({ seq: 8, problem: expect.stringMatching(/previous record/) }),
    ]);
    // Checked in parts, the link into the part is checked too.
    expect((await log.verify({ fromSeq: 8 })).problems).toEqual([expect.objectContaining({ seq: 8, problem: expect.stringMatching(/previous record/) })]);
  });

  it('reads the newest actions with a bounded listing and a bounded number of reads, however long the trail', async () => {
    const calls: Call[] = [];
    const { log } = await freshLog(calls);
    const ids: string[] = [];
    for (let i = 0; i < 40; i++) ids.push(await act(log, i));
    calls.length = 0;
    const recent = await log.listRecent(5);
    expect(recent.map((r) => r.id)).toEqual(ids.slice(-5).reverse());
    expect(recent.every((r) => r.outcome === 'succeeded' && r.result?.newRunId)).toBe(true);
    const lists = calls.filter((c) => c.url.searchParams.get('comp') === 'list');
    const reads = calls.filter((c) => c.method === 'GET' && c.url.searchParams.get('comp') !== 'list');
    expect(lists).toHaveLength(1);
    expect(lists[0].url.searchParams.get('maxresults')).toMatch(/^\d+$/);
    expect(Number(lists[0].url.searchParams.get('maxresults'))).toBeLessThanOrEqual(10);
    expect(reads.length).toBeLessThanOrEqual(10);
  });

  it('reads one run\'s records from its own index, also for runs an action created, without listing the trail', async () => {
    const calls: Call[] = [];
    const { log } = await freshLog(calls);
    for (let i = 0; i < 30; i++) await act(log, i);
    const id = await act(log, 99, 'bp-target');
    calls.length = 0;
    expect(await log.listForRun('bp-target')).toEqual([expect.objectContaining({ id, action: 'rerun', outcome: 'succeeded', runId: 'bp-target' })]);
    expect(await log.listForRun('bp-target-r1')).toEqual([expect.objectContaining({ id, result: { newRunId: 'bp-target-r1' } })]);
    const lists = calls.filter((c) => c.url.searchParams.get('comp') === 'list');
    expect(lists.every((c) => (c.url.searchParams.get('prefix') ?? '').includes('bp-target'))).toBe(true);
    expect(calls.filter((c) => c.method === 'GET' && c.url.searchParams.get('comp') !== 'list').length).toBeLessThanOrEqual(4);
  });

  it('marks a run\'s record whose content no longer matches its hash', async () => {
    const { log, container } = await freshLog();
    await act(log, 1, 'bp-marked');
    const copies = (await allBlobs(container)).filter((b) => b.name.includes('bp-marked/') && b.body.state === 'succeeded');
    for (const c of copies) {
      const body = JSON.stringify({ ...c.body, reason: 'edited' });
      await container.getBlockBlobClient(c.name).upload(body, Buffer.byteLength(body));
    }
    const [record] = await log.listForRun('bp-marked');
    expect(record.integrityProblem).toMatch(/does not match its hash/);
  });
});
