// Development access tokens for the local stack: JWTs (HS256) whose `aud` says which service they are
// for, as Entra ID tokens do. The emulators accept only tokens this issuer signed, for their own
// audience, unexpired: a management-audience token sent to the ML data plane gets the same 401 Azure
// gives. The signing key lives only in the stack's memory.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { AccessToken, GetTokenOptions, TokenCredential } from '@azure/core-auth';

export const DEV_TOKEN_ISSUER = 'https://sts.batchpilot.local/dev-tenant/';
export const DEV_TENANT_ID = '00000000-0000-0000-0000-00000000dev0'.replace('dev0', '0de0');
const TOKEN_LIFETIME_IN_S = 3600;

export interface DevTokenClaims {
  aud: string;
  iss: string;
  sub: string;
  oid: string;
  appid: string;
  tid: string;
  iat: number;
  nbf: number;
  exp: number;
  roles?: string[];
}

export type TokenCheck = { ok: true; claims: DevTokenClaims } | { ok: false; code: 'InvalidAuthenticationToken' | 'InvalidAudience' | 'ExpiredAuthenticationToken' | 'AuthenticationFailed'; message: string };

/** `https://ml.azure.com/.default` → `https://ml.azure.com`; a resource passes through without a trailing slash. */
export function resourceFromScope(scopeOrResource: string): string {
  return scopeOrResource.replace(/\/\.default$/, '').replace(/\/+$/, '');
}

function b64url(data: Buffer | string): string {
  return Buffer.from(data).toString('base64url');
}

export class DevTokenIssuer {
  readonly #key: Buffer;

  constructor(key: Buffer = randomBytes(32)) {
    this.#key = key;
  }

  issue(resource: string, subject = 'batchpilot-local-app', nowInS = Math.floor(Date.now() / 1000)): AccessToken {
    const claims: DevTokenClaims = {
      aud: resourceFromScope(resource),
      iss: DEV_TOKEN_ISSUER,
      sub: subject,
      oid: subject,
      appid: subject,
      tid: DEV_TENANT_ID,
      iat: nowInS,
      nbf: nowInS - 60,
      exp: nowInS + TOKEN_LIFETIME_IN_S,
    };
    const head = b64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));
    const body = b64url(JSON.stringify(claims));
    const sig = createHmac('sha256', this.#key).update(`${head}.${body}`).digest('base64url');
    return { token: `${head}.${body}.${sig}`, expiresOnTimestamp: claims.exp * 1000 };
  }

  /** Checks an `Authorization` header value for `audience` (e.g. `https://ml.azure.com`). */
  verifyAuthorization(header: string | undefined, audience: string): TokenCheck {
    if (!header) return { ok: false, code: 'AuthenticationFailed', message: 'The request is missing the Authorization header.' };
    const m = /^Bearer\s+(\S+)$/i.exec(header.trim());
    if (!m) return { ok: false, code: 'InvalidAuthenticationToken', message: "The Authorization header must be 'Bearer <token>'." };
    return this.verify(m[1], audience);
  }

  verify(token: string, audience: string): TokenCheck {
    const parts = token.split('.');
    if (parts.length !== 3) return { ok: false, code: 'InvalidAuthenticationToken', message: 'The access token is not a JWT.' };
    const expected = createHmac('sha256', this.#key).update(`${parts[0]}.${parts[1]}`).digest();
    const given = Buffer.from(parts[2], 'base64url');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      return { ok: false, code: 'InvalidAuthenticationToken', message: 'The access token signature is invalid.' };
    }
    let claims: DevTokenClaims;
    try {
      claims = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8')) as DevTokenClaims;
    } catch {
      return { ok: false, code: 'InvalidAuthenticationToken', message: 'The access token payload is not JSON.' };
    }
    const now = Math.floor(Date.now() / 1000);
    if (typeof claims.exp !== 'number' || claims.exp <= now) {
      return { ok: false, code: 'ExpiredAuthenticationToken', message: 'The access token expiry UTC time is earlier than current UTC time.' };
    }
    if (resourceFromScope(claims.aud ?? '') !== resourceFromScope(audience)) {
      return { ok: false, code: 'InvalidAudience', message: `The access token has an invalid audience '${claims.aud}'; expected '${resourceFromScope(audience)}'.` };
    }
    return { ok: true, claims };
  }

  /** A TokenCredential over this issuer, for in-process clients (tests, the stack's own seeding). */
  credential(subject?: string): TokenCredential {
    return {
      getToken: async (scopes: string | string[], _options?: GetTokenOptions): Promise<AccessToken> => {
        const scope = Array.isArray(scopes) ? scopes[0] : scopes;
        return this.issue(scope, subject);
      },
    };
  }
}
