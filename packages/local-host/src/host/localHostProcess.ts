// Runs the built local host CLI (dist/host/cli.js of this package) on an app folder as a child
// process, the way users and CI do, and tells a test its URL, its keys and what it logged.
import type { ChildProcess } from 'node:child_process';
import { spawnLocalHost, LOCAL_HOST_CLI } from './hostProcess';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { FunctionKeys } from './functionKeys';


export interface HostLogLine {
  time: string;
  level: string;
  category: string;
  message: string;
  functionName?: string;
  invocationId?: string;
}

export interface HostProcess {
  url: string;
  port: number;
  keys: FunctionKeys;
  logs: HostLogLine[];
  stderr: () => string;
  process: ChildProcess;
  /** Waits for a log line matching `predicate`. */
  waitForLog(predicate: (line: HostLogLine) => boolean, timeoutInMs?: number): Promise<HostLogLine>;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

export interface StartHostOptions {
  appDir: string;
  env?: Record<string, string>;
  dataDir?: string;
  port?: number;
  startTimeoutInMs?: number;
}

export async function startHostProcess(options: StartHostOptions): Promise<HostProcess> {
  if (!fs.existsSync(LOCAL_HOST_CLI)) throw new Error(`${LOCAL_HOST_CLI} is missing: build this package first (npm run build; npm test does).`);
  const dataDir = options.dataDir ?? path.join(options.appDir, '.local', 'host');
  const logs: HostLogLine[] = [];
  const waiters: Array<{ predicate: (l: HostLogLine) => boolean; resolve: (l: HostLogLine) => void }> = [];
  const onLog = (raw: string): void => {
    let line: HostLogLine;
    try {
      line = JSON.parse(raw) as HostLogLine;
    } catch {
      line = { time: new Date().toISOString(), level: 'information', category: 'stdout', message: raw };
    }
    logs.push(line);
    for (const w of [...waiters]) {
      if (w.predicate(line)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(line);
      }
    }
  };
  const host = await spawnLocalHost({ cli: LOCAL_HOST_CLI, appDir: options.appDir, port: options.port, dataDir, env: options.env, onLog, startTimeoutInMs: options.startTimeoutInMs });
  const child = host.process;

  const waitForLog = (predicate: (line: HostLogLine) => boolean, timeoutInMs = 60000): Promise<HostLogLine> => {
    const found = logs.find(predicate);
    if (found) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const describe = (): string => `stderr:\n${host.stderr()}\nlogs:\n${logs.map((l) => l.message).join('\n')}`;
      const timer = setTimeout(() => reject(new Error(`No matching host log line within ${timeoutInMs} ms. ${describe()}`)), timeoutInMs);
      const exitListener = (code: number | null): void => {
        clearTimeout(timer);
        reject(new Error(`The host exited (code ${code}) before the expected log line. ${describe()}`));
      };
      child.once('exit', exitListener);
      waiters.push({
        predicate,
        resolve: (l) => {
          clearTimeout(timer);
          child.off('exit', exitListener);
          resolve(l);
        },
      });
    });
  };

  const keys = JSON.parse(fs.readFileSync(host.keysFile, 'utf8')) as FunctionKeys;
  return {
    url: host.url,
    port: Number(new URL(host.url).port),
    keys,
    logs,
    stderr: host.stderr,
    process: child,
    waitForLog,
    kill: host.kill,
  };
}
