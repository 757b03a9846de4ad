// The operator API's endpoints under /api/ops (registered in functions/ops*.ts): each checks who is
// calling and what they ask, then hands over to the list, detail and action modules beside it.
//
//   GET  ops/runs                      list (kind, route, status, from, to, q, top, continuationToken)
//   GET  ops/counts                    counts by status (same filters, status ignored)
//   POST ops/runs                      start a run for { blob | folder, reason }
//   GET  ops/runs/{runId}              one run in full
//   POST ops/runs/{runId}/{action}     terminate | rerun | approve | reject, with { reason }
//   POST ops/purge                     purge finished history created before { before, reason }
//   POST ops/rollbacks                 roll an endpoint back past its latest promotion { endpoint, reason }
//   GET  ops/audit                     operator actions (runId, top)
//   GET  ops/audit/verify              check the audit hash chain (fromSeq, maxEntries)
//   GET  ops/me                        the caller, its roles, and whether it may change things
//   GET  ops/index                     whether the run index is ready (lists and counts come from it)
//   POST ops/index/backfill            write runs from before the index into it, for a while { reason }
//   GET  ops/health                    per route: SLO attainment over 24 h and the window, burn rate, trend (route)
import type { HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import type { DurableClient } from 'durable-functions';
import { callerInfo, requireOperator, requireReader } from './operatorAccess';
import { calendarInstant, checkQueryNames, jsonResponse, OperatorError, optionalString, readJsonObject, requiredReason } from './operatorHttp';
import { COUNT_PARAMETERS, parsePageSize, parseRunFilter } from './runQueries';
import { cachedRunCounts, cachedRunList, forgetRunIndexReadiness, runIndexStatus } from './runIndexQueries';
import { backfillRunIndex } from './runIndexBackfill';
import { appRunIndex } from '../azure/runIndex';
import { getRunDetail } from './runDetails';
import { ActionCaller, audited, decideApproval, purgeHistory, rerunRun, rollbackEndpoint, terminateRun } from './runActions';
import { planStart, startPlanned } from './runStarts';
import { auditLog } from './auditLog';
import { instanceExists } from '../azure/runStarter';
import { parseWorkspaceId } from '../azure/workspaceIds';
import { clip } from '../domain/untrustedText';
import { cachedRouteHealth } from './routeHealth';

const RUN_ACTIONS = ['terminate', 'rerun', 'approve', 'reject'] as const;

function queryOf(request: HttpRequest): URLSearchParams {
  return new URL(request.url).searchParams;
}

/** A run ID as a caller gives it, in the path or a query: refused when it cannot be one. */
function checkedRunId(text: string): string {
  const runId = text.trim();
  // eslint-disable-next-line no-control-regex -- control characters are what this pattern is for
  if (!runId || runId.length > 256 || /[\s/\\?#\u0000-\u001f\u007f]/.test(runId)) {
    throw new OperatorError(400, 'InvalidRunId', `'${clip(runId)}' is not a run ID (run IDs look like bp-<route>-<hash>).`);
  }
  return runId;
}

function runIdParam(request: HttpRequest): string {
  return checkedRunId(request.params.runId ?? '');
}

function callerFor(request: HttpRequest, client: DurableClient, context: InvocationContext, reason: string): ActionCaller {
  return {
    client,
    actor: requireOperator(request),
    reason,
    log: (message, fields = {}) => context.log(JSON.stringify({ ...fields, message })),
  };
}

export async function listRunsEndpoint(request: HttpRequest, client: DurableClient): Promise<HttpResponseInit> {
  requireReader(request);
  const query = queryOf(request);
  const filter = parseRunFilter(query);
  const page = await cachedRunList(client, filter, parsePageSize(query), query.get('continuationToken') || undefined);
  return jsonResponse(200, page);
}

export async function countRunsEndpoint(request: HttpRequest, client: DurableClient): Promise<HttpResponseInit> {
  requireReader(request);
  return jsonResponse(200, await cachedRunCounts(client, parseRunFilter(queryOf(request), COUNT_PARAMETERS)));
}

export async function runDetailEndpoint(request: HttpRequest, client: DurableClient): Promise<HttpResponseInit> {
  requireReader(request);
  checkQueryNames(queryOf(request), []);
  return jsonResponse(200, await getRunDetail(client, runIdParam(request)));
}

export async function runActionEndpoint(request: HttpRequest, client: DurableClient, context: InvocationContext): Promise<HttpResponseInit> {
  const action = (request.params.action ?? '').toLowerCase();
  const runId = runIdParam(request);
  if (!(RUN_ACTIONS as readonly string[]).includes(action)) {
    throw new OperatorError(404, 'UnknownAction', `'${request.params.action}' is not a run action; use ${RUN_ACTIONS.join(', ')}.`);
  }
  requireOperator(request);
  checkQueryNames(queryOf(request), []);
  const body = await readJsonObject(request, ['reason']);
  const caller = callerFor(request, client, context, requiredReason(body));
  switch (action as (typeof RUN_ACTIONS)[number]) {
    case 'terminate':
      return jsonResponse(202, await terminateRun(caller, runId));
    case 'rerun':
      return jsonResponse(202, await rerunRun(caller, runId));
    case 'approve':
      return jsonResponse(202, await decideApproval(caller, runId, true));
    case 'reject':
      return jsonResponse(202, await decideApproval(caller, runId, false));
  }
}

export async function startRunEndpoint(request: HttpRequest, client: DurableClient, context: InvocationContext): Promise<HttpResponseInit> {
  requireOperator(request);
  checkQueryNames(queryOf(request), []);
  const body = await readJsonObject(request, ['blob', 'folder', 'reason']);
  const reason = requiredReason(body);
  const blob = optionalString(body, 'blob', 1024, { singleLine: true });
  const folder = optionalString(body, 'folder', 1024, { singleLine: true });
  const plans = await planStart({ blob, folder });
  const existing = await Promise.all(plans.map((p) => instanceExists(client, p.runId)));
  if (existing.every(Boolean)) {
    const ids = plans.map((p) => p.runId);
    throw new OperatorError(409, 'RunExists', `${ids.length === 1 ? `Run '${ids[0]}' already scored this input` : `Runs ${ids.join(', ')} already scored these inputs`}; rerun ${ids.length === 1 ? 'it' : 'them'} with POST /api/ops/runs/{runId}/rerun to score again.`);
  }
  const caller = callerFor(request, client, context, reason);
  const result = await audited(caller, 'start', undefined, { blob, folder }, async () => {
    const outcome = await startPlanned(client, plans, context);
    return { result: { ...outcome }, createdRuns: outcome.started.map((s) => s.runId) };
  });
  return jsonResponse(202, result);
}

export async function purgeEndpoint(request: HttpRequest, client: DurableClient, context: InvocationContext): Promise<HttpResponseInit> {
  requireOperator(request);
  checkQueryNames(queryOf(request), []);
  const body = await readJsonObject(request, ['before', 'reason']);
  const reason = requiredReason(body);
  const text = optionalString(body, 'before', 64, { singleLine: true });
  if (!text) throw new OperatorError(400, 'InvalidPurge', "Give 'before': an ISO 8601 date; finished runs created before it lose their Durable history.");
  const before = calendarInstant(text);
  if (!before) throw new OperatorError(400, 'InvalidPurge', `before '${text}' is not an ISO 8601 date (e.g. 2024-05-01 or 2024-05-01T00:00:00Z).`);
  if (before.getTime() > Date.now()) throw new OperatorError(400, 'InvalidPurge', `before '${text}' is in the future; purge only history that is already old.`);
  return jsonResponse(200, await purgeHistory(callerFor(request, client, context, reason), before));
}

export async function rollbackEndpointRequest(request: HttpRequest, client: DurableClient, context: InvocationContext): Promise<HttpResponseInit> {
  requireOperator(request);
  checkQueryNames(queryOf(request), []);
  const body = await readJsonObject(request, ['endpoint', 'workspaceId', 'reason']);
  const reason = requiredReason(body);
  const endpoint = optionalString(body, 'endpoint', 64, { singleLine: true });
  if (!endpoint) throw new OperatorError(400, 'InvalidEndpoint', "Give 'endpoint': the batch endpoint whose latest promotion to undo.");
  const workspaceId = optionalString(body, 'workspaceId', 300, { singleLine: true });
  if (workspaceId !== undefined) {
    try {
      parseWorkspaceId(workspaceId);
    } catch (err) {
      throw new OperatorError(400, 'InvalidWorkspaceId', (err as Error).message);
    }
  }
  return jsonResponse(202, await rollbackEndpoint(callerFor(request, client, context, reason), endpoint, workspaceId));
}

export async function auditEndpoint(request: HttpRequest): Promise<HttpResponseInit> {
  requireReader(request);
  const query = queryOf(request);
  checkQueryNames(query, ['runId', 'top']);
  const top = query.get('top') ? Number(query.get('top')) : 50;
  if (!Number.isInteger(top) || top < 1 || top > 500) throw new OperatorError(400, 'InvalidFilter', `top '${query.get('top')}' must be a whole number from 1 to 500.`);
  const runId = query.get('runId') ? checkedRunId(query.get('runId')!) : undefined;
  const records = runId ? (await auditLog().listForRun(runId)).reverse().slice(0, top) : await auditLog().listRecent(top);
  return jsonResponse(200, { records });
}

export async function auditVerifyEndpoint(request: HttpRequest): Promise<HttpResponseInit> {
  requireReader(request);
  const query = queryOf(request);
  checkQueryNames(query, ['fromSeq', 'maxEntries']);
  const whole = (name: string, max: number): number | undefined => {
    const text = query.get(name);
    if (text === null || text === '') return undefined;
    const n = Number(text);
    if (!Number.isInteger(n) || n < 1 || n > max) throw new OperatorError(400, 'InvalidFilter', `${name} '${text}' must be a whole number from 1 to ${max}.`);
    return n;
  };
  return jsonResponse(200, await auditLog().verify({ fromSeq: whole('fromSeq', Number.MAX_SAFE_INTEGER), maxEntries: whole('maxEntries', 5000) }));
}

export async function whoAmIEndpoint(request: HttpRequest): Promise<HttpResponseInit> {
  requireReader(request);
  return jsonResponse(200, callerInfo(request));
}

export async function runIndexStatusEndpoint(request: HttpRequest): Promise<HttpResponseInit> {
  requireReader(request);
  checkQueryNames(queryOf(request), []);
  return jsonResponse(200, await runIndexStatus());
}

/** One stretch of the backfill (about 20 s): call again until `complete` (the CLI does). */
export async function backfillRunIndexEndpoint(request: HttpRequest, client: DurableClient, context: InvocationContext): Promise<HttpResponseInit> {
  requireOperator(request);
  checkQueryNames(queryOf(request), []);
  const body = await readJsonObject(request, ['reason']);
  const caller = callerFor(request, client, context, requiredReason(body));
  const result = await audited(caller, 'backfillIndex', undefined, {}, async () => {
    const state = await backfillRunIndex(client, await appRunIndex());
    if (state.state === 'complete') forgetRunIndexReadiness();
    const { position: _position, ...shown } = state;
    return { result: { ...shown } };
  });
  return jsonResponse(200, result);
}

export async function routeHealthEndpoint(request: HttpRequest): Promise<HttpResponseInit> {
  requireReader(request);
  const query = queryOf(request);
  checkQueryNames(query, ['route']);
  const route = query.get('route')?.trim() || undefined;
  if (route !== undefined && !/^[a-z][a-z0-9-]{1,38}[a-z0-9]$/.test(route)) throw new OperatorError(400, 'InvalidFilter', `route '${clip(route)}' is not a route name (3-40 lower-case letters, digits and hyphens).`);
  return jsonResponse(200, await cachedRouteHealth(route));
}
