// The `validation:` section of a route: what a finished Azure ML batch job must have written before its
// run counts as a success. Parsed with zod when the routes file loads, so every default is visible here
// and every mistake (a misspelt key, a tolerance of 120%, a row schema that does not compile) is reported
// at startup with the field it concerns, not discovered when the first job finishes.
import { z } from 'zod';
import { strictSection } from './strictSection';
import { rowSchemaProblem } from './rowSchema';

/** Where Azure ML batch jobs (and the local emulator) write their progress overview, relative to the outputs. */
export const DEFAULT_JOB_LOG_PATH = 'logs/job_progress_overview.txt';
/** The default name of the append_row output file of an Azure ML batch deployment. */
export const DEFAULT_PREDICTIONS_FILE = 'predictions.csv';


const outputRelativePath = z
  .string()
  .min(1, 'must not be empty')
  .refine(
    (p) => !p.startsWith('/') && !p.includes('\\') && !p.split('/').some((segment) => segment === '..' || segment === '.' || segment === ''),
    "must be a path relative to the job's output folder, like 'predictions.csv' or 'parts/summary.json' (no leading '/', no '.' or '..' segments)",
  );

function csvCharacter(what: string) {
  return z
    .string()
    .refine(
      (c) => c.length === 1 && c.charCodeAt(0) < 128 && c !== '\n' && c !== '\r',
      `must be one ASCII character (the ${what}) other than a line break (write a tab as "\\t" in YAML double quotes)`,
    );
}

const predictionsSchema = strictSection({
  file: outputRelativePath.optional().describe('The CSV whose rows are counted and checked; default: the first of expectedFiles.'),
  delimiter: csvCharacter('delimiter').default(','),
  quote: csvCharacter('quote character').default('"'),
  header: z
    .boolean()
    .default(false)
    .describe('Whether the first line is a header. Azure ML append_row output has none, so the default is false.'),
  columns: z
    .array(z.string().min(1, 'column names must not be empty'))
    .min(1, 'must list at least one column name')
    .optional()
    .describe('Column names. With header: true the header must equal them; otherwise they name the cells for rowSchema.'),
  columnCount: z.number().int().positive('must be a positive whole number').optional().describe('Cells per row; default: columns.length, else the first row.'),
}).superRefine((p, ctx) => {
  if (p.delimiter === p.quote) ctx.addIssue({ code: 'custom', path: ['quote'], message: `must differ from the delimiter '${p.delimiter}'` });
  if (p.columns && p.columnCount !== undefined && p.columns.length !== p.columnCount) {
    ctx.addIssue({ code: 'custom', path: ['columnCount'], message: `is ${p.columnCount} but columns lists ${p.columns.length} names` });
  }
  if (p.columns) {
    const seen = new Set<string>();
    for (const name of p.columns) {
      if (seen.has(name)) ctx.addIssue({ code: 'custom', path: ['columns'], message: `names the column '${name}' twice` });
      seen.add(name);
    }
  }
});

const rowCountSchema = strictSection({
  matchInputs: z.boolean().default(true).describe('Compare prediction rows with input rows (when the run knows its inputs).'),
  toleranceRows: z.number().int('must be a whole number of rows').min(0, 'must not be negative').default(0),
  tolerancePercent: z
    .number()
    .min(0, 'must not be negative')
    .max(100, 'must be at most 100')
    .default(0)
    .describe('Allowed difference as a percentage of the input rows; the larger of this and toleranceRows applies.'),
  inputHeader: z.boolean().default(true).describe('Whether each input CSV starts with a header line (not counted as a row).'),
  inputDelimiter: csvCharacter('input delimiter').default(','),
});

const jobLogSchema = strictSection({
  path: outputRelativePath.default(DEFAULT_JOB_LOG_PATH).describe('The job progress overview, relative to the outputs; daily rotations (name.<timestamp>.txt) are read too.'),
  whenUnavailable: z
    .enum(['fail', 'skip'], { error: "must be 'fail' or 'skip'" })
    .default('fail')
    .describe('What maxFailedFileRatio does when the log is missing or does not say how many files failed.'),
});

const rowSchemaSchema = z
  .record(z.string(), z.unknown(), { error: 'must be a JSON Schema object' })
  .superRefine((schema, ctx) => {
    const problem = rowSchemaProblem(schema);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  })
  .describe('JSON Schema each prediction row must satisfy; rows are objects keyed by column name when names are known.');

