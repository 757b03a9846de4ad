// One Azurite for a whole Jest run, on free ports, in memory: a project's globalSetup calls
// startRunAzurite and its globalTeardown stopRunAzurite. Its endpoints reach every test worker through
// the environment (testAzurite reads them); each suite uses its own task hub, containers and tables.
// Jest runs the global setups of all projects in one process, so when several projects (the app's and
// each package's) name a setup that calls this, the later calls find the Azurite the first one started,
// and the first teardown, which runs after every test of the run, stops it.
import { startAzurite, RunningAzurite } from '../azurite';

const shared = globalThis as { __AZURITE__?: RunningAzurite };

export async function startRunAzurite(): Promise<void> {
  const azurite = (shared.__AZURITE__ ??= await startAzurite({ blobPort: 0, queuePort: 0, tablePort: 0 }));
  process.env.TEST_AZURITE_CONNECTION_STRING = azurite.connectionString;
  process.env.TEST_AZURITE_BLOB_PORT = String(azurite.blobPort);
  process.env.TEST_AZURITE_QUEUE_PORT = String(azurite.queuePort);
  process.env.TEST_AZURITE_TABLE_PORT = String(azurite.tablePort);
}

export async function stopRunAzurite(): Promise<void> {
  const azurite = shared.__AZURITE__;
  shared.__AZURITE__ = undefined;
  await azurite?.stop();
}
