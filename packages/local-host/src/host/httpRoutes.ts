// HTTP trigger route templates as the Functions host understands them (ASP.NET Core routing):
// literals, `{name}`, optional `{name?}`, catch-all `{*name}`, defaults `{name=value}` and the common
// constraints (`int`, `long`, `bool`, `guid`, `alpha`, `double`, `decimal`, `datetime`, `minlength(n)`,
// `maxlength(n)`, `length(n)`, `min(n)`, `max(n)`, `range(a,b)`, `regex(...)`).

export interface CompiledRoute {
  template: string;
  regex: RegExp;
  paramNames: string[];
  constraints: Record<string, string[]>;
  defaults: Record<string, string>;
  /** Higher is more specific; routes are tried most specific first. */
  precedence: number;
}

export class RouteTemplateError extends Error {}

function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function splitConstraints(spec: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of spec) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ':' && depth === 0) {
      out.push(cur);
      cur = '';
    } else cur += ch;
  }
  out.push(cur);
  return out.filter((c) => c.length > 0);
}

export function compileRoute(template: string): CompiledRoute {
  const clean = template.replace(/^\/+|\/+$/g, '');
  const segments = clean === '' ? [] : clean.split('/');
  const paramNames: string[] = [];
  const constraints: Record<string, string[]> = {};
  const defaults: Record<string, string> = {};
  let pattern = '^';
  let precedence = 0;
  segments.forEach((segment, index) => {
    if (segment === '') throw new RouteTemplateError(`Route '${template}' has an empty segment.`);
    const parts = segment.split(/(\{[^}]*\})/).filter((p) => p !== '');
    const onlyParam = parts.length === 1 && parts[0].startsWith('{');
    let segPattern = '';
    let optionalSegment = false;
    for (const part of parts) {
      if (!part.startsWith('{')) {
        segPattern += escapeRegex(part);
        precedence += 10;
        continue;
      }
      let inner = part.slice(1, -1);
      let catchAll = false;
      if (inner.startsWith('**')) {
        catchAll = true;
        inner = inner.slice(2);
      } else if (inner.startsWith('*')) {
        catchAll = true;
        inner = inner.slice(1);
      }
      let optional = false;
      let def: string | undefined;
      const eq = inner.indexOf('=');
      if (eq >= 0) {
        def = inner.slice(eq + 1);
        inner = inner.slice(0, eq);
        optional = true;
      }
      if (inner.endsWith('?')) {
        optional = true;
        inner = inner.slice(0, -1);
      }
      const [name, ...cons] = splitConstraints(inner);
      if (!name || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new RouteTemplateError(`Route '${template}' has an invalid parameter '${part}'.`);
      if (paramNames.includes(name)) throw new RouteTemplateError(`Route '${template}' uses the parameter '${name}' twice.`);
      if (catchAll && index !== segments.length - 1) throw new RouteTemplateError(`Route '${template}': a catch-all parameter must be the last segment.`);
      paramNames.push(name);
      if (cons.length) constraints[name] = cons;
      if (def !== undefined) defaults[name] = def;
      if (catchAll) {
        segPattern += '(.*)';
        optionalSegment = true;
        precedence += 0;
      } else {
        segPattern += '([^/]+?)';
        precedence += cons.length ? 3 : 2;
        if (optional) {
          if (!onlyParam) throw new RouteTemplateError(`Route '${template}': an optional parameter must be a whole segment.`);
          optionalSegment = true;
        }
      }
    }
    pattern += optionalSegment ? `(?:/${segPattern})?` : `/${segPattern}`;
  });
  pattern += '/?$';
  return { template, regex: new RegExp(pattern, 'i'), paramNames, constraints, defaults, precedence };
}

function satisfies(value: string, constraint: string): boolean {
  const m = /^(\w+)(?:\((.*)\))?$/.exec(constraint);
  if (!m) return true;
  const [, kind, arg] = m;
  const num = Number(value);
  switch (kind.toLowerCase()) {
    case 'int':
    case 'long':
      return /^-?\d+$/.test(value);
    case 'bool':
      return /^(true|false)$/i.test(value);
    case 'guid':
      return /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i.test(value.replace(/^\{|\}$/g, ''));
    case 'alpha':
      return /^[a-z]+$/i.test(value);
    case 'double':
    case 'decimal':
    case 'float':
      return value.trim() !== '' && Number.isFinite(num);
    case 'datetime':
      return !Number.isNaN(Date.parse(value));
    case 'minlength':
      return value.length >= Number(arg);
    case 'maxlength':
      return value.length <= Number(arg);
    case 'length': {
      const [a, b] = (arg ?? '').split(',').map(Number);
      return b === undefined || Number.isNaN(b) ? value.length === a : value.length >= a && value.length <= b;
    }
    case 'min':
      return num >= Number(arg);
    case 'max':
      return num <= Number(arg);
    case 'range': {
      const [a, b] = (arg ?? '').split(',').map(Number);
      return num >= a && num <= b;
    }
    case 'regex':
      try {
        return new RegExp(arg ?? '', 'i').test(value);
      } catch {
        return false;
      }
    default:
      return true;
  }
}

/** Matches a path (without the route prefix, no leading slash needed) and returns the route parameters. */
export function matchRoute(route: CompiledRoute, routePath: string): Record<string, string> | undefined {
  const normalised = '/' + routePath.replace(/^\/+/, '');
  const m = route.regex.exec(normalised === '/' ? '' : normalised) ?? route.regex.exec(normalised);
  if (!m) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < route.paramNames.length; i++) {
    const name = route.paramNames[i];
    const raw = m[i + 1];
    if (raw === undefined || raw === '') {
      if (route.defaults[name] !== undefined) params[name] = route.defaults[name];
      continue;
    }
    let value: string;
    try {
      value = decodeURIComponent(raw);
    } catch {
      return undefined;
    }
    for (const c of route.constraints[name] ?? []) if (!satisfies(value, c)) return undefined;
    params[name] = value;
  }
  return params;
}
