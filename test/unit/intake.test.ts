// Intake: storage events in both schemas, hostile URLs, route matching and instance IDs.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseStorageEvent } from '../../src/events/storageEvents';
import { parseBlobUrl, BlobUrlError } from '../../src/events/blobUrls';
import { matchRoute } from '../../src/events/routeMatching';
import { parseRoutes } from '../../src/config/routes';
import { blobRunId, partitionCoalescerId } from '../../src/events/instanceIds';
import { matchesGlob } from '../../src/events/pathGlobs';
import { CONTRACTS_DIR } from '../support/contractsDir';

const EXAMPLES = path.join(CONTRACTS_DIR, 'eventgrid', 'Microsoft.Storage', 'stable', '2018-01-01', 'examples');
const example = (schema: string, name: string): Record<string, unknown> => JSON.parse(fs.readFileSync(path.join(EXAMPLES, schema, name), 'utf8')) as Record<string, unknown>;

const ROUTES = parseRoutes(
  `
routes:
  - name: churn-files
    trigger: { storageAccounts: [jolovstorage, devstoreaccount1], container: gaocontainer, pathGlob: "*.xlsx" }
    target: { endpoint: churn-scoring, workspaceId: /subscriptions/s/resourceGroups/r/providers/Microsoft.MachineLearningServices/workspaces/w }
  - name: churn-folders
    trigger: { storageAccounts: [devstoreaccount1], container: incoming, pathPrefix: daily/ }
    batching: { mode: marker }
    target: { endpoint: churn-scoring, workspaceId: /subscriptions/s/resourceGroups/r/providers/Microsoft.MachineLearningServices/workspaces/w }
`,
  'routes.yaml',
);

describe('storage events', () => {
  it('parses the documented BlobCreated example in the Event Grid schema and in CloudEvents alike', () => {
    const eg = parseStorageEvent(example('event-grid-schema', 'blob_created.json'));
    const ce = parseStorageEvent(example('cloud-events-schema', 'blob_created.json'));
    expect(eg).toMatchObject({ ok: true, arrival: { api: 'PutBlob', eTag: '0x8D96060BDA19D9D', contentLength: 17555 } });
    expect(ce.ok && eg.ok && ce.arrival.url === eg.arrival.url && ce.arrival.source === eg.arrival.source).toBe(true);
  });

  it('refuses BlobDeleted, malformed events and events without an eTag with a reason', () => {
    expect(parseStorageEvent(example('event-grid-schema', 'blob_deleted.json'))).toMatchObject({ ok: false, reason: expect.stringMatching(/BlobDeleted is not/) });
    expect(parseStorageEvent('nope')).toMatchObject({ ok: false, reason: 'the event is not a JSON object' });
    expect(parseStorageEvent({ id: 'x' })).toMatchObject({ ok: false, reason: expect.stringMatching(/malformed Event Grid event/) });
    const noEtag = example('event-grid-schema', 'blob_created.json');
    delete (noEtag.data as Record<string, unknown>).eTag;
    expect(parseStorageEvent(noEtag)).toMatchObject({ ok: false, reason: expect.stringMatching(/no eTag/) });
  });
});

describe('blob URLs', () => {
  it('accepts Azure blob and dfs URLs and path-style URLs on the configured endpoint', () => {
    expect(parseBlobUrl('https://acct01.blob.core.windows.net/c1/a/b%20c.csv')).toMatchObject({ account: 'acct01', container: 'c1', blobPath: 'a/b c.csv' });
    expect(parseBlobUrl('https://acct01.dfs.core.windows.net/c1/x.csv').url).toBe('https://acct01.blob.core.windows.net/c1/x.csv');
    expect(parseBlobUrl('http://127.0.0.1:10000/devstoreaccount1/c1/x.csv', ['http://127.0.0.1:10000'])).toMatchObject({ account: 'devstoreaccount1', blobPath: 'x.csv' });
  });

  it.each([
    ['http://acct01.blob.core.windows.net/c/x', /must use https/],
    ['https://evil.example.com/acct01/c/x', /not an Azure Storage blob endpoint/],
    ['https://acct01.blob.core.windows.net.evil.com/c/x', /not an Azure Storage blob endpoint/],
    ['https://user:pw@acct01.blob.core.windows.net/c/x', /credentials/],
    ['https://acct01.blob.core.windows.net/c/x?sv=2020&sig=abc', /SAS tokens/],
    ['https://acct01.blob.core.windows.net/c/../x', /\.\. segments|does not name/],
    ['https://acct01.blob.core.windows.net:8443/c/x', /no port/],
    ['http://127.0.0.1:9999/devstoreaccount1/c/x', /not an Azure Storage blob endpoint/],
    ['file:///etc/passwd', /not an Azure Storage blob endpoint/],
    ['not a url', /not a URL/],
  ])('refuses %s', (url, reason) => {
    expect(() => parseBlobUrl(url, ['http://127.0.0.1:10000'])).toThrow(BlobUrlError);
    expect(() => parseBlobUrl(url, ['http://127.0.0.1:10000'])).toThrow(reason);
  });
});

