// `npm run bench`: runs every benchmark section in turn and prints its figures.
import { BenchSection, formatSection } from './benchSection';
import { benchDurableEngine } from './durableEngine';
import { benchMainJob } from './mainJob';
import { benchValidation } from './validation';
import { benchColdStart } from './coldStart';
import { benchJobLogParse } from './jobLogParse';
import { benchRunIndex } from './runIndex';

const SECTIONS: Array<{ name: string; run: () => Promise<BenchSection> }> = [
  { name: 'durable engine', run: benchDurableEngine },
  { name: 'main job', run: benchMainJob },
  { name: 'validation', run: benchValidation },
  { name: 'job log parsing', run: benchJobLogParse },
  { name: 'cold start', run: benchColdStart },
  { name: 'run index', run: benchRunIndex },
];

async function main(): Promise<void> {
  const only = process.argv.slice(2);
  let failed = 0;
  for (const section of SECTIONS) {
    if (only.length > 0 && !only.some((o) => section.name.includes(o))) continue;
    try {
      process.stdout.write(`${formatSection(await section.run())}\n\n`);
    } catch (err) {
      failed++;
      process.stderr.write(`Benchmark section '${section.name}' failed: ${(err as Error).stack ?? err}\n`);
    }
  }
  process.exitCode = failed > 0 ? 1 : 0;
}

void main();
