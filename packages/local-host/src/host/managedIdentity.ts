// The app's managed identity as the host uses it for itself (callHttp token sources, identity-based
// storage connections): tokens from the endpoint App Service gives the process (IDENTITY_ENDPOINT and
// IDENTITY_HEADER, protocol 2019-08-01), which the local stack serves. Without it there is no managed
// identity, and the caller gets an error that says so; nothing probes other addresses.
import * as http from 'node:http';
import * as https from 'node:https';
import type { AccessToken, TokenCredential } from '@azure/core-auth';

const IDENTITY_API_VERSION = '2019-08-01';

export class ManagedIdentityError extends Error {}

function get(url: URL, headers: Record<string, string>): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = (url.protocol === 'https:' ? https : http).get(url, { headers, signal: AbortSignal.timeout(30_000) }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
  });
}

/** A token for `resourceOrScope` (`https://x` or `https://x/.default`) from the app's managed identity. */
export async function managedIdentityToken(resourceOrScope: string, options: { clientId?: string; env?: NodeJS.ProcessEnv; purpose: string }): Promise<AccessToken> {
  const env = options.env ?? process.env;
  const endpoint = env.IDENTITY_ENDPOINT;
  const secret = env.IDENTITY_HEADER;
  const resource = resourceOrScope.replace(/\/\.default$/, '');
  if (!endpoint || !secret) {
    throw new ManagedIdentityError(
      `${options.purpose} needs a token for '${resource}' from the app's managed identity, but the host has none: set IDENTITY_ENDPOINT and IDENTITY_HEADER (the local stack does).`,
    );
  }
  const url = new URL(endpoint);
  url.searchParams.set('resource', resource);
  url.searchParams.set('api-version', IDENTITY_API_VERSION);
  const clientId = options.clientId ?? env.AZURE_CLIENT_ID;
  if (clientId) url.searchParams.set('client_id', clientId);
  let answer: { status: number; body: string };
  try {
    answer = await get(url, { 'x-identity-header': secret });
  } catch (err) {
    throw new ManagedIdentityError(`${options.purpose}: the managed-identity endpoint ${url.origin}${url.pathname} did not answer: ${(err as Error).message}`);
  }
  if (answer.status !== 200) throw new ManagedIdentityError(`${options.purpose}: the managed-identity endpoint refused a token for '${resource}': HTTP ${answer.status} ${answer.body.slice(0, 300)}`);
  let parsed: { access_token?: unknown; expires_on?: unknown };
  try {
    parsed = JSON.parse(answer.body) as typeof parsed;
  } catch {
    throw new ManagedIdentityError(`${options.purpose}: the managed-identity endpoint answered with something that is not JSON.`);
  }
  if (typeof parsed.access_token !== 'string' || !parsed.access_token) throw new ManagedIdentityError(`${options.purpose}: the managed-identity endpoint answered without an access_token.`);
  const expiresOnInS = Number(parsed.expires_on);
  return { token: parsed.access_token, expiresOnTimestamp: Number.isFinite(expiresOnInS) ? expiresOnInS * 1000 : Date.now() + 5 * 60_000 };
}

/** A TokenCredential over the managed identity, for Azure SDK clients (identity-based connections). */
export function managedIdentityCredential(purpose: string, clientId?: string): TokenCredential {
  return {
    getToken: (scopes) => managedIdentityToken(Array.isArray(scopes) ? scopes[0] : scopes, { clientId, purpose }),
  };
}
