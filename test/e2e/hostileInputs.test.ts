// The hostile-input corpus (issue 10 §3), run against the real local stack: every malformed or hostile
// Event Grid delivery, operator API request, routes file and job output in test/corpus/ is sent through
// the same doors Azure would use — the host's Event Grid webhook, the operator API over HTTP, the routes
// loader and host startup, validation against blobs in Azurite — and must end as its case says: the
// expected status or verdict, no run started, no Azure ML job submitted, no log line without bound, and
// a host that is still up and never answered 5xx.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { BlobServiceClient, type ContainerClient } from '@azure/storage-blob';
import { BlobRunStack } from '../support/blobRunStack';
import { principalHeader, restartHostWith } from '../support/operatorStack';
import { testAzurite, uniqueName, waitUntil } from '@batchpilot/local-platform';
import { acceptedRunsWaiting } from '../support/testStack';
import { LOCAL_HOST_CLI as HOST_CLI } from '@batchpilot/local-host';
import { REPO_ROOT } from '../../src/local/stack/localStack';
import { DELIVERY_CASES, type DeliveryCase } from '../corpus/deliveryCases';
import { OPERATOR_CASES, READ_ONLY_CASES, type OperatorCase } from '../corpus/operatorCases';
import { ROUTES_FILE_CASES, type RoutesFileCase } from '../corpus/routesFileCases';
import { JOB_OUTPUT_CASES, THREE_INPUT_ROWS, type JobOutputCase, type OutputContent } from '../corpus/jobOutputCases';
import { parseRoutes, RoutesFileError } from '../../src/config/routes';
import { validateJobOutputs } from '../../src/validation';

const ROUTES = `
routes:
  - name: hostile-files
    trigger: { storageAccounts: [devstoreaccount1], container: input, pathPrefix: hostile/, pathGlob: "**/*.csv" }
    target: { endpoint: churn-scoring }
    validation: {}
  - name: hostile-batches
    trigger: { storageAccounts: [devstoreaccount1], container: input, pathPrefix: batches/ }
    batching: { mode: marker }
    target: { endpoint: churn-scoring }
  - name: hostile-dated
    trigger: { storageAccounts: [devstoreaccount1], container: input, pathPrefix: dated/, pathGlob: "**/scores_*_*_*_*.csv" }
    target: { endpoint: churn-scoring }
  - name: hostile-dup
    trigger: { storageAccounts: [devstoreaccount1], container: input, pathPrefix: dup/ }
    target: { endpoint: no-such-endpoint }
    wait: { pollMinIntervalInSeconds: 1, pollMaxIntervalInSeconds: 3, timeoutInMinutes: 5 }
modelRoutes:
  - name: hostile-models
    trigger: { modelName: churn, tags: { stage: candidate } }
    target: { endpoint: no-such-endpoint }
    validationData: { type: data_asset, asset: "azureml:churn-sample:1" }
`;

/** No log line the app or host writes about an input may grow with the input: values are clipped. */
const MAX_LOG_LINE_CHARS = 4096;

let s: BlobRunStack;
let placeholders: Record<string, string>;
const answered: Array<{ what: string; status: number }> = [];
let casesRun = 0;

beforeAll(async () => {
  s = await BlobRunStack.start(ROUTES, { settings: { WEBSITE_AUTH_ENABLED: 'True', BATCHPILOT_OPERATOR_KEY_ROLE: 'Operator' } });
  const blob = BlobServiceClient.fromConnectionString(s.stack.dataConnectionString).url.replace(/\/+$/, '');
  const origin = new URL(blob).origin;
  placeholders = { blob, origin, port: new URL(blob).port };
}, 300_000);

afterAll(async () => {
  console.log(`hostile-input corpus: ${casesRun} cases`);
  await s?.stop();
});

function keys(): { systemKeys: Record<string, string>; hostKeys: Record<string, string> } {
  return JSON.parse(fs.readFileSync(s.stack.host!.keysFile, 'utf8')) as { systemKeys: Record<string, string>; hostKeys: Record<string, string> };
}

