// Storage clients for the app's two accounts, built from the Functions connection convention: a
// connection string (Azurite locally) or `NAME__blobServiceUri` / `__tableServiceUri` with the app's
// managed identity in Azure. Clients are created on first use and reused.
import type { BlobServiceClient } from '@azure/storage-blob';
import type { TableClient } from '@azure/data-tables';
import type { StorageConnection } from '../config/settings';
import { appCredential } from './credentials';
import { PermanentError } from './errorClassification';

const blobClients = new Map<string, BlobServiceClient>();

export function blobServiceFor(connection: StorageConnection): BlobServiceClient {
  const key = connection.kind === 'connectionString' ? connection.connectionString : connection.blobServiceUri;
  let client = blobClients.get(key);
  if (!client) {
    const { BlobServiceClient: Client } = require('@azure/storage-blob') as typeof import('@azure/storage-blob');
    client = connection.kind === 'connectionString' ? Client.fromConnectionString(connection.connectionString) : new Client(connection.blobServiceUri, appCredential());
    blobClients.set(key, client);
  }
  return client;
}

/** The account name behind a connection, to compare with datastores and event URLs. */
export function accountNameOf(connection: StorageConnection): string {
  return blobServiceFor(connection).accountName;
}

/** Origins where the account is the first path segment (Azurite); none in Azure. */
export function pathStyleOriginsOf(connection: StorageConnection): string[] {
  const url = new URL(blobServiceFor(connection).url);
  return /\.blob\./i.test(url.hostname) ? [] : [url.origin];
}

const tableClients = new Map<string, TableClient>();

/** A table in the runtime storage account (AzureWebJobsStorage), e.g. the arrivals ledger. */
export function runtimeTable(tableName: string, env: NodeJS.ProcessEnv = process.env): TableClient {
  const key = `${tableName}`;
  let client = tableClients.get(key);
  if (!client) {
    const { TableClient: Client } = require('@azure/data-tables') as typeof import('@azure/data-tables');
    const conn = env.AzureWebJobsStorage;
    const uri = env.AzureWebJobsStorage__tableServiceUri ?? (env.AzureWebJobsStorage__accountName ? `https://${env.AzureWebJobsStorage__accountName}.table.core.windows.net` : undefined);
    if (conn) client = Client.fromConnectionString(conn, tableName, { allowInsecureConnection: /UseDevelopmentStorage|http:\/\//i.test(conn) });
    else if (uri) client = new Client(uri, tableName, appCredential());
    else throw new PermanentError('AzureWebJobsStorage is not configured (connection string locally, AzureWebJobsStorage__tableServiceUri in Azure).');
    tableClients.set(key, client);
  }
  return client;
}

const tablesReady = new Map<string, Promise<void>>();

/** A runtime-storage table, created on first use (once per process). */
export async function readyRuntimeTable(tableName: string): Promise<TableClient> {
  const client = runtimeTable(tableName);
  let ready = tablesReady.get(tableName);
  if (!ready) {
    ready = client.createTable().catch((err: { statusCode?: number }) => {
      if (err.statusCode === 409) return;
      tablesReady.delete(tableName);
      throw err;
    });
    tablesReady.set(tableName, ready);
  }
  await ready;
  return client;
}
