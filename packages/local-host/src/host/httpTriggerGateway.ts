// Serves the app's HTTP triggers under the route prefix (default `api`): matches routes and methods,
// checks function keys for `authLevel: function|admin`, converts the request into the RpcHttpData the
// Node library reads, and writes back the function's HTTP output. Streaming is off, as configured.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FunctionInvoker, RegisteredFunction } from './contracts';
import type { RpcHttpData, RpcTypedData } from './functionsCoreTypes';
import { compileRoute, CompiledRoute, matchRoute } from './httpRoutes';
import { AuthLevel, FunctionKeyStore, keyGivenIn } from './functionKeys';
import { flatHeaders, HttpError, sendError } from './httpExchange';
import type { HostLogger } from './hostLog';

interface HttpFunctionRoute {
  fn: RegisteredFunction;
  route: CompiledRoute;
  methods: string[] | undefined;
  authLevel: AuthLevel;
}

const ALL_METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'];

export class HttpTriggerGateway {
  readonly routes: HttpFunctionRoute[];

  constructor(
    private readonly invoker: FunctionInvoker,
    private readonly keys: FunctionKeyStore,
    readonly routePrefix: string,
    private readonly logger: HostLogger,
  ) {
    this.routes = invoker
      .list()
      .filter((fn) => fn.triggerType === 'httptrigger')
      .map((fn) => {
        const trigger = fn.bindings[fn.triggerName] as Record<string, unknown>;
        const template = typeof trigger.route === 'string' && trigger.route.trim() ? trigger.route : fn.name;
        const methods = Array.isArray(trigger.methods) && trigger.methods.length ? (trigger.methods as string[]).map((m) => m.toUpperCase()) : undefined;
        const authLevel = String(trigger.authLevel ?? 'function').toLowerCase() as AuthLevel;
        return { fn, route: compileRoute(template), methods, authLevel };
      })
      .sort((a, b) => b.route.precedence - a.route.precedence);
  }

  /** Public URL of each HTTP function, for the startup banner. */
  describe(baseUrl: string): Array<{ name: string; methods: string; url: string; authLevel: AuthLevel }> {
    const prefix = this.routePrefix ? `/${this.routePrefix}` : '';
    return this.routes.map((r) => ({ name: r.fn.name, methods: (r.methods ?? ALL_METHODS).join(','), url: `${baseUrl}${prefix}/${r.route.template.replace(/^\/+/, '')}`, authLevel: r.authLevel }));
  }

  /** Returns false when the path is not under the route prefix. */
  owns(pathname: string): boolean {
    if (!this.routePrefix) return true;
    const p = pathname.toLowerCase();
    const prefix = `/${this.routePrefix.toLowerCase()}`;
    return p === prefix || p.startsWith(prefix + '/');
  }

  async handle(req: IncomingMessage, res: ServerResponse, url: URL, body: Buffer): Promise<void> {
    const routePath = this.routePrefix ? url.pathname.slice(this.routePrefix.length + 1) : url.pathname;
    const method = (req.method ?? 'GET').toUpperCase();
    const matches = this.routes
      .map((r) => ({ r, params: matchRoute(r.route, routePath) }))
      .filter((m): m is { r: HttpFunctionRoute; params: Record<string, string> } => m.params !== undefined);
    if (matches.length === 0) throw new HttpError(404, `No HTTP function matches ${method} ${url.pathname}.`);
    const hit = matches.find((m) => !m.r.methods || m.r.methods.includes(method));
    if (!hit) {
      const allowed = [...new Set(matches.flatMap((m) => m.r.methods ?? ALL_METHODS))];
      throw new HttpError(405, `${method} is not allowed on ${url.pathname}; allowed: ${allowed.join(', ')}.`, { allow: allowed.join(', ') });
    }
    const given = keyGivenIn(req, url);
    if (!this.keys.authorizes(hit.r.authLevel, hit.r.fn.name, given)) {
      throw new HttpError(401, `Function '${hit.r.fn.name}' requires a ${hit.r.authLevel === 'admin' ? 'master' : 'function'} key in the x-functions-key header or the code query parameter.`);
    }
    const headers = flatHeaders(req);
    const query: Record<string, string> = {};
    for (const [k, v] of url.searchParams) query[k] = v;
    const http: RpcHttpData = {
      method,
      url: url.href,
      headers,
      query,
      params: hit.params,
      body: { bytes: body },
      rawBody: { bytes: body },
    };
    const outcome = await this.invoker.invoke(hit.r.fn.name, { inputData: [{ name: hit.r.fn.triggerName, data: { http } }], triggerMetadata: {} });
    if (!outcome.ok) {
      this.logger({ level: 'error', category: 'host', functionName: hit.r.fn.name, message: `Executed with an error: ${outcome.error.stack ?? outcome.error.message}` });
      sendError(res, 500, `Function '${hit.r.fn.name}' failed: see the host log.`);
      return;
    }
    writeHttpOutput(res, httpOutputOf(hit.r.fn, outcome.response.returnValue, outcome.response.outputData ?? []));
  }
}

