// The soak's verdict: runs expected from what was sent (one per perFile blob version, every file of a
// window, marker or manifest folder in exactly one run, one per model version), compared with what the
// task hub, the runs container, the topic's subscriber, Azure ML and Event Grid show. Pure: it takes
// the ledger and the observations and returns the table's figures and every violation, each with the
// evidence to start debugging from.
import type { SentLedger } from './workloadDriver';
import { FUNCTION_KEY_ACTOR } from '../../src/operator/operatorAccess';
import type { Observations, ObservedJob, ObservedRecord, ObservedRun } from './observations';
import { BLOB_ROUTES, MODEL_ROUTES } from './workload';

export type ViolationKind =
  | 'input without a run'
  | 'input in more than one run'
  | 'folder split across runs'
  | 'model version without exactly one run'
  | 'run of nothing sent'
  | 'run not in a final state'
  | 'run without a run record'
  | 'run without exactly one outcome event'
  | 'duplicate job'
  | 'orphan job'
  | 'job left running'
  | 'event dead-lettered'
  | 'outcome contradicts Azure ML'
  | 'gate decision contradicts the approver'
  | 'orchestration failed'
  | 'send failed';

export interface Violation {
  kind: ViolationKind;
  subject: string;
  detail: string;
}

export interface SoakFigures {
  inputsSent: number;
  blobVersionsSent: number;
  modelVersionsSent: number;
  runs: number;
  jobsSubmitted: number;
  duplicateJobs: number;
  runsNotFinal: number;
  runsWithoutRecord: number;
  runsWithoutOneOutcomeEvent: number;
  orphanJobs: number;
  eventsDeadLettered: number;
  outcomes: Record<string, number>;
  /** Why runs did not complete, with run-specific names masked, most frequent first. */
  failureReasons: Array<{ reason: string; runs: number }>;
  eventDeliveries: number;
  eventsPublished: number;
}

export interface SoakVerdict {
  figures: SoakFigures;
  violations: Violation[];
}

const FINAL_STATUSES = new Set(['Completed']);
const TERMINAL_JOB_STATUSES = new Set(['Completed', 'Failed', 'Canceled', 'NotResponding', 'Paused']);

function describeRun(run: ObservedRun): string {
  const b = run.batch;
  return b ? `${run.runId} (batch ${b.number}, ${run.files.length} files, ${b.markerUrl ? `closed by ${b.markerUrl.slice(b.markerUrl.lastIndexOf('/') + 1)}` : 'no marker'})` : run.runId;
}

function versionKey(blobPath: string, eTag: string): string {
  return `${blobPath}@${eTag}`;
}

