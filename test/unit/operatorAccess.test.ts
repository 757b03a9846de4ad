// Who the operator API believes and what each caller may do: principal headers only when App Service
// authentication put them there (WEBSITE_AUTH_ENABLED), app roles from the principal's roles claims, a
// key-only caller a Reader unless BATCHPILOT_OPERATOR_KEY_ROLE says Operator, and an audit identity
// that comes only from a trusted principal or the key.
import { HttpRequest } from '@azure/functions';
import { actorOf, callerInfo, requireOperator, requireReader } from '../../src/operator/operatorAccess';
import { OperatorError } from '../../src/operator/operatorHttp';
import { resetRuntimeConfig } from '../../src/config/runtimeConfig';
import { loadSettings, SettingsError } from '../../src/config/settings';
import { UNIT_APP_SETTINGS } from '../support/appSettingsEnv';

const BASE_ENV: Record<string, string> = { ...UNIT_APP_SETTINGS };
const CONTROLLED = ['WEBSITE_AUTH_ENABLED', 'BATCHPILOT_OPERATOR_KEY_ROLE', 'BATCHPILOT_OPERATOR_READ_ONLY'];
const saved = { ...process.env };

function withSettings(settings: Record<string, string>): void {
  for (const name of CONTROLLED) delete process.env[name];
  Object.assign(process.env, BASE_ENV, settings);
  resetRuntimeConfig();
}

afterAll(() => {
  process.env = saved;
  resetRuntimeConfig();
});

/** The headers App Service authentication sets for a signed-in Entra user with these app roles. */
function principal(name: string, roles: string[]): Record<string, string> {
  const claims = [
    { typ: 'name', val: name },
    { typ: 'http://schemas.microsoft.com/identity/claims/objectidentifier', val: `oid-${name}` },
    ...roles.map((r) => ({ typ: 'roles', val: r })),
  ];
  const encoded = Buffer.from(JSON.stringify({ auth_typ: 'aad', name_typ: 'name', role_typ: 'roles', claims })).toString('base64');
  return { 'x-ms-client-principal': encoded, 'x-ms-client-principal-name': name, 'x-ms-client-principal-idp': 'aad', 'x-ms-client-principal-id': `oid-${name}` };
}

function request(headers: Record<string, string> = {}): HttpRequest {
  return new HttpRequest({ url: 'http://127.0.0.1:7071/api/ops/runs', method: 'GET', headers: { 'x-functions-key': 'k', ...headers } });
}

function refusal(fn: () => unknown): { status: number; code: string; message: string } {
  try {
    fn();
  } catch (err) {
    if (err instanceof OperatorError) return { status: err.status, code: err.code, message: err.message };
    throw err;
  }
  throw new Error('expected a refusal');
}

describe('without App Service authentication (the local host, or Azure without Easy Auth)', () => {
  beforeEach(() => withSettings({}));

  it('refuses a client-sent principal header instead of trusting its roles', () => {
    const forged = request(principal('mallory@contoso.com', ['Operator']));
    expect(refusal(() => requireOperator(forged))).toMatchObject({ status: 403, code: 'UntrustedPrincipal' });
    expect(refusal(() => requireReader(forged))).toMatchObject({ status: 403, code: 'UntrustedPrincipal' });
    expect(refusal(() => actorOf(forged)).message).toMatch(/WEBSITE_AUTH_ENABLED/);
  });

  it('refuses the principal name, ID and provider headers on their own too', () => {
    for (const header of ['x-ms-client-principal-name', 'x-ms-client-principal-id', 'x-ms-client-principal-idp']) {
      expect(refusal(() => actorOf(request({ [header]: 'mallory@contoso.com' })))).toMatchObject({ status: 403, code: 'UntrustedPrincipal' });
    }
  });

  it('treats a key-only caller as a Reader: it may look but not change', () => {
    const keyOnly = request();
    expect(requireReader(keyOnly)).toEqual({ name: 'function-key', via: 'functionKey', roles: ['Reader'] });
    const info = callerInfo(keyOnly);
    expect(info).toMatchObject({ mayChange: false, readOnlyMode: false, platformAuthentication: false });
    const refused = refusal(() => requireOperator(keyOnly));
    expect(refused).toMatchObject({ status: 403, code: 'OperatorRoleRequired' });
    expect(refused.message).toMatch(/BATCHPILOT_OPERATOR_KEY_ROLE/);
  });

  it('makes a key-only caller an Operator only when BATCHPILOT_OPERATOR_KEY_ROLE says so', () => {
    withSettings({ BATCHPILOT_OPERATOR_KEY_ROLE: 'Operator' });
    expect(requireOperator(request())).toEqual({ name: 'function-key', via: 'functionKey', roles: ['Operator'] });
    expect(callerInfo(request())).toMatchObject({ mayChange: true });
    withSettings({ BATCHPILOT_OPERATOR_KEY_ROLE: 'Reader' });
    expect(refusal(() => requireOperator(request()))).toMatchObject({ status: 403, code: 'OperatorRoleRequired' });
  });

  it('records a name the caller declares for itself beside the key identity, never as it', () => {
    withSettings({ BATCHPILOT_OPERATOR_KEY_ROLE: 'Operator' });
    expect(requireOperator(request({ 'x-batchpilot-actor': 'otto@contoso.com' }))).toEqual({ name: 'function-key', via: 'functionKey', roles: ['Operator'], declaredAs: 'otto@contoso.com' });
  });

  it('refuses a key role that is not Reader or Operator at startup, naming the setting', () => {
    expect(() => loadSettings({ ...BASE_ENV, BATCHPILOT_OPERATOR_KEY_ROLE: 'Admin' })).toThrow(SettingsError);
    expect(() => loadSettings({ ...BASE_ENV, BATCHPILOT_OPERATOR_KEY_ROLE: 'Admin' })).toThrow(/BATCHPILOT_OPERATOR_KEY_ROLE must be Reader or Operator \(got 'Admin'\)/);
  });
});

