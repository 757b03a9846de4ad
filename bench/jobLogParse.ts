// Job-log parsing rate on the worst input a job can leave: a progress overview with no line ends at
// all. The parser scans each chunk once and buffers at most its line cap, so the rate must not fall
// as the log grows: the time for 32 MB over the time for 16 MB should stay near 2 (linear).
import { JobProgressLogParser } from '../src/validation/jobProgressLog';
import type { BenchRow, BenchSection } from './benchSection';

const MB = 1024 * 1024;
/** Blob downloads arrive in chunks of about this size. */
const CHUNK_BYTES = 64 * 1024;

function parseNoNewlineLog(megabytes: number): { seconds: number; mostBuffered: number } {
  const chunk = Buffer.alloc(CHUNK_BYTES, 'x');
  const parser = new JobProgressLogParser();
  let mostBuffered = 0;
  const started = process.hrtime.bigint();
  for (let sent = 0; sent < megabytes * MB; sent += CHUNK_BYTES) {
    parser.write(chunk);
    if (parser.bufferedLineLength > mostBuffered) mostBuffered = parser.bufferedLineLength;
  }
  parser.endFile();
  const summary = parser.result();
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (summary.lines !== 1 || summary.truncatedLines !== 1) throw new Error(`Expected one truncated line, got ${summary.lines} line(s), ${summary.truncatedLines} truncated.`);
  return { seconds, mostBuffered };
}

/** The fastest of a few passes: one pass of 16 MB takes milliseconds, so a single one is mostly noise. */
function fastestOf(passes: number, megabytes: number): { seconds: number; mostBuffered: number } {
  let best = parseNoNewlineLog(megabytes);
  for (let i = 1; i < passes; i++) {
    const run = parseNoNewlineLog(megabytes);
    if (run.seconds < best.seconds) best = run;
  }
  return best;
}

export async function benchJobLogParse(): Promise<BenchSection> {
  parseNoNewlineLog(4); // warm-up: the first pass pays for compilation
  const small = fastestOf(7, 16);
  const large = fastestOf(7, 32);
  const rows: BenchRow[] = [
    { name: 'no-newline log, 16 MB', value: 16 / small.seconds, unit: 'MB/s', note: `${small.seconds.toFixed(3)} s` },
    { name: 'no-newline log, 32 MB', value: 32 / large.seconds, unit: 'MB/s', note: `${large.seconds.toFixed(3)} s` },
    { name: 'time 32 MB / 16 MB', value: large.seconds / small.seconds, unit: '×', note: 'fastest of 7 each; 2 = linear, the old parser was 4× per doubling' },
    { name: 'line buffer, most held', value: Math.max(small.mostBuffered, large.mostBuffered), unit: 'chars', note: 'the line cap' },
  ];
  return { title: 'Job progress log parsing', rows };
}
