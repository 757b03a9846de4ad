// Intake: storage events in both schemas, hostile URLs, route matching and instance IDs.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseStorageEvent } from '../../src/events/storageEvents';
import { parseBlobUrl, BlobUrlError } from '../../src/domain/blobUrls';
import { matchRoute } from '../../src/config/routeMatching';
import { parseRoutes } from '../../src/config/routes';
import { blobRunId, partitionCoalescerId } from '../../src/domain/instanceIds';
import { matchesGlob } from '../../src/domain/pathGlobs';
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
    ['https://acct01.blob.core.windows.net/c/../x', /\.\. segment/],
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

describe('one blob, one identity (issue 10 §2)', () => {
  const { ContainerClient } = require('@azure/storage-blob') as typeof import('@azure/storage-blob');
  const sdkUrl = (containerUrl: string, blobName: string): string => new ContainerClient(containerUrl).getBlobClient(blobName).url;

  it.each([
    ['an encoded slash', 'https://acct01.blob.core.windows.net/c1/dir%2Ffile%20name%20%C3%A9.csv'],
    ['a lower-case encoded slash', 'https://acct01.blob.core.windows.net/c1/dir%2ffile%20name%20%c3%a9.csv'],
    ['raw spaces and non-ASCII', 'https://acct01.blob.core.windows.net/c1/dir/file name é.csv'],
    ['needlessly encoded letters', 'https://acct01.blob.core.windows.net/c1/%64ir/file%20name%20%C3%A9.csv'],
    ['an upper-case host and scheme', 'HTTPS://ACCT01.BLOB.CORE.WINDOWS.NET/c1/dir/file%20name%20%C3%A9.csv'],
    ['the dfs endpoint in upper case', 'https://acct01.DFS.core.windows.net/c1/dir/file%20name%20%C3%A9.csv'],
  ])('gives the canonical URL for %s, the one the Storage SDK builds', (_what, variant) => {
    const canonical = sdkUrl('https://acct01.blob.core.windows.net/c1', 'dir/file name é.csv');
    const parsed = parseBlobUrl(variant);
    expect(parsed).toMatchObject({ account: 'acct01', container: 'c1', blobPath: 'dir/file name é.csv', url: canonical });
    expect(blobRunId('r', parsed.url, '0x1')).toBe(blobRunId('r', parseBlobUrl(canonical).url, '0x1'));
  });

  it('gives one ledger key and one partition to every spelling on a window or marker route', () => {
    const { arrivalKey } = require('../../src/domain/instanceIds') as typeof import('../../src/domain/instanceIds');
    const origins = ['http://127.0.0.1:10000'];
    const spellings = ['daily/2026-01-01/part%201.csv', 'daily%2F2026-01-01%2Fpart%201.csv', 'daily/2026-01-01/part 1.csv'].map((p) => `http://127.0.0.1:10000/devstoreaccount1/incoming/${p}`);
    const decisions = spellings.map((u) => matchRoute({ api: 'PutBlob', url: u }, ROUTES.routes, origins));
    const keys = decisions.map((d) => (d.matched ? `${d.route.name}|${d.partition}|${arrivalKey(d.location.url, '0x1')}` : d.reason));
    expect(new Set(keys).size).toBe(1);
    expect(decisions[0]).toMatchObject({ matched: true, route: { name: 'churn-folders' }, partition: 'daily/2026-01-01' });
  });

  it('gives the SDK-encoded URL on a path-style endpoint too, for names with reserved characters', () => {
    const origin = 'http://127.0.0.1:10000';
    for (const name of ["a/b c/d'e(f)!*~.csv", 'x/y+z&w=v;u@t$s,r.csv', 'ü/日本.csv', 'p/100%25.csv'.replace('%25', '%')]) {
      const sdk = sdkUrl(`${origin}/devstoreaccount1/input`, name);
      expect(parseBlobUrl(sdk, [origin])).toMatchObject({ blobPath: name, url: sdk });
      const slashEncoded = `${origin}/devstoreaccount1/input/${name.split('/').map(encodeURIComponent).join('%2F')}`;
      expect(parseBlobUrl(slashEncoded, [origin]).url).toBe(sdk);
    }
  });
});

