// Drift in predictions: PSI and KS of a run's scores against the pooled samples of earlier runs,
// counted while the predictions stream past (ScoreDriftMeter, through the validation's analyzer), with a
// known shift and with none; the kept sample is bounded and the same for the same run.
import { distributionShift, PROFILE_SAMPLE_SIZE, ScoreSketch, ShiftMeter } from '../../src/domain/scoreDistributions';
import { PredictionsAnalyzer } from '../../src/validation/predictionsAnalysis';
import { checkDrift, ScoreDriftMeter } from '../../src/validation/scoreDrift';
import { parseValidationRules } from '../../src/config/validationRules';

/** Deterministic uniform numbers in [0, 1). */
function uniform(seed: number, n: number): number[] {
  let s = seed >>> 0 || 1;
  return Array.from({ length: n }, () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 4294967296;
  });
}

/** Scores shaped like a churn model's: most low, a tail of high ones; `shift` moves every score up. */
function scores(seed: number, n: number, shift = 0): number[] {
  return uniform(seed, n).map((u) => Math.min(1, u * u + shift));
}

function csv(values: number[]): Buffer {
  return Buffer.from(values.map((v, i) => `input.csv,C${i},${v.toFixed(6)},${v > 0.5 ? 1 : 0}\n`).join(''));
}

function streamThrough(rules: ReturnType<typeof parseValidationRules>, meter: ScoreDriftMeter, body: Buffer, chunkSize = 4096): void {
  const analyzer = new PredictionsAnalyzer(rules, meter);
  for (let at = 0; at < body.length; at += chunkSize) analyzer.write(body.subarray(at, at + chunkSize));
  analyzer.end();
}

describe('distribution shift statistics', () => {
  it('finds no drift between two samples of the same distribution', () => {
    const shift = distributionShift(scores(1, 20_000), scores(2, 20_000))!;
    expect(shift.psi).toBeLessThan(0.02);
    expect(shift.ks).toBeLessThan(0.03);
  });

  it('finds a known shift: scores moved up by 0.2 give a PSI well over 0.25 and a KS near the moved mass', () => {
    const shift = distributionShift(scores(1, 20_000), scores(2, 20_000, 0.2))!;
    expect(shift.psi).toBeGreaterThan(0.5);
    // P(u² < 0.2) ≈ 0.447 of the baseline sits below 0.2, where no shifted score falls.
    expect(shift.ks).toBeGreaterThan(0.4);
    expect(shift.ks).toBeLessThan(0.5);
  });

  it('gives a KS of 1 (within a percentile) to distributions that do not overlap, and 0 to identical ones', () => {
    expect(distributionShift([1, 2, 3, 4], [10, 11])!.ks).toBeGreaterThanOrEqual(0.75);
    expect(distributionShift([0.3, 0.3, 0.3], [0.3, 0.3])).toMatchObject({ psi: 0, ks: 0 });
    expect(distributionShift([], [1])).toBeUndefined();
  });

  it('counts the current run into bins fixed before it starts, so the meter does not hold the scores', () => {
    const meter = new ShiftMeter(scores(1, 5000), 10);
    for (const x of scores(3, 50_000)) meter.add(x);
    expect(meter.count).toBe(50_000);
    expect(meter.result()!.bins).toBe(10);
  });

  it('keeps a bounded sample of a run, the same for the same run ID, with exact count, mean and range', () => {
    const values = scores(4, 3 * PROFILE_SAMPLE_SIZE);
    const a = new ScoreSketch('bp-r-1');
    const b = new ScoreSketch('bp-r-1');
    for (const x of values) {
      a.add(x);
      b.add(x);
    }
    const p = a.profile();
    expect(p.sample).toHaveLength(PROFILE_SAMPLE_SIZE);
    expect(p.sample).toEqual(b.profile().sample);
    expect(p.count).toBe(values.length);
    expect(p.max).toBe(Math.max(...values));
    expect(p.mean).toBeCloseTo(values.reduce((s, x) => s + x, 0) / values.length, 10);
    expect(a.addCell('n/a')).toBeUndefined();
    expect(a.profile().unparsable).toBe(1);
  });
});

