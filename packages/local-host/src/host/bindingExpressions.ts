// Binding expressions in binding properties (`path: 'backups/{backupPath}'`, `queueName: '%QUEUE%'`), as
// the Functions host resolves them: `%NAME%` from app settings; `{name}` from the trigger's binding data
// (its metadata and the properties of a JSON payload; case-insensitive; dotted paths reach into
// objects); `{rand-guid}` / `{sys.randguid}` a new GUID; `{DateTime}` / `{sys.utcnow}` the UTC time,
// `yyyy-MM-ddTHH-mm-ssK` unless a format follows a colon (`{DateTime:yyyy/MM/dd}`, `{rand-guid:N}`).
import { randomUUID } from 'node:crypto';
import { resolveSettingReferences } from './appLoader';

export class BindingExpressionError extends Error {}

export type BindingData = Record<string, unknown>;

const DEFAULT_DATE_FORMAT = 'yyyy-MM-ddTHH-mm-ssK';

function pad(n: number, width: number): string {
  return String(n).padStart(width, '0');
}

/** The .NET custom date format subset binding paths use (UTC). */
export function formatDateTime(d: Date, format: string): string {
  const tokens: Array<[string, () => string]> = [
    ['yyyy', () => pad(d.getUTCFullYear(), 4)],
    ['yy', () => pad(d.getUTCFullYear() % 100, 2)],
    ['MM', () => pad(d.getUTCMonth() + 1, 2)],
    ['M', () => String(d.getUTCMonth() + 1)],
    ['dd', () => pad(d.getUTCDate(), 2)],
    ['d', () => String(d.getUTCDate())],
    ['HH', () => pad(d.getUTCHours(), 2)],
    ['H', () => String(d.getUTCHours())],
    ['mm', () => pad(d.getUTCMinutes(), 2)],
    ['m', () => String(d.getUTCMinutes())],
    ['ss', () => pad(d.getUTCSeconds(), 2)],
    ['s', () => String(d.getUTCSeconds())],
    ['fff', () => pad(d.getUTCMilliseconds(), 3)],
    ['ff', () => pad(Math.floor(d.getUTCMilliseconds() / 10), 2)],
    ['f', () => String(Math.floor(d.getUTCMilliseconds() / 100))],
    ['K', () => 'Z'],
  ];
  let out = '';
  for (let i = 0; i < format.length; ) {
    if (format[i] === "'") {
      const end = format.indexOf("'", i + 1);
      out += format.slice(i + 1, end < 0 ? undefined : end);
      i = end < 0 ? format.length : end + 1;
      continue;
    }
    const hit = tokens.find(([t]) => format.startsWith(t, i));
    if (hit) {
      out += hit[1]();
      i += hit[0].length;
    } else out += format[i++];
  }
  return out;
}

function formatGuid(guid: string, format: string | undefined): string {
  switch ((format ?? 'D').toUpperCase()) {
    case 'D':
      return guid;
    case 'N':
      return guid.replace(/-/g, '');
    case 'B':
      return `{${guid}}`;
    case 'P':
      return `(${guid})`;
    default:
      throw new BindingExpressionError(`'${format}' is not a GUID format (N, D, B or P).`);
  }
}

/** Looks `path` (dotted, case-insensitive) up in the binding data. */
function lookUp(data: BindingData, path: string): { found: boolean; value?: unknown } {
  let current: unknown = data;
  for (const part of path.split('.')) {
    if (!current || typeof current !== 'object' || Array.isArray(current)) return { found: false };
    const key = Object.keys(current).find((k) => k.toLowerCase() === part.toLowerCase());
    if (key === undefined) return { found: false };
    current = (current as Record<string, unknown>)[key];
  }
  return { found: true, value: current };
}

function asText(expression: string, value: unknown, format: string | undefined): string {
  if (value instanceof Date) return formatDateTime(value, format ?? DEFAULT_DATE_FORMAT);
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'bigint') return String(value);
  if (typeof value === 'boolean') return value ? 'True' : 'False';
  throw new BindingExpressionError(`The binding expression '{${expression}}' refers to a value that is ${value === null ? 'null' : Array.isArray(value) ? 'an array' : 'an object'}; it must be text or a number.`);
}

/** Resolves every `%SETTING%` and `{expression}` in `template`. */
export function resolveBindingExpression(template: string, data: BindingData, env: NodeJS.ProcessEnv = process.env): string {
  const withSettings = resolveSettingReferences(template, env);
  return withSettings.replace(/\{([^{}]+)\}/g, (_whole, inner: string) => {
    const colon = inner.indexOf(':');
    const name = (colon < 0 ? inner : inner.slice(0, colon)).trim();
    const format = colon < 0 ? undefined : inner.slice(colon + 1);
    const lower = name.toLowerCase();
    if (lower === 'sys.randguid') return formatGuid(randomUUID(), format);
    if (lower === 'sys.utcnow') return formatDateTime(new Date(), format ?? DEFAULT_DATE_FORMAT);
    const hit = lookUp(data, name);
    if (hit.found && hit.value !== undefined) return asText(name, hit.value, format);
    if (lower === 'rand-guid') return formatGuid(randomUUID(), format);
    if (lower === 'datetime') return formatDateTime(new Date(), format ?? DEFAULT_DATE_FORMAT);
    const known = Object.keys(data);
    throw new BindingExpressionError(
      `Unable to resolve the binding expression '{${name}}': it must name a value the trigger provides (${known.length ? known.join(', ') : 'this trigger provides none'}) or be a system expression ({rand-guid}, {DateTime}, {sys.randguid}, {sys.utcnow}).`,
    );
  });
}

/** The properties of a JSON object payload (a queue message, an HTTP body, an activity input), else none. */
export function payloadBindingData(payload: unknown): BindingData {
  let value = payload;
  if (typeof value === 'string') {
    try {
      value = JSON.parse(value);
    } catch {
      return {};
    }
  }
  return value && typeof value === 'object' && !Array.isArray(value) && !Buffer.isBuffer(value) ? { ...(value as BindingData) } : {};
}
