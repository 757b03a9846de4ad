// The drift rule of validation: while the predictions stream past, the score column's cells are counted
// into bins cut at the baseline's quantiles (the pooled score samples of the route's latest completed
// runs), so the PSI and KS statistics come out at the end of the same single pass, in memory that does
// not grow with the file. A bounded sample of this run's scores is kept too: it becomes part of later
// runs' baselines once this run has completed.
import type { DriftRule } from '../config/validationRules';
import { ScoreProfile, ScoreSketch, ShiftMeter } from '../domain/scoreDistributions';
import type { ValidationCheck } from './validationReport';
import { splitCsvRecord } from './csvRecordScanner';

/** The scores earlier runs kept, pooled, and which runs they came from. */
export interface DriftBaseline {
  scores: number[];
  runs: Array<{ runId: string; finishedAt?: string; scores: number }>;
}

/** What the drift check found; it goes into the validation report, the run's verdict and the DriftDetected event. */
export interface DriftFindings {
  column: string | number;
  statistic: DriftRule['statistic'];
  action: DriftRule['action'];
  psiThreshold?: number;
  ksThreshold?: number;
  psi?: number;
  ks?: number;
  detected: boolean;
  /** Why no statistic was computed (no baseline yet, column missing, no numeric score). */
  notComputed?: string;
  /** The score column is missing or holds no number: a mistake in the rules or the model, not a lack of history. */
  columnProblem?: boolean;
  baselineRuns: DriftBaseline['runs'];
  baselineScores: number;
  currentScores: number;
  /** Cells of the score column that are not numbers (left out of the statistics). */
  unparsable: number;
}

function rounded(value: number | undefined): number | undefined {
  return value === undefined ? undefined : Math.round(value * 10_000) / 10_000;
}

export class ScoreDriftMeter {
  readonly #rule: DriftRule;
  readonly #sketch: ScoreSketch;
  readonly #meter: ShiftMeter | undefined;
  readonly #baseline: DriftBaseline | undefined;
  #index: number | undefined;
  #missing: string | undefined;

  constructor(rule: DriftRule, runId: string, baseline?: DriftBaseline) {
    this.#rule = rule;
    this.#sketch = new ScoreSketch(runId);
    this.#baseline = baseline && baseline.scores.length > 0 ? baseline : undefined;
    this.#meter = this.#baseline ? new ShiftMeter(this.#baseline.scores, rule.bins) : undefined;
    if (typeof rule.column === 'number') this.#index = rule.column;
  }

  /** Resolves a named column once the names are known (rules' columns, or the header). */
  useColumnNames(names: readonly string[] | undefined): void {
    if (typeof this.#rule.column === 'number') return;
    const at = names ? names.indexOf(this.#rule.column) : -1;
    if (at >= 0) this.#index = at;
    else this.#missing = `the predictions have no column '${this.#rule.column}'${names ? ` (columns: ${names.join(', ')})` : ' (no header and no columns list)'}`;
  }

  /** True when rows need their cells split for this check. */
  get wantsCells(): boolean {
    return this.#index !== undefined;
  }

  addRow(cells: readonly string[]): void {
    if (this.#index === undefined) return;
    this.#add(cells[this.#index] ?? '');
  }

  /** One record's text: only the score cell is cut out (the whole row is split only when it has quotes). */
  addRecord(text: string, delimiter: string, quote: string): void {
    const index = this.#index;
    if (index === undefined) return;
    if (text.includes(quote)) return this.addRow(splitCsvRecord(text, delimiter, quote));
    let start = 0;
    for (let i = 0; i < index; i++) {
      const next = text.indexOf(delimiter, start);
      if (next < 0) return this.#add('');
      start = next + 1;
    }
    const end = text.indexOf(delimiter, start);
    this.#add(end < 0 ? text.slice(start) : text.slice(start, end));
  }

  #add(cell: string): void {
    const x = this.#sketch.addCell(cell);
    if (x !== undefined) this.#meter?.add(x);
  }

  profile(): ScoreProfile {
    return this.#sketch.profile();
  }

  findings(): DriftFindings {
    const r = this.#rule;
    const shift = this.#meter?.result();
    const usesPsi = r.statistic !== 'ks';
    const usesKs = r.statistic !== 'psi';
    const profile = this.#sketch.profile();
    const columnProblem = this.#missing ?? (profile.count === 0 && this.#index !== undefined ? `column ${r.column} holds no numeric score` : undefined);
    const notComputed = columnProblem ?? (!this.#baseline ? `the route has no completed run with kept scores yet (the baseline is its latest ${r.baselineRuns})` : undefined);
    const psi = shift ? rounded(shift.psi) : undefined;
    const ks = shift ? rounded(shift.ks) : undefined;
    const detected = !notComputed && ((usesPsi && psi !== undefined && psi > r.psiThreshold) || (usesKs && ks !== undefined && ks > r.ksThreshold));
    return {
      column: r.column,
      statistic: r.statistic,
      action: r.action,
      psiThreshold: usesPsi ? r.psiThreshold : undefined,
      ksThreshold: usesKs ? r.ksThreshold : undefined,
      psi: usesPsi && !notComputed ? psi : undefined,
      ks: usesKs && !notComputed ? ks : undefined,
      detected,
      notComputed,
      ...(columnProblem ? { columnProblem: true } : {}),
      baselineRuns: this.#baseline?.runs ?? [],
      baselineScores: this.#baseline?.scores.length ?? 0,
      currentScores: profile.count,
      unparsable: profile.unparsable,
    };
  }
}

/** The validation check: passes unless drift was detected and the rule says it fails the run. */
export function checkDrift(f: DriftFindings, predictionsFile: string): ValidationCheck {
  if (f.notComputed) {
    // A missing column is a mistake in the rules or the model's output: it fails rather than hiding drift.
    return f.columnProblem
      ? { name: 'drift', passed: false, detail: `drift could not be measured on ${predictionsFile}: ${f.notComputed}` }
      : { name: 'drift', passed: true, skipped: true, detail: `drift was not measured: ${f.notComputed}` };
  }
  const figures = [
    f.psi !== undefined ? `PSI ${f.psi} (limit ${f.psiThreshold})` : undefined,
    f.ks !== undefined ? `KS ${f.ks} (limit ${f.ksThreshold})` : undefined,
  ].filter(Boolean).join(', ');
  const against = `${f.currentScores} scores of column ${f.column} against ${f.baselineScores} sampled from ${f.baselineRuns.length} earlier run(s)${f.unparsable ? `; ${f.unparsable} cell(s) not a number` : ''}`;
  if (!f.detected) return { name: 'drift', passed: true, detail: `no drift in ${predictionsFile}: ${figures}; ${against}` };
  return {
    name: 'drift',
    passed: f.action === 'warn',
    detail: `the scores of ${predictionsFile} drifted from the route's baseline: ${figures}; ${against}${f.action === 'warn' ? ' (a warning: the run completes)' : ''}`,
  };
}
