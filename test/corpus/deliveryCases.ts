// Hostile and malformed Event Grid deliveries, as data: what is posted to the host's Event Grid webhook
// and what must come of it — the HTTP status Event Grid would act on (2xx: delivered, never retried;
// 400/413: dead-lettered, never retried; 5xx: retried, which no case may cause), how many runs start
// (none, unless the case says so) and, where the app drops the event, a log line that says why.
//
// Bodies may name the stack they are sent to through placeholders, filled when the case runs:
// {{blob}} is the data account's blob endpoint as the app is configured with it (path style, e.g.
// http://127.0.0.1:PORT/devstoreaccount1), {{origin}} its origin and {{port}} its port.

export type DeliveryBody =
  /** An Event Grid schema delivery: a JSON array of events. */
  | { events: unknown[] }
  /** One CloudEvent in structured mode. */
  | { cloudEvent: unknown }
  /** A CloudEvents batch (a JSON array, application/cloudevents-batch+json). */
  | { cloudBatch: unknown[] }
  /** Bytes as they are, with the content type given (default application/json). */
  | { raw: string | Buffer; contentType?: string };

export interface DeliveryCase {
  name: string;
  /** The Event Grid triggered function the webhook is asked to invoke; default intakeStorageEvents. */
  functionName?: string;
  body: DeliveryBody;
  /** Replaces the webhook's query string; {{key}} is the eventgrid_extension system key. */
  query?: string;
  method?: string;
  /** Headers added to (or replacing) the Notification headers Event Grid sends. */
  headers?: Record<string, string>;
  expect: {
    status: number;
    /** Runs (top-level Durable instances) started; default 0. */
    runs?: number;
    /** A host log line written while the case ran matches this. */
    log?: RegExp;
    /** The response body matches this. */
    response?: RegExp;
  };
}

const STORAGE_TOPIC = '/subscriptions/00000000-0000-4000-8000-0000000b47c4/resourceGroups/batchpilot-local/providers/Microsoft.Storage/storageAccounts/devstoreaccount1';
const WORKSPACE_TOPIC = '/subscriptions/00000000-0000-4000-8000-0000000b47c4/resourceGroups/batchpilot-local/providers/Microsoft.MachineLearningServices/workspaces/local-workspace';

/** A well-formed BlobCreated event (Event Grid schema) for `url`, with fields replaced or added. */
export function blobCreated(url: unknown, overrides: Record<string, unknown> = {}, dataOverrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    topic: STORAGE_TOPIC,
    subject: '/blobServices/default/containers/input/blobs/hostile/a.csv',
    eventType: 'Microsoft.Storage.BlobCreated',
    id: 'b1e5e0d8-401e-002b-3749-928517060431',
    data: {
      api: 'PutBlob',
      clientRequestId: '89bc72c2-5dfe-4d9f-9706-43612c1bd01b',
      requestId: 'beb21a5e-401e-002b-3749-928517000000',
      eTag: '0x8D96060BDA19D9D',
      contentType: 'text/csv',
      contentLength: 120,
      blobType: 'BlockBlob',
      url,
      sequencer: '0000000000000000000000000000B00D0000000005b058d3',
      ...dataOverrides,
    },
    dataVersion: '',
    metadataVersion: '1',
    eventTime: '2024-05-01T10:00:00.0000000Z',
    ...overrides,
  };
}

/** The same event as a CloudEvent 1.0. */
export function cloudBlobCreated(url: unknown, overrides: Record<string, unknown> = {}, dataOverrides: Record<string, unknown> = {}): Record<string, unknown> {
  const eg = blobCreated(url, {}, dataOverrides);
  return {
    specversion: '1.0',
    id: eg.id,
    source: STORAGE_TOPIC,
    subject: eg.subject,
    type: eg.eventType,
    time: eg.eventTime,
    datacontenttype: 'application/json',
    data: eg.data,
    ...overrides,
  };
}

/** An Azure ML job event (Event Grid schema) for job `jobName` carrying `runTags`. */
export function jobEvent(eventType: 'RunCompleted' | 'RunStatusChanged', jobName: unknown, runTags: unknown, dataOverrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    topic: WORKSPACE_TOPIC,
    subject: `experiments/0fa9dfaa-cba3-4fa7-b590-23e48548f5c1/runs/${String(jobName).slice(0, 50)}`,
    eventType: `Microsoft.MachineLearningServices.${eventType}`,
    eventTime: '2024-05-01T10:00:00.0000000Z',
    id: '831e1650-001e-001b-66ab-eeb76e069631',
    data: { experimentId: '0fa9dfaa-cba3-4fa7-b590-23e48548f5c1', experimentName: 'batch', runId: jobName, runType: null, runTags, runProperties: {}, runStatus: 'Completed', ...dataOverrides },
    dataVersion: '',
    metadataVersion: '1',
  };
}

