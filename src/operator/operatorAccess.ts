// Who is calling the operator API and what they may do. The function key opens the API; when the
// platform's authentication passes a signed-in principal (x-ms-client-principal, the header the
// library's `request.user` reads), its app roles narrow that: `Operator` may change runs, `Reader` may
// only look, a principal with neither role is refused. A principal can only narrow what the key allows,
// so a forged header gains nothing. BATCHPILOT_OPERATOR_READ_ONLY refuses every change, whoever asks.
import type { HttpRequest } from '@azure/functions';
import type { Actor, CallerInfo } from './operatorApiTypes';
import { OperatorError } from './operatorHttp';
import { appSettings } from '../activities/runtimeConfig';

export const OPERATOR_ROLE = 'Operator';
export const READER_ROLE = 'Reader';
/** A caller may name itself (the CLI sends the OS user); recorded in audit records, never trusted. */
export const DECLARED_ACTOR_HEADER = 'x-batchpilot-actor';

const ROLE_CLAIM_TYPES = ['roles', 'role', 'http://schemas.microsoft.com/ws/2008/06/identity/claims/role'];
const NAME_CLAIM_TYPES = ['name', 'preferred_username', 'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name', 'upn'];
const ID_CLAIM_TYPES = ['http://schemas.microsoft.com/identity/claims/objectidentifier', 'oid', 'sub'];

interface AppServicePrincipal {
  auth_typ?: string;
  name_typ?: string;
  role_typ?: string;
  claims?: Array<{ typ?: string; val?: string }>;
}
interface StaticWebAppsPrincipal {
  identityProvider?: string;
  userId?: string;
  userDetails?: string;
  userRoles?: string[];
}

function decodePrincipal(header: string): AppServicePrincipal & StaticWebAppsPrincipal {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(header, 'base64').toString('utf8'));
  } catch {
    throw new OperatorError(400, 'InvalidPrincipal', 'The x-ms-client-principal header is not base64-encoded JSON.');
  }
  if (!value || typeof value !== 'object' || Array.isArray(value)) throw new OperatorError(400, 'InvalidPrincipal', 'The x-ms-client-principal header is not a JSON object.');
  return value as AppServicePrincipal & StaticWebAppsPrincipal;
}

function declaredName(request: HttpRequest): string | undefined {
  const v = request.headers.get(DECLARED_ACTOR_HEADER)?.trim();
  return v ? v.slice(0, 200) : undefined;
}

/** The caller as the audit records it. */
export function actorOf(request: HttpRequest): Actor {
  const header = request.headers.get('x-ms-client-principal');
  const declaredAs = declaredName(request);
  if (!header) return { name: declaredAs ? `${declaredAs} (function key)` : 'function key', via: 'functionKey', roles: [], declaredAs };
  const p = decodePrincipal(header);
  if (p.identityProvider || p.userRoles) {
    // Static Web Apps shape.
    const roles = (p.userRoles ?? []).filter((r) => typeof r === 'string' && r !== 'anonymous' && r !== 'authenticated');
    return { name: p.userDetails || p.userId || 'signed-in user', via: 'principal', id: p.userId, identityProvider: p.identityProvider, roles, declaredAs };
  }
  const claims = Array.isArray(p.claims) ? p.claims.filter((c) => typeof c?.typ === 'string' && typeof c.val === 'string') : [];
  const values = (types: string[]): string[] => claims.filter((c) => types.includes(c.typ!)).map((c) => c.val!);
  const roles = values(p.role_typ ? [p.role_typ, ...ROLE_CLAIM_TYPES] : ROLE_CLAIM_TYPES);
  const name = request.headers.get('x-ms-client-principal-name') || values(p.name_typ ? [p.name_typ, ...NAME_CLAIM_TYPES] : NAME_CLAIM_TYPES)[0] || 'signed-in user';
  const id = request.headers.get('x-ms-client-principal-id') || values(ID_CLAIM_TYPES)[0] || undefined;
  const identityProvider = request.headers.get('x-ms-client-principal-idp') || p.auth_typ || undefined;
  return { name, via: 'principal', id, identityProvider, roles: [...new Set(roles)], declaredAs };
}

function hasRole(actor: Actor, role: string): boolean {
  return actor.roles.some((r) => r.toLowerCase() === role.toLowerCase());
}

export function callerInfo(request: HttpRequest): CallerInfo {
  const actor = actorOf(request);
  const readOnlyMode = appSettings().operatorReadOnly;
  let refusal: string | undefined;
  if (readOnlyMode) refusal = 'The operator API is in read-only mode (BATCHPILOT_OPERATOR_READ_ONLY is true): no changes are accepted.';
  else if (actor.via === 'principal' && !hasRole(actor, OPERATOR_ROLE)) refusal = `${actor.name} has no '${OPERATOR_ROLE}' app role: ${hasRole(actor, READER_ROLE) ? 'a Reader may look but not change runs' : 'ask for the Reader or Operator role'}.`;
  return { actor, readOnlyMode, mayChange: !refusal, refusal };
}

/** For reads: a signed-in principal needs the Reader or Operator role. */
export function requireReader(request: HttpRequest): Actor {
  const actor = actorOf(request);
  if (actor.via === 'principal' && !hasRole(actor, READER_ROLE) && !hasRole(actor, OPERATOR_ROLE)) {
    throw new OperatorError(403, 'RoleRequired', `${actor.name} has neither the '${READER_ROLE}' nor the '${OPERATOR_ROLE}' app role of batchpilot; ask an administrator to assign one.`);
  }
  return actor;
}

/** For changes: refused in read-only mode and for principals without the Operator role. */
export function requireOperator(request: HttpRequest): Actor {
  const info = callerInfo(request);
  if (info.readOnlyMode) throw new OperatorError(403, 'ReadOnlyMode', info.refusal!);
  requireReader(request);
  if (info.refusal) throw new OperatorError(403, 'OperatorRoleRequired', info.refusal);
  return info.actor;
}
