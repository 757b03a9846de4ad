// What a test needs to reach the run's shared Azurite (started by globalSetup).
import { AzuriteEndpoints, azuriteConnectionString } from '../azurite';

export function testAzurite(): AzuriteEndpoints & { connectionString: string } {
  const blobPort = Number(process.env.TEST_AZURITE_BLOB_PORT);
  if (!blobPort) throw new Error('Azurite is not running: tests must run through jest (globalSetup starts it).');
  const endpoints = {
    blobPort,
    queuePort: Number(process.env.TEST_AZURITE_QUEUE_PORT),
    tablePort: Number(process.env.TEST_AZURITE_TABLE_PORT),
  };
  return { ...endpoints, connectionString: azuriteConnectionString(endpoints) };
}

/** A name unique to this test run, usable as a task hub, table or container name (letters and digits). */
export function uniqueName(prefix: string): string {
  return `${prefix}${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`.toLowerCase().replace(/[^a-z0-9]/g, '');
}
