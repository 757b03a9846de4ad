// Storage connections as the Functions host resolves a binding's `connection` from app settings: the
// setting `AzureWebJobs<name>` or `<name>` holds a connection string (`UseDevelopmentStorage=true` for
// Azurite); otherwise `<name>__blobServiceUri` / `__queueServiceUri` / `__tableServiceUri` (or
// `__serviceUri`, or `__accountName`) make an identity-based connection, authenticated with the app's
// managed identity. No `connection` means `AzureWebJobsStorage`.
import { BlobServiceClient } from '@azure/storage-blob';
import { QueueServiceClient } from '@azure/storage-queue';
import { TableClient } from '@azure/data-tables';
import type { TokenCredential } from '@azure/core-auth';
import { managedIdentityCredential } from './managedIdentity';

export type StorageService = 'blob' | 'queue' | 'table';

export const DEFAULT_STORAGE_CONNECTION = 'AzureWebJobsStorage';

export class StorageConnectionError extends Error {}

export interface StorageConnection {
  /** The connection name the binding gave (or AzureWebJobsStorage). */
  name: string;
  blobService(): BlobServiceClient;
  queueService(): QueueServiceClient;
  table(tableName: string): TableClient;
}

type Endpoint = { kind: 'connectionString'; value: string } | { kind: 'identity'; url: string; credential: TokenCredential };

function setting(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const v = env[name];
  return v === undefined || v.trim() === '' ? undefined : v;
}

function endpointFor(name: string, service: StorageService, env: NodeJS.ProcessEnv): Endpoint {
  const connectionString = (name !== DEFAULT_STORAGE_CONNECTION ? setting(env, `AzureWebJobs${name}`) : undefined) ?? setting(env, name);
  if (connectionString) return { kind: 'connectionString', value: connectionString };
  const account = setting(env, `${name}__accountName`);
  const url = setting(env, `${name}__${service}ServiceUri`) ?? setting(env, `${name}__serviceUri`) ?? (account ? `https://${account}.${service}.core.windows.net` : undefined);
  if (url) {
    if (!URL.canParse(url)) throw new StorageConnectionError(`The ${service} service URI of connection '${name}' ('${url}') is not a URL.`);
    const purpose = `The identity-based storage connection '${name}'`;
    return { kind: 'identity', url, credential: managedIdentityCredential(purpose, setting(env, `${name}__clientId`)) };
  }
  throw new StorageConnectionError(
    `The storage connection '${name}' is not configured: set the app setting '${name}' to a connection string (UseDevelopmentStorage=true for Azurite), ` +
      `or '${name}__${service}ServiceUri' (or '${name}__serviceUri') for an identity-based connection.`,
  );
}

const cache = new Map<string, StorageConnection>();

/** The connection a binding names; clients are made on first use and kept. */
export function storageConnection(connectionName: unknown, env: NodeJS.ProcessEnv = process.env): StorageConnection {
  const name = typeof connectionName === 'string' && connectionName.trim() ? connectionName.trim() : DEFAULT_STORAGE_CONNECTION;
  const cached = cache.get(name);
  if (cached && env === process.env) return cached;
  let blob: BlobServiceClient | undefined;
  let queue: QueueServiceClient | undefined;
  const tables = new Map<string, TableClient>();
  const connection: StorageConnection = {
    name,
    blobService() {
      if (!blob) {
        const e = endpointFor(name, 'blob', env);
        blob = e.kind === 'connectionString' ? BlobServiceClient.fromConnectionString(e.value) : new BlobServiceClient(e.url, e.credential);
      }
      return blob;
    },
    queueService() {
      if (!queue) {
        const e = endpointFor(name, 'queue', env);
        queue = e.kind === 'connectionString' ? QueueServiceClient.fromConnectionString(e.value) : new QueueServiceClient(e.url, e.credential);
      }
      return queue;
    },
    table(tableName) {
      let client = tables.get(tableName);
      if (!client) {
        const e = endpointFor(name, 'table', env);
        client =
          e.kind === 'connectionString'
            ? TableClient.fromConnectionString(e.value, tableName, { allowInsecureConnection: true })
            : new TableClient(e.url, tableName, e.credential, { allowInsecureConnection: new URL(e.url).protocol === 'http:' });
        tables.set(tableName, client);
      }
      return client;
    },
  };
  if (env === process.env) cache.set(name, connection);
  return connection;
}

/** Checks that a connection is configured for a service, without calling it (startup checks). */
export function checkStorageConnection(connectionName: unknown, service: StorageService, env: NodeJS.ProcessEnv = process.env): void {
  endpointFor(typeof connectionName === 'string' && connectionName.trim() ? connectionName.trim() : DEFAULT_STORAGE_CONNECTION, service, env);
}
