// The durable suites' host: startDurableHost of the local host on a fixture app of test/fixtures, with
// its own task hub on the run's Azurite and its keys under test/artifacts/<hub>.
import * as path from 'node:path';
import { startDurableHost as startOnApp, DurableHost } from '../../src/host/durableHarness';
import { testAzurite, uniqueName } from '@batchpilot/local-platform';
import { PACKAGE_ROOT } from '../support/packageRoot';

export { statusWithHistory, waitForStatus, historyOf } from '../../src/host/durableHarness';
export type { DurableHost, HistoryEntry } from '../../src/host/durableHarness';

export const FIXTURES = path.join(PACKAGE_ROOT, 'test', 'fixtures');

export function startDurableHost(fixture: string, options: { hub?: string; env?: Record<string, string>; dataDir?: string } = {}): Promise<DurableHost> {
  const hub = options.hub ?? uniqueName('hub');
  return startOnApp({
    appDir: path.join(FIXTURES, fixture),
    hub,
    storageConnectionString: testAzurite().connectionString,
    dataDir: options.dataDir ?? path.join(PACKAGE_ROOT, 'test', 'artifacts', hub, 'host'),
    env: options.env,
  });
}
