// What the operator API's changing endpoints do with bodies a careless or hostile caller sends: fields
// the endpoint does not know, text that is not Unicode, control characters in names and paths, dates
// that name no calendar day, and a malformed workspace ID. Each is a 400 that names the problem, before
// anything is read or changed (the Durable client handed in here would throw if it were touched).
import { HttpRequest, InvocationContext } from '@azure/functions';
import type { DurableClient } from 'durable-functions';
import { purgeEndpoint, rollbackEndpointRequest, runActionEndpoint, startRunEndpoint, backfillRunIndexEndpoint } from '../../src/operator/operatorEndpoints';
import { calendarInstant, OperatorError } from '../../src/operator/operatorHttp';
import { parseRunFilter } from '../../src/operator/runQueries';
import { resetRuntimeConfig } from '../../src/config/runtimeConfig';
import { UNIT_APP_SETTINGS } from '../support/appSettingsEnv';

const ENV: Record<string, string> = {
  ...UNIT_APP_SETTINGS,
  // A key-only caller may change things: the checks below are the body's, not the caller's.
  BATCHPILOT_OPERATOR_KEY_ROLE: 'Operator',
};
const saved = { ...process.env };

beforeAll(() => {
  for (const name of ['WEBSITE_AUTH_ENABLED', 'BATCHPILOT_OPERATOR_READ_ONLY']) delete process.env[name];
  Object.assign(process.env, ENV);
  resetRuntimeConfig();
});

afterAll(() => {
  process.env = saved;
  resetRuntimeConfig();
});

/** A Durable client that fails the test if a refused request reaches it. */
const untouchable = new Proxy({}, {
  get: (_target, name) => {
    throw new Error(`The Durable client was used (${String(name)}) for a request that should have been refused.`);
  },
}) as DurableClient;

function post(path: string, body: string, params: Record<string, string> = {}): HttpRequest {
  return new HttpRequest({ url: `http://127.0.0.1:7071/api/ops/${path}`, method: 'POST', headers: { 'x-functions-key': 'k', 'content-type': 'application/json' }, body: { string: body }, params });
}

async function refusal(call: Promise<unknown>): Promise<{ status: number; code: string; message: string }> {
  try {
    await call;
  } catch (err) {
    if (err instanceof OperatorError) return { status: err.status, code: err.code, message: err.message };
    throw err;
  }
  throw new Error('expected a refusal');
}

const context = new InvocationContext({ functionName: 'opsTest' });
const RUN_ID = 'bp-churn-files-0123456789abcdef01234567';

describe('body fields an endpoint does not know', () => {
  it('refuses them by name on every changing endpoint, instead of ignoring them', async () => {
    const purge = await refusal(purgeEndpoint(post('purge', '{"before":"2001-01-01","reason":"r","dryRun":true}'), untouchable, context));
    expect(purge).toMatchObject({ status: 400, code: 'UnknownField' });
    expect(purge.message).toMatch(/'dryRun'.*accepts 'before', 'reason'/);
    expect(await refusal(startRunEndpoint(post('runs', '{"bloob":"input/a.csv","reason":"r"}'), untouchable, context))).toMatchObject({ status: 400, code: 'UnknownField', message: expect.stringMatching(/'bloob'/) });
    expect(await refusal(rollbackEndpointRequest(post('rollbacks', '{"endpoint":"churn","reason":"r","force":true}'), untouchable, context))).toMatchObject({ status: 400, code: 'UnknownField' });
    expect(await refusal(runActionEndpoint(post(`runs/${RUN_ID}/terminate`, '{"reason":"r","hard":true}', { runId: RUN_ID, action: 'terminate' }), untouchable, context))).toMatchObject({ status: 400, code: 'UnknownField' });
    expect(await refusal(backfillRunIndexEndpoint(post('index/backfill', '{"reason":"r","__proto__":{"x":1}}'), untouchable, context))).toMatchObject({ status: 400, code: 'UnknownField', message: expect.stringMatching(/'__proto__'/) });
  });

  it('keeps a long list of unknown names short', async () => {
    const many = Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`f${i}${'x'.repeat(100)}`, 1]));
    const r = await refusal(purgeEndpoint(post('purge', JSON.stringify({ ...many, before: '2001-01-01', reason: 'r' })), untouchable, context));
    expect(r).toMatchObject({ status: 400, code: 'UnknownField', message: expect.stringMatching(/and 45 more/) });
    expect(r.message.length).toBeLessThan(500);
  });
});