const driftSchema = strictSection({
  column: z
    .union([z.number().int().min(0, 'column positions start at 0'), z.string().min(1, 'column names must not be empty')], { error: 'must be a column name or a 0-based column position' })
    .describe('The score column whose distribution is compared (a name needs predictions.columns or header: true).'),
  statistic: z
    .enum(['psi', 'ks', 'both'], { error: "must be 'psi' (population stability index), 'ks' (Kolmogorov-Smirnov) or 'both'" })
    .default('psi'),
  psiThreshold: z.number().positive('must be positive (0.1 is a moderate shift, 0.25 a large one)').default(0.2).describe('Drift when the PSI is above this.'),
  ksThreshold: z.number().positive('must be positive').max(1, 'must be at most 1 (the KS statistic is a difference of two shares)').default(0.1).describe('Drift when the KS statistic is above this.'),
  baselineRuns: z.number().int('must be a whole number of runs').min(1, 'must be at least 1').max(20, 'must be at most 20').default(5).describe('How many of the route\'s latest completed runs make the baseline.'),
  bins: z.number().int().min(2, 'must be at least 2').max(50, 'must be at most 50').default(10).describe('PSI bins, cut at the baseline\'s quantiles.'),
  action: z.enum(['warn', 'fail'], { error: "must be 'warn' (publish <prefix>.Run.DriftDetected, the run completes) or 'fail' (the run fails validation)" }).default('warn'),
});

export const validationRulesSchema = strictSection({
  expectedFiles: z
    .array(outputRelativePath)
    .min(1, 'must list at least one file')
    .default([DEFAULT_PREDICTIONS_FILE])
    .describe("Files the job must write, relative to its output folder."),
  nonEmpty: z.boolean().default(true).describe('Expected files must not be empty, and the predictions file must have at least one row.'),
  predictions: predictionsSchema.prefault({}),
  rowCount: rowCountSchema.prefault({}),
  maxFailedFileRatio: z
    .number()
    .min(0, 'must be a ratio between 0 and 1 (0.05 = 5%)')
    .max(1, 'must be a ratio between 0 and 1 (0.05 = 5%)')
    .optional()
    .describe('Largest share of input files the job may have failed on, read from the job log; unset = not checked.'),
  jobLog: jobLogSchema.prefault({}),
  rowSchema: rowSchemaSchema.optional(),
  maxReportedFailures: z
    .number()
    .int()
    .min(1, 'must be at least 1')
    .max(1000, 'must be at most 1000')
    .default(10)
    .describe('How many offending lines a check lists (the count is always complete).'),
  drift: driftSchema.optional().describe("Compares the score column's distribution with the route's latest completed runs."),
}).superRefine((rules, ctx) => {
  const column = rules.drift?.column;
  if (typeof column !== 'string') return;
  const { columns, header } = rules.predictions;
  if (!columns && !header) ctx.addIssue({ code: 'custom', path: ['drift', 'column'], message: `names the column '${column}', but predictions has no header and no 'columns' list: give a 0-based position or add predictions.columns` });
  else if (columns && !columns.includes(column)) ctx.addIssue({ code: 'custom', path: ['drift', 'column'], message: `names the column '${column}', which is not in predictions.columns (${columns.join(', ')})` });
});

/** The drift rule with every default filled in. */
export type DriftRule = z.output<typeof driftSchema>;

/** Rules with every default filled in, as validateJobOutputs uses them. */
export type ValidationRules = z.output<typeof validationRulesSchema>;
/** Rules as written in a routes file (every field optional). */
export type ValidationRulesInput = z.input<typeof validationRulesSchema>;

export class ValidationRulesError extends Error {
  constructor(readonly problems: string[]) {
    super(`Validation rules are invalid:\n- ${problems.join('\n- ')}`);
    this.name = 'ValidationRulesError';
  }
}

/**
 * Parses rules outside a routes file (tests, activities given raw rules); `where` prefixes each problem
 * with the field's path, e.g. "validation.rowCount.tolerancePercent: must be at most 100".
 */
export function parseValidationRules(input: unknown, where = 'validation'): ValidationRules {
  const result = validationRulesSchema.safeParse(input ?? {});
  if (result.success) return result.data;
  throw new ValidationRulesError(result.error.issues.map((i) => `${[where, ...i.path.map(String)].filter(Boolean).join('.')}: ${i.message}`));
}

/** The file whose rows are counted and checked. */
export function predictionsFileOf(rules: ValidationRules): string {
  return rules.predictions.file ?? rules.expectedFiles[0];
}
