// Starts Azurite (Blob, Queue, Table) as a child process for the local stack, tests and benchmarks,
// and describes how to reach it. Azurite is the npm package; nothing here is used in Azure.
import { ChildProcess, spawn } from 'node:child_process';
import * as path from 'node:path';
import * as fs from 'node:fs';

/** Azurite's single built-in account. Its key is Azurite's published development key, not a secret. */
export const AZURITE_ACCOUNT = 'devstoreaccount1';
const AZURITE_PUBLISHED_DEV_KEY =
  'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

export interface AzuriteEndpoints {
  blobPort: number;
  queuePort: number;
  tablePort: number;
}

export interface AzuriteOptions {
  /** Folder for Azurite's data; omitted = in-memory (lost when Azurite stops). */
  location?: string;
  /** 0 = any free port. Defaults: 10000/10001/10002, the ports `UseDevelopmentStorage=true` expects. */
  blobPort?: number;
  queuePort?: number;
  tablePort?: number;
  startTimeoutInMs?: number;
}

export interface RunningAzurite extends AzuriteEndpoints {
  connectionString: string;
  blobEndpoint: string;
  queueEndpoint: string;
  tableEndpoint: string;
  process: ChildProcess;
  stop(): Promise<void>;
}

export function azuriteConnectionString(endpoints: AzuriteEndpoints, host = '127.0.0.1'): string {
  return [
    'DefaultEndpointsProtocol=http',
    `AccountName=${AZURITE_ACCOUNT}`,
    `AccountKey=${AZURITE_PUBLISHED_DEV_KEY}`,
    `BlobEndpoint=http://${host}:${endpoints.blobPort}/${AZURITE_ACCOUNT}`,
    `QueueEndpoint=http://${host}:${endpoints.queuePort}/${AZURITE_ACCOUNT}`,
    `TableEndpoint=http://${host}:${endpoints.tablePort}/${AZURITE_ACCOUNT}`,
  ].join(';') + ';';
}

/** The shared key credential pieces for clients that cannot take a connection string. */
export function azuriteSharedKey(): { accountName: string; accountKey: string } {
  return { accountName: AZURITE_ACCOUNT, accountKey: AZURITE_PUBLISHED_DEV_KEY };
}

function azuriteBin(): string {
  const pkg = require.resolve('azurite/package.json');
  return path.join(path.dirname(pkg), 'dist', 'src', 'azurite.js');
}

export async function startAzurite(options: AzuriteOptions = {}): Promise<RunningAzurite> {
  const args = [
    azuriteBin(),
    '--silent',
    '--disableTelemetry',
    '--skipApiVersionCheck',
    '--disableProductStyleUrl',
    '--loose',
    '--blobHost', '127.0.0.1', '--queueHost', '127.0.0.1', '--tableHost', '127.0.0.1',
    '--blobPort', String(options.blobPort ?? 10000),
    '--queuePort', String(options.queuePort ?? 10001),
    '--tablePort', String(options.tablePort ?? 10002),
  ];
  if (options.location) {
    fs.mkdirSync(options.location, { recursive: true });
    args.push('--location', options.location);
  } else {
    args.push('--inMemoryPersistence');
  }
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const ports: Partial<Record<'Blob' | 'Queue' | 'Table', number>> = {};
  let output = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`Azurite did not start within ${options.startTimeoutInMs ?? 30000} ms. Output:\n${output}`)),
      options.startTimeoutInMs ?? 30000,
    );
    const onData = (chunk: Buffer): void => {
      output += chunk.toString();
      for (const m of output.matchAll(/Azurite (Blob|Queue|Table) service is successfully listening at http:\/\/[^:]+:(\d+)/g)) {
        ports[m[1] as 'Blob' | 'Queue' | 'Table'] = Number(m[2]);
      }
      if (ports.Blob && ports.Queue && ports.Table) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`Azurite exited with code ${code} before listening. Output:\n${output}`));
    });
  });
  const endpoints = { blobPort: ports.Blob!, queuePort: ports.Queue!, tablePort: ports.Table! };
  return {
    ...endpoints,
    connectionString: azuriteConnectionString(endpoints),
    blobEndpoint: `http://127.0.0.1:${endpoints.blobPort}/${AZURITE_ACCOUNT}`,
    queueEndpoint: `http://127.0.0.1:${endpoints.queuePort}/${AZURITE_ACCOUNT}`,
    tableEndpoint: `http://127.0.0.1:${endpoints.tablePort}/${AZURITE_ACCOUNT}`,
    process: child,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
        setTimeout(() => child.kill('SIGKILL'), 5000).unref();
      }),
  };
}
