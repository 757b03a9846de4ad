// Orchestrations are replayed, so the lint rules that keep them deterministic are part of the product:
// they must flag clocks, randomness, timers, I/O and SDK clients, and today's orchestrations must pass.
import { described, lint, LintMessage } from '../support/eslintRun';

const FLAGGED: Array<[string, string, RegExp]> = [
  ['Date.now()', 'export const t = Date.now();', /currentUtcDateTime/],
  ['new Date()', 'export const t = new Date();', /reads the clock/],
  ['Math.random()', 'export const r = Math.random();', /Randomness/],
  ['setTimeout', 'export const h = setTimeout(() => undefined, 1);', /createTimer/],
  ['node:fs', "import * as fs from 'node:fs';\nexport const x = fs;", /do I\/O in an activity/],
  ['an SDK client', "import { BlobServiceClient } from '@azure/storage-blob';\nexport const x = BlobServiceClient;", /SDK clients belong in activities/],
  ['an adapter', "import { appCredential } from '../azure/credentials';\nexport const x = appCredential;", /not adapters/],
];
const TYPE_ONLY_AND_DATED = "import type { JobSummary } from '../azure/mlWorkspace';\nexport const d = (j: JobSummary) => new Date(j.startTime ?? 0);\n";

let flagged: LintMessage[][];
let typeOnly: LintMessage[];
let orchestrations: LintMessage[];
beforeAll(() => {
  const probes = [...FLAGGED.map(([, code]) => code), TYPE_ONLY_AND_DATED].map((code, i) => ({ filePath: `src/orchestrations/__lintProbe${i}.ts`, code }));
  const result = lint(probes, ['src/orchestrations']);
  flagged = result.probes.slice(0, FLAGGED.length);
  typeOnly = result.probes[FLAGGED.length];
  orchestrations = result.paths;
}, 120_000);

describe('determinism lint on src/orchestrations', () => {
  it.each(FLAGGED.map(([what, , expected], i) => [what, expected, i] as const))('flags %s', (_what, expected, i) => {
    expect(described(flagged[i]).join('\n')).toMatch(expected);
  });

  it('allows type-only imports and a dated Date', () => {
    expect(described(typeOnly)).toEqual([]);
  });

  it('passes on the orchestrations as they are', () => {
    expect(orchestrations.map((m) => `${m.file}:${m.line} ${m.ruleId} ${m.message}`)).toEqual([]);
  });
});
