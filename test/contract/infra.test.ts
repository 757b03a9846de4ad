// Contract tests for the Azure deployment (azure.yaml, infra/). No Bicep compiler is reachable here, so
// these read the files: the app settings Bicep sets against src/config/settings.ts, the role
// assignments against Microsoft's built-in roles and the least-privilege table, the event
// subscriptions against the declaration the local Event Grid emulator reads, and everything under
// infra/ against keys and secrets. The small Bicep reader below understands comments, strings,
// brace-balanced blocks and the object/array literals this repository writes; it is not a parser.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { SETTINGS } from '../../src/config/settings';
import { RUN_METRICS } from '../../src/azure/runTelemetry';
import { SUCCESSFUL_OUTCOMES } from '../../src/domain/runMeasurements';

const repoRoot = path.resolve(__dirname, '..', '..');
const infraDir = path.join(repoRoot, 'infra');
const appDir = path.join(infraDir, 'app');

/** Built-in role definition IDs, as Microsoft's "Azure built-in roles" reference lists them. */
const DOCUMENTED_BUILT_IN_ROLES: Record<string, string> = {
  storageBlobDataOwner: 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b', // Storage Blob Data Owner
  storageBlobDataContributor: 'ba92f5b4-2d11-453d-a403-e96b0029c9fe', // Storage Blob Data Contributor
  storageBlobDataReader: '2a2b9908-6ea1-4ae2-8e65-a410df84e7d1', // Storage Blob Data Reader
  storageQueueDataContributor: '974c5e8b-45b9-4653-ba55-5f855dd0fb88', // Storage Queue Data Contributor
  storageTableDataContributor: '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3', // Storage Table Data Contributor
  azureMLDataScientist: 'f6c7c914-8db3-469d-8ca1-694a8f32e121', // AzureML Data Scientist
  eventGridDataSender: 'd5a91429-5739-47e2-a06b-3470a27159e7', // EventGrid Data Sender
  monitoringMetricsPublisher: '3913510d-42f4-4e42-8a64-420c390055eb', // Monitoring Metrics Publisher
  monitoringReader: '43d0d8ad-25c7-4714-9337-8ba259a9fe05', // Monitoring Reader
  durableTaskDataContributor: '0ad04412-c4d5-4796-b79c-f76d14c8d402', // Durable Task Data Contributor
  durableTaskDataReader: 'd6a5505f-6ebb-45a4-896e-ac8274cfc0ac', // Durable Task Data Reader
};

/** Settings every deployment carries; the ones tied to one Durable backend come only with it. */
const BASE_SETTINGS = SETTINGS.filter((s) => s.durableBackend === undefined);
const DTS_SETTINGS = SETTINGS.filter((s) => s.durableBackend === 'dts');

/** Settings the Flex Consumption plan takes elsewhere or that would carry keys: never app settings here. */
const FORBIDDEN_APP_SETTINGS = [
  'FUNCTIONS_WORKER_RUNTIME', // functionAppConfig.runtime
  'FUNCTIONS_EXTENSION_VERSION', // fixed by the Flex plan
  'WEBSITE_RUN_FROM_PACKAGE', // functionAppConfig.deployment
  'WEBSITE_CONTENTAZUREFILECONNECTIONSTRING', // a keyed connection string (Consumption/Premium content share)
  'WEBSITE_CONTENTSHARE',
  'WEBSITE_NODE_DEFAULT_VERSION',
  'AzureWebJobsDashboard',
  'APPINSIGHTS_INSTRUMENTATIONKEY',
];

/** The identity-based variants Azure Functions reads for a storage connection named NAME. */
const IDENTITY_CONNECTION_SUFFIXES = ['blobServiceUri', 'queueServiceUri', 'tableServiceUri', 'credential', 'clientId'];

// ---------------------------------------------------------------------------------------------
// Reading Bicep text

function readRepoFile(relative: string): string {
  return fs.readFileSync(path.join(repoRoot, relative), 'utf8');
}

function listFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    return entry.isDirectory() ? listFiles(full) : [full];
  });
}

const bicepFiles = (): string[] => listFiles(infraDir).filter((f) => f.endsWith('.bicep'));
const relativeName = (file: string): string => path.relative(repoRoot, file).split(path.sep).join('/');

/** Bicep without its comments; strings (including ''' multi-line strings) are kept as written. */
function stripComments(text: string): string {
  let out = '';
  let i = 0;
  while (i < text.length) {
    if (text.startsWith("'''", i)) {
      const end = text.indexOf("'''", i + 3);
      const stop = end < 0 ? text.length : end + 3;
      out += text.slice(i, stop);
      i = stop;
    } else if (text[i] === "'") {
      let j = i + 1;
      while (j < text.length && text[j] !== "'") j += text[j] === '\\' ? 2 : 1;
      out += text.slice(i, j + 1);
      i = j + 1;
    } else if (text.startsWith('//', i)) {
      while (i < text.length && text[i] !== '\n') i++;
    } else if (text.startsWith('/*', i)) {
      const end = text.indexOf('*/', i + 2);
      i = end < 0 ? text.length : end + 2;
    } else {
      out += text[i++];
    }
  }
  return out;
}

const code = (file: string): string => stripComments(fs.readFileSync(file, 'utf8'));
const appCode = (name: string): string => code(path.join(appDir, name));
const mainCode = (): string => code(path.join(infraDir, 'main.bicep'));

/** The end (exclusive) of the bracketed block opening at `open`, skipping strings. */
function blockEnd(text: string, open: number): number {
  let depth = 0;
  for (let i = open; i < text.length; i++) {
    const c = text[i];
    if (c === "'") {
      i++;
      while (i < text.length && text[i] !== "'") i += text[i] === '\\' ? 2 : 1;
    } else if (c === '{' || c === '[' || c === '(') {
      depth++;
    } else if (c === '}' || c === ']' || c === ')') {
      depth--;
      if (depth === 0) return i + 1;
    }
  }
  throw new Error(`Unbalanced block starting at ${open}: ${text.slice(open, open + 80)}`);
}

/** The literal (object or array) a `var NAME = ...` holds, or the first argument of the call it holds. */
function varLiteral(text: string, name: string): string {
  const m = new RegExp(`^var\\s+${name}\\s*=\\s*`, 'm').exec(text);
  if (!m) throw new Error(`var ${name} not found`);
  const start = text.slice(m.index + m[0].length).search(/[[{]/) + m.index + m[0].length;
  return text.slice(start, blockEnd(text, start));
}

type BicepValue = { expr: string } | BicepValue[] | { [key: string]: BicepValue };

/** Parses the object and array literals this repository writes: one property or item per line. */
function parseLiteral(src: string): BicepValue {
  let pos = 0;
  const skipSpace = (): void => {
    while (pos < src.length && /[\s,]/.test(src[pos])) pos++;
  };
  const readExpression = (closer: string): string => {
    const start = pos;
    let depth = 0;
    while (pos < src.length) {
      const c = src[pos];
      if (c === "'") {
        pos++;
        while (pos < src.length && src[pos] !== "'") pos += src[pos] === '\\' ? 2 : 1;
      } else if ('([{'.includes(c)) {
        depth++;
      } else if (')]}'.includes(c)) {
        if (depth === 0 && c === closer) break;
        depth--;
      } else if (depth === 0 && (c === '\n' || c === ',')) {
        break;
      }
      pos++;
    }
    return src.slice(start, pos).trim();
  };
  const value = (closer: string): BicepValue => {
    skipSpace();
    if (src[pos] === '{') return object();
    if (src[pos] === '[') return array();
    return { expr: readExpression(closer) };
  };
  const object = (): BicepValue => {
    const result: { [key: string]: BicepValue } = {};
    pos++;
    for (;;) {
      skipSpace();
      if (src[pos] === '}') {
        pos++;
        return result;
      }
      const key = /^(?:'([^']*)'|([A-Za-z_$][\w$]*))\s*:/.exec(src.slice(pos));
      if (!key) throw new Error(`Expected a property at: ${src.slice(pos, pos + 60)}`);
      pos += key[0].length;
      result[key[1] ?? key[2]] = value('}');
    }
  };
  const array = (): BicepValue => {
    const result: BicepValue[] = [];
    pos++;
    for (;;) {
      skipSpace();
      if (src[pos] === ']') {
        pos++;
        return result;
      }
      result.push(value(']'));
    }
  };
  return value('');
}

function asObject(v: BicepValue): { [key: string]: BicepValue } {
  if (Array.isArray(v) || 'expr' in v) throw new Error(`Expected an object, got ${JSON.stringify(v)}`);
  return v as { [key: string]: BicepValue };
}
function asArray(v: BicepValue): BicepValue[] {
  if (!Array.isArray(v)) throw new Error(`Expected an array, got ${JSON.stringify(v)}`);
  return v;
}
function exprOf(v: BicepValue | undefined): string {
  if (!v || Array.isArray(v) || !('expr' in v)) throw new Error(`Expected an expression, got ${JSON.stringify(v)}`);
  return (v as { expr: string }).expr;
}
/** A plain string literal's text, or undefined for any other expression. */
function stringLiteral(v: BicepValue | undefined): string | undefined {
  const m = /^'([^'$]*)'$/.exec(exprOf(v));
  return m ? m[1] : undefined;
}

