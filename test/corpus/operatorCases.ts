// Hostile and malformed operator API requests, as data: the request (sent over plain HTTP, path bytes
// as written, so `..` and broken percent-encoding reach the host unnormalised), who sends it, and the
// status and error code that must come back. Nothing a case sends may start a run.
//
// Callers: `key` has only the function key (an Operator on this stack, as BATCHPILOT_OPERATOR_KEY_ROLE
// says); `reader`, `operator` and `nobody` are principals App Service authentication signed in, with
// the Reader role, the Operator role and no role; `anonymous` has no key at all.
import { createHash } from 'node:crypto';

export type Caller = 'key' | 'reader' | 'operator' | 'nobody' | 'anonymous';

export interface OperatorCase {
  name: string;
  method: 'GET' | 'POST' | 'PUT' | 'DELETE' | 'PATCH';
  /** The path under /api/ops, exactly as sent. */
  path: string;
  /** JSON-serialised unless a string (sent as it is). */
  body?: unknown;
  as?: Caller;
  headers?: Record<string, string>;
  expect: { status: number; code?: string };
}

/**
 * A continuation token built the way the API builds one (base64url JSON of a position and the filter's
 * fingerprint), so the forgery passes every check but the one under test. `{}` is the fingerprint's
 * input for a list without filters.
 */
export function forgedToken(fields: Record<string, unknown>): string {
  const f = createHash('sha256').update('{}').digest('base64url').slice(0, 16);
  return Buffer.from(JSON.stringify({ v: 1, t: Date.now(), id: 'bp-x', f, ...fields })).toString('base64url');
}

const WELL_FORMED_RUN = 'bp-hostile-files-0123456789abcdef01234567';
const reason = { reason: 'hostile-input corpus' };
const bad = (status: number, code?: string): OperatorCase['expect'] => ({ status, code });