function fill(text: string, extra: Record<string, string> = {}): string {
  return text.replace(/\{\{(\w+)\}\}/g, (whole, name: string) => ({ ...placeholders, ...extra })[name] ?? whole);
}

/** Top-level Durable instances (runs and gatherers, not their sub-runs) on the app's task hub. */
async function runIds(): Promise<Set<string>> {
  const all = await s.durableClient().getStatusAll();
  return new Set(all.map((i) => i.instanceId).filter((id) => !id.includes(':')));
}

async function jobCount(): Promise<number> {
  let n = 0;
  for await (const _job of s.arm.jobs.list(s.stack.azureMl.resourceGroup, s.stack.azureMl.workspaceName)) n++;
  return n;
}

/** One HTTP request with the path sent byte for byte (fetch would resolve `..` and re-encode). */
function rawRequest(method: string, pathAndQuery: string, headers: Record<string, string>, body?: string | Buffer): Promise<{ status: number; text: string }> {
  const url = new URL(s.stack.hostUrl);
  return new Promise((resolve, reject) => {
    const req = http.request({ agent: false, host: url.hostname, port: url.port, method, path: pathAndQuery, headers: { ...headers, ...(body !== undefined ? { 'content-length': String(Buffer.byteLength(body)) } : {}) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** Host log lines written since `from` (the host keeps its newest lines; an index past the end means all). */
function logLinesSince(from: number): string[] {
  const logs = s.stack.host!.logs;
  return from <= logs.length ? logs.slice(from) : [...logs];
}

function messageOf(line: string): string {
  try {
    return String((JSON.parse(line) as { message?: unknown }).message ?? line);
  } catch {
    return line;
  }
}

/** Runs one request-shaped case: no run, no job, no unbounded log line, and the response it gets. */
async function withoutSideEffects<T extends { status: number }>(what: string, runs: number, send: () => Promise<T>): Promise<{ response: T; logs: string[] }> {
  const instancesBefore = await runIds();
  const jobsBefore = await jobCount();
  const logFrom = s.stack.host!.logs.length;
  const response = await send();
  answered.push({ what, status: response.status });
  casesRun++;
  // A run the intake accepted starts at the run-start timer's next tick.
  await waitUntil(async () => (await acceptedRunsWaiting(s.stack)) === 0, 'the accepted runs to start', 30_000);
  const started = [...(await runIds())].filter((id) => !instancesBefore.has(id));
  expect({ what, started: started.length }).toEqual({ what, started: runs });
  expect(await jobCount()).toBe(jobsBefore);
  const logs = logLinesSince(logFrom);
  const long = logs.filter((l) => l.length > MAX_LOG_LINE_CHARS).map((l) => `${l.length} characters: ${l.slice(0, 300)}`);
  expect(long).toEqual([]);
  expect(s.stack.host!.process.exitCode).toBeNull();
  return { response, logs };
}

function deliveryRequest(c: DeliveryCase): { body: string | Buffer; contentType: string } {
  const b = c.body;
  if ('events' in b) return { body: fill(JSON.stringify(b.events)), contentType: 'application/json' };
  if ('cloudEvent' in b) return { body: fill(JSON.stringify(b.cloudEvent)), contentType: 'application/cloudevents+json; charset=utf-8' };
  if ('cloudBatch' in b) return { body: fill(JSON.stringify(b.cloudBatch)), contentType: 'application/cloudevents-batch+json; charset=utf-8' };
  return { body: typeof b.raw === 'string' ? fill(b.raw) : b.raw, contentType: b.contentType ?? 'application/json' };
}

describe('Event Grid deliveries', () => {
  it.each(DELIVERY_CASES.map((c) => [c.name, c] as const))('%s', async (name, c) => {
    const key = keys().systemKeys.eventgrid_extension;
    const query = fill(c.query ?? `functionName=${encodeURIComponent(c.functionName ?? 'intakeStorageEvents')}&code={{key}}`, { key: encodeURIComponent(key) });
    const { body, contentType } = deliveryRequest(c);
    const method = c.method ?? 'POST';
    const { response, logs } = await withoutSideEffects(name, c.expect.runs ?? 0, () =>
      rawRequest(method, `/runtime/webhooks/eventgrid?${query}`, { 'aeg-event-type': 'Notification', 'content-type': contentType, ...c.headers }, method === 'POST' ? body : undefined),
    );
    expect({ name, status: response.status, body: response.text.slice(0, 500) }).toMatchObject({ name, status: c.expect.status });
    if (c.expect.response) expect(response.text).toMatch(c.expect.response);
    if (c.expect.log) expect(logs.map(messageOf)).toContainEqual(expect.stringMatching(c.expect.log));
  });
});

/** Headers of each caller: the host key (or none), and the principal App Service would set. */
function callerHeaders(c: OperatorCase): Record<string, string> {
  const key = { 'x-functions-key': keys().hostKeys.default };
  switch (c.as ?? 'key') {
    case 'anonymous':
      return {};
    case 'key':
      return key;
    case 'reader':
      return { ...key, ...principalHeader({ name: 'corpus-reader', roles: ['Reader'] }) };
    case 'operator':
      return { ...key, ...principalHeader({ name: 'corpus-operator', roles: ['Operator'] }) };
    case 'nobody':
      return { ...key, ...principalHeader({ name: 'corpus-nobody', roles: [] }) };
  }
}

async function runOperatorCase(name: string, c: OperatorCase): Promise<void> {
  const body = c.body === undefined ? undefined : typeof c.body === 'string' ? c.body : JSON.stringify(c.body);
  const headers = { ...callerHeaders(c), ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...c.headers };
  const { response } = await withoutSideEffects(name, 0, () => rawRequest(c.method, `/api/ops${c.path}`, headers, body));
  expect({ name, status: response.status, body: response.text.slice(0, 500) }).toMatchObject({ name, status: c.expect.status });
  if (c.expect.code) expect((JSON.parse(response.text) as { error?: { code?: string } }).error?.code).toBe(c.expect.code);
}

describe('operator API requests', () => {
  it.each(OPERATOR_CASES.map((c) => [c.name, c] as const))('%s', runOperatorCase);
});

describe('after the deliveries and requests', () => {
  it('the host is still up, answers, and never answered 5xx', async () => {
    expect(s.stack.host!.process.exitCode).toBeNull();
    expect(answered.filter((a) => a.status >= 500)).toEqual([]);
    const me = await rawRequest('GET', '/api/ops/me', { 'x-functions-key': keys().hostKeys.default });
    expect(me.status).toBe(200);
  });
});

describe('operator API requests in read-only mode', () => {
  beforeAll(async () => {
    await restartHostWith(s, { BATCHPILOT_OPERATOR_READ_ONLY: 'true' });
  }, 120_000);

  it.each(READ_ONLY_CASES.map((c) => [c.name, c] as const))('%s', runOperatorCase);

  it('the restarted host is still up and never answered 5xx', async () => {
    expect(s.stack.host!.process.exitCode).toBeNull();
    expect(answered.filter((a) => a.status >= 500)).toEqual([]);
  });
});

// ---- routes files ---------------------------------------------------------------------------------

const STARTUP_SETTINGS = {
  BATCHPILOT_TASK_HUB: 'corpus',
  BATCHPILOT_ARM_ENDPOINT: 'https://127.0.0.1:9',
  BATCHPILOT_ML_WORKSPACE_ID: '/subscriptions/s/resourceGroups/r/providers/Microsoft.MachineLearningServices/workspaces/w',
  BATCHPILOT_EVENTS_TOPIC_ENDPOINT: 'https://127.0.0.1:9/topics/t/api/events',
  BATCHPILOT_DATA_STORAGE: 'UseDevelopmentStorage=true',
};

describe('routes files', () => {
  it.each(ROUTES_FILE_CASES.map((c) => [c.name, c] as const))('%s', (name, c: RoutesFileCase) => {
    casesRun++;
    const file = c.file ?? 'routes.yaml';
    let error: unknown;
    try {
      parseRoutes(c.text, file, { ...process.env, ...c.settings });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(RoutesFileError);
    expect({ name, message: (error as Error).message }).toEqual({ name, message: expect.stringMatching(c.expect.error) });
  });

  it.each(ROUTES_FILE_CASES.filter((c) => c.startup).map((c) => [c.name, c] as const))('the host refuses to start with %s', (_name, c: RoutesFileCase) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'corpus-routes-'));
    const file = path.join(dir, c.file ?? 'routes.yaml');
    fs.writeFileSync(file, c.text);
    const r = spawnSync(process.execPath, [HOST_CLI, '--app', REPO_ROOT, '--port', '0', '--data-dir', dir], {
      env: { ...process.env, AzureWebJobsStorage: testAzurite().connectionString, ...STARTUP_SETTINGS, ...c.settings, BATCHPILOT_ROUTES_PATH: file },
      encoding: 'utf8',
      timeout: 90_000,
      killSignal: 'SIGKILL',
    });
    fs.rmSync(dir, { recursive: true, force: true });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/Routes file .* is invalid/);
    expect(r.stderr).toMatch(c.expect.error);
  });
});

// ---- job outputs ----------------------------------------------------------------------------------

describe('job outputs', () => {
  let container: ContainerClient;

  beforeAll(async () => {
    container = BlobServiceClient.fromConnectionString(testAzurite().connectionString).getContainerClient(uniqueName('corpus'));
    await container.create();
  });

  afterAll(async () => {
    await container?.deleteIfExists();
  });

  async function put(name: string, content: OutputContent): Promise<void> {
    const blob = container.getBlockBlobClient(name);
    if (typeof content === 'string' || Buffer.isBuffer(content)) {
      const bytes = typeof content === 'string' ? Buffer.from(content, 'utf8') : content;
      await blob.upload(bytes, bytes.length);
      return;
    }
    // Generated block by block as storage asks for it: the whole line never exists in memory.
    const block = Buffer.from(content.repeat.repeat(Math.ceil((4 * 1024 * 1024) / content.repeat.length)));
    let sent = 0;
    const source = new Readable({
      read() {
        if (sent >= content.bytes) return void this.push(null);
        const part = block.subarray(0, Math.min(block.length, content.bytes - sent));
        sent += part.length;
        this.push(part);
      },
    });
    await blob.uploadStream(source, 4 * 1024 * 1024, 4);
  }

  it.each(JOB_OUTPUT_CASES.map((c) => [c.name, c] as const))('%s', async (name, c: JobOutputCase) => {
    casesRun++;
    const folder = `${uniqueName('run')}/`;
    await put(`${folder}inputs/in.csv`, c.input ?? THREE_INPUT_ROWS);
    if (c.predictions !== undefined) await put(`${folder}outputs/predictions.csv`, c.predictions);
    const report = await validateJobOutputs({
      outputs: { container, prefix: `${folder}outputs/` },
      inputs: { container, blobNames: [`${folder}inputs/in.csv`] },
      rules: c.rules ?? {},
    });
    const firstFailed = report.checks.find((check) => !check.passed);
    if (c.expect.passed) {
      expect({ name, passed: report.passed, firstFailed }).toEqual({ name, passed: true, firstFailed: undefined });
      if (c.expect.rows !== undefined) expect(report.counts.predictionRows).toBe(c.expect.rows);
    } else {
      expect({ name, passed: report.passed, check: firstFailed?.name }).toEqual({ name, passed: false, check: c.expect.check });
      expect(firstFailed!.detail).toMatch(c.expect.detail);
      expect(report.summary).toContain(firstFailed!.detail);
    }
  });
});

describe('the corpus', () => {
  it('ran at least 100 cases', () => {
    expect(casesRun).toBeGreaterThanOrEqual(100);
  });
});