/** A ModelRegistered event (Event Grid schema). */
export function modelRegistered(subject: unknown, data: unknown): Record<string, unknown> {
  return {
    topic: WORKSPACE_TOPIC,
    subject,
    eventType: 'Microsoft.MachineLearningServices.ModelRegistered',
    eventTime: '2024-05-01T10:00:00.0000000Z',
    id: '931e1650-001e-001b-66ab-eeb76e069631',
    data,
    dataVersion: '',
    metadataVersion: '1',
  };
}

const NESTED = '{{nested}}';

/**
 * A batch of events as JSON text, with the value {{nested}} replaced by `value` inside `depth` arrays:
 * text, because JSON.stringify itself cannot write a value nested that deep.
 */
function withNesting(events: unknown[], depth: number, value: unknown = 1): string {
  return JSON.stringify(events).replace(JSON.stringify(NESTED), `${'['.repeat(depth)}${JSON.stringify(value)}${']'.repeat(depth)}`);
}

const MB = 1024 * 1024;
/** A blob the hostile route would take if nothing else were wrong with the event. */
const GOOD = '{{blob}}/input/hostile/a.csv';
const refused = (reason: RegExp): DeliveryCase['expect'] => ({ status: 202, log: reason });

export const DELIVERY_CASES: DeliveryCase[] = [
  // ---- framing: not JSON, not an array of objects -----------------------------------------------
  { name: 'truncated JSON', body: { raw: '[{"id": "1", "eventType": ' }, expect: { status: 400, response: /not valid JSON/ } },
  { name: 'empty body', body: { raw: '' }, expect: { status: 400, response: /not valid JSON/ } },
  { name: 'JSON null', body: { raw: 'null' }, expect: { status: 400, response: /must be a JSON array/ } },
  { name: 'a JSON string', body: { raw: '"BlobCreated"' }, expect: { status: 400, response: /must be a JSON array/ } },
  { name: 'a JSON number', body: { raw: '42' }, expect: { status: 400, response: /must be a JSON array/ } },
  { name: 'an empty batch', body: { events: [] }, expect: { status: 400, response: /no events/ } },
  { name: 'one event not wrapped in an array (Event Grid schema)', body: { raw: JSON.stringify(blobCreated(GOOD)) }, expect: { status: 400, response: /must be a JSON array/ } },
  { name: 'numbers in the batch', body: { events: [1, 2] }, expect: { status: 400, response: /must be a JSON object/ } },
  { name: 'null in the batch', body: { events: [null] }, expect: { status: 400, response: /must be a JSON object/ } },
  { name: 'an array in the batch', body: { events: [[blobCreated(GOOD)]] }, expect: { status: 400, response: /must be a JSON object/ } },
  { name: 'bytes that are not UTF-8', body: { raw: Buffer.from([0x5b, 0xff, 0xfe, 0xfd, 0x5d]) }, expect: { status: 400, response: /not valid JSON/ } },
  { name: 'UTF-16 JSON', body: { raw: Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(JSON.stringify([blobCreated(GOOD)]), 'utf16le')]) }, expect: { status: 400, response: /not valid JSON/ } },
  { name: 'JSON nested 10,000 levels deep inside data', body: { raw: withNesting([blobCreated(GOOD, {}, { extra: NESTED })], 10_000) }, expect: { status: 400, response: /nested deeper than/ } },
  { name: 'JSON nested 100,000 levels deep as the batch', body: { raw: `${'['.repeat(100_000)}${']'.repeat(100_000)}` }, expect: { status: 400 } },

  // ---- missing and wrongly typed envelope fields -----------------------------------------------
  { name: 'no id', body: { events: [blobCreated(GOOD, { id: undefined })] }, expect: { status: 400, response: /missing required property 'id'/ } },
  { name: 'no eventType', body: { events: [blobCreated(GOOD, { eventType: undefined })] }, expect: { status: 400, response: /'eventType'/ } },
  { name: 'no eventTime', body: { events: [blobCreated(GOOD, { eventTime: undefined })] }, expect: { status: 400, response: /'eventTime'/ } },
  { name: 'eventTime that is not a date', body: { events: [blobCreated(GOOD, { eventTime: 'yesterday' })] }, expect: { status: 400, response: /not a date-time/ } },
  { name: 'no subject', body: { events: [blobCreated(GOOD, { subject: undefined })] }, expect: { status: 400, response: /'subject'/ } },
  { name: 'dataVersion as a number', body: { events: [blobCreated(GOOD, { dataVersion: 1 })] }, expect: { status: 400, response: /'dataVersion'/ } },
  { name: 'id as a number', body: { events: [blobCreated(GOOD, { id: 12345 })] }, expect: refused(/Dropped event: malformed Event Grid event: id/) },
  { name: 'id as an object', body: { events: [blobCreated(GOOD, { id: { $ne: null } })] }, expect: refused(/Dropped event: malformed Event Grid event: id/) },
  { name: 'eventType as an array', body: { events: [blobCreated(GOOD, { eventType: ['Microsoft.Storage.BlobCreated'] })] }, expect: refused(/Dropped event: malformed Event Grid event: eventType/) },
  { name: 'topic as a number', body: { events: [blobCreated(GOOD, { topic: 7 })] }, expect: refused(/Dropped event: malformed Event Grid event: topic/) },

  // ---- wrong event types -------------------------------------------------------------------------
  { name: 'BlobDeleted', body: { events: [blobCreated(GOOD, { eventType: 'Microsoft.Storage.BlobDeleted' })] }, expect: refused(/event type Microsoft\.Storage\.BlobDeleted is not Microsoft\.Storage\.BlobCreated/) },
  { name: 'BlobCreated with a trailing space', body: { events: [blobCreated(GOOD, { eventType: 'Microsoft.Storage.BlobCreated ' })] }, expect: refused(/is not Microsoft\.Storage\.BlobCreated/) },
  { name: 'blobcreated in lower case', body: { events: [blobCreated(GOOD, { eventType: 'microsoft.storage.blobcreated' })] }, expect: refused(/is not Microsoft\.Storage\.BlobCreated/) },
  { name: 'an Azure ML event sent to the storage intake', body: { events: [jobEvent('RunCompleted', 'job-1', {})] }, expect: refused(/is not Microsoft\.Storage\.BlobCreated/) },
  { name: 'an event type of 300,000 characters', body: { events: [blobCreated(GOOD, { eventType: 'T'.repeat(300_000) })] }, expect: refused(/is not Microsoft\.Storage\.BlobCreated/) },

  // ---- the data object ---------------------------------------------------------------------------
  { name: 'no data', body: { events: [blobCreated(GOOD, { data: undefined })] }, expect: refused(/malformed Event Grid event: data /) },
  { name: 'data as a string', body: { events: [blobCreated(GOOD, { data: JSON.stringify({ url: GOOD }) })] }, expect: refused(/BlobCreated data is malformed/) },
  { name: 'data as an array', body: { events: [blobCreated(GOOD, { data: [{ url: GOOD }] })] }, expect: refused(/BlobCreated data is malformed/) },
  { name: 'no url', body: { events: [blobCreated(undefined)] }, expect: refused(/data\.url/) },
  { name: 'url as a number', body: { events: [blobCreated(12)] }, expect: refused(/data\.url/) },
  { name: 'url as an object', body: { events: [blobCreated({ href: GOOD })] }, expect: refused(/data\.url/) },
  { name: 'an empty url', body: { events: [blobCreated('')] }, expect: refused(/data\.url/) },
  { name: 'no api', body: { events: [blobCreated(GOOD, {}, { api: undefined })] }, expect: refused(/data\.api/) },
  { name: 'no eTag', body: { events: [blobCreated(GOOD, {}, { eTag: undefined })] }, expect: refused(/no eTag/) },
  { name: 'a negative contentLength', body: { events: [blobCreated(GOOD, {}, { contentLength: -1 })] }, expect: refused(/data\.contentLength/) },
  { name: 'contentLength as a string', body: { events: [blobCreated(GOOD, {}, { contentLength: '120' })] }, expect: refused(/data\.contentLength/) },
  { name: 'an api no route takes', body: { events: [blobCreated(GOOD, {}, { api: 'DeleteBlob' })] }, expect: refused(/api DeleteBlob is not one of/) },

  // ---- __proto__ and constructor keys ------------------------------------------------------------
  { name: '__proto__ in data holding the blob fields', body: { raw: `[${JSON.stringify(blobCreated(GOOD, { data: {} })).replace('"data":{}', `"data":{"__proto__":${JSON.stringify({ api: 'PutBlob', eTag: '0x1', url: GOOD })}}`)}]` }, expect: refused(/data\.(api|url)/) },
  { name: '__proto__ at the top holding the envelope', body: { raw: `[{"__proto__":${JSON.stringify(blobCreated(GOOD))}}]` }, expect: { status: 400, response: /missing required property/ } },
  { name: 'constructor.prototype in data', body: { events: [blobCreated('{{blob}}/input/elsewhere/a.csv', {}, { constructor: { prototype: { polluted: true } } })] }, expect: refused(/no route takes 'elsewhere\/a\.csv'/) },
  { name: '__proto__ setting isAdmin next to a refused url', body: { raw: `[${JSON.stringify(blobCreated('https://169.254.169.254/input/hostile/a.csv')).replace(/^\{/, '{"__proto__":{"isAdmin":true},')}]` }, expect: refused(/is not an Azure Storage blob endpoint/) },
  { name: 'a blob named __proto__ outside every route', body: { events: [blobCreated('{{blob}}/input/elsewhere/__proto__')] }, expect: refused(/no route takes 'elsewhere\/__proto__'/) },

  // ---- foreign hosts and the metadata service ----------------------------------------------------
  { name: 'the instance metadata service by IP', body: { events: [blobCreated('http://169.254.169.254/metadata/identity/oauth2/token')] }, expect: refused(/host '169\.254\.169\.254' is not an Azure Storage blob endpoint/) },
  { name: 'the metadata service by name', body: { events: [blobCreated('http://metadata.azure.com/metadata/instance')] }, expect: refused(/host 'metadata\.azure\.com' is not/) },
  { name: 'the ARM endpoint', body: { events: [blobCreated('https://management.azure.com/subscriptions/x/input/hostile/a.csv')] }, expect: refused(/host 'management\.azure\.com' is not/) },
  { name: 'localhost on the storage port', body: { events: [blobCreated('http://localhost:{{port}}/devstoreaccount1/input/hostile/a.csv')] }, expect: refused(/host 'localhost:\d+' is not/) },
  { name: 'the storage host on another port', body: { events: [blobCreated('http://127.0.0.1:1/devstoreaccount1/input/hostile/a.csv')] }, expect: refused(/host '127\.0\.0\.1:1' is not/) },
  { name: 'the IPv6 loopback', body: { events: [blobCreated('http://[::1]:{{port}}/devstoreaccount1/input/hostile/a.csv')] }, expect: refused(/host '\[::1\]:\d+' is not/) },
  { name: 'an IPv4-mapped IPv6 literal', body: { events: [blobCreated('https://[::ffff:a9fe:a9fe]/devstoreaccount1/input/hostile/a.csv')] }, expect: refused(/is not an Azure Storage blob endpoint/) },
  { name: 'a public IP literal over https', body: { events: [blobCreated('https://20.60.1.1/input/hostile/a.csv')] }, expect: refused(/host '20\.60\.1\.1' is not/) },
  { name: 'a hexadecimal IP literal', body: { events: [blobCreated('http://0xa9.0xfe.0xa9.0xfe/input/hostile/a.csv')] }, expect: refused(/host '169\.254\.169\.254' is not/) },
  { name: 'a decimal IP literal', body: { events: [blobCreated('http://2852039166/input/hostile/a.csv')] }, expect: refused(/host '169\.254\.169\.254' is not/) },
  { name: 'an Azure host name as a subdomain of another', body: { events: [blobCreated('https://devstoreaccount1.blob.core.windows.net.evil.example/input/hostile/a.csv')] }, expect: refused(/is not an Azure Storage blob endpoint/) },
  { name: 'an Azure host name in the path of another host', body: { events: [blobCreated('https://evil.example/devstoreaccount1.blob.core.windows.net/input/hostile/a.csv')] }, expect: refused(/host 'evil\.example' is not/) },
  { name: 'a look-alike host name (Cyrillic a)', body: { events: [blobCreated('https://devstoreаccount1.blob.core.windows.net/input/hostile/a.csv')] }, expect: refused(/is not an Azure Storage blob endpoint/) },
  { name: 'Azure Storage over http', body: { events: [blobCreated('http://devstoreaccount1.blob.core.windows.net/input/hostile/a.csv')] }, expect: refused(/must use https/) },
  { name: 'Azure Storage with a port', body: { events: [blobCreated('https://devstoreaccount1.blob.core.windows.net:8443/input/hostile/a.csv')] }, expect: refused(/take no port/) },
  { name: 'an account the route does not allow', body: { events: [blobCreated('{{origin}}/otheraccount/input/hostile/a.csv')] }, expect: refused(/account otheraccount is not in its allow-list/) },
  { name: 'a file URL', body: { events: [blobCreated('file:///etc/passwd')] }, expect: refused(/is not an Azure Storage blob endpoint/) },
  { name: 'a javascript URL', body: { events: [blobCreated('javascript:alert(1)')] }, expect: refused(/refused/) },
  { name: 'not a URL at all', body: { events: [blobCreated('input/hostile/a.csv')] }, expect: refused(/it is not a URL/) },

  // ---- userinfo ----------------------------------------------------------------------------------
  { name: 'credentials before the storage host', body: { events: [blobCreated('http://user:secret@127.0.0.1:{{port}}/devstoreaccount1/input/hostile/a.csv')] }, expect: refused(/carries credentials/) },
  { name: 'the storage host as userinfo of another host', body: { events: [blobCreated('https://devstoreaccount1.blob.core.windows.net@evil.example/input/hostile/a.csv')] }, expect: refused(/carries credentials|host 'evil\.example'/) },
  { name: 'a user name only', body: { events: [blobCreated('https://x@devstoreaccount1.blob.core.windows.net/input/hostile/a.csv')] }, expect: refused(/carries credentials/) },

  // ---- traversal, encodings and odd segments -----------------------------------------------------
  { name: 'encoded ../ in the blob name', body: { events: [blobCreated('{{blob}}/input/hostile/..%2F..%2Fsecrets.csv')] }, expect: refused(/has a \.\. segment/) },
  { name: 'an encoded .. segment', body: { events: [blobCreated('{{blob}}/input/hostile/%2e%2e/x.csv')] }, expect: refused(/has a \.\. segment/) },
  { name: 'a raw .. segment', body: { events: [blobCreated('{{blob}}/input/hostile/../runs/x.csv')] }, expect: refused(/has a \.\. segment/) },
  { name: 'a . segment', body: { events: [blobCreated('{{blob}}/input/hostile/./a.csv')] }, expect: refused(/has a \. segment/) },
  { name: 'an empty segment', body: { events: [blobCreated('{{blob}}/input/hostile//a.csv')] }, expect: refused(/empty segment/) },
  { name: 'a backslash', body: { events: [blobCreated('{{blob}}/input/hostile\\..\\a.csv')] }, expect: refused(/backslash/) },
  { name: 'an encoded backslash', body: { events: [blobCreated('{{blob}}/input/hostile/..%5Ca.csv')] }, expect: refused(/backslash/) },
  { name: 'an encoded NUL', body: { events: [blobCreated('{{blob}}/input/hostile/a%00.csv')] }, expect: refused(/control character/) },
  { name: 'an encoded line break (log injection)', body: { events: [blobCreated('{{blob}}/input/hostile/a%0A{"level":"error"}.csv')] }, expect: refused(/control character/) },
  { name: 'a raw line break', body: { events: [blobCreated('{{blob}}/input/hostile/a\n.csv')] }, expect: refused(/control character/) },
  { name: 'broken percent-encoding', body: { events: [blobCreated('{{blob}}/input/hostile/%E0%A4%A.csv')] }, expect: refused(/not valid percent-encoding/) },
  { name: 'an encoded traversal out of the container', body: { events: [blobCreated('{{blob}}/..%2Fruns/hostile/a.csv')] }, expect: refused(/is not a container name/) },
  { name: 'a container but no blob', body: { events: [blobCreated('{{blob}}/input')] }, expect: refused(/does not name an account, a container and a blob/) },

  // ---- query strings, SAS tokens and fragments ---------------------------------------------------
  { name: 'a SAS token', body: { events: [blobCreated(`${GOOD}?sv=2022-11-02&ss=b&srt=o&sp=r&se=2030-01-01&sig=abc%3D`)] }, expect: refused(/SAS tokens are not accepted/) },
  { name: 'a bare question mark', body: { events: [blobCreated(`${GOOD}?`)] }, expect: refused(/query or fragment/) },
  { name: 'a fragment', body: { events: [blobCreated(`${GOOD}#frag`)] }, expect: refused(/query or fragment/) },
  { name: 'a fragment hiding the real host', body: { events: [blobCreated('https://evil.example#@devstoreaccount1.blob.core.windows.net/input/hostile/a.csv')] }, expect: refused(/query or fragment|host 'evil\.example'/) },

  // ---- very long values --------------------------------------------------------------------------
  { name: 'a URL of 100,000 characters', body: { events: [blobCreated(`{{blob}}/input/hostile/${'a'.repeat(100_000)}.csv`)] }, expect: refused(/longer than 4096 characters/) },
  { name: 'a blob name of 2,000 characters', body: { events: [blobCreated(`{{blob}}/input/hostile/${'b'.repeat(2000)}.csv`)] }, expect: refused(/longer than 1024 characters/) },
  { name: 'an id of 500,000 characters', body: { events: [blobCreated('{{blob}}/input/elsewhere/a.csv', { id: 'i'.repeat(500_000) })] }, expect: refused(/id is longer than 512 characters/) },
  { name: 'an id of 40,000 characters on a route that records arrivals', body: { events: [blobCreated('{{blob}}/input/batches/p1/a.csv', { id: 'i'.repeat(40_000) })] }, expect: refused(/id is longer than 512 characters/) },
  { name: 'an id that is an object without a usable toString', body: { raw: JSON.stringify([blobCreated(GOOD)]).replace('"id":"b1e5e0d8-401e-002b-3749-928517060431"', '"id":{"toString":1}') }, expect: refused(/malformed Event Grid event: id/) },
  { name: 'a blob name that makes a many-star glob backtrack', body: { events: [blobCreated(`{{blob}}/input/dated/scores${'_'.repeat(1000)}`)] }, expect: refused(/does not match '\*\*\/scores_\*_\*_\*_\*\.csv'/) },

  // ---- oversized events and batches --------------------------------------------------------------
  { name: 'one event over 1 MB', body: { events: [blobCreated(GOOD, {}, { padding: 'p'.repeat(MB + 10) })] }, expect: { status: 413, response: /larger than Event Grid delivers/ } },
  { name: 'one CloudEvent over 1 MB', body: { cloudEvent: cloudBlobCreated(GOOD, {}, { padding: 'p'.repeat(MB + 10) }) }, expect: { status: 413 } },
  { name: 'an oversized event behind a good one', body: { events: [blobCreated('{{blob}}/input/elsewhere/a.csv'), blobCreated(GOOD, {}, { padding: 'p'.repeat(2 * MB) })] }, expect: { status: 413, response: /event 1 is/ } },
  { name: 'a batch over 1 MB of events under 1 MB', body: { events: [0, 1, 2].map((i) => blobCreated(`{{blob}}/input/elsewhere/${i}.csv`, {}, { padding: 'p'.repeat(400_000) })) }, expect: { status: 413, response: /batch/ } },
  { name: 'a batch of 5,001 events', body: { events: Array.from({ length: 5001 }, () => blobCreated('https://169.254.169.254/input/hostile/a.csv')) }, expect: { status: 413, response: /5,000 events/ } },
  { name: 'a batch of 300 malformed events', body: { events: Array.from({ length: 300 }, () => ({ id: 'x' })) }, expect: { status: 400, response: /event 2: missing required property 'eventTime'; and 1,190 more\./ } },

  // ---- duplicate IDs in one batch ----------------------------------------------------------------
  { name: 'one refused event twice with one id', body: { events: [blobCreated('http://169.254.169.254/input/hostile/a.csv'), blobCreated('http://169.254.169.254/input/hostile/a.csv')] }, expect: refused(/169\.254\.169\.254/) },
  { name: 'one good event twice with one id: one run', body: { events: [blobCreated('{{blob}}/input/dup/one.csv'), blobCreated('{{blob}}/input/dup/one.csv')] }, expect: { status: 202, runs: 1, log: /duplicate delivery, nothing started/ } },
  { name: 'one blob under two spellings in one batch: one run at most', body: { events: [blobCreated('{{blob}}/input/dup/one.csv', { id: 'other-1' }), blobCreated('{{blob}}/input/dup/%6Fne.csv', { id: 'other-2' })] }, expect: { status: 202, runs: 0, log: /duplicate delivery, nothing started/ } },

  // ---- CloudEvents -------------------------------------------------------------------------------
  { name: 'CloudEvent with specversion 0.3', body: { cloudEvent: cloudBlobCreated(GOOD, { specversion: '0.3' }) }, expect: { status: 400, response: /specversion must be '1\.0'/ } },
  { name: 'CloudEvent without source', body: { cloudEvent: cloudBlobCreated(GOOD, { source: undefined }) }, expect: { status: 400, response: /'source'/ } },
  { name: 'CloudEvent with a foreign host', body: { cloudEvent: cloudBlobCreated('http://169.254.169.254/input/hostile/a.csv') }, expect: refused(/host '169\.254\.169\.254' is not/) },
  { name: 'CloudEvent with data as a string', body: { cloudEvent: cloudBlobCreated(GOOD, { data: 'url=x' }) }, expect: refused(/BlobCreated data is malformed/) },
  { name: 'CloudEvent with source as a number', body: { cloudEvent: cloudBlobCreated(GOOD, { source: 5 }) }, expect: refused(/malformed CloudEvent: source/) },
  { name: 'CloudEvents batch mixing in an Event Grid event', body: { cloudBatch: [cloudBlobCreated('http://169.254.169.254/input/hostile/a.csv'), blobCreated(GOOD)] }, expect: { status: 400, response: /event 1: missing required attribute/ } },
  { name: 'Event Grid event sent as a CloudEvent', body: { raw: JSON.stringify(blobCreated(GOOD)), contentType: 'application/cloudevents+json' }, expect: { status: 400, response: /not valid CloudEventSchemaV1_0/ } },

  // ---- the webhook itself ------------------------------------------------------------------------
  { name: 'no function name', query: 'code={{key}}', body: { events: [blobCreated(GOOD)] }, expect: { status: 400, response: /functionName/ } },
  { name: 'an unknown function', query: 'functionName=nope&code={{key}}', body: { events: [blobCreated(GOOD)] }, expect: { status: 404 } },
  { name: 'an HTTP function through the Event Grid webhook', query: 'functionName=opsListRuns&code={{key}}', body: { events: [blobCreated(GOOD)] }, expect: { status: 404 } },
  { name: 'no system key', query: 'functionName=intakeStorageEvents', body: { events: [blobCreated(GOOD)] }, expect: { status: 401 } },
  { name: 'a wrong system key', query: 'functionName=intakeStorageEvents&code=not-the-key', body: { events: [blobCreated(GOOD)] }, expect: { status: 401 } },
  { name: 'GET instead of POST', method: 'GET', body: { raw: '' }, expect: { status: 405 } },
  { name: 'CloudEvents handshake without an origin', method: 'OPTIONS', body: { raw: '' }, expect: { status: 400, response: /WebHook-Request-Origin/ } },
  { name: 'a validation handshake without a code', headers: { 'aeg-event-type': 'SubscriptionValidation' }, body: { events: [{ id: 'v', eventType: 'Microsoft.EventGrid.SubscriptionValidationEvent', subject: '', dataVersion: '1', eventTime: '2024-05-01T10:00:00Z', data: {} }] }, expect: { status: 400, response: /validationCode/ } },
  { name: 'a validation handshake with an object as code', headers: { 'aeg-event-type': 'SubscriptionValidation' }, body: { events: [{ id: 'v', eventType: 'Microsoft.EventGrid.SubscriptionValidationEvent', subject: '', dataVersion: '1', eventTime: '2024-05-01T10:00:00Z', data: { validationCode: { a: 1 } } }] }, expect: { status: 400, response: /validationCode/ } },

  // ---- Azure ML workspace events -----------------------------------------------------------------
  { name: 'ML: a job event whose tag names a run that does not exist', functionName: 'intakeMlEvents', body: { events: [jobEvent('RunCompleted', 'job-1', { 'batchpilot-run-id': 'bp-hostile-files-0123456789abcdef01234567', 'batchpilot-attempt': '1' })] }, expect: { status: 202, log: /No waiting instance for this job event/ } },
  { name: 'ML: a run tag that is a management URL', functionName: 'intakeMlEvents', body: { events: [jobEvent('RunCompleted', 'job-1', { 'batchpilot-run-id': 'bp-x/terminate?reason=y#', 'batchpilot-attempt': '1' })] }, expect: { status: 202, log: /is not a batchpilot run ID/ } },
  { name: 'ML: a run tag naming a coalescer', functionName: 'intakeMlEvents', body: { events: [jobEvent('RunCompleted', 'job-1', { 'batchpilot-run-id': 'bpc-hostile-batches-0123456789abcdef01234567', 'batchpilot-attempt': '1' })] }, expect: { status: 202, log: /is not a batchpilot run ID/ } },
  { name: 'ML: an attempt tag that is not a number', functionName: 'intakeMlEvents', body: { events: [jobEvent('RunCompleted', 'job-1', { 'batchpilot-run-id': 'bp-hostile-files-0123456789abcdef01234567', 'batchpilot-attempt': '1e3' })] }, expect: { status: 202, log: /is not an attempt number/ } },
  { name: 'ML: run tags under __proto__', functionName: 'intakeMlEvents', body: { raw: JSON.stringify([jobEvent('RunCompleted', 'job-1', {})]).replace('"runTags":{}', '"runTags":{"__proto__":{"batchpilot-run-id":"bp-hostile-files-0123456789abcdef01234567","batchpilot-attempt":"1"}}') }, expect: { status: 202, log: /did not submit; ignored/ } },
  { name: 'ML: an id that is an object without a usable toString', functionName: 'intakeMlEvents', body: { events: [{ ...jobEvent('RunCompleted', 'job-1', {}), id: { toString: 1 } }] }, expect: { status: 202, log: /id and type must be strings/ } },
  { name: 'ML: a run tag that is an object without a usable toString', functionName: 'intakeMlEvents', body: { events: [jobEvent('RunCompleted', 'job-1', { 'batchpilot-run-id': { toString: null }, 'batchpilot-attempt': '1' })] }, expect: { status: 202, log: /is not a batchpilot run ID/ } },
  { name: 'ML: RunStatusChanged without a status', functionName: 'intakeMlEvents', body: { events: [jobEvent('RunStatusChanged', 'job-1', {}, { runStatus: null })] }, expect: { status: 202, log: /has no data\.runStatus/ } },
  { name: 'ML: a job name of 400,000 characters', functionName: 'intakeMlEvents', body: { events: [jobEvent('RunCompleted', 'j'.repeat(400_000), {})] }, expect: { status: 202, log: /did not submit; ignored/ } },
  { name: 'ML: an event type of 400,000 characters', functionName: 'intakeMlEvents', body: { events: [jobEvent('RunCompleted', 'job-1', {})].map((e) => ({ ...e, eventType: `Microsoft.MachineLearningServices.${'X'.repeat(400_000)}` })) }, expect: { status: 202, log: /Ignored ML event of type/ } },
  { name: 'ML: a model subject of 400,000 characters', functionName: 'intakeMlEvents', body: { events: [modelRegistered(`models/${'m'.repeat(400_000)}:1`, { ModelName: 'churn', ModelVersion: 1 })] }, expect: { status: 202, log: /Dropped ML event/ } },
  { name: 'ML: a model name of 400,000 characters', functionName: 'intakeMlEvents', body: { events: [modelRegistered(`models/${'m'.repeat(400_000)}:1`, {})] }, expect: { status: 202, log: /Dropped ML event/ } },
  { name: 'ML: a model from a workspace ID of 400,000 characters', functionName: 'intakeMlEvents', body: { events: [{ ...modelRegistered('models/churn:1', { ModelName: 'churn', ModelVersion: 1, ModelTags: { stage: 'candidate' } }), topic: `/subscriptions/${'w'.repeat(400_000)}` }] }, expect: { status: 202, log: /No run: no model route takes it/ } },
  { name: 'ML: a model tag value of 400,000 characters', functionName: 'intakeMlEvents', body: { events: [modelRegistered('models/churn:1', { ModelName: 'churn', ModelVersion: 1, ModelTags: { stage: 's'.repeat(400_000) } })] }, expect: { status: 202, log: /No run: no model route takes it \(hostile-models: tag 'stage' is/ } },
  { name: 'ML: a model event id of 400,000 characters', functionName: 'intakeMlEvents', body: { events: [{ ...modelRegistered('models/other:1', { ModelName: 'other', ModelVersion: 1, ModelTags: {} }), id: 'e'.repeat(400_000) }] }, expect: { status: 202, log: /No run: no model route takes it/ } },
  { name: 'ML: a model name with a traversal', functionName: 'intakeMlEvents', body: { events: [modelRegistered('models/../../etc:1', { ModelName: '../../etc', ModelVersion: 1 })] }, expect: { status: 202, log: /is not an Azure ML asset name/ } },
  { name: 'ML: a model version that is an object', functionName: 'intakeMlEvents', body: { events: [modelRegistered('models/churn:1', { ModelName: 'churn', ModelVersion: { $gt: 0 } })] }, expect: { status: 202, log: /is a object, not a string or number/ } },
  { name: 'ML: model tags nested 10,000 levels deep', functionName: 'intakeMlEvents', body: { raw: withNesting([modelRegistered('models/churn:1', { ModelName: 'churn', ModelVersion: 1, ModelTags: { stage: NESTED } })], 10_000, 'candidate') }, expect: { status: 400, response: /nested deeper than/ } },
  { name: 'ML: a model no route takes', functionName: 'intakeMlEvents', body: { events: [modelRegistered('models/other:1', { ModelName: 'other', ModelVersion: 1, ModelTags: { stage: 'candidate' } })] }, expect: { status: 202, log: /No run/ } },
  { name: 'ML: a storage event sent to the ML intake', functionName: 'intakeMlEvents', body: { events: [blobCreated(GOOD)] }, expect: { status: 202, log: /Ignored ML event of type Microsoft\.Storage\.BlobCreated/ } },
];