export function checkSoak(ledger: SentLedger, o: Observations): SoakVerdict {
  const violations: Violation[] = [];
  const add = (kind: ViolationKind, subject: string, detail: string): void => {
    violations.push({ kind, subject, detail });
  };
  for (const f of ledger.failures) add('send failed', f.itemId, f.error);

  // Every blob version sent as an input belongs to exactly one run.
  const runsByVersion = new Map<string, ObservedRun[]>();
  for (const run of o.runs.filter((r) => r.kind === 'blob')) {
    for (const f of run.files) {
      const key = versionKey(f.blobPath, f.eTag);
      runsByVersion.set(key, [...(runsByVersion.get(key) ?? []), run]);
    }
  }
  for (const blob of ledger.blobs.filter((b) => b.role === 'input')) {
    const runs = runsByVersion.get(versionKey(blob.blobPath, blob.eTag)) ?? [];
    if (runs.length === 0) add('input without a run', `${blob.blobPath}@${blob.eTag}`, `sent by ${blob.itemId} on ${blob.route}; no run scored this version`);
    else if (runs.length > 1) add('input in more than one run', `${blob.blobPath}@${blob.eTag}`, `scored by ${runs.map(describeRun).join(', ')}`);
  }

  // A marker (or manifest) closes its folder: all the folder's files go to Azure ML as one run.
  const folderItems = new Set(ledger.blobs.filter((b) => b.role === 'marker').map((b) => b.itemId));
  for (const itemId of folderItems) {
    const inputs = ledger.blobs.filter((b) => b.itemId === itemId && b.role === 'input');
    const runs = new Map<string, ObservedRun>();
    for (const b of inputs) for (const r of runsByVersion.get(versionKey(b.blobPath, b.eTag)) ?? []) runs.set(r.runId, r);
    if (runs.size > 1) add('folder split across runs', itemId, `the folder's ${inputs.length} files went to ${[...runs.values()].map(describeRun).join(', ')}`);
  }

  // No run scores something that was never sent as an input (a marker, a manifest, a stray version).
  const sentInputs = new Set(ledger.blobs.filter((b) => b.role === 'input').map((b) => versionKey(b.blobPath, b.eTag)));
  for (const run of o.runs.filter((r) => r.kind === 'blob')) {
    const foreign = run.files.filter((f) => !sentInputs.has(versionKey(f.blobPath, f.eTag)));
    if (foreign.length > 0) add('run of nothing sent', run.runId, `scores ${foreign.map((f) => `${f.blobPath}@${f.eTag}`).join(', ')}, which the soak never sent as an input`);
  }
  const sentModels = new Set(ledger.models.map((m) => `${m.name}:${m.version}`));
  for (const run of o.runs.filter((r) => r.kind === 'model' && !sentModels.has(`${r.model?.name}:${r.model?.version}`))) {
    add('run of nothing sent', run.runId, `promotes ${run.model?.name}:${run.model?.version}, which the soak never registered`);
  }

  // Every model version registered starts exactly one promotion run.
  for (const m of ledger.models) {
    const runs = o.runs.filter((r) => r.kind === 'model' && r.model?.name === m.name && r.model.version === m.version);
    if (runs.length !== 1) add('model version without exactly one run', `${m.name}:${m.version}`, `${runs.length} promotion runs: ${runs.map((r) => r.runId).join(', ') || 'none'}`);
  }

  // Every run ends, writes its record, and announces exactly one outcome.
  const recordsByRun = new Map<string, ObservedRecord>(o.records.map((r) => [r.runId, r]));
  const eventsByRun = new Map<string, Observations['events']>();
  for (const e of o.events) if (e.runId) eventsByRun.set(e.runId, [...(eventsByRun.get(e.runId) ?? []), e]);
  let runsNotFinal = 0;
  let runsWithoutRecord = 0;
  let runsWithoutOneOutcomeEvent = 0;
  const outcomes: Record<string, number> = {};
  for (const run of o.runs) {
    const record = recordsByRun.get(run.runId);
    const events = eventsByRun.get(run.runId) ?? [];
    if (!FINAL_STATUSES.has(run.runtimeStatus)) {
      runsNotFinal += 1;
      const children = (run.children ?? []).map((c) => `${c.instanceId} ${c.runtimeStatus} (last updated ${c.lastUpdatedTime ?? '?'})`).join('; ');
      add('run not in a final state', run.runId, `runtime status ${run.runtimeStatus} (last updated ${run.lastUpdatedTime ?? '?'}), custom status ${JSON.stringify(run.customStatus ?? null)}${children ? `; its sub-orchestrations: ${children}` : ''}`);
    }
    if (!record) {
      runsWithoutRecord += 1;
      add('run without a run record', run.runId, `route ${run.route}; no ${run.route}/${run.runId}.json in the runs container`);
    }
    if (events.length !== 1) {
      runsWithoutOneOutcomeEvent += 1;
      add('run without exactly one outcome event', run.runId, `${events.length} distinct outcome events: ${events.map((e) => `${e.type} ${e.id}`).join(', ') || 'none'}`);
    } else if (record?.eventType && events[0].type !== record.eventType) {
      runsWithoutOneOutcomeEvent += 1;
      add('run without exactly one outcome event', run.runId, `the event is ${events[0].type} but the run record says ${record.eventType}`);
    }
    const outcome = `${run.kind === 'blob' ? 'Run' : 'Model'}.${record?.outcome ?? run.output?.outcome ?? 'unfinished'}`;
    outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
  }
  for (const b of o.brokenOrchestrations) add('orchestration failed', b.instanceId, `${b.name} ended ${b.runtimeStatus}`);

  // Azure ML: one job per run attempt, each one the run adopted, none left running.
  const batchpilotJobs = o.jobs.filter((j) => j.runTag !== undefined);
  const jobsByAttempt = new Map<string, ObservedJob[]>();
  for (const j of batchpilotJobs) {
    const key = `${j.runTag}#${j.attempt ?? 1}`;
    jobsByAttempt.set(key, [...(jobsByAttempt.get(key) ?? []), j]);
  }
  let duplicateJobs = 0;
  for (const [key, jobs] of jobsByAttempt) {
    if (jobs.length > 1) {
      duplicateJobs += jobs.length - 1;
      add('duplicate job', key, `${jobs.length} jobs for one run attempt: ${jobs.map((j) => `${j.name} (${j.status})`).join(', ')}`);
    }
  }
  const adopted = new Set<string>();
  for (const r of o.records) for (const j of r.jobs) adopted.add(j.jobName);
  const runIds = new Set(o.runs.map((r) => r.runId));
  let orphanJobs = 0;
  for (const j of batchpilotJobs) {
    const runId = j.runTag!.replace(/:(candidate|baseline)$/, '');
    const record = recordsByRun.get(runId);
    // Without a record the run is already reported; its jobs are orphans only if no such run exists.
    if ((record && !adopted.has(j.name)) || (!record && !runIds.has(runId))) {
      orphanJobs += 1;
      add('orphan job', j.name, `tagged for ${j.runTag} attempt ${j.attempt ?? 1}, ${j.status}; ${record ? `the run record lists ${record.jobs.filter((x) => x.tag === j.runTag).map((x) => x.jobName).join(', ') || 'no job'}` : 'no such run'}`);
    }
    if (!TERMINAL_JOB_STATUSES.has(j.status)) add('job left running', j.name, `${j.status} (history ${j.statusHistory.join(' → ')}) for ${j.runTag}`);
  }

  // Outcomes agree with what Azure ML did and with the inputs. A poisoned version that was overwritten
  // may be scored with its successor's content (runs read the blob, not the version), so it proves nothing.
  const jobsByName = new Map(o.jobs.map((j) => [j.name, j]));
  const versionsOfPath = new Map<string, number>();
  for (const b of ledger.blobs) versionsOfPath.set(b.blobPath, (versionsOfPath.get(b.blobPath) ?? 0) + 1);
  const poisoned = new Set(ledger.blobs.filter((b) => b.poisoned && versionsOfPath.get(b.blobPath) === 1).map((b) => versionKey(b.blobPath, b.eTag)));
  for (const record of o.records) {
    const run = o.runs.find((r) => r.runId === record.runId);
    if (!run || run.kind !== 'blob' || !record.outcome) continue;
    const last = record.jobs.at(-1);
    const job = last ? jobsByName.get(last.jobName) : undefined;
    if (!job) continue;
    const contradiction =
      record.outcome === 'Completed' && job.status !== 'Completed'
        ? `the run Completed but its job ${job.name} ended ${job.status}`
        : record.outcome === 'ValidationFailed' && job.status !== 'Completed'
          ? `validation failed on job ${job.name}, which ended ${job.status}`
          : record.outcome === 'Completed' && job.faultPlan === 'missingOutputs'
            ? `the run Completed although job ${job.name} wrote no predictions`
            : record.outcome === 'Completed' && run.route === BLOB_ROUTES.strict && run.files.some((f) => poisoned.has(versionKey(f.blobPath, f.eTag)))
              ? `the run Completed although its input is poisoned and the route counts rows strictly`
              : undefined;
    if (contradiction) add('outcome contradicts Azure ML', record.runId, contradiction);
  }

  // Gates: the soak is the only approver, so every approval a record shows is the one the plan made. It
  // calls the operator API with a function key, which the API records as that identity (the name the
  // soak declares is audited beside it, never taken as the approver).
  for (const m of ledger.models) {
    const run = o.runs.find((r) => r.kind === 'model' && r.model?.name === m.name && r.model.version === m.version);
    const record = run ? recordsByRun.get(run.runId) : undefined;
    if (!record?.decision) continue;
    const d = record.decision;
    if (d.via === 'approval') {
      const planned = m.plannedDecision === 'approve';
      if (!m.plannedDecision || d.approved !== planned || d.by !== FUNCTION_KEY_ACTOR) {
        add('gate decision contradicts the approver', record.runId, `the record says ${d.approved ? 'approved' : 'rejected'} by ${d.by}; the soak ${m.plannedDecision ? `${m.plannedDecision}d it` : 'never decided it'}`);
      }
    }
    if (m.gate === 'auto' && !m.agrees && record.outcome === 'Promoted') add('gate decision contradicts the approver', record.runId, 'the auto gate promoted a candidate whose scores disagree with the baseline');
    if (m.gate === 'lapse' && record.outcome === 'Promoted') add('gate decision contradicts the approver', record.runId, `the route rejects on timeout and nobody approved, yet ${m.name}:${m.version} was promoted`);
    if (m.gate === 'manual' && record.outcome === 'Promoted' && m.plannedDecision !== 'approve') add('gate decision contradicts the approver', record.runId, `promoted although the soak ${m.plannedDecision ?? 'never decide'}d it`);
  }

  const reasons = new Map<string, number>();
  for (const r of o.records) {
    if (!r.reason || r.outcome === 'Completed' || r.outcome === 'Promoted') continue;
    const masked = r.reason.replace(/batchjob-[0-9a-f-]+/g, '<job>').replace(/bpm?-[A-Za-z0-9:._-]+/g, '<run>').replace(/\d+(\.\d+)?/g, 'n').slice(0, 400);
    reasons.set(`${r.outcome}: ${masked}`, (reasons.get(`${r.outcome}: ${masked}`) ?? 0) + 1);
  }

  for (const d of o.deadLettered) add('event dead-lettered', d.eventIds.join(','), `${d.subscription}: ${d.outcome} (${d.reason ?? 'no reason'})`);

  const figures: SoakFigures = {
    inputsSent: ledger.items.length,
    blobVersionsSent: ledger.blobs.filter((b) => b.role === 'input').length,
    modelVersionsSent: ledger.models.length,
    runs: o.runs.length,
    jobsSubmitted: batchpilotJobs.length,
    duplicateJobs,
    runsNotFinal,
    runsWithoutRecord,
    runsWithoutOneOutcomeEvent,
    orphanJobs,
    eventsDeadLettered: o.deadLettered.reduce((n, d) => n + d.eventIds.length, 0),
    outcomes,
    failureReasons: [...reasons.entries()].map(([reason, runs]) => ({ reason, runs })).sort((a, b) => b.runs - a.runs),
    eventDeliveries: o.events.reduce((n, e) => n + e.deliveries, 0),
    eventsPublished: o.eventsPublished,
  };
  return { figures, violations };
}

/** Model routes the soak's records live under, with the blob routes: where readRunRecords looks. */
export function soakRouteNames(): string[] {
  return [...Object.values(BLOB_ROUTES), ...Object.values(MODEL_ROUTES).map((m) => m.route)];
}
