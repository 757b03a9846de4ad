// The CLI's client for the operator API: where the API is (flags, environment, or the local stack's
// state: host on port 7071 and its keys file), how to prove who is calling (a function key, an Entra
// token for the app's audience, or both), and one typed call per endpoint. Errors carry the API's
// code and message, or say plainly that the API could not be reached.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { ActionResult, AuditRecord, AuditVerification, CallerInfo, OperatorErrorBody, RunCounts, RunDetail, RunIndexStatus, RunListPage, RouteHealthResponse } from '../operatorApiTypes';

export const DEFAULT_LOCAL_URL = 'http://127.0.0.1:7071';

export interface ApiTarget {
  /** The app's base URL, e.g. https://my-app.azurewebsites.net (the CLI adds /api/ops). */
  url: string;
  functionKey?: string;
  /** Entra scope to get a bearer token for (e.g. api://<app-client-id>/.default). */
  tokenScope?: string;
  /** Where the target came from, for error messages. */
  source: string;
  actor?: string;
}

export class ApiCallError extends Error {
  constructor(readonly status: number, readonly code: string, message: string, readonly body?: unknown) {
    super(message);
    this.name = 'ApiCallError';
  }
}

export class ApiUnreachableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ApiUnreachableError';
  }
}

/** The local stack's state folder: `--state-dir`, or `.local` in the first folder up from here that has one. */
export function findLocalStateDir(from: string = process.cwd()): string | undefined {
  for (let dir = path.resolve(from); ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, '.local', 'host', 'keys.json'))) return path.join(dir, '.local');
    if (path.dirname(dir) === dir) break;
  }
  const fromInstall = path.resolve(__dirname, '..', '..', '..', '..', '.local');
  return fs.existsSync(path.join(fromInstall, 'host', 'keys.json')) ? fromInstall : undefined;
}

/** The local host's default host key from `<stateDir>/host/keys.json`. */
export function localFunctionKey(stateDir: string): string {
  const file = path.join(stateDir, 'host', 'keys.json');
  let keys: { hostKeys?: Record<string, string>; masterKey?: string };
  try {
    keys = JSON.parse(fs.readFileSync(file, 'utf8')) as typeof keys;
  } catch (err) {
    throw new ApiUnreachableError(`Cannot read the local host's keys from ${file} (${(err as Error).message}). Start the local stack with 'npm start', or pass --url and --key.`);
  }
  const key = keys.hostKeys?.default ?? keys.masterKey;
  if (!key) throw new ApiUnreachableError(`${file} holds no host key. Restart the local stack, or pass --key.`);
  return key;
}

export interface TargetOptions {
  url?: string;
  key?: string;
  tokenScope?: string;
  stateDir?: string;
  actor?: string;
  env?: NodeJS.ProcessEnv;
}

/** Flags first, then BATCHPILOT_URL / BATCHPILOT_FUNCTION_KEY / BATCHPILOT_TOKEN_SCOPE, then the local stack. */
export function resolveTarget(o: TargetOptions): ApiTarget {
  const env = o.env ?? process.env;
  const url = (o.url ?? env.BATCHPILOT_URL)?.replace(/\/+$/, '');
  const key = o.key ?? env.BATCHPILOT_FUNCTION_KEY;
  const tokenScope = o.tokenScope ?? env.BATCHPILOT_TOKEN_SCOPE;
  const actor = o.actor ?? env.BATCHPILOT_ACTOR ?? safeUserName();
  if (url && (key || tokenScope)) return { url, functionKey: key, tokenScope, source: 'the given URL', actor };
  const stateDir = o.stateDir ?? findLocalStateDir();
  if (!key && !tokenScope && !stateDir) {
    throw new ApiUnreachableError(`No operator API to talk to: pass --url with --key (or --token-scope), set BATCHPILOT_URL and BATCHPILOT_FUNCTION_KEY, or start the local stack ('npm start').`);
  }
  return { url: url ?? DEFAULT_LOCAL_URL, functionKey: key ?? (tokenScope ? undefined : localFunctionKey(stateDir!)), tokenScope, source: url ? 'the given URL' : `the local stack (${stateDir})`, actor };
}

function safeUserName(): string | undefined {
  try {
    return `${os.userInfo().username}@${os.hostname()}`;
  } catch {
    return undefined;
  }
}

