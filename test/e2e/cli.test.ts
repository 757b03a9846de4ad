// The built CLI (`node dist/src/operator/cli/cli.js`, the package's `batchpilot` bin) as a process
// against the local stack: it lists, shows and reruns real runs, prints tables for people and JSON
// for scripts, finds the local host's key by itself, and fails with clear messages and exit codes.
import { execFile } from 'node:child_process';
import * as path from 'node:path';
import { BlobServiceClient } from '@azure/storage-blob';
import { TableClient } from '@azure/data-tables';
import { BlobRunStack } from '../support/blobRunStack';
import { OperatorClient } from '../support/operatorStack';
import { generateChurnCsv } from '@batchpilot/azureml-emulator';
import { REPO_ROOT } from '../../src/local/stack/localStack';
import type { RunDetail, RunIndexStatus, RunListPage, RunSummary } from '../../src/operator/operatorApiTypes';
import { runIndexTableNames } from '../../src/azure/runIndexKeys';
import { testAzurite } from '@batchpilot/local-platform';

const CLI = path.join(REPO_ROOT, 'dist', 'src', 'operator', 'cli', 'cli.js');

const ROUTES = `
routes:
  - name: cli-files
    trigger: { storageAccounts: [devstoreaccount1], container: input, pathPrefix: cli/ }
    target: { endpoint: churn-scoring }
    wait: { pollMinIntervalInSeconds: 1, pollMaxIntervalInSeconds: 3, timeoutInMinutes: 10 }
    validation: {}
    events: { typePrefix: Cli }
`;

interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the CLI with a clean environment (no BATCHPILOT_* from the developer's shell). */
function cli(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  const base: Record<string, string> = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', NODE_EXTRA_CA_CERTS: process.env.NODE_EXTRA_CA_CERTS ?? '' };
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { env: { ...base, ...env }, cwd: '/', timeout: 120_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

let s: BlobRunStack;
let ops: OperatorClient;
let target: string[];
let completedRun: string;
let failedRun: string;

beforeAll(async () => {
  s = await BlobRunStack.start(ROUTES);
  ops = new OperatorClient(s);
  target = ['--url', s.stack.hostUrl, '--key', ops.key];
  await s.upload('cli/good.csv', generateChurnCsv({ rows: 5, seed: 31, firstCustomerNumber: 31000 }));
  completedRun = (await s.waitForRunEvent('/cli/good.csv')).data.runId;
  s.stack.azureMl.setFaults({ seed: 2, jobs: { failFraction: 1 } });
  try {
    await s.upload('cli/bad.csv', generateChurnCsv({ rows: 5, seed: 32, firstCustomerNumber: 32000 }));
    failedRun = (await s.waitForRunEvent('/cli/bad.csv')).data.runId;
  } finally {
    s.stack.azureMl.setFaults({});
  }
}, 240_000);

afterAll(async () => {
  await s?.stop();
});

describe('batchpilot runs (the built CLI)', () => {
  it('lists runs as a table for people', async () => {
    const r = await cli(['runs', 'list', ...target]);
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^RUN\s+KIND\s+ROUTE\s+STATUS\s+CREATED\s+INPUTS$/);
    expect(lines[1]).toContain(failedRun);
    expect(lines[1]).toMatch(/blob\s+cli-files\s+Failed/);
    expect(lines[2]).toContain(completedRun);
    expect(lines[2]).toContain('input/cli/good.csv');
  });

  it('lists runs as JSON for scripts, with filters, finding the local host key from the stack state by itself', async () => {
    const stateDir = path.dirname(path.dirname(s.stack.host!.keysFile));
    const r = await cli(['runs', 'list', '--json', '--status', 'Completed', '--url', s.stack.hostUrl, '--state-dir', stateDir]);
    expect(r.code).toBe(0);
    const page = JSON.parse(r.stdout) as { runs: RunSummary[] };
    expect(page.runs.map((x) => x.runId)).toEqual([completedRun]);
    const viaEnv = await cli(['runs', 'list', '--json', '--top', '1'], { BATCHPILOT_URL: s.stack.hostUrl, BATCHPILOT_FUNCTION_KEY: ops.key });
    expect(viaEnv.code).toBe(0);
    expect(JSON.parse(viaEnv.stdout)).toMatchObject({ runs: [{ runId: failedRun }], continuationToken: expect.any(String) });
    const all = await cli(['runs', 'list', '--json', '--top', '1', '--all'], { BATCHPILOT_URL: s.stack.hostUrl, BATCHPILOT_FUNCTION_KEY: ops.key });
    expect((JSON.parse(all.stdout) as { runs: RunSummary[] }).runs.map((x) => x.runId)).toEqual([failedRun, completedRun]);
  });

  it('shows a failed run with its failing step, reason and the Azure ML job', async () => {
    const r = await cli(['runs', 'show', failedRun, ...target]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`Run:\\s+${failedRun}`));
    expect(r.stdout).toMatch(/Status:\s+Failed/);
    expect(r.stdout).toMatch(/FAILED AT runBatchJob.*: Azure ML job .* failed/);
    expect(r.stdout).toMatch(/Azure ML jobs\nJOB\s+ATTEMPT\s+STATUS\s+STUDIO\n\S+\s+1\s+Failed\s+https:\/\/\S+\/studio\/runs\//);
    expect(r.stdout).toContain('Cli.Run.Failed');
    const json = await cli(['runs', 'show', failedRun, '--json', ...target]);
    expect((JSON.parse(json.stdout) as RunDetail).summary).toMatchObject({ runId: failedRun, status: 'Failed' });
  });

  it('reruns a run and waits for it, exiting 0 when the rerun completes; the audit names the --as operator', async () => {
    const r = await cli(['runs', 'rerun', failedRun, '--reason', 'faults cleared', '--wait', '--json', '--as', 'cli-tester', ...target]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as { newRunId: string; rerunOf: string; run: RunSummary };
    expect(out).toMatchObject({ action: 'rerun', newRunId: `${failedRun}-r1`, rerunOf: failedRun, run: { status: 'Completed', rerunOf: failedRun } });
    const detail = await ops.run(failedRun);
    expect(detail.reruns).toEqual([`${failedRun}-r1`]);
    expect(detail.audit[0]).toMatchObject({ action: 'rerun', reason: 'faults cleared', by: { declaredAs: 'cli-tester' } });
    const human = await cli(['runs', 'rerun', completedRun, '--reason', 'again', ...target]);
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(new RegExp(`^rerun: done \\(audit record \\S+\\)\\n  runId: ${completedRun}\\n  newRunId: ${completedRun}-r1`));
  });

  it.each([
    [['runs', 'show', 'bp-cli-files-nope'], 1, /error: 404 RunNotFound: No run with ID 'bp-cli-files-nope'/],
    [['runs', 'list', '--status', 'Done'], 1, /error: 400 InvalidFilter: status 'Done' is not one of/],
    [['runs', 'terminate', 'RUN', '--reason', 'x', '--yes'], 1, /error: 409 RunFinished: Run '.*' has already finished \(Completed\)/],
    [['runs', 'approve', 'RUN', '--reason', 'x'], 1, /error: 409 RunFinished/],
    [['runs', 'rerun', 'RUN'], 2, /'runs rerun' needs --reason/],
    [['runs', 'terminate', 'RUN', '--reason', 'x'], 2, /Add --yes to confirm/],
    [['runs', 'start', '--reason', 'x'], 2, /exactly one of --blob/],
    [['runs', 'show'], 2, /needs a run ID/],
    [['runs', 'frobnicate'], 2, /Unknown runs command 'frobnicate'/],
    [['runs', 'list', '--reason', 'x'], 2, /'runs list' does not take --reason/],
    [['runs', 'list', '--bogus'], 2, /Unknown option '--bogus'/],
  ])('%j exits %i with a clear message', async (args, code, message) => {
    const r = await cli([...args.map((a) => (a === 'RUN' ? completedRun : a)), ...target]);
    expect(r.code).toBe(code);
    expect(r.stderr).toMatch(message);
  });

  it('verifies the audit trail: intact after the actions above, exit 1 naming the record once one is changed', async () => {
    const intact = await cli(['audit', 'verify', ...target]);
    expect(intact.stderr).toBe('');
    expect(intact.code).toBe(0);
    expect(intact.stdout).toMatch(/^Audit trail intact: 4 record\(s\) checked \(1\.\.4\); newest record 4, hash [0-9a-f]{64}\.$/m);
    // Locally Azurite has no immutability policy: change a record past the app, as an intruder would.
    const container = BlobServiceClient.fromConnectionString(s.stack.dataConnectionString).getContainerClient(s.stack.appSettings.BATCHPILOT_AUDIT_CONTAINER);
    const name = 'chain/999999999998.json';
    const record = JSON.parse((await container.getBlobClient(name).downloadToBuffer()).toString('utf8')) as { seq: number; reason: string };
    expect(record).toMatchObject({ seq: 1, reason: 'faults cleared' });
    const altered = JSON.stringify({ ...record, reason: 'routine maintenance' });
    await container.getBlockBlobClient(name).upload(altered, Buffer.byteLength(altered));
    const tampered = await cli(['audit', 'verify', '--json', ...target]);
    expect(tampered.code).toBe(1);
    expect(JSON.parse(tampered.stdout)).toMatchObject({ ok: false, checked: 4, problems: [{ seq: 1, blob: name, problem: expect.stringMatching(/does not match its hash/) }] });
    const human = await cli(['audit', 'verify', ...target]);
    expect(human.stdout).toMatch(/^Audit trail NOT intact: 1 problem\(s\) in 4 record\(s\) checked\.\nRECORD\s+BLOB\s+PROBLEM\n1\s+chain\/999999999998\.json\s+record 1's content does not match its hash/);
    expect(await cli(['audit', 'frobnicate', ...target])).toMatchObject({ code: 2, stderr: expect.stringMatching(/Unknown audit command 'frobnicate'/) });
  });

  it('exits 3 when the API cannot be reached, and 1 with the refusal when the key is wrong', async () => {
    const unreachable = await cli(['runs', 'list', '--url', 'http://127.0.0.1:9', '--key', 'k']);
    expect(unreachable.code).toBe(3);
    expect(unreachable.stderr).toMatch(/Cannot reach the operator API at http:\/\/127\.0\.0\.1:9/);
    const wrongKey = await cli(['runs', 'list', '--url', s.stack.hostUrl, '--key', 'not-the-key']);
    expect(wrongKey.code).toBe(1);
    expect(wrongKey.stderr).toMatch(/401/);
    const nothing = await cli(['runs', 'list']);
    expect(nothing.code).toBe(3);
    expect(nothing.stderr).toMatch(/No operator API to talk to|Cannot reach the operator API/);
  });

  it('backfills the run index: runs missing from it are written back from their instances, and listed again', async () => {
    // As if these runs were made before the run index existed: empty its tables, backfill state and all.
    for (const name of Object.values(runIndexTableNames(s.stack.appSettings.BATCHPILOT_TASK_HUB))) {
      const table = TableClient.fromConnectionString(testAzurite().connectionString, name, { allowInsecureConnection: true });
      for await (const e of table.listEntities()) await table.deleteEntity(e.partitionKey!, e.rowKey!);
    }
    expect((await ops.get<RunListPage>('/runs?top=199')).body.runs).toEqual([]);
    expect((await ops.get<RunIndexStatus>('/index')).body).toMatchObject({ ready: false });
    const r = await cli(['runs', 'backfill-index', '--reason', 'runs from before the index', ...target]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^The run index holds every run: \d+ instance\(s\) read, \d+ run\(s\) written by the backfill \(audit record \S+\)\.$/m);
    const runs = (await ops.get<RunListPage>('/runs?top=198')).body;
    expect(runs.source).toBe('index');
    expect(runs.runs.map((x) => [x.runId, x.status]).sort()).toEqual([[completedRun, 'Completed'], [`${completedRun}-r1`, 'Completed'], [failedRun, 'Failed'], [`${failedRun}-r1`, 'Completed']].sort());
    expect((await ops.get<RunIndexStatus>('/index')).body).toMatchObject({ ready: true, backfill: { state: 'complete' } });
    expect(await cli(['runs', 'backfill-index', ...target])).toMatchObject({ code: 2, stderr: expect.stringMatching(/'runs backfill-index' needs --reason/) });
  });
});