describe('the drift rule during validation', () => {
  const rules = (drift: Record<string, unknown>) => parseValidationRules({ predictions: { columns: ['file', 'customer', 'score', 'label'] }, drift: { column: 'score', ...drift } });
  const baseline = { scores: scores(10, 10_000), runs: [{ runId: 'bp-r-a', scores: 5000 }, { runId: 'bp-r-b', scores: 5000 }] };

  it('streams a predictions file with no shift and passes, stating both statistics and the baseline runs', () => {
    const r = rules({ statistic: 'both' });
    const meter = new ScoreDriftMeter(r.drift!, 'bp-r-c', baseline);
    streamThrough(r, meter, csv(scores(11, 8000)));
    const f = meter.findings();
    expect(f).toMatchObject({ detected: false, statistic: 'both', psiThreshold: 0.2, ksThreshold: 0.1, currentScores: 8000, baselineScores: 10_000 });
    expect(f.baselineRuns.map((b) => b.runId)).toEqual(['bp-r-a', 'bp-r-b']);
    expect(checkDrift(f, 'predictions.csv')).toMatchObject({ name: 'drift', passed: true, detail: expect.stringMatching(/^no drift in predictions\.csv: PSI 0\.0\d+ \(limit 0\.2\), KS 0\.0\d+ \(limit 0\.1\); 8000 scores of column score against 10000 sampled from 2 earlier run\(s\)$/) });
  });

  it('streams a file with a known shift: a warning rule passes the run saying so, a failing rule fails it', () => {
    const shifted = csv(scores(12, 8000, 0.2));
    const warn = rules({ action: 'warn' });
    const warnMeter = new ScoreDriftMeter(warn.drift!, 'bp-r-d', baseline);
    streamThrough(warn, warnMeter, shifted, 1000);
    const f = warnMeter.findings();
    expect(f.detected).toBe(true);
    expect(f.psi).toBeGreaterThan(0.5);
    expect(f.ks).toBeUndefined();
    expect(checkDrift(f, 'predictions.csv')).toMatchObject({ passed: true, detail: expect.stringContaining('(a warning: the run completes)') });

    const fail = rules({ action: 'fail', statistic: 'ks', ksThreshold: 0.3 });
    const failMeter = new ScoreDriftMeter(fail.drift!, 'bp-r-d', baseline);
    streamThrough(fail, failMeter, shifted);
    const check = checkDrift(failMeter.findings(), 'predictions.csv');
    expect(check.passed).toBe(false);
    expect(check.detail).toMatch(/^the scores of predictions\.csv drifted from the route's baseline: KS 0\.4\d+ \(limit 0\.3\)/);
  });

  it('skips the statistic until the route has a baseline, but keeps the sample for the runs after it', () => {
    const r = rules({});
    const meter = new ScoreDriftMeter(r.drift!, 'bp-r-first');
    streamThrough(r, meter, csv(scores(13, 100)));
    const check = checkDrift(meter.findings(), 'predictions.csv');
    expect(check).toMatchObject({ passed: true, skipped: true, detail: expect.stringMatching(/no completed run with kept scores yet/) });
    expect(meter.profile().count).toBe(100);
  });

  it('fails, naming the columns, when the score column is not in the file', () => {
    const r = parseValidationRules({ predictions: { header: true }, drift: { column: 'probability' } });
    const meter = new ScoreDriftMeter(r.drift!, 'bp-r-e', baseline);
    streamThrough(r, meter, Buffer.from('file,customer,score\na.csv,1,0.2\n'));
    expect(checkDrift(meter.findings(), 'predictions.csv')).toMatchObject({ passed: false, detail: "drift could not be measured on predictions.csv: the predictions have no column 'probability' (columns: file, customer, score)" });
  });

  it('refuses a drift rule naming a column the file cannot name, or with a threshold out of range', () => {
    expect(() => parseValidationRules({ drift: { column: 'score' } })).toThrow(/validation\.drift\.column: names the column 'score', but predictions has no header and no 'columns' list/);
    expect(() => parseValidationRules({ drift: { column: 2, ksThreshold: 2 } })).toThrow(/validation\.drift\.ksThreshold: must be at most 1/);
    expect(() => parseValidationRules({ drift: { column: 2, action: 'page' } })).toThrow(/validation\.drift\.action: must be 'warn'/);
  });
});
