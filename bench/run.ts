// `npm run bench`: runs every benchmark section in turn, prints its figures and, at the end, each goal
// met or missed in this run.
//   npm run bench -- --only engine      one section (a word of its name: engine, main, validation, cold)
//   npm run bench -- --quick            smaller sizes for iterating (validation on 128 MB, 5 cold-start
//                                       rounds); the figures quoted anywhere come from a full run
import * as os from 'node:os';
import { BenchOptions, BenchSection, formatGoals, formatSection } from './benchSection';
import { benchDurableEngine } from './durableEngine';
import { benchMainJob } from './mainJob';
import { benchValidation } from './validation';
import { benchColdStart } from './coldStart';
import { benchJobLogParse } from './jobLogParse';
import { benchRunIndex } from './runIndex';

const SECTIONS: Array<{ name: string; run: (options: BenchOptions) => Promise<BenchSection> }> = [
  { name: 'durable engine', run: benchDurableEngine },
  { name: 'main job', run: benchMainJob },
  { name: 'validation', run: benchValidation },
  { name: 'job log parsing', run: benchJobLogParse },
  { name: 'cold start', run: benchColdStart },
  { name: 'run index', run: benchRunIndex },
];

function parseArgs(argv: string[]): { only: string[]; quick: boolean } {
  const only: string[] = [];
  let quick = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--quick') quick = true;
    else if (a === '--only') {
      const v = argv[++i];
      if (!v) throw new Error('--only needs a section name (engine, main, validation, cold).');
      only.push(...v.split(','));
    } else if (a.startsWith('--only=')) only.push(...a.slice('--only='.length).split(','));
    else if (a.startsWith('--')) throw new Error(`Unknown option '${a}'. Use --only <section> and --quick.`);
    else only.push(a);
  }
  const unknown = only.filter((o) => !SECTIONS.some((s) => s.name.includes(o)));
  if (unknown.length) throw new Error(`No benchmark section matches ${unknown.map((u) => `'${u}'`).join(', ')}; sections: ${SECTIONS.map((s) => s.name).join(', ')}.`);
  return { only, quick };
}

async function main(): Promise<void> {
  const { only, quick } = parseArgs(process.argv.slice(2));
  const load = (): string => os.loadavg().map((l) => l.toFixed(2)).join(' ');
  process.stdout.write(`Load average before: ${load()} (${os.cpus().length} CPUs)${quick ? '; quick mode: scaled-down sizes' : ''}\n\n`);
  let failed = 0;
  const done: BenchSection[] = [];
  for (const section of SECTIONS) {
    if (only.length > 0 && !only.some((o) => section.name.includes(o))) continue;
    try {
      const result = await section.run({ quick });
      done.push(result);
      process.stdout.write(`${formatSection(result)}\n   (load average after: ${load()})\n\n`);
    } catch (err) {
      failed++;
      process.stderr.write(`Benchmark section '${section.name}' failed: ${(err as Error).stack ?? err}\n`);
    }
  }
  if (done.some((s) => s.rows.some((r) => r.goal))) process.stdout.write(`${formatGoals(done)}\n`);
  process.exitCode = failed > 0 ? 1 : 0;
}

main().catch((err: Error) => {
  process.stderr.write(`${err.message}\n`);
  process.exitCode = 2;
});
