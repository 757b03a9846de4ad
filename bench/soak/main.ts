// `npm run soak`: chaos across the whole local stack (see runSoak.ts). Prints the table and ends with
// `soak: N runs, K kills, V violations`; exits 1 when V > 0, 2 when the soak itself could not run.
import { runSoak } from './runSoak';
import { formatSoakReport } from './soakReport';

const USAGE = `Usage: npm run soak -- [--runs N] [--kills K] [--faults P] [--duplicates D] [--seed S]
                       [--settle-minutes M] [--state-dir DIR] [--quiet]

  --runs N          logical inputs to send (blob files, folders, model versions); default 100
  --kills K         SIGKILLs of the Functions host, spread over the phases of a run; default 10
  --faults P        share of calls to ARM, the batch data plane, the app's storage (blobs and its
                    own tables) and the events topic that fail (429, 503, 500, connection resets
                    before or after the call took effect); default 0.25
  --duplicates D    each event is delivered 1 to D times, shuffled and concurrent; default 3
  --seed S          seed of the workload, the faults and the kill moments; default 1
  --settle-minutes  how long to wait for every run to finish after the last input; default 10
  --state-dir DIR   keep the stack's state there (default: a temporary folder, removed)
  --quiet           no progress lines on stderr`;

export interface SoakCliOptions {
  runs: number;
  kills: number;
  faults: number;
  duplicates: number;
  seed: number;
  settleMinutes: number;
  stateDir?: string;
  quiet: boolean;
}

export function parseSoakArgs(argv: string[]): SoakCliOptions {
  const o: SoakCliOptions = { runs: 100, kills: 10, faults: 0.25, duplicates: 3, seed: 1, settleMinutes: 10, quiet: false };
  const number = (flag: string, raw: string | undefined, check: (n: number) => boolean, what: string): number => {
    const n = Number(raw);
    if (raw === undefined || raw.trim() === '' || !Number.isFinite(n) || !check(n)) throw new Error(`${flag} must be ${what}; got '${raw ?? ''}'.`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = (): string | undefined => argv[++i];
    switch (flag) {
      case '--runs': o.runs = number(flag, value(), (n) => Number.isInteger(n) && n >= 1, 'a whole number of at least 1'); break;
      case '--kills': o.kills = number(flag, value(), (n) => Number.isInteger(n) && n >= 0, 'a whole number of at least 0'); break;
      case '--faults': o.faults = number(flag, value(), (n) => n >= 0 && n <= 0.9, 'a share between 0 and 0.9'); break;
      case '--duplicates': o.duplicates = number(flag, value(), (n) => Number.isInteger(n) && n >= 1 && n <= 10, 'a whole number from 1 to 10'); break;
      case '--seed': o.seed = number(flag, value(), (n) => Number.isInteger(n) && n >= 0, 'a whole number'); break;
      case '--settle-minutes': o.settleMinutes = number(flag, value(), (n) => n > 0, 'a positive number'); break;
      case '--state-dir': {
        const dir = value();
        if (!dir) throw new Error('--state-dir needs a folder.');
        o.stateDir = dir;
        break;
      }
      case '--quiet': o.quiet = true; break;
      case '--help':
      case '-h':
        process.stdout.write(`${USAGE}\n`);
        process.exit(0);
        break;
      default:
        throw new Error(`Unknown option '${flag}'.`);
    }
  }
  return o;
}

async function main(): Promise<void> {
  let o: SoakCliOptions;
  try {
    o = parseSoakArgs(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n\n${USAGE}\n`);
    process.exit(2);
  }
  const log = o.quiet ? undefined : (message: string): void => void process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${message}\n`);
  try {
    const result = await runSoak({ runs: o.runs, kills: o.kills, faults: o.faults, duplicates: o.duplicates, seed: o.seed, stateDir: o.stateDir, settleTimeoutInMs: o.settleMinutes * 60_000, log });
    process.stdout.write(`${formatSoakReport(result)}\n`);
    process.exitCode = result.verdict.violations.length > 0 ? 1 : 0;
  } catch (err) {
    process.stderr.write(`The soak could not run to the end: ${(err as Error).stack ?? err}\n`);
    process.exitCode = 2;
  }
}

if (require.main === module) void main();