/** Splits a call's arguments at top level: `guid(a.id, b, c[d])` → ['a.id', 'b', 'c[d]']. */
function callArguments(text: string, fn: string): string[] | undefined {
  const at = text.search(new RegExp(`\\b${fn}\\(`));
  if (at < 0) return undefined;
  const open = text.indexOf('(', at);
  const inner = text.slice(open + 1, blockEnd(text, open) - 1);
  const args: string[] = [];
  let depth = 0;
  let current = '';
  for (const c of inner) {
    if ('([{'.includes(c)) depth++;
    if (')]}'.includes(c)) depth--;
    if (c === ',' && depth === 0) {
      args.push(current.trim());
      current = '';
    } else {
      current += c;
    }
  }
  args.push(current.trim());
  return args;
}

interface ResourceDeclaration {
  symbol: string;
  type: string;
  existing: boolean;
  body: string;
}

/** Every `resource symbol 'Type@version' [existing] = ...` with the text of its body. */
function resources(text: string): ResourceDeclaration[] {
  const found: ResourceDeclaration[] = [];
  const re = /^resource\s+(\w+)\s+'([^'@]+)@[^']+'\s*(existing\s*)?=\s*/gm;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    const open = text.slice(re.lastIndex).search(/[[{]/) + re.lastIndex;
    found.push({ symbol: m[1], type: m[2], existing: Boolean(m[3]), body: text.slice(open, blockEnd(text, open)) });
  }
  return found;
}

interface ParamDeclaration {
  name: string;
  type: string;
  defaultValue?: string;
}

function params(text: string): ParamDeclaration[] {
  return [...text.matchAll(/^param\s+(\w+)\s+([\w[\]]+)(?:\s*=\s*(.+))?$/gm)].map((m) => ({ name: m[1], type: m[2], defaultValue: m[3]?.trim() }));
}

/** The `params: {...}` of `module symbol 'path' = ...` as parsed literal. */
function moduleParams(text: string, symbol: string): { [key: string]: BicepValue } {
  const m = new RegExp(`^module\\s+${symbol}\\s+'[^']+'\\s*=`, 'm').exec(text);
  if (!m) throw new Error(`module ${symbol} not found`);
  const open = text.indexOf('{', m.index);
  const body = text.slice(open, blockEnd(text, open));
  const p = /\n\s*params:\s*\{/.exec(body);
  if (!p) return {};
  const start = body.indexOf('{', p.index);
  return asObject(parseLiteral(body.slice(start, blockEnd(body, start))));
}

function moduleDeclaration(text: string, symbol: string): string {
  const m = new RegExp(`^module\\s+${symbol}\\s+'([^']+)'\\s*=\\s*(.*)$`, 'm').exec(text);
  if (!m) throw new Error(`module ${symbol} not found`);
  return m[0];
}

// ---------------------------------------------------------------------------------------------
// Following the conditions that choose between deployments (the Durable backend)

/**
 * What an expression comes to: a string, a boolean, or Bicep text left as written (an object or array
 * literal, a call, an interpolated string, a module output). Text left as written stands for a value
 * that is there: a module output read here belongs to a module the same condition deploys.
 */
type Evaluated = string | boolean | { expr: string };

/** The whole expression a `var NAME = ...` holds (it may span lines inside brackets). */
function varExpression(text: string, name: string): string {
  const m = new RegExp(`^var\\s+${name}\\s*=\\s*`, 'm').exec(text);
  if (!m) throw new Error(`var ${name} not found`);
  const start = m.index + m[0].length;
  const end = topLevelIndex(text.slice(start), (rest, i) => rest[i] === '\n');
  return (end < 0 ? text.slice(start) : text.slice(start, start + end)).trim();
}

/** The first position outside strings and brackets where `at` holds, or -1. */
function topLevelIndex(expr: string, at: (expr: string, i: number) => boolean): number {
  let depth = 0;
  for (let i = 0; i < expr.length; i++) {
    const c = expr[i];
    if (c === "'") {
      i++;
      while (i < expr.length && expr[i] !== "'") i += expr[i] === '\\' ? 2 : 1;
    } else if ('([{'.includes(c)) {
      depth++;
    } else if (')]}'.includes(c)) {
      depth--;
    } else if (depth === 0 && at(expr, i)) {
      return i;
    }
  }
  return -1;
}

function asBoolean(v: Evaluated, source: string): boolean {
  if (typeof v !== 'boolean') throw new Error(`Expected a condition, got ${JSON.stringify(v)} from ${source}`);
  return v;
}

/**
 * Evaluates the few forms main.bicep and functionApp.bicep use to choose between deployments:
 * `c ? a : b`, `a == b`, `a != b`, `!a`, `empty(a)`, plain string literals, true/false and names
 * given in `scope`. Any other name fails, so a condition written in another form fails the test
 * rather than being guessed at.
 */
function evaluate(source: string, scope: Record<string, Evaluated>): Evaluated {
  const expr = source.trim();
  if (expr.startsWith('(') && blockEnd(expr, 0) === expr.length) return evaluate(expr.slice(1, -1), scope);
  // `?` of a ternary, not of `.?` (safe access) or `??` (coalesce).
  const question = topLevelIndex(expr, (e, i) => e[i] === '?' && !['?', '.'].includes(e[i + 1]) && !['?', '.'].includes(e[i - 1]));
  if (question >= 0) {
    const rest = expr.slice(question + 1);
    const colon = topLevelIndex(rest, (e, i) => e[i] === ':');
    if (colon < 0) throw new Error(`A ? without its : in ${expr}`);
    const condition = asBoolean(evaluate(expr.slice(0, question), scope), expr);
    return condition ? evaluate(rest.slice(0, colon), scope) : evaluate(rest.slice(colon + 1), scope);
  }
  for (const op of ['==', '!=']) {
    const at = topLevelIndex(expr, (e, i) => e.startsWith(op, i));
    if (at >= 0) {
      const [left, right] = [evaluate(expr.slice(0, at), scope), evaluate(expr.slice(at + 2), scope)];
      if (typeof left === 'object' || typeof right === 'object') throw new Error(`Cannot compare ${expr}`);
      return op === '==' ? left === right : left !== right;
    }
  }
  if (expr.startsWith('!')) return !asBoolean(evaluate(expr.slice(1), scope), expr);
  if (expr.startsWith('empty(') && blockEnd(expr, 5) === expr.length) {
    const v = evaluate(expr.slice(6, -1), scope);
    if (typeof v === 'boolean') throw new Error(`empty() of a condition in ${expr}`);
    return typeof v === 'string' ? v === '' : /^(\{\s*\}|\[\s*\])$/.test(v.expr);
  }
  const literal = /^'([^'$\\]*)'$/.exec(expr);
  if (literal) return literal[1];
  if (expr === 'true' || expr === 'false') return expr === 'true';
  if (/^\w+$/.test(expr)) {
    if (!(expr in scope)) throw new Error(`'${expr}' is not known to this evaluation`);
    return scope[expr];
  }
  return { expr };
}