export class OperatorApiClient {
  constructor(private readonly target: ApiTarget) {}

  async #headers(hasBody: boolean): Promise<Record<string, string>> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (hasBody) headers['content-type'] = 'application/json';
    if (this.target.functionKey) headers['x-functions-key'] = this.target.functionKey;
    if (this.target.actor) headers['x-batchpilot-actor'] = this.target.actor;
    if (this.target.tokenScope) {
      const { DefaultAzureCredential } = require('@azure/identity') as typeof import('@azure/identity');
      const token = await new DefaultAzureCredential().getToken(this.target.tokenScope);
      if (!token) throw new ApiUnreachableError(`No Entra token for ${this.target.tokenScope}: sign in with 'az login' or set up a credential DefaultAzureCredential can use.`);
      headers.authorization = `Bearer ${token.token}`;
    }
    return headers;
  }

  async call<T>(method: string, apiPath: string, body?: unknown): Promise<T> {
    const url = `${this.target.url}/api/ops${apiPath}`;
    let res: Response;
    try {
      res = await fetch(url, { method, headers: await this.#headers(body !== undefined), body: body === undefined ? undefined : JSON.stringify(body) });
    } catch (err) {
      if (err instanceof ApiUnreachableError) throw err;
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      throw new ApiUnreachableError(`Cannot reach the operator API at ${this.target.url} (${this.target.source}): ${cause?.code ?? cause?.message ?? (err as Error).message}. Is the app running?`);
    }
    const text = await res.text();
    let data: unknown;
    try {
      data = text ? JSON.parse(text) : undefined;
    } catch {
      data = undefined;
    }
    if (!res.ok) {
      const e = (data as OperatorErrorBody | undefined)?.error;
      if (res.status === 401 && !e) throw new ApiCallError(401, 'Unauthorized', `The operator API at ${this.target.url} refused the credentials (${text.trim().slice(0, 200) || 'HTTP 401'}). Check --key / BATCHPILOT_FUNCTION_KEY.`, data);
      throw new ApiCallError(res.status, e?.code ?? `Http${res.status}`, e?.message ?? `HTTP ${res.status}: ${text.slice(0, 300)}`, data);
    }
    return data as T;
  }

  listRuns(query: URLSearchParams): Promise<RunListPage> {
    const q = query.toString();
    return this.call('GET', `/runs${q ? `?${q}` : ''}`);
  }
  countRuns(query: URLSearchParams): Promise<RunCounts> {
    const q = query.toString();
    return this.call('GET', `/counts${q ? `?${q}` : ''}`);
  }
  getRun(runId: string): Promise<RunDetail> {
    return this.call('GET', `/runs/${encodeURIComponent(runId)}`);
  }
  runAction(runId: string, action: 'terminate' | 'rerun' | 'approve' | 'reject', reason: string): Promise<ActionResult> {
    return this.call('POST', `/runs/${encodeURIComponent(runId)}/${action}`, { reason });
  }
  startRun(request: { blob?: string; folder?: string }, reason: string): Promise<ActionResult> {
    return this.call('POST', '/runs', { ...request, reason });
  }
  rollback(endpoint: string, reason: string): Promise<ActionResult> {
    return this.call('POST', '/rollbacks', { endpoint, reason });
  }
  purge(before: string, reason: string): Promise<ActionResult> {
    return this.call('POST', '/purge', { before, reason });
  }
  audit(runId?: string, top = 50): Promise<{ records: AuditRecord[] }> {
    return this.call('GET', `/audit?top=${top}${runId ? `&runId=${encodeURIComponent(runId)}` : ''}`);
  }
  verifyAudit(fromSeq = 1): Promise<AuditVerification> {
    return this.call('GET', `/audit/verify?fromSeq=${fromSeq}`);
  }
  me(): Promise<CallerInfo> {
    return this.call('GET', '/me');
  }
  runIndex(): Promise<RunIndexStatus> {
    return this.call('GET', '/index');
  }
  backfillRunIndex(reason: string): Promise<ActionResult & { state?: string; instancesRead?: number; runsWritten?: number }> {
    return this.call('POST', '/index/backfill', { reason });
  }
  routeHealth(route?: string): Promise<RouteHealthResponse> {
    return this.call('GET', `/health${route ? `?route=${encodeURIComponent(route)}` : ''}`);
  }

}
