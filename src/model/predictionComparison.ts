// The comparison math of a model promotion, with no I/O: the baseline's prediction rows are fed first,
// then the candidate's, and the result says whether the candidate behaves like the baseline on the
// validation data within the route's thresholds — row counts, rows matched by key (or by position),
// label agreement, mean and largest absolute score difference — with the figures behind every verdict
// and the rows that differ most. Memory grows with the baseline's rows (one key, score and label each),
// never with the size of a file; the reading is done elsewhere, chunk by chunk.
import type { ColumnRef, ComparisonRules } from '../config/comparisonRules';
import { ShiftMeter } from '../domain/scoreDistributions';

export type ComparisonCheckName =
  | 'columns'
  | 'rowsReadable'
  | 'rowCount'
  | 'matchedRows'
  | 'uniqueKeys'
  | 'unmatchedRows'
  | 'labelAgreement'
  | 'scoresNumeric'
  | 'meanAbsScoreDifference'
  | 'maxAbsScoreDifference';

export interface ComparisonCheck {
  name: ComparisonCheckName;
  passed: boolean;
  /** One sentence without a final period: what was found, against what limit. */
  detail: string;
}

export interface ComparisonCounts {
  baselineRows: number;
  candidateRows: number;
  /** Candidate rows paired with a baseline row (same key, or same position). */
  matchedRows: number;
  onlyInBaseline: number;
  onlyInCandidate: number;
  /** Rows whose key was already seen in the same file. */
  duplicateKeys: number;
  /** Rows with fewer cells than the comparison reads. */
  unreadableRows: { baseline: number; candidate: number };
  /** Matched rows where either score is not a number. */
  unparsableScores: number;
  labelDisagreements: number;
}

export interface ComparisonMetrics {
  /** Share of matched rows whose labels agree (0..1). */
  labelAgreement?: number;
  meanAbsScoreDifference?: number;
  maxAbsScoreDifference?: number;
  /**
   * How far the candidate's score distribution is from the baseline's, as the drift rule measures it
   * (PSI over 10 bins at the baseline's deciles, KS at its percentiles), over every numeric score of each file.
   */
  scorePsi?: number;
  scoreKs?: number;
}

export interface RowDifference {
  /** The row's key cells joined by ',' (or `row <n>` when rows are compared by position). */
  key: string;
  baseline: string;
  candidate: string;
  /** Absolute score difference, for score differences. */
  difference?: number;
}

export interface ComparisonReport {
  passed: boolean;
  /** One line for events, records and the approval screen. */
  summary: string;
  /** The first failed check's detail. */
  failureReason?: string;
  mode: 'keyed' | 'positional';
  checks: ComparisonCheck[];
  counts: ComparisonCounts;
  metrics: ComparisonMetrics;
  /** Thresholds the verdict was held against (from the route). */
  thresholds: {
    requireEqualRowCount: boolean;
    maxUnmatchedRows: number;
    minLabelAgreement?: number;
    maxMeanAbsScoreDifference?: number;
    maxMaxAbsScoreDifference?: number;
  };
  largestScoreDifferences: RowDifference[];
  labelDisagreements: RowDifference[];
}

export type PredictionSide = 'baseline' | 'candidate';

interface BaselineEntry {
  score: number;
  label: string | undefined;
  matched: boolean;
}

interface SideColumns {
  key: number[];
  score?: number;
  label?: number;
  /** Cells a row needs for every column above to exist. */
  needed: number;
  /** Column names that could not be found, when names are resolved against a header. */
  missing: string[];
}

const KEY_SEPARATOR = '\u0001';

function formatRatio(value: number): string {
  const percent = value * 100;
  return `${Number.isInteger(percent) ? percent : percent.toFixed(2)}%`;
}

function formatNumber(value: number): string {
  return value === 0 ? '0' : Math.abs(value) >= 0.0001 ? value.toFixed(4) : value.toExponential(2);
}

function sameLabel(a: string, b: string): boolean {
  if (a === b) return true;
  const x = Number(a);
  const y = Number(b);
  return a !== '' && b !== '' && Number.isFinite(x) && Number.isFinite(y) && x === y;
}

