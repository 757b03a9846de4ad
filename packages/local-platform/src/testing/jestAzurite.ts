// One Azurite for the whole test run, on free ports, in memory. Its connection string reaches every
// test worker through the environment; each suite uses its own task hub, containers and tables. The
// contract and e2e projects both name this setup: Jest runs it once per project in the same process,
// so the second call finds the Azurite the first one started.
import { startAzurite, RunningAzurite } from '../../src/local/stack/azurite';

export default async function globalSetup(): Promise<void> {
  const shared = globalThis as { __AZURITE__?: RunningAzurite };
  const azurite = (shared.__AZURITE__ ??= await startAzurite({ blobPort: 0, queuePort: 0, tablePort: 0 }));
  process.env.TEST_AZURITE_CONNECTION_STRING = azurite.connectionString;
  process.env.TEST_AZURITE_BLOB_PORT = String(azurite.blobPort);
  process.env.TEST_AZURITE_QUEUE_PORT = String(azurite.queuePort);
  process.env.TEST_AZURITE_TABLE_PORT = String(azurite.tablePort);
}
