// Cold start: time to load the app's entry files (registering every function) in a fresh process, as a
// ratio of a bare app that registers one function with @azure/functions and durable-functions. The two
// are measured alternately in one run; the median of each is reported. Also shown: the app's time up to
// the end of its appStart hooks (settings and routes checked, with the sample local settings), since
// that work is part of starting too even though the entry files no longer load it.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { globSync } from 'glob';
import type { BenchOptions, BenchSection } from './benchSection';


function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

interface ProbeResult {
  elapsedInMs: number;
  withAppStartInMs?: number;
}

function probe(files: string[], env?: NodeJS.ProcessEnv): ProbeResult {
  const r = spawnSync(process.execPath, [path.join(__dirname, 'coldStartProbe.js'), ...files], { encoding: 'utf8', env: env ?? process.env });
  if (r.status !== 0) throw new Error(`cold-start probe failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as ProbeResult;
}

export async function benchColdStart(options: BenchOptions): Promise<BenchSection> {
  const ROUNDS = Number(process.env.BENCH_COLD_START_ROUNDS ?? (options.quick ? 5 : 9));
  const root = path.resolve(__dirname, '..', '..');
  const appFiles = globSync('dist/functions/*.js', { cwd: root, absolute: true }).sort();
  const bareDir = path.join(root, '.local', 'bench', 'bare-app');
  fs.mkdirSync(bareDir, { recursive: true });
  const bare = path.join(bareDir, 'index.js');
  fs.writeFileSync(bare, "const { app } = require('@azure/functions');\nconst df = require('durable-functions');\napp.http('ping', { extraInputs: [df.input.durableClient()], handler: async () => ({ body: 'pong' }) });\n");
  const sample = JSON.parse(fs.readFileSync(path.join(root, 'local.settings.sample.json'), 'utf8')) as { Values: Record<string, string> };
  const appEnv = { ...process.env, ...sample.Values, COLD_START_RUN_APP_START: '1' };
  const app: number[] = [];
  const appStarted: number[] = [];
  const baseline: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    baseline.push(probe([bare]).elapsedInMs);
    const measured = probe(appFiles, appEnv);
    app.push(measured.elapsedInMs);
    appStarted.push(measured.withAppStartInMs ?? NaN);
  }
  const a = median(app);
  const b = median(baseline);
  const started = median(appStarted);
  return {
    title: 'Cold start (loading entry files in a fresh process)',
    rows: [
      { name: `batchpilot (${appFiles.length} entry files)`, value: a, unit: 'ms', note: `median of ${ROUNDS}` },
      { name: 'bare app (one function)', value: b, unit: 'ms', note: `median of ${ROUNDS}` },
      { name: 'batchpilot / bare', value: a / b, unit: '×', goal: { kind: 'max', target: 1.5, label: 'cold start of the app as a multiple of a bare one-function app' } },
      { name: 'batchpilot to the end of appStart', value: started, unit: 'ms', note: `entry files, then settings and routes checked; ${(started / b).toFixed(2)}× the bare app` },
    ],
  };
}
