// The `comparison:` section of a model route: how a candidate model's predictions are held against the
// baseline's on the same validation data — which columns identify a row, hold the score and the label,
// and the thresholds the candidate must meet before it may be promoted. Parsed with zod when the routes
// file loads, so a threshold without its column or a column name without a header is reported at start.
import { z } from 'zod';
import { strictSection } from './strictSection';

/** A column by 0-based position or by name (names need `header: true` or `columns`). */
export type ColumnRef = number | string;


const columnRef = z.union([z.number().int().min(0, 'column positions start at 0'), z.string().min(1, 'column names must not be empty')], {
  error: 'must be a column name or a 0-based column position',
});

const csvCharacter = (what: string) =>
  z.string().refine((c) => c.length === 1 && c.charCodeAt(0) < 128 && c !== '\n' && c !== '\r', `must be one ASCII character (the ${what}) other than a line break`);

const ratio = z.number().min(0, 'must be a ratio between 0 and 1 (0.95 = 95%)').max(1, 'must be a ratio between 0 and 1 (0.95 = 95%)');

export const comparisonRulesSchema = strictSection({
  file: z
    .string()
    .min(1)
    .refine((p) => !p.startsWith('/') && !p.split('/').some((s) => s === '..' || s === '.' || s === ''), "must be a path relative to the job's output folder")
    .optional()
    .describe("The predictions file of each job; default: the validation rules' predictions file (predictions.csv)."),
  header: z.boolean().default(false).describe('Whether the predictions file starts with a header line (Azure ML append_row output has none).'),
  delimiter: csvCharacter('delimiter').default(','),
  quote: csvCharacter('quote character').default('"'),
  columns: z.array(z.string().min(1)).min(1).optional().describe('Names for the columns when the file has no header, so the other fields can name them.'),
  keyColumns: z
    .array(columnRef)
    .default([])
    .describe('Columns that identify a row in both files (e.g. [0, 1]: input file and customer ID). Empty: rows are compared in file order, which only holds when the scoring writes rows deterministically.'),
  scoreColumn: columnRef.optional().describe('Column holding the numeric score (probability); compared by absolute difference.'),
  labelColumn: columnRef.optional().describe('Column holding the predicted label; compared by agreement rate.'),
  requireEqualRowCount: z.boolean().default(true).describe('Candidate and baseline must write the same number of rows.'),
  maxUnmatchedRows: z.number().int().min(0).default(0).describe('Keyed comparison: rows found in only one of the two files that are tolerated.'),
  minLabelAgreement: ratio.optional().describe('Smallest share of matched rows whose labels must agree (needs labelColumn).'),
  maxMeanAbsScoreDifference: z.number().min(0, 'must not be negative').optional().describe('Largest mean absolute score difference (needs scoreColumn).'),
  maxMaxAbsScoreDifference: z.number().min(0, 'must not be negative').optional().describe('Largest absolute score difference on any one row (needs scoreColumn).'),
  maxReportedDifferences: z.number().int().min(1).max(1000).default(10).describe('How many of the largest differences and first disagreements the report lists.'),
}).superRefine((rules, ctx) => {
  const named = rules.header || rules.columns !== undefined;
  const refs: Array<[Array<string | number>, ColumnRef | undefined]> = [
    ...rules.keyColumns.map((c, i): [Array<string | number>, ColumnRef] => [['keyColumns', i], c]),
    [['scoreColumn'], rules.scoreColumn],
    [['labelColumn'], rules.labelColumn],
  ];
  for (const [path, ref] of refs) {
    if (typeof ref !== 'string') continue;
    if (!named) ctx.addIssue({ code: 'custom', path, message: `names the column '${ref}', but the file has no header and no 'columns' list: give a 0-based position or add columns` });
    else if (rules.columns && !rules.header && !rules.columns.includes(ref)) ctx.addIssue({ code: 'custom', path, message: `names the column '${ref}', which is not in columns (${rules.columns.join(', ')})` });
  }
  if (rules.minLabelAgreement !== undefined && rules.labelColumn === undefined) ctx.addIssue({ code: 'custom', path: ['minLabelAgreement'], message: 'needs labelColumn: say which column holds the label' });
  for (const field of ['maxMeanAbsScoreDifference', 'maxMaxAbsScoreDifference'] as const) {
    if (rules[field] !== undefined && rules.scoreColumn === undefined) ctx.addIssue({ code: 'custom', path: [field], message: 'needs scoreColumn: say which column holds the score' });
  }
});

/** Rules with every default filled in. */
export type ComparisonRules = z.output<typeof comparisonRulesSchema>;
/** Rules as written in a routes file. */
export type ComparisonRulesInput = z.input<typeof comparisonRulesSchema>;

/** Parses rules outside a routes file (tests, tools); throws with every problem, each naming its field. */
export function parseComparisonRules(input: unknown): ComparisonRules {
  const result = comparisonRulesSchema.safeParse(input ?? {});
  if (result.success) return result.data;
  throw new Error(`Comparison rules are invalid:\n- ${result.error.issues.map((i) => `comparison.${i.path.map(String).join('.')}: ${i.message}`).join('\n- ')}`);
}
