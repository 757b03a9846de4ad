// Who is calling the operator API and what they may do. The function key opens the API. A signed-in
// principal (x-ms-client-principal and its -name/-id/-idp companions) is believed only when App Service
// authentication is on (WEBSITE_AUTH_ENABLED, which the platform sets): only then does the platform
// strip such headers from the client and set its own. Anywhere else (the local host, an app deployed
// without authentication) a client could write them, so they are refused, not read. A principal's app
// roles come from its roles claims: `Operator` may change runs, `Reader` may only look, neither is
// refused. A caller with only a key holds BATCHPILOT_OPERATOR_KEY_ROLE (Reader unless set to Operator).
// BATCHPILOT_OPERATOR_READ_ONLY refuses every change, whoever asks.
import type { HttpRequest } from '@azure/functions';
import type { Actor, CallerInfo } from './operatorApiTypes';
import { OperatorError } from './operatorHttp';
import { appSettings } from '../config/runtimeConfig';

export const OPERATOR_ROLE = 'Operator';
export const READER_ROLE = 'Reader';
/** The audit identity of a caller that showed only a function key. */
export const FUNCTION_KEY_ACTOR = 'function-key';
/** A caller may name itself (the CLI sends the OS user); recorded beside its identity, never as it. */
export const DECLARED_ACTOR_HEADER = 'x-batchpilot-actor';

const PRINCIPAL_HEADER = 'x-ms-client-principal';
const PRINCIPAL_HEADERS = [PRINCIPAL_HEADER, 'x-ms-client-principal-name', 'x-ms-client-principal-id', 'x-ms-client-principal-idp'];
// Entra ID app roles arrive as `roles` claims; the principal names its role claim type in role_typ.
const ROLE_CLAIM_TYPES = ['roles', 'http://schemas.microsoft.com/ws/2008/06/identity/claims/role'];
const NAME_CLAIM_TYPES = ['name', 'preferred_username', 'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name', 'upn'];
const ID_CLAIM_TYPES = ['http://schemas.microsoft.com/identity/claims/objectidentifier', 'oid', 'sub'];

/** The decoded x-ms-client-principal of App Service authentication. */
interface AppServicePrincipal {
  auth_typ?: string;
  name_typ?: string;
  role_typ?: string;
  claims?: Array<{ typ?: string; val?: string }>;
}

function decodePrincipal(header: string): AppServicePrincipal {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(header, 'base64').toString('utf8'));
  } catch {
    throw new OperatorError(400, 'InvalidPrincipal', 'The x-ms-client-principal header is not base64-encoded JSON.');
  }
  if (!value || typeof value !== 'object' || Array.isArray(value)) throw new OperatorError(400, 'InvalidPrincipal', 'The x-ms-client-principal header is not a JSON object.');
  return value as AppServicePrincipal;
}

function declaredName(request: HttpRequest): string | undefined {
  const v = request.headers.get(DECLARED_ACTOR_HEADER)?.trim();
  return v ? v.slice(0, 200) : undefined;
}

function keyActor(declaredAs: string | undefined): Actor {
  return { name: FUNCTION_KEY_ACTOR, via: 'functionKey', roles: [appSettings().operatorKeyRole], ...(declaredAs ? { declaredAs } : {}) };
}

/** The caller as access checks and the audit see it; refuses principal headers the platform did not set. */
export function actorOf(request: HttpRequest): Actor {
  const declaredAs = declaredName(request);
  const sent = PRINCIPAL_HEADERS.filter((h) => request.headers.has(h));
  if (!appSettings().platformAuthentication) {
    if (sent.length) {
      throw new OperatorError(403, 'UntrustedPrincipal', `The request carries ${sent.join(', ')}, but App Service authentication is not on here (WEBSITE_AUTH_ENABLED is not True), so nothing guarantees the platform set ${sent.length > 1 ? 'them' : 'it'}. Call with the function key alone, or sign in through the app's built-in authentication in Azure.`);
    }
    return keyActor(declaredAs);
  }
  const header = request.headers.get(PRINCIPAL_HEADER);
  if (!header) return keyActor(declaredAs);
  const p = decodePrincipal(header);
  const claims = Array.isArray(p.claims) ? p.claims.filter((c) => typeof c?.typ === 'string' && typeof c.val === 'string') : [];
  const values = (types: string[]): string[] => claims.filter((c) => types.includes(c.typ!)).map((c) => c.val!);
  const roles = values(p.role_typ ? [p.role_typ, ...ROLE_CLAIM_TYPES] : ROLE_CLAIM_TYPES);
  const name = request.headers.get('x-ms-client-principal-name') || values(p.name_typ ? [p.name_typ, ...NAME_CLAIM_TYPES] : NAME_CLAIM_TYPES)[0] || 'signed-in user';
  const id = request.headers.get('x-ms-client-principal-id') || values(ID_CLAIM_TYPES)[0] || undefined;
  const identityProvider = request.headers.get('x-ms-client-principal-idp') || p.auth_typ || undefined;
  return { name, via: 'principal', id, identityProvider, roles: [...new Set(roles)], ...(declaredAs ? { declaredAs } : {}) };
}

function hasRole(actor: Actor, role: string): boolean {
  return actor.roles.some((r) => r.toLowerCase() === role.toLowerCase());
}

function changeRefusal(actor: Actor): string | undefined {
  if (hasRole(actor, OPERATOR_ROLE)) return undefined;
  if (actor.via === 'functionKey') return `A caller with only the function key is a ${actor.roles[0] ?? READER_ROLE}: it may look but not change runs. Sign in with the '${OPERATOR_ROLE}' app role, or set BATCHPILOT_OPERATOR_KEY_ROLE=Operator where key holders are operators.`;
  return `${actor.name} has no '${OPERATOR_ROLE}' app role: ${hasRole(actor, READER_ROLE) ? 'a Reader may look but not change runs' : 'ask for the Reader or Operator role'}.`;
}

export function callerInfo(request: HttpRequest): CallerInfo {
  const actor = actorOf(request);
  const settings = appSettings();
  const refusal = settings.operatorReadOnly ? 'The operator API is in read-only mode (BATCHPILOT_OPERATOR_READ_ONLY is true): no changes are accepted.' : changeRefusal(actor);
  return { actor, readOnlyMode: settings.operatorReadOnly, platformAuthentication: settings.platformAuthentication, mayChange: !refusal, refusal };
}

/** For reads: a signed-in principal needs the Reader or Operator role (a key-only caller holds one). */
export function requireReader(request: HttpRequest): Actor {
  const actor = actorOf(request);
  if (!hasRole(actor, READER_ROLE) && !hasRole(actor, OPERATOR_ROLE)) {
    throw new OperatorError(403, 'RoleRequired', `${actor.name} has neither the '${READER_ROLE}' nor the '${OPERATOR_ROLE}' app role of batchpilot; ask an administrator to assign one.`);
  }
  return actor;
}

/** For changes: refused in read-only mode and to callers without the Operator role. */
export function requireOperator(request: HttpRequest): Actor {
  const info = callerInfo(request);
  if (info.readOnlyMode) throw new OperatorError(403, 'ReadOnlyMode', info.refusal!);
  requireReader(request);
  if (info.refusal) throw new OperatorError(403, 'OperatorRoleRequired', info.refusal);
  return info.actor;
}
