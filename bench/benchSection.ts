// What a benchmark section reports: rows of named figures with units, printed by bench/run.ts.
export interface BenchRow {
  name: string;
  value: number;
  unit: string;
  note?: string;
}

export interface BenchSection {
  title: string;
  rows: BenchRow[];
}

export function formatSection(section: BenchSection): string {
  const width = Math.max(...section.rows.map((r) => r.name.length), 10);
  const lines = [section.title, '-'.repeat(section.title.length)];
  for (const r of section.rows) {
    const value = Number.isInteger(r.value) ? String(r.value) : r.value.toFixed(r.value < 10 ? 2 : 1);
    lines.push(`  ${r.name.padEnd(width)}  ${value.padStart(10)} ${r.unit}${r.note ? `   (${r.note})` : ''}`);
  }
  return lines.join('\n');
}
