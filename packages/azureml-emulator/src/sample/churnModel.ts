// The sample workspace's model and data: a logistic-regression churn model stored as weights (two
// registered versions that weigh the features differently) and a deterministic generator of customer
// CSV files to score with it. Tests and the demo import the generator to make input folders.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { seededRandom } from '../faultInjection';

export interface ChurnFeature {
  name: 'tenure_months' | 'monthly_charges' | 'support_calls' | 'contract_month_to_month' | 'has_fiber';
  /** Standardisation applied before the weights: (x - mean) / std. */
  mean: number;
  std: number;
}

export interface ChurnModelWeights {
  format: 'batchpilot-logistic-regression/1';
  name: string;
  version: string;
  features: ChurnFeature[];
  weights: number[];
  bias: number;
  threshold: number;
}

const FEATURES: ChurnFeature[] = [
  { name: 'tenure_months', mean: 32, std: 20 },
  { name: 'monthly_charges', mean: 68, std: 28 },
  { name: 'support_calls', mean: 2, std: 1.6 },
  { name: 'contract_month_to_month', mean: 0.5, std: 0.5 },
  { name: 'has_fiber', mean: 0.4, std: 0.49 },
];

/** Version 1: the baseline. Version 2 leans more on support calls and less on charges. */
export const CHURN_MODEL_VERSIONS: Record<'1' | '2', ChurnModelWeights> = {
  '1': { format: 'batchpilot-logistic-regression/1', name: 'churn', version: '1', features: FEATURES, weights: [-1.2, 0.7, 0.6, 1.1, 0.3], bias: -0.9, threshold: 0.5 },
  '2': { format: 'batchpilot-logistic-regression/1', name: 'churn', version: '2', features: FEATURES, weights: [-1.0, 0.4, 1.0, 1.3, 0.2], bias: -1.0, threshold: 0.5 },
};

export const CHURN_CSV_HEADER = 'customer_id,tenure_months,monthly_charges,support_calls,contract_type,internet_service';

export interface ChurnCsvOptions {
  rows: number;
  /** Same seed, same rows. */
  seed?: number;
  /** Customer IDs are `C` + a running number from here. */
  firstCustomerNumber?: number;
}

/** One CSV file of customers, with a header row. */
export function generateChurnCsv(options: ChurnCsvOptions): string {
  const random = seededRandom(options.seed ?? 42);
  const first = options.firstCustomerNumber ?? 1;
  const lines = [CHURN_CSV_HEADER];
  for (let i = 0; i < options.rows; i++) {
    const tenure = 1 + Math.floor(random() * 72);
    const charges = (20 + random() * 100).toFixed(2);
    const calls = Math.floor(-Math.log(1 - random()) * 2);
    const contract = ['month-to-month', 'one-year', 'two-year'][Math.floor(random() * 3)];
    const internet = ['fiber', 'dsl', 'none'][Math.floor(random() * 3)];
    lines.push(`C${String(first + i).padStart(6, '0')},${tenure},${charges},${calls},${contract},${internet}`);
  }
  return `${lines.join('\n')}\n`;
}

export interface ChurnInputFile {
  /** File name, e.g. `part-007.csv`. */
  name: string;
  content: string;
  rows: number;
}

/** A folder's worth of input files with distinct customers; `poisonedFileIndex` makes one unscorable. */
export function generateChurnInputFiles(options: { files: number; rowsPerFile: number; seed?: number; poisonedFileIndex?: number }): ChurnInputFile[] {
  const files: ChurnInputFile[] = [];
  for (let i = 0; i < options.files; i++) {
    const name = `part-${String(i).padStart(3, '0')}.csv`;
    let content = generateChurnCsv({ rows: options.rowsPerFile, seed: (options.seed ?? 42) * 1000 + i, firstCustomerNumber: i * options.rowsPerFile + 1 });
    if (i === options.poisonedFileIndex) content = poisonCsv(content);
    files.push({ name, content, rows: options.rowsPerFile });
  }
  return files;
}

/** Breaks the second data row's monthly charges (the first if there is one row), as a bad export would. */
export function poisonCsv(content: string): string {
  const lines = content.split('\n');
  const dataRows = lines.map((line, i) => (i > 0 && line.trim() ? i : -1)).filter((i) => i > 0);
  if (dataRows.length === 0) return content;
  const target = dataRows[Math.min(1, dataRows.length - 1)];
  const cells = lines[target].split(',');
  if (cells.length > 2) cells[2] = 'n/a';
  lines[target] = cells.join(',');
  return lines.join('\n');
}

/**
 * The scoring module's source (sample/churn_score.js). It is plain JavaScript uploaded as a code asset,
 * so it is read from this package's source tree both under ts-jest (src/sample) and from dist/sample.
 */
export function churnScoringModuleSource(): string {
  const candidates = [path.join(__dirname, 'churn_score.js'), path.resolve(__dirname, '..', '..', 'src', 'sample', 'churn_score.js')];
  for (const candidate of candidates) if (fs.existsSync(candidate)) return fs.readFileSync(candidate, 'utf8');
  throw new Error(`The sample scoring module churn_score.js was not found (looked in ${candidates.join(', ')}).`);
}