function httpOutputOf(fn: RegisteredFunction, returnValue: RpcTypedData | null | undefined, outputData: Array<{ name?: string | null; data?: RpcTypedData | null }>): RpcHttpData | undefined {
  const ret = fn.bindings['$return'];
  if (ret && String(ret.type).toLowerCase() === 'http') return returnValue?.http ?? undefined;
  for (const [name, b] of Object.entries(fn.bindings)) {
    if (b.direction === 'out' && String(b.type).toLowerCase() === 'http') {
      return outputData.find((o) => o.name === name)?.data?.http ?? undefined;
    }
  }
  return undefined;
}

function bodyBytes(data: RpcTypedData | null | undefined): Buffer {
  if (!data) return Buffer.alloc(0);
  if (data.bytes) return Buffer.from(data.bytes);
  if (data.stream) return Buffer.from(data.stream);
  if (typeof data.string === 'string') return Buffer.from(data.string);
  if (typeof data.json === 'string') return Buffer.from(data.json);
  if (data.int !== undefined && data.int !== null) return Buffer.from(String(data.int));
  if (data.double !== undefined && data.double !== null) return Buffer.from(String(data.double));
  return Buffer.alloc(0);
}

function writeHttpOutput(res: ServerResponse, http: RpcHttpData | undefined): void {
  if (!http) {
    res.writeHead(204);
    res.end();
    return;
  }
  const status = Number(http.statusCode ?? 200) || 200;
  const body = bodyBytes(http.body);
  const headers: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(http.headers ?? {})) headers[k] = v;
  const cookies = (http.cookies ?? []) as Array<Record<string, unknown>>;
  if (cookies.length) headers['set-cookie'] = cookies.map(serializeCookie);
  if (!Object.keys(headers).some((k) => k.toLowerCase() === 'content-length') && status !== 204 && status !== 304) headers['content-length'] = String(body.length);
  res.writeHead(status, headers);
  res.end(status === 204 || status === 304 ? undefined : body);
}

function serializeCookie(c: Record<string, unknown>): string {
  const nullable = (v: unknown): unknown => (v && typeof v === 'object' && 'value' in (v as object) ? (v as { value: unknown }).value : v);
  let s = `${c.name}=${c.value ?? ''}`;
  const domain = nullable(c.domain);
  const p = nullable(c.path);
  const maxAge = nullable(c.maxAge);
  const expires = nullable(c.expires) as { seconds?: number } | undefined;
  if (domain) s += `; Domain=${domain}`;
  if (p) s += `; Path=${p}`;
  if (expires?.seconds !== undefined) s += `; Expires=${new Date(Number(expires.seconds) * 1000).toUTCString()}`;
  if (maxAge !== undefined && maxAge !== null) s += `; Max-Age=${maxAge}`;
  if (nullable(c.secure)) s += '; Secure';
  if (nullable(c.httpOnly)) s += '; HttpOnly';
  const sameSite = c.sameSite as string | undefined;
  if (sameSite && sameSite !== 'none') s += `; SameSite=${sameSite === 'explicitNone' ? 'None' : sameSite[0].toUpperCase() + sameSite.slice(1)}`;
  return s;
}
