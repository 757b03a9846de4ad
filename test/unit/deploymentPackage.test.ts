// What `.funcignore` lets into the deployment package: the compiled app, host.json and the app's
// production dependencies, and none of the local tooling — not the packages under packages/, not their
// links in node_modules/@batchpilot/ or their command, not the stack in dist/src/local/. The rules are
// read with the same gitignore semantics the Functions tooling applies.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import ignore from 'ignore';

const ROOT = path.resolve(__dirname, '..', '..');
const rules = ignore().add(fs.readFileSync(path.join(ROOT, '.funcignore'), 'utf8'));
const shipped = (relative: string): boolean => !rules.ignores(relative);

function trackedFiles(): string[] {
  const r = spawnSync('git', ['ls-files', '-z'], { cwd: ROOT, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`git ls-files failed in ${ROOT}: ${r.stderr}`);
  return r.stdout.split('\0').filter(Boolean);
}

const PACKAGES = fs.readdirSync(path.join(ROOT, 'packages'));

describe('the deployment package', () => {
  it('leaves out every tracked file of the packages', () => {
    const packaged = trackedFiles().filter((f) => f.startsWith('packages/'));
    expect(packaged.length).toBeGreaterThan(100);
    expect(packaged.filter(shipped)).toEqual([]);
  });

  it("leaves out the packages' builds, their links and commands in node_modules, and the local stack", () => {
    const candidates = PACKAGES.flatMap((p) => [
      `packages/${p}/dist/index.js`,
      `packages/${p}/package.json`,
      `node_modules/@batchpilot/${p}/package.json`,
      `node_modules/@batchpilot/${p}/dist/index.js`,
    ]);
    candidates.push('node_modules/.bin/batchpilot-host', 'dist/src/local/stack/main.js', 'dist/src/local/stack/localStack.js', 'dist/.tsbuildinfo');
    expect(candidates.filter(shipped)).toEqual([]);
  });

  it('keeps what the Functions host needs to run the app', () => {
    const needed = ['host.json', 'package.json', 'dist/functions/scoreBlobRun.js', 'dist/src/orchestrations/scoreBlobRun.js', 'dist/src/config/settings.js', 'node_modules/@azure/functions/package.json', 'node_modules/durable-functions/package.json', 'routes.yaml'];
    expect(needed.filter((f) => !shipped(f))).toEqual([]);
  });
});