describe('route matching', () => {
  const arrival = (url: string, api = 'PutBlob') => ({ eventId: '1', eventType: 'Microsoft.Storage.BlobCreated', eventTime: '', subject: '', source: '', api, url, eTag: '0x1' });

  it('matches the documented example to the route for its container and glob', () => {
    const eg = parseStorageEvent(example('event-grid-schema', 'blob_created.json'));
    if (!eg.ok) throw new Error(eg.reason);
    expect(matchRoute(eg.arrival, ROUTES.routes, [])).toMatchObject({ matched: true, role: 'input', route: { name: 'churn-files' } });
  });

  it('recognises markers, partitions by folder and ignores temp files', () => {
    const origins = ['http://127.0.0.1:10000'];
    expect(matchRoute(arrival('http://127.0.0.1:10000/devstoreaccount1/incoming/daily/2026-01-01/_SUCCESS'), ROUTES.routes, origins)).toMatchObject({ matched: true, role: 'marker', partition: 'daily/2026-01-01' });
    expect(matchRoute(arrival('http://127.0.0.1:10000/devstoreaccount1/incoming/daily/2026-01-01/part-1.csv'), ROUTES.routes, origins)).toMatchObject({ matched: true, role: 'input', partition: 'daily/2026-01-01' });
    expect(matchRoute(arrival('http://127.0.0.1:10000/devstoreaccount1/incoming/daily/2026-01-01/part-1.csv.tmp'), ROUTES.routes, origins)).toMatchObject({ matched: false, reason: expect.stringMatching(/ignored pattern/) });
  });

  it('gives the reason when nothing matches: other container, account not allowed, api not accepted', () => {
    const origins = ['http://127.0.0.1:10000'];
    expect(matchRoute(arrival('http://127.0.0.1:10000/devstoreaccount1/elsewhere/x.csv'), ROUTES.routes, origins)).toMatchObject({ matched: false, reason: expect.stringMatching(/container elsewhere is not incoming/) });
    expect(matchRoute(arrival('https://other.blob.core.windows.net/gaocontainer/x.xlsx'), ROUTES.routes, origins)).toMatchObject({ matched: false, reason: expect.stringMatching(/not in its allow-list/) });
    expect(matchRoute(arrival('https://jolovstorage.blob.core.windows.net/gaocontainer/x.xlsx', 'DeleteBlob'), ROUTES.routes, origins)).toMatchObject({ matched: false, reason: expect.stringMatching(/api DeleteBlob/) });
  });
});

describe('instance IDs', () => {
  it('are the same for the same blob version and differ by eTag, route or partition', () => {
    expect(blobRunId('r', 'https://a/x', '0x1')).toBe(blobRunId('r', 'https://a/x', '"0x1"'));
    expect(blobRunId('r', 'https://a/x', '0x1')).not.toBe(blobRunId('r', 'https://a/x', '0x2'));
    expect(blobRunId('r', 'https://a/x', '0x1')).not.toBe(blobRunId('s', 'https://a/x', '0x1'));
    expect(partitionCoalescerId('r', 'a')).not.toBe(partitionCoalescerId('r', 'b'));
    expect(blobRunId('r', 'https://a/x', '0x1')).toMatch(/^[a-z0-9-]{1,100}$/);
  });
});

describe('globs', () => {
  it.each([
    ['a/b/c.csv', '**/*.csv', true],
    ['c.csv', '**/*.csv', true],
    ['a/c.csv', '*.csv', false],
    ['a/_tmp1', '**/_tmp*', true],
    ['x.parquet', '*.{csv,parquet}', true],
  ])('%s against %s is %s', (p, g, expected) => {
    expect(matchesGlob(p, g)).toBe(expected);
  });
});

describe('Azure ML job events', () => {
  const { parseMlEvent, claimOfJobEvent } = require('../../src/events/mlEvents') as typeof import('../../src/events/mlEvents');
  const ML = path.join(CONTRACTS_DIR, 'eventgrid', 'Microsoft.MachineLearningServices', 'stable', '2018-01-01', 'examples');
  const load = (schema: string, name: string): Record<string, unknown> => JSON.parse(fs.readFileSync(path.join(ML, schema, name), 'utf8')) as Record<string, unknown>;

  it('parses the documented RunStatusChanged and RunCompleted examples in both schemas, with canonical statuses', () => {
    for (const schema of ['event-grid-schema', 'cloud-events-schema']) {
      const changed = parseMlEvent(load(schema, 'run_status_changed.json'));
      const completed = parseMlEvent(load(schema, 'run_completed.json'));
      expect(changed).toMatchObject({ kind: 'job', event: { status: expect.stringMatching(/^[A-Z]/) } });
      expect(completed).toMatchObject({ kind: 'job', event: { status: 'Completed' } });
    }
    const lower = load('event-grid-schema', 'run_status_changed.json');
    (lower.data as Record<string, unknown>).runStatus = 'failed';
    expect(parseMlEvent(lower)).toMatchObject({ kind: 'job', event: { status: 'Failed' } });
  });

  it('routes a job event to the run named in its tags, and ignores jobs batchpilot did not submit', () => {
    const e = load('event-grid-schema', 'run_completed.json');
    const runId = blobRunId('churn-files', 'https://acct.blob.core.windows.net/c/a.xlsx', '0x1');
    const parsed = parseMlEvent({ ...e, data: { ...(e.data as object), runTags: { 'batchpilot-run-id': runId, 'batchpilot-attempt': '1' } } });
    expect(parsed.kind === 'job' && claimOfJobEvent(parsed.event)).toEqual({ kind: 'claimed', runId, attempt: 1, instanceId: `${runId}:job` });
    const foreign = parseMlEvent(e);
    expect(foreign.kind === 'job' && claimOfJobEvent(foreign.event)).toEqual({ kind: 'untagged' });
    expect(parseMlEvent(load('event-grid-schema', 'model_registered.json')).kind).not.toBe('job');
    expect(parseMlEvent({ id: 'x', eventType: 'Microsoft.MachineLearningServices.RunCompleted', data: {} })).toMatchObject({ kind: 'invalid' });
  });
});
