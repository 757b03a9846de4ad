// A clone of this repository must be complete on its own: nothing tracked may name or read a folder
// beside it, and the API contracts the tests compare against live in test/contracts with their
// provenance. The patterns are assembled from pieces so that this file does not match them itself.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { CONTRACTS_DIR } from '../support/contractsDir';
import { CONTRACT_FILES, SwaggerValidator } from '../support/swaggerSchemas';

const ROOT = path.resolve(__dirname, '..', '..');
const SEP = '[/\\\\]';
const PARENT = '\\.\\.';
const SIBLING = 'shared';

/** Ways a file can name the workspace folder that sits beside the repository. */
const OUTSIDE_NAMES: Array<[string, RegExp]> = [
  ['a parent-relative path to the sibling folder', new RegExp(`${PARENT}${SEP}${SIBLING}\\b`)],
  ['a file or folder of the sibling workspace', new RegExp(`\\b${SIBLING}${SEP}(contracts|ARCHITECTURE\\.md|STYLE\\.md)\\b`)],
  ['path segments of the sibling contracts folder', new RegExp(`'${SIBLING}'\\s*,\\s*'contracts'`)],
  ['path segments climbing to the sibling folder', new RegExp(`'${PARENT}'\\s*,\\s*'${SIBLING}'`)],
];

