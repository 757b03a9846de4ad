// The Durable client HTTP surface under /runtime/webhooks/durabletask/, as the extension serves it to
// the unmodified DurableClient (through the binding's management URLs) and to people following
// createCheckStatusResponse links: start, status (one, or a query with continuation tokens), raise
// event, terminate, suspend, resume, rewind, purge (one or by filter), entity read/signal/list. As in
// Azure, every call needs the durabletask_extension system key (or the master key), in the code query
// parameter or the x-functions-key header; the app's own client carries it in the binding's URLs. A
// browser request from another origin is refused even with the key, so a page that learnt a status
// link cannot act with it. Bad input gets a specific 4xx with a message; nothing a client sends can
// take the host down.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RouteHandler } from '../host/contracts';
import { sendError, sendJson } from '../host/httpExchange';
import { keyGivenIn } from '../host/functionKeys';
import type { DurableEngine, ManagementResult } from './durableEngine';
import { EngineRequestError } from './engineErrors';
import { DURABLE_TASK_ROUTE_PREFIX, ManagementUrlBuilder } from './managementUrls';
import { RUNTIME_STATUSES, RuntimeStatus } from './instanceModel';
import { parseForDisplay, statusView } from './instanceStatusView';
import type { InstanceQuery } from './durableStore';
import { entitySchedulerId } from './episodeOutcome';
import { PayloadTooLargeError } from './tablePayloads';

const CONTINUATION_HEADER = 'x-ms-continuation-token';
/** What the extension asks of clients polling a running instance, and of clients of a start. */
const STATUS_RETRY_AFTER_IN_SECONDS = 5;
const START_RETRY_AFTER_IN_SECONDS = 10;
const DEFAULT_PAGE_SIZE = 100;
const MAX_PAGE_SIZE = 1000;

class RouteError extends Error {
  constructor(readonly status: number, message: string, readonly headers: Record<string, string> = {}) {
    super(message);
  }
}

interface Exchange {
  req: IncomingMessage;
  res: ServerResponse;
  url: URL;
  body: Buffer;
  segments: string[];
}

function bool(value: string | null): boolean | undefined {
  if (value === null) return undefined;
  if (/^(true|1)$/i.test(value)) return true;
  if (/^(false|0)$/i.test(value)) return false;
  throw new RouteError(400, `'${value}' is not a boolean (true or false).`);
}

function date(name: string, value: string | null): Date | undefined {
  if (value === null || value === '') return undefined;
  const d = new Date(value);
  if (Number.isNaN(d.getTime())) throw new RouteError(400, `${name} '${value}' is not a date (use ISO 8601, e.g. 2024-01-31T00:00:00Z).`);
  return d;
}

function statuses(value: string | null): RuntimeStatus[] | undefined {
  if (value === null || value === '') return undefined;
  const list = value.split(',').map((s) => s.trim()).filter(Boolean);
  const known = new Map(RUNTIME_STATUSES.map((s) => [s.toLowerCase(), s]));
  return list.map((s) => {
    const status = known.get(s.toLowerCase());
    if (!status) throw new RouteError(400, `runtimeStatus '${s}' is not one of ${RUNTIME_STATUSES.join(', ')}.`);
    return status;
  });
}

/** Request bodies carry JSON (inputs, event data); an empty body means "no input". */
function jsonBody(body: Buffer, what: string): string | undefined {
  const text = body.toString('utf8').replace(/^\uFEFF/, '');
  if (!text.trim()) return undefined;
  try {
    JSON.parse(text);
  } catch (err) {
    throw new RouteError(400, `The ${what} in the request body is not valid JSON: ${(err as Error).message}`);
  }
  return text;
}

function sendEmpty(res: ServerResponse, status: number, headers: Record<string, string> = {}): void {
  if (res.headersSent) return;
  res.writeHead(status, { 'content-length': '0', ...headers });
  res.end();
}

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new RouteError(400, `The path segment '${segment}' is not valid percent-encoding.`);
  }
}

export class DurableClientRoutes implements RouteHandler {
  readonly prefix = DURABLE_TASK_ROUTE_PREFIX;

  constructor(
    private readonly engine: DurableEngine,
    private readonly urls: () => ManagementUrlBuilder,
    private readonly authorizesKey: (given: string | undefined) => boolean,
  ) {}