describe('blob paths are checked after they are decoded (issue 15.3)', () => {
  const origins = ['http://127.0.0.1:10000'];
  it.each([
    ['https://acct01.blob.core.windows.net/input/daily/a%2F..%2F..%2Foutput%2Fx.csv', /\.\. segment/],
    ['https://acct01.blob.core.windows.net/input/daily/%2E%2E/output/x.csv', /\.\. segment/],
    ['https://acct01.blob.core.windows.net/input/daily/../x.csv', /\.\. segment/],
    ['https://acct01.blob.core.windows.net/input/daily/./x.csv', /\. segment/],
    ['https://acct01.blob.core.windows.net/input/daily/a%2F.%2Fx.csv', /\. segment/],
    ['https://acct01.blob.core.windows.net/input/daily\\..\\x.csv', /backslash/],
    ['https://acct01.blob.core.windows.net/input/daily/a%5Cb.csv', /backslash/],
    ['https://acct01.blob.core.windows.net/input/daily/a\tb.csv', /control character/],
    ['https://acct01.blob.core.windows.net/input/daily/a%09b.csv', /control character/],
    ['https://acct01.blob.core.windows.net/input/daily/a%00b.csv', /control character/],
    ['https://acct01.blob.core.windows.net/input/daily%2F%2Fx.csv', /empty segment/],
    ['https://acct01.blob.core.windows.net/input/daily/x.csv%2F', /empty segment/],
    ['https://acct01.blob.core.windows.net/input/daily/%E0%A4%A.csv', /percent-encoding/],
    ['https://acct01.blob.core.windows.net/In_Put/x.csv', /container/],
    ['http://127.0.0.1:10000/devstoreaccount1/input/a%2F..%2F..%2Fruns%2Fx.csv', /\.\. segment/],
  ])('refuses %s', (url, reason) => {
    expect(() => parseBlobUrl(url, origins)).toThrow(BlobUrlError);
    expect(() => parseBlobUrl(url, origins)).toThrow(reason);
  });

  it('refuses a blob name longer than Azure Storage allows', () => {
    expect(() => parseBlobUrl(`https://acct01.blob.core.windows.net/input/${'a'.repeat(1025)}`)).toThrow(/longer than 1024/);
    expect(parseBlobUrl(`https://acct01.blob.core.windows.net/input/${'a'.repeat(1024)}`).blobPath).toHaveLength(1024);
  });

  it('hands on the URL rebuilt from its parsed parts, never the raw one', () => {
    expect(parseBlobUrl('https://ACCT01.Blob.Core.Windows.Net/C1/a/b.csv').url).toBe('https://acct01.blob.core.windows.net/c1/a/b.csv');
    expect(parseBlobUrl('http://127.0.0.1:10000/devstoreaccount1/c1/a%2fb%41.csv', origins).url).toBe('http://127.0.0.1:10000/devstoreaccount1/c1/a/bA.csv');
  });
});

describe('oversized events (issue 10 §2)', () => {
  it('refuses an event over 1 MB, naming its size, though it is a valid BlobCreated', () => {
    const event = {
      id: 'big-1',
      topic: '/subscriptions/s/resourceGroups/r/providers/Microsoft.Storage/storageAccounts/acct01',
      subject: '/blobServices/default/containers/c1/blobs/x.csv',
      eventType: 'Microsoft.Storage.BlobCreated',
      eventTime: '2026-01-01T00:00:00Z',
      dataVersion: '',
      data: { api: 'PutBlob', eTag: '0x1', url: 'https://acct01.blob.core.windows.net/c1/x.csv', contentLength: 1, padding: 'x'.repeat(2 * 1024 * 1024) },
    };
    const parsed = parseStorageEvent(event);
    expect(parsed).toMatchObject({ ok: false, reason: expect.stringMatching(/2,097,\d{3} bytes.*1,048,576/) });
    const small = parseStorageEvent({ ...event, data: { ...event.data, padding: 'x' } });
    expect(small.ok).toBe(true);
  });
});

describe('user values in log lines and errors stay bounded (issue 10 §2)', () => {
  const { clip } = require('../../src/domain/untrustedText') as typeof import('../../src/domain/untrustedText');

  it('clips long values, says how much was cut, and escapes control characters', () => {
    expect(clip('short')).toBe('short');
    const long = clip('u'.repeat(10_000));
    expect(long.length).toBeLessThan(260);
    expect(long).toMatch(/9,800 more characters/);
    expect(clip('a\nb\tc\u0000')).toBe('a\\nb\\tc\\u0000');
  });

  it('keeps the refusal of a 10,000-character URL short, and every no-route reason too', () => {
    const origins = ['http://127.0.0.1:10000'];
    const arrival = (url: string, api = 'PutBlob') => ({ eventId: 'e'.repeat(5000), eventType: 'Microsoft.Storage.BlobCreated', eventTime: '', subject: '', source: '', api, url, eTag: '0x1' });
    const tooLong = matchRoute(arrival(`https://acct01.blob.core.windows.net/c/${'x'.repeat(10_000)}`), ROUTES.routes, origins);
    expect(tooLong.matched).toBe(false);
    expect(!tooLong.matched && tooLong.reason.length).toBeLessThan(600);
    const longPath = matchRoute(arrival(`http://127.0.0.1:10000/devstoreaccount1/gaocontainer/${'d/'.repeat(400)}x.csv`, 'A'.repeat(3000)), ROUTES.routes, origins);
    expect(!longPath.matched && longPath.reason.length).toBeLessThan(1000);
    const badType = parseStorageEvent({ id: 'x', subject: '', eventType: 'T'.repeat(10_000), eventTime: 'now', data: {} });
    expect(!badType.ok && badType.reason.length).toBeLessThan(400);
  });
});