describe('behind App Service authentication (WEBSITE_AUTH_ENABLED=True, set by the platform)', () => {
  beforeEach(() => withSettings({ WEBSITE_AUTH_ENABLED: 'True' }));

  it('lets a Reader look and refuses it every change', () => {
    const reader = request(principal('rita@contoso.com', ['Reader']));
    expect(requireReader(reader)).toMatchObject({ name: 'rita@contoso.com', via: 'principal', id: 'oid-rita@contoso.com', roles: ['Reader'] });
    const refused = refusal(() => requireOperator(reader));
    expect(refused).toMatchObject({ status: 403, code: 'OperatorRoleRequired' });
    expect(refused.message).toMatch(/a Reader may look but not change runs/);
    expect(callerInfo(reader)).toMatchObject({ mayChange: false, platformAuthentication: true });
  });

  it('lets an Operator change, identified by its principal whatever name it declares', () => {
    const operator = request({ ...principal('otto@contoso.com', ['Operator']), 'x-batchpilot-actor': 'someone else' });
    expect(requireOperator(operator)).toEqual({ name: 'otto@contoso.com', via: 'principal', id: 'oid-otto@contoso.com', identityProvider: 'aad', roles: ['Operator'], declaredAs: 'someone else' });
  });

  it('refuses a signed-in principal with neither role, even for reads', () => {
    expect(refusal(() => requireReader(request(principal('nora@contoso.com', []))))).toMatchObject({ status: 403, code: 'RoleRequired' });
  });

  it('takes roles from the roles claims only, not from other claims that look like roles', () => {
    const claims = [{ typ: 'name', val: 'eve@contoso.com' }, { typ: 'groups', val: 'Operator' }, { typ: 'scp', val: 'Operator' }];
    const encoded = Buffer.from(JSON.stringify({ auth_typ: 'aad', name_typ: 'name', role_typ: 'roles', claims })).toString('base64');
    expect(refusal(() => requireReader(request({ 'x-ms-client-principal': encoded })))).toMatchObject({ status: 403, code: 'RoleRequired' });
  });

  it('still treats a key-only caller by BATCHPILOT_OPERATOR_KEY_ROLE', () => {
    expect(requireReader(request())).toEqual({ name: 'function-key', via: 'functionKey', roles: ['Reader'] });
    expect(refusal(() => requireOperator(request()))).toMatchObject({ status: 403, code: 'OperatorRoleRequired' });
  });

  it('refuses a malformed principal header', () => {
    expect(refusal(() => actorOf(request({ 'x-ms-client-principal': '%%%not-base64-json' })))).toMatchObject({ status: 400, code: 'InvalidPrincipal' });
  });

  it('refuses every change in read-only mode, even to an Operator', () => {
    withSettings({ WEBSITE_AUTH_ENABLED: 'True', BATCHPILOT_OPERATOR_READ_ONLY: 'true' });
    expect(refusal(() => requireOperator(request(principal('otto@contoso.com', ['Operator']))))).toMatchObject({ status: 403, code: 'ReadOnlyMode' });
  });
});
