// The soak's checks find each kind of damage they are meant to find: built from a clean ledger and
// clean observations, every test breaks one thing and expects exactly that violation.
import { checkSoak, ViolationKind } from '../../bench/soak/soakChecks';
import type { SentLedger } from '../../bench/soak/workloadDriver';
import type { Observations } from '../../bench/soak/observations';
import { parseSoakArgs } from '../../bench/soak/main';
import { planWorkload } from '../../bench/soak/workload';
import { FUNCTION_KEY_ACTOR } from '../../src/operator/operatorAccess';

function clean(): { ledger: SentLedger; o: Observations } {
  const ledger: SentLedger = {
    items: [],
    blobs: [
      { itemId: 'i1', route: 'soak-files', blobPath: 'soak/files/a.csv', eTag: '0x1', role: 'input', poisoned: false },
      { itemId: 'i2', route: 'soak-strict', blobPath: 'soak/strict/b.csv', eTag: '0x2', role: 'input', poisoned: true },
      { itemId: 'i3', route: 'soak-marker', blobPath: 'soak/marker/f/p-0.csv', eTag: '0x3', role: 'input', poisoned: false },
      { itemId: 'i3', route: 'soak-marker', blobPath: 'soak/marker/f/_SUCCESS', eTag: '0x4', role: 'marker', poisoned: false },
    ],
    models: [{ itemId: 'i4', route: 'soak-models-manual', gate: 'manual', name: 'soak-manual-s1', version: '1', agrees: true, plannedDecision: 'reject' }],
    failures: [],
  };
  const o: Observations = {
    runs: [
      { runId: 'bp-a', kind: 'blob', runtimeStatus: 'Completed', route: 'soak-files', files: [{ blobPath: 'soak/files/a.csv', eTag: '0x1' }] },
      { runId: 'bp-b', kind: 'blob', runtimeStatus: 'Completed', route: 'soak-strict', files: [{ blobPath: 'soak/strict/b.csv', eTag: '0x2' }] },
      { runId: 'bp-f-b1', kind: 'blob', runtimeStatus: 'Completed', route: 'soak-marker', files: [{ blobPath: 'soak/marker/f/p-0.csv', eTag: '0x3' }] },
      { runId: 'bpm-m', kind: 'model', runtimeStatus: 'Completed', route: 'soak-models-manual', files: [], model: { name: 'soak-manual-s1', version: '1' } },
    ],
    brokenOrchestrations: [],
    records: [
      { runId: 'bp-a', route: 'soak-files', outcome: 'Completed', eventType: 'Soak.Run.Completed', jobs: [{ tag: 'bp-a', attempt: 1, jobName: 'job-a' }] },
      { runId: 'bp-b', route: 'soak-strict', outcome: 'ValidationFailed', eventType: 'Soak.Run.ValidationFailed', reason: 'rows', jobs: [{ tag: 'bp-b', attempt: 1, jobName: 'job-b' }] },
      { runId: 'bp-f-b1', route: 'soak-marker', outcome: 'Completed', eventType: 'Soak.Run.Completed', jobs: [{ tag: 'bp-f-b1', attempt: 1, jobName: 'job-f1' }, { tag: 'bp-f-b1', attempt: 2, jobName: 'job-f2' }] },
      {
        runId: 'bpm-m', route: 'soak-models-manual', outcome: 'Rejected', eventType: 'Soak.Model.Rejected', reason: 'no',
        jobs: [{ tag: 'bpm-m:candidate', attempt: 1, jobName: 'job-c' }, { tag: 'bpm-m:baseline', attempt: 1, jobName: 'job-base' }],
        decision: { approved: false, by: FUNCTION_KEY_ACTOR, via: 'approval' },
      },
    ],
    events: [
      { id: 'e-a', type: 'Soak.Run.Completed', runId: 'bp-a', deliveries: 2 },
      { id: 'e-b', type: 'Soak.Run.ValidationFailed', runId: 'bp-b', deliveries: 1 },
      { id: 'e-f', type: 'Soak.Run.Completed', runId: 'bp-f-b1', deliveries: 3 },
      { id: 'e-m', type: 'Soak.Model.Rejected', runId: 'bpm-m', deliveries: 1 },
    ],
    eventsPublished: 4,
    jobs: [
      { name: 'job-a', status: 'Completed', runTag: 'bp-a', attempt: 1, faultPlan: 'none', statusHistory: [] },
      { name: 'job-b', status: 'Completed', runTag: 'bp-b', attempt: 1, faultPlan: 'none', statusHistory: [] },
      { name: 'job-f1', status: 'Canceled', runTag: 'bp-f-b1', attempt: 1, faultPlan: 'preempt', statusHistory: [] },
      { name: 'job-f2', status: 'Completed', runTag: 'bp-f-b1', attempt: 2, faultPlan: 'none', statusHistory: [] },
      { name: 'job-c', status: 'Completed', runTag: 'bpm-m:candidate', attempt: 1, faultPlan: 'none', statusHistory: [] },
      { name: 'job-base', status: 'Completed', runTag: 'bpm-m:baseline', attempt: 1, faultPlan: 'none', statusHistory: [] },
      { name: 'not-ours', status: 'Running', statusHistory: [] },
    ],
    deadLettered: [],
    deadLetterBlobs: 0,
  };
  return { ledger, o };
}

