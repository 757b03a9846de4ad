// One Azurite for the whole test run (startRunAzurite, @batchpilot/local-platform): the contract and e2e
// projects and each package's project name a setup that calls it, and Jest runs them all in one
// process, so the later calls find the Azurite the first one started.
import { startRunAzurite } from '@batchpilot/local-platform';

export default async function globalSetup(): Promise<void> {
  await startRunAzurite();
}
