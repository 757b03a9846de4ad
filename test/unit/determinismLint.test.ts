// Orchestrations are replayed, so the lint rules that keep them deterministic are part of the product:
// they must flag clocks, randomness, timers, I/O and SDK clients, and today's orchestrations must pass.
// ESLint runs as its own process: its flat config is an ES module, which jest's VM cannot import.
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';

const ROOT = path.resolve(__dirname, '..', '..');
const ESLINT = path.join(ROOT, 'node_modules', 'eslint', 'bin', 'eslint.js');

interface LintResult {
  filePath: string;
  messages: Array<{ ruleId: string | null; message: string; line: number }>;
}

function eslint(args: string[], input?: string): LintResult[] {
  const r = spawnSync(process.execPath, [ESLINT, '--format', 'json', ...args], { cwd: ROOT, input, encoding: 'utf8' });
  if (!r.stdout) throw new Error(`eslint produced no report: ${r.stderr}`);
  return JSON.parse(r.stdout) as LintResult[];
}

async function problems(code: string): Promise<string[]> {
  const [result] = eslint(['--stdin', '--stdin-filename', path.join(ROOT, 'src/orchestrations/__lintProbe.ts')], code);
  return result.messages.map((m) => `${m.ruleId}: ${m.message}`);
}

describe('determinism lint on src/orchestrations', () => {
  it.each([
    ['Date.now()', 'export const t = Date.now();', /currentUtcDateTime/],
    ['new Date()', 'export const t = new Date();', /reads the clock/],
    ['Math.random()', 'export const r = Math.random();', /Randomness/],
    ['setTimeout', 'export const h = setTimeout(() => undefined, 1);', /createTimer/],
    ['node:fs', "import * as fs from 'node:fs';\nexport const x = fs;", /do I\/O in an activity/],
    ['an SDK client', "import { BlobServiceClient } from '@azure/storage-blob';\nexport const x = BlobServiceClient;", /SDK clients belong in activities/],
    ['an adapter', "import { appCredential } from '../azure/credentials';\nexport const x = appCredential;", /not adapters/],
  ])('flags %s', async (_what, code, expected) => {
    expect((await problems(code)).join('\n')).toMatch(expected);
  });

  it('allows type-only imports and a dated Date', async () => {
    expect(await problems("import type { JobSummary } from '../azure/mlWorkspace';\nexport const d = (j: JobSummary) => new Date(j.startTime ?? 0);\n")).toEqual([]);
  });

  it('passes on the orchestrations as they are', async () => {
    const results = eslint(['src/orchestrations']);
    expect(results.flatMap((r) => r.messages.map((m) => `${path.relative(ROOT, r.filePath)}:${m.line} ${m.ruleId} ${m.message}`))).toEqual([]);
  });
});