/** Feed every baseline row, then every candidate row, then call finish(). */
export class PredictionsComparison {
  readonly #rules: ComparisonRules;
  readonly #keyed: boolean;
  readonly #byKey = new Map<string, BaselineEntry>();
  readonly #byPosition: BaselineEntry[] = [];
  readonly #columns: Record<PredictionSide, SideColumns>;
  #phase: PredictionSide = 'baseline';
  readonly #counts: ComparisonCounts = {
    baselineRows: 0,
    candidateRows: 0,
    matchedRows: 0,
    onlyInBaseline: 0,
    onlyInCandidate: 0,
    duplicateKeys: 0,
    unreadableRows: { baseline: 0, candidate: 0 },
    unparsableScores: 0,
    labelDisagreements: 0,
  };
  readonly #firstUnreadableLine: Partial<Record<PredictionSide, number>> = {};
  #labelAgreements = 0;
  #labelCompared = 0;
  #scoreSum = 0;
  #scoreCompared = 0;
  #scoreMax = 0;
  readonly #largest: RowDifference[] = [];
  readonly #disagreements: RowDifference[] = [];
  /** Every numeric baseline score, until the first candidate row cuts the distribution's bins from them. */
  #baselineScores: number[] | undefined = [];
  #shift: ShiftMeter | undefined;

  constructor(rules: ComparisonRules) {
    this.#rules = rules;
    this.#keyed = rules.keyColumns.length > 0;
    const fromNames = rules.header ? undefined : rules.columns;
    this.#columns = { baseline: this.#resolve(fromNames), candidate: this.#resolve(fromNames) };
  }

  /** The header cells of one side's file (only when the rules say the files have a header). */
  header(side: PredictionSide, cells: readonly string[]): void {
    this.#columns[side] = this.#resolve(cells.map((c) => c.trim()));
  }

  baselineRow(cells: readonly string[], line = 0): void {
    if (this.#phase !== 'baseline') throw new Error('Every baseline row must come before the first candidate row.');
    const cols = this.#columns.baseline;
    if (cols.missing.length || cells.length < cols.needed) return this.#unreadable('baseline', line);
    this.#counts.baselineRows++;
    const entry: BaselineEntry = { score: cols.score === undefined ? NaN : Number(cells[cols.score].trim() || NaN), label: cols.label === undefined ? undefined : cells[cols.label].trim(), matched: false };
    if (Number.isFinite(entry.score)) this.#baselineScores?.push(entry.score);
    if (!this.#keyed) {
      this.#byPosition.push(entry);
      return;
    }
    const key = this.#keyOf(cols, cells);
    if (this.#byKey.has(key)) {
      this.#counts.duplicateKeys++;
      return;
    }
    this.#byKey.set(key, entry);
  }

  candidateRow(cells: readonly string[], line = 0): void {
    this.#phase = 'candidate';
    const cols = this.#columns.candidate;
    if (cols.missing.length || cells.length < cols.needed) return this.#unreadable('candidate', line);
    if (this.#baselineScores) {
      this.#shift = this.#baselineScores.length ? new ShiftMeter(this.#baselineScores, 10) : undefined;
      this.#baselineScores = undefined;
    }
    if (this.#shift && cols.score !== undefined) {
      const score = Number(cells[cols.score].trim() || NaN);
      if (Number.isFinite(score)) this.#shift.add(score);
    }
    const index = this.#counts.candidateRows++;
    let base: BaselineEntry | undefined;
    let display: string;
    if (this.#keyed) {
      const key = this.#keyOf(cols, cells);
      display = key.split(KEY_SEPARATOR).join(',');
      base = this.#byKey.get(key);
      if (base?.matched) {
        this.#counts.duplicateKeys++;
        return;
      }
    } else {
      display = `row ${index + 1}`;
      base = this.#byPosition[index];
    }
    if (!base) {
      this.#counts.onlyInCandidate++;
      return;
    }
    base.matched = true;
    this.#counts.matchedRows++;
    if (cols.label !== undefined && base.label !== undefined) {
      const label = cells[cols.label].trim();
      this.#labelCompared++;
      if (sameLabel(base.label, label)) this.#labelAgreements++;
      else {
        this.#counts.labelDisagreements++;
        if (this.#disagreements.length < this.#rules.maxReportedDifferences) this.#disagreements.push({ key: display, baseline: base.label, candidate: label });
      }
    }
    if (cols.score !== undefined) {
      const raw = cells[cols.score].trim();
      const score = Number(raw || NaN);
      if (!Number.isFinite(score) || !Number.isFinite(base.score)) {
        this.#counts.unparsableScores++;
        return;
      }
      const difference = Math.abs(score - base.score);
      this.#scoreCompared++;
      this.#scoreSum += difference;
      if (difference > this.#scoreMax) this.#scoreMax = difference;
      this.#keepLargest({ key: display, baseline: String(base.score), candidate: raw, difference });
    }
  }

  finish(): ComparisonReport {
    const r = this.#rules;
    const c = this.#counts;
    if (this.#keyed) {
      for (const entry of this.#byKey.values()) if (!entry.matched) c.onlyInBaseline++;
    } else {
      c.onlyInBaseline = Math.max(0, this.#byPosition.length - c.matchedRows);
    }
    const metrics: ComparisonMetrics = {
      labelAgreement: this.#labelCompared ? this.#labelAgreements / this.#labelCompared : undefined,
      meanAbsScoreDifference: this.#scoreCompared ? this.#scoreSum / this.#scoreCompared : undefined,
      maxAbsScoreDifference: this.#scoreCompared ? this.#scoreMax : undefined,
      ...this.#distributionShift(),
    };
    const checks: ComparisonCheck[] = [];
    const missing = [...new Set([...this.#columns.baseline.missing, ...this.#columns.candidate.missing])];
    if (missing.length) checks.push({ name: 'columns', passed: false, detail: `the predictions header lacks the column${missing.length > 1 ? 's' : ''} ${missing.map((m) => `'${m}'`).join(', ')} the comparison reads` });
    const unreadable = c.unreadableRows.baseline + c.unreadableRows.candidate;
    if (!missing.length) {
      checks.push(
        unreadable
          ? { name: 'rowsReadable', passed: false, detail: `${(['baseline', 'candidate'] as const).filter((s) => c.unreadableRows[s]).map((s) => `${c.unreadableRows[s]} ${s} row(s) (first on line ${this.#firstUnreadableLine[s]})`).join(' and ')} have fewer than the ${Math.max(this.#columns.baseline.needed, this.#columns.candidate.needed)} cells the comparison reads` }
          : { name: 'rowsReadable', passed: true, detail: 'every row has the cells the comparison reads' },
      );
    }
    if (r.requireEqualRowCount) {
      checks.push(
        c.baselineRows === c.candidateRows
          ? { name: 'rowCount', passed: true, detail: `both wrote ${c.baselineRows} rows` }
          : { name: 'rowCount', passed: false, detail: `the candidate wrote ${c.candidateRows} rows where the baseline wrote ${c.baselineRows}` },
      );
    }
    checks.push(c.matchedRows > 0 ? { name: 'matchedRows', passed: true, detail: `${c.matchedRows} rows paired ${this.#keyed ? 'by key' : 'by position'}` } : { name: 'matchedRows', passed: false, detail: `no candidate row could be paired with a baseline row${this.#keyed ? ' by key' : ''}` });
    if (this.#keyed) {
      checks.push(c.duplicateKeys === 0 ? { name: 'uniqueKeys', passed: true, detail: 'every key appears once per file' } : { name: 'uniqueKeys', passed: false, detail: `${c.duplicateKeys} rows repeat a key already seen in the same file, so they cannot be paired` });
      const unmatched = c.onlyInBaseline + c.onlyInCandidate;
      checks.push(
        unmatched <= r.maxUnmatchedRows
          ? { name: 'unmatchedRows', passed: true, detail: `${unmatched} unpaired rows (at most ${r.maxUnmatchedRows} allowed)` }
          : { name: 'unmatchedRows', passed: false, detail: `${c.onlyInBaseline} baseline rows have no candidate row and ${c.onlyInCandidate} candidate rows no baseline row (at most ${r.maxUnmatchedRows} unpaired allowed)` },
      );
    }
    if (r.labelColumn !== undefined) {
      const agreement = metrics.labelAgreement;
      if (agreement === undefined) checks.push({ name: 'labelAgreement', passed: r.minLabelAgreement === undefined, detail: 'no labels could be compared' });
      else {
        const limit = r.minLabelAgreement;
        const passed = limit === undefined || agreement >= limit;
        checks.push({ name: 'labelAgreement', passed, detail: `labels agree on ${formatRatio(agreement)} of ${this.#labelCompared} rows${limit === undefined ? '' : ` (at least ${formatRatio(limit)} required)`}` });
      }
    }
    if (r.scoreColumn !== undefined) {
      checks.push(c.unparsableScores === 0 ? { name: 'scoresNumeric', passed: true, detail: `${this.#scoreCompared} score pairs are numbers` } : { name: 'scoresNumeric', passed: false, detail: `${c.unparsableScores} paired rows have a score that is not a number` });
      const mean = metrics.meanAbsScoreDifference;
      const max = metrics.maxAbsScoreDifference;
      if (r.maxMeanAbsScoreDifference !== undefined) {
        const limit = r.maxMeanAbsScoreDifference;
        checks.push(mean === undefined ? { name: 'meanAbsScoreDifference', passed: false, detail: 'no scores could be compared' } : { name: 'meanAbsScoreDifference', passed: mean <= limit, detail: `mean absolute score difference ${formatNumber(mean)} (at most ${formatNumber(limit)} allowed)` });
      }
      if (r.maxMaxAbsScoreDifference !== undefined) {
        const limit = r.maxMaxAbsScoreDifference;
        const worst = this.#largest[0];
        checks.push(max === undefined ? { name: 'maxAbsScoreDifference', passed: false, detail: 'no scores could be compared' } : { name: 'maxAbsScoreDifference', passed: max <= limit, detail: `largest absolute score difference ${formatNumber(max)}${worst ? ` (${worst.key})` : ''} (at most ${formatNumber(limit)} allowed)` });
      }
    }
    const failed = checks.filter((check) => !check.passed);
    const figures = [
      `${c.matchedRows} of ${c.baselineRows} baseline rows paired`,
      metrics.labelAgreement !== undefined ? `labels agree ${formatRatio(metrics.labelAgreement)}` : undefined,
      metrics.meanAbsScoreDifference !== undefined ? `mean |Δscore| ${formatNumber(metrics.meanAbsScoreDifference)}` : undefined,
      metrics.maxAbsScoreDifference !== undefined ? `max |Δscore| ${formatNumber(metrics.maxAbsScoreDifference)}` : undefined,
      metrics.scorePsi !== undefined ? `score PSI ${formatNumber(metrics.scorePsi)}, KS ${formatNumber(metrics.scoreKs ?? 0)}` : undefined,
    ].filter(Boolean).join(', ');
    return {
      passed: failed.length === 0,
      summary: failed.length === 0 ? `The candidate agrees with the baseline: ${figures}.` : `The candidate differs from the baseline: ${failed.map((f) => f.detail).join('; ')}.`,
      failureReason: failed[0]?.detail,
      mode: this.#keyed ? 'keyed' : 'positional',
      checks,
      counts: c,
      metrics,
      thresholds: {
        requireEqualRowCount: r.requireEqualRowCount,
        maxUnmatchedRows: r.maxUnmatchedRows,
        minLabelAgreement: r.minLabelAgreement,
        maxMeanAbsScoreDifference: r.maxMeanAbsScoreDifference,
        maxMaxAbsScoreDifference: r.maxMaxAbsScoreDifference,
      },
      largestScoreDifferences: this.#largest,
      labelDisagreements: this.#disagreements,
    };
  }

  #distributionShift(): Pick<ComparisonMetrics, 'scorePsi' | 'scoreKs'> {
    const shift = this.#shift?.result();
    return shift ? { scorePsi: Math.round(shift.psi * 10_000) / 10_000, scoreKs: Math.round(shift.ks * 10_000) / 10_000 } : {};
  }

  #resolve(names: readonly string[] | undefined): SideColumns {
    const missing: string[] = [];
    const index = (ref: ColumnRef | undefined): number | undefined => {
      if (ref === undefined || typeof ref === 'number') return ref;
      const at = names ? names.indexOf(ref) : -1;
      // Before the header is read, names are unknown: the header call resolves them again.
      if (at < 0 && names) missing.push(ref);
      return at < 0 ? 0 : at;
    };
    const key = this.#rules.keyColumns.map((k) => index(k) as number);
    const score = index(this.#rules.scoreColumn);
    const label = index(this.#rules.labelColumn);
    const needed = Math.max(0, ...key, score ?? 0, label ?? 0) + 1;
    return { key, score, label, needed, missing };
  }

  #keyOf(cols: SideColumns, cells: readonly string[]): string {
    return cols.key.map((i) => cells[i].trim()).join(KEY_SEPARATOR);
  }

  #unreadable(side: PredictionSide, line: number): void {
    this.#counts.unreadableRows[side]++;
    this.#firstUnreadableLine[side] ??= line;
  }

  #keepLargest(difference: RowDifference): void {
    const list = this.#largest;
    const limit = this.#rules.maxReportedDifferences;
    if ((difference.difference ?? 0) <= 0) return;
    if (list.length >= limit && (difference.difference ?? 0) <= (list[list.length - 1].difference ?? 0)) return;
    let at = list.length;
    while (at > 0 && (list[at - 1].difference ?? 0) < (difference.difference ?? 0)) at--;
    list.splice(at, 0, difference);
    if (list.length > limit) list.pop();
  }
}

/** Compares two in-memory row lists (tests and small tools); files go through PredictionsComparison. */
export function compareWithBaseline(rules: ComparisonRules, baseline: ReadonlyArray<readonly string[]>, candidate: ReadonlyArray<readonly string[]>): ComparisonReport {
  const comparison = new PredictionsComparison(rules);
  const [bRows, cRows] = rules.header ? [baseline.slice(1), candidate.slice(1)] : [baseline, candidate];
  if (rules.header) {
    comparison.header('baseline', baseline[0] ?? []);
    comparison.header('candidate', candidate[0] ?? []);
  }
  bRows.forEach((row, i) => comparison.baselineRow(row, i + (rules.header ? 2 : 1)));
  cRows.forEach((row, i) => comparison.candidateRow(row, i + (rules.header ? 2 : 1)));
  return comparison.finish();
}
