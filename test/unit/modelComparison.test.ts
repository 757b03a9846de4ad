// The comparison of a candidate's predictions with the baseline's: pairing rows by key or position,
// label agreement, score differences, thresholds, and the report's details; plus the rules' schema.
import { compareWithBaseline, PredictionsComparison } from '../../src/model/predictionComparison';
import { parseComparisonRules } from '../../src/config/comparisonRules';

/** Rows as the sample scoring module writes them: file, customer, probability, label, model version. */
function rows(scores: Array<[string, number, number]>, version = '1'): string[][] {
  return scores.map(([customer, probability, label]) => ['part-000.csv', customer, probability.toFixed(4), String(label), version]);
}

const KEYED = parseComparisonRules({ keyColumns: [0, 1], scoreColumn: 2, labelColumn: 3, minLabelAgreement: 0.9, maxMeanAbsScoreDifference: 0.05, maxMaxAbsScoreDifference: 0.2 });

const BASELINE = rows([
  ['C1', 0.1, 0],
  ['C2', 0.8, 1],
  ['C3', 0.4, 0],
  ['C4', 0.6, 1],
  ['C5', 0.2, 0],
]);

describe('comparing a candidate with the baseline', () => {
  it('passes identical predictions with every figure at its best, whatever the model version column says', () => {
    const report = compareWithBaseline(KEYED, BASELINE, BASELINE.map((r) => [...r.slice(0, 4), '2']));
    expect(report.passed).toBe(true);
    expect(report.mode).toBe('keyed');
    expect(report.metrics).toEqual({ labelAgreement: 1, meanAbsScoreDifference: 0, maxAbsScoreDifference: 0, scorePsi: 0, scoreKs: 0 });
    expect(report.counts).toMatchObject({ baselineRows: 5, candidateRows: 5, matchedRows: 5, onlyInBaseline: 0, onlyInCandidate: 0, labelDisagreements: 0 });
    expect(report.summary).toMatch(/^The candidate agrees with the baseline: 5 of 5 baseline rows paired, labels agree 100%/);
    expect(report.checks.every((c) => c.passed)).toBe(true);
  });

  it('pairs rows by key when the candidate wrote them in another order', () => {
    const report = compareWithBaseline(KEYED, BASELINE, [...BASELINE].reverse());
    expect(report.passed).toBe(true);
    expect(report.counts.matchedRows).toBe(5);
  });

  it('fails on label agreement below the threshold and lists the disagreeing rows', () => {
    const candidate = rows([
      ['C1', 0.1, 1],
      ['C2', 0.8, 1],
      ['C3', 0.4, 1],
      ['C4', 0.6, 1],
      ['C5', 0.2, 0],
    ]);
    const report = compareWithBaseline(KEYED, BASELINE, candidate);
    expect(report.passed).toBe(false);
    expect(report.metrics.labelAgreement).toBeCloseTo(0.6);
    expect(report.failureReason).toBe('labels agree on 60% of 5 rows (at least 90% required)');
    expect(report.labelDisagreements).toEqual([
      { key: 'part-000.csv,C1', baseline: '0', candidate: '1' },
      { key: 'part-000.csv,C3', baseline: '0', candidate: '1' },
    ]);
  });

  it('fails on mean and largest absolute score difference, naming the worst row, largest differences first', () => {
    const candidate = rows([
      ['C1', 0.15, 0],
      ['C2', 0.5, 1],
      ['C3', 0.4, 0],
      ['C4', 0.7, 1],
      ['C5', 0.2, 0],
    ]);
    const report = compareWithBaseline(KEYED, BASELINE, candidate);
    expect(report.passed).toBe(false);
    expect(report.metrics.meanAbsScoreDifference).toBeCloseTo((0.05 + 0.3 + 0.1) / 5);
    expect(report.metrics.maxAbsScoreDifference).toBeCloseTo(0.3);
    const failed = report.checks.filter((c) => !c.passed).map((c) => c.name);
    expect(failed).toEqual(['meanAbsScoreDifference', 'maxAbsScoreDifference']);
    expect(report.checks.find((c) => c.name === 'maxAbsScoreDifference')?.detail).toBe('largest absolute score difference 0.3000 (part-000.csv,C2) (at most 0.2000 allowed)');
    expect(report.largestScoreDifferences.map((d) => d.key)).toEqual(['part-000.csv,C2', 'part-000.csv,C4', 'part-000.csv,C1']);
  });

  it('keeps only as many differences as the rules ask for', () => {
    const rules = parseComparisonRules({ keyColumns: [1], scoreColumn: 2, maxReportedDifferences: 2 });
    const baseline = rows(Array.from({ length: 20 }, (_, i): [string, number, number] => [`C${i}`, 0.5, 0]));
    const candidate = rows(Array.from({ length: 20 }, (_, i): [string, number, number] => [`C${i}`, 0.5 + i / 100, 0]));
    const report = compareWithBaseline(rules, baseline, candidate);
    expect(report.passed).toBe(true);
    expect(report.largestScoreDifferences.map((d) => d.key)).toEqual(['C19', 'C18']);
  });

  it('counts rows only one side wrote, and fails the row count and unmatched rows checks', () => {
    const candidate = [...BASELINE.slice(0, 4), ...rows([['C9', 0.3, 0], ['C10', 0.3, 0]])];
    const report = compareWithBaseline(KEYED, BASELINE, candidate);
    expect(report.counts).toMatchObject({ baselineRows: 5, candidateRows: 6, matchedRows: 4, onlyInBaseline: 1, onlyInCandidate: 2 });
    expect(report.checks.filter((c) => !c.passed).map((c) => c.name)).toEqual(['rowCount', 'unmatchedRows']);
    expect(report.failureReason).toBe('the candidate wrote 6 rows where the baseline wrote 5');
  });

  it('tolerates unmatched rows up to the limit when equal row counts are not required', () => {
    const rules = parseComparisonRules({ keyColumns: [1], labelColumn: 3, requireEqualRowCount: false, maxUnmatchedRows: 1 });
    expect(compareWithBaseline(rules, BASELINE, BASELINE.slice(0, 4)).passed).toBe(true);
    expect(compareWithBaseline(rules, BASELINE, BASELINE.slice(0, 3)).passed).toBe(false);
  });

  it('fails when a key repeats in a file, since such rows cannot be paired', () => {
    const report = compareWithBaseline(KEYED, [...BASELINE, BASELINE[0]], [...BASELINE, BASELINE[1]]);
    expect(report.counts.duplicateKeys).toBe(2);
    expect(report.checks.find((c) => c.name === 'uniqueKeys')).toMatchObject({ passed: false });
  });

  it('compares rows in file order when no key columns are given', () => {
    const rules = parseComparisonRules({ scoreColumn: 2, labelColumn: 3 });
    const report = compareWithBaseline(rules, BASELINE, [...BASELINE.slice(0, 4), ...rows([['C5', 0.25, 0], ['C6', 0.3, 0]])]);
    expect(report.mode).toBe('positional');
    expect(report.counts).toMatchObject({ matchedRows: 5, onlyInCandidate: 1, onlyInBaseline: 0 });
    expect(report.largestScoreDifferences[0]).toMatchObject({ key: 'row 5', difference: expect.closeTo(0.05, 10) });
    expect(report.checks.find((c) => c.name === 'rowCount')).toMatchObject({ passed: false });
    expect(report.checks.some((c) => c.name === 'unmatchedRows')).toBe(false);
  });

  it('finds named columns in each file’s own header, in whatever order each file has them', () => {
    const rules = parseComparisonRules({ header: true, keyColumns: ['id'], scoreColumn: 'score', labelColumn: 'label', minLabelAgreement: 1 });
    const baseline = [['id', 'score', 'label'], ['a', '0.1', 'no'], ['b', '0.9', 'yes']];
    const candidate = [['label', 'id', 'score'], ['yes', 'b', '0.9'], ['no', 'a', '0.1']];
    const report = compareWithBaseline(rules, baseline, candidate);
    expect(report.passed).toBe(true);
    expect(report.counts.matchedRows).toBe(2);
  });

  it('fails naming the column a header lacks', () => {
    const rules = parseComparisonRules({ header: true, keyColumns: ['id'], scoreColumn: 'score' });
    const report = compareWithBaseline(rules, [['id', 'score'], ['a', '0.1']], [['id', 'probability'], ['a', '0.1']]);
    expect(report.passed).toBe(false);
    expect(report.failureReason).toBe("the predictions header lacks the column 'score' the comparison reads");
  });

  it('reads labels written as 1 and 1.0 as the same label', () => {
    const rules = parseComparisonRules({ keyColumns: [1], labelColumn: 3, minLabelAgreement: 1 });
    const candidate = BASELINE.map((r) => [r[0], r[1], r[2], `${r[3]}.0`, r[4]]);
    expect(compareWithBaseline(rules, BASELINE, candidate).passed).toBe(true);
  });

  it('fails on scores that are not numbers and on rows too short to read, with the line of the first', () => {
    const candidate = [...BASELINE.slice(0, 3), ['part-000.csv', 'C4', 'n/a', '1', '1'], ['part-000.csv', 'C5']];
    const comparison = new PredictionsComparison(KEYED);
    BASELINE.forEach((r, i) => comparison.baselineRow(r, i + 1));
    candidate.forEach((r, i) => comparison.candidateRow(r, i + 1));
    const report = comparison.finish();
    expect(report.counts.unparsableScores).toBe(1);
    expect(report.counts.unreadableRows).toEqual({ baseline: 0, candidate: 1 });
    expect(report.checks.find((c) => c.name === 'rowsReadable')?.detail).toBe('1 candidate row(s) (first on line 5) have fewer than the 4 cells the comparison reads');
    expect(report.checks.find((c) => c.name === 'scoresNumeric')).toMatchObject({ passed: false });
  });

  it('fails when nothing could be paired at all', () => {
    const report = compareWithBaseline(KEYED, BASELINE, rows([['X1', 0.1, 0]]));
    expect(report.checks.find((c) => c.name === 'matchedRows')).toMatchObject({ passed: false, detail: 'no candidate row could be paired with a baseline row by key' });
  });

  it('refuses baseline rows after the first candidate row (the baseline is held, the candidate streamed)', () => {
    const comparison = new PredictionsComparison(KEYED);
    comparison.candidateRow(BASELINE[0]);
    expect(() => comparison.baselineRow(BASELINE[0])).toThrow(/before the first candidate row/);
  });
});

