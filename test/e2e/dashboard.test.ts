// The operator dashboard in a real browser (Debian's Chromium driven by playwright-core) against the
// local stack with real runs: it opens with the key from #code= (the fragment, never sent to the server;
// dropped from the address bar, sent only in the x-functions-key header) and refuses to use one from ?code=,
// lists runs with counts, filters, opens a failed run and shows the failing step and its reason, the
// job's Studio link and the history, reruns it through the confirmation dialog, approves a model run
// waiting at its gate from the pending-approvals panel, shows each route's health (SLO attainment, burn
// rate, a trend chart drawn as inline SVG) as the API and `batchpilot routes health` report it, and saves
// screenshots under test/artifacts/.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { chromium, BrowserContext, Page } from 'playwright-core';
import { TableClient } from '@azure/data-tables';
import { BlobRunStack } from '../support/blobRunStack';
import { ModelRunStack } from '../support/modelRunStack';
import { OperatorClient } from '../support/operatorStack';
import { waitUntil } from '@batchpilot/local-platform';
import { CHURN_MODEL_VERSIONS, generateChurnCsv } from '@batchpilot/azureml-emulator';
import { REPO_ROOT } from '../../src/local/stack/localStack';
import type { RouteHealthResponse, RunSummary } from '../../src/operator/operatorApiTypes';
import { RunMeasurementStore, runMeasurementsTableName } from '../../src/azure/runMeasurementStore';
import { runCli } from '../../src/operator/cli/cli';
import { testAzurite } from '@batchpilot/local-platform';

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = path.join(REPO_ROOT, 'test', 'artifacts');

const ROUTES = `
routes:
  - name: web-files
    trigger: { storageAccounts: [devstoreaccount1], container: input, pathPrefix: web/ }
    target: { endpoint: churn-scoring }
    wait: { pollMinIntervalInSeconds: 1, pollMaxIntervalInSeconds: 3, timeoutInMinutes: 10 }
    validation: { maxFailedFileRatio: 0.5 }
    events: { typePrefix: Web }
    slo: { successRate: 0.9, p95DurationInMinutes: 30, maxFailedFileRatio: 0.01, window: 7d }
  - name: web-other
    trigger: { storageAccounts: [devstoreaccount1], container: input, pathPrefix: other/ }
    target: { endpoint: churn-scoring }
    wait: { pollMinIntervalInSeconds: 1, pollMaxIntervalInSeconds: 3, timeoutInMinutes: 10 }
    events: { typePrefix: Web }
modelRoutes:
  - name: web-models
    trigger: { modelName: "web-*", tags: { stage: candidate } }
    target: { endpoint: web-ep }
    validationData: { type: uri_folder, uri: "azureml://datastores/workspaceblobstore/paths/samples/churn/inputs/" }
    wait: { pollMinIntervalInSeconds: 1, pollMaxIntervalInSeconds: 3, timeoutInMinutes: 10 }
    comparison: { keyColumns: [0, 1], scoreColumn: 2, labelColumn: 3, minLabelAgreement: 0.98, maxMeanAbsScoreDifference: 0.01, maxMaxAbsScoreDifference: 0.05 }
    gate: { policy: manual, approvalTimeoutInMinutes: 30 }
    events: { typePrefix: Web }
`;

let m: ModelRunStack;
let s: BlobRunStack;
let ops: OperatorClient;
let context: BrowserContext;
let page: Page;
let userDataDir: string;
let failedRun: string;
const browserErrors: string[] = [];
const requests: Array<{ url: string; headers: Record<string, string> }> = [];

beforeAll(async () => {
  if (!fs.existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: install Debian's chromium (apt-get install -y chromium); .ci/run does.`);
  m = await ModelRunStack.start(ROUTES);
  s = BlobRunStack.over(m.stack);
  ops = new OperatorClient(s);
  await s.upload('web/monday.csv', generateChurnCsv({ rows: 6, seed: 41, firstCustomerNumber: 41000 }));
  await s.waitForRunEvent('/web/monday.csv');
  await s.upload('other/tuesday.csv', generateChurnCsv({ rows: 6, seed: 42, firstCustomerNumber: 42000 }));
  await s.waitForRunEvent('/other/tuesday.csv');
  s.stack.azureMl.setFaults({ seed: 4, jobs: { failFraction: 1 } });
  try {
    await s.upload('web/wednesday.csv', generateChurnCsv({ rows: 6, seed: 43, firstCustomerNumber: 43000 }));
    failedRun = (await s.waitForRunEvent('/web/wednesday.csv')).data.runId;
  } finally {
    s.stack.azureMl.setFaults({});
  }
  userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'batchpilot-chromium-'));
  context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: { width: 1360, height: 900 },
  });
  page = context.pages()[0] ?? (await context.newPage());
  page.on('pageerror', (err) => browserErrors.push(err.message));
  page.on('request', (r) => requests.push({ url: r.url(), headers: r.headers() }));
  page.on('console', (m) => {
    if (m.type() === 'error') browserErrors.push(m.text());
  });
  fs.mkdirSync(ARTIFACTS, { recursive: true });
}, 240_000);

