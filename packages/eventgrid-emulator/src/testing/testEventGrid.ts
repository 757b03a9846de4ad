// Starts an Event Grid emulator for one test suite: its own certificate folder and token issuer, the
// run's shared Azurite, and a retry schedule scaled down a thousandfold so retries and dead letters
// happen in milliseconds (tests wait for outcomes, never for time).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DevTokenIssuer, ensureLocalCertificate, LocalCertificate, testAzurite } from '@batchpilot/local-platform';
import { EventGridEmulatorOptions, RunningEventGridEmulator, startEventGridEmulator } from '../eventGridEmulator';

export interface TestEventGrid {
  eventGrid: RunningEventGridEmulator;
  issuer: DevTokenIssuer;
  certificate: LocalCertificate;
  stop(): Promise<void>;
}

let certificate: Promise<LocalCertificate> | undefined;

/** One certificate per test file (jest gives each file its own module registry). */
export function testCertificate(): Promise<LocalCertificate> {
  certificate ??= ensureLocalCertificate(fs.mkdtempSync(path.join(os.tmpdir(), 'batchpilot-eg-tls-')));
  return certificate;
}

export async function startTestEventGrid(options: Partial<Omit<EventGridEmulatorOptions, 'tls' | 'issuer' | 'storage'>> = {}): Promise<TestEventGrid> {
  const cert = await testCertificate();
  const issuer = new DevTokenIssuer();
  const azurite = testAzurite();
  const eventGrid = await startEventGridEmulator({
    ...options,
    tls: { cert: cert.cert, key: cert.key, ca: cert.ca },
    issuer,
    storage: { connectionString: azurite.connectionString, blobPort: azurite.blobPort },
    delivery: { timeScale: 0.001, ...options.delivery },
  });
  return { eventGrid, issuer, certificate: cert, stop: () => eventGrid.stop() };
}
