// `npm run soak` in a short configuration: the whole local stack under seeded faults, duplicated and
// shuffled deliveries, lost job events and three SIGKILLs of the Functions host, run as users run it
// (the built command, as a child process); every logical input must end in exactly one finished run
// with its record, one outcome event and one job per attempt.
import { spawn } from 'node:child_process';
import * as path from 'node:path';

const REPO_ROOT = path.resolve(__dirname, '..', '..');

function runSoakCommand(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(REPO_ROOT, 'dist', 'bench', 'soak', 'main.js'), ...args], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', reject);
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('npm run soak', () => {
  it('survives 30 runs with 3 host kills, faults and duplicate deliveries with no violation, and prints its table', async () => {
    const result = await runSoakCommand(['--runs', '30', '--kills', '3', '--seed', '3', '--settle-minutes', '6']);
    const context = `exit ${result.code}\n${result.stdout}\n--- stderr (tail) ---\n${result.stderr.slice(-4000)}`;
    const lines = result.stdout.trim().split('\n');
    const last = /^soak: (\d+) runs, (\d+) kills, (\d+) violations$/.exec(lines.at(-1) ?? '');
    expect({ last: lines.at(-1), context }).toMatchObject({ last: expect.stringMatching(/^soak: \d+ runs, \d+ kills, 0 violations$/) });
    expect(Number(last![1])).toBeGreaterThanOrEqual(30);
    expect(Number(last![2])).toBeGreaterThanOrEqual(3);
    expect(result.code).toBe(0);
    for (const row of ['inputs sent', 'runs', 'jobs submitted', 'duplicate jobs', 'runs not in a final state', 'runs without a run record', 'runs without exactly one outcome event', 'orphan jobs', 'events dead-lettered', 'host kills survived']) {
      expect(result.stdout).toMatch(new RegExp(`^  ${row.replace(/[()]/g, '\\$&')}.*\\s\\d+(/\\d+)?$`, 'm'));
    }
    expect(result.stdout).toMatch(/^kills by phase: /m);
  }, 600_000);
});