describe('comparison rules', () => {
  it('fills defaults: rows compared in order, equal row counts required, no unmatched rows', () => {
    expect(parseComparisonRules({})).toMatchObject({ header: false, delimiter: ',', keyColumns: [], requireEqualRowCount: true, maxUnmatchedRows: 0, maxReportedDifferences: 10 });
  });

  it('names the field of every mistake: thresholds without their column, names without a header, ratios out of range', () => {
    expect(() => parseComparisonRules({ minLabelAgreement: 0.9, maxMeanAbsScoreDifference: 0.1, keyColumns: ['customer'] })).toThrow(
      /comparison\.keyColumns\.0: names the column 'customer', but the file has no header[\s\S]*comparison\.minLabelAgreement: needs labelColumn[\s\S]*comparison\.maxMeanAbsScoreDifference: needs scoreColumn/,
    );
    expect(() => parseComparisonRules({ labelColumn: 3, minLabelAgreement: 95 })).toThrow(/comparison\.minLabelAgreement: must be a ratio between 0 and 1/);
    expect(() => parseComparisonRules({ columns: ['file', 'id'], scoreColumn: 'score' })).toThrow(/comparison\.scoreColumn: names the column 'score', which is not in columns \(file, id\)/);
    expect(() => parseComparisonRules({ scoreColum: 2 })).toThrow(/unknown field 'scoreColum'/);
  });

  it('accepts column names from a columns list when the file has no header', () => {
    const rules = parseComparisonRules({ columns: ['file', 'customer', 'probability', 'label', 'version'], keyColumns: ['file', 'customer'], scoreColumn: 'probability', labelColumn: 'label' });
    expect(compareWithBaseline(rules, BASELINE, BASELINE).passed).toBe(true);
  });

  it('reports the same distribution statistics as the drift rule: none for the same scores, a known shift for scores moved up', () => {
    const many = (shift: number) => rows(Array.from({ length: 400 }, (_, i): [string, number, number] => [`C${i}`, Math.min(1, ((i * 37) % 400) / 400 + shift), 0]));
    const rules = parseComparisonRules({ keyColumns: [0, 1], scoreColumn: 2 });
    const same = compareWithBaseline(rules, many(0), many(0));
    expect(same.metrics).toMatchObject({ scorePsi: 0, scoreKs: 0 });
    const shifted = compareWithBaseline(rules, many(0), many(0.3));
    // Scores spread evenly over [0, 1) moved up by 0.3: 30% of the baseline lies where no candidate score falls.
    expect(shifted.metrics.scoreKs).toBeCloseTo(0.3, 1);
    expect(shifted.metrics.scorePsi).toBeGreaterThan(1);
    expect(shifted.summary).toMatch(/score PSI \d+\.\d{4}, KS 0\.\d{4}/);
  });
});
