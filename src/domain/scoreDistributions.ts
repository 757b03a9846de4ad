// How far a run's scores have moved from a baseline's: the population stability index (PSI) over bins
// cut at the baseline's quantiles, and the Kolmogorov-Smirnov statistic (the largest gap between the two
// cumulative distributions). Pure and streaming: a run's scores are fed one at a time and only counts
// per bin are kept, so a 1 GB predictions file costs the same memory as a small one. What is kept of a
// run for later baselines is a bounded, seeded sample (ScoreSketch), so the same run always keeps the
// same sample.

/** At most this many scores of a run are kept as its profile (a reservoir sample). */
export const PROFILE_SAMPLE_SIZE = 5000;
/** KS is evaluated at this many quantiles of the baseline. */
const KS_QUANTILES = 100;
/** A bin's share is floored at this before the PSI's logarithm, so an empty bin does not make it infinite. */
const PSI_FLOOR = 1e-4;

/** What a run keeps of its scores so that later runs can be compared with it. */
export interface ScoreProfile {
  runId: string;
  count: number;
  mean: number;
  min: number;
  max: number;
  /** Non-numeric cells in the score column (not in count). */
  unparsable: number;
  /** Up to PROFILE_SAMPLE_SIZE scores, chosen uniformly at random with a seed from the run ID. */
  sample: number[];
}

export interface DistributionShift {
  psi: number;
  ks: number;
  baselineCount: number;
  currentCount: number;
  bins: number;
}

function seedOf(text: string): number {
  let h = 2166136261;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 16777619);
  }
  return h >>> 0;
}

/** Scores of one run, fed one at a time: count, mean, range and a uniform sample of bounded size. */
export class ScoreSketch {
  readonly #runId: string;
  readonly #capacity: number;
  readonly #sample: number[] = [];
  #state: number;
  #count = 0;
  #sum = 0;
  #min = Infinity;
  #max = -Infinity;
  #unparsable = 0;

  constructor(runId: string, capacity = PROFILE_SAMPLE_SIZE) {
    this.#runId = runId;
    this.#capacity = capacity;
    this.#state = seedOf(runId) || 1;
  }

  /** Adds one cell of the score column; a cell that is not a finite number is counted apart. */
  addCell(cell: string): number | undefined {
    const text = cell.trim();
    const x = text === '' ? NaN : Number(text);
    if (!Number.isFinite(x)) {
      this.#unparsable++;
      return undefined;
    }
    this.add(x);
    return x;
  }

  add(x: number): void {
    this.#count++;
    this.#sum += x;
    if (x < this.#min) this.#min = x;
    if (x > this.#max) this.#max = x;
    if (this.#sample.length < this.#capacity) this.#sample.push(x);
    else {
      // Algorithm R: the n-th score replaces a kept one with probability capacity / n.
      const at = Math.floor(this.#random() * this.#count);
      if (at < this.#capacity) this.#sample[at] = x;
    }
  }

  get count(): number {
    return this.#count;
  }

  profile(): ScoreProfile {
    return {
      runId: this.#runId,
      count: this.#count,
      mean: this.#count ? this.#sum / this.#count : 0,
      min: this.#count ? this.#min : 0,
      max: this.#count ? this.#max : 0,
      unparsable: this.#unparsable,
      sample: [...this.#sample],
    };
  }

  #random(): number {
    // xorshift32: deterministic per run, so validating the same outputs again keeps the same sample.
    let s = this.#state;
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    this.#state = s >>> 0;
    return this.#state / 4294967296;
  }
}

/** Index of the first edge >= x (edges ascending): the bin x falls in, bins being (e[i-1], e[i]]. */
function binOf(edges: readonly number[], x: number): number {
  let lo = 0;
  let hi = edges.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (edges[mid] < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Distinct values at the baseline's k/n quantiles, k = 1..n-1: the inner edges of n bins (fewer with ties). */
function quantileEdges(sorted: readonly number[], n: number): number[] {
  const edges: number[] = [];
  for (let k = 1; k < n; k++) {
    const v = sorted[Math.min(sorted.length - 1, Math.floor((k * sorted.length) / n))];
    if (edges.length === 0 || v > edges[edges.length - 1]) edges.push(v);
  }
  return edges;
}

function countsIn(edges: readonly number[], values: readonly number[]): number[] {
  const counts = new Array<number>(edges.length + 1).fill(0);
  for (const v of values) counts[binOf(edges, v)]++;
  return counts;
}

/**
 * Compares scores fed one at a time with a baseline (the pooled samples of earlier runs). Bins are cut
 * at the baseline's quantiles before the first score arrives, so the current run is only counted,
 * exactly, never held. KS is read at the baseline's percentiles: it can understate the exact statistic
 * by at most the baseline's share between two neighbouring percentiles (about 1%).
 */
export class ShiftMeter {
  readonly #psiEdges: number[];
  readonly #ksEdges: number[];
  readonly #basePsi: number[];
  readonly #baseKs: number[];
  readonly #curPsi: number[];
  readonly #curKs: number[];
  readonly #baselineCount: number;
  #count = 0;

  constructor(baseline: readonly number[], bins: number) {
    if (baseline.length === 0) throw new Error('A distribution shift needs at least one baseline score.');
    const sorted = [...baseline].sort((a, b) => a - b);
    this.#baselineCount = sorted.length;
    this.#psiEdges = quantileEdges(sorted, bins);
    this.#ksEdges = quantileEdges(sorted, KS_QUANTILES);
    this.#basePsi = countsIn(this.#psiEdges, sorted);
    this.#baseKs = countsIn(this.#ksEdges, sorted);
    this.#curPsi = new Array<number>(this.#psiEdges.length + 1).fill(0);
    this.#curKs = new Array<number>(this.#ksEdges.length + 1).fill(0);
  }

  add(x: number): void {
    this.#count++;
    this.#curPsi[binOf(this.#psiEdges, x)]++;
    this.#curKs[binOf(this.#ksEdges, x)]++;
  }

  get count(): number {
    return this.#count;
  }

  /** The shift so far; undefined before any score was added. */
  result(): DistributionShift | undefined {
    if (this.#count === 0) return undefined;
    let psi = 0;
    for (let i = 0; i < this.#basePsi.length; i++) {
      const expected = Math.max(this.#basePsi[i] / this.#baselineCount, PSI_FLOOR);
      const actual = Math.max(this.#curPsi[i] / this.#count, PSI_FLOOR);
      psi += (actual - expected) * Math.log(actual / expected);
    }
    let ks = 0;
    let base = 0;
    let cur = 0;
    // Only the inner edges: past the last one both cumulative shares are 1.
    for (let i = 0; i < this.#ksEdges.length; i++) {
      base += this.#baseKs[i];
      cur += this.#curKs[i];
      ks = Math.max(ks, Math.abs(base / this.#baselineCount - cur / this.#count));
    }
    return { psi, ks, baselineCount: this.#baselineCount, currentCount: this.#count, bins: this.#basePsi.length };
  }
}

/** The shift between two in-memory samples (the model flow's candidate against its baseline). */
export function distributionShift(baseline: readonly number[], current: readonly number[], bins = 10): DistributionShift | undefined {
  if (baseline.length === 0 || current.length === 0) return undefined;
  const meter = new ShiftMeter(baseline, bins);
  for (const x of current) meter.add(x);
  return meter.result();
}