function kinds(ledger: SentLedger, o: Observations): ViolationKind[] {
  return checkSoak(ledger, o).violations.map((v) => v.kind);
}

describe('the soak checks', () => {
  it('find nothing wrong when every input has one finished, recorded, announced run and one job per attempt', () => {
    const { ledger, o } = clean();
    const verdict = checkSoak(ledger, o);
    expect(verdict.violations).toEqual([]);
    expect(verdict.figures).toMatchObject({ runs: 4, jobsSubmitted: 6, duplicateJobs: 0, orphanJobs: 0, runsWithoutRecord: 0, runsNotFinal: 0, runsWithoutOneOutcomeEvent: 0 });
  });

  it('report an input no run scored, and one scored by two runs', () => {
    const { ledger, o } = clean();
    o.runs[0].files = [];
    o.runs[2].files.push({ blobPath: 'soak/strict/b.csv', eTag: '0x2' });
    expect(kinds(ledger, o).sort()).toEqual(['input in more than one run', 'input without a run']);
  });

  it('report a run that scores a marker, or a model version nobody registered', () => {
    const { ledger, o } = clean();
    o.runs[2].files.push({ blobPath: 'soak/marker/f/_SUCCESS', eTag: '0x4' });
    expect(kinds(ledger, o)).toEqual(['run of nothing sent']);
    o.runs[3].model = { name: 'soak-manual-s1', version: '7' };
    expect(kinds(ledger, o)).toContain('model version without exactly one run');
    expect(kinds(ledger, o).filter((k) => k === 'run of nothing sent')).toHaveLength(2);
  });

  it('report a marker folder whose files went to two runs', () => {
    const { ledger, o } = clean();
    ledger.blobs.push({ itemId: 'i3', route: 'soak-marker', blobPath: 'soak/marker/f/p-1.csv', eTag: '0x5', role: 'input', poisoned: false });
    o.runs.push({ runId: 'bp-f-b2', kind: 'blob', runtimeStatus: 'Completed', route: 'soak-marker', files: [{ blobPath: 'soak/marker/f/p-1.csv', eTag: '0x5' }], batch: { number: 2 } });
    o.records.push({ runId: 'bp-f-b2', route: 'soak-marker', outcome: 'Completed', eventType: 'Soak.Run.Completed', jobs: [] });
    o.events.push({ id: 'e-f2', type: 'Soak.Run.Completed', runId: 'bp-f-b2', deliveries: 1 });
    const verdict = checkSoak(ledger, o);
    expect(verdict.violations.map((v) => v.kind)).toEqual(['folder split across runs']);
    expect(verdict.violations[0].detail).toMatch(/bp-f-b2 \(batch 2, 1 files, no marker\)/);
  });

  it('do not hold a poisoned version to strict validation once it was overwritten (its run may read the new content)', () => {
    const { ledger, o } = clean();
    o.records[1].outcome = 'Completed';
    o.records[1].eventType = 'Soak.Run.Completed';
    o.events[1].type = 'Soak.Run.Completed';
    expect(kinds(ledger, o)).toEqual(['outcome contradicts Azure ML']);
    ledger.blobs.push({ itemId: 'i7', route: 'soak-strict', blobPath: 'soak/strict/b.csv', eTag: '0x7', role: 'input', poisoned: false });
    o.runs.push({ runId: 'bp-b2', kind: 'blob', runtimeStatus: 'Completed', route: 'soak-strict', files: [{ blobPath: 'soak/strict/b.csv', eTag: '0x7' }] });
    o.records.push({ runId: 'bp-b2', route: 'soak-strict', outcome: 'Completed', eventType: 'Soak.Run.Completed', jobs: [] });
    o.events.push({ id: 'e-b2', type: 'Soak.Run.Completed', runId: 'bp-b2', deliveries: 1 });
    expect(kinds(ledger, o)).toEqual([]);
  });

  it('tell blob versions apart by ETag: an overwrite needs a run of its own', () => {
    const { ledger, o } = clean();
    ledger.blobs.push({ itemId: 'i5', route: 'soak-files', blobPath: 'soak/files/a.csv', eTag: '0x9', role: 'input', poisoned: false });
    expect(kinds(ledger, o)).toEqual(['input without a run']);
  });

  it('report a run still going, one without its record, and one announced twice or not at all', () => {
    const { ledger, o } = clean();
    o.runs[0].runtimeStatus = 'Running';
    o.records.splice(1, 1);
    o.events.push({ id: 'e-f-again', type: 'Soak.Run.Completed', runId: 'bp-f-b1', deliveries: 1 });
    o.events.splice(3, 1);
    const verdict = checkSoak(ledger, o);
    expect(verdict.violations.map((v) => v.kind).sort()).toEqual(['run not in a final state', 'run without a run record', 'run without exactly one outcome event', 'run without exactly one outcome event']);
    expect(verdict.figures).toMatchObject({ runsNotFinal: 1, runsWithoutRecord: 1, runsWithoutOneOutcomeEvent: 2 });
  });

  it('count repeated deliveries of one event as one event, but an event of the wrong type as a violation', () => {
    const { ledger, o } = clean();
    o.events[0].deliveries = 5;
    expect(kinds(ledger, o)).toEqual([]);
    o.events[0].type = 'Soak.Run.Failed';
    expect(kinds(ledger, o)).toEqual(['run without exactly one outcome event']);
  });

  it('report a second job for one run attempt as a duplicate and, being unadopted, an orphan', () => {
    const { ledger, o } = clean();
    o.jobs.push({ name: 'job-a2', status: 'Completed', runTag: 'bp-a', attempt: 1, faultPlan: 'none', statusHistory: [] });
    const verdict = checkSoak(ledger, o);
    expect(verdict.violations.map((v) => v.kind).sort()).toEqual(['duplicate job', 'orphan job']);
    expect(verdict.figures).toMatchObject({ duplicateJobs: 1, orphanJobs: 1, jobsSubmitted: 7 });
  });

  it('report a job tagged for a run that does not exist, and one left running', () => {
    const { ledger, o } = clean();
    o.jobs.push({ name: 'job-ghost', status: 'Running', runTag: 'bp-ghost', attempt: 1, statusHistory: ['NotStarted', 'Running'] });
    expect(kinds(ledger, o).sort()).toEqual(['job left running', 'orphan job']);
  });

  it('report outcomes Azure ML contradicts: Completed on a failed job, on missing outputs, on a poisoned strict input', () => {
    for (const breakIt of [
      (o: Observations) => (o.jobs[0].status = 'Failed'),
      (o: Observations) => (o.jobs[0].faultPlan = 'missingOutputs'),
      (o: Observations) => {
        o.records[1].outcome = 'Completed';
        o.records[1].eventType = 'Soak.Run.Completed';
        o.events[1].type = 'Soak.Run.Completed';
      },
    ]) {
      const { ledger, o } = clean();
      breakIt(o);
      expect(kinds(ledger, o)).toEqual(['outcome contradicts Azure ML']);
    }
  });

  it('report a gate decision the approver did not make, and a model version with no run', () => {
    const { ledger, o } = clean();
    o.records[3].decision = { approved: true, by: FUNCTION_KEY_ACTOR, via: 'approval' };
    o.records[3].outcome = 'Promoted';
    o.records[3].eventType = 'Soak.Model.Promoted';
    o.events[3].type = 'Soak.Model.Promoted';
    expect(kinds(ledger, o)).toEqual(['gate decision contradicts the approver', 'gate decision contradicts the approver']);
    // The plan's decision, but made by someone other than the soak's key.
    const other = clean();
    other.o.records[3].decision = { approved: false, by: 'alice@contoso.example', via: 'approval' };
    expect(kinds(other.ledger, other.o)).toEqual(['gate decision contradicts the approver']);
    ledger.models.push({ itemId: 'i6', route: 'soak-models-auto', gate: 'auto', name: 'soak-auto-s1', version: '1', agrees: true });
    expect(kinds(ledger, o)).toContain('model version without exactly one run');
  });

  it('report dead-lettered events, failed orchestrations and inputs the soak could not send', () => {
    const { ledger, o } = clean();
    o.deadLettered.push({ subscription: 'intake-storage-events', eventIds: ['x', 'y'], outcome: 'DeadLettered', reason: 'MaxDeliveryAttemptsExceeded' });
    o.brokenOrchestrations.push({ instanceId: 'bp-a:job', name: 'runBatchJob', runtimeStatus: 'Failed' });
    ledger.failures.push({ itemId: 'i9', error: 'Uploading failed' });
    const verdict = checkSoak(ledger, o);
    expect(verdict.violations.map((v) => v.kind).sort()).toEqual(['event dead-lettered', 'orchestration failed', 'send failed']);
    expect(verdict.figures.eventsDeadLettered).toBe(2);
  });
});

