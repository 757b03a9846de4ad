// BATCHPILOT_DATA_STORAGE as a connection string is checked at startup, so that one the storage SDK
// cannot use is refused with the setting's name instead of failing at the first blob read.
import { connectionStringProblem, loadSettings, SettingsError } from '../../src/config/settings';
import { UNIT_APP_SETTINGS } from '../support/appSettingsEnv';

const { BATCHPILOT_DATA_STORAGE: _local, ...ENV } = UNIT_APP_SETTINGS;
// A placeholder, not a key: the check reads the shape of the string only.
const KEYED = ['DefaultEndpointsProtocol=http', 'AccountName=devstoreaccount1', `AccountKey=${'k'.repeat(12)}`, 'BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;'].join(';');

function problemsWith(connection: string): string[] {
  try {
    loadSettings({ ...ENV, BATCHPILOT_DATA_STORAGE: connection });
  } catch (err) {
    if (err instanceof SettingsError) return err.problems;
    throw err;
  }
  return [];
}

describe('a storage connection string the SDK cannot use', () => {
  it('is refused at startup, naming the setting and what is missing, without echoing the value', () => {
    const accountOnly = problemsWith('AccountName=foo');
    expect(accountOnly).toEqual([expect.stringMatching(/^BATCHPILOT_DATA_STORAGE is not a usable storage connection string: it needs AccountName and AccountKey/)]);
    expect(problemsWith('BlobEndpoint=notaurl')).toEqual([expect.stringMatching(/BATCHPILOT_DATA_STORAGE .* BlobEndpoint that is not an http\(s\) URL/)]);
    expect(problemsWith(`AccountName=foo;AccountKey=${'s'.repeat(12)};garbage`)).toEqual([expect.stringMatching(/has a part \(the 3rd\) that is not Key=Value/)]);
    expect(problemsWith(`AccountName=foo;AccountKey=${'s'.repeat(12)};garbage`).join(' ')).not.toContain('s'.repeat(12));
  });

  it('checks the task hub name at startup too, where it used to fail at the first run index call', () => {
    const hubProblems = (hub: string | undefined): string[] => {
      try {
        loadSettings({ ...ENV, BATCHPILOT_TASK_HUB: hub, BATCHPILOT_DATA_STORAGE: 'UseDevelopmentStorage=true' });
      } catch (err) {
        if (err instanceof SettingsError) return err.problems;
        throw err;
      }
      return [];
    };
    expect(hubProblems(undefined)).toEqual([expect.stringMatching(/^BATCHPILOT_TASK_HUB is required/)]);
    expect(hubProblems('my_hub-1')).toEqual([expect.stringMatching(/^BATCHPILOT_TASK_HUB must be 3-45 letters and digits/)]);
    expect(hubProblems('batchpilot')).toEqual([]);
  });

  it('accepts the forms the storage SDK reads', () => {
    expect(problemsWith('UseDevelopmentStorage=true')).toEqual([]);
    expect(problemsWith(KEYED)).toEqual([]);
    expect(connectionStringProblem('BlobEndpoint=https://acct.blob.core.windows.net;SharedAccessSignature=sv=2024')).toBeUndefined();
    expect(connectionStringProblem('SharedAccessSignature=sv=2024')).toMatch(/no BlobEndpoint/);
  });
});