describe('marker and manifest files are not inputs (issue 10 §2)', () => {
  const { inputModeOf } = require('../../src/orchestrations/scoreBlobRun') as typeof import('../../src/orchestrations/scoreBlobRun');
  it('a marker route lists its batch files (input mode List) instead of handing over the folder with its marker', () => {
    expect(inputModeOf(ROUTES.routes[1])).toBe('List');
    expect(inputModeOf(ROUTES.routes[0])).toBe('UriFile');
  });
});

describe('globs compile once, at load (issue 15.9)', () => {
  const { compileGlob, GlobError } = require('../../src/domain/pathGlobs') as typeof import('../../src/domain/pathGlobs');

  it.each([
    ['**/*.{csv,tsv', /'\{' at position 5 is never closed/],
    ['*.csv}', /'\}' at position 5 closes no '\{'/],
    ['{a,{b,c}', /never closed/],
  ])('refuses %s with the position of the problem', (glob, reason) => {
    expect(() => compileGlob(glob)).toThrow(GlobError);
    expect(() => compileGlob(glob)).toThrow(reason);
  });

  it('merges repeated **/ and runs of stars, and supports nested alternatives', () => {
    expect(compileGlob('**/**/**/x.csv').source).toBe(compileGlob('**/x.csv').source);
    expect(compileGlob('a/***/b').source).toBe(compileGlob('a/**/b').source);
    expect(matchesGlob('d/x.tsv.gz', '**/*.{csv,tsv{,.gz}}')).toBe(true);
    expect(matchesGlob('d/x.tsv.bz2', '**/*.{csv,tsv{,.gz}}')).toBe(false);
  });

  it('match as their regular expression would, without backtracking on paths made to make one backtrack (issue 10 §3)', () => {
    const paths = ['scores_a_b_c_d.csv', 'x/scores_1_2_3_4.csv', 'scores__.csv', 'a/b/c.csv', 'c.csv', 'a.b/c', '_tmp1', 'x/_tmp/y'];
    for (const glob of ['**/scores_*_*_*_*.csv', '**/*.csv', '*.csv', '**/_tmp*', 'a/**/c.csv', '{a,x}/**', '?.csv', '**']) {
      for (const p of paths) expect(`${glob} ${p} ${matchesGlob(p, glob)}`).toBe(`${glob} ${p} ${new RegExp(compileGlob(glob).source).test(p)}`);
    }
    // Globs of the form **/<one segment> read only the name after the last '/': random paths, the same answers as the regular expression.
    let seed = 7;
    const random = (n: number): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) % n);
    const alphabet = ['a', 'b', '.', '_', '/', 'x', '~'];
    const randomPaths = Array.from({ length: 400 }, () => Array.from({ length: random(12) }, () => alphabet[random(alphabet.length)]).join(''));
    for (const glob of ['**/_tmp*', '**/*.tmp', '**/~*', '**/.*', '**/_SUCCESS', '**/a?{b,.x}*', '**/*', '**/a/*', '**/a**', '**/{a,b/x}']) {
      const expected = new RegExp(compileGlob(glob).source);
      for (const p of [...randomPaths, '', '/', 'a/', '/a', '//a']) expect(`${glob} ${p} ${matchesGlob(p, glob)}`).toBe(`${glob} ${p} ${expected.test(p)}`);
    }
    // A backtracking matcher tries every way to split 1,024 underscores four ways: minutes per path.
    expect(matchesGlob(`scores${'_'.repeat(1024)}`, '**/scores_*_*_*_*.csv')).toBe(false);
    expect(matchesGlob('a'.repeat(1024), '*a*a*a*a*a*a*b')).toBe(false);
  });
});