  async handle(req: IncomingMessage, res: ServerResponse, body: Buffer): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    try {
      const rest = url.pathname.slice(this.prefix.length);
      const segments = rest.split('/').filter((s, i, all) => s !== '' || i < all.length - 1);
      this.#authorize(req, url);
      await this.#route({ req, res, url, body, segments });
    } catch (err) {
      // The extension answers 404 and 410 with an empty body; clients tell the cases apart by route.
      if (err instanceof RouteError && (err.status === 404 || err.status === 410)) return sendEmpty(res, err.status, err.headers);
      if (err instanceof RouteError) return sendError(res, err.status, err.message, err.headers);
      if (err instanceof EngineRequestError) return sendError(res, err.status, err.message);
      if (err instanceof PayloadTooLargeError) return sendError(res, 413, err.message);
      throw err;
    }
  }

  #authorize(req: IncomingMessage, url: URL): void {
    const origin = req.headers.origin;
    if (origin !== undefined && !this.#ownOrigins().has(origin)) {
      throw new RouteError(403, `Cross-origin request from '${origin}' refused: the Durable management routes answer only this host's own pages (${[...this.#ownOrigins()][0]}).`);
    }
    const given = keyGivenIn(req, url);
    if (!this.authorizesKey(given)) {
      throw new RouteError(401, `${given === undefined ? 'No key was given' : 'The key given is not valid here'}: the Durable management routes need the durabletask_extension system key (or the master key) in the code query parameter or the x-functions-key header. Locally the keys are in the host's keys.json.`);
    }
    const hub = url.searchParams.get('taskHub');
    if (hub !== null && hub.toLowerCase() !== this.engine.taskHubName.toLowerCase()) {
      throw new RouteError(404, `Task hub '${hub}' is not served here; this host runs task hub '${this.engine.taskHubName}'.`);
    }
  }

  /** This host's origin, and its loopback aliases on the same port (a page may be opened as localhost or 127.0.0.1). */
  #ownOrigins(): Set<string> {
    const own = new URL(this.urls().webhookBase);
    const origins = new Set([own.origin]);
    if (['127.0.0.1', 'localhost', '[::1]'].includes(own.hostname)) {
      for (const alias of ['127.0.0.1', 'localhost', '[::1]']) origins.add(`${own.protocol}//${alias}${own.port ? `:${own.port}` : ''}`);
    }
    return origins;
  }

  #methods(x: Exchange, allowed: string[]): string {
    const method = (x.req.method ?? 'GET').toUpperCase();
    if (!allowed.includes(method)) throw new RouteError(405, `${method} is not supported on ${x.url.pathname}; use ${allowed.join(' or ')}.`, { allow: allowed.join(', ') });
    return method;
  }

  async #route(x: Exchange): Promise<void> {
    const [area, ...rest] = x.segments;
    switch ((area ?? '').toLowerCase()) {
      case 'orchestrators':
        if (rest.length < 1 || rest.length > 2 || !rest[0]) throw new RouteError(404, 'Start an orchestration with POST orchestrators/{functionName}[/{instanceId}].');
        this.#methods(x, ['POST']);
        return this.#start(x, decodeSegment(rest[0]), rest[1] ? decodeSegment(rest[1]) : undefined);
      case 'instances':
        return this.#instances(x, rest);
      case 'entities':
        return this.#entities(x, rest);
      default:
        throw new RouteError(404, `No durable task route at ${x.url.pathname}. Routes: orchestrators/{name}[/{id}], instances/[{id}[/raiseEvent/{event}|/terminate|/suspend|/resume|/rewind]], entities/{name}[/{key}].`);
    }
  }

  async #start(x: Exchange, functionName: string, instanceId: string | undefined): Promise<void> {
    const input = jsonBody(x.body, 'orchestration input');
    const id = await this.engine.startOrchestration(functionName, { instanceId, input, version: x.url.searchParams.get('version') ?? undefined });
    const payload = this.urls().forInstance(id);
    const timeout = x.url.searchParams.get('timeout');
    if (timeout !== null) {
      const seconds = Number(timeout);
      if (!Number.isFinite(seconds) || seconds < 0) throw new RouteError(400, `timeout '${timeout}' is not a number of seconds.`);
      const interval = Math.max(0.05, Number(x.url.searchParams.get('pollingInterval') ?? '1') || 1);
      const deadline = Date.now() + seconds * 1000;
      for (;;) {
        const found = await this.engine.getInstance(id, false);
        const s = found?.state.runtimeStatus;
        if (s === 'Completed') return sendJson(x.res, 200, parseForDisplay(found!.state.output));
        if (s === 'Failed' || s === 'Terminated' || s === 'Canceled') return sendJson(x.res, 200, statusView(found!.state, undefined, {}));
        if (Date.now() >= deadline) break;
        await new Promise((r) => setTimeout(r, Math.min(interval * 1000, Math.max(0, deadline - Date.now()))));
      }
    }
    sendJson(x.res, 202, payload, { location: payload.statusQueryGetUri, 'retry-after': String(START_RETRY_AFTER_IN_SECONDS) });
  }

  async #instances(x: Exchange, rest: string[]): Promise<void> {
    if (rest.length === 0 || (rest.length === 1 && rest[0] === '')) {
      const method = this.#methods(x, ['GET', 'DELETE']);
      return method === 'GET' ? this.#query(x) : this.#purgeBy(x);
    }
    const instanceId = decodeSegment(rest[0]);
    if (rest.length === 1) {
      const method = this.#methods(x, ['GET', 'DELETE']);
      return method === 'GET' ? this.#status(x, instanceId) : this.#purge(x, instanceId);
    }
    const operation = rest[1].toLowerCase();
    const reason = x.url.searchParams.get('reason') ?? undefined;
    let result: ManagementResult;
    switch (operation) {
      case 'raiseevent': {
        this.#methods(x, ['POST']);
        if (rest.length !== 3 || !rest[2]) throw new RouteError(404, 'Raise an event with POST instances/{instanceId}/raiseEvent/{eventName}.');
        result = await this.engine.raiseEvent(instanceId, decodeSegment(rest[2]), jsonBody(x.body, 'event data'));
        break;
      }
      case 'terminate':
        this.#methods(x, ['POST']);
        result = await this.engine.terminate(instanceId, reason);
        break;
      case 'suspend':
        this.#methods(x, ['POST']);
        result = await this.engine.suspend(instanceId, reason);
        break;
      case 'resume':
        this.#methods(x, ['POST']);
        result = await this.engine.resume(instanceId, reason);
        break;
      case 'rewind': {
        this.#methods(x, ['POST']);
        const rewound = await this.engine.rewind(instanceId, reason);
        if (rewound === 'notFound') throw new RouteError(404, `No instance with ID '${instanceId}' found.`);
        if (rewound === 'notFailed') throw new RouteError(412, `Instance '${instanceId}' is not in the Failed state; only failed instances can be rewound.`);
        x.res.writeHead(202);
        x.res.end();
        return;
      }
      default:
        throw new RouteError(404, `Unknown instance operation '${rest[1]}'. Use raiseEvent, terminate, suspend, resume or rewind.`);
    }
    if (result === 'notFound') throw new RouteError(404, `No instance with ID '${instanceId}' found.`);
    if (result === 'gone') throw new RouteError(410, `Instance '${instanceId}' has already finished; ${operation === 'raiseevent' ? 'events' : 'this operation'} no longer apply.`);
    x.res.writeHead(202);
    x.res.end();
  }

  async #status(x: Exchange, instanceId: string): Promise<void> {
    const q = x.url.searchParams;
    const options = { showHistory: bool(q.get('showHistory')), showHistoryOutput: bool(q.get('showHistoryOutput')), showInput: bool(q.get('showInput')) };
    const found = await this.engine.getInstance(instanceId, !!options.showHistory);
    if (!found || found.state.kind !== 'orchestration') throw new RouteError(404, `No instance with ID '${instanceId}' found.`);
    const view = statusView(found.state, found.history, options);
    const s = found.state.runtimeStatus;
    if (s === 'Pending' || s === 'Running' || s === 'ContinuedAsNew' || s === 'Suspended') {
      // Location is the URL asked, as the extension answers.
      const location = `http://${x.req.headers.host ?? '127.0.0.1'}${x.req.url ?? x.url.pathname}`;
      return sendJson(x.res, 202, view, { location, 'retry-after': String(STATUS_RETRY_AFTER_IN_SECONDS) });
    }
    if (s === 'Failed' && bool(q.get('returnInternalServerErrorOnFailure'))) return sendJson(x.res, 500, view);
    sendJson(x.res, 200, view);
  }

  #filter(x: Exchange): InstanceQuery {
    const q = x.url.searchParams;
    return {
      runtimeStatus: statuses(q.get('runtimeStatus')),
      createdTimeFrom: date('createdTimeFrom', q.get('createdTimeFrom')),
      createdTimeTo: date('createdTimeTo', q.get('createdTimeTo')),
      instanceIdPrefix: q.get('instanceIdPrefix') || undefined,
    };
  }

  async #query(x: Exchange): Promise<void> {
    const filter = this.#filter(x);
    const top = x.url.searchParams.get('top');
    const pageSize = top === null ? DEFAULT_PAGE_SIZE : Number(top);
    if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > MAX_PAGE_SIZE) throw new RouteError(400, `top must be an integer from 1 to ${MAX_PAGE_SIZE}.`);
    const showInput = bool(x.url.searchParams.get('showInput'));
    const token = (x.req.headers[CONTINUATION_HEADER] as string | undefined) || undefined;
    let page;
    try {
      page = await this.engine.queryInstances({ ...filter, kind: 'orchestration' }, pageSize, token);
    } catch (err) {
      if (token && (err as { statusCode?: number }).statusCode === 400) throw new RouteError(400, 'The continuation token is not valid.');
      throw err;
    }
    const headers: Record<string, string> = page.continuationToken ? { [CONTINUATION_HEADER]: page.continuationToken } : {};
    sendJson(x.res, 200, page.items.map((i) => statusView(i, undefined, { showInput })), headers);
  }

  async #purge(x: Exchange, instanceId: string): Promise<void> {
    // A running instance is purged too, as the Azure Storage provider does.
    const result = await this.engine.purgeInstance(instanceId);
    if (result === 'notFound') throw new RouteError(404, `No instance with ID '${instanceId}' found.`);
    sendJson(x.res, 200, { instancesDeleted: 1 });
  }

  async #purgeBy(x: Exchange): Promise<void> {
    const filter = this.#filter(x);
    // The extension's own answer (a JSON string), which clients may show as is.
    if (!filter.createdTimeFrom) return sendJson(x.res, 400, "Please provide value for 'createdTimeFrom' parameter.");
    const deleted = await this.engine.purgeInstances(filter);
    if (deleted === 0) throw new RouteError(404, 'No finished instances match the filter.');
    sendJson(x.res, 200, { instancesDeleted: deleted });
  }

  async #entities(x: Exchange, rest: string[]): Promise<void> {
    if (rest.length === 0 || !rest[0]) throw new RouteError(404, 'Entity routes: entities/{name}/{key} (GET state, POST ?op= to signal) and entities/{name} (GET list).');
    const name = decodeSegment(rest[0]);
    if (rest.length === 1 || (rest.length === 2 && rest[1] === '')) {
      this.#methods(x, ['GET']);
      const page = await this.engine.queryInstances({ kind: 'entity', entityName: name.toLowerCase() }, MAX_PAGE_SIZE);
      const withState = bool(x.url.searchParams.get('fetchState')) ?? false;
      const list = [];
      for (const item of page.items) {
        const key = item.instanceId.slice(name.length + 2);
        const entity = await this.engine.readEntity(item.instanceId);
        if (!entity.exists) continue;
        list.push({ entityId: { name: name.toLowerCase(), key }, lastOperationTime: entity.lastOperationTime ?? item.lastUpdatedTime, ...(withState ? { state: parseForDisplay(entity.state) } : {}) });
      }
      return sendJson(x.res, 200, list);
    }
    if (rest.length !== 2) throw new RouteError(404, 'Entity routes: entities/{name}/{key}.');
    const entityId = entitySchedulerId(name, decodeSegment(rest[1]));
    const method = this.#methods(x, ['GET', 'POST']);
    if (method === 'GET') {
      const entity = await this.engine.readEntity(entityId);
      if (!entity.exists) throw new RouteError(404, `Entity '${entityId}' does not exist (or has no state).`);
      return sendJson(x.res, 200, parseForDisplay(entity.state));
    }
    const operation = x.url.searchParams.get('op') ?? '';
    await this.engine.signalEntity(entityId, operation, jsonBody(x.body, 'operation input'));
    x.res.writeHead(202);
    x.res.end();
  }
}
