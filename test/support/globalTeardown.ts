// Stops the run's Azurite once: each project that started it names a teardown that calls this, and the
// first to run stops it after every test of the run has finished.
import { stopRunAzurite } from '@batchpilot/local-platform';

export default async function globalTeardown(): Promise<void> {
  await stopRunAzurite();
}
