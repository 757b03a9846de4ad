// A route's `validation:` section: every default is filled in, and every mistake is refused with a
// message that names the field (unknown keys included), so a typo in a routes file fails at startup.
import { z } from 'zod';
import { parseValidationRules, predictionsFileOf, validationRulesSchema, ValidationRulesError } from '../../src/config/validationRules';

function problemsOf(input: unknown): string[] {
  try {
    parseValidationRules(input);
  } catch (err) {
    expect(err).toBeInstanceOf(ValidationRulesError);
    return (err as ValidationRulesError).problems;
  }
  throw new Error('expected the rules to be refused');
}

describe('validation rules', () => {
  it('fills every default for an empty section', () => {
    expect(parseValidationRules({})).toEqual({
      expectedFiles: ['predictions.csv'],
      nonEmpty: true,
      predictions: { delimiter: ',', quote: '"', header: false },
      rowCount: { matchInputs: true, toleranceRows: 0, tolerancePercent: 0, inputHeader: true, inputDelimiter: ',' },
      jobLog: { path: 'logs/job_progress_overview.txt', whenUnavailable: 'fail' },
      maxReportedFailures: 10,
    });
  });

  it('fills nested defaults when a section is given in part', () => {
    const rules = parseValidationRules({ rowCount: { tolerancePercent: 2 }, predictions: { header: true } });
    expect(rules.rowCount).toEqual({ matchInputs: true, toleranceRows: 0, tolerancePercent: 2, inputHeader: true, inputDelimiter: ',' });
    expect(rules.predictions).toEqual({ delimiter: ',', quote: '"', header: true });
  });

  it('checks the first expected file unless the predictions file is named', () => {
    expect(predictionsFileOf(parseValidationRules({ expectedFiles: ['scores.csv', 'summary.json'] }))).toBe('scores.csv');
    expect(predictionsFileOf(parseValidationRules({ expectedFiles: ['summary.json'], predictions: { file: 'parts/scores.csv' } }))).toBe('parts/scores.csv');
  });

  it('gives the same rules when parsing rules that were already parsed', () => {
    const once = parseValidationRules({ maxFailedFileRatio: 0.1, rowSchema: { type: 'object' }, predictions: { columns: ['id', 'score'] } });
    expect(parseValidationRules(once)).toEqual(once);
  });

  it('refuses an unknown key at the top, naming it and the known fields', () => {
    expect(problemsOf({ rowCont: {} })).toEqual([
      "validation: unknown field 'rowCont' (known fields: expectedFiles, nonEmpty, predictions, rowCount, maxFailedFileRatio, jobLog, rowSchema, maxReportedFailures, drift)",
    ]);
  });

  it('refuses a misspelt nested key, naming the section it is in', () => {
    expect(problemsOf({ rowCount: { tolerancePercnt: 5 } })).toEqual([
      "validation.rowCount: unknown field 'tolerancePercnt' (known fields: matchInputs, toleranceRows, tolerancePercent, inputHeader, inputDelimiter)",
    ]);
  });

  it('names the field of each out-of-range value', () => {
    expect(problemsOf({ rowCount: { tolerancePercent: 120, toleranceRows: -1 }, maxFailedFileRatio: 5, maxReportedFailures: 0 })).toEqual([
      'validation.rowCount.toleranceRows: must not be negative',
      'validation.rowCount.tolerancePercent: must be at most 100',
      'validation.maxFailedFileRatio: must be a ratio between 0 and 1 (0.05 = 5%)',
      'validation.maxReportedFailures: must be at least 1',
    ]);
  });

  it('refuses paths that leave the output folder', () => {
    const problems = problemsOf({ expectedFiles: ['../other/predictions.csv', '/abs.csv', 'ok.csv'], jobLog: { path: 'logs//x.txt' } });
    expect(problems).toHaveLength(3);
    expect(problems[0]).toMatch(/^validation\.expectedFiles\.0: must be a path relative to the job's output folder/);
    expect(problems[1]).toMatch(/^validation\.expectedFiles\.1: /);
    expect(problems[2]).toMatch(/^validation\.jobLog\.path: /);
  });

  it('refuses CSV options that cannot work together', () => {
    expect(problemsOf({ predictions: { delimiter: ';;', columns: ['id', 'id'], columnCount: 3 } })).toEqual([
      'validation.predictions.delimiter: must be one ASCII character (the delimiter) other than a line break (write a tab as "\\t" in YAML double quotes)',
      'validation.predictions.columnCount: is 3 but columns lists 2 names',
      "validation.predictions.columns: names the column 'id' twice",
    ]);
    expect(problemsOf({ predictions: { delimiter: '"' } })).toEqual(["validation.predictions.quote: must differ from the delimiter '\"'"]);
  });

  it('refuses a row schema that does not compile, saying why', () => {
    expect(problemsOf({ rowSchema: { type: 'object', propertees: {} } })).toEqual([
      'validation.rowSchema: is not a usable JSON Schema: strict mode: unknown keyword: "propertees"',
    ]);
    expect(problemsOf({ rowSchema: 'not a schema' })).toEqual(['validation.rowSchema: must be a JSON Schema object']);
  });

  it('refuses an unknown jobLog policy', () => {
    expect(problemsOf({ jobLog: { whenUnavailable: 'ignore' } })).toEqual(["validation.jobLog.whenUnavailable: must be 'fail' or 'skip'"]);
  });

  it('publishes a JSON Schema for editors that forbids unknown keys', () => {
    const schema = z.toJSONSchema(validationRulesSchema, { io: 'input', unrepresentable: 'any' }) as {
      additionalProperties: boolean;
      properties: Record<string, { additionalProperties?: boolean; default?: unknown }>;
    };
    expect(schema.additionalProperties).toBe(false);
    expect(schema.properties.rowCount.additionalProperties).toBe(false);
    expect(schema.properties.expectedFiles.default).toEqual(['predictions.csv']);
  });
});
