// What the operator surface's end-to-end tests share: a blob-run stack plus a client for /api/ops that
// sends the host's function key in x-functions-key (and, when asked, a signed-in principal), blobs written
// straight to Azurite (so no BlobCreated event starts a run behind the test's back), and waits on runs.
import * as fs from 'node:fs';
import { BlobServiceClient } from '@azure/storage-blob';
import { BlobRunStack } from './blobRunStack';
import { testAzurite, waitUntil } from '@batchpilot/local-platform';
import { INPUT_CONTAINER } from '../../src/local/stack/localStack';
import type { RunDetail, RunSummary } from '../../src/operator/operatorApiTypes';

export interface Principal {
  name: string;
  roles: string[];
}

export interface OpsResponse<T = unknown> {
  status: number;
  body: T;
}

/**
 * The headers App Service authentication sets for a signed-in user with these app roles. The app
 * believes them only when the host runs with WEBSITE_AUTH_ENABLED=True (standing in for the platform).
 */
export function principalHeader(p: Principal): Record<string, string> {
  const claims = [{ typ: 'name', val: p.name }, { typ: 'http://schemas.microsoft.com/identity/claims/objectidentifier', val: `oid-${p.name}` }, ...p.roles.map((r) => ({ typ: 'roles', val: r }))];
  const encoded = Buffer.from(JSON.stringify({ auth_typ: 'aad', name_typ: 'name', role_typ: 'roles', claims })).toString('base64');
  return { 'x-ms-client-principal': encoded, 'x-ms-client-principal-name': p.name, 'x-ms-client-principal-idp': 'aad', 'x-ms-client-principal-id': `oid-${p.name}` };
}

export class OperatorClient {
  constructor(private readonly stack: BlobRunStack, private readonly defaults: Record<string, string> = {}) {}

  /** The host's default host key (opens every function-level function). */
  get key(): string {
    const keys = JSON.parse(fs.readFileSync(this.stack.stack.host!.keysFile, 'utf8')) as { hostKeys: Record<string, string> };
    return keys.hostKeys.default;
  }

  get baseUrl(): string {
    return `${this.stack.stack.hostUrl}/api/ops`;
  }

  as(principal: Principal): OperatorClient {
    return new OperatorClient(this.stack, { ...this.defaults, ...principalHeader(principal) });
  }

  async request<T = Record<string, unknown>>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<OpsResponse<T>> {
    const res = await fetch(`${this.baseUrl}${path}`, {
      method,
      headers: { 'x-functions-key': this.key, 'x-batchpilot-actor': 'e2e-tests', ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...this.defaults, ...headers },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      // Non-JSON bodies are returned as text.
    }
    return { status: res.status, body: parsed as T };
  }

  get<T = Record<string, unknown>>(path: string, headers?: Record<string, string>): Promise<OpsResponse<T>> {
    return this.request<T>('GET', path, undefined, headers);
  }

  post<T = Record<string, unknown>>(path: string, body: unknown, headers?: Record<string, string>): Promise<OpsResponse<T>> {
    return this.request<T>('POST', path, body, headers);
  }

  async run(runId: string): Promise<RunDetail> {
    const r = await this.get<RunDetail>(`/runs/${encodeURIComponent(runId)}`);
    if (r.status !== 200) throw new Error(`GET run ${runId} answered ${r.status}: ${JSON.stringify(r.body)}`);
    return r.body;
  }

  async waitForStatus(runId: string, statuses: string[], timeoutInMs = 90_000): Promise<RunDetail> {
    return waitUntil(async () => {
      const r = await this.get<RunDetail>(`/runs/${encodeURIComponent(runId)}`);
      return r.status === 200 && statuses.includes(r.body.summary.status) ? r.body : undefined;
    }, `run ${runId} to be ${statuses.join(' or ')}`, timeoutInMs);
  }

  async listAll(query = ''): Promise<RunSummary[]> {
    const r = await this.get<{ runs: RunSummary[] }>(`/runs?top=200${query ? `&${query}` : ''}`);
    if (r.status !== 200) throw new Error(`GET runs answered ${r.status}: ${JSON.stringify(r.body)}`);
    return r.body.runs;
  }
}

/** Writes a blob straight to Azurite, past the blob proxy: no BlobCreated event, so no run starts. */
export async function uploadQuietly(blobPath: string, content: string): Promise<void> {
  const service = BlobServiceClient.fromConnectionString(testAzurite().connectionString);
  await service.getContainerClient(INPUT_CONTAINER).getBlockBlobClient(blobPath).upload(content, Buffer.byteLength(content));
}

/** Restarts the app host with changed settings (e.g. read-only mode); keys and task hub stay. */
export async function restartHostWith(stack: BlobRunStack, settings: Record<string, string>): Promise<void> {
  Object.assign(stack.stack.appSettings, settings);
  await stack.stack.host!.kill('SIGTERM');
  await stack.stack.startHost();
}