describe('the soak command line and plan', () => {
  it('reads the scale options and refuses bad values with the flag named', () => {
    expect(parseSoakArgs(['--runs', '30', '--kills', '3', '--faults', '0.1', '--duplicates', '2', '--seed', '9'])).toMatchObject({ runs: 30, kills: 3, faults: 0.1, duplicates: 2, seed: 9 });
    expect(() => parseSoakArgs(['--runs', '0'])).toThrow(/--runs must be a whole number of at least 1; got '0'/);
    expect(() => parseSoakArgs(['--faults', 'lots'])).toThrow(/--faults must be a share/);
    expect(() => parseSoakArgs(['--nope'])).toThrow(/Unknown option '--nope'/);
  });

  it('plans the same workload from the same seed, with every kind of input in a long enough plan', () => {
    const a = planWorkload(120, 4);
    expect(planWorkload(120, 4)).toEqual(a);
    expect(planWorkload(120, 5)).not.toEqual(a);
    expect(a.items).toHaveLength(120);
    const kindsPlanned = new Set(a.items.map((i) => (i.kind === 'perFile' ? `perFile:${i.route}` : i.kind === 'model' ? `model:${i.gate}` : i.kind)));
    for (const k of ['perFile:soak-files', 'perFile:soak-strict', 'perFile:soak-slow', 'window', 'marker', 'manifest', 'model:auto', 'model:manual']) expect(kindsPlanned).toContain(k);
  });
});