afterAll(async () => {
  await context?.close();
  if (userDataDir) fs.rmSync(userDataDir, { recursive: true, force: true });
  await m?.stop();
});

/** Waits for the run list to show `n` rows (the page re-renders after each filter). */
async function rowsAre(n: number): Promise<void> {
  await waitUntil(async () => (await page.locator('#runs tbody tr').count()) === n, `${n} row(s) in the run list`);
}

describe('the operator dashboard in Chromium', () => {
  it('opens with the key from #code=, never sends it in an address, drops it from the address bar, and lists the runs with counts by status', async () => {
    await page.goto(`${s.stack.hostUrl}/api/ops/dashboard/#code=${encodeURIComponent(ops.key)}`);
    await page.locator('#runs tbody tr').nth(2).waitFor();
    expect(page.url()).not.toContain('code=');
    expect(page.url()).toMatch(/\/api\/ops\/dashboard\/#\/$/);
    expect(requests.filter((r) => r.url.includes(ops.key) || /[?&]code=/.test(r.url))).toEqual([]);
    const apiCalls = requests.filter((r) => new URL(r.url).pathname.startsWith('/api/ops/') && !new URL(r.url).pathname.startsWith('/api/ops/dashboard'));
    expect(apiCalls.length).toBeGreaterThanOrEqual(3);
    for (const call of apiCalls) expect({ url: call.url, key: call.headers['x-functions-key'] }).toEqual({ url: call.url, key: ops.key });
    expect(await page.locator('#runs tbody tr').count()).toBe(3);
    expect(await page.locator('#runs tbody tr').first().getAttribute('data-run-id')).toBe(failedRun);
    await expect(page.locator('#counts').innerText()).resolves.toMatch(/All 3[\s\S]*Completed 2[\s\S]*Failed 1/);
    await page.screenshot({ path: path.join(ARTIFACTS, 'dashboard-runs.png'), fullPage: true });
  });

  it('filters the list by status and by text, keeping the filters in the URL', async () => {
    await page.selectOption('#filter-status', 'Failed');
    await page.click('#apply-filters');
    await waitUntil(async () => page.url().includes('status=Failed') && (await page.locator('#runs tbody tr').count()) === 1, 'the status filter to apply');
    expect(await page.locator('#runs tbody tr').getAttribute('data-status')).toBe('Failed');
    expect(page.url()).toContain('status=Failed');

    await page.click('a[href="#/"] >> text=Clear');
    await rowsAre(3);
    await page.fill('#filter-q', 'tuesday');
    await page.click('#apply-filters');
    await waitUntil(async () => page.url().includes('q=tuesday') && (await page.locator('#runs tbody tr').count()) === 1, 'the text filter to apply');
    expect(await page.locator('#runs tbody tr').innerText()).toContain('input/other/tuesday.csv');
    await page.click('a[href="#/"] >> text=Clear');
    await rowsAre(3);
  });

  it('opens the failed run and shows the failing step with its reason, the history and the job with its Studio link', async () => {
    await page.click(`#runs a[href="#/runs/${failedRun}"]`);
    await page.locator('#failure').waitFor();
    const title = await page.locator('#failure-title').innerText();
    const reason = await page.locator('#failure-reason').innerText();
    expect(title).toMatch(/^Failed at step: runBatchJob/);
    expect(reason).toMatch(/Azure ML job \S+ failed/);
    expect(await page.locator('#run-status').innerText()).toContain('Failed');
    await expect(page.locator('#history tr[data-step="runBatchJob"]').getAttribute('data-status')).resolves.toBe('failed');
    expect(await page.locator('#history tr[data-step="adoptOrSubmitJob"]').count()).toBe(1);
    expect(await page.locator('#timeline li').count()).toBeGreaterThan(3);
    const studio = page.locator('#jobs a').first();
    expect(await studio.getAttribute('href')).toMatch(/^https:\/\/.*\/studio\/runs\//);
    expect(await page.locator('#events').innerText()).toContain('Web.Run.Failed');
    await page.screenshot({ path: path.join(ARTIFACTS, 'dashboard-failed-run.png'), fullPage: true });
  });

  it('reruns the failed run through the confirmation dialog and follows the new run to completion', async () => {
    await page.click('button:has-text("Rerun…")');
    const dialog = page.locator('dialog#confirm');
    await dialog.waitFor();
    await page.fill('#confirm-reason', 'faults cleared; trying again from the dashboard');
    await page.fill('#confirm-actor', 'dashboard test');
    await page.click('#confirm-ok');
    await waitUntil(() => page.url().endsWith(`#/runs/${failedRun}-r1`), 'the page to follow the new run');
    await waitUntil(async () => /Completed/.test(await page.locator('#run-status').innerText().catch(() => '')), 'the rerun to complete on the page (auto-refresh)', 60_000);
    expect(await page.locator('dl.facts').innerText()).toContain(`Rerun of\n${failedRun}`);
    const original = await ops.run(failedRun);
    expect(original.audit[0]).toMatchObject({ action: 'rerun', reason: 'faults cleared; trying again from the dashboard', by: { declaredAs: 'dashboard test' } });
  });

  it('keeps what each run measured: rows scored, failed-file ratio, verdict, latency from arrival, job times and Azure ML calls', async () => {
    const table = TableClient.fromConnectionString(testAzurite().connectionString, runMeasurementsTableName(s.stack.appSettings.BATCHPILOT_TASK_HUB), { allowInsecureConnection: true });
    const store = new RunMeasurementStore(table);
    const { runs } = await waitUntil(async () => {
      const read = await store.listSince('web-files', new Date(Date.now() - 3_600_000));
      return read.runs.length === 3 ? read : undefined;
    }, 'the three web-files runs to be measured');
    const failed = runs.find((r) => r.runId === failedRun)!;
    const completed = runs.filter((r) => r.outcome === 'Completed');
    expect(failed).toMatchObject({ route: 'web-files', kind: 'blob', outcome: 'Failed', validation: 'none', resubmissions: 0 });
    expect(completed).toHaveLength(2);
    for (const r of completed) {
      expect(r).toMatchObject({ route: 'web-files', kind: 'blob', validation: 'passed', rowsScored: 6, failedFileRatio: 0, resubmissions: 0 });
      // Resolve, list + invoke at the least; polls and the job's events add more.
      expect(r.controlPlaneCalls).toBeGreaterThanOrEqual(3);
      expect(r.jobQueueInSeconds).toBeGreaterThanOrEqual(0);
      expect(r.jobRunInSeconds).toBeGreaterThanOrEqual(0);
      expect(r.durationInSeconds).toBeGreaterThan(0);
    }
    // The first run came from a storage event; the rerun was started by an operator, so it has no arrival.
    const fromEvent = completed.find((r) => !r.runId.endsWith('-r1'))!;
    expect(fromEvent.arrivalToSubmissionInSeconds).toBeGreaterThanOrEqual(0);
    expect(completed.find((r) => r.runId.endsWith('-r1'))!.arrivalToSubmissionInSeconds).toBeUndefined();
  });

  it("shows each route's health: attainment over 24 h and the window, the burn rate, a trend drawn as inline SVG; the API and the CLI agree", async () => {
    const health = await ops.get<RouteHealthResponse>('/health');
    expect(health.status).toBe(200);
    const files = health.body.routes.find((r) => r.route === 'web-files')!;
    // Two of three runs completed against an objective of 90%: (1/3) / (1 - 0.9) = 3.33 times the budget.
    expect(files.last24h).toMatchObject({ runs: 3, succeeded: 2, successRate: 0.6667, attained: false, burnRate: 3.33, worstFailedFileRatio: 0 });
    expect(files.overWindow.objectives.map((o) => [o.name, o.met])).toEqual([['successRate', false], ['p95DurationInMinutes', true], ['maxFailedFileRatio', true]]);
    expect(files.trend).toHaveLength(8);
    expect(files.stuckRuns).toBe(0);
    const other = health.body.routes.find((r) => r.route === 'web-other')!;
    expect(other).not.toHaveProperty('slo');
    expect(other).toMatchObject({ last24h: { runs: 1, successRate: 1, objectives: [] } });
    expect((await ops.get('/health?route=no-such-route')).status).toBe(404);

    await page.goto(`${s.stack.hostUrl}/api/ops/dashboard/#/health`);
    const section = page.locator('section.route-health[data-route="web-files"]');
    await section.waitFor();
    expect(await section.locator('tr[data-objective="successRate"]').innerText()).toMatch(/90\.0 %[\s\S]*66\.7 %\s*missed/);
    expect(await section.locator('tr[data-objective="burnRate"]').innerText()).toContain('3.33×');
    expect(await section.locator('tr[data-objective="p95DurationInMinutes"]').innerText()).toMatch(/met/);
    const chart = section.locator('svg.trend');
    expect(await chart.getAttribute('data-points')).toBe('8');
    expect(await chart.locator('rect.duration').count()).toBe(8);
    expect(await chart.locator('polyline.success').count()).toBe(1);
    expect(await chart.locator('circle.success-point').count()).toBe(1);
    expect(await section.locator('p.legend').innerText()).toMatch(/^Per day, oldest left/);
    expect(await chart.getAttribute('aria-label')).toMatch(/1 of 8 periods had runs/);
    expect(await page.locator('section.route-health[data-route="web-other"]').innerText()).toMatch(/no slo/);
    await page.screenshot({ path: path.join(ARTIFACTS, 'dashboard-route-health.png'), fullPage: true });

    const out: string[] = [];
    const code = await runCli(['routes', 'health', '--url', s.stack.hostUrl, '--key', ops.key], { out: (t) => out.push(t), err: (t) => out.push(t) });
    expect(code).toBe(1);
    expect(out.join('\n')).toMatch(/web-files\s+MISSED\s+3 \(66\.7%\)\s+3\.33×/);
    expect(out.join('\n')).toMatch(/web-other\s+—/);
  });

  it('does not use a key sent in the query (?code=): it says why, and drops it from the address bar', async () => {
    const other = await context.newPage();
    try {
      const seen: string[] = [];
      other.on('request', (r) => seen.push(r.url()));
      await other.goto(`${s.stack.hostUrl}/api/ops/dashboard/?code=${encodeURIComponent(ops.key)}#/`);
      await other.locator('#key-notice').waitFor();
      expect(await other.locator('#key-notice').innerText()).toMatch(/not used[\s\S]*#code=<key>/);
      expect(other.url()).not.toContain('code=');
      expect(seen.filter((u) => new URL(u).pathname.startsWith('/api/ops/') && !new URL(u).pathname.startsWith('/api/ops/dashboard'))).toEqual([]);
      // A key given afterwards in the fragment of the open tab is taken.
      await other.evaluate((key) => {
        (globalThis as unknown as { location: { hash: string } }).location.hash = `#code=${encodeURIComponent(key)}&/audit`;
      }, ops.key);
      await other.locator('#audit').waitFor();
      expect(other.url()).toMatch(/#\/audit$/);
      await other.click('#verify-audit');
      await waitUntil(async () => /^Intact: records 1–\d+ of \d+/.test(await other.locator('#audit-verdict').innerText()), 'the audit chain check to answer');
    } finally {
      await other.close();
    }
  });

  it('ran without script errors', () => {
    expect(browserErrors).toEqual([]);
  });

  it('approves a model run waiting at its gate from the pending-approvals panel, and the run is promoted', async () => {
    await m.createEndpoint('web-ep');
    await m.registerModel('web-churn', '1', { weights: CHURN_MODEL_VERSIONS['1'].weights, bias: CHURN_MODEL_VERSIONS['1'].bias });
    const pending = await waitUntil(async () => (await ops.listAll('kind=model&status=AwaitingApproval'))[0] as RunSummary | undefined, 'the model run to wait at its gate', 180_000);
    await page.goto(`${s.stack.hostUrl}/api/ops/dashboard/#/`);
    const item = page.locator(`#approvals li[data-run-id="${pending.runId}"]`);
    await item.waitFor();
    await page.click(`#approvals li[data-run-id="${pending.runId}"] a`);
    await page.locator('#approval').waitFor();
    expect(await page.locator('#approval').innerText()).toMatch(/Comparison passed/);
    expect(await page.locator('[data-report="comparison"]').innerText()).toMatch(/comparison/);
    await page.screenshot({ path: path.join(ARTIFACTS, 'dashboard-awaiting-approval.png'), fullPage: true });
    await page.click('button:has-text("Approve…")');
    await page.fill('#confirm-reason', 'comparison reviewed in the dashboard');
    await page.click('#confirm-ok');
    await waitUntil(async () => /Promoted/.test(await page.locator('#run-status').innerText().catch(() => '')), 'the run to show Promoted (auto-refresh)', 90_000);
    expect(await m.defaultOf('web-ep')).toBe('web-churn-v1');
    const d = await ops.run(pending.runId);
    expect(d.output).toMatchObject({ decision: { approved: true, via: 'approval', reason: 'comparison reviewed in the dashboard' } });
    expect(d.audit[0]).toMatchObject({ action: 'approve', outcome: 'succeeded' });
    await page.screenshot({ path: path.join(ARTIFACTS, 'dashboard-promoted.png'), fullPage: true });
    expect(browserErrors).toEqual([]);
  });
});
