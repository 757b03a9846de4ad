// Runs the local host CLI on an app folder as a child process (JSON log lines), and resolves once it
// listens: how the local stack, the tests and the benchmarks start an app they can also kill.
import { ChildProcess, spawn } from 'node:child_process';
import * as path from 'node:path';

export interface HostProcessOptions {
  appDir: string;
  /** 0 picks a free port. */
  port?: number;
  dataDir: string;
  env?: Record<string, string | undefined>;
  /** Every stdout line (JSON), from the first one on. */
  onLog?: (line: string) => void;
  startTimeoutInMs?: number;
  /** The compiled CLI; default LOCAL_HOST_CLI. */
  cli?: string;
}

export interface HostChild {
  process: ChildProcess;
  url: string;
  keysFile: string;
  /** The newest stdout lines (JSON). */
  logs: string[];
  stderr(): string;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

const KEPT_LOG_LINES = 20_000;

/** The compiled CLI of this package (dist/host/cli.js), whether this module runs from dist/ or (in tests) from src/. */
export const LOCAL_HOST_CLI = path.resolve(__dirname, '..', '..', 'dist', 'host', 'cli.js');

export async function spawnLocalHost(o: HostProcessOptions): Promise<HostChild> {
  const cli = o.cli ?? LOCAL_HOST_CLI;
  const child = spawn(process.execPath, [cli, '--app', o.appDir, '--port', String(o.port ?? 0), '--log-format', 'json', '--data-dir', o.dataDir], {
    env: { ...process.env, ...o.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: string[] = [];
  let stderr = '';
  let buffered = '';
  const timeoutInMs = o.startTimeoutInMs ?? 60_000;
  const url = await new Promise<string>((resolve, reject) => {
    const fail = (message: string): void => reject(new Error(`${message}\n${stderr}\n${logs.slice(-30).join('\n')}`));
    const timer = setTimeout(() => fail(`The Functions host did not start within ${timeoutInMs / 1000} s.`), timeoutInMs);
    const onExit = (code: number | null): void => {
      clearTimeout(timer);
      fail(`The Functions host exited (code ${code}) while starting:`);
    };
    child.once('exit', onExit);
    child.stdout!.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        logs.push(line);
        if (logs.length > KEPT_LOG_LINES) logs.splice(0, KEPT_LOG_LINES / 2);
        o.onLog?.(line);
        const m = /"message":"Host listening on (http:\/\/[^"]+)"/.exec(line);
        if (m) {
          clearTimeout(timer);
          child.off('exit', onExit);
          resolve(m[1]);
        }
      }
    });
    child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  });
  return {
    process: child,
    url,
    keysFile: path.join(o.dataDir, 'keys.json'),
    logs,
    stderr: () => stderr,
    kill: (signal: NodeJS.Signals = 'SIGTERM') =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill(signal);
      }),
  };
}