export const OPERATOR_CASES: OperatorCase[] = [
  // ---- continuation tokens -----------------------------------------------------------------------
  { name: 'token that is not base64 JSON', method: 'GET', path: '/runs?continuationToken=not-a-token', expect: bad(400, 'InvalidContinuationToken') },
  { name: 'token of an empty object', method: 'GET', path: `/runs?continuationToken=${Buffer.from('{}').toString('base64url')}`, expect: bad(400, 'InvalidContinuationToken') },
  { name: 'token of JSON null', method: 'GET', path: `/runs?continuationToken=${Buffer.from('null').toString('base64url')}`, expect: bad(400, 'InvalidContinuationToken') },
  { name: 'token for other filters', method: 'GET', path: `/runs?continuationToken=${forgedToken({ f: 'AAAAAAAAAAAAAAAA' })}`, expect: bad(400, 'InvalidContinuationToken') },
  { name: 'token with a version from the future', method: 'GET', path: `/runs?continuationToken=${forgedToken({ v: 2 })}`, expect: bad(400, 'InvalidContinuationToken') },
  { name: 'token with a time as text', method: 'GET', path: `/runs?continuationToken=${forgedToken({ t: '2024-01-01' })}`, expect: bad(400, 'InvalidContinuationToken') },
  { name: 'token with a time past the end of dates', method: 'GET', path: `/runs?continuationToken=${forgedToken({ t: 1e300 })}`, expect: bad(400, 'InvalidContinuationToken') },
  { name: 'token with a time before the start of dates', method: 'GET', path: `/runs?continuationToken=${forgedToken({ t: -1e300 })}`, expect: bad(400, 'InvalidContinuationToken') },
  // A forged window or ID only moves where the search starts: the read budget still bounds the work.
  { name: 'token with a window of 1e300 ms', method: 'GET', path: `/runs?continuationToken=${forgedToken({ w: 1e300 })}`, expect: { status: 200 } },
  { name: 'token with a window below a second', method: 'GET', path: `/runs?continuationToken=${forgedToken({ w: 1 })}`, expect: bad(400, 'InvalidContinuationToken') },
  { name: 'token with its fields under __proto__', method: 'GET', path: `/runs?continuationToken=${Buffer.from(`{"__proto__":${Buffer.from(forgedToken({}), 'base64url').toString()}}`).toString('base64url')}`, expect: bad(400, 'InvalidContinuationToken') },
  { name: 'token with an id of 5,000 characters', method: 'GET', path: `/runs?continuationToken=${forgedToken({ id: 'x'.repeat(5000) })}`, expect: { status: 200 } },
  { name: 'token given twice', method: 'GET', path: `/runs?continuationToken=not-a-token&continuationToken=${forgedToken({})}`, expect: bad(400, 'InvalidContinuationToken') },

  // ---- list filters ------------------------------------------------------------------------------
  { name: 'q of 201 characters', method: 'GET', path: `/runs?q=${'q'.repeat(201)}`, expect: bad(400, 'InvalidFilter') },
  { name: 'q of 8,000 characters', method: 'GET', path: `/runs?q=${'q'.repeat(8000)}`, expect: bad(400, 'InvalidFilter') },
  { name: 'q of regular expression syntax', method: 'GET', path: `/runs?q=${encodeURIComponent('(a+)+$[')}`, expect: { status: 200 } },
  { name: 'q in counts, oversized', method: 'GET', path: `/counts?q=${'q'.repeat(300)}`, expect: bad(400, 'InvalidFilter') },
  { name: 'top of 0', method: 'GET', path: '/runs?top=0', expect: bad(400, 'InvalidFilter') },
  { name: 'top of 10,000', method: 'GET', path: '/runs?top=10000', expect: bad(400, 'InvalidFilter') },
  { name: 'top of 1e999', method: 'GET', path: '/runs?top=1e999', expect: bad(400, 'InvalidFilter') },
  { name: 'top of 1.5', method: 'GET', path: '/runs?top=1.5', expect: bad(400, 'InvalidFilter') },
  { name: 'an unknown status', method: 'GET', path: '/runs?status=Exploded', expect: bad(400, 'InvalidFilter') },
  { name: 'an unknown kind', method: 'GET', path: '/runs?kind=__proto__', expect: bad(400, 'InvalidFilter') },
  { name: 'a route that is no route name', method: 'GET', path: `/runs?route=${encodeURIComponent('../x')}`, expect: bad(400, 'InvalidFilter') },
  { name: 'from that is no date', method: 'GET', path: '/runs?from=yesterday', expect: bad(400, 'InvalidFilter') },
  { name: 'from that is no day of the calendar', method: 'GET', path: '/runs?from=2024-13-45', expect: bad(400, 'InvalidFilter') },
  { name: 'from after to', method: 'GET', path: '/runs?from=2024-05-02&to=2024-05-01', expect: bad(400, 'InvalidFilter') },
  { name: 'an unknown parameter', method: 'GET', path: '/runs?__proto__=1', expect: bad(400, 'UnknownParameter') },

  // ---- run IDs -----------------------------------------------------------------------------------
  { name: 'a run that does not exist', method: 'GET', path: `/runs/${WELL_FORMED_RUN}`, expect: bad(404, 'RunNotFound') },
  { name: 'a run ID of 300 characters', method: 'GET', path: `/runs/${'b'.repeat(300)}`, expect: bad(400, 'InvalidRunId') },
  { name: 'a run ID with an encoded slash', method: 'GET', path: `/runs/${encodeURIComponent('bp-x/terminate')}`, expect: bad(400, 'InvalidRunId') },
  { name: 'a run ID with an encoded query', method: 'GET', path: `/runs/${encodeURIComponent('bp-x?showHistory=true')}`, expect: bad(400, 'InvalidRunId') },
  // Encoded dot segments are resolved as URL parsers do: /runs/%2E%2E is /api/ops (nothing), /runs/%2E the list.
  { name: 'a run ID of an encoded ..', method: 'GET', path: '/runs/%2E%2E', expect: bad(404, 'NotFound') },
  { name: 'a run ID of an encoded .', method: 'GET', path: '/runs/%2E', expect: { status: 200 } },
  { name: 'a run ID with an encoded NUL', method: 'GET', path: '/runs/bp-x%00y', expect: bad(400, 'InvalidRunId') },
  { name: 'a run ID with an encoded line break', method: 'GET', path: '/runs/bp-x%0Ay', expect: bad(400, 'InvalidRunId') },
  // Percent-encoding that does not decode to UTF-8 matches no route of the host.
  { name: 'a run ID of broken percent-encoding', method: 'GET', path: '/runs/%E0%A4%A', expect: bad(404, 'NotFound') },
  { name: 'a run ID of an overlong UTF-8 dot', method: 'GET', path: '/runs/%C0%AE%C0%AE', expect: bad(404, 'NotFound') },
  { name: 'an action on a run ID with a slash', method: 'POST', path: `/runs/${encodeURIComponent('../purge')}/terminate`, body: reason, expect: bad(400, 'InvalidRunId') },
  { name: 'an action that does not exist', method: 'POST', path: `/runs/${WELL_FORMED_RUN}/explode`, body: reason, expect: bad(404, 'UnknownAction') },
  { name: 'an action called __proto__', method: 'POST', path: `/runs/${WELL_FORMED_RUN}/__proto__`, body: reason, expect: bad(404, 'UnknownAction') },
  { name: 'rerun of a run that does not exist', method: 'POST', path: `/runs/${WELL_FORMED_RUN}/rerun`, body: reason, expect: bad(404, 'RunNotFound') },

  // ---- bodies and reasons ------------------------------------------------------------------------
  { name: 'rerun without a reason', method: 'POST', path: `/runs/${WELL_FORMED_RUN}/rerun`, body: {}, expect: bad(400, 'ReasonRequired') },
  { name: 'rerun without a body', method: 'POST', path: `/runs/${WELL_FORMED_RUN}/rerun`, expect: bad(400, 'ReasonRequired') },
  { name: 'a reason of spaces', method: 'POST', path: `/runs/${WELL_FORMED_RUN}/terminate`, body: { reason: '   \t ' }, expect: bad(400, 'ReasonRequired') },
  { name: 'a reason that is a number', method: 'POST', path: `/runs/${WELL_FORMED_RUN}/terminate`, body: { reason: 42 }, expect: bad(400, 'InvalidField') },
  { name: 'a reason that is an object', method: 'POST', path: `/runs/${WELL_FORMED_RUN}/terminate`, body: { reason: { toString: 'x' } }, expect: bad(400, 'InvalidField') },
  { name: 'a reason of 5,000 characters', method: 'POST', path: `/runs/${WELL_FORMED_RUN}/terminate`, body: { reason: 'r'.repeat(5000) }, expect: bad(400, 'InvalidField') },
  // An own "__proto__" key is a field the endpoint does not know; its reason is never inherited.
  { name: 'a reason under __proto__', method: 'POST', path: `/runs/${WELL_FORMED_RUN}/terminate`, body: '{"__proto__":{"reason":"inherited"}}', expect: bad(400, 'UnknownField') },
  { name: 'a reason with an unpaired surrogate', method: 'POST', path: `/runs/${WELL_FORMED_RUN}/terminate`, body: '{"reason":"stop \\ud800"}', expect: bad(400, 'InvalidField') },
  { name: 'a field the endpoint does not know', method: 'POST', path: '/purge', body: { before: '2001-01-01', dryRun: true, ...reason }, expect: bad(400, 'UnknownField') },
  { name: 'a misspelt field', method: 'POST', path: '/runs', body: { bloob: 'input/hostile/a.csv', ...reason }, expect: bad(400, 'UnknownField') },
  { name: 'a body that is not JSON', method: 'POST', path: `/runs/${WELL_FORMED_RUN}/rerun`, body: '{reason: x', expect: bad(400, 'InvalidJson') },
  { name: 'a body that is a JSON array', method: 'POST', path: `/runs/${WELL_FORMED_RUN}/rerun`, body: '[{"reason":"x"}]', expect: bad(400, 'InvalidBody') },
  { name: 'a body that is JSON null', method: 'POST', path: `/runs/${WELL_FORMED_RUN}/rerun`, body: 'null', expect: bad(400, 'InvalidBody') },
  { name: 'a body nested 10,000 levels deep', method: 'POST', path: `/runs/${WELL_FORMED_RUN}/rerun`, body: `{"reason":${'['.repeat(10_000)}${']'.repeat(10_000)}}`, expect: bad(400, 'InvalidField') },
  { name: 'a start for a blob path with ..', method: 'POST', path: '/runs', body: { blob: 'input/hostile/../../runs/x.csv', ...reason }, expect: bad(400, 'InvalidPath') },
  { name: 'a start for a URL of the metadata service', method: 'POST', path: '/runs', body: { blob: 'http://169.254.169.254/metadata', ...reason }, expect: bad(400) },
  { name: 'a start for a blob path with an unpaired surrogate', method: 'POST', path: '/runs', body: '{"blob":"input/hostile/\\ud800.csv","reason":"r"}', expect: bad(400, 'InvalidField') },
  { name: 'a start for a folder with a NUL', method: 'POST', path: '/runs', body: { folder: 'input/hostile/\u0000/', ...reason }, expect: bad(400, 'InvalidField') },
  { name: 'a start for a blob path of 2,000 characters', method: 'POST', path: '/runs', body: { blob: `input/${'a'.repeat(2000)}`, ...reason }, expect: bad(400, 'InvalidField') },
  { name: 'a start with neither blob nor folder', method: 'POST', path: '/runs', body: reason, expect: bad(400) },
  { name: 'a purge before no date', method: 'POST', path: '/purge', body: { before: 'last week', ...reason }, expect: bad(400, 'InvalidPurge') },
  { name: 'a purge before a date in the future', method: 'POST', path: '/purge', body: { before: '2999-01-01', ...reason }, expect: bad(400, 'InvalidPurge') },
  { name: 'a purge before February 31', method: 'POST', path: '/purge', body: { before: '2024-02-31', ...reason }, expect: bad(400, 'InvalidPurge') },
  { name: 'a rollback in a workspace that is no resource ID', method: 'POST', path: '/rollbacks', body: { endpoint: 'churn-scoring', workspaceId: "x' or 1 eq 1", ...reason }, expect: bad(400, 'InvalidWorkspaceId') },
  { name: 'a purge before no day of the calendar', method: 'POST', path: '/purge', body: { before: '2024-02-31T99:99:99Z', ...reason }, expect: bad(400, 'InvalidPurge') },
  { name: 'a rollback of an endpoint name of 100 characters', method: 'POST', path: '/rollbacks', body: { endpoint: 'e'.repeat(100), ...reason }, expect: bad(400, 'InvalidField') },
  { name: 'a start for a blob that does not exist', method: 'POST', path: '/runs', body: { blob: 'input/hostile/never-uploaded.csv', ...reason }, expect: bad(404) },
  { name: 'a start for a whole container as a folder', method: 'POST', path: '/runs', body: { folder: 'input/', ...reason }, expect: bad(400) },
  { name: 'a start for a container that is not one', method: 'POST', path: '/runs', body: { blob: 'Input_Container/a.csv', ...reason }, expect: bad(400, 'InvalidPath') },
  { name: 'an audit page of 0', method: 'GET', path: '/audit?top=0', expect: bad(400, 'InvalidFilter') },
  { name: 'the audit of a run ID of 2,000 characters', method: 'GET', path: `/audit?runId=${'r'.repeat(2000)}`, expect: bad(400, 'InvalidRunId') },
  { name: 'the audit of a run ID climbing folders', method: 'GET', path: '/audit?runId=..%2F..%2Fchain', expect: bad(400, 'InvalidRunId') },
  { name: 'the audit of a run ID with a NUL', method: 'GET', path: '/audit?runId=bp-x%00', expect: bad(400, 'InvalidRunId') },
  { name: 'the audit of a run that does not exist', method: 'GET', path: `/audit?runId=${WELL_FORMED_RUN}`, expect: { status: 200 } },
  { name: 'an audit check from sequence -1', method: 'GET', path: '/audit/verify?fromSeq=-1', expect: bad(400, 'InvalidFilter') },

  // ---- who asks ----------------------------------------------------------------------------------
  { name: 'no function key', method: 'GET', path: '/runs', as: 'anonymous', expect: bad(401) },
  { name: 'a wrong function key', method: 'GET', path: '/runs', as: 'anonymous', headers: { 'x-functions-key': 'forged' }, expect: bad(401) },
  { name: 'a principal with no role', method: 'GET', path: '/runs', as: 'nobody', expect: bad(403, 'RoleRequired') },
  { name: 'a principal header that is not base64 JSON', method: 'GET', path: '/runs', headers: { 'x-ms-client-principal': '%%%' }, expect: bad(400, 'InvalidPrincipal') },
  { name: 'a principal header of a JSON array', method: 'GET', path: '/runs', headers: { 'x-ms-client-principal': Buffer.from('[]').toString('base64') }, expect: bad(400, 'InvalidPrincipal') },
  { name: 'a principal whose claims are not a list', method: 'GET', path: '/runs', headers: { 'x-ms-client-principal': Buffer.from(JSON.stringify({ claims: { typ: 'roles', val: 'Operator' } })).toString('base64') }, expect: bad(403, 'RoleRequired') },
  { name: 'a principal naming Operator in a claim that is not a role', method: 'POST', path: `/runs/${WELL_FORMED_RUN}/terminate`, body: reason, headers: { 'x-ms-client-principal': Buffer.from(JSON.stringify({ claims: [{ typ: 'groups', val: 'Operator' }, { typ: 'name', val: 'Operator' }, { typ: 'roles', val: 'Reader' }] })).toString('base64') }, expect: bad(403, 'OperatorRoleRequired') },
  { name: 'a Reader terminating', method: 'POST', path: `/runs/${WELL_FORMED_RUN}/terminate`, body: reason, as: 'reader', expect: bad(403, 'OperatorRoleRequired') },
  { name: 'a Reader rerunning', method: 'POST', path: `/runs/${WELL_FORMED_RUN}/rerun`, body: reason, as: 'reader', expect: bad(403, 'OperatorRoleRequired') },
  { name: 'a Reader approving', method: 'POST', path: `/runs/${WELL_FORMED_RUN}/approve`, body: reason, as: 'reader', expect: bad(403, 'OperatorRoleRequired') },
  { name: 'a Reader rejecting', method: 'POST', path: `/runs/${WELL_FORMED_RUN}/reject`, body: reason, as: 'reader', expect: bad(403, 'OperatorRoleRequired') },
  { name: 'a Reader starting a run', method: 'POST', path: '/runs', body: { blob: 'input/hostile/a.csv', ...reason }, as: 'reader', expect: bad(403, 'OperatorRoleRequired') },
  { name: 'a Reader purging', method: 'POST', path: '/purge', body: { before: '2001-01-01', ...reason }, as: 'reader', expect: bad(403, 'OperatorRoleRequired') },
  { name: 'a Reader rolling back', method: 'POST', path: '/rollbacks', body: { endpoint: 'churn-scoring', ...reason }, as: 'reader', expect: bad(403, 'OperatorRoleRequired') },
  { name: 'a Reader claiming to be an Operator in x-batchpilot-actor', method: 'POST', path: `/runs/${WELL_FORMED_RUN}/terminate`, body: reason, as: 'reader', headers: { 'x-batchpilot-actor': 'Operator' }, expect: bad(403, 'OperatorRoleRequired') },
  { name: 'a Reader looking', method: 'GET', path: '/runs', as: 'reader', expect: { status: 200 } },
  { name: 'an Operator with a name of 5,000 characters', method: 'POST', path: `/runs/${WELL_FORMED_RUN}/terminate`, body: reason, as: 'operator', headers: { 'x-ms-client-principal-name': 'n'.repeat(5000), 'x-batchpilot-actor': 'a'.repeat(5000) }, expect: bad(404, 'RunNotFound') },
  { name: 'headers over the 16 KB the server reads', method: 'GET', path: '/runs', headers: { 'x-batchpilot-actor': 'a'.repeat(20_000) }, expect: { status: 431 } },
  { name: 'DELETE on the runs list', method: 'DELETE', path: '/runs', expect: { status: 405 } },
];

