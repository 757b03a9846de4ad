// A route's custom JSON Schema for prediction rows, compiled with ajv. CSV cells are text, so values are
// coerced to the types the schema asks for ("0.93" passes `type: number`); draft-07 is the default and
// `$schema` selects 2019-09 or 2020-12. Unknown keywords are errors, so a typo in a routes file is
// reported at startup instead of silently validating nothing.
// ajv is loaded on first use, not at import: routes without a row schema should not pay for it at cold start.
import type { default as Ajv, ErrorObject, Options as AjvOptions, ValidateFunction } from 'ajv';

/** A row as validated: an object keyed by column name when names are known, else the cells in order. */
export type RowValue = Record<string, unknown> | unknown[];

/** The scalar type a schema declares for a cell, when it is one that text must be converted to. */
export type CellKind = 'number' | 'integer' | 'boolean' | undefined;

export interface CompiledRowSchema {
  /** Validates (and coerces in place) one row; returns undefined when it passes, else why it fails. */
  check(row: RowValue): string | undefined;
  /** What the schema says the named column holds (object rows). */
  kindOfColumn(name: string): CellKind;
  /** What the schema says the cell at an index holds (array rows). */
  kindOfIndex(index: number): CellKind;
}

/**
 * Converts a cell the way ajv's type coercion would (same acceptance: non-empty text that reads as a
 * number; "true"/"false"), but once and before validation: ajv's own coercion re-parses each string
 * several times and retypes the row's properties, which costs more than the rest of validation together.
 * Text that does not convert is left as it is, for the schema to reject with its usual message.
 */
export function coerceCell(cell: string, kind: CellKind): unknown {
  if (kind === undefined || cell === '') return cell;
  if (kind === 'boolean') return cell === 'true' ? true : cell === 'false' ? false : cell;
  const n = +cell;
  // NaN, ±Infinity and non-integers for 'integer' stay text, so ajv gives its own verdict on them.
  if (!Number.isFinite(n) || (kind === 'integer' && n % 1 !== 0)) return cell;
  return n;
}

function scalarKind(schema: unknown): CellKind {
  const type = typeof schema === 'object' && schema !== null ? (schema as { type?: unknown }).type : undefined;
  return type === 'number' || type === 'integer' || type === 'boolean' ? type : undefined;
}

export class RowSchemaError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RowSchemaError';
  }
}

const AJV_OPTIONS: AjvOptions = {
  coerceTypes: true,
  allErrors: false,
  strictSchema: true,
  strictNumbers: true,
  strictTypes: false,
  strictTuples: false,
  strictRequired: false,
  allowUnionTypes: true,
  validateFormats: true,
};

function ajvFor(schema: Record<string, unknown>): Ajv {
  const dialect = typeof schema.$schema === 'string' ? schema.$schema : '';
  // A fresh instance per schema: two routes may reuse one `$id`, which a shared instance would reject.
  const AjvClass = dialect.includes('2020-12')
    ? (require('ajv/dist/2020') as typeof import('ajv/dist/2020')).default
    : dialect.includes('2019-09')
      ? (require('ajv/dist/2019') as typeof import('ajv/dist/2019')).default
      : (require('ajv') as typeof import('ajv')).default;
  const ajv = new AjvClass(AJV_OPTIONS);
  (require('ajv-formats') as typeof import('ajv-formats')).default(ajv);
  return ajv;
}

const compiled = new Map<string, CompiledRowSchema>();
const MAX_CACHED = 64;

/** Compiles (or reuses) a row schema; throws RowSchemaError saying what is wrong with it. */
export function compileRowSchema(schema: Record<string, unknown>): CompiledRowSchema {
  const key = JSON.stringify(schema);
  const cached = compiled.get(key);
  if (cached) return cached;
  let validate: ValidateFunction;
  try {
    validate = ajvFor(schema).compile(schema);
  } catch (err) {
    throw new RowSchemaError(`is not a usable JSON Schema: ${(err as Error).message}`);
  }
  const properties = typeof schema.properties === 'object' && schema.properties !== null ? (schema.properties as Record<string, unknown>) : {};
  const prefixItems = Array.isArray(schema.prefixItems) ? (schema.prefixItems as unknown[]) : Array.isArray(schema.items) ? (schema.items as unknown[]) : [];
  const restItems = Array.isArray(schema.items) ? undefined : schema.items;
  const result: CompiledRowSchema = {
    check(row) {
      if (validate(row)) return undefined;
      return describeSchemaError(validate.errors?.[0], row);
    },
    kindOfColumn: (name) => (Object.prototype.hasOwnProperty.call(properties, name) ? scalarKind(properties[name]) : undefined),
    kindOfIndex: (index) => scalarKind(index < prefixItems.length ? prefixItems[index] : restItems),
  };
  if (compiled.size >= MAX_CACHED) compiled.delete(compiled.keys().next().value as string);
  compiled.set(key, result);
  return result;
}

/** Undefined when the schema compiles, else the reason (for config validation messages). */
export function rowSchemaProblem(schema: Record<string, unknown>): string | undefined {
  try {
    compileRowSchema(schema);
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

function valueAt(row: RowValue, pointer: string): unknown {
  let current: unknown = row;
  for (const raw of pointer.split('/').slice(1)) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<string, unknown>)[key];
  }
  return current;
}

function describeSchemaError(error: ErrorObject | undefined, row: RowValue): string {
  if (!error) return 'does not match the row schema';
  if (error.instancePath === '') return `row ${error.message ?? 'does not match the row schema'}`;
  const where = Array.isArray(row) ? `column ${Number(error.instancePath.slice(1).split('/')[0]) + 1}` : `column '${error.instancePath.slice(1).replace(/~1/g, '/').replace(/~0/g, '~')}'`;
  const value = valueAt(row, error.instancePath);
  const shown = typeof value === 'string' ? JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value) : JSON.stringify(value);
  return `${where} ${error.message ?? 'is invalid'} (value ${shown})`;
}
