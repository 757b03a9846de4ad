// Row schemas: cells are text, converted once to the types the schema declares; the verdict must be the
// one ajv's own coercion would give, and a failure must say which column, why, and with what value.
import Ajv from 'ajv';
import { coerceCell, compileRowSchema, type CellKind } from '../../src/config/rowSchema';

const CELLS = ['1', '-3', ' 2 ', '1e3', '0x10', '', ' ', 'abc', '1.5', '007', 'Infinity', 'NaN', 'true', 'false', 'TRUE', '1,5'];

describe('row schema', () => {
  it.each<[string, CellKind]>([
    ['number', 'number'],
    ['integer', 'integer'],
    ['boolean', 'boolean'],
  ])('accepts and rejects %s cells exactly as ajv type coercion does', (type, kind) => {
    const schema = { type: 'object', properties: { v: { type } } };
    // strictNumbers as in rowSchema.ts: Infinity and NaN are not prediction values.
    const ajvCoercing = new Ajv({ coerceTypes: true, strictNumbers: true }).compile(schema);
    const ours = compileRowSchema(schema);
    for (const cell of CELLS) {
      const coercedByAjv = { v: cell };
      const verdictOfAjv = ajvCoercing(coercedByAjv);
      const verdict = ours.check({ v: coerceCell(cell, kind) }) === undefined;
      expect({ cell, verdict }).toEqual({ cell, verdict: verdictOfAjv });
    }
  });

  it('leaves cells of untyped or string columns as text', () => {
    expect(coerceCell('0042', undefined)).toBe('0042');
    const schema = compileRowSchema({ type: 'object', properties: { id: { type: 'string', pattern: '^0' }, n: { type: ['number', 'null'] } } });
    expect(schema.kindOfColumn('id')).toBeUndefined();
    expect(schema.kindOfColumn('n')).toBeUndefined();
    expect(schema.kindOfColumn('absent')).toBeUndefined();
  });

  it('reads cell types of array rows from prefixItems and items', () => {
    const tuple = compileRowSchema({ $schema: 'https://json-schema.org/draft/2020-12/schema', type: 'array', prefixItems: [{ type: 'string' }, { type: 'number' }], items: { type: 'integer' } });
    expect([0, 1, 2, 3].map((i) => tuple.kindOfIndex(i))).toEqual([undefined, 'number', 'integer', 'integer']);
    expect(tuple.check(['a', 0.5, 3])).toBeUndefined();
    expect(tuple.check(['a', 'x'])).toBe('column 2 must be number (value "x")');
  });

  it('names the column, the rule and the value of the first failure', () => {
    const schema = compileRowSchema({ type: 'object', properties: { score: { type: 'number', maximum: 1 }, label: { enum: ['churn', 'stay'] } }, required: ['score', 'label'] });
    expect(schema.check({ score: 2, label: 'stay' })).toBe("column 'score' must be <= 1 (value 2)");
    expect(schema.check({ score: 0.5, label: 'maybe' })).toBe("column 'label' must be equal to one of the allowed values (value \"maybe\")");
    expect(schema.check({ score: 0.5 })).toBe("row must have required property 'label'");
  });

  it('checks string formats with ajv-formats', () => {
    const schema = compileRowSchema({ type: 'object', properties: { at: { type: 'string', format: 'date-time' } } });
    expect(schema.check({ at: '2024-03-01T10:00:00Z' })).toBeUndefined();
    expect(schema.check({ at: 'yesterday' })).toBe('column \'at\' must match format "date-time" (value "yesterday")');
  });
});