/**
 * With BATCHPILOT_OPERATOR_READ_ONLY=true every change is refused, whoever asks and whatever else is
 * wrong with the request; reads go on.
 */
export const READ_ONLY_CASES: OperatorCase[] = [
  { name: 'read-only: an Operator terminating', method: 'POST', path: `/runs/${WELL_FORMED_RUN}/terminate`, body: reason, as: 'operator', expect: bad(403, 'ReadOnlyMode') },
  { name: 'read-only: an Operator rerunning', method: 'POST', path: `/runs/${WELL_FORMED_RUN}/rerun`, body: reason, as: 'operator', expect: bad(403, 'ReadOnlyMode') },
  { name: 'read-only: an Operator approving', method: 'POST', path: `/runs/${WELL_FORMED_RUN}/approve`, body: reason, as: 'operator', expect: bad(403, 'ReadOnlyMode') },
  { name: 'read-only: an Operator rejecting', method: 'POST', path: `/runs/${WELL_FORMED_RUN}/reject`, body: reason, as: 'operator', expect: bad(403, 'ReadOnlyMode') },
  { name: 'read-only: a key holder starting a run', method: 'POST', path: '/runs', body: { blob: 'input/hostile/a.csv', ...reason }, expect: bad(403, 'ReadOnlyMode') },
  { name: 'read-only: an Operator purging', method: 'POST', path: '/purge', body: { before: '2001-01-01', ...reason }, as: 'operator', expect: bad(403, 'ReadOnlyMode') },
  { name: 'read-only: an Operator rolling back', method: 'POST', path: '/rollbacks', body: { endpoint: 'churn-scoring', ...reason }, as: 'operator', expect: bad(403, 'ReadOnlyMode') },
  { name: 'read-only: a change without a reason is refused as read-only first', method: 'POST', path: `/runs/${WELL_FORMED_RUN}/rerun`, body: {}, as: 'operator', expect: bad(403, 'ReadOnlyMode') },
  { name: 'read-only: reads go on', method: 'GET', path: '/runs', as: 'reader', expect: { status: 200 } },
];