describe('manifests have limits and pass the route filters (issue 15.7)', () => {
  const { manifestEntries } = require('../../src/activities/manifestEntries') as typeof import('../../src/activities/manifestEntries');
  const manifested = parseRoutes(
    `routes:\n  - name: manifested\n    trigger: { storageAccounts: [devstoreaccount1], container: incoming, pathPrefix: daily/, pathGlob: "**/*.csv" }\n    batching: { mode: marker, markerName: _manifest.json, manifest: true, maxManifestFiles: 3 }\n    target: { endpoint: churn-scoring }\n`,
    'routes.yaml',
  ).routes[0];
  const entries = (text: string): string[] => manifestEntries(text, 'daily/d1/_manifest.json', manifested);

  it('reads both forms, relative to the manifest folder, keeping names that merely contain dots', () => {
    expect(entries(JSON.stringify({ files: ['a.csv', 'sub/b..c.csv'] }))).toEqual(['daily/d1/a.csv', 'daily/d1/sub/b..c.csv']);
    expect(entries('# comment\na.csv\r\n\nb.csv\n')).toEqual(['daily/d1/a.csv', 'daily/d1/b.csv']);
  });

  it.each([
    ['an entry the glob does not take', 'a.csv\nnotes.txt\n', /notes\.txt.*does not match '\*\*\/\*\.csv'/],
    ['an ignored entry', 'a.csv\n_tmp1.csv\n', /_tmp1\.csv.*ignored pattern/],
    ['a parent-folder entry', 'a.csv\n../d2/b.csv\n', /\.\. segment/],
    ['an absolute entry', '/daily/d1/a.csv\n', /relative to its folder/],
    ['a backslash', 'a\\b.csv\n', /backslash/],
    ['the manifest itself', '_manifest.json\n', /names itself/],
    ['a repeated entry', 'a.csv\nb.csv\na.csv\n', /names a\.csv twice/],
    ['more entries than the cap', 'a.csv\nb.csv\nc.csv\nd.csv\n', /names 4 files; route manifested accepts at most 3 \(batching\.maxManifestFiles\)/],
    ['no entries', '# nothing\n', /lists no files/],
    ['a non-string entry', JSON.stringify({ files: ['a.csv', 7] }), /must list file names/],
    ['bad JSON', '{ "files": [', /not valid JSON/],
  ])('fails the batch for %s', (_what, text, reason) => {
    expect(() => entries(text)).toThrow(reason);
  });

  it('keeps its messages short whatever the entries', () => {
    let message = '';
    try {
      const roomy = { ...manifested, batching: { ...manifested.batching, maxManifestFiles: 10 } } as typeof manifested;
      manifestEntries(['a', 'b', 'c', 'd', 'e'].map((c) => `${c.repeat(900)}.txt`).join('\n'), 'daily/d1/_manifest.json', roomy);
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(/does not match.*; and 2 more\.$/);
    expect(message.length).toBeLessThan(1000);
  });
});

describe('hostile values in events (review of 2026-12-06)', () => {
  const { parseMlEvent } = require('../../src/events/mlEvents') as typeof import('../../src/events/mlEvents');
  const { clip, textOf } = require('../../src/domain/untrustedText') as typeof import('../../src/domain/untrustedText');
  // JSON.parse, as the intake receives events: objects whose toString is not a function.
  const hostile = JSON.parse('{"toString":1}') as unknown;

  it('quotes an object that cannot become a primitive instead of throwing', () => {
    expect(() => String(hostile)).toThrow(TypeError);
    expect(clip(hostile)).toBe('{"toString":1}');
    expect(textOf(JSON.parse('{"toString":null,"valueOf":null}'))).toBe('{"toString":null,"valueOf":null}');
    expect(textOf(Object.create(null))).toBe('{}');
    expect(textOf(42)).toBe('42');
  });

  it('drops a storage event whose id is an object, or longer than an arrival record keeps, with the reason', () => {
    const objectId = { ...example('event-grid-schema', 'blob_created.json'), id: hostile };
    expect(parseStorageEvent(objectId)).toMatchObject({ ok: false, reason: expect.stringMatching(/malformed/) });
    for (const schema of ['event-grid-schema', 'cloud-events-schema']) {
      const longId = { ...example(schema, 'blob_created.json'), id: 'x'.repeat(40_000) };
      const parsed = parseStorageEvent(longId);
      expect(parsed).toMatchObject({ ok: false, reason: expect.stringMatching(/longer than 512 characters/) });
      expect(!parsed.ok && parsed.reason.length).toBeLessThan(400);
      expect(parseStorageEvent({ ...longId, id: 'x'.repeat(512) }).ok).toBe(true);
    }
  });

  it('refuses an Azure ML event whose id or type is not a string, and quotes an object tag value', () => {
    const type = 'Microsoft.MachineLearningServices.RunCompleted';
    expect(parseMlEvent({ id: hostile, eventType: type, data: { runId: 'j' } })).toEqual({ kind: 'invalid', reason: "the event's id and type must be strings" });
    expect(parseMlEvent({ id: 'e', eventType: hostile, data: { runId: 'j' } })).toEqual({ kind: 'invalid', reason: "the event's id and type must be strings" });
    expect(parseMlEvent({ id: 'e', eventType: null, data: { runId: 'j' } })).toEqual({ kind: 'invalid', reason: 'the event has no id or type' });
    const tagged = parseMlEvent({ id: 'e', eventType: type, data: { runId: 'j', runTags: { 'batchpilot-run-id': hostile } } });
    expect(tagged).toMatchObject({ kind: 'job', event: { runTags: { 'batchpilot-run-id': '{"toString":1}' } } });
  });
});
