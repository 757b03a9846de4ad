// Drift in predictions on the local stack: a route's validation compares each run's scores with its
// latest completed runs. The first run has no baseline (measured later against), a run of the same
// population shows no drift, a run of a shifted population (short-tenure, month-to-month customers,
// whom the churn model scores high) publishes <prefix>.Run.DriftDetected with the statistics and the
// baseline runs and still completes; on a route whose rule fails, the same shift fails validation.
import { BlobRunStack, RunEvent } from '../support/blobRunStack';
import { OperatorClient } from '../support/operatorStack';
import { waitUntil } from '@batchpilot/local-platform';
import { generateChurnCsv } from '@batchpilot/azureml-emulator';
import type { RouteHealthResponse } from '../../src/operator/operatorApiTypes';

const ROUTES = `
routes:
  - name: drift-warn
    trigger: { storageAccounts: [devstoreaccount1], container: input, pathPrefix: warn/ }
    target: { endpoint: churn-scoring }
    wait: { pollMinIntervalInSeconds: 1, pollMaxIntervalInSeconds: 3, timeoutInMinutes: 10 }
    validation: { drift: { column: 2, statistic: both, baselineRuns: 2, action: warn } }
    events: { typePrefix: Drift }
  - name: drift-fail
    trigger: { storageAccounts: [devstoreaccount1], container: input, pathPrefix: fail/ }
    target: { endpoint: churn-scoring }
    wait: { pollMinIntervalInSeconds: 1, pollMaxIntervalInSeconds: 3, timeoutInMinutes: 10 }
    validation: { drift: { column: 2, statistic: psi, psiThreshold: 0.25, action: fail } }
    events: { typePrefix: Drift }
`;

const ROWS = 2000;

/** The same generator, but every customer is on a month-to-month contract in their first months. */
function shiftedCsv(seed: number): string {
  const [header, ...lines] = generateChurnCsv({ rows: ROWS, seed, firstCustomerNumber: seed * 10_000 }).trimEnd().split('\n');
  const shifted = lines.map((line) => {
    const cells = line.split(',');
    cells[1] = String(1 + (Number(cells[1]) % 4));
    cells[4] = 'month-to-month';
    return cells.join(',');
  });
  return `${[header, ...shifted].join('\n')}\n`;
}

function sameCsv(seed: number): string {
  return generateChurnCsv({ rows: ROWS, seed, firstCustomerNumber: seed * 10_000 });
}

let s: BlobRunStack;
let ops: OperatorClient;

beforeAll(async () => {
  s = await BlobRunStack.start(ROUTES);
  ops = new OperatorClient(s);
}, 120_000);

afterAll(async () => {
  await s?.stop();
});

function driftEvents(): RunEvent[] {
  return s.runEvents().filter((e) => e.type === 'Drift.Run.DriftDetected');
}

async function scored(blobPath: string, csv: string): Promise<RunEvent> {
  await s.upload(blobPath, csv);
  return s.waitForRunEvent(`/${blobPath}`);
}

describe('the drift rule of validation', () => {
  it('measures nothing on a route\'s first run, finds no drift in the same population, and warns of a shifted one with the statistics and the baseline runs', async () => {
    const first = await scored('warn/monday.csv', sameCsv(1));
    expect(first.type).toBe('Drift.Run.Completed');
    const second = await scored('warn/tuesday.csv', sameCsv(2));
    expect(second.type).toBe('Drift.Run.Completed');
    const shifted = await scored('warn/wednesday.csv', shiftedCsv(3));
    // A warning: the run completes, and a second event says what drifted against what.
    expect(shifted.type).toBe('Drift.Run.Completed');
    const warning = await waitUntil(() => driftEvents()[0], 'the DriftDetected event');
    await s.quiesce();
    expect(driftEvents()).toHaveLength(1);
    const data = warning.data as unknown as Record<string, unknown>;
    expect(warning.id).toBe(`${shifted.data.runId}:Drift.Run.DriftDetected`);
    expect(data).toMatchObject({ runId: shifted.data.runId, route: 'drift-warn', detected: true, statistic: 'both', psiThreshold: 0.2, ksThreshold: 0.1, currentScores: ROWS, column: 2 });
    expect(data.psi as number).toBeGreaterThan(0.2);
    expect(data.ks as number).toBeGreaterThan(0.1);
    expect((data.baselineRuns as Array<{ runId: string }>).map((b) => b.runId)).toEqual([second.data.runId, first.data.runId]);

    const record = await s.runRecord('drift-warn', shifted.data.runId);
    expect((record?.validation as { summary: string }).summary).toMatch(/^Validation passed/);
    const report = JSON.parse((await s.runs.getBlockBlobClient(`drift-warn/${second.data.runId}.scores.json`).downloadToBuffer()).toString()) as { count: number; sample: number[] };
    expect(report.count).toBe(ROWS);
    expect(report.sample).toHaveLength(ROWS);

    // The same figures reach route health: the route's last run drifted.
    const health = await waitUntil(async () => {
      const r = await ops.get<RouteHealthResponse>('/health?route=drift-warn');
      const route = r.body.routes?.[0];
      return route?.lastRun?.runId === shifted.data.runId ? route : undefined;
    }, 'the shifted run to be measured');
    expect(health.lastRun?.drift).toMatchObject({ detected: true, psi: data.psi, ks: data.ks });
    expect(health.last24h).toMatchObject({ runs: 3, succeeded: 3 });
  });

  it('fails the run when the rule says drift fails it, and publishes no warning for it', async () => {
    const baseline = await scored('fail/monday.csv', sameCsv(4));
    expect(baseline.type).toBe('Drift.Run.Completed');
    const same = await scored('fail/tuesday.csv', sameCsv(5));
    expect(same.type).toBe('Drift.Run.Completed');
    const shifted = await scored('fail/wednesday.csv', shiftedCsv(6));
    expect(shifted.type).toBe('Drift.Run.ValidationFailed');
    expect(shifted.data.reason).toMatch(/^Validation failed: the scores of predictions\.csv drifted from the route's baseline: PSI \d+\.\d+ \(limit 0\.25\); 2000 scores of column 2 against 4000 sampled from 2 earlier run\(s\)\.$/);
    await s.quiesce();
    expect(driftEvents().filter((e) => (e.data as unknown as { route: string }).route === 'drift-fail')).toEqual([]);
  });
});
