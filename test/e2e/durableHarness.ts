// The durable suites' host: startDurableHost of the local host on a fixture app of test/fixtures, with
// its own task hub on the run's Azurite and its keys under test/artifacts/<hub>.
import * as path from 'node:path';
import { startDurableHost as startOnApp, DurableHost } from '@batchpilot/local-host';
import { testAzurite, uniqueName } from '@batchpilot/local-platform';
import { REPO_ROOT as ROOT } from '../../src/local/stack/localStack';

export { statusWithHistory, waitForStatus, historyOf } from '@batchpilot/local-host';
export type { DurableHost, HistoryEntry } from '@batchpilot/local-host';

export const FIXTURES = path.join(ROOT, 'test', 'fixtures');

export function startDurableHost(fixture: string, options: { hub?: string; env?: Record<string, string>; dataDir?: string } = {}): Promise<DurableHost> {
  const hub = options.hub ?? uniqueName('hub');
  return startOnApp({
    appDir: path.join(FIXTURES, fixture),
    hub,
    storageConnectionString: testAzurite().connectionString,
    dataDir: options.dataDir ?? path.join(ROOT, 'test', 'artifacts', hub, 'host'),
    env: options.env,
  });
}
