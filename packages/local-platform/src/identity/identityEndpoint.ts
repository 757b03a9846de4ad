// The App Service managed-identity endpoint (protocol 2019-08-01), served by the local stack so that
// the app's unmodified DefaultAzureCredential gets development tokens: the host process is started
// with IDENTITY_ENDPOINT and IDENTITY_HEADER, exactly the variables App Service sets.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomBytes } from 'node:crypto';
import { DevTokenIssuer, resourceFromScope } from './devTokens';

export interface IdentityEndpoint {
  /** Secret shared with the processes allowed to ask for tokens (IDENTITY_HEADER). */
  identityHeader: string;
  handle(req: IncomingMessage, res: ServerResponse): void;
}

export function createIdentityEndpoint(issuer: DevTokenIssuer, identityHeader = randomBytes(16).toString('hex')): IdentityEndpoint {
  return {
    identityHeader,
    handle(req, res) {
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      const send = (status: number, body: unknown): void => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(body));
      };
      if (req.method !== 'GET') return send(405, { error: 'invalid_request', error_description: 'Use GET.' });
      if (req.headers['x-identity-header'] !== identityHeader) {
        return send(401, { error: 'unauthorized_client', error_description: 'The X-IDENTITY-HEADER header is missing or wrong.' });
      }
      const resource = url.searchParams.get('resource');
      if (!resource) return send(400, { error: 'invalid_request', error_description: "The 'resource' query parameter is required." });
      const token = issuer.issue(resourceFromScope(resource));
      send(200, {
        access_token: token.token,
        expires_on: String(Math.floor(token.expiresOnTimestamp / 1000)),
        resource: resourceFromScope(resource),
        token_type: 'Bearer',
        client_id: url.searchParams.get('client_id') ?? 'batchpilot-local-app',
      });
    },
  };
}