function trackedFiles(): string[] {
  const r = spawnSync('git', ['ls-files', '-z'], { cwd: ROOT, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`git ls-files failed in ${ROOT} (this test needs a git checkout): ${r.stderr}`);
  return r.stdout.split('\0').filter((f) => f && fs.existsSync(path.join(ROOT, f)));
}

function textOf(relative: string): string | undefined {
  const bytes = fs.readFileSync(path.join(ROOT, relative));
  return bytes.includes(0) ? undefined : bytes.toString('utf8');
}

/**
 * Where a file's `__dirname` points when it runs: the app's TypeScript outside test/ runs compiled, from
 * dist/; a package's src/ runs compiled from the package's own dist/; tests run from source.
 */
function runtimeDir(relative: string): string {
  const inPackage = /^(packages\/[^/]+)\/src\/(.*)$/.exec(relative);
  if (inPackage && relative.endsWith('.ts')) return path.dirname(path.join(ROOT, inPackage[1], 'dist', inPackage[2]));
  const compiled = relative.endsWith('.ts') && !relative.startsWith('test/') && !/^packages\/[^/]+\/test\//.test(relative);
  return path.dirname(path.join(ROOT, compiled ? 'dist' : '', relative));
}

const ROOT_NAMES = new Set(['REPO_ROOT', 'ROOT', 'repoRoot', 'root']);
const LITERAL_PATH = /path\.(?:resolve|join)\(\s*(__dirname|[A-Za-z_]\w*)\s*((?:,\s*'[^'\n]*'\s*)+)\)/g;

/** Literal paths built from __dirname or the repository root that end up outside the repository. */
function escapingPaths(relative: string, text: string): string[] {
  const found: string[] = [];
  for (const m of text.matchAll(LITERAL_PATH)) {
    const base = m[1] === '__dirname' ? runtimeDir(relative) : ROOT_NAMES.has(m[1]) ? ROOT : undefined;
    if (!base) continue;
    const parts = [...m[2].matchAll(/'([^']*)'/g)].map((p) => p[1]);
    const target = path.relative(ROOT, path.resolve(base, ...parts));
    if (target === '..' || target.startsWith(`..${path.sep}`) || path.isAbsolute(target)) found.push(`${relative}: ${m[0]}`);
  }
  return found;
}

function isInside(dir: string, file: string): boolean {
  const relative = path.relative(dir, file);
  return relative !== '..' && !relative.startsWith(`..${path.sep}`) && !path.isAbsolute(relative);
}

describe('the repository stands alone', () => {
  const files = trackedFiles();
  const sources = files.filter((f) => /\.(ts|js|cjs|mjs)$/.test(f));

  it('has no tracked file that names a folder beside the repository', () => {
    const offenders: string[] = [];
    for (const file of files) {
      const text = textOf(file);
      if (text === undefined) continue;
      text.split('\n').forEach((line, i) => {
        for (const [what, pattern] of OUTSIDE_NAMES) if (pattern.test(line)) offenders.push(`${file}:${i + 1} names ${what}: ${line.trim()}`);
      });
    }
    expect(offenders).toEqual([]);
  });

  it('builds no literal path from __dirname or the repository root that leaves the repository', () => {
    expect(sources.flatMap((file) => escapingPaths(file, textOf(file) ?? ''))).toEqual([]);
  });

  it('spots the shapes the checks above look for', () => {
    const sibling = ['..', SIBLING].join('/');
    const resolve = ['path', 'resolve'].join('.');
    expect(OUTSIDE_NAMES.some(([, p]) => p.test(`See ${sibling}/ARCHITECTURE.md`))).toBe(true);
    expect(OUTSIDE_NAMES.some(([, p]) => p.test(`files in ${SIBLING}/contracts, with ajv`))).toBe(true);
    expect(OUTSIDE_NAMES.some(([, p]) => p.test(`read /work/${SIBLING}/STYLE.md first`))).toBe(true);
    expect(OUTSIDE_NAMES.some(([, p]) => p.test(`${resolve}(REPO_ROOT, '..', '${SIBLING}', 'contracts')`))).toBe(true);
    expect(OUTSIDE_NAMES.some(([, p]) => p.test('test/contracts/eventgrid and is-shared-array-buffer'))).toBe(false);
    expect(escapingPaths('test/support/x.ts', `${resolve}(__dirname, '../../../${SIBLING}/contracts')`)).toHaveLength(1);
    expect(escapingPaths('test/unit/x.ts', `${resolve}(__dirname, '..', '..', '..', '${SIBLING}')`)).toHaveLength(1);
    expect(escapingPaths('test/support/x.ts', `${resolve}(__dirname, '../contracts')`)).toEqual([]);
    // Compiled code runs one folder deeper (dist/), so it may climb one folder more.
    expect(escapingPaths('src/operator/cli/x.ts', `${resolve}(__dirname, '..', '..', '..', '..', '.local')`)).toEqual([]);
    // A package's src/ runs from the package's dist/, at the same depth; its tests run from source.
    expect(escapingPaths('packages/p/src/host/x.ts', `${resolve}(__dirname, '..', '..', 'dist', 'host', 'cli.js')`)).toEqual([]);
    expect(escapingPaths('packages/p/src/host/x.ts', `${resolve}(__dirname, '..', '..', '..', '..', '..', 'elsewhere')`)).toHaveLength(1);
    expect(escapingPaths('packages/p/test/e2e/x.ts', `${resolve}(__dirname, '..', '..', '..', '..', '..')`)).toHaveLength(1);
  });

  it('keeps the contracts folder inside the repository', () => {
    expect(isInside(ROOT, CONTRACTS_DIR)).toBe(true);
    expect(fs.existsSync(path.join(CONTRACTS_DIR, 'SOURCES.md'))).toBe(true);
  });

  it('lists every contract file in SOURCES.md with its upstream repository, path, commit, API version and licence, and only those', () => {
    const onDisk = files
      .filter((f) => f.startsWith('test/contracts/'))
      .map((f) => f.slice('test/contracts/'.length))
      .filter((f) => f !== 'SOURCES.md' && f !== 'LICENSE')
      .sort();
    const rows = [...fs.readFileSync(path.join(CONTRACTS_DIR, 'SOURCES.md'), 'utf8').matchAll(/^\| `([^`]+)` \| (\d+) \| (Azure\/[\w.-]+) \| `([^`]+)` \| `([0-9a-f]{40})` \| ([^|]+) \| MIT \|$/gm)];
    expect(rows.map((r) => r[1]).sort()).toEqual(onDisk);
    for (const [, file, bytes, , upstreamPath] of rows) {
      expect({ file, bytes: fs.statSync(path.join(CONTRACTS_DIR, file)).size }).toEqual({ file, bytes: Number(bytes) });
      expect(upstreamPath.endsWith(file.split('/').slice(-2).join('/'))).toBe(true);
    }
  });

  it('resolves every definition the contract tests validate against from files inside test/contracts', () => {
    const testDir = path.join(ROOT, 'test', 'contract');
    const used = new Set<string>();
    for (const file of fs.readdirSync(testDir).filter((f) => f.endsWith('.ts'))) {
      const text = fs.readFileSync(path.join(testDir, file), 'utf8');
      for (const m of text.matchAll(/(?:expectValid|validator\.validate)\(\s*(?:CONTRACT_FILES\.(\w+)|'([^']+\.json)')\s*,\s*'(\w+)'/g)) {
        const swagger = m[1] ? CONTRACT_FILES[m[1] as keyof typeof CONTRACT_FILES] : m[2];
        if (!swagger) throw new Error(`${file} names CONTRACT_FILES.${m[1]}, which does not exist.`);
        used.add(`${swagger}#${m[3]}`);
      }
    }
    expect(used.size).toBeGreaterThan(10);

    // Spy on the module object itself: the validator's `import * as fs` reads its functions from it on each call.
    const nodeFs = jest.requireActual<typeof fs>('node:fs');
    const real = { readFileSync: nodeFs.readFileSync, existsSync: nodeFs.existsSync, statSync: nodeFs.statSync };
    const touched: string[] = [];
    const record = (p: unknown): void => { if (typeof p === 'string' && p.endsWith('.json')) touched.push(p); };
    const reads = jest.spyOn(nodeFs, 'readFileSync').mockImplementation(((...args: Parameters<typeof fs.readFileSync>) => {
      record(args[0]);
      return real.readFileSync(...args);
    }) as typeof fs.readFileSync);
    const probes = jest.spyOn(nodeFs, 'existsSync').mockImplementation((p) => { record(p); return real.existsSync(p); });
    const stats = jest.spyOn(nodeFs, 'statSync').mockImplementation(((...args: Parameters<typeof fs.statSync>) => {
      record(args[0]);
      return real.statSync(...args);
    }) as typeof fs.statSync);
    try {
      const validator = new SwaggerValidator();
      for (const entry of used) {
        const [swagger, definition] = entry.split('#');
        expect(() => validator.validate(swagger, definition, {})).not.toThrow();
      }
    } finally {
      reads.mockRestore();
      probes.mockRestore();
      stats.mockRestore();
    }
    expect(touched.length).toBeGreaterThan(0);
    expect(touched.filter((p) => !isInside(CONTRACTS_DIR, path.resolve(p)))).toEqual([]);
  });
});
