// What a benchmark section reports: rows of named figures with units, printed by bench/run.ts. A row
// may carry a goal (a bound on its value); the line then says whether the goal is met in this run.
export interface BenchGoal {
  /** The value must be at least (`min`) or at most (`max`) `target`. */
  kind: 'min' | 'max';
  target: number;
  /** What the goal is, in words, for the summary (e.g. "engine throughput as a share of replay alone"). */
  label: string;
}

export interface BenchRow {
  name: string;
  value: number;
  unit: string;
  note?: string;
  goal?: BenchGoal;
}

/** How `npm run bench` was asked to run (see bench/run.ts). */
export interface BenchOptions {
  /** Scaled-down sizes for iterating; goals are judged on full runs. */
  quick: boolean;
}

export interface BenchSection {
  title: string;
  rows: BenchRow[];
}

export function goalMet(row: BenchRow): boolean | undefined {
  if (!row.goal) return undefined;
  if (!Number.isFinite(row.value)) return false;
  return row.goal.kind === 'min' ? row.value >= row.goal.target : row.value <= row.goal.target;
}

export function goalText(goal: BenchGoal): string {
  return `${goal.kind === 'min' ? '≥' : '≤'} ${goal.target}`;
}

function formatValue(value: number): string {
  return Number.isInteger(value) ? String(value) : value.toFixed(value < 10 ? 2 : 1);
}

export function formatSection(section: BenchSection): string {
  const width = Math.max(...section.rows.map((r) => r.name.length), 10);
  const lines = [section.title, '-'.repeat(section.title.length)];
  for (const r of section.rows) {
    const met = goalMet(r);
    const goal = r.goal ? `   [goal ${met ? 'met' : 'missed'}: ${goalText(r.goal)}]` : '';
    lines.push(`  ${r.name.padEnd(width)}  ${formatValue(r.value).padStart(10)} ${r.unit}${r.note ? `   (${r.note})` : ''}${goal}`);
  }
  return lines.join('\n');
}

/** One line per goal of the sections run: met or missed, with the figure. */
export function formatGoals(sections: BenchSection[]): string {
  const lines = ['Goals', '-----'];
  for (const s of sections) {
    for (const r of s.rows) {
      if (!r.goal) continue;
      lines.push(`  goal ${goalMet(r) ? 'met   ' : 'missed'}  ${r.goal.label}: ${formatValue(r.value)} ${r.unit} (goal ${goalText(r.goal)})`);
    }
  }
  return lines.join('\n');
}
