// A broken configuration stops the app at startup with a message that names the setting, the route
// and the field, instead of failing on the first event.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { LOCAL_HOST_CLI as HOST_CLI } from '@batchpilot/local-host';
import { REPO_ROOT } from '../../src/local/stack/localStack';
import { testAzurite, uniqueName } from '@batchpilot/local-platform';

const GOOD_SETTINGS = {
  BATCHPILOT_TASK_HUB: 'startup',
  BATCHPILOT_ARM_ENDPOINT: 'https://127.0.0.1:9',
  BATCHPILOT_ML_WORKSPACE_ID: '/subscriptions/s/resourceGroups/r/providers/Microsoft.MachineLearningServices/workspaces/w',
  BATCHPILOT_EVENTS_TOPIC_ENDPOINT: 'https://127.0.0.1:9/topics/t/api/events',
  BATCHPILOT_DATA_STORAGE: 'UseDevelopmentStorage=true',
};

function startHost(settings: Record<string, string>): { status: number | null; stderr: string } {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'startup-'));
  const r = spawnSync(process.execPath, [HOST_CLI, '--app', REPO_ROOT, '--port', '0', '--data-dir', dataDir], {
    env: { ...process.env, AzureWebJobsStorage: testAzurite().connectionString, ...settings },
    encoding: 'utf8',
    timeout: 60_000,
    // A host that does start (the configuration was not refused) must not outlive the test.
    killSignal: 'SIGKILL',
  });
  return { status: r.status, stderr: r.stderr };
}

function routesFile(text: string): string {
  const file = path.join(os.tmpdir(), `${uniqueName('routes')}.yaml`);
  fs.writeFileSync(file, text);
  return file;
}

describe('app startup', () => {
  it('refuses to start with an invalid routes file, naming the route and field', () => {
    const file = routesFile('routes:\n  - name: daily\n    trigger: { storageAccounts: [acct], container: incoming }\n    batching: { mode: window, quietPeriodInSeconds: -5 }\n    target: { endpoint: churn }\n');
    const r = startHost({ ...GOOD_SETTINGS, BATCHPILOT_ROUTES_PATH: file });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/Routes file .* is invalid/);
    expect(r.stderr).toMatch(/route 'daily', field batching\.quietPeriodInSeconds/);
  });

  it('refuses to start with a glob that does not compile, naming the route and field', () => {
    const file = routesFile('routes:\n  - name: daily\n    trigger: { storageAccounts: [acct], container: incoming, pathGlob: "**/*.{csv,tsv" }\n    target: { endpoint: churn }\n');
    const r = startHost({ ...GOOD_SETTINGS, BATCHPILOT_ROUTES_PATH: file });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/route 'daily', field trigger\.pathGlob: glob '\*\*\/\*\.\{csv,tsv' is invalid: '\{' at position 5 is never closed/);
  });

  it('refuses to start with a missing or malformed setting, naming it', () => {
    const file = routesFile('routes: []\n');
    const r = startHost({ ...GOOD_SETTINGS, BATCHPILOT_ROUTES_PATH: file, BATCHPILOT_ARM_ENDPOINT: 'http://not-tls', BATCHPILOT_EVENTS_TOPIC_ENDPOINT: '' });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/BATCHPILOT_ARM_ENDPOINT must be an https URL/);
    expect(r.stderr).toMatch(/BATCHPILOT_EVENTS_TOPIC_ENDPOINT is required/);
  });
});
