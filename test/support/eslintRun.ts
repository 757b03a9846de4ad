// Runs the project's ESLint once for many probes: each probe is source text linted as if it were a file
// at a given path, and whole paths can be linted in the same run. ESLint runs as its own process — its
// flat config is an ES module, which jest's VM cannot import — and one process serves a whole test file.
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';

export const ROOT = path.resolve(__dirname, '..', '..');

export interface LintProbe {
  /** Relative to the repository root. */
  filePath: string;
  code: string;
}

export interface LintMessage {
  file: string;
  line: number;
  ruleId: string | null;
  message: string;
}

const RUNNER = `
import { ESLint } from 'eslint';
let input = '';
for await (const chunk of process.stdin) input += chunk;
const { probes, paths } = JSON.parse(input);
const eslint = new ESLint({ cwd: process.cwd() });
const out = { probes: [], paths: [] };
for (const p of probes) out.probes.push((await eslint.lintText(p.code, { filePath: p.filePath }))[0]?.messages ?? []);
if (paths.length > 0) out.paths = (await eslint.lintFiles(paths)).flatMap((r) => r.messages.map((m) => ({ ...m, file: r.filePath })));
process.stdout.write(JSON.stringify(out));
`;

/** The messages for each probe, in order, and those for `paths` (files or folders). */
export function lint(probes: LintProbe[], paths: string[] = []): { probes: LintMessage[][]; paths: LintMessage[] } {
  const input = JSON.stringify({ probes: probes.map((p) => ({ ...p, filePath: path.join(ROOT, p.filePath) })), paths });
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', RUNNER], { cwd: ROOT, input, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (r.status !== 0 || !r.stdout) throw new Error(`eslint failed: ${r.stderr}`);
  const out = JSON.parse(r.stdout) as { probes: Array<Array<Omit<LintMessage, 'file'>>>; paths: LintMessage[] };
  return {
    probes: out.probes.map((messages, i) => messages.map((m) => ({ ...m, file: probes[i].filePath }))),
    paths: out.paths.map((m) => ({ ...m, file: path.relative(ROOT, m.file) })),
  };
}

/** One line per message: `ruleId: message`. */
export function described(messages: LintMessage[]): string[] {
  return messages.map((m) => `${m.ruleId}: ${m.message}`);
}
