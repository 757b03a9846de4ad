// Stops the run's Azurite once: each project that started it names this teardown, and the first to run
// stops it after every test of the run has finished.
import type { RunningAzurite } from '../../src/local/stack/azurite';

export default async function globalTeardown(): Promise<void> {
  const shared = globalThis as { __AZURITE__?: RunningAzurite };
  const azurite = shared.__AZURITE__;
  shared.__AZURITE__ = undefined;
  await azurite?.stop();
}