/** The object or array literal an evaluated expression is, or that the call it is takes first. */
function literalOf(v: Evaluated): BicepValue {
  if (typeof v !== 'object') throw new Error(`Expected a literal, got ${JSON.stringify(v)}`);
  const start = v.expr.search(/[[{]/);
  return parseLiteral(v.expr.slice(start, blockEnd(v.expr, start)));
}

interface DurableDeployment {
  schedulerDeployed: boolean;
  appSettings: { [key: string]: BicepValue };
  taskHubRoles: Array<{ [key: string]: BicepValue }>;
}

/** What main.bicep deploys for a Durable backend: the scheduler or not, the app settings, the task hub roles. */
function durableDeployment(backend: string): DurableDeployment {
  const main = mainCode();
  const functionApp = appCode('functionApp.bicep');
  const scope: Record<string, Evaluated> = { durableBackend: backend };
  scope.useDurableTaskScheduler = evaluate(varExpression(main, 'useDurableTaskScheduler'), scope);
  const condition = /^module\s+durableTaskScheduler\s+'app\/durableTaskScheduler\.bicep'\s*=\s*if\s*\((.*)\)\s*\{\s*$/m.exec(main)?.[1];
  if (condition === undefined) throw new Error('module durableTaskScheduler is not deployed behind a condition');
  const appScope = { durableTaskSchedulerEndpoint: evaluate(exprOf(moduleParams(main, 'functionApp').durableTaskSchedulerEndpoint), scope) };
  const [baseSettings, extraSettings, ...others] = callArguments(varExpression(functionApp, 'appSettings'), 'union') ?? [];
  expect({ extraSettings, others }).toEqual({ extraSettings: 'durableTaskSchedulerSettings', others: [] });
  const extra = asObject(literalOf(evaluate(varExpression(functionApp, 'durableTaskSchedulerSettings'), appScope)));
  const roles = evaluate(varExpression(main, 'durableTaskHubRoles'), scope);
  return {
    schedulerDeployed: asBoolean(evaluate(condition, scope), condition),
    appSettings: { ...asObject(parseLiteral(baseSettings)), ...extra },
    taskHubRoles: asArray(literalOf(roles)).map(asObject),
  };
}

// ---------------------------------------------------------------------------------------------

describe('app settings in infra/ and local.settings.sample.json', () => {
  const functionApp = appCode('functionApp.bicep');
  const appSettings = asObject(parseLiteral(varLiteral(functionApp, 'appSettings')));
  const names = Object.keys(appSettings);

  function expectedAzureNames(): string[] {
    return BASE_SETTINGS.filter((s) => !s.injectedByPlatform).flatMap((s) => {
      if (!s.connection) return [s.name];
      const services = s.name === 'AzureWebJobsStorage' ? ['blobServiceUri', 'queueServiceUri', 'tableServiceUri'] : ['blobServiceUri'];
      return [...services, 'credential', 'clientId'].map((suffix) => `${s.name}__${suffix}`);
    });
  }

  it('sets every setting the settings schema lists, identity-based connections as NAME__ variants', () => {
    expect([...names].sort()).toEqual(expect.arrayContaining(expectedAzureNames().sort()));
  });

  it('sets nothing the settings schema does not know', () => {
    const known = new Set(BASE_SETTINGS.map((s) => s.name));
    const unknown = names.filter((name) => {
      const [prefix, suffix] = name.split('__');
      if (suffix === undefined) return !known.has(name) || BASE_SETTINGS.find((s) => s.name === name)?.connection === true;
      return !BASE_SETTINGS.some((s) => s.name === prefix && s.connection) || !IDENTITY_CONNECTION_SUFFIXES.includes(suffix);
    });
    expect(unknown).toEqual([]);
    expect([...names].sort()).toEqual([...expectedAzureNames()].sort());
  });

  it('never sets a storage connection as a connection string', () => {
    for (const s of SETTINGS.filter((setting) => setting.connection)) {
      expect(names).not.toContain(s.name);
      expect(appSettings[`${s.name}__credential`]).toEqual({ expr: "'managedidentity'" });
      expect(exprOf(appSettings[`${s.name}__clientId`])).toBe('identityClientId');
      expect(exprOf(appSettings[`${s.name}__blobServiceUri`])).toMatch(/(primaryEndpoints\.blob|BlobServiceUri)$/);
    }
  });

  it('authenticates Application Insights with the managed identity and the app with the same client ID', () => {
    expect(exprOf(appSettings.APPLICATIONINSIGHTS_AUTHENTICATION_STRING)).toBe("'Authorization=AAD;ClientId=${identityClientId}'");
    expect(exprOf(appSettings.APPLICATIONINSIGHTS_CONNECTION_STRING)).toBe('applicationInsights.properties.ConnectionString');
    expect(exprOf(appSettings.AZURE_CLIENT_ID)).toBe('identityClientId');
    expect(exprOf(appSettings.BATCHPILOT_ARM_ENDPOINT)).toBe('environment().resourceManager');
  });

  it('applies the settings in one place: a single sites/config appsettings resource, no siteConfig.appSettings', () => {
    const configs = bicepFiles().flatMap((f) => resources(code(f)).filter((r) => r.type === 'Microsoft.Web/sites/config' && /\bname:\s*'appsettings'/.test(r.body)).map((r) => ({ f: relativeName(f), r })));
    expect(configs.map((c) => c.f)).toEqual(['infra/app/functionApp.bicep']);
    expect(configs[0].r.body).toMatch(/\bproperties:\s*appSettings\b/);
    for (const f of bicepFiles()) expect({ file: relativeName(f), appSettingsArray: /\bappSettings\s*:/.test(code(f)) }).toEqual({ file: relativeName(f), appSettingsArray: false });
  });

  it('sets none of the settings Flex Consumption takes elsewhere or that carry keys', () => {
    for (const f of bicepFiles()) {
      const text = code(f);
      const present = FORBIDDEN_APP_SETTINGS.filter((name) => new RegExp(`\\b${name}\\b`).test(text));
      expect({ file: relativeName(f), present }).toEqual({ file: relativeName(f), present: [] });
    }
  });

  it('lists every setting in local.settings.sample.json, except those App Service injects and those of a backend the local stack does not run', () => {
    const sample = JSON.parse(readRepoFile('local.settings.sample.json')) as { Values: Record<string, string> };
    const missing = BASE_SETTINGS.filter((s) => !s.injectedByPlatform).map((s) => s.name).filter((name) => !(name in sample.Values));
    expect(missing).toEqual([]);
    expect(SETTINGS.filter((s) => s.injectedByPlatform || s.durableBackend).map((s) => s.name).filter((name) => name in sample.Values)).toEqual([]);
  });

  it('never sets what App Service injects itself (WEBSITE_AUTH_ENABLED): only the platform may say authentication is on', () => {
    const injected = SETTINGS.filter((s) => s.injectedByPlatform).map((s) => s.name);
    expect(injected).toEqual(['WEBSITE_AUTH_ENABLED']);
    // Bicep code (comments may explain it), parameter files, hooks and azure.yaml.
    for (const f of [...listFiles(infraDir).filter((file) => !file.endsWith('.md')), path.join(repoRoot, 'azure.yaml')]) {
      const text = f.endsWith('.bicep') ? code(f) : fs.readFileSync(f, 'utf8');
      expect({ file: relativeName(f), sets: injected.filter((name) => text.includes(name)) }).toEqual({ file: relativeName(f), sets: [] });
    }
  });

  it('makes a key-only caller a Reader in Azure, and names the audit container main.bicep creates', () => {
    expect(stringLiteral(appSettings.BATCHPILOT_OPERATOR_KEY_ROLE)).toBe('Reader');
    expect(exprOf(appSettings.BATCHPILOT_AUDIT_CONTAINER)).toBe('auditContainerName');
    expect(exprOf(moduleParams(mainCode(), 'functionApp').auditContainerName)).toBe('auditContainerName');
    const sample = JSON.parse(readRepoFile('local.settings.sample.json')) as { Values: Record<string, string> };
    expect(params(mainCode()).find((p) => p.name === 'auditContainerName')?.defaultValue).toBe(`'${sample.Values.BATCHPILOT_AUDIT_CONTAINER}'`);
  });

  it('ships routes.yaml as the default routes file, as the local sample does', () => {
    const sample = JSON.parse(readRepoFile('local.settings.sample.json')) as { Values: Record<string, string> };
    expect(exprOf(appSettings.BATCHPILOT_ROUTES_PATH)).toBe('routesPath');
    const routesPath = params(mainCode()).find((p) => p.name === 'routesPath');
    expect(routesPath?.defaultValue).toBe(`'${sample.Values.BATCHPILOT_ROUTES_PATH}'`);
  });
});

describe('role assignments', () => {
  const rbac = appCode('rbac.bicep');
  const main = mainCode();

  it('uses only documented built-in role IDs, under their documented names', () => {
    const roleIds = asObject(parseLiteral(varLiteral(rbac, 'roleIds')));
    const declared = Object.fromEntries(Object.entries(roleIds).map(([name, v]) => [name, stringLiteral(v)]));
    for (const [name, id] of Object.entries(declared)) expect({ name, id }).toEqual({ name, id: DOCUMENTED_BUILT_IN_ROLES[name] });
  });

  it('has no other GUID anywhere under infra/', () => {
    const documented = new Set(Object.values(DOCUMENTED_BUILT_IN_ROLES));
    for (const f of listFiles(infraDir).filter((file) => /\.(bicep|json)$/.test(file))) {
      const guids = [...fs.readFileSync(f, 'utf8').matchAll(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi)].map((m) => m[0].toLowerCase());
      expect({ file: relativeName(f), unknown: guids.filter((g) => !documented.has(g)) }).toEqual({ file: relativeName(f), unknown: [] });
    }
  });

  it('declares role assignments in rbac.bicep only', () => {
    const declaring = bicepFiles().filter((f) => resources(code(f)).some((r) => r.type === 'Microsoft.Authorization/roleAssignments'));
    expect(declaring.map(relativeName)).toEqual(['infra/app/rbac.bicep']);
  });

  it('names every role assignment guid(scope, principal, role) for the scope, principal and role it assigns', () => {
    const assignments = resources(rbac).filter((r) => r.type === 'Microsoft.Authorization/roleAssignments');
    expect(assignments.length).toBeGreaterThanOrEqual(5);
    for (const a of assignments) {
      const scope = /\n\s*scope:\s*(\S+)/.exec(a.body)?.[1];
      const principal = /\n\s*principalId:\s*(\S+)/.exec(a.body)?.[1];
      const roleDefinition = callArguments(/roleDefinitionId:\s*(.+)/.exec(a.body)?.[1] ?? '', 'subscriptionResourceId');
      const name = callArguments(/\n\s*name:\s*(.+)/.exec(a.body)?.[1] ?? '', 'guid');
      expect({ symbol: a.symbol, name }).toEqual({ symbol: a.symbol, name: [`${scope}.id`, principal, roleDefinition?.[1]] });
      expect(roleDefinition?.[0]).toBe("'Microsoft.Authorization/roleDefinitions'");
      expect(roleDefinition?.[1]).toMatch(/^roleIds\[/);
      expect(a.body).toMatch(/\n\s*principalType:\s*\S+/);
    }
  });

  type Grant = string; // 'principal | scope | role'
  function grants(varName: string, scopeOf: (o: { [key: string]: BicepValue }) => string): Grant[] {
    return asArray(parseLiteral(varLiteral(main, varName))).map((item) => {
      const o = asObject(item);
      const role = stringLiteral(o.role);
      expect(Object.keys(DOCUMENTED_BUILT_IN_ROLES)).toContain(role);
      expect(stringLiteral(o.reason)?.length ?? 0).toBeGreaterThan(10);
      return `${exprOf(o.principalId)} | ${scopeOf(o)} | ${role}`;
    });
  }

  it('grants exactly the least-privilege table, container by container where Azure RBAC allows', () => {
    const account = (o: { [key: string]: BicepValue }): string => `account ${exprOf(o.account)}`;
    const container = (o: { [key: string]: BicepValue }): string => `container ${exprOf(o.account)}/${exprOf(o.container)}`;
    const resource = (kind: string) => (o: { [key: string]: BicepValue }): string => `${kind} ${exprOf(o.resource)}`;
    const actual = [
      ...grants('runtimeAccountRoles', account),
      ...grants('runtimeContainerRoles', container),
      ...grants('dataContainerRoles', container),
      ...grants('workspaceRoles', resource('workspace')),
      ...grants('eventGridTopicRoles', resource('topic')),
      ...grants('applicationInsightsRoles', resource('appInsights')),
      ...grants('durableTaskHubRoles', resource('taskHub')),
    ].sort();
    const expected = [
      'appPrincipalId | account runtimeStorageAccountName | storageBlobDataContributor',
      'appPrincipalId | account runtimeStorageAccountName | storageQueueDataContributor',
      'appPrincipalId | account runtimeStorageAccountName | storageTableDataContributor',
      'appPrincipalId | container runtimeStorageAccountName/deploymentContainerName | storageBlobDataOwner',
      'appPrincipalId | container dataAccountName/inputContainerName | storageBlobDataReader',
      'appPrincipalId | container dataAccountName/outputContainerName | storageBlobDataContributor',
      'appPrincipalId | container dataAccountName/runsContainerName | storageBlobDataContributor',
      'appPrincipalId | container dataAccountName/auditContainerName | storageBlobDataContributor',
      'storageTopicPrincipalId | container dataAccountName/deadLetterContainerName | storageBlobDataContributor',
      'workspaceTopicPrincipalId | container dataAccountName/deadLetterContainerName | storageBlobDataContributor',
      'mlComputePrincipalId | container dataAccountName/inputContainerName | storageBlobDataReader',
      'mlComputePrincipalId | container dataAccountName/outputContainerName | storageBlobDataContributor',
      'principalId | container dataAccountName/inputContainerName | storageBlobDataContributor',
      'principalId | container dataAccountName/outputContainerName | storageBlobDataReader',
      'principalId | container dataAccountName/runsContainerName | storageBlobDataReader',
      'principalId | container dataAccountName/auditContainerName | storageBlobDataReader',
      'principalId | container dataAccountName/deadLetterContainerName | storageBlobDataReader',
      'appPrincipalId | workspace workspaceParts[8] | azureMLDataScientist',
      'appPrincipalId | topic eventGrid.outputs.eventsTopicName | eventGridDataSender',
      'appPrincipalId | appInsights monitoring.outputs.applicationInsightsName | monitoringMetricsPublisher',
      'alerts.outputs.identityPrincipalId | appInsights monitoring.outputs.applicationInsightsName | monitoringReader',
      "appPrincipalId | taskHub '${durableTaskSchedulerName}/${taskHubName}' | durableTaskDataContributor",
      "principalId | taskHub '${durableTaskSchedulerName}/${taskHubName}' | durableTaskDataReader",
    ].sort();
    expect(actual).toEqual(expected);
  });

  it('hands each table to the rbac module deployed in the resource group that holds its scopes', () => {
    const expectParams = (symbol: string, expected: Record<string, string>, scope: RegExp): void => {
      const p = moduleParams(main, symbol);
      expect(Object.fromEntries(Object.entries(p).map(([k, v]) => [k, exprOf(v)]))).toEqual(expected);
      expect(moduleDeclaration(main, symbol)).toContain("'app/rbac.bicep'");
      const body = main.slice(main.indexOf(moduleDeclaration(main, symbol)));
      expect(/\n\s*scope:\s*(.+)/.exec(body)?.[1]).toMatch(scope);
    };
    expectParams('rbac', { storageAccountRoles: 'runtimeAccountRoles', containerRoles: 'runtimeContainerRoles', eventGridTopicRoles: 'eventGridTopicRoles', applicationInsightsRoles: 'applicationInsightsRoles', durableTaskHubRoles: 'durableTaskHubRoles' }, /^rg$/);
    expectParams('rbacData', { containerRoles: 'dataContainerRoles' }, /^resourceGroup\(dataAccountParts\[2\], dataAccountParts\[4\]\)$/);
    expectParams('rbacWorkspace', { workspaceRoles: 'workspaceRoles' }, /^resourceGroup\(workspaceParts\[2\], workspaceParts\[4\]\)$/);
  });

  it('drops optional principals that were not given instead of assigning to an empty ID', () => {
    expect(main).toMatch(/var dataContainerRoles = filter\(\[[\s\S]*\], assignment => !empty\(assignment\.principalId\)\)/);
    expect(main).toMatch(/var durableTaskHubRoles = useDurableTaskScheduler \? filter\(\[[\s\S]*\], assignment => !empty\(assignment\.principalId\)\) : \[\]/);
    for (const optional of ['principalId', 'mlComputePrincipalId']) expect(params(main).find((p) => p.name === optional)?.defaultValue).toBe("''");
  });
});

describe('no keys or secrets under infra/', () => {
  const everyInfraFile = (): string[] => [...listFiles(infraDir), path.join(repoRoot, 'azure.yaml')];
  const SECRET_PATTERNS: Array<[string, RegExp]> = [
    ['listKeys', /listKeys/i],
    ['a list*() call (keys, SAS, secrets, credentials)', /\blist(Keys|AccountSas|ServiceSas|Secrets|Credentials?|ConnectionStrings)\s*\(/i],
    ['an account key', /AccountKey\s*=/i],
    ['a keyed connection string', /DefaultEndpointsProtocol\s*=/i],
    ['a shared access key', /SharedAccessKey(Name)?\s*=/i],
    ['a SAS signature', /[?&]sig=|SharedAccessSignature/i],
    ['an instrumentation key', /InstrumentationKey/i],
    ['a secure parameter', /@secure\(\)/],
    ['a password', /password\s*[:=]/i],
  ];

  it('contains no listKeys, account keys, keyed connection strings, SAS or secrets', () => {
    for (const f of everyInfraFile()) {
      const text = fs.readFileSync(f, 'utf8');
      const found = SECRET_PATTERNS.filter(([, re]) => re.test(text)).map(([what]) => what);
      expect({ file: relativeName(f), found }).toEqual({ file: relativeName(f), found: [] });
    }
  });

  it('reads no connection string except Application Insights\' key-less one', () => {
    // The Durable Task Scheduler's override names a setting; the setting holds an endpoint and a client ID.
    const allowed = ['applicationInsights.properties.ConnectionString', 'AzureFunctionsJobHost__extensions__durableTask__storageProvider__connectionStringName'];
    for (const f of bicepFiles()) {
      const uses = [...code(f).matchAll(/[\w.]*connectionString\w*/gi)].map((m) => m[0]);
      expect({ file: relativeName(f), uses: uses.filter((u) => !allowed.includes(u)) }).toEqual({ file: relativeName(f), uses: [] });
    }
  });

  it('disables shared keys on storage and local auth on Event Grid, Application Insights and Log Analytics', () => {
    const storage = appCode('storage.bicep');
    expect(storage).toMatch(/\ballowSharedKeyAccess:\s*false\b/);
    expect(storage).toMatch(/\ballowBlobPublicAccess:\s*false\b/);
    for (const f of bicepFiles()) {
      expect({ file: relativeName(f), enables: /allowSharedKeyAccess:(?!\s*false\b)/.test(code(f)) || /disableLocalAuth:(?!\s*true\b)/i.test(code(f)) }).toEqual({ file: relativeName(f), enables: false });
    }
    const eventGrid = resources(appCode('eventGrid.bicep')).find((r) => r.type === 'Microsoft.EventGrid/topics');
    expect(eventGrid?.body).toMatch(/\bdisableLocalAuth:\s*true\b/);
    const monitoring = resources(appCode('monitoring.bicep'));
    expect(monitoring.find((r) => r.type === 'Microsoft.Insights/components')?.body).toMatch(/\bDisableLocalAuth:\s*true\b/);
    expect(monitoring.find((r) => r.type === 'Microsoft.OperationalInsights/workspaces')?.body).toMatch(/\bdisableLocalAuth:\s*true\b/);
  });

  it('creates every storage account through storage.bicep, so none escapes those settings', () => {
    const creating = bicepFiles().filter((f) => resources(code(f)).some((r) => r.type === 'Microsoft.Storage/storageAccounts' && !r.existing));
    expect(creating.map(relativeName)).toEqual(['infra/app/storage.bicep']);
  });

  it('turns off publishing user names and passwords for the function app', () => {
    const policies = resources(appCode('functionApp.bicep')).filter((r) => r.type === 'Microsoft.Web/sites/basicPublishingCredentialsPolicies');
    expect(policies.map((p) => /name:\s*'(\w+)'/.exec(p.body)?.[1]).sort()).toEqual(['ftp', 'scm']);
    for (const p of policies) expect(p.body).toMatch(/allow:\s*false/);
  });
});

describe('Flex Consumption function app', () => {
  const functionApp = appCode('functionApp.bicep');
  const site = resources(functionApp).find((r) => r.type === 'Microsoft.Web/sites');
  const plan = resources(functionApp).find((r) => r.type === 'Microsoft.Web/serverfarms');

  it('runs Node 20 on an FC1 plan, with deployment storage reached by the user-assigned identity', () => {
    expect(plan?.body).toMatch(/tier:\s*'FlexConsumption'/);
    expect(plan?.body).toMatch(/name:\s*'FC1'/);
    expect(site?.body).toMatch(/kind:\s*'functionapp,linux'/);
    expect(site?.body).toMatch(/functionAppConfig:\s*\{/);
    expect(site?.body).toMatch(/runtime:\s*\{\s*name:\s*'node'\s*version:\s*'20'\s*\}/);
    expect(site?.body).toMatch(/authentication:\s*\{\s*type:\s*'UserAssignedIdentity'\s*userAssignedIdentityResourceId:\s*identityId\s*\}/);
    expect(site?.body).toMatch(/maximumInstanceCount:\s*maximumInstanceCount/);
    expect(site?.body).toMatch(/instanceMemoryMB:\s*instanceMemoryMB/);
    expect(site?.body).toMatch(/type:\s*'UserAssigned'/);
    expect(site?.body).not.toMatch(/linuxFxVersion/);
  });

  it('carries the azd-service-name tag of the azure.yaml service', () => {
    expect(site?.body).toMatch(/'azd-service-name':\s*'api'/);
  });

  it('turns on App Service authentication: Entra ID, authentication required, 401 for API calls without it', () => {
    const auth = resources(functionApp).filter((r) => r.type === 'Microsoft.Web/sites/config' && /\bname:\s*'authsettingsV2'/.test(r.body));
    expect(auth).toHaveLength(1);
    const properties = asObject(asObject(parseLiteral(auth[0].body)).properties);
    expect(exprOf(asObject(properties.platform).enabled)).toBe('true');
    const validation = asObject(properties.globalValidation);
    expect(exprOf(validation.requireAuthentication)).toBe('true');
    expect(stringLiteral(validation.unauthenticatedClientAction)).toBe('Return401');
    // Only what must work without a signed-in user: Event Grid's deliveries (they carry the system key)
    // and the dashboard's page and assets (they hold no data; the page offers the sign-in).
    const excluded = asArray(validation.excludedPaths).map((p) => stringLiteral(p));
    expect(excluded).toContain('/runtime/webhooks/eventgrid');
    for (const p of excluded) expect({ path: p, allowed: p === '/runtime/webhooks/eventgrid' || /^\/api\/ops\/dashboard(\/(index\.html|dashboard\.js|dashboard\.css)?)?$/.test(p ?? '') }).toEqual({ path: p, allowed: true });
    expect(exprOf(properties.identityProviders)).toBe('empty(operatorAppClientId) ? {} : entraIdProvider');
    const entra = asObject(asObject(parseLiteral(varLiteral(functionApp, 'entraIdProvider'))).azureActiveDirectory);
    expect(exprOf(entra.enabled)).toBe('true');
    expect(exprOf(asObject(entra.registration).clientId)).toBe('operatorAppClientId');
    expect(exprOf(asObject(entra.registration).openIdIssuer)).toBe("'${environment().authentication.loginEndpoint}${tenant().tenantId}/v2.0'");
    expect(asArray(asObject(entra.validation).allowedAudiences).map(exprOf)).toEqual(['operatorAppClientId', "'api://${operatorAppClientId}'"]);
    expect(exprOf(moduleParams(mainCode(), 'functionApp').operatorAppClientId)).toBe('operatorAppClientId');
    const parameters = JSON.parse(readRepoFile('infra/main.parameters.json')) as { parameters: Record<string, { value: string }> };
    expect(parameters.parameters.operatorAppClientId.value).toBe('${BATCHPILOT_OPERATOR_APP_CLIENT_ID}');
  });

  it('keeps private networking off unless asked for', () => {
    const main = mainCode();
    expect(params(main).find((p) => p.name === 'enablePrivateNetworking')?.defaultValue).toBe('false');
    expect(moduleDeclaration(main, 'network')).toMatch(/'app\/network\.bicep' = if \(enablePrivateNetworking\)/);
    expect(appCode('network.bicep')).toMatch(/serviceName:\s*'Microsoft\.App\/environments'/);
  });
});

describe('azure.yaml and infra/main.parameters.json', () => {
  const azureYaml = parseYaml(readRepoFile('azure.yaml')) as {
    services: Record<string, { project: string; language: string; host: string }>;
    hooks?: Record<string, Record<string, { shell: string; run: string }>>;
    requiredVersions?: { azd?: string };
  };
  const parameters = JSON.parse(readRepoFile('infra/main.parameters.json')) as { parameters: Record<string, { value: unknown }> };
  const declared = params(mainCode());

  it('declares the service api: TypeScript on Azure Functions, from the repository root', () => {
    expect(Object.keys(azureYaml.services)).toEqual(['api']);
    expect(azureYaml.services.api).toEqual(expect.objectContaining({ project: '.', language: 'ts', host: 'function' }));
  });

  it('requires an azd whose `down` leaves resource groups it did not create alone', () => {
    expect(azureYaml.requiredVersions?.azd).toMatch(/>=\s*1\.(2[4-9]|[3-9]\d)\./);
  });

  it('runs the postdeploy hook on both shells, with scripts that exist', () => {
    const postdeploy = azureYaml.hooks?.postdeploy ?? {};
    expect(Object.keys(postdeploy).sort()).toEqual(['posix', 'windows']);
    expect(postdeploy.posix.shell).toBe('sh');
    expect(postdeploy.windows.shell).toBe('pwsh');
    for (const hook of Object.values(postdeploy)) expect(fs.existsSync(path.join(repoRoot, hook.run))).toBe(true);
  });

  it('takes environment, location and principal from azd', () => {
    expect(parameters.parameters.environmentName.value).toBe('${AZURE_ENV_NAME}');
    expect(parameters.parameters.location.value).toBe('${AZURE_LOCATION}');
    expect(parameters.parameters.principalId.value).toBe('${AZURE_PRINCIPAL_ID}');
  });

  it('fills every parameter from an azd environment variable, and only parameters main.bicep declares', () => {
    for (const [name, p] of Object.entries(parameters.parameters)) {
      expect({ name, declared: declared.some((d) => d.name === name) }).toEqual({ name, declared: true });
      expect({ name, value: p.value }).toEqual({ name, value: expect.stringMatching(/^\$\{[A-Z][A-Z0-9_]*(=[^}]*)?\}$/) });
    }
  });

  it('provides every main.bicep parameter that has no default', () => {
    const required = declared.filter((d) => d.defaultValue === undefined).map((d) => d.name);
    expect(required.sort()).toEqual(['environmentName', 'location', 'mlWorkspaceId']);
    for (const name of required) expect(Object.keys(parameters.parameters)).toContain(name);
  });
});

describe('structure', () => {
  it('references only module files and JSON files that exist', () => {
    for (const f of bicepFiles()) {
      const text = code(f);
      const refs = [...text.matchAll(/^module\s+\w+\s+'([^']+)'/gm), ...text.matchAll(/loadJsonContent\('([^']+)'\)/g)].map((m) => m[1]);
      for (const ref of refs) expect({ from: relativeName(f), ref, exists: fs.existsSync(path.join(path.dirname(f), ref)) }).toEqual({ from: relativeName(f), ref, exists: true });
    }
  });

  it('wires every module main.bicep declares, each in a resource group scope', () => {
    const main = mainCode();
    const modules = [...main.matchAll(/^module\s+(\w+)\s+'app\/(\w+)\.bicep'/gm)].map((m) => m[2]);
    expect(new Set(modules)).toEqual(new Set(['identity', 'monitoring', 'storage', 'containers', 'eventGrid', 'network', 'functionApp', 'rbac', 'eventSubscriptions', 'durableTaskScheduler', 'auditContainer', 'alerts']));
    expect(main).toMatch(/^targetScope = 'subscription'$/m);
    expect(resources(main).find((r) => r.type === 'Microsoft.Resources/resourceGroups')?.body).toMatch(/tags:\s*tags/);
    expect(main).toMatch(/'azd-env-name':\s*environmentName/);
  });
});

interface DeclaredSubscription {
  name: string;
  topic: string;
  destination: { endpointType: string; properties: { functionName?: string; resourceId?: string } };
  filter?: { includedEventTypes?: string[] | null; subjectBeginsWith?: string; advancedFilters?: Array<{ operatorType: string; key: string; values?: unknown[] }> };
  retryPolicy?: unknown;
  deadLetterDestination?: { properties: { blobContainerName: string } };
}

describe('Event Grid subscriptions: one declaration for Azure and the local emulator', () => {
  const declarationFile = path.join(infraDir, 'eventSubscriptions.json');
  const declaration = JSON.parse(fs.readFileSync(declarationFile, 'utf8')) as { topics: Array<{ name: string; inputSchema: string }>; subscriptions: DeclaredSubscription[] };
  const byFunction = (fn: string): DeclaredSubscription | undefined => declaration.subscriptions.find((s) => s.destination.properties.functionName === fn);

  it('is a valid local emulator subscriptions file', async () => {
    const { parseEventGridLocalConfig } = await import('@batchpilot/eventgrid-emulator');
    const parsed = parseEventGridLocalConfig(declaration, relativeName(declarationFile));
    expect(parsed.subscriptions.map((s) => s.name).sort()).toEqual(['intake-ml-events', 'intake-storage-events']);
  });

  it('sends only completed blob writes under the input container to intakeStorageEvents', () => {
    const storage = byFunction('intakeStorageEvents');
    expect(storage?.topic).toBe('storage');
    expect(storage?.destination.endpointType).toBe('AzureFunction');
    expect(storage?.filter?.includedEventTypes).toEqual(['Microsoft.Storage.BlobCreated']);
    expect(storage?.filter?.advancedFilters).toEqual([{ operatorType: 'StringIn', key: 'data.api', values: ['PutBlob', 'PutBlockList', 'CopyBlob', 'FlushWithClose'] }]);
    const input = params(mainCode()).find((p) => p.name === 'inputContainerName')?.defaultValue;
    expect(`'${storage?.filter?.subjectBeginsWith}'`).toBe(`'/blobServices/default/containers/${input?.replace(/'/g, '')}/blobs/'`);
  });

  it('sends ModelRegistered, RunCompleted and RunStatusChanged from the workspace to intakeMlEvents', () => {
    const ml = byFunction('intakeMlEvents');
    expect(ml?.topic).toBe('workspace');
    expect(ml?.destination.endpointType).toBe('AzureFunction');
    expect([...(ml?.filter?.includedEventTypes ?? [])].sort()).toEqual([
      'Microsoft.MachineLearningServices.ModelRegistered',
      'Microsoft.MachineLearningServices.RunCompleted',
      'Microsoft.MachineLearningServices.RunStatusChanged',
    ]);
  });

  it('declares only subscriptions infra creates, all dead-lettering to the one container infra creates', () => {
    expect(new Set(declaration.subscriptions.map((s) => s.topic))).toEqual(new Set(['storage', 'workspace']));
    const containers = new Set(declaration.subscriptions.map((s) => s.deadLetterDestination?.properties.blobContainerName));
    expect(containers.size).toBe(1);
    const main = mainCode();
    expect(main).toMatch(/var deadLetterContainerName = eventGridDeclarations\.subscriptions\[0\]\.deadLetterDestination\.properties\.blobContainerName/);
    expect(main).toMatch(/containerNames: union\(\[inputContainerName, outputContainerName, runsContainerName\], \[deadLetterContainerName\]\)/);
  });

  it('declares batchpilot\'s own topic with the CloudEvents schema, as infra creates it', () => {
    expect(declaration.topics).toEqual([{ name: 'batchpilot-events', inputSchema: 'CloudEventSchemaV1_0' }]);
    const topic = resources(appCode('eventGrid.bicep')).find((r) => r.type === 'Microsoft.EventGrid/topics');
    expect(topic?.body).toMatch(/inputSchema:\s*'CloudEventSchemaV1_0'/);
  });

  it('is what main.bicep loads and hands to each system topic\'s subscriptions module', () => {
    const main = mainCode();
    expect(main).toMatch(/var eventGridDeclarations = loadJsonContent\('eventSubscriptions\.json'\)/);
    expect(main).toMatch(/var storageSubscriptions = filter\(eventGridDeclarations\.subscriptions, s => s\.topic == 'storage'\)/);
    expect(main).toMatch(/var workspaceSubscriptions = filter\(eventGridDeclarations\.subscriptions, s => s\.topic == 'workspace'\)/);
    expect(exprOf(moduleParams(main, 'storageEventSubscriptions').subscriptions)).toBe('storageSubscriptions');
    expect(exprOf(moduleParams(main, 'workspaceEventSubscriptions').subscriptions)).toBe('workspaceSubscriptions');
  });

  it('copies every declared filter, retry policy and destination into the ARM subscription', () => {
    const module = resources(appCode('eventSubscriptions.bicep')).find((r) => r.type === 'Microsoft.EventGrid/systemTopics/eventSubscriptions');
    const body = module?.body ?? '';
    expect(body).toMatch(/\[for declared in subscriptions:/);
    expect(body).toMatch(/endpointType:\s*'AzureFunction'/);
    expect(body).toMatch(/resourceId:\s*'\$\{functionAppId\}\/functions\/\$\{declared\.destination\.properties\.functionName\}'/);
    expect(body).toMatch(/includedEventTypes:\s*declared\.filter\.includedEventTypes/);
    expect(body).toMatch(/advancedFilters:\s*declared\.filter\.\?advancedFilters/);
    expect(body).toMatch(/subjectBeginsWith:\s*empty\(subjectBeginsWithOverride\) \? \(declared\.filter\.\?subjectBeginsWith \?\? ''\) : subjectBeginsWithOverride/);
    expect(body).toMatch(/maxDeliveryAttempts:\s*declared\.retryPolicy\.maxDeliveryAttempts/);
    expect(body).toMatch(/eventDeliverySchema:\s*declared\.\?eventDeliverySchema/);
  });

  it('dead-letters with the system topic\'s own identity, never a key', () => {
    const body = resources(appCode('eventSubscriptions.bicep')).find((r) => r.type === 'Microsoft.EventGrid/systemTopics/eventSubscriptions')?.body ?? '';
    expect(body).toMatch(/deadLetterWithResourceIdentity:\s*\{\s*identity:\s*\{\s*type:\s*'SystemAssigned'\s*\}/);
    expect(body).toMatch(/blobContainerName:\s*declared\.deadLetterDestination\.properties\.blobContainerName/);
    // The only dead-letter destination is the one inside deadLetterWithResourceIdentity.
    expect(body.match(/deadLetterDestination:/g)).toHaveLength(1);
    expect(body.indexOf('deadLetterDestination:')).toBeGreaterThan(body.indexOf('deadLetterWithResourceIdentity:'));
    for (const topic of resources(appCode('eventGrid.bicep')).filter((r) => r.type === 'Microsoft.EventGrid/systemTopics')) {
      expect(topic.body).toMatch(/identity:\s*\{\s*type:\s*'SystemAssigned'\s*\}/);
    }
  });

  it('creates the subscriptions only behind deployEventSubscriptions, which the postdeploy hook turns on and off again', () => {
    const main = mainCode();
    expect(params(main).find((p) => p.name === 'deployEventSubscriptions')?.defaultValue).toBe('false');
    for (const symbol of ['storageEventSubscriptions', 'workspaceEventSubscriptions']) {
      expect(moduleDeclaration(main, symbol)).toMatch(/'app\/eventSubscriptions\.bicep' = if \(deployEventSubscriptions\)/);
    }
    const parameters = JSON.parse(readRepoFile('infra/main.parameters.json')) as { parameters: Record<string, { value: string }> };
    expect(parameters.parameters.deployEventSubscriptions.value).toBe('${DEPLOY_EVENT_SUBSCRIPTIONS=false}');
    const sh = readRepoFile('infra/hooks/postdeploy.sh');
    expect(sh).toMatch(/^#!\/bin\/sh/);
    expect(sh).toMatch(/azd env set DEPLOY_EVENT_SUBSCRIPTIONS true\n/);
    expect(sh).toMatch(/trap 'azd env set DEPLOY_EVENT_SUBSCRIPTIONS false/);
    expect(sh).toMatch(/azd provision --no-prompt/);
    const ps1 = readRepoFile('infra/hooks/postdeploy.ps1');
    expect(ps1).toMatch(/azd env set DEPLOY_EVENT_SUBSCRIPTIONS true/);
    expect(ps1).toMatch(/finally \{\s*azd env set DEPLOY_EVENT_SUBSCRIPTIONS false/);
    expect(ps1).toMatch(/azd provision --no-prompt/);
  });

  it('agrees with any other local declaration of the intake subscriptions in the repository', () => {
    const skip = new Set(['node_modules', 'dist', '.git', 'coverage', '.azurite', '.local', 'infra']);
    const walk = (dir: string): string[] =>
      fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => (skip.has(e.name) ? [] : e.isDirectory() ? walk(path.join(dir, e.name)) : e.name.endsWith('.json') ? [path.join(dir, e.name)] : []));
    const comparable = (s: DeclaredSubscription): unknown => ({ topic: s.topic, filter: s.filter, retryPolicy: s.retryPolicy, deadLetter: s.deadLetterDestination?.properties.blobContainerName });
    for (const file of walk(repoRoot)) {
      let other: { subscriptions?: DeclaredSubscription[] };
      try {
        other = JSON.parse(fs.readFileSync(file, 'utf8')) as { subscriptions?: DeclaredSubscription[] };
      } catch {
        continue;
      }
      for (const s of Array.isArray(other?.subscriptions) ? other.subscriptions : []) {
        const fn = s?.destination?.properties?.functionName ?? /\/functions\/([^/]+)$/.exec(s?.destination?.properties?.resourceId ?? '')?.[1];
        const ours = fn ? byFunction(fn) : undefined;
        if (ours) expect({ file: relativeName(file), subscription: comparable(s) }).toEqual({ file: relativeName(file), subscription: comparable(ours) });
      }
    }
  });
});

describe('the audit container', () => {
  const main = mainCode();

  it('is created with a time-based immutability policy: records cannot be overwritten or deleted while retained', () => {
    const module = fs.existsSync(path.join(appDir, 'auditContainer.bicep')) ? appCode('auditContainer.bicep') : '';
    const container = resources(module).find((r) => r.type === 'Microsoft.Storage/storageAccounts/blobServices/containers' && !r.existing);
    expect(container?.body).toMatch(/name:\s*containerName/);
    expect(container?.body).toMatch(/publicAccess:\s*'None'/);
    const policy = resources(module).find((r) => r.type === 'Microsoft.Storage/storageAccounts/blobServices/containers/immutabilityPolicies');
    expect(policy?.body).toMatch(/parent:\s*container\b/);
    expect(policy?.body).toMatch(/name:\s*'default'/);
    expect(policy?.body).toMatch(/immutabilityPeriodSinceCreationInDays:\s*retentionInDays/);
    expect(policy?.body).toMatch(/allowProtectedAppendWrites:\s*false/);
  });

  it('is wired from main.bicep on the data account, with its retention from the azd environment', () => {
    expect(moduleDeclaration(main, 'auditContainer')).toContain("'app/auditContainer.bicep'");
    const p = moduleParams(main, 'auditContainer');
    expect(Object.fromEntries(Object.entries(p).map(([k, v]) => [k, exprOf(v)]))).toEqual({ accountName: 'dataAccountName', containerName: 'auditContainerName', retentionInDays: 'auditRetentionInDays' });
    const body = main.slice(main.indexOf(moduleDeclaration(main, 'auditContainer')));
    expect(/\n\s*scope:\s*(.+)/.exec(body)?.[1]).toBe('resourceGroup(dataAccountParts[2], dataAccountParts[4])');
    const parameters = JSON.parse(readRepoFile('infra/main.parameters.json')) as { parameters: Record<string, { value: string }> };
    expect(parameters.parameters.auditRetentionInDays.value).toBe('${BATCHPILOT_AUDIT_RETENTION_DAYS=365}');
  });
});

describe('Durable backend: Azure Storage by default, the Durable Task Scheduler on request', () => {
  const main = mainCode();
  const scheduler = (): string => appCode('durableTaskScheduler.bicep');
  const baseNames = (): string[] => Object.keys(asObject(parseLiteral(varLiteral(appCode('functionApp.bicep'), 'appSettings'))));

  it('is chosen with BATCHPILOT_DURABLE_BACKEND: storage (the default) or dts, with the scheduler\'s SKU and capacity beside it', () => {
    const parameters = JSON.parse(readRepoFile('infra/main.parameters.json')) as { parameters: Record<string, { value: string }> };
    expect(parameters.parameters.durableBackend.value).toBe('${BATCHPILOT_DURABLE_BACKEND=storage}');
    expect(parameters.parameters.durableTaskSchedulerSku.value).toBe('${BATCHPILOT_DTS_SKU=Consumption}');
    expect(parameters.parameters.durableTaskSchedulerCapacity.value).toBe('${BATCHPILOT_DTS_CAPACITY=1}');
    expect(params(main).find((p) => p.name === 'durableBackend')?.defaultValue).toBe("'storage'");
    expect(main).toMatch(/@allowed\(\['storage', 'dts'\]\)\nparam durableBackend string = 'storage'/);
  });

  it('with storage: no scheduler, no task hub role, and exactly the settings every deployment carries', () => {
    const storage = durableDeployment('storage');
    expect(storage.schedulerDeployed).toBe(false);
    expect(storage.taskHubRoles).toEqual([]);
    const names = Object.keys(storage.appSettings);
    expect(names.filter((n) => DTS_SETTINGS.some((s) => s.name === n) || /durableTask|DURABLE_TASK/i.test(n))).toEqual([]);
    expect(names).toEqual(baseNames());
  });

  it('with dts: the scheduler and its task hub, the data role for the app on that task hub, and the settings that switch the backend', () => {
    const dts = durableDeployment('dts');
    expect(dts.schedulerDeployed).toBe(true);
    expect([...Object.keys(dts.appSettings)].sort()).toEqual([...baseNames(), ...DTS_SETTINGS.map((s) => s.name)].sort());
    expect(dts.appSettings.AzureFunctionsJobHost__extensions__durableTask__storageProvider__type).toEqual({ expr: "'azureManaged'" });
    expect(dts.appSettings.AzureFunctionsJobHost__extensions__durableTask__storageProvider__connectionStringName).toEqual({ expr: "'DURABLE_TASK_SCHEDULER_CONNECTION_STRING'" });
    expect(dts.appSettings.DURABLE_TASK_SCHEDULER_CONNECTION_STRING).toEqual({ expr: "'Endpoint=${durableTaskSchedulerEndpoint};Authentication=ManagedIdentity;ClientID=${identityClientId}'" });
    const app = dts.taskHubRoles.find((r) => exprOf(r.principalId) === 'appPrincipalId');
    expect(app && { resource: exprOf(app.resource), role: stringLiteral(app.role), type: stringLiteral(app.principalType) }).toEqual({
      resource: "'${durableTaskSchedulerName}/${taskHubName}'",
      role: 'durableTaskDataContributor',
      type: 'ServicePrincipal',
    });
  });

  it('connects the app to the scheduler it deploys, with the task hub host.json names', () => {
    expect(exprOf(moduleParams(main, 'functionApp').durableTaskSchedulerEndpoint)).toBe("useDurableTaskScheduler ? durableTaskScheduler.outputs.endpoint : ''");
    expect(scheduler()).toMatch(/^output endpoint string = scheduler\.properties\.endpoint$/m);
    const p = moduleParams(main, 'durableTaskScheduler');
    expect(exprOf(p.name)).toBe('durableTaskSchedulerName');
    expect(exprOf(p.taskHubName)).toBe('taskHubName');
    expect(exprOf(moduleParams(main, 'functionApp').taskHubName)).toBe('taskHubName');
    expect(varExpression(main, 'durableTaskSchedulerName')).toBe("'${abbrs.durableTaskSchedulers}${resourceToken}'");
    expect(/^\s*scope:\s*(\S+)/m.exec(main.slice(main.indexOf(moduleDeclaration(main, 'durableTaskScheduler'))))?.[1]).toBe('rg');
    const hostJson = JSON.parse(readRepoFile('host.json')) as { extensions: { durableTask: { hubName: string; storageProvider?: unknown } } };
    expect(hostJson.extensions.durableTask.hubName).toBe('%BATCHPILOT_TASK_HUB%');
    // The backend is switched by app settings only: host.json is the same file locally and for both backends.
    expect(hostJson.extensions.durableTask.storageProvider).toBeUndefined();
  });

  it('declares the scheduler and task hub in durableTaskScheduler.bicep only, at the GA API version, with a SKU and an allow list', () => {
    const declaring = bicepFiles().filter((f) => resources(code(f)).some((r) => r.type.startsWith('Microsoft.DurableTask/') && !r.existing));
    expect(declaring.map(relativeName)).toEqual(['infra/app/durableTaskScheduler.bicep']);
    const versions = [...scheduler().matchAll(/^resource\s+(\w+)\s+'(Microsoft\.DurableTask\/[^'@]+)@([^']+)'/gm)].map((m) => [m[1], m[2], m[3]]);
    expect(versions).toEqual([
      ['scheduler', 'Microsoft.DurableTask/schedulers', '2025-11-01'],
      ['taskHub', 'Microsoft.DurableTask/schedulers/taskHubs', '2025-11-01'],
    ]);
    const body = resources(scheduler()).find((r) => r.symbol === 'scheduler')?.body ?? '';
    expect(body).toMatch(/ipAllowlist:\s*ipAllowlist/);
    expect(body).toMatch(/sku:\s*\{\s*name:\s*skuName\s*capacity:\s*skuName == 'Dedicated' \? capacity : null\s*\}/);
    // An empty allow list refuses every caller; the default admits any address, and Entra ID decides.
    expect(params(scheduler()).find((p) => p.name === 'ipAllowlist')?.defaultValue).toBe("['0.0.0.0/0']");
    expect(scheduler()).toMatch(/@allowed\(\['Consumption', 'Dedicated'\]\)\nparam skuName string/);
    expect(main).toMatch(/@allowed\(\['Consumption', 'Dedicated'\]\)\nparam durableTaskSchedulerSku string = 'Consumption'/);
    expect(main).toMatch(/@minValue\(1\)\n@maxValue\(3\)\nparam durableTaskSchedulerCapacity int = 1/);
    const hub = resources(scheduler()).find((r) => r.symbol === 'taskHub')?.body ?? '';
    expect(hub).toMatch(/parent:\s*scheduler\b/);
    expect(hub).toMatch(/name:\s*taskHubName\b/);
  });

  it('assigns the task hub roles in rbac.bicep, on the task hub rather than the whole scheduler', () => {
    const rbac = appCode('rbac.bicep');
    const hubs = resources(rbac).find((r) => r.type === 'Microsoft.DurableTask/schedulers/taskHubs');
    expect(hubs?.existing).toBe(true);
    expect(hubs?.body).toMatch(/^\[for assignment in durableTaskHubRoles:/);
    const assignment = resources(rbac).find((r) => r.type === 'Microsoft.Authorization/roleAssignments' && /durableTaskHubRoles/.test(r.body));
    expect(assignment?.body).toMatch(/scope:\s*taskHubs\[i\]/);
    expect(moduleDeclaration(main, 'durableTaskScheduler')).toMatch(/= if \(useDurableTaskScheduler\)/);
    expect(main.slice(main.indexOf(moduleDeclaration(main, 'rbac')))).toMatch(/^module rbac[\s\S]*?dependsOn:\s*\[[^\]]*\bdurableTaskScheduler\b[^\]]*\]/);
  });

  it('loads the provider from the stable extension bundle, whose 4.x range admits 4.30.0, the first to carry it', () => {
    const bundle = (JSON.parse(readRepoFile('host.json')) as { extensionBundle: { id: string; version: string } }).extensionBundle;
    expect(bundle.id).toBe('Microsoft.Azure.Functions.ExtensionBundle');
    const range = /^\[(\d+)\.(\*|\d+(?:\.\d+)?), *(\d+)\.(\d+)\.(\d+)\)$/.exec(bundle.version);
    expect(range).not.toBeNull();
    const [, lowMajor, lowMinor, highMajor, highMinor] = range ?? [];
    expect(Number(lowMajor)).toBe(4);
    expect(lowMinor === '*' || Number(lowMinor.split('.')[0]) <= 30).toBe(true);
    expect(Number(highMajor) > 4 || (Number(highMajor) === 4 && Number(highMinor) > 30)).toBe(true);
  });

  it('outputs the task hub\'s dashboard address, empty with the storage backend', () => {
    expect(main).toMatch(/^output BATCHPILOT_DURABLE_TASK_HUB_DASHBOARD_URL string = useDurableTaskScheduler \? durableTaskScheduler\.outputs\.dashboardUrl : ''$/m);
    expect(scheduler()).toMatch(/^output dashboardUrl string = taskHub\.properties\.dashboardUrl$/m);
  });
});

describe('infra/DEPLOY.md', () => {
  const deploy = readRepoFile('infra/DEPLOY.md');

  it('covers prerequisites, azd up, the routes file, watching events, the dashboard and tearing down', () => {
    for (const needed of ['### Prerequisites', 'azd up', 'routes.yaml', 'BATCHPILOT_ROUTES_PATH', 'dashboard', 'az monitor', 'azd down --purge', 'postdeploy']) {
      expect({ needed, present: deploy.includes(needed) }).toEqual({ needed, present: true });
    }
  });

  it('explains the operators\' app registration: the Reader and Operator app roles, how to define and assign them', () => {
    for (const needed of ['BATCHPILOT_OPERATOR_APP_CLIENT_ID', '"value": "Reader"', '"value": "Operator"', 'appRoleAssignedTo', 'BATCHPILOT_OPERATOR_KEY_ROLE', 'authsettingsV2', 'BATCHPILOT_AUDIT_RETENTION_DAYS']) {
      expect({ needed, present: deploy.includes(needed) }).toEqual({ needed, present: true });
    }
  });

  it('says plainly that none of it has been deployed from here', () => {
    expect(deploy).toMatch(/Not deployed from here/);
  });

  it('explains when to choose the Durable Task Scheduler, how, what it costs in roles, and that it was not deployed either', () => {
    for (const needed of ['BATCHPILOT_DURABLE_BACKEND', 'BATCHPILOT_DTS_SKU', 'BATCHPILOT_DTS_CAPACITY', 'Durable Task Data Contributor', 'DURABLE_TASK_SCHEDULER_CONNECTION_STRING', '4.30.0']) {
      expect({ needed, present: deploy.includes(needed) }).toEqual({ needed, present: true });
    }
    const section = deploy.slice(deploy.indexOf('### Durable backend'));
    expect(section).toMatch(/not (been )?deployed from here/i);
    const readme = readRepoFile('README.md');
    expect(readme).toMatch(/BATCHPILOT_DURABLE_BACKEND/);
    expect(readme).toMatch(/infra\/DEPLOY\.md#durable-backend/);
  });

  it('explains the Azure ML compute identity\'s access to inputs, as main.bicep\'s output does', () => {
    expect(deploy).toMatch(/compute cluster's\*\* managed identity/);
    expect(mainCode()).toMatch(/^output BATCHPILOT_ML_COMPUTE_ACCESS_NOTE string = /m);
  });
});

describe('alerts (infra/app/alerts.bicep)', () => {
  const text = appCode('alerts.bicep');
  const queries = asArray(parseLiteral(varLiteral(text, 'queries'))).map(asObject);
  const byName = new Map(queries.map((q) => [stringLiteral(q.name), q]));
  /** A string that may interpolate (`'...${x}...'`), as written between its quotes. */
  const written = (v: BicepValue | undefined): string => exprOf(v).replace(/^'|'$/g, '');
  const queryOf = (name: string): string => written(byName.get(name)!.query);
  const telemetrySource = readRepoFile('src/azure/runTelemetry.ts');

  it('has one scheduled query per condition: failed runs, validation failures, stuck runs, SLO burn rate', () => {
    expect([...byName.keys()]).toEqual(['failed-runs', 'validation-failures', 'stuck-runs', 'slo-burn-rate']);
    expect(queries.map((q) => [stringLiteral(q.name), exprOf(q.threshold)])).toEqual([['failed-runs', '0'], ['validation-failures', '0'], ['stuck-runs', '0'], ['slo-burn-rate', 'burnRateThreshold']]);
    expect(params(text).find((p) => p.name === 'burnRateThreshold')?.defaultValue).toBe('2');
  });

  it('reads the metric names and dimensions the app sends (src/azure/runTelemetry.ts)', () => {
    expect(stringLiteral({ expr: /^var runsMetric = (.+)$/m.exec(text)![1] })).toBe(RUN_METRICS.runs);
    expect(stringLiteral({ expr: /^var stuckMetric = (.+)$/m.exec(text)![1] })).toBe(RUN_METRICS.stuckRuns);
    for (const q of queries) {
      const kql = written(q.query);
      expect(kql).toMatch(/^customMetrics \| where name == "\$\{(runsMetric|stuckMetric)\}"/);
      const dimensions = [...kql.matchAll(/customDimensions\.(\w+)/g)].map((m) => m[1]);
      // route, kind and outcome on every metric; validation and the route's objective on the run counter.
      for (const d of dimensions) expect({ dimension: d, sent: ['route', 'kind', 'outcome'].includes(d) || new RegExp(`\\b${d}:`).test(telemetrySource) }).toEqual({ dimension: d, sent: true });
      const measure = stringLiteral(q.measure)!;
      expect(kql).toMatch(new RegExp(`\\b${measure} = `));
      for (const d of asArray(q.dimensions).map((v) => stringLiteral(v)!)) expect(kql).toMatch(new RegExp(`by [\\w, ]*\\b${d}\\b`));
    }
  });

  it('counts as failures the outcomes the app counts as failures, and burns the budget as route health does', () => {
    expect(queryOf('failed-runs')).toContain('outcome in ("Failed", "RollbackFailed")');
    expect(queryOf('validation-failures')).toContain('outcome == "ValidationFailed" or validation == "failed"');
    const successes = /ok = tostring\(customDimensions\.outcome\) in \(([^)]*)\)/.exec(queryOf('slo-burn-rate'))![1].split(',').map((o) => o.trim().replace(/"/g, ''));
    expect(successes).toEqual([...SUCCESSFUL_OUTCOMES]);
    expect(queryOf('slo-burn-rate')).toContain('burnRate = (failed / total) / (1 - objective)');
    expect(telemetrySource).toContain('slo_success_rate: String(sloSuccessRate)');
  });

  it('runs the query rules with the alerts identity, which may only read Application Insights, and notifies one action group', () => {
    const rules = resources(text).find((r) => r.type === 'Microsoft.Insights/scheduledQueryRules')!;
    expect(rules.body).toMatch(/type: 'UserAssigned'/);
    expect(rules.body).toContain("'${alertsIdentity.id}': {}");
    expect(rules.body).toMatch(/scopes: \[ applicationInsightsId \]/);
    expect(rules.body).toMatch(/actionGroups: \[ actionGroup\.id \]/);
    const group = resources(text).find((r) => r.type === 'Microsoft.Insights/actionGroups')!;
    expect(group.body).toMatch(/emailReceivers: empty\(alertEmail\) \? \[\] :/);
    expect(params(text).find((p) => p.name === 'alertEmail')?.defaultValue).toBe("''");
    expect(exprOf(moduleParams(mainCode(), 'alerts').alertEmail)).toBe('alertEmail');
    expect(exprOf(moduleParams(mainCode(), 'alerts').applicationInsightsId)).toBe('monitoring.outputs.applicationInsightsId');
  });

  it('pages on dead-lettered deliveries of both system topics', () => {
    const deadLetters = resources(text).find((r) => r.type === 'Microsoft.Insights/metricAlerts')!;
    expect(deadLetters.body).toMatch(/for \(topicId, i\) in systemTopicIds/);
    expect(deadLetters.body).toMatch(/metricName: 'DeadLetteredCount'[\s\S]*operator: 'GreaterThan'\s+threshold: 0/);
    expect(asArray(moduleParams(mainCode(), 'alerts').systemTopicIds).map(exprOf)).toEqual(['storageSystemTopicId', 'workspaceSystemTopicId']);
  });
});