describe('text that is not Unicode, and control characters in names and paths', () => {
  it('refuses an unpaired surrogate in a path or a reason with a 400 (it cannot go into a URL)', async () => {
    // JSON.parse turns "\ud800" into a lone high surrogate.
    expect(await refusal(startRunEndpoint(post('runs', '{"blob":"input/\\ud800.csv","reason":"r"}'), untouchable, context))).toMatchObject({ status: 400, code: 'InvalidField', message: expect.stringMatching(/'blob' holds an unpaired UTF-16 surrogate \(\\ud800\)/) });
    expect(await refusal(startRunEndpoint(post('runs', '{"folder":"input/\\udc00x/","reason":"r"}'), untouchable, context))).toMatchObject({ status: 400, code: 'InvalidField', message: expect.stringMatching(/'folder'/) });
    expect(await refusal(runActionEndpoint(post(`runs/${RUN_ID}/terminate`, '{"reason":"stop \\ud800"}', { runId: RUN_ID, action: 'terminate' }), untouchable, context))).toMatchObject({ status: 400, code: 'InvalidField', message: expect.stringMatching(/'reason'/) });
  });

  it('refuses control characters in a path, but keeps line breaks in a reason', async () => {
    expect(await refusal(startRunEndpoint(post('runs', '{"folder":"input/hostile/\\u0000/","reason":"r"}'), untouchable, context))).toMatchObject({ status: 400, code: 'InvalidField', message: expect.stringMatching(/'folder' holds a control character \(input\/hostile\/\\u0000\/\)/) });
    // A reason over two lines passes the body checks and fails later, on the malformed date.
    expect(await refusal(purgeEndpoint(post('purge', '{"before":"someday","reason":"line one\\nline two"}'), untouchable, context))).toMatchObject({ status: 400, code: 'InvalidPurge' });
  });
});

describe('dates that name no calendar day', () => {
  it('refuses 2024-02-31 for a purge instead of purging up to March 2', async () => {
    expect(await refusal(purgeEndpoint(post('purge', '{"before":"2024-02-31","reason":"r"}'), untouchable, context))).toMatchObject({ status: 400, code: 'InvalidPurge', message: expect.stringMatching(/2024-02-31/) });
    expect(await refusal(purgeEndpoint(post('purge', '{"before":"2023-02-29T00:00:00Z","reason":"r"}'), untouchable, context))).toMatchObject({ status: 400, code: 'InvalidPurge' });
  });

  it('refuses such dates in run filters, and keeps leap days and early years', () => {
    const filter = (query: string) => parseRunFilter(new URLSearchParams(query));
    expect(() => filter('from=2024-02-30')).toThrow(/not a valid date/);
    expect(() => filter('to=2024-13-01')).toThrow(OperatorError);
    expect(() => filter('from=2024-04-31T10:00:00Z')).toThrow(/no such calendar day/);
    expect(filter('from=2024-02-29').from?.toISOString()).toBe('2024-02-29T00:00:00.000Z');
    expect(filter('from=0050-01-01').from?.toISOString()).toBe('0050-01-01T00:00:00.000Z');
  });

  it('reads calendar instants exactly as ISO 8601 says', () => {
    expect(calendarInstant('2024-05-01')?.toISOString()).toBe('2024-05-01T00:00:00.000Z');
    expect(calendarInstant('2024-05-01T12:30:00+02:00')?.toISOString()).toBe('2024-05-01T10:30:00.000Z');
    expect(calendarInstant('2024-02-31')).toBeUndefined();
    expect(calendarInstant('2024-00-10')).toBeUndefined();
    expect(calendarInstant('2024-05-01T25:00:00Z')).toBeUndefined();
    expect(calendarInstant('May 1 2024')).toBeUndefined();
  });
});

describe('a rollback in another workspace', () => {
  it('refuses a workspace ID that is not an Azure ML resource ID with a 400, not a 409 "nothing to roll back"', async () => {
    const r = await refusal(rollbackEndpointRequest(post('rollbacks', `{"endpoint":"churn-scoring","workspaceId":"x' or 1 eq 1","reason":"r"}`), untouchable, context));
    expect(r).toMatchObject({ status: 400, code: 'InvalidWorkspaceId', message: expect.stringMatching(/is not an Azure ML workspace resource ID/) });
  });
});
